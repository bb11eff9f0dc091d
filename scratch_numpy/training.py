"""The training loop every NumPy experiment goes through (cs231n's Solver, the course's model()).

    for epoch = 0, 1, ..., epochs - 1:
        alpha <- alpha0 * f(epoch)                      (an epoch schedule)
        for each mini-batch (X_b, Y_b) of the epoch:   (given order: scratch_numpy.minibatch)
            alpha <- alpha0 * f(iteration)              (an iteration schedule)
            J, grads = network.loss(params, X_b, Y_b);  J += L2 term (optimizer.penalty)
            optimizer.step(params, grads)               (params change in place)
        epoch cost = sum_b m_b J_b / sum_b m_b; train (and dev) accuracy on the whole set
        callback(epoch, history, params); stop when early_stopping(history) is True

reference_torch.training.train is the same loop with a DataLoader, a
torch.optim optimizer and an LR scheduler; given the same permutations it
records the same History.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .minibatch import check_batch_size, epoch_index_batches
from .optim import Optimizer
from .schedules import as_schedule
from .validation import check_count


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


def check_loop_arguments(epochs, batch_size, callback, early_stopping, dev_pair):
    """Checks shared by both training loops; returns (epochs, batch_size)."""
    epochs = check_count("epochs", epochs)
    batch_size = check_batch_size(batch_size)
    for name, fn in (("callback", callback), ("early_stopping", early_stopping)):
        if fn is not None and not callable(fn):
            raise ValueError(f"{name} must be callable or None, got {fn!r}")
    if (dev_pair[0] is None) != (dev_pair[1] is None):
        raise ValueError("give both dev inputs and dev labels, or neither")
    return epochs, batch_size


def train(network, params: dict, X, Y, optimizer: Optimizer, *, epochs: int, batch_size: int,
          permutations=None, seed=None, sampling: str = "shuffle", schedule=None,
          X_dev=None, Y_dev=None, callback=None, early_stopping=None) -> History:
    """Train ``params`` (updated in place) of ``network`` (scratch_numpy.models.Network).

    Shapes: X (n_x, m), Y (1, m), X_dev (n_x, m_dev), Y_dev (1, m_dev).
    Batches: ``permutations`` (one per epoch) or ``seed``, and ``sampling`` — see
    minibatch.epoch_index_batches. ``schedule``: None (constant rate), a
    schedules.Schedule, a name, or {"name": ..., **hyperparameters}; it scales
    ``optimizer.initial_lr``. ``callback(epoch, history, params)`` runs after each
    epoch; ``early_stopping(history) -> bool`` then decides whether to stop, and its
    ``finish()``, if it has one, runs when the loop ends (scratch_numpy.early_stopping).
    """
    epochs, batch_size = check_loop_arguments(epochs, batch_size, callback, early_stopping, (X_dev, Y_dev))
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"optimizer must be a scratch_numpy.optim.Optimizer, got {type(optimizer).__name__}")
    X, Y = network.check_data(params, X, Y)
    if X_dev is not None:
        network.check_data(params, X_dev, Y_dev)
    schedule = as_schedule(schedule)
    batches = epoch_index_batches(X.shape[1], epochs=epochs, batch_size=batch_size,
                                  permutations=permutations, seed=seed, sampling=sampling)
    alpha0, history, iteration = optimizer.initial_lr, History(), 0
    for epoch, epoch_batches in enumerate(batches):
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
            break
    if hasattr(early_stopping, "finish"):  # e.g. EarlyStopping puts the best epoch's parameters back
        early_stopping.finish()
    return history
