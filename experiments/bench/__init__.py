"""The performance benchmark (issue 6): NumPy against torch, measured in one run, printed as tables
with every target's verdict and written as JSON.

    python -m experiments bench [--quick | --smoke] [--threads N[,N...]] [--out runs/bench.json]
                                [--suite | --no-suite]

(``python -m experiments.bench`` is the same command; exit status 0, 2 for bad arguments, 1 when
a worker fails. The verdicts are printed, never turned into an exit status: timings on a shared
machine are no test.)

Sections (what each measures and how: the modules of this package named):

    peak GEMM         step: the machine's GEMM throughput, a 2048^3 square product (float32 and
                      float64) in NumPy and in torch, best of a few, in each thread count's worker
    training step     step: the MLP 784-256-128-10 (softmax cross-entropy), SGD and Adam, batch
                      64/256/1024/4096, float32 and float64, on the CPU with the same thread count,
                      interleaved medians, every sample from the same initial parameters, four
                      contenders: Twinprop's NumPy (the library's own Network and optimisers),
                      Twinprop's torch (its fused Adam), the NumPy peer (peer_numpy: the textbook
                      CS231n form) and the torch peer (peer_torch: nn.Sequential, F.cross_entropy,
                      torch.optim); the ratios NumPy/torch, NumPy/NumPy peer and torch/torch peer;
                      the physical limit (the step's GEMM FLOPs at the peak GEMM rate) and each side's
                      step over it; the GEMM bound (each side's matrix products alone, same shapes,
                      over its step time) and the two sides' matrix products compared
    vectorisation     tasks: loops vs the vectorised logistic-regression gradient, 12288 x 209
    gradient checks   tasks: elementwise (10k parameters), directional (1M), autograd fast mode
    logging           tasks: a training run with TensorBoard logging at the default cadence vs
                      none; judged on the time spent inside the logging
    test suite        pytest in a subprocess, wall time (full mode; --suite / --no-suite to choose)
    GPU               cuda, when CUDA is available: float32, TF32 and bf16 at batch 4096 and 65536

Thread counts: ``--threads`` (default: every core this process may use). Each count gets a worker
process (experiments.bench.worker) whose OpenBLAS, OpenMP and MKL pools are fixed by its
environment before NumPy and torch load, and whose torch.set_num_threads matches; the first
count's worker also runs every section besides the peak GEMM rate and the training step. The
training-step targets come from these rows: NumPy/torch <= 1.0 in every row at one and at two
threads (judged only when both ran: ``--threads 1,2``; a miss in either is a miss) and the NumPy
step within 1.25x of its own GEMM time at batch >= 1024. Modes: the default (full) takes a few
minutes; ``--quick`` (CI) uses fewer repeats and shorter loops; ``--smoke`` runs every
code path at toy sizes in seconds (tests), where the verdicts mean nothing and are not given.
Timings are wall-clock; the load average before and after is recorded next to them, with each
section's duration, and a busy machine (1-minute load average above BUSY_LOAD before the run) gets
a warning under the first line: there, multi-threaded timings are noise and --threads 1 is the
steadier comparison. PERFORMANCE.md holds the latest figures and what they mean.

The package: ``cli`` (the command: arguments, modes, worker processes, targets, the printed
report), ``worker`` (one worker process, started by ``cli``), ``step``, ``tasks`` and ``cuda``
(the sections' measurements), ``peer_numpy`` and ``peer_torch`` (the training step as others
write it, timed beside the project's) and ``timing`` (interleaved medians, thread settings, the
machine). The command, its parser and its modes are exported here; the command's parts live in ``cli``.
"""

from .cli import MODES, build_parser, main

__all__ = ["MODES", "build_parser", "main"]
