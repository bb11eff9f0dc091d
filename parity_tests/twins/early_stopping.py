"""Early stopping: both training loops with the same policy on a set-up where dev error rises."""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import early_stopping as t_early_stopping
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import early_stopping as n_early_stopping
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training

from ..checker.harness import compare
from .common import case, trajectory_tolerance
from .mutant import Mutant


def rising_dev_error_data(seed=1, m=40, m_dev=200, noise=0.3):
    """A set-up where dev error rises: the label is x1 + x2 > 0 on [-1, 1]^2; 30 % of the 40
    training labels are flipped, the 200 dev labels are clean. A [2, 32, 32, 1] ReLU net trained
    by full-batch Adam (lr 0.003) first learns the line (dev error 7 % at epoch 12), then fits
    the flipped labels and the dev error climbs (about 48 % after 150 epochs)."""
    rng = np.random.default_rng(seed)

    def draw(k, flip_fraction):
        X = rng.uniform(-1, 1, (2, k))
        Y = (X[0] + X[1] > 0).astype(np.int64)[None]
        flipped = rng.random(k) < flip_fraction
        Y[0, flipped] = 1 - Y[0, flipped]
        return X, Y
    X, Y = draw(m, noise)
    X_dev, Y_dev = draw(m_dev, 0.0)
    return X, Y, X_dev, Y_dev, rng


def rising_pair(dtype, device, seed):
    """The [2, 32, 32, 1] ReLU net on ``rising_dev_error_data`` on both sides, from the same He draw:
    (net, params, (X, Y, X_dev, Y_dev), model, (Xt, yt, Xt_dev, yt_dev))."""
    X, Y, X_dev, Y_dev, rng = rising_dev_error_data(seed)
    X, X_dev = X.astype(dtype), X_dev.astype(dtype)
    net = n_models.Network((2, 32, 32, 1), "relu", "sigmoid")
    params = net.init_params("he", rng, dtype)
    model = t_models.Network((2, 32, 32, 1), "relu", "sigmoid", dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return (net, params, (X, Y, X_dev, Y_dev), model,
            (*bridge.data_to_torch(X, Y, device), *bridge.data_to_torch(X_dev, Y_dev, device)))


def early_stopping_pair(monitor="dev_error", *, dtype="float64", device="cpu", patience=10, epochs=150, seed=1):
    """Both training loops with the same EarlyStopping policy on ``rising_dev_error_data``.
    Returns (numpy rows, torch rows, numpy stopper, torch stopper)."""
    net, params, (X, Y, X_dev, Y_dev), model, (Xt, yt, Xt_dev, yt_dev) = rising_pair(dtype, device, seed)
    permutations = [np.arange(X.shape[1])] * epochs  # full batch, the same order every epoch

    dev = {"dev_cost": n_early_stopping.dev_cost(net, X_dev, Y_dev)} if monitor == "dev_cost" else {}
    stopper = n_early_stopping.EarlyStopping(patience, monitor=monitor, **dev)
    history = n_training.train(net, params, X, Y, n_optim.make_optimizer("adam", params, lr=0.003), epochs=epochs,
                               batch_size=X.shape[1], permutations=permutations, X_dev=X_dev, Y_dev=Y_dev,
                               callback=stopper.callback, early_stopping=stopper)
    dev_t = {"dev_cost": t_early_stopping.dev_cost(Xt_dev, yt_dev)} if monitor == "dev_cost" else {}
    stopper_t = t_early_stopping.EarlyStopping(patience, monitor=monitor, **dev_t)
    history_t = t_training.train(model, Xt, yt, t_optim.make_optimizer("adam", model, lr=0.003), epochs=epochs,
                                 batch_size=X.shape[1], permutations=permutations, X_dev=Xt_dev,
                                 y_dev=yt_dev, callback=stopper_t.callback, early_stopping=stopper_t)

    def rows(h, s, final):
        return {f"monitored {monitor}": np.asarray(s.values, dtype), "epoch costs": np.asarray(h.epoch_costs, dtype),
                "best epoch, epochs run": np.asarray([s.best_epoch, h.epochs_run]),
                **{f"{k} after early stopping": v for k, v in final.items()}}
    return (rows(history, stopper, params), rows(history_t, stopper_t, bridge.params_from_module(model)),
            stopper, stopper_t)


def early_stopping(monitor="dev_error", *, dtype="float64", device="cpu", **kw):
    """Parity of ``early_stopping_pair`` under the trajectory tolerance."""
    numpy_rows, torch_rows, _, _ = early_stopping_pair(monitor, dtype=dtype, device=device, **kw)
    return compare(numpy_rows, torch_rows, tolerance=trajectory_tolerance(dtype),
                   label=f"early stopping on {monitor}, restored best parameters")


CASES = [
    ("early stopping on dev error (rises), best restored", case(early_stopping, "dev_error")),
    ("early stopping on dev cost, best restored", case(early_stopping, "dev_cost")),
]


def _dev_cost_on_probabilities(original):
    def dev_cost(X_dev, y_dev):   # the loss on logits fed sigmoid(Z_L), the network's forward()
        @torch.no_grad()
        def cost(model):
            return float(t_models.OUTPUTS[model.output][1](model(X_dev), y_dev))
        return cost
    return dev_cost


def _best_not_cloned(original):
    def callback(self, epoch, history, model):
        original(self, epoch, history, model)
        if self.best_epoch == epoch:
            self.best = dict(model.state_dict())   # live tensors: training goes on moving them
    return callback


MUTANTS = {
    "early stopping*": [
        Mutant("numpy", "scratch_numpy.early_stopping.EarlyStopping.__call__",
               "stops one epoch late (patience compared with >)",
               lambda original: lambda self, history: len(self.values) - 1 - self.best_epoch > self.patience),
        Mutant("numpy", "scratch_numpy.early_stopping.EarlyStopping.snapshot",
               "the best parameters kept by reference, not copied",
               lambda original: lambda self, params: {"params": dict(params), "state": {}}),
        Mutant("torch", "reference_torch.early_stopping.EarlyStopping.callback",
               "the best state_dict() kept without clone()", _best_not_cloned)],
    "early stopping on dev cost, best restored": [
        Mutant("torch", "reference_torch.early_stopping.dev_cost", "dev cost of sigmoid(Z_L), not of the logits",
               _dev_cost_on_probabilities)],
}
