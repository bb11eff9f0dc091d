"""Weight initialisation with torch.nn.init, mapped onto the course's scales.

    method   course scale            torch call
    zeros    0                       nn.init.zeros_
    small    0.01                    nn.init.normal_(std=0.01)
    large    10                      nn.init.normal_(std=10)
    xavier   sqrt(1 / n_prev)        nn.init.kaiming_normal_(nonlinearity="linear")
    he       sqrt(2 / n_prev)        nn.init.kaiming_normal_(nonlinearity="relu")
    glorot   sqrt(2 / (n_prev + n))  nn.init.xavier_normal_(gain=1)

The naming trap: the course's "Xavier" is torch's kaiming_normal_ with gain 1,
not torch's xavier_normal_ (which is the Glorot scale). kaiming_normal_ uses
std = gain / sqrt(fan_in) with fan_in = n_prev for a (n, n_prev) weight.
Torch's and NumPy's generators never draw the same numbers: parity runs draw
once and copy (reference_torch.bridge); tests compare the distributions.
"""

from __future__ import annotations

import torch
from torch import nn

from scratch_numpy.validation import check_choice, check_layer_dims

from .validation import check_device, check_dtype, check_generator

INITIALIZERS = {
    "zeros": lambda W, g: nn.init.zeros_(W),
    "small": lambda W, g: nn.init.normal_(W, 0.0, 0.01, generator=g),
    "large": lambda W, g: nn.init.normal_(W, 0.0, 10.0, generator=g),
    "xavier": lambda W, g: nn.init.kaiming_normal_(W, nonlinearity="linear", generator=g),
    "he": lambda W, g: nn.init.kaiming_normal_(W, nonlinearity="relu", generator=g),
    "glorot": lambda W, g: nn.init.xavier_normal_(W, gain=1.0, generator=g),
}


def init_linear_(layer: nn.Linear, method: str = "he", generator: torch.Generator | None = None):
    """Re-initialise one nn.Linear in place: weight by ``method``, bias (if any) to zero."""
    check_choice("method", method, INITIALIZERS)
    if not isinstance(layer, nn.Linear):
        raise ValueError(f"layer must be an nn.Linear, got {type(layer).__name__}")
    check_generator(generator)
    with torch.no_grad():
        INITIALIZERS[method](layer.weight, generator)
        if layer.bias is not None:  # batch norm's layers have none
            nn.init.zeros_(layer.bias)
    return layer


def initialize_parameters(layer_dims, method: str = "he", generator: torch.Generator | None = None,
                          dtype=torch.float64, device="cpu"):
    """Tensors {W1, b1, ...}: W_l (n_l, n_{l-1}) drawn by ``method``, b_l (n_l,) zero."""
    check_choice("method", method, INITIALIZERS)
    dims = check_layer_dims(layer_dims)
    dtype, device = check_dtype(dtype), check_device(device)
    check_generator(generator)
    params = {}
    for l in range(1, len(dims)):
        W = torch.empty(dims[l], dims[l - 1], dtype=dtype, device=device)
        params[f"W{l}"] = INITIALIZERS[method](W, generator)
        params[f"b{l}"] = torch.zeros(dims[l], dtype=dtype, device=device)
    return params
