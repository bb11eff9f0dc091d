"""The linear layer: Z = W A_prev + b, its backward pass and one gradient-descent step."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from reference_torch import bridge
from reference_torch import layers as t_layers
from scratch_numpy import layers as n_layers

from ..checker.harness import compare
from .common import batch_first, case, leaf, normal
from .mutant import Mutant


def linear(*, dtype="float64", n_prev=4, n=3, m=6, seed=0, device="cpu", learning_rate=0.1):
    """Z = W A_prev + b, its backward pass, and one gradient-descent step on W, b.

    The upstream dZ is per-example (course convention); torch differentiates
    J = sum(dZ * Z) / m, whose gradients are dW, db and dA_prev / m.
    """
    rng = np.random.default_rng(seed)
    A_prev = normal(rng, (n_prev, m), dtype)
    W = normal(rng, (n, n_prev), dtype)
    b = normal(rng, (n, 1), dtype)
    dZ = rng.standard_normal((n, m)).astype(dtype)
    Z, cache = n_layers.linear_forward(A_prev, W, b)
    dA_prev, dW, db = n_layers.linear_backward(dZ, cache)

    layer = t_layers.linear(n_prev, n, dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_linears({"W1": W, "b1": b}, [layer])
    At = leaf(A_prev, device)
    Zt = t_layers.linear_forward(At, layer.weight, layer.bias)
    ((Zt * batch_first(dZ, device)).sum() / m).backward()
    torch.optim.SGD(layer.parameters(), lr=learning_rate).step()
    return compare(
        {"Z": Z, "dA_prev": dA_prev, "dW": dW, "db": db,
         "W after 1 step": W - learning_rate * dW, "b after 1 step": b - learning_rate * db},
        {"Z": Zt.T, "dA_prev": m * At.grad.T, "dW": layer.weight.grad, "db": layer.bias.grad[:, None],
         "W after 1 step": layer.weight, "b after 1 step": layer.bias[:, None]},
        label="linear layer")


CASES = [("linear layer + 1 GD step", case(linear))]


def _db_not_averaged(dZ, cache):
    """The course's backward pass with db = sum_cols(dZ), the 1/m forgotten."""
    A_prev, W = cache
    m = A_prev.shape[1]
    return W.T @ dZ, dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True)


# Kernels as the network reaches them too: models.Network calls linear_backward.unchecked.
LINEAR_BACKWARD = ("scratch_numpy.layers._linear_backward", "scratch_numpy.layers.linear_backward.unchecked")
MUTANTS = {
    "linear layer + 1 GD step": [
        Mutant("numpy", LINEAR_BACKWARD, "db summed, not averaged over m", lambda original: _db_not_averaged),
        Mutant("numpy", "scratch_numpy.layers.affine", "bias subtracted, Z = W A_prev - b",
               lambda original: lambda A_prev, W, b=None: W @ A_prev - (0 if b is None else b)),
        Mutant("torch", "reference_torch.layers.linear_forward", "bias subtracted, Z = A_prev W^T - b",
               lambda original: lambda A_prev, W, b: nn.functional.linear(A_prev, W) - b),
    ],
}
