"""Losses and penalties: the cost J and its gradient on both sides."""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import losses as t_losses
from scratch_numpy import activations as n_act
from scratch_numpy import losses as n_losses

from ..checker.harness import compare
from .common import case, labels, leaf, normal
from .mutant import Mutant, returning

LOSS_INPUTS = {
    # name: (input name, input maker given (rng, C, m, dtype), number of label classes)
    "binary_cross_entropy": ("AL", lambda rng, C, m, dt: n_act.sigmoid(rng.standard_normal((1, m))).astype(dt), 2),
    "binary_cross_entropy_with_logits": ("Z", lambda rng, C, m, dt: (3 * rng.standard_normal((1, m))).astype(dt), 2),
    "softmax_cross_entropy": ("scores", lambda rng, C, m, dt: (3 * rng.standard_normal((C, m))).astype(dt), None),
    "svm_hinge": ("scores", lambda rng, C, m, dt: (3 * rng.standard_normal((C, m))).astype(dt), None),
}


def loss(name: str, *, dtype="float64", num_classes=4, m=6, seed=0, device="cpu"):
    """The cost J and the input gradient (NumPy's per-example one = m * autograd's)."""
    rng = np.random.default_rng(seed)
    input_name, make, classes = LOSS_INPUTS[name]
    x = make(rng, num_classes, m, dtype)
    Y = labels(rng, classes or num_classes, m)
    cost, dx = getattr(n_losses, name)(x, Y)

    xt = leaf(x, device)
    yt = bridge.to_tensor(Y[0], device)
    cost_t = getattr(t_losses, name)(xt, yt)
    cost_t.backward()
    return compare({"cost": np.asarray(cost, dtype), "d" + input_name: dx},
                   {"cost": cost_t, "d" + input_name: m * xt.grad.T}, label=f"loss {name}")


def penalty(name: str, *, dtype="float64", layer_dims=(4, 5, 3), strength=0.7, m=10, seed=0, device="cpu"):
    """lambda/(2m) sum ||W||^2 (``name`` "l2") or lambda/(2m) sum |W| ("l1") and its gradient, on W only."""
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = normal(rng, (layer_dims[l], layer_dims[l - 1]), dtype)
        params[f"b{l}"] = normal(rng, (layer_dims[l], 1), dtype)
    cost, grads = getattr(n_losses, f"{name}_penalty")(params, strength, m)

    weights = {k: bridge.to_tensor(v, device).requires_grad_() for k, v in params.items() if k.startswith("W")}
    cost_t = getattr(t_losses, f"{name}_penalty")(weights.values(), strength, m)
    cost_t.backward()
    return compare({"cost": np.asarray(cost, dtype), **grads},
                   {"cost": cost_t, **{"d" + k: w.grad for k, w in weights.items()}},
                   label=f"{name} penalty")


# seed 0 draws the binary labels all 1, which would leave the y = 0 branch unchecked
SEEDS = {"binary_cross_entropy": 1, "binary_cross_entropy_with_logits": 1}
CASES = [
    *((f"loss {name}", case(loss, name, seed=SEEDS.get(name, 0))) for name in LOSS_INPUTS),
    *((f"{name} penalty", case(penalty, name)) for name in ("l2", "l1")),
]


def kernel(side: str, name: str) -> tuple[str, str]:
    """Both paths of a loss or penalty kernel: its module name and its public function's ``.unchecked``
    (models.Network's path), e.g. ("scratch_numpy.losses._l2_penalty", "scratch_numpy.losses.l2_penalty.unchecked")."""
    package = "scratch_numpy" if side == "numpy" else "reference_torch"
    private = {"binary_cross_entropy_with_logits": "_bce_with_logits"}.get(name, f"_{name}")
    return f"{package}.losses.{private}", f"{package}.losses.{name}.unchecked"


def _cost_and_grad(cost_transform=lambda c: c, grad_transform=lambda g: g):
    """A factory: a (cost, gradient) function with ``cost_transform`` and ``grad_transform`` applied."""
    return returning(lambda out: (cost_transform(out[0]), grad_transform(out[1])))


def _bce_gradient_sign(original):
    def mutated(Z, Y):
        cost, dZ = original(Z, Y)
        return cost, -dZ   # dZ = y - sigmoid(z)
    return mutated


def _softmax_label_not_subtracted(original):
    def mutated(scores, Y):
        cost, dscores = original(scores, Y)
        dscores[Y[0], np.arange(scores.shape[1])] += 1   # softmax alone, the "- 1" at the label dropped
        return cost, dscores
    return mutated


def _svm_counts_label(original):
    def mutated(scores, Y, delta=1.0):
        cost, dscores = original(scores, Y, delta)
        return cost + delta, dscores   # the label's own margin delta left in the sum
    return mutated


def _l1_gradient_doubled(original):
    def mutated(params, strength, m):
        cost, grads = original(params, strength, m)
        return cost, {k: 2 * g for k, g in grads.items()}   # lambda/m sign(W): L2's factor copied
    return mutated


MUTANTS = {
    "loss binary_cross_entropy": [
        Mutant("numpy", "scratch_numpy.losses.binary_cross_entropy", "dAL = -1/(1 - a) for y = 0 (sign)",
               _cost_and_grad(grad_transform=lambda dA: np.where(dA > 0, -dA, dA))),
        Mutant("torch", "reference_torch.losses.binary_cross_entropy", "summed, not averaged over m",
               lambda original: lambda AL, y: original(AL, y) * len(y))],
    "loss binary_cross_entropy_with_logits": [
        Mutant("numpy", kernel("numpy", "binary_cross_entropy_with_logits"), "dZ = y - sigmoid(z) (sign)",
               _bce_gradient_sign),
        Mutant("torch", kernel("torch", "binary_cross_entropy_with_logits"), "the labels flipped, 1 - y",
               lambda original: lambda Z, y: original(Z, 1 - y))],
    "loss softmax_cross_entropy": [
        Mutant("numpy", kernel("numpy", "softmax_cross_entropy"), "dscores without the -1 at the label",
               _softmax_label_not_subtracted),
        Mutant("torch", kernel("torch", "softmax_cross_entropy"), "label smoothing 0.1 left on",
               lambda original: lambda s, y: torch.nn.functional.cross_entropy(s, y, label_smoothing=0.1))],
    "loss svm_hinge": [
        Mutant("numpy", kernel("numpy", "svm_hinge"), "the label's own margin delta counted", _svm_counts_label),
        Mutant("torch", kernel("torch", "svm_hinge"), "MultiMarginLoss's /C not multiplied back",
               lambda original: lambda s, y, delta=1.0: original(s, y, delta) / s.shape[1])],
    "l2 penalty": [
        Mutant("numpy", kernel("numpy", "l2_penalty"), "cost lambda/m ||W||^2 (the 1/2 dropped)",
               _cost_and_grad(cost_transform=lambda c: 2 * c)),
        Mutant("torch", kernel("torch", "l2_penalty"), "||W|| not squared",
               lambda original: lambda ws, strength, m: strength / (2 * m) * sum(W.norm() for W in ws))],
    "l1 penalty": [
        Mutant("numpy", kernel("numpy", "l1_penalty"), "dW = lambda/m sign(W) (L2's factor)", _l1_gradient_doubled),
        Mutant("torch", kernel("torch", "l1_penalty"), "|W| summed as W (abs dropped)",
               lambda original: lambda ws, strength, m: strength / (2 * m) * sum(W.sum() for W in ws))],
}
