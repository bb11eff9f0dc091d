"""The training loop every torch experiment goes through: the same loop as
scratch_numpy.training.train, with torch's pieces.

    for epoch = 0, 1, ..., epochs - 1:
        DataLoader over TensorDataset(X, y), fed the epoch's given order   (strategy.batches)
        for each mini-batch (X_b, y_b):
            optimizer.zero_grad(); J = model.cost(X_b, y_b); J.backward()   (strategy.cost)
            optimizer.step()                       (L2 through weight_decay on W)
            scheduler.step()                       (an iteration schedule)
        scheduler.step()                           (an epoch schedule: LambdaLR counting)
        epoch cost, train (and dev) accuracy; callback(epoch, history, model); early_stopping(history)
        checkpoint(Resume(history, scheduler.state_dict()), model)

Resuming as on the NumPy side: ``resume=Resume(history, scheduler state)`` with the model's
and the optimiser's state_dict restored by the caller; the LambdaLR is rebuilt and set back
to its count and rate.

The recorded cost adds lambda/(2m) sum ||W||^2 (reference_torch.optim.penalty_terms),
which torch's loss does not contain. The batches' costs stay on the device until the epoch
ends and are read in one transfer, so on a GPU the loop waits for the host once per epoch
(where the history, the callback and the accuracies need values), not once per batch.
Returns scratch_numpy.records.History, so both sides' records have the very same fields.

The batches and each batch's cost come from a ``strategy`` (OneProcess by default: the whole
batch in this process). reference_torch.ddp.DataParallel is the other one: each process of a
torch.distributed group takes its shard of every batch and DistributedDataParallel averages the
gradients; the rest of the loop (optimiser, schedule, history, callback, checkpoint) is this one.
"""

from __future__ import annotations

import torch

from scratch_numpy.contract import check_loop_arguments, check_resume
from scratch_numpy.records import History, Resume

from .minibatch import epoch_orders, order_loader
from .models import Network
from .optim import defer_squarable_check, penalty_terms
from .schedules import as_scheduler
from .validation import check_model, check_optimizer


def train(model, X: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer, *, epochs: int,
          batch_size: int, permutations=None, seed=None, sampling: str = "shuffle", schedule=None,
          X_dev=None, y_dev=None, callback=None, early_stopping=None, resume=None, checkpoint=None,
          strategy=None) -> History:
    """Train ``model`` (reference_torch.models.Network) in place with ``optimizer``
    (e.g. reference_torch.optim.make_optimizer).

    Shapes: X (m, n_x), y (m,) int64, X_dev (m_dev, n_x), y_dev (m_dev,).
    ``permutations``/``seed``/``sampling`` give the batches exactly as on the NumPy side
    (drawn with NumPy); ``schedule`` is None, a name or {"name": ..., **hyperparameters}
    and becomes a LambdaLR on ``optimizer``. ``callback(epoch, history, model)``,
    ``early_stopping(history) -> bool`` as on the NumPy side. ``resume`` (a
    scratch_numpy.records.Resume, ``model`` and ``optimizer`` already restored) and
    ``checkpoint(resume, model)`` as on the NumPy side; Resume.scheduler carries the LambdaLR's
    state_dict. ``strategy``: None (OneProcess) or an object with OneProcess's five methods
    (reference_torch.ddp.DataParallel), built for this ``model``, ``batch_size`` and ``sampling``.
    """
    epochs, batch_size = check_loop_arguments(epochs, batch_size, callback, early_stopping, (X_dev, y_dev),
                                              checkpoint)
    check_model("model", model, Network)
    check_optimizer("optimizer", optimizer, model)
    model.check_data(X, y)
    if X_dev is not None:
        model.check_data(X_dev, y_dev, names=("X_dev", "y_dev"))
    orders = epoch_orders(X.shape[0], epochs=epochs, batch_size=batch_size, permutations=permutations, seed=seed,
                          sampling=sampling)
    strategy = OneProcess(model, batch_size=batch_size, sampling=sampling) if strategy is None else strategy
    strategy.start(X, y, orders)
    scheduler = as_scheduler(optimizer, schedule)
    history = History() if resume is None else check_resume(resume, epochs, X_dev is not None, scheduler is not None,
                                                                   early_stopping)
    if resume is not None and scheduler is not None:
        _restore_scheduler(optimizer, scheduler, resume.scheduler)
    start = history.epochs_run
    with defer_squarable_check(optimizer) as check_gradients:   # read once per epoch, not per batch
        for epoch, order in enumerate(orders[start:] if not history.stopped_early else [], start):
            terms, sizes = [], []   # each batch's cost and L2 terms, kept on the device until the epoch ends
            for X_b, y_b, n in strategy.batches(epoch):
                history.learning_rates.append(float(optimizer.param_groups[0]["lr"]))
                optimizer.zero_grad()
                cost = strategy.cost(X_b, y_b, n)
                cost.backward()
                terms.append(torch.stack([cost.detach(), *penalty_terms(optimizer, check=False)]))
                sizes.append(n)
                optimizer.step()
                if scheduler is not None and scheduler.unit == "iteration":
                    scheduler.step()
            if scheduler is not None and scheduler.unit == "epoch":
                scheduler.step()
            costs = [_batch_cost(*row) for row in strategy.reduce(torch.stack(terms)).tolist()]   # the host read
            check_gradients()   # RMSprop, Adam: no gradient too large to square (one more scalar)
            history.costs += costs
            history.epoch_costs.append(sum(c * n for c, n in zip(costs, sizes)) / sum(sizes))
            history.train_accuracy.append(model.accuracy(X, y))
            if X_dev is not None:
                history.dev_accuracy.append(model.accuracy(X_dev, y_dev))
            history.epochs_run = epoch + 1
            if callback is not None:
                callback(epoch, history, model)
            if early_stopping is not None and strategy.agree(bool(early_stopping(history))):
                history.stopped_early = True
            if checkpoint is not None:
                checkpoint(Resume(history, scheduler and scheduler.scheduler.state_dict()), model)
            if history.stopped_early:
                break
    if hasattr(early_stopping, "finish"):  # e.g. EarlyStopping puts the best epoch's parameters back
        early_stopping.finish()
    return history


class OneProcess:
    """The default strategy of ``train``: every batch whole, in this process.

    start(X, y, orders)   once, before the first epoch: the checked data and every epoch's order
    batches(epoch)        the epoch's (X_b (b, n_x), y_b (b,), b): the DataLoader of order_loader
    cost(X_b, y_b, n)     the 0-d cost to differentiate and record: model.cost, the mean loss over
                          the n examples plus the model's own penalty
    reduce(terms)         the epoch's recorded terms (batches, 1 + L2 groups) as the whole batch's:
                          here they already are
    agree(stop)           early stopping's decision after an epoch, the one every process follows:
                          here this process's own
    """

    def __init__(self, model: Network, *, batch_size: int, sampling: str):
        self.model, self.batch_size, self.sampling = model, batch_size, sampling

    def start(self, X, y, orders: list) -> None:
        self.X, self.y, self.orders = X, y, orders

    def batches(self, epoch: int):
        for X_b, y_b in order_loader(self.X, self.y, self.orders[epoch], sampling=self.sampling,
                                     batch_size=self.batch_size):
            yield X_b, y_b, len(y_b)

    def cost(self, X_b, y_b, n: int) -> torch.Tensor:
        return self.model.cost(X_b, y_b, check=False)   # X and y were checked by train; a batch is a subset

    def reduce(self, terms: torch.Tensor) -> torch.Tensor:
        return terms

    def agree(self, stop: bool) -> bool:
        return stop


def _restore_scheduler(optimizer, scheduler, state: dict) -> None:
    """Set a fresh LambdaLR back to a saved count: its state_dict, then each group's rate to the
    last rate it computed (load_state_dict restores the count but leaves the groups' rates at
    the constructor's base_lr * lambda(0))."""
    if not isinstance(state, dict):
        raise ValueError(f"resume.scheduler must be a LambdaLR state_dict, got {type(state).__name__}")
    try:
        scheduler.scheduler.load_state_dict(dict(state))   # load_state_dict pops from its argument
        rates = scheduler.scheduler.get_last_lr()
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"resume.scheduler is not a LambdaLR state_dict ({error!r})") from None
    if len(rates) != len(optimizer.param_groups):
        raise ValueError(f"resume.scheduler holds {len(rates)} rates for {len(optimizer.param_groups)} groups")
    for group, lr in zip(optimizer.param_groups, rates):
        group["lr"] = lr


def _batch_cost(data_cost: float, *l2_terms: float) -> float:
    """J of one batch as the NumPy loop adds it: the data cost plus the L2 terms summed from 0.0."""
    total = 0.0
    for term in l2_terms:
        total += term
    return data_cost + total
