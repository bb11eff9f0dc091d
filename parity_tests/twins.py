"""Twin runs: one concept computed by both implementations from the same inputs.

Each function draws its inputs once with NumPy (seeded), runs the NumPy side
and the torch side on copies of them, and returns a ``ParityReport`` with the
outputs, the gradients and the parameters after an update, named alike on both
sides. The parity tests assert these reports over many shapes and seeds; the
parity report (``python -m parity_tests.report``) prints one row per concept.

Conventions bridged here (see CONVENTIONS.md): the NumPy side is column-major
(examples are columns) and carries per-example gradients (m * dJ/dinput) below
the parameters, while torch is batch-first and autograd differentiates the mean
cost; so torch's input gradients are multiplied by m before comparing.
Upstream gradients are random, never all ones.
"""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import activations as t_act
from reference_torch import bridge
from reference_torch import layers as t_layers
from reference_torch import logistic as t_logistic
from reference_torch import losses as t_losses
from reference_torch import models as t_models
from scratch_numpy import activations as n_act
from scratch_numpy import layers as n_layers
from scratch_numpy import logistic as n_logistic
from scratch_numpy import losses as n_losses
from scratch_numpy import models as n_models

from .checker.harness import Tolerance, compare, kink_free

# A 100-step float32 trajectory accumulates rounding from every step; its
# tolerance is float32's per-step one widened by the number of steps.
FLOAT32_TRAJECTORY = Tolerance(rtol=1e-4, atol_scale=1e-4)


def _normal(rng, shape, dtype, *, kinks=(0.0,), margin=1e-3):
    return kink_free(rng.standard_normal(shape), kinks, margin).astype(dtype)


def _labels(rng, num_classes, m):
    return rng.integers(0, num_classes, size=(1, m))


def _leaf(array, device):
    """A batch-first leaf tensor (the transpose of a column-layout array) that records gradients."""
    return bridge.to_tensor(np.ascontiguousarray(array.T), device).requires_grad_()


def activation(name: str, *, dtype="float64", shape=(5, 7), seed=0, device="cpu", at_kink=False):
    """A = g(Z) and dZ = dA * g'(Z) for a random upstream dA.

    ``at_kink`` puts exact zeros into Z (every third entry), where ReLU's and
    leaky ReLU's derivatives are defined by convention; otherwise Z is kept
    at least 1e-3 away from 0. Hardmax has no gradient in torch (its output is
    constant almost everywhere): the expected dZ there is the closed form, 0.
    """
    rng = np.random.default_rng(seed)
    Z = _normal(rng, shape, dtype)
    if at_kink:
        Z.flat[::3] = 0
    dA = rng.standard_normal(shape).astype(dtype)
    A, cache = n_act.FORWARD[name](Z)
    dZ = n_act.BACKWARD[name](dA, cache)

    Zt = _leaf(Z, device)
    At = t_act.apply(name, Zt)
    if At.requires_grad:
        At.backward(bridge.to_tensor(np.ascontiguousarray(dA.T), device))
        dZt = Zt.grad.T
    else:
        dZt = np.zeros_like(Z)
    return compare({"A": A, "dZ": dZ}, {"A": At.T, "dZ": dZt}, label=f"activation {name}")


def linear(*, dtype="float64", n_prev=4, n=3, m=6, seed=0, device="cpu", learning_rate=0.1):
    """Z = W A_prev + b, its backward pass, and one gradient-descent step on W, b.

    The upstream dZ is per-example (course convention); torch differentiates
    J = sum(dZ * Z) / m, whose gradients are dW, db and dA_prev / m.
    """
    rng = np.random.default_rng(seed)
    A_prev = _normal(rng, (n_prev, m), dtype)
    W = _normal(rng, (n, n_prev), dtype)
    b = _normal(rng, (n, 1), dtype)
    dZ = rng.standard_normal((n, m)).astype(dtype)
    Z, cache = n_layers.linear_forward(A_prev, W, b)
    dA_prev, dW, db = n_layers.linear_backward(dZ, cache)

    layer = t_layers.linear(n_prev, n, dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_linears({"W1": W, "b1": b}, [layer])
    At = _leaf(A_prev, device)
    Zt = t_layers.linear_forward(At, layer.weight, layer.bias)
    ((Zt * bridge.to_tensor(np.ascontiguousarray(dZ.T), device)).sum() / m).backward()
    torch.optim.SGD(layer.parameters(), lr=learning_rate).step()
    return compare(
        {"Z": Z, "dA_prev": dA_prev, "dW": dW, "db": db,
         "W after 1 step": W - learning_rate * dW, "b after 1 step": b - learning_rate * db},
        {"Z": Zt.T, "dA_prev": m * At.grad.T, "dW": layer.weight.grad, "db": layer.bias.grad[:, None],
         "W after 1 step": layer.weight, "b after 1 step": layer.bias[:, None]},
        label="linear layer")


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
    Y = _labels(rng, classes or num_classes, m)
    cost, dx = getattr(n_losses, name)(x, Y)

    xt = _leaf(x, device)
    yt = bridge.to_tensor(Y[0], device)
    cost_t = getattr(t_losses, name)(xt, yt)
    cost_t.backward()
    return compare({"cost": np.asarray(cost, dtype), "d" + input_name: dx},
                   {"cost": cost_t, "d" + input_name: m * xt.grad.T}, label=f"loss {name}")


def penalty(name: str, *, dtype="float64", layer_dims=(4, 5, 3), lambd=0.7, m=10, seed=0, device="cpu"):
    """lambda/(2m) sum ||W||^2 (l2) or lambda/(2m) sum |W| (l1) and its gradient, on W only."""
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = _normal(rng, (layer_dims[l], layer_dims[l - 1]), dtype)
        params[f"b{l}"] = _normal(rng, (layer_dims[l], 1), dtype)
    cost, grads = getattr(n_losses, f"{name}_penalty")(params, lambd, m)

    weights = {k: bridge.to_tensor(v, device).requires_grad_() for k, v in params.items() if k.startswith("W")}
    cost_t = getattr(t_losses, f"{name}_penalty")(weights.values(), lambd, m)
    cost_t.backward()
    return compare({"cost": np.asarray(cost, dtype), **grads},
                   {"cost": cost_t, **{"d" + k: w.grad for k, w in weights.items()}},
                   label=f"{name} penalty")


def _network_pair(layer_dims, hidden, output, dtype, seed, device, init, m):
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, hidden, output)
    params = net.init_params(init, rng, dtype)
    X = _normal(rng, (layer_dims[0], m), dtype)
    Y = _labels(rng, net.num_classes, m)
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
                   tolerance=FLOAT32_TRAJECTORY if dtype == "float32" else None,
                   label=f"network {list(layer_dims)} {hidden}/{output}, {steps} GD steps")


def logistic_trajectory(*, dtype="float64", n_x=5, m=40, seed=0, device="cpu", learning_rate=0.05, steps=100):
    """Logistic regression from zeros: gradients at the start, then ``steps`` updates (optimize)."""
    rng = np.random.default_rng(seed)
    X = _normal(rng, (n_x, m), dtype)
    Y = _labels(rng, 2, m)
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
        tolerance=FLOAT32_TRAJECTORY if dtype == "float32" else None,
        label=f"logistic regression, {steps} GD steps")
