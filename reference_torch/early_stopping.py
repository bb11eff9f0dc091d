"""Early stopping for reference_torch.training.train: the course's policy (the monitors, patience,
min_delta and stopping rule of scratch_numpy.early_stopping, written here again), with the model's
state_dict as the snapshot of the best epoch (parameters and batch norm's running statistics together):

    stopper = EarlyStopping(patience=5)
    history = train(model, X, y, optimizer, epochs=200, batch_size=64, X_dev=X_dev, y_dev=y_dev,
                    callback=stopper.callback, early_stopping=stopper)
    # model now holds the best epoch's parameters (and running statistics)
"""

from __future__ import annotations

import math

import torch

from scratch_numpy.contract import MONITORS
from scratch_numpy.validation import check_choice, check_count, check_flag, check_positive

from .models import Network, OUTPUTS
from .validation import check_model, check_state_dict


def dev_cost(X_dev, y_dev):
    """model -> the dev set's data cost J (no L2/L1 term) from an eval-mode pass, without gradients.
    Shapes: X_dev (m_dev, n_x), y_dev (m_dev,) int64."""
    @torch.no_grad()
    def cost(model):
        check_model("model", model, Network)
        if y_dev is None:
            raise ValueError("y_dev must be the (m_dev,) int64 dev labels, got None")
        model.check_data(X_dev, y_dev, names=("X_dev", "y_dev"))
        was_training = model.training
        model.eval()
        try:
            return float(OUTPUTS[model.output][1](model.scores(X_dev), y_dev))
        finally:
            model.train(was_training)
    return cost


class EarlyStopping:
    """Stop when the dev set stops improving, keep the best epoch (course 2, week 1).

    After each epoch ``callback(epoch, history, model)`` records the monitored value, "dev_error"
    (1 - history.dev_accuracy[-1]: give train X_dev, y_dev) or "dev_cost" (``dev_cost(model)``), and,
    when it improves on the best so far by more than ``min_delta`` (value < best - min_delta; the
    first epoch always counts), keeps a copy of the model's state_dict (parameters and batch norm's
    running statistics). ``stopper(history)`` is True once ``patience`` epochs in a row have not
    improved; ``finish()`` loads the best state_dict back (``restore_best``). After the run:
    ``values`` (one per epoch), ``best_epoch`` (0-based), ``best_value``, ``best`` (the state_dict).
    """

    def __init__(self, patience: int = 5, *, monitor: str = "dev_error", dev_cost=None, min_delta: float = 0.0,
                 restore_best: bool = True):
        self.patience = check_count("patience", patience)
        self.monitor = check_choice("monitor", monitor, MONITORS)
        if monitor == "dev_cost" and not callable(dev_cost):
            raise ValueError("monitor='dev_cost' needs dev_cost=, a function of the model returning the dev cost "
                             f"(e.g. early_stopping.dev_cost(X_dev, y_dev)), got {dev_cost!r}")
        if monitor == "dev_error" and dev_cost is not None:
            raise ValueError("dev_cost= is only used with monitor='dev_cost'")
        self.dev_cost = dev_cost
        self.min_delta = check_positive("min_delta", min_delta, allow_zero=True)
        self.restore_best = check_flag("restore_best", restore_best)
        self.values: list[float] = []
        self.best_epoch, self.best_value, self.best = None, math.inf, None
        self.model = None   # the model the callback saw: restore()'s default

    def callback(self, epoch, history, model) -> None:
        """The loop's ``callback``: record this epoch's value; keep the state_dict if it is the best."""
        if self.monitor == "dev_cost":
            value = float(self.dev_cost(model))
        elif not history.dev_accuracy:
            raise ValueError("monitor='dev_error' needs the dev accuracy: pass X_dev and y_dev to train")
        else:
            value = 1.0 - history.dev_accuracy[-1]
        self.values.append(value)
        self.model = model
        if self.best_epoch is None or value < self.best_value - self.min_delta:
            self.best_epoch, self.best_value = epoch, value
            self.best = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def __call__(self, history) -> bool:
        """The loop's ``early_stopping``: True once ``patience`` epochs have passed without improving."""
        if len(self.values) != history.epochs_run:
            raise ValueError("EarlyStopping needs its callback too: pass callback=stopper.callback to train")
        epochs_since_best = len(self.values) - 1 - self.best_epoch
        return epochs_since_best >= self.patience

    def finish(self) -> None:
        """Called by the loop when training ends: restore the best epoch (if ``restore_best``)."""
        if self.restore_best and self.best is not None:
            self.restore()

    def restore(self, model=None) -> None:
        """Load the best epoch's state_dict into ``model`` (default: the one the callback saw)."""
        if self.best is None:
            raise ValueError("nothing to restore: no epoch has been recorded yet")
        model = self.model if model is None else check_model("model", model, Network)
        check_state_dict("model", model, self.best)
        model.load_state_dict(self.best)
