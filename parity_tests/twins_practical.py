"""Twin runs for the practical aspects: L2/L1 regularisation, dropout, batch normalisation.

Each function draws its inputs once with NumPy (seeded), runs the NumPy side
and the torch side on copies, and returns a ``ParityReport``. Names: gradients
start with "d"; parameters, running statistics and test-time outputs after
training contain " after "; everything else is an output. ``CASES`` lists one
row per concept for the parity report: (label, run(dtype, device) -> ParityReport).

Bridged conventions (CONVENTIONS.md): torch's loss has no penalty
term, so the torch network adds lambda/(2m) sum ||W||^2 explicitly, or L2 goes
through weight_decay = lambda/m on the weights only; torch's dropout p is
1 - keep_prob and its masks come from another generator, so masks are drawn
once and given to both sides (or torch's own is recovered under a seed);
BatchNorm1d's momentum is 1 - beta and it averages the unbiased variance,
which the NumPy side matches (its default). As everywhere, NumPy's input
gradients are per example: torch's are multiplied by m before comparing.
"""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import batchnorm as t_bn
from reference_torch import bridge
from reference_torch import dropout as t_dropout
from reference_torch import models as t_models
from scratch_numpy import batchnorm as n_bn
from scratch_numpy import dropout as n_dropout
from scratch_numpy import models as n_models

from .checker.harness import compare, kink_free
from .twins import FLOAT32_TRAJECTORY

# options only the NumPy network has (torch's BatchNorm1d is always unbiased; torch draws its own masks)
NUMPY_ONLY = ("bn_unbiased_running_var", "dropout_rng")


def _normal(rng, shape, dtype):
    """Standard normal entries kept 1e-3 away from 0 (ReLU's kink; dropout's zeros stay recognisable)."""
    return kink_free(rng.standard_normal(shape)).astype(dtype)


def _leaf(array, device):
    """A batch-first leaf tensor (the transpose of a column-layout array) that records gradients."""
    return bridge.to_tensor(np.ascontiguousarray(array.T), device).requires_grad_()


def _columns(tensor: torch.Tensor) -> np.ndarray:
    """A batch-first tensor as the column layout, (m, n) -> (n, m)."""
    return bridge.to_numpy(tensor).T


def _network_pair(layer_dims, hidden, output, options, *, dtype, seed, device, m, torch_overrides=None):
    """Both networks from the same draw: W by He init, gamma and beta perturbed off 1 and 0
    (so their gradients matter), X, Y and the torch copies. ``torch_overrides`` replace
    options on the torch network only."""
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, hidden, output, **options)
    params = net.init_params("he", rng, dtype)
    for key in params:
        if key.startswith(("gamma", "beta")):
            params[key] = params[key] + (0.3 * rng.standard_normal(params[key].shape)).astype(dtype)
    X = _normal(rng, (layer_dims[0], m), dtype)
    Y = rng.integers(0, net.num_classes, size=(1, m))
    torch_options = {**{k: v for k, v in options.items() if k not in NUMPY_ONLY}, **(torch_overrides or {})}
    model = t_models.Network(layer_dims, hidden, output, dtype=bridge.resolve_dtype(dtype), device=device,
                             **torch_options)
    bridge.params_to_module(params, model)
    return rng, net, params, X, Y, model


def _describe(options) -> str:
    parts = [f"{k}={v}" for k, v in options.items() if k in ("l2", "l1") and v]
    if options.get("keep_probs") is not None:
        parts.append(f"keep_probs={options['keep_probs']}")
    if options.get("batch_norm"):
        parts.append("batch norm")
    return ", ".join(parts) or "plain"


def network_step(layer_dims=(5, 6, 4, 1), hidden="relu", output="sigmoid", *, dtype="float64", seed=0,
                 device="cpu", m=10, learning_rate=0.1, **options):
    """One training pass (shared dropout masks, batch statistics): the cost with its penalty
    terms, every gradient, every parameter and running statistic after one GD step, and the
    test-time output A_L after it (running statistics, no dropout)."""
    rng, net, params, X, Y, model = _network_pair(layer_dims, hidden, output, options, dtype=dtype, seed=seed,
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


def network_trajectory(layer_dims=(5, 6, 4, 1), hidden="relu", output="sigmoid", *, dtype="float64", seed=0,
                       device="cpu", m=24, learning_rate=0.1, steps=50, l2_route="penalty", **options):
    """``steps`` full-batch GD updates on both sides (models.train_gd), with fresh shared
    dropout masks every step: the cost at every step (penalty included), every parameter and
    running statistic at the end, and the test-time output A_L.

    ``l2_route``: "penalty" - torch's network adds lambda/(2m) sum ||W||^2 to its cost;
    "weight_decay" - torch's network has no l2, SGD has weight_decay = lambda/m on the
    weights only, and the recorded cost adds the term by hand.
    """
    if l2_route not in ("penalty", "weight_decay"):
        raise ValueError(f"l2_route must be 'penalty' or 'weight_decay', got {l2_route!r}")
    by_decay = l2_route == "weight_decay"
    rng, net, params, X, Y, model = _network_pair(layer_dims, hidden, output, options, dtype=dtype, seed=seed,
                                                  device=device, m=m, torch_overrides={"l2": 0.0} if by_decay else None)
    masks = [net.draw_masks(m, rng, dtype) for _ in range(steps)] if net.dropout_layers else None
    Xt, yt = bridge.data_to_torch(X, Y, device)

    final, costs = n_models.train_gd(net, params, X, Y, learning_rate, steps, masks=masks)
    AL, _ = net.forward(final, X)
    costs_t = t_models.train_gd(model, Xt, yt, learning_rate, steps,
                                masks=None if masks is None else [bridge.masks_to_torch(d, device) for d in masks],
                                weight_decay_l2=options.get("l2", 0.0) if by_decay else 0.0)
    model.eval()
    with torch.no_grad():
        AL_t = model(Xt)

    def after(rows):
        return {f"{k} after {steps} steps": v for k, v in rows.items()}

    route = ", L2 as weight_decay" if by_decay and options.get("l2") else ""
    return compare(
        {"costs": np.asarray(costs, dtype), **after(final), **after(net.state), **after({"A_L test": AL})},
        {"costs": np.asarray(costs_t, dtype), **after(bridge.params_from_module(model)),
         **after(bridge.state_from_module(model)), **after({"A_L test": AL_t.T})},
        tolerance=FLOAT32_TRAJECTORY if dtype == "float32" else None,
        label=f"net {list(layer_dims)} {hidden}/{output}, {_describe(options)}{route}: {steps} GD steps")


def dropout_layer(*, dtype="float64", shape=(6, 9), keep_prob=0.7, seed=0, device="cpu", mask_from="numpy"):
    """out = A * D / keep_prob and dA = dout * D / keep_prob for a random upstream dout.

    ``mask_from``: "numpy" - D drawn with NumPy and injected into both sides; "torch" -
    torch's F.dropout draws it under a seed, and the NumPy side is given the mask recovered
    with reference_torch.dropout.recover_mask (the "D" row checks the recovery, exactly).
    Shapes are the NumPy side's (n, m); torch works on the transposes.
    """
    rng = np.random.default_rng(seed)
    A = _normal(rng, shape, dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    At = _leaf(A, device)
    if mask_from == "numpy":
        D = n_dropout.draw_mask(shape, keep_prob, rng, dtype)
        out_t = t_dropout.dropout(At, keep_prob, mask=bridge.to_tensor(np.ascontiguousarray(D.T), device))
        D_t = D
    elif mask_from == "torch":
        D = _columns(t_dropout.recover_mask(shape[::-1], keep_prob, seed, dtype=At.dtype, device=device))
        out_t = t_dropout.dropout(At, keep_prob, seed=seed)
        D_t = (_columns(out_t.detach()) != 0).astype(dtype)   # the mask torch really applied
    else:
        raise ValueError(f"mask_from must be 'numpy' or 'torch', got {mask_from!r}")
    out, cache = n_dropout.dropout_forward(A, keep_prob, mask=D)
    dA = n_dropout.dropout_backward(dout, cache)
    out_t.backward(bridge.to_tensor(np.ascontiguousarray(dout.T), device))
    return compare({"D": D, "out": out, "dA": dA}, {"D": D_t, "out": out_t.T, "dA": At.grad.T},
                   label=f"dropout keep_prob={keep_prob}, mask from {mask_from}")


def _batchnorm_module(gamma, beta, beta_momentum, eps, dtype, device):
    module = t_bn.batch_norm(gamma.shape[0], beta_momentum=beta_momentum, eps=eps,
                             dtype=bridge.resolve_dtype(dtype), device=device)
    with torch.no_grad():
        module.weight.copy_(bridge.to_tensor(gamma[:, 0], device))
        module.bias.copy_(bridge.to_tensor(beta[:, 0], device))
    return module


def batchnorm_layer(*, dtype="float64", n=5, m=8, steps=5, seed=0, device="cpu", beta_momentum=0.9, eps=1e-5):
    """``steps`` training passes of one batch-norm layer on fresh batches (each unit with its
    own mean and scale, so the running statistics move), then a test-time pass on a new batch.

    Rows: Z_tilde, dZ (per example), dgamma, dbeta of every training pass (stacked, pass
    first); the running mean and variance after the passes; the test-time Z_tilde and its
    gradients (running statistics held constant). Upstream gradients are random.
    """
    rng = np.random.default_rng(seed)
    gamma = (1 + 0.5 * rng.standard_normal((n, 1))).astype(dtype)
    beta = rng.standard_normal((n, 1)).astype(dtype)
    running = n_bn.init_running(n, dtype)
    module = _batchnorm_module(gamma, beta, beta_momentum, eps, dtype, device)
    passes, passes_t = [], []
    for k in range(steps + 1):
        train = k < steps
        Z = (rng.standard_normal((n, 1)) + (1 + 2 * rng.random((n, 1))) * rng.standard_normal((n, m))).astype(dtype)
        dout = rng.standard_normal((n, m)).astype(dtype)

        out, cache = n_bn.batchnorm_forward(Z, gamma, beta, running, train=train, beta_momentum=beta_momentum,
                                            eps=eps)
        passes.append((out, *n_bn.batchnorm_backward(dout, cache)))

        module.train(train)
        module.zero_grad()
        Zt = _leaf(Z, device)
        out_t = t_bn.apply(module, Zt)
        # J = sum(dout * out) / m: autograd gives dgamma, dbeta as they are and dZ / m
        ((out_t * bridge.to_tensor(np.ascontiguousarray(dout.T), device)).sum() / m).backward()
        passes_t.append(tuple(bridge.to_numpy(t) for t in
                              (out_t.T, m * Zt.grad.T, module.weight.grad[:, None], module.bias.grad[:, None])))

    def rows(results, running_mean, running_var):
        stacked = {name: np.stack([r[i] for r in results[:steps]])
                   for i, name in enumerate(("Z_tilde", "dZ", "dgamma", "dbeta"))}
        test = results[steps]
        return {**stacked, f"running_mean after {steps} steps": running_mean,
                f"running_var after {steps} steps": running_var, f"Z_tilde test after {steps} steps": test[0],
                "dZ test": test[1], "dgamma test": test[2], "dbeta test": test[3]}

    return compare(rows(passes, running["mean"], running["var"]),
                   rows(passes_t, bridge.to_numpy(module.running_mean)[:, None],
                        bridge.to_numpy(module.running_var)[:, None]),
                   label=f"batch norm layer: {steps} training passes, running stats, test-time pass")


def _case(fn, *args, **kw):
    return lambda dtype, device: fn(*args, dtype=dtype, device=device, **kw)


CASES = [
    ("L2 net [5,6,4,1]: cost + lambda/(2m)||W||^2, grads, 1 step", _case(network_step, l2=0.7)),
    ("L1 net [5,6,4,1]: cost + lambda/(2m)|W|, grads, 1 step", _case(network_step, l1=0.7)),
    ("L2 net, 50 GD steps (explicit penalty)", _case(network_trajectory, l2=0.7)),
    ("L2 net, 50 GD steps (weight_decay = lambda/m on W)", _case(network_trajectory, l2=0.7,
                                                                  l2_route="weight_decay")),
    ("L1 net, 50 GD steps", _case(network_trajectory, l1=0.7)),
    ("dropout layer, shared NumPy mask", _case(dropout_layer)),
    ("dropout layer, torch's F.dropout mask recovered", _case(dropout_layer, mask_from="torch")),
    ("dropout net keep_probs (0.8, 0.6): shared masks, 1 step", _case(network_step, keep_probs=(0.8, 0.6))),
    ("dropout net, 50 GD steps, fresh shared masks", _case(network_trajectory, keep_probs=(0.8, 0.6))),
    ("batch norm layer: 5 passes, running stats, test time", _case(batchnorm_layer)),
    ("batch norm net [5,6,4,1]: grads, 1 step, running stats", _case(network_step, batch_norm=True)),
    ("batch norm net, 5 GD steps: running stats, test output", _case(network_trajectory, batch_norm=True, steps=5)),
    ("batch norm + dropout + L2 net [6,8,5,3] softmax, 20 steps",
     _case(network_trajectory, (6, 8, 5, 3), "relu", "softmax", batch_norm=True, keep_probs=0.8, l2=0.5, steps=20)),
]
