"""Activation functions with torch.nn modules, batch-first: Z and A are (m, n).

The modules are PyTorch's own; autograd supplies their backward passes.
Softmax and hardmax act over dim 1, the classes of one example (the NumPy
side's columns). torch.relu's gradient at exactly 0 is 0, as the course's.
"""

from __future__ import annotations

import torch
from torch import nn

from scratch_numpy.validation import check_choice, check_positive

from .validation import check_tensor


class Hardmax(nn.Module):
    """One-hot of each row's arg max (the first on ties). Piecewise constant:
    the output carries no gradient (autograd treats it as a constant)."""

    def forward(self, Z):
        check_tensor("Z", Z)
        return nn.functional.one_hot(Z.argmax(dim=1), Z.shape[1]).to(Z.dtype)


MODULES = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "linear": nn.Identity,
    "softmax": lambda: nn.Softmax(dim=1),
    "hardmax": Hardmax,
}
NAMES = tuple(MODULES)


def make(name: str, *, leaky_slope: float = 0.01) -> nn.Module:
    """The torch module for activation ``name`` (leaky ReLU takes ``leaky_slope``)."""
    check_choice("name", name, MODULES)
    if name == "leaky_relu":
        return nn.LeakyReLU(check_positive("leaky_slope", leaky_slope, allow_zero=True))
    return MODULES[name]()


def apply(name: str, Z: torch.Tensor, *, leaky_slope: float = 0.01) -> torch.Tensor:
    """A = g(Z) for a checked (m, n) tensor Z."""
    return make(name, leaky_slope=leaky_slope)(check_tensor("Z", Z))
