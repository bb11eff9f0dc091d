"""Early stopping for reference_torch.training.train: scratch_numpy.early_stopping's policy
(same monitors, patience, min_delta and stopping rule), with the model's state_dict as the
snapshot of the best epoch (parameters and batch norm's running statistics together):

    stopper = EarlyStopping(patience=5)
    history = train(model, X, y, optimizer, epochs=200, batch_size=64, X_dev=X_dev, y_dev=y_dev,
                    callback=stopper.callback, early_stopping=stopper)
    # model now holds the best epoch's parameters (and running statistics)
"""

from __future__ import annotations

import torch

from scratch_numpy import early_stopping

from .models import OUTPUTS, Network
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


class EarlyStopping(early_stopping.EarlyStopping):
    """The NumPy side's policy; the callback's third argument is the model."""

    def __init__(self, patience: int = 5, *, monitor: str = "dev_error", dev_cost=None, min_delta: float = 0.0,
                 restore_best: bool = True):
        super().__init__(patience, monitor=monitor, dev_cost=dev_cost, min_delta=min_delta,
                         restore_best=restore_best)

    def snapshot(self, model) -> dict:
        return {k: v.detach().clone() for k, v in model.state_dict().items()}

    def restore(self, model=None) -> None:
        """Load the best epoch's state_dict into ``model`` (default: the one the callback saw)."""
        if self.best is None:
            raise ValueError("nothing to restore: no epoch has been recorded yet")
        model = self._live if model is None else check_model("model", model, Network)
        check_state_dict("model", model, self.best)
        model.load_state_dict(self.best)
