"""Timing for the benchmark: interleaved medians, thread settings, and the machine's description.

``interleaved`` runs its contenders round-robin in one process, so a burst of load on a shared
machine hits all of them alike rather than whichever happened to run then; each sample is the
mean of ``number`` back-to-back calls (``number`` calibrated once so a sample lasts about
``min_time`` seconds) and the result is the median sample. The order of the contenders
rotates from round to round, so none always runs right after another particular one. A
contender with a ``reset`` attribute (a training step: step) has it called before its
warm-up and before every sample, outside the timed region.

Thread counts are fixed per process, before NumPy is imported: OpenBLAS reads
OPENBLAS_NUM_THREADS once, when it loads. ``thread_env`` builds the environment of a worker
process for one setting; torch's own pool is then set with ``torch.set_num_threads``.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Timing:
    """seconds: median over the samples of the time per call; samples: every sample, in seconds
    per call; number: calls per sample."""

    seconds: float
    samples: tuple
    number: int

    def as_dict(self) -> dict:
        return asdict(self)


def _calibrate(fn, min_time: float) -> int:
    """Calls per sample so that one sample lasts at least ``min_time`` (fn already warmed up)."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, round(min_time / max(once, 1e-9)))


def interleaved(contenders: dict, *, repeats: int, min_time: float, warmup: int = 1) -> dict:
    """{name: Timing} for ``contenders`` {name: zero-argument callable}, measured round-robin."""
    resets = {name: getattr(fn, "reset", lambda: None) for name, fn in contenders.items()}
    for name, fn in contenders.items():
        resets[name]()
        for _ in range(warmup):
            fn()
    numbers = {name: _calibrate(fn, min_time) for name, fn in contenders.items()}
    names = list(contenders)
    samples = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            fn, number = contenders[name], numbers[name]
            resets[name]()
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: Timing(statistics.median(samples[name]), tuple(samples[name]), numbers[name])
            for name in names}


def once(fn) -> tuple:
    """(fn's result, its wall-clock seconds) for work too long to repeat."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def thread_env(threads: int, base: dict | None = None) -> dict:
    """A copy of the environment with every BLAS/OpenMP pool limited to ``threads``."""
    env = dict(os.environ if base is None else base)
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def available_cores() -> int:
    """The cores this process may run on (its affinity mask), else os.cpu_count()."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list:
    """The 1, 5 and 15 minute load averages (empty where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict:
    """The machine and libraries the numbers come from (imports NumPy and torch: call it in a
    worker, after the thread settings)."""
    import numpy as np
    import torch

    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return {
        "cpu": cpu_model(), "cores": available_cores(), "platform": platform.platform(),
        "python": platform.python_version(), "numpy": np.__version__,
        "numpy_blas": f"{blas.get('name')} {blas.get('version')}",
        "torch": torch.__version__, "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
