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


from .contract import check_loop_arguments, check_resume
from .minibatch import epoch_index_batches
from .models import Network
from .optim import Optimizer
from .records import History, Resume
from .schedules import as_schedule
from .validation import check_model


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
