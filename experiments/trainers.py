"""Training with TensorBoard logging, shared by every experiment that trains a model.

    full_batch(trial, side, lr=, iterations=)      the course's full-batch gradient descent: the
                                                   side's models.train_gd / logistic.optimize, called
                                                   in chunks of at least MIN_CHUNK iterations, at most
                                                   EVALUATIONS of them (plain GD keeps no state, so the
                                                   chunks give the very same trajectory); checkpointed
                                                   and resumable at chunk boundaries through
                                                   trial.checkpoint, unless the side draws its own
                                                   dropout masks (side.resumable)
    mini_batch(trial, side, optimizer=, lr=, ...)  the shared loop, training.train of the side, with a
                                                   per-epoch callback; checkpointed and resumable through
                                                   trial.checkpoint (experiments.checkpoint), unless an
                                                   early-stopping policy is given

Both log through RunLog (tags in experiments.tblog: cost and learning_rate per iteration, the
accuracies and gradient norms per epoch, mini-batch, or per iteration, full batch; ``held_out``
names the side's "test" split in the tags: "test", or "dev" where the experiment holds it out for
choosing) and return an Outcome with
the metrics initial_cost, final_cost, train_accuracy (and test_accuracy when
the data has a test split), cost_epoch_N for each epoch N whose cost the course
publishes (the variant's published figures), the cost of every iteration and
the final parameters. In a full-batch run one iteration is one epoch. The Outcome also carries
``figure_data`` (experiments.figures.attach: the costs' unit and, on 2-D data, the regions this
side's own model predicts), from which the runner draws the pair's figures.
"""

from __future__ import annotations

import math
import time

import numpy as np

from . import figures
from .runner import Outcome
from .tblog import EVALUATIONS, HISTOGRAMS, SCALAR_POINTS, Cadence, log10_cost_divergence

MIN_CHUNK = 10   # full-batch iterations between evaluations, at least
EPOCH_COST = "cost_epoch_"   # + N: the metric of epoch N's mean cost (full batch: iteration N's cost)


class RunLog:
    """The logging of one training run (costs, accuracies, gradient norms, histograms, figures)."""

    def __init__(self, trial, side, iterations: int, unit: str, held_out: str = "test"):
        """``unit``: the step of the accuracies and gradient norms (epoch or iteration)."""
        self.trial, self.side, self.logger = trial, side, trial.logger
        self.unit, self.held_out = unit, held_out
        self.cadence = Cadence(iterations, SCALAR_POINTS)
        self.reference = trial.reference.costs if trial.reference else None
        self.evaluations = 0

    def iterations(self, costs, rates, start: int) -> None:
        """cost, learning_rate and (torch run of a pair) divergence/log10_cost of iterations start, ..."""
        ref = self.reference
        for i, (cost, lr) in enumerate(zip(costs, rates), start):
            if self.cadence(i):
                self.logger.scalar("cost", cost, i, "iteration")
                self.logger.scalar("learning_rate", lr, i, "iteration")
                if ref is not None and i < len(ref) and np.isfinite(ref[i]):
                    self.logger.scalar("divergence/log10_cost", log10_cost_divergence(cost, ref[i]), i, "iteration")

    def accuracies(self, step: int, train: float, test: float | None) -> None:
        self.logger.scalar("accuracy/train", train, step, self.unit)
        if test is not None:
            self.logger.scalar(f"accuracy/{self.held_out}", test, step, self.unit)

    def evaluation(self, step: int, final: bool) -> None:
        """Per-layer gradient norms on the whole training set; every few evaluations, histograms."""
        grads = self.side.grads()
        for key, grad in grads.items():
            if key[:2] in ("dW", "dw"):
                self.logger.scalar(f"grad_norm/{key[1:]}", float(np.linalg.norm(grad)), step, self.unit)
        if final or self.evaluations % (EVALUATIONS // HISTOGRAMS) == 0:
            self.logger.histograms(self.side.params(), step, grads)
        self.evaluations += 1

    def finish(self, costs: list, final_cost: float, seconds: float, epoch_costs: list | None = None) -> Outcome:
        """The Outcome; ``epoch_costs``: the mean cost of each epoch (default ``costs``: full batch)."""
        side, trial, step = self.side, self.trial, len(costs) - 1
        params = side.params()
        metrics = {"initial_cost": float(costs[0]), "final_cost": float(final_cost),
                   "train_accuracy": side.accuracy("train")}
        if "test" in side.splits:
            metrics["test_accuracy"] = side.accuracy("test")
        epoch_costs = costs if epoch_costs is None else epoch_costs
        for metric in trial.variant.published:   # the costs the course prints (a quick run may stop earlier)
            if metric.startswith(EPOCH_COST) and int(metric[len(EPOCH_COST):]) < len(epoch_costs):
                metrics[metric] = float(epoch_costs[int(metric[len(EPOCH_COST):])])
        outcome = Outcome(metrics, [float(c) for c in costs], params, seconds)
        # what the pair's figures need from this side (its own model's regions); the runner draws them
        figures.attach(outcome, side, "full_batch" if epoch_costs is costs else "mini_batch", step, trial.reference)
        return outcome


def full_batch(trial, side, *, lr: float, iterations: int, held_out: str = "test") -> Outcome:
    """``iterations`` of full-batch gradient descent at rate ``lr``; accuracies and gradient
    norms after each chunk, then the checkpoint's hook (a resumed run starts at its checkpoint's
    iteration, a chunk boundary, so its chunks are the uninterrupted run's)."""
    log, start = RunLog(trial, side, iterations, "iteration", held_out), time.perf_counter()
    chunk = max(MIN_CHUNK, math.ceil(iterations / EVALUATIONS))
    ckpt = trial.checkpoint if side.resumable else None
    costs, save = ckpt.attach_full_batch(side, lr, iterations) if ckpt else ([], None)
    log.evaluations = -(-len(costs) // chunk)   # one per chunk done: the histograms keep their cadence
    trial.progress.reset(total=iterations)
    trial.progress.update(len(costs))
    while len(costs) < iterations:
        new = side.gd(min(chunk, iterations - len(costs)), lr)
        log.iterations(new, [lr] * len(new), start=len(costs))
        costs += new
        step = len(costs) - 1
        log.accuracies(step, side.accuracy("train"), side.accuracy("test") if "test" in side.splits else None)
        log.evaluation(step, final=len(costs) == iterations)
        trial.progress.update(len(new))
        if save:
            save(costs)
    return log.finish(costs, costs[-1], time.perf_counter() - start)


def mini_batch(trial, side, *, optimizer: str, lr: float, epochs: int, batch_size: int,
               hyperparameters: dict | None = None, early_stopping=None, held_out: str = "test",
               **loop) -> Outcome:
    """``epochs`` of the shared loop (``loop``: permutations or seed, schedule; see
    scratch_numpy.training.train) with ``optimizer`` (a name of scratch_numpy.optim.OPTIMIZERS)
    at initial rate ``lr``. The final cost is the last epoch's mean cost. After each epoch's logging
    the trial's ``report`` hook, if any, is called (runner.Trial.report). ``early_stopping``: None,
    or an instance of the side's EarlyStopping: after each epoch's logging its ``callback`` records
    the epoch, then the loop asks it whether to stop, and ``finish()`` runs when the loop ends."""
    log = RunLog(trial, side, epochs * math.ceil(side.train.m / batch_size), "epoch", held_out)
    per_epoch, evaluate = Cadence(epochs, SCALAR_POINTS), Cadence(epochs, EVALUATIONS)
    trial.progress.reset(total=epochs)
    # an early-stopping policy's memory is not in a checkpoint: such runs are not checkpointed
    ckpt = trial.checkpoint if early_stopping is None else None
    logged = ckpt.start_iteration if ckpt else 0   # a resumed run logged these already

    def callback(epoch, history, live):
        nonlocal logged
        log.iterations(history.costs[logged:], history.learning_rates[logged:], start=logged)
        logged = len(history.costs)
        if per_epoch(epoch):
            test = history.dev_accuracy[-1] if history.dev_accuracy else None
            log.accuracies(epoch, history.train_accuracy[-1], test)
        if evaluate(epoch):
            log.evaluation(epoch, final=epoch == epochs - 1)
        if early_stopping is not None:
            early_stopping.callback(epoch, history, live)
        if trial.report is not None:
            trial.report(trial, epoch, history, side)
        trial.progress.update(1)

    start = time.perf_counter()
    history = side.fit(optimizer, lr, hyperparameters or {}, callback, checkpoint=ckpt, epochs=epochs,
                       batch_size=batch_size, early_stopping=early_stopping, **loop)
    return log.finish(history.costs, history.epoch_costs[-1], time.perf_counter() - start, history.epoch_costs)


def iterations_to_reach(costs, target: float) -> int:
    """The number of updates that bring the cost to ``target`` or below: the first i with
    costs[i] <= target (costs[i] is the cost after i updates). ``len(costs)`` when no recorded
    cost gets there: a lower bound, the target was not reached within the budget."""
    below = np.flatnonzero(np.asarray(costs, dtype=np.float64) <= target)
    return int(below[0]) if below.size else len(costs)
