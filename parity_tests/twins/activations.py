"""Activations: A = g(Z) and dZ = dA * g'(Z) on both sides."""

from __future__ import annotations

import numpy as np
from torch import nn

from reference_torch import activations as t_act
from scratch_numpy import activations as n_act

from ..checker.harness import compare
from .common import batch_first, case, leaf, normal
from .mutant import Mutant, replacing


def activation(name: str, *, dtype="float64", shape=(5, 7), seed=0, device="cpu", at_kink=False):
    """A = g(Z) and dZ = dA * g'(Z) for a random upstream dA.

    ``at_kink`` puts exact zeros into Z (every third entry), where ReLU's and
    leaky ReLU's derivatives are defined by convention; otherwise Z is kept
    at least 1e-3 away from 0. Hardmax has no gradient in torch (its output is
    constant almost everywhere): the expected dZ there is the closed form, 0.
    """
    rng = np.random.default_rng(seed)
    Z = normal(rng, shape, dtype)
    if at_kink:
        Z.flat[::3] = 0
    dA = rng.standard_normal(shape).astype(dtype)
    A, cache = n_act.FORWARD[name](Z)
    dZ = n_act.BACKWARD[name](dA, cache)

    Zt = leaf(Z, device)
    At = t_act.apply(name, Zt)
    if At.requires_grad:
        At.backward(batch_first(dA, device))
        dZt = Zt.grad.T
    else:
        dZt = np.zeros_like(Z)
    return compare({"A": A, "dZ": dZ}, {"A": At.T, "dZ": dZt}, label=f"activation {name}")


CASES = [
    *((f"activation {name}", case(activation, name)) for name in n_act.NAMES),
    ("relu at exactly 0", case(activation, "relu", at_kink=True)),
    ("leaky relu at exactly 0", case(activation, "leaky_relu", at_kink=True)),
]


def _backward(name, kernel):
    """A mutant BACKWARD table: ``name``'s backward pass replaced by ``kernel(dA, cache)``."""
    return Mutant("numpy", "scratch_numpy.activations.BACKWARD", f"{name} backward: {kernel.__doc__}",
                  replacing(name, kernel))


def _relu_kink(dA, cache):
    """relu'(0) taken as 1 (mask Z >= 0)"""
    return dA * (cache.Z >= 0)


def _leaky_kink(dA, cache):
    """leaky relu'(0) taken as 1 (mask Z >= 0)"""
    return np.where(cache.Z >= 0, dA, cache.slope * dA)


def _relu_unmasked(dA, cache):
    """the mask dropped, dZ = dA"""
    return dA


def _leaky_slope_dropped(dA, cache):
    """the negative side's slope dropped (plain ReLU's mask)"""
    return dA * (cache.A > 0)


def _linear_sign(dA, cache):
    """dZ = -dA"""
    return -dA


def _softmax_diagonal(dA, cache):
    """only the Jacobian's diagonal, A (1 - A) dA"""
    return cache.A * (1 - cache.A) * dA


def _module(name, module, description):
    """A mutant torch MODULES table: ``name`` built as ``module``."""
    return Mutant("torch", "reference_torch.activations.MODULES", description, replacing(name, module))


def _leaky_as_relu(original):
    return lambda name, **kw: nn.ReLU() if name == "leaky_relu" else original(name, **kw)


def _hardmax_argmin(self, Z):
    return nn.functional.one_hot(Z.argmin(dim=1), Z.shape[1]).to(Z.dtype)


MUTANTS = {
    "activation sigmoid": [
        Mutant("numpy", "scratch_numpy.activations.sigmoid_derivative", "sigmoid' = s(1 + s)",
               lambda original: lambda A: A * (1.0 + A)),
        Mutant("numpy", "scratch_numpy.activations.sigmoid", "sigmoid(z) = 1 / (1 + e^z) (sign)",
               lambda original: lambda Z: original(-Z)),
        _module("sigmoid", nn.LogSigmoid, "sigmoid mapped to nn.LogSigmoid")],
    "activation tanh": [
        Mutant("numpy", "scratch_numpy.activations.tanh_derivative", "tanh' = 1 - tanh (square dropped)",
               lambda original: lambda A: 1.0 - A),
        _module("tanh", nn.Hardtanh, "tanh mapped to nn.Hardtanh")],
    "activation relu": [_backward("relu", _relu_unmasked),
                        _module("relu", nn.ELU, "relu mapped to nn.ELU")],
    "relu at exactly 0": [_backward("relu", _relu_kink),
                          _module("relu", nn.SiLU, "relu mapped to nn.SiLU (smooth at 0)")],
    "activation leaky_relu": [
        _backward("leaky_relu", _leaky_slope_dropped),
        Mutant("torch", "reference_torch.activations.make", "leaky relu built as nn.ReLU (slope dropped)",
               _leaky_as_relu)],
    "leaky relu at exactly 0": [
        _backward("leaky_relu", _leaky_kink),
        Mutant("torch", "reference_torch.activations.make", "leaky relu built as nn.ReLU (slope dropped)",
               _leaky_as_relu)],
    "activation linear": [_backward("linear", _linear_sign),
                          _module("linear", nn.Tanh, "identity mapped to nn.Tanh")],
    "activation softmax": [
        _backward("softmax", _softmax_diagonal),
        Mutant("numpy", "scratch_numpy.activations.softmax", "normalised over axis 1 (the examples)",
               lambda original: lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)),
        _module("softmax", lambda: nn.Softmax(dim=0), "softmax over dim 0 (the batch)")],
    "activation hardmax": [
        Mutant("numpy", "scratch_numpy.activations.hardmax", "one-hot of the arg min",
               lambda original: lambda Z: original(-Z)),
        Mutant("torch", "reference_torch.activations.Hardmax.forward", "one-hot of the arg min",
               lambda original: _hardmax_argmin)],
}
