"""The benchmark's measurements besides the training step: vectorisation, gradient checking and the
cost of TensorBoard logging. Each returns a JSON-ready dict; sizes come from cli.MODES.

* Vectorisation (course 1, week 2): the logistic-regression gradient dw = X (a - y)^T / m,
  db = sum(a - y) / m on the cat set's shape (12288 features x 209 examples; uniform pixel
  values, w ~ 0.01 N(0, 1), b = 0, float64), three ways:
    - loop: the course's non-vectorised pseudo-code, a Python loop over the examples with the
      features' sums written out as Python loops too (the "per-example loop" of the target);
    - per-example: a Python loop over the examples, each one's features vectorised;
    - vectorised: scratch_numpy.logistic.propagate (what the project ships).
  A loop too long to repeat runs once, over the first ``loop_examples`` examples, and its time is
  scaled by m / loop_examples (the work per example is the same); the vectorised time is a median.
* Gradient checking, float64, from scratch_numpy.gradcheck and reference_torch.gradcheck: the
  elementwise two-sided check (2N + 1 costs) of a ~10k-parameter network, the directional check
  of a ~1M-parameter one, and torch.autograd.gradcheck in fast mode on both; one run each.
* Logging: the same training run (training.train of each side, the benchmark's MLP, Adam) with
  no callback and with the experiments package's logging at its default cadence (tblog: cost and
  learning rate per iteration and the training accuracy per epoch, each at most SCALAR_POINTS
  points; weight histograms at most HISTOGRAMS times); the runs alternate and the times are
  medians. Two figures: the end-to-end one (logged run / plain run - 1) and the direct one (the
  wall time spent inside the logging itself, the writer's creation and closing included, over the
  plain run's time). The verdict uses the direct one: the end-to-end difference of two runs of a
  few seconds cannot resolve 5 % on a shared machine (a single pair once showed the torch side
  +26 % with its logging taking 2 %), while the direct one misses only what logging might do to
  the loop from outside it (tensorboard's writer thread sleeps until a flush is due). Both sides'
  loops record each mini-batch's cost in their History whether or not anything logs, so that is
  part of both runs and not of the overhead. The whole-set gradient norms of experiments.trainers
  are extra evaluations, not logging, and are left out.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from reference_torch import bridge
from reference_torch import gradcheck as t_gradcheck
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import gradcheck as n_gradcheck
from scratch_numpy import logistic as n_logistic
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training

from ..tblog import HISTOGRAMS, SCALAR_POINTS, Cadence, RunLogger
from .step import problem, torch_model
from .timing import interleaved, once


# ------------------------------------------------------------------------------ vectorisation

def logistic_data(n_x: int, m: int, seed: int = 0):
    """(w (n_x, 1), b, X (n_x, m), Y (1, m)): pixel-like features in [0, 1), float64."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_x, 1)) * 0.01, 0.0, rng.random((n_x, m)), rng.integers(0, 2, size=(1, m))


def looped_gradient(w, b, X, Y):
    """(dw, db) by the course's non-vectorised pseudo-code: loops over examples and features."""
    n_x, m = X.shape
    dw, db = [0.0] * n_x, 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j, 0] * X[j, i]
        dz = 1 / (1 + math.exp(-z)) - Y[0, i]
        for j in range(n_x):
            dw[j] += X[j, i] * dz
        db += dz
    return np.array(dw).reshape(n_x, 1) / m, db / m


def per_example_gradient(w, b, X, Y):
    """(dw, db) with a Python loop over the examples, each example's features vectorised."""
    n_x, m = X.shape
    dw, db = np.zeros(n_x), 0.0
    for i in range(m):
        x = X[:, i]
        dz = 1 / (1 + math.exp(-(float(w[:, 0] @ x) + b))) - Y[0, i]
        dw += x * dz
        db += dz
    return dw.reshape(n_x, 1) / m, db / m


def vectorisation(n_x: int, m: int, loop_examples: int, repeats: int, min_time: float) -> dict:
    """Seconds per gradient of each way (loops scaled to all m examples), the speed-ups over the
    vectorised gradient, and the loops' largest relative difference from it."""
    w, b, X, Y = logistic_data(n_x, m)
    vectorised = interleaved({"vectorised": lambda: n_logistic.propagate(w, b, X, Y)},
                             repeats=repeats, min_time=min_time)["vectorised"].seconds
    k = min(loop_examples, m)
    reference, _ = n_logistic.propagate(w, b, X[:, :k], Y[:, :k])
    result = {"features": n_x, "examples": m, "loop_examples": k, "vectorised_s": vectorised}
    for name, fn in (("loop", looped_gradient), ("per_example", per_example_gradient)):
        (dw, db), seconds = once(lambda fn=fn: fn(w, b, X[:, :k], Y[:, :k]))
        seconds *= m / k
        difference = max(float(np.abs(dw - reference["dw"]).max() / np.abs(reference["dw"]).max()),
                         abs(db - reference["db"]) / abs(reference["db"]))
        result.update({f"{name}_s": seconds, f"{name}_speedup": seconds / vectorised,
                       f"{name}_difference": difference})
    return result


# ------------------------------------------------------------------------------ gradient checking

def parameter_count(layers) -> int:
    return sum(n * n_prev + n for n_prev, n in zip(layers[:-1], layers[1:]))


def gradient_checking(small: tuple, large: tuple, batch: int) -> dict:
    """Seconds and verdicts: NumPy's elementwise check of ``small`` (layer sizes), its directional
    check of ``large``, torch.autograd.gradcheck (fast mode) of both; float64, ``batch`` examples."""
    result = {}
    for size, layers in (("small", small), ("large", large)):
        network, params, X, Y = problem(batch, "float64", layers=layers)
        model, Xt, yt = torch_model(batch, "float64", "cpu", layers)
        if size == "small":
            report, seconds = once(lambda: n_gradcheck.gradient_check(network, params, X, Y))
            result["elementwise"] = {"parameters": parameter_count(layers), "seconds": seconds,
                                     "difference": report.difference, "verdict": report.verdict}
        else:
            report, seconds = once(lambda: n_gradcheck.directional_check(network, params, X, Y))
            result["directional"] = {"parameters": parameter_count(layers), "seconds": seconds,
                                     "difference": report.overall.difference, "verdict": report.overall.verdict}
        check, seconds = once(lambda: t_gradcheck.autograd_gradcheck(model, Xt, yt, fast_mode=True))
        result[f"autograd_fast_{size}"] = {"parameters": parameter_count(layers), "seconds": seconds,
                                           "passed": check.passed}
    return result


# ------------------------------------------------------------------------------ logging overhead

class DefaultCadenceLog:
    """A training loop's callback logging like the experiments do (tblog's default cadence);
    ``seconds`` accumulates the wall time spent in it, from the writer's creation to ``close``."""

    def __init__(self, run_dir, iterations: int, epochs: int, params_of):
        start = time.perf_counter()
        self.logger, self.params_of, self.logged = RunLogger(run_dir), params_of, 0
        self.per_iteration = Cadence(iterations, SCALAR_POINTS)
        self.per_epoch, self.histograms = Cadence(epochs, SCALAR_POINTS), Cadence(epochs, HISTOGRAMS)
        self.seconds = time.perf_counter() - start

    def __call__(self, epoch, history, params_or_model):
        start = time.perf_counter()
        for tag, values in (("cost", history.costs), ("learning_rate", history.learning_rates)):
            self.logger.scalars(tag, values[self.logged:], self.logged, self.per_iteration, "iteration")
        self.logged = len(history.costs)
        if self.per_epoch(epoch):
            self.logger.scalar("accuracy/train", history.train_accuracy[-1], epoch, "epoch")
        if self.histograms(epoch):
            self.logger.histograms(self.params_of(params_or_model), epoch)
        self.seconds += time.perf_counter() - start

    def close(self) -> None:
        start = time.perf_counter()
        self.logger.close()
        self.seconds += time.perf_counter() - start


def _training_run(side: str, examples: int, batch: int, epochs: int, log_dir):
    """A zero-argument callable: one fresh training run of ``side``, logged into ``log_dir``
    (a directory that must not exist yet) unless it is None; it returns the seconds spent
    logging (0.0 without)."""
    def run():
        iterations = epochs * math.ceil(examples / batch)
        loop = {"epochs": epochs, "batch_size": batch, "seed": 0}
        if side == "numpy":
            network, params, X, Y = problem(examples, "float32")
            log = log_dir and DefaultCadenceLog(log_dir, iterations, epochs, dict)
            n_training.train(network, params, X, Y, n_optim.make_optimizer("adam", params, lr=0.001),
                             callback=log, **loop)
        else:
            model, X, y = torch_model(examples, "float32", "cpu")
            log = log_dir and DefaultCadenceLog(log_dir, iterations, epochs, bridge.params_from_module)
            t_training.train(model, X, y, t_optim.make_optimizer("adam", model, lr=0.001), callback=log, **loop)
        if not log:
            return 0.0
        log.close()
        return log.seconds
    return run


def logging_overhead(examples: int, batch: int, epochs: int, repeats: int) -> dict:
    """{side: {plain_s, logged_s, logging_s, end_to_end, overhead}}: medians over ``repeats`` runs
    of each kind (after an untimed one-epoch logged run per side), end_to_end = logged / plain - 1
    and overhead = logging_s / plain_s, logging_s being the time spent inside the logging."""
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for side in ("numpy", "torch"):
            _training_run(side, examples, batch, 1, Path(tmp) / f"{side}-warm-up")()   # first-call costs
            times, logging = {"plain": [], "logged": []}, []
            for r in range(repeats):
                for kind in ("plain", "logged") if r % 2 == 0 else ("logged", "plain"):
                    log_dir = Path(tmp) / f"{side}-{r}" if kind == "logged" else None
                    spent, seconds = once(_training_run(side, examples, batch, epochs, log_dir))
                    times[kind].append(seconds)
                    if kind == "logged":
                        logging.append(spent)
            plain, logged, spent = (statistics.median(t) for t in (times["plain"], times["logged"], logging))
            result[side] = {"examples": examples, "batch": batch, "epochs": epochs, "repeats": repeats,
                            "plain_s": plain, "logged_s": logged, "logging_s": spent,
                            "end_to_end": logged / plain - 1, "overhead": spent / plain}
    return result
