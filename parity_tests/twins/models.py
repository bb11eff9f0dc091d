"""Fully connected networks: one step (forward, cost, every gradient, SGD) and full-batch
gradient-descent trajectories, plain or with the practical options (L2/L1, dropout, batch norm).

Bridged conventions (CONVENTIONS.md): torch's loss has no penalty term, so the torch network
adds lambda/(2m) sum ||W||^2 explicitly, or L2 goes through weight_decay = lambda/m on the
weights only; torch's dropout p is 1 - keep_prob and its masks come from another generator, so
masks are drawn once and given to both sides; BatchNorm1d's momentum is 1 - beta and it
averages the unbiased variance, which the NumPy side matches (its default).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reference_torch import bridge
from reference_torch import models as t_models
from scratch_numpy import models as n_models

from ..checker.harness import compare
from . import activations, layers, losses
from .common import case, labels, normal, widened_for_float32
from .mutant import Mutant, replacing, returning

# options only the NumPy network has (torch's BatchNorm1d is always unbiased; torch draws its own masks)
NUMPY_ONLY = ("bn_unbiased_running_var", "dropout_rng")


def _network_pair(layer_dims, hidden, output, dtype, seed, device, init, m):
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, hidden, output)
    params = net.init_params(init, rng, dtype)
    X = normal(rng, (layer_dims[0], m), dtype)
    Y = labels(rng, net.num_classes, m)
    model = t_models.Network(layer_dims, hidden, output, dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    Xt, yt = bridge.data_to_torch(X, Y, device)
    return net, params, X, Y, model, Xt, yt


def network(layer_dims=(4, 5, 3, 1), hidden="relu", output="sigmoid", *, dtype="float64", seed=0,
            device="cpu", init="he", m=8, learning_rate=0.1):
    """Forward output A_L, cost, every dW_l and db_l, and every parameter after one
    gradient-descent step (NumPy arithmetic vs torch.optim.SGD).

    ``init="zeros"`` makes every hidden Z exactly 0, the ReLU kink, on purpose.
    """
    net, params, X, Y, model, Xt, yt = _network_pair(layer_dims, hidden, output, dtype, seed, device, init, m)
    AL, _ = net.forward(params, X)
    cost, grads = net.loss(params, X, Y)
    stepped = {f"{k} after 1 step": v - learning_rate * grads["d" + k] for k, v in params.items()}

    ALt = model(Xt)
    cost_t = model.cost(Xt, yt)
    cost_t.backward()
    grads_t = bridge.grads_from_module(model)
    torch.optim.SGD(model.parameters(), lr=learning_rate).step()
    stepped_t = {f"{k} after 1 step": v for k, v in bridge.params_from_module(model).items()}
    return compare({"A_L": AL, "cost": np.asarray(cost, dtype), **grads, **stepped},
                   {"A_L": ALt.T, "cost": cost_t, **grads_t, **stepped_t},
                   label=f"network {list(layer_dims)} {hidden}/{output} init={init}")


def network_trajectory(layer_dims=(4, 5, 3, 1), hidden="relu", output="sigmoid", *, dtype="float64",
                       seed=0, device="cpu", init="he", m=32, learning_rate=0.1, steps=100):
    """``steps`` full-batch gradient-descent updates on both sides (models.train_gd):
    the cost at every step and every parameter at the end."""
    net, params, X, Y, model, Xt, yt = _network_pair(layer_dims, hidden, output, dtype, seed, device, init, m)
    final, costs = n_models.train_gd(net, params, X, Y, learning_rate, steps)
    costs_t = t_models.train_gd(model, Xt, yt, learning_rate, steps)
    final_t = bridge.params_from_module(model)
    return compare({"costs": np.asarray(costs, dtype), **{f"{k} after {steps} steps": v for k, v in final.items()}},
                   {"costs": np.asarray(costs_t, dtype), **{f"{k} after {steps} steps": v for k, v in final_t.items()}},
                   tolerance=widened_for_float32(dtype),
                   label=f"network {list(layer_dims)} {hidden}/{output}, {steps} GD steps")


def _options_pair(layer_dims, hidden, output, options, *, dtype, seed, device, m, torch_overrides=None):
    """Both networks with the practical ``options`` from the same draw: W by He init, gamma and
    beta perturbed off 1 and 0 (so their gradients matter), X, Y and the torch copies.
    ``torch_overrides`` replace options on the torch network only."""
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, hidden, output, **options)
    params = net.init_params("he", rng, dtype)
    for key in params:
        if key.startswith(("gamma", "beta")):
            params[key] = params[key] + (0.3 * rng.standard_normal(params[key].shape)).astype(dtype)
    X = normal(rng, (layer_dims[0], m), dtype)
    Y = labels(rng, net.num_classes, m)
    torch_options = {**{k: v for k, v in options.items() if k not in NUMPY_ONLY}, **(torch_overrides or {})}
    model = t_models.Network(layer_dims, hidden, output, dtype=bridge.resolve_dtype(dtype), device=device,
                             **torch_options)
    bridge.params_to_module(params, model)
    return rng, net, params, X, Y, model


def _describe(options) -> str:
    parts = [f"{k}={v}" for k, v in options.items() if k in ("l2_lambda", "l1_lambda") and v]
    if options.get("keep_probs") is not None:
        parts.append(f"keep_probs={options['keep_probs']}")
    if options.get("batch_norm"):
        parts.append("batch norm")
    return ", ".join(parts) or "plain"


def network_step(layer_dims=(5, 6, 4, 1), hidden="relu", output="sigmoid", *, dtype="float64", seed=0,
                 device="cpu", m=10, learning_rate=0.1, **options):
    """One training pass with the practical ``options`` (shared dropout masks, batch statistics):
    the cost with its penalty terms, every gradient, every parameter and running statistic after
    one GD step, and the test-time output A_L after it (running statistics, no dropout)."""
    rng, net, params, X, Y, model = _options_pair(layer_dims, hidden, output, options, dtype=dtype, seed=seed,
                                                  device=device, m=m)
    masks = net.draw_masks(m, rng, dtype)
    Xt, yt = bridge.data_to_torch(X, Y, device)

    cost, grads = net.loss(params, X, Y, masks=masks)
    stepped = {k: v - learning_rate * grads["d" + k] for k, v in params.items()}
    AL, _ = net.forward(stepped, X)

    cost_t = model.cost(Xt, yt, bridge.masks_to_torch(masks, device))
    cost_t.backward()
    grads_t = bridge.grads_from_module(model)
    torch.optim.SGD(model.parameters(), lr=learning_rate).step()
    model.eval()
    with torch.no_grad():
        AL_t = model(Xt)

    def after(rows):
        return {f"{k} after 1 step": v for k, v in rows.items()}

    return compare(
        {"cost": np.asarray(cost, dtype), **grads, **after(stepped), **after(net.state), **after({"A_L test": AL})},
        {"cost": cost_t, **grads_t, **after(bridge.params_from_module(model)),
         **after(bridge.state_from_module(model)), **after({"A_L test": AL_t.T})},
        label=f"net {list(layer_dims)} {hidden}/{output}, {_describe(options)}: cost, grads, 1 step")


def options_trajectory(layer_dims=(5, 6, 4, 1), hidden="relu", output="sigmoid", *, dtype="float64", seed=0,
                       device="cpu", m=24, learning_rate=0.1, steps=50, l2_route="penalty", **options):
    """``steps`` full-batch GD updates with the practical ``options`` on both sides
    (models.train_gd), with fresh shared dropout masks every step: the cost at every step
    (penalty included), every parameter and running statistic at the end, and the test-time
    output A_L.

    ``l2_route``: "penalty" - torch's network adds lambda/(2m) sum ||W||^2 to its cost;
    "weight_decay" - torch's network has no l2_lambda, SGD has weight_decay = lambda/m on the
    weights only, and the recorded cost adds the term by hand.
    """
    if l2_route not in ("penalty", "weight_decay"):
        raise ValueError(f"l2_route must be 'penalty' or 'weight_decay', got {l2_route!r}")
    by_decay = l2_route == "weight_decay"
    rng, net, params, X, Y, model = _options_pair(layer_dims, hidden, output, options, dtype=dtype, seed=seed,
                                                  device=device, m=m, torch_overrides={"l2_lambda": 0.0} if by_decay else None)
    masks = [net.draw_masks(m, rng, dtype) for _ in range(steps)] if net.dropout_layers else None
    Xt, yt = bridge.data_to_torch(X, Y, device)

    final, costs = n_models.train_gd(net, params, X, Y, learning_rate, steps, masks=masks)
    AL, _ = net.forward(final, X)
    costs_t = t_models.train_gd(model, Xt, yt, learning_rate, steps,
                                masks=None if masks is None else [bridge.masks_to_torch(d, device) for d in masks],
                                l2_lambda=options.get("l2_lambda", 0.0) if by_decay else 0.0)
    model.eval()
    with torch.no_grad():
        AL_t = model(Xt)

    def after(rows):
        return {f"{k} after {steps} steps": v for k, v in rows.items()}

    route = ", L2 as weight_decay" if by_decay and options.get("l2_lambda") else ""
    return compare(
        {"costs": np.asarray(costs, dtype), **after(final), **after(net.state), **after({"A_L test": AL})},
        {"costs": np.asarray(costs_t, dtype), **after(bridge.params_from_module(model)),
         **after(bridge.state_from_module(model)), **after({"A_L test": AL_t.T})},
        tolerance=widened_for_float32(dtype),
        label=f"net {list(layer_dims)} {hidden}/{output}, {_describe(options)}{route}: {steps} GD steps")


CASES = [
    ("shallow net [2,4,1] tanh/sigmoid", case(network, (2, 4, 1), "tanh", "sigmoid")),
    ("L-layer net [6,5,4,3,1] relu/sigmoid", case(network, (6, 5, 4, 3, 1), "relu", "sigmoid")),
    ("two-layer net [6,10,4] relu/softmax", case(network, (6, 10, 4), "relu", "softmax")),
    ("net [6,8,4] leaky_relu/SVM (linear out)", case(network, (6, 8, 4), "leaky_relu", "linear")),
    ("net, zero init (ReLU kink)", case(network, (4, 5, 3, 1), "relu", "sigmoid", init="zeros")),
    ("3-layer net, 100 GD steps", case(network_trajectory)),
]


RELU_UNMASKED = Mutant("numpy", "scratch_numpy.activations.relu_backward.in_place", "relu backward without its mask",
                      lambda original: lambda dA, cache: dA)   # the kernel models.Network calls


# The same planted bugs as the layer and loss rows, reached through the network's kernels.
DB_SUMMED = layers.MUTANTS["linear layer + 1 GD step"][0]
BCE_SIGN, BCE_FLIPPED = losses.MUTANTS["loss binary_cross_entropy_with_logits"]
SOFTMAX_LABEL, SOFTMAX_SMOOTHED = losses.MUTANTS["loss softmax_cross_entropy"]
SVM_MARGIN, SVM_PER_CLASS = losses.MUTANTS["loss svm_hinge"]
BIASES_FROZEN = Mutant("torch", "reference_torch.models.Network.param_groups",
                       "biases left out of SGD's parameter groups",
                       returning(lambda groups: [groups[0], {**groups[1], "params": []}]))
DECAY_NOT_PER_EXAMPLE = Mutant(
    "torch", "reference_torch.models.Network.param_groups", "weight_decay = lambda (the /m forgotten)",
    lambda original: lambda self, l2_lambda=0.0, m=None: original(self, l2_lambda, 1 if l2_lambda else m))

MUTANTS = {
    "shallow net [2,4,1] tanh/sigmoid": [
        activations.MUTANTS["activation tanh"][0], DB_SUMMED,
        Mutant("torch", "reference_torch.activations.MODULES", "tanh mapped to nn.Hardtanh",
               replacing("tanh", nn.Hardtanh))],
    "L-layer net [6,5,4,3,1] relu/sigmoid": [
        RELU_UNMASKED, BCE_SIGN, BCE_FLIPPED],
    "two-layer net [6,10,4] relu/softmax": [SOFTMAX_LABEL, SOFTMAX_SMOOTHED],
    "net [6,8,4] leaky_relu/SVM (linear out)": [
        SVM_MARGIN, SVM_PER_CLASS,
        Mutant("numpy", "scratch_numpy.activations.leaky_relu_backward.unchecked",
               "leaky relu backward with ReLU's mask (slope dropped)", lambda original: lambda dA, c: dA * (c.A > 0))],
    # zero weights make every hidden gradient 0 whatever relu'(0) is: only the output layer's bugs show
    "net, zero init (ReLU kink)": [DB_SUMMED, BCE_FLIPPED],
    "3-layer net, 100 GD steps": [
        DB_SUMMED, BIASES_FROZEN,
        Mutant("numpy", "scratch_numpy.models.affine", "bias subtracted, Z = W A - b",
               lambda original: lambda A, W, b=None: W @ A - (0 if b is None else b))],
}
