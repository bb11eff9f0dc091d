"""The performance benchmark (issue 6): NumPy against torch, measured in one run, printed as tables
with every target's verdict and written as JSON.

    python -m experiments bench [--quick | --smoke] [--threads N[,N...]] [--out runs/bench.json]
                                [--suite | --no-suite]

(``python -m experiments.bench`` is the same command; exit status 0, 2 for bad arguments, 1 when
a worker fails. The verdicts are printed, never turned into an exit status: timings on a shared
machine are no test.)

Sections (what each measures and how: the modules of this package named):

    training step     step: the MLP 784-256-128-10 (softmax cross-entropy), SGD and Adam, batch
                      64/256/1024/4096, float32 and float64; NumPy (the library's own Network and
                      optimisers) vs torch (its fused Adam) on the CPU with the same thread count,
                      interleaved medians, every sample from the same initial parameters; the ratio
                      NumPy/torch; the GEMM bound (each side's matrix products alone over its step
                      time) and the two sides' matrix products compared
    vectorisation     tasks: loops vs the vectorised logistic-regression gradient, 12288 x 209
    gradient checks   tasks: elementwise (10k parameters), directional (1M), autograd fast mode
    logging           tasks: a training run with TensorBoard logging at the default cadence vs
                      none; judged on the time spent inside the logging
    test suite        pytest in a subprocess, wall time (full mode; --suite / --no-suite to choose)
    GPU               cuda, when CUDA is available: float32, TF32 and bf16 at batch 4096 and 65536

Thread counts: ``--threads`` (default: every core this process may use). Each count gets a worker
process (experiments.bench.worker) whose OpenBLAS, OpenMP and MKL pools are fixed by its
environment before NumPy and torch load, and whose torch.set_num_threads matches; the first
count's worker also runs every section besides the training step. Modes: the default (full)
takes a few minutes; ``--quick`` (CI) uses fewer repeats and shorter loops; ``--smoke`` runs every
code path at toy sizes in seconds (tests), where the verdicts mean nothing and are not given.
Timings are wall-clock; the load average before and after is recorded next to them, with each
section's duration, and a busy machine (1-minute load average above BUSY_LOAD before the run) gets
a warning under the first line: there, multi-threaded timings are noise and --threads 1 is the
steadier comparison. PERFORMANCE.md holds the latest figures and what they mean.

The package: ``cli`` (the command: arguments, modes, worker processes, targets, the printed
report), ``worker`` (one worker process, started by ``cli``), ``step``, ``tasks`` and ``cuda``
(the sections' measurements) and ``timing`` (interleaved medians, thread settings, the
machine). The command, its parser and its modes are exported here; the command's parts live in ``cli``.
"""

from .cli import MODES, build_parser, main

__all__ = ["MODES", "build_parser", "main"]
