"""The training loop every NumPy experiment goes through (cs231n's Solver, the course's model()).

    for epoch = 0, 1, ..., epochs - 1:
        alpha <- alpha0 * f(epoch)                      (an epoch schedule)
        for each mini-batch (X_b, Y_b) of the epoch:   (given order: scratch_numpy.minibatch)
            alpha <- alpha0 * f(iteration)              (an iteration schedule)
            J, grads = network.loss(params, X_b, Y_b);  J += L2 term (optimizer.penalty)
            optimizer.step(params, grads)               (params change in place)
        epoch cost = sum_b m_b J_b / sum_b m_b; train (and dev) accuracy on the whole set
        callback(epoch, history, params); stop when early_stopping(history) is True
        checkpoint(Resume(history), params)             (a hook that may save the run)

Resuming: ``resume=Resume(history)`` (with the optimiser's state restored by the
caller) continues at epoch history.epochs_run and update len(history.costs), the
very same steps the uninterrupted run would have taken (the batches are the same
list: given permutations, or drawn again from the same seed).

reference_torch.training.train is the same loop with a DataLoader, a
torch.optim optimizer and an LR scheduler; given the same permutations it
records the same History.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .minibatch import check_batch_size, epoch_index_batches
from .optim import Optimizer
from .schedules import as_schedule
from .models import Network
from .validation import check_count, check_model


@dataclass
class History:
    """What a training run records (the same fields on both sides).

    costs, learning_rates: one entry per update (the mini-batch cost before the update,
    L2 term included; the rate the update used). epoch_costs, train_accuracy,
    dev_accuracy: one entry per completed epoch (dev_accuracy empty without dev data).
    stopped_early: the early_stopping hook asked to stop (after epoch epochs_run - 1).
    """

    costs: list = field(default_factory=list)
    learning_rates: list = field(default_factory=list)
    epoch_costs: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    dev_accuracy: list = field(default_factory=list)
    epochs_run: int = 0
    stopped_early: bool = False


@dataclass
class Resume:
    """Where a run stands after its last completed epoch: what continues it, and what a
    checkpoint saves besides the parameters and the optimiser's state.

    history: the History so far; the next epoch is ``history.epochs_run`` and the next update
    ``len(history.costs)``, so epoch and iteration schedules continue at their counts.
    scheduler: the torch side's LambdaLR.state_dict() (JSON-compatible: numbers, lists, None);
    None without a schedule, and always on the NumPy side, whose rates are closed forms of the
    counts.
    """

    history: History
    scheduler: dict | None = None


def check_resume(resume, epochs: int, has_dev: bool, has_scheduler: bool, early_stopping=None) -> History:
    """A copy of ``resume.history`` after checking that it fits this run (ValueError otherwise).
    An early_stopping hook is refused: its memory (best epoch, patience count) is not in a Resume,
    so a resumed run would decide differently."""
    if not isinstance(resume, Resume) or not isinstance(resume.history, History):
        raise ValueError(f"resume must be a training.Resume holding a History, got {type(resume).__name__}")
    if early_stopping is not None:
        raise ValueError("resume cannot be combined with early_stopping: the hook's memory is not in a Resume")
    h = resume.history
    if not 0 <= h.epochs_run <= epochs:
        raise ValueError(f"resume: the history has run {h.epochs_run} epochs, this run has {epochs}")
    per_epoch = {"epoch_costs": h.epochs_run, "train_accuracy": h.epochs_run,
                 "dev_accuracy": h.epochs_run if has_dev else 0, "learning_rates": len(h.costs)}
    for name, expected in per_epoch.items():
        if len(getattr(h, name)) != expected:
            raise ValueError(f"resume: history.{name} holds {len(getattr(h, name))} entries, expected {expected}")
    if (resume.scheduler is not None) != has_scheduler:
        raise ValueError("resume: the scheduler state must be given exactly when the run has a torch schedule "
                         f"(schedule {'given' if has_scheduler else 'none'}, state "
                         f"{'none' if resume.scheduler is None else 'given'})")
    return copy.deepcopy(h)   # the caller's record stays as it was


def check_loop_arguments(epochs, batch_size, callback, early_stopping, dev_pair, checkpoint=None):
    """Checks shared by both training loops; returns (epochs, batch_size)."""
    epochs = check_count("epochs", epochs)
    batch_size = check_batch_size(batch_size)
    for name, fn in (("callback", callback), ("early_stopping", early_stopping), ("checkpoint", checkpoint)):
        if fn is not None and not callable(fn):
            raise ValueError(f"{name} must be callable or None, got {fn!r}")
    if (dev_pair[0] is None) != (dev_pair[1] is None):
        raise ValueError("give both dev inputs X_dev and dev labels Y_dev (y_dev on the torch side), or neither")
    return epochs, batch_size


def train(network, params: dict, X, Y, optimizer: Optimizer, *, epochs: int, batch_size: int,
          permutations=None, seed=None, sampling: str = "shuffle", schedule=None,
          X_dev=None, Y_dev=None, callback=None, early_stopping=None, resume=None, checkpoint=None) -> History:
    """Train ``params`` (updated in place) of ``network`` (scratch_numpy.models.Network).

    Shapes: X (n_x, m), Y (1, m), X_dev (n_x, m_dev), Y_dev (1, m_dev).
    Batches: ``permutations`` (one per epoch) or ``seed``, and ``sampling`` — see
    minibatch.epoch_index_batches. ``schedule``: None (constant rate), a
    schedules.Schedule, a name, or {"name": ..., **hyperparameters}; it scales
    ``optimizer.initial_lr``. ``callback(epoch, history, params)`` runs after each
    epoch; ``early_stopping(history) -> bool`` then decides whether to stop, and its
    ``finish()``, if it has one, runs when the loop ends (scratch_numpy.early_stopping).
    ``resume``: a Resume to continue from (``params`` and ``optimizer`` already restored to that
    point; refused with an early_stopping hook, whose memory is not in it). ``checkpoint(resume, params)``
    runs after every epoch, after early_stopping's verdict, with the Resume that continues after
    it (its history is the live record: save it before returning).
    """
    epochs, batch_size = check_loop_arguments(epochs, batch_size, callback, early_stopping, (X_dev, Y_dev),
                                              checkpoint)
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a scratch_numpy.optim.Optimizer, got {type(optimizer).__name__}")
    check_model("network", network, Network)
    X, Y = network.check_data(params, X, Y)
    if X_dev is not None:
        network.check_data(params, X_dev, Y_dev, names=("X_dev", "Y_dev"))
    schedule = as_schedule(schedule)
    batches = epoch_index_batches(X.shape[1], epochs=epochs, batch_size=batch_size,
                                  permutations=permutations, seed=seed, sampling=sampling)
    history = History() if resume is None else check_resume(resume, epochs, X_dev is not None, False, early_stopping)
    alpha0, iteration, start = optimizer.initial_lr, len(history.costs), history.epochs_run
    for epoch, epoch_batches in enumerate(batches[start:] if not history.stopped_early else [], start):
        if schedule is not None and schedule.unit == "epoch":
            optimizer.lr = schedule.lr(alpha0, epoch)
        total, seen = 0.0, 0
        for idx in epoch_batches:
            if schedule is not None and schedule.unit == "iteration":
                optimizer.lr = schedule.lr(alpha0, iteration)
            cost, grads = network.loss(params, X[:, idx], Y[:, idx])
            cost += optimizer.penalty(params)
            optimizer.step(params, grads)
            history.costs.append(cost)
            history.learning_rates.append(optimizer.lr)
            total, seen, iteration = total + cost * len(idx), seen + len(idx), iteration + 1
        history.epoch_costs.append(total / seen)
        history.train_accuracy.append(network.accuracy(params, X, Y))
        if X_dev is not None:
            history.dev_accuracy.append(network.accuracy(params, X_dev, Y_dev))
        history.epochs_run = epoch + 1
        if callback is not None:
            callback(epoch, history, params)
        if early_stopping is not None and early_stopping(history):
            history.stopped_early = True
        if checkpoint is not None:
            checkpoint(Resume(history), params)
        if history.stopped_early:
            break
    if hasattr(early_stopping, "finish"):  # e.g. EarlyStopping puts the best epoch's parameters back
        early_stopping.finish()
    return history
