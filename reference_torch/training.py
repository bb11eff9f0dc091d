"""The training loop every torch experiment goes through: the same loop as
scratch_numpy.training.train, with torch's pieces.

    for epoch = 0, 1, ..., epochs - 1:
        DataLoader over TensorDataset(X, y), fed the epoch's given order
        for each mini-batch (X_b, y_b):
            optimizer.zero_grad(); J = model.cost(X_b, y_b); J.backward()
            optimizer.step()                       (L2 through weight_decay on W)
            scheduler.step()                       (an iteration schedule)
        scheduler.step()                           (an epoch schedule: LambdaLR counting)
        epoch cost, train (and dev) accuracy; callback(epoch, history, model); early_stopping(history)

The recorded cost adds lambda/(2m) sum ||W||^2 (reference_torch.optim.penalty),
which torch's loss does not contain. Returns scratch_numpy.training.History,
so both sides' records have the very same fields.
"""

from __future__ import annotations

import torch

from scratch_numpy.minibatch import epoch_index_batches
from scratch_numpy.training import History, check_loop_arguments

from .minibatch import epoch_loader
from .optim import penalty
from .schedules import as_scheduler


def train(model, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer, *, epochs: int,
          batch_size: int, permutations=None, seed=None, sampling: str = "shuffle", schedule=None,
          X_dev=None, y_dev=None, callback=None, early_stopping=None) -> History:
    """Train ``model`` (reference_torch.models.Network) in place with ``optimizer``
    (e.g. reference_torch.optim.make_optimizer).

    Shapes: X (m, n_x), y (m,) int64, X_dev (m_dev, n_x), y_dev (m_dev,).
    ``permutations``/``seed``/``sampling`` give the batches exactly as on the NumPy side
    (drawn with NumPy); ``schedule`` is None, a name or {"name": ..., **hyperparameters}
    and becomes a LambdaLR on ``optimizer``. ``callback(epoch, history, model)``,
    ``early_stopping(history) -> bool`` as on the NumPy side.
    """
    epochs, batch_size = check_loop_arguments(epochs, batch_size, callback, early_stopping, (X_dev, y_dev))
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ValueError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    model.check_data(X, y)
    if X_dev is not None:
        model.check_data(X_dev, y_dev)
    batches = epoch_index_batches(X.shape[0], epochs=epochs, batch_size=batch_size,
                                  permutations=permutations, seed=seed, sampling=sampling)
    scheduler = as_scheduler(optimizer, schedule)
    history = History()
    for epoch, epoch_batches in enumerate(batches):
        total, seen = 0.0, 0
        for X_b, y_b in epoch_loader(X, y, epoch_batches, sampling=sampling, batch_size=batch_size):
            lr = optimizer.param_groups[0]["lr"]
            optimizer.zero_grad()
            cost = model.cost(X_b, y_b)
            cost.backward()
            cost = float(cost.detach()) + penalty(optimizer)
            optimizer.step()
            if scheduler is not None and scheduler.unit == "iteration":
                scheduler.step()
            history.costs.append(cost)
            history.learning_rates.append(float(lr))
            total, seen = total + cost * len(y_b), seen + len(y_b)
        if scheduler is not None and scheduler.unit == "epoch":
            scheduler.step()
        history.epoch_costs.append(total / seen)
        history.train_accuracy.append(model.accuracy(X, y))
        if X_dev is not None:
            history.dev_accuracy.append(model.accuracy(X_dev, y_dev))
        history.epochs_run = epoch + 1
        if callback is not None:
            callback(epoch, history, model)
        if early_stopping is not None and early_stopping(history):
            history.stopped_early = True
            break
    if hasattr(early_stopping, "finish"):  # e.g. EarlyStopping puts the best epoch's parameters back
        early_stopping.finish()
    return history
