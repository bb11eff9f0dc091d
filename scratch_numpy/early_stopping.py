"""Early stopping (course 2, week 1): stop when the dev set stops improving, keep the best parameters.

A policy for the training loop's two hooks (scratch_numpy.training.train):

    stopper = EarlyStopping(patience=5, monitor="dev_error")
    history = train(network, params, X, Y, optimizer, epochs=200, batch_size=64,
                    X_dev=X_dev, Y_dev=Y_dev, callback=stopper.callback, early_stopping=stopper)

After each epoch ``callback(epoch, history, params)`` records the monitored value

    "dev_error"   1 - dev accuracy of that epoch (history.dev_accuracy: give train X_dev, Y_dev)
    "dev_cost"    dev_cost(params), e.g. ``dev_cost(network, X_dev, Y_dev)`` below

and, when it improves on the best so far by more than ``min_delta`` (value < best - min_delta;
the first epoch always counts), copies the parameters as the best. The loop then calls
``stopper(history)``, which says stop once ``patience`` epochs in a row have not improved.
When the loop ends, stopped or not, it calls ``stopper.finish()``, which copies the best
parameters back into the live ones (``restore_best``), in place, so the caller's params hold
the best epoch's values when train returns.

With batch norm, give ``network=`` so that its running statistics (network.state) are kept and
restored with the parameters. reference_torch.early_stopping is this policy with a model's
state_dict as the snapshot.
"""

from __future__ import annotations

import numpy as np

from .contract import MONITORS
from .models import Network, OUTPUTS
from .validation import (check_choice, check_count, check_flag, check_float_array, check_model, check_params,
                         check_positive)


def dev_cost(network, X_dev, Y_dev):
    """params -> the dev set's data cost J (no L2/L1 term) from a test-time pass (no dropout,
    batch norm's running statistics). Shapes: X_dev (n_x, m_dev), Y_dev (1, m_dev)."""
    check_model("network", network, Network)

    def cost(params):
        _, Y = network._check_labelled(params, X_dev, Y_dev, names=("X_dev", "Y_dev"))
        _, caches = network.forward(params, X_dev)
        return OUTPUTS[network.output][1](caches[-1].activation.Z, Y)[0]
    return cost


class EarlyStopping:
    """The policy (module docstring), one instance per training run. After the run: ``values``
    (one per epoch), ``best_epoch`` (0-based), ``best_value``; ``best`` is the snapshot of the
    best parameters."""

    def __init__(self, patience: int = 5, *, monitor: str = "dev_error", dev_cost=None, min_delta: float = 0.0,
                 restore_best: bool = True, network=None):
        self.patience = check_count("patience", patience)
        self.monitor = check_choice("monitor", monitor, MONITORS)
        if monitor == "dev_cost" and not callable(dev_cost):
            raise ValueError("monitor='dev_cost' needs dev_cost=, a function of the parameters returning the "
                             f"dev cost (e.g. early_stopping.dev_cost(network, X_dev, Y_dev)), got {dev_cost!r}")
        if monitor == "dev_error" and dev_cost is not None:
            raise ValueError("dev_cost= is only used with monitor='dev_cost'")
        self.dev_cost = dev_cost
        self.min_delta = check_positive("min_delta", min_delta, allow_zero=True)
        check_flag("restore_best", restore_best)
        self.restore_best = restore_best
        self.network = network
        self.values: list[float] = []
        self.best_epoch, self.best_value, self.best = None, np.inf, None
        self._live = None

    def _value(self, history, live) -> float:
        if self.monitor == "dev_cost":
            return float(self.dev_cost(live))
        if not history.dev_accuracy:
            raise ValueError("monitor='dev_error' needs the dev accuracy: pass X_dev and Y_dev to train")
        return 1.0 - history.dev_accuracy[-1]

    def callback(self, epoch, history, live) -> None:
        """The loop's ``callback``: record this epoch's value; snapshot the parameters if it is the best."""
        value = self._value(history, live)
        self.values.append(value)
        self._live = live
        if value < self.best_value - self.min_delta or self.best_epoch is None:
            self.best_epoch, self.best_value, self.best = epoch, value, self.snapshot(live)

    def __call__(self, history) -> bool:
        """The loop's ``early_stopping``: True once ``patience`` epochs have passed without improving."""
        if len(self.values) != history.epochs_run:
            raise ValueError("EarlyStopping needs its callback too: pass callback=stopper.callback to train")
        return len(self.values) - 1 - self.best_epoch >= self.patience

    def finish(self) -> None:
        """Called by the loop when training ends: restore the best epoch (if ``restore_best``)."""
        if self.restore_best and self.best is not None:
            self.restore()

    def snapshot(self, params) -> dict:
        """Copies of the parameters (and of network.state, the running statistics, when given)."""
        state = getattr(self.network, "state", None) or {}
        return {"params": {k: v.copy() for k, v in params.items()}, "state": {k: v.copy() for k, v in state.items()}}

    def restore(self, params=None) -> None:
        """Copy the best parameters into ``params`` (default: the ones the callback saw), in place."""
        if self.best is None:
            raise ValueError("nothing to restore: no epoch has been recorded yet")
        params = self._live if params is None else check_params("params", params, keys=self.best["params"])
        for k, v in self.best["params"].items():
            check_float_array(f"params[{k!r}]", params[k], ndim=v.ndim, shape=v.shape, dtype=v.dtype, finite=False)
        for k, v in self.best["params"].items():
            np.copyto(params[k], v)
        if self.best["state"]:
            self.network.state = {k: v.copy() for k, v in self.best["state"].items()}
