"""Logistic regression: gradients at the start, then a gradient-descent trajectory."""

from __future__ import annotations

import numpy as np

from reference_torch import bridge
from reference_torch import logistic as t_logistic
from reference_torch import losses as t_losses
from scratch_numpy import logistic as n_logistic

from ..checker.harness import compare
from .common import case, labels, normal, widened_for_float32
from .mutant import Mutant


def logistic_trajectory(*, dtype="float64", n_x=5, m=40, seed=0, device="cpu", learning_rate=0.05, steps=100):
    """Logistic regression from zeros: gradients at the start, then ``steps`` updates (optimize)."""
    rng = np.random.default_rng(seed)
    X = normal(rng, (n_x, m), dtype)
    Y = labels(rng, 2, m)
    w, b = n_logistic.initialize_with_zeros(n_x, dtype)
    grads, cost = n_logistic.propagate(w, b, X, Y)
    final, _, costs = n_logistic.optimize(w, b, X, Y, steps, learning_rate)

    model = t_logistic.LogisticRegression(n_x, dtype=bridge.resolve_dtype(dtype), device=device)
    Xt, yt = bridge.data_to_torch(X, Y, device)
    grads_t, cost_t = t_logistic.propagate(model, Xt, yt)
    costs_t = t_logistic.optimize(model, Xt, yt, steps, learning_rate)
    w_t, b_t = bridge.logistic_from_module(model)
    return compare(
        {"cost": np.asarray(cost, dtype), "dw": grads["dw"], "db": np.asarray(grads["db"], dtype),
         "costs": np.asarray(costs, dtype), f"w after {steps} steps": final["w"],
         f"b after {steps} steps": np.asarray(final["b"], dtype)},
        {"cost": cost_t, "dw": grads_t["dw"].T, "db": grads_t["db"][0],
         "costs": np.asarray(costs_t, dtype), f"w after {steps} steps": w_t,
         f"b after {steps} steps": np.asarray(b_t, dtype)},
        tolerance=widened_for_float32(dtype), label=f"logistic regression, {steps} GD steps")


CASES = [("logistic regression, 100 GD steps", case(logistic_trajectory))]


def _db_summed(original):
    def mutated(w, b, X, Y):
        grads, cost = original(w, b, X, Y)
        return {**grads, "db": grads["db"] * X.shape[1]}, cost   # sum(a - y), the 1/m forgotten
    return mutated


def _dw_untransposed(original):
    def mutated(w, b, X, Y):
        grads, cost = original(w, b, X, Y)
        return {**grads, "dw": grads["dw"][::-1].copy()}, cost   # features paired with the wrong weights
    return mutated


def _gradients_accumulated(original):
    def mutated(model, X, y):   # model.zero_grad() dropped: every step adds to the last one's gradients
        cost = t_losses.binary_cross_entropy_with_logits(model.logits(X), y)
        cost.backward()
        return {"dw": model.linear.weight.grad.clone(), "db": model.linear.bias.grad.clone()}, cost.detach()
    return mutated


MUTANTS = {
    "logistic regression, 100 GD steps": [
        Mutant("numpy", "scratch_numpy.logistic._propagate", "db = sum(a - y) (the 1/m forgotten)", _db_summed),
        Mutant("numpy", "scratch_numpy.logistic._propagate", "dw's rows in reverse feature order", _dw_untransposed),
        Mutant("torch", "reference_torch.logistic.propagate", "gradients never zeroed between steps",
               _gradients_accumulated),
    ],
}
