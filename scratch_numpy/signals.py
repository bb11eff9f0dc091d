"""Vanishing and exploding signals in deep networks (course 2, week 1): per-layer norms.

For a network of L layers, layer l's input A_{l-1} and the gradient dA_{l-1} that flows back
into it (A_0 = X), measured in one forward and one backward pass:

    activations[l - 1] = ||A_{l-1}||_F      gradients[l - 1] = ||dA_{l-1}||_F
    weight_gradients[l - 1] = ||dW_l||_F

(dA is per-example, m * dJ/dA, the course's convention: see layers.py.)

The course's example: W_l = c I with linear (or ReLU) units and b = 0 gives A_l = c^l X, so
the activations grow as 1.5^l or shrink as 0.5^l; backwards dA_{l-1} = W_l^T dZ_l = c dZ_l,
so the gradients grow or shrink by c per layer towards the input. (dW_l = dZ_l A_{l-1}^T / m
carries c^{L-l} c^{l-1} = c^{L-1} in every layer: a uniform blow-up or collapse of the step.)
Random weights scaled by sqrt(2 / n_prev) (He, ReLU) or sqrt(1 / n_prev) (Xavier, tanh) keep
Var(z) about Var(a_prev), so both norms stay roughly flat through the depth.
reference_torch.signals measures the same with forward-pre hooks and tensor hooks.
"""

from __future__ import annotations


import numpy as np

from . import activations
from .init import DTYPES
from .layers import linear_backward
from .models import Network, OUTPUTS
from .records import Signals
from .validation import check_choice, check_float_array, check_layer_dims, check_model, finite_float


def identity_params(layer_dims, c: float, dtype: str = "float64") -> dict:
    """{W_l = c I (n_l, n_{l-1}) (np.eye: ones on the main diagonal), b_l = 0 (n_l, 1)}."""
    dims = check_layer_dims(layer_dims)
    check_choice("dtype", dtype, DTYPES)
    if finite_float(c) is None:
        raise ValueError(f"c must be a finite number, got {c!r}"[:200])
    params = {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = (c * np.eye(dims[l], dims[l - 1])).astype(dtype)
        params[f"b{l}"] = np.zeros((dims[l], 1), dtype=dtype)
    return params


def signal_norms(network, params, X, Y) -> Signals:
    """Norms of A_{l-1}, dA_{l-1} and dW_l for l = 1..L from one test-time forward pass and the backward
    pass of the data loss (no L2/L1 term).

    Shapes: X (n_x, m), Y (1, m). ``network`` is a scratch_numpy.models.Network without batch norm
    (dropout is off at test time).
    """
    check_model("network", network, Network)
    if network.batch_norm:
        raise ValueError("signal_norms measures plain networks: build the network with batch_norm=False")
    _, Y = network.check_data(params, X, Y)
    _, caches = network.forward(params, X)
    _, dZ = OUTPUTS[network.output][1](caches[-1].activation.Z, Y)
    L = len(caches)
    gradients, weight_gradients = np.empty(L, dtype=X.dtype), np.empty(L, dtype=X.dtype)
    for l in range(L, 0, -1):
        dA, dW, _ = linear_backward(dZ, caches[l - 1].linear)
        gradients[l - 1], weight_gradients[l - 1] = frobenius_norm(dA), frobenius_norm(dW)
        if l > 1:
            dZ = activations.BACKWARD[network.hidden_activation](dA, caches[l - 2].activation)
    return Signals(np.array([frobenius_norm(cache.linear.A_prev) for cache in caches], dtype=X.dtype),
                   gradients, weight_gradients)


def frobenius_norm(x: np.ndarray):
    """||x||_F as s ||x / s||_F with s = max |x| (in x's dtype): np.linalg.norm squares first, so it
    overflows to inf once an entry passes sqrt(max float) (1.3e154 in float64, 1.8e19 in float32) and
    underflows to 0 below sqrt(tiny), where the norm itself is finite and non-zero -- exactly the
    exploding and vanishing signals this module measures. ``x``: a non-empty float array of any rank."""
    x = check_float_array("x", x, ndim=None, finite=False)
    s = np.abs(x).max()
    return s if s == 0 else s * np.linalg.norm(x / s)
