"""The start of a worker process of a parallel run (experiments.parallel). It imports nothing
heavy: a spawned worker runs ``start`` before it imports NumPy or torch (they load with its first
trial), so the thread settings below are in place when they do."""

import os
import signal

THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
stop = None   # the run's multiprocessing Event, set when the run stops (experiments.parallel)


def start(event) -> None:
    """A worker's initializer: SIGINT ignored between trials, in a process group of its own (a
    Ctrl-C at the terminal reaches the parent, which passes it on to the workers running a
    trial), one BLAS and OpenMP thread; ``event``: the run's stop event."""
    global stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.setpgrp()
    os.environ.update(dict.fromkeys(THREADS, "1"))
    stop = event
