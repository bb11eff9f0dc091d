"""Activation functions g and their backward passes, examples in columns.

Every activation is a forward/backward pair in cs231n's form::

    A, cache = relu_forward(Z)        # Z, A: (n, m)
    dZ = relu_backward(dA, cache)      # dZ = dA * g'(Z) for the elementwise ones

The elementwise derivatives are written from what the forward pass already
computed, as the course does (sigmoid' = s(1 - s), tanh' = 1 - tanh^2), so the
backward pass never recomputes an exponential; ReLU's and leaky ReLU's masks
are read off A too (A > 0 exactly where Z > 0, for any slope >= 0), so every
backward pass needs A alone. Softmax and hardmax act on each column (the class
scores of one example).

Every public function is a thin check around an unchecked kernel: ``activate``
behind the forward passes, ``<name>_backward.unchecked`` behind the backward
passes (ReLU's also as ``relu_backward.in_place``, which overwrites dA).
models.Network validates its inputs once and calls the kernels, so its own
intermediates are never scanned again.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from .validation import check_float_array, check_positive, check_same_shape


class ActivationCache(NamedTuple):
    """What a backward pass needs: the pre-activation Z and the output A = g(Z)."""

    Z: np.ndarray
    A: np.ndarray
    slope: float = 0.0  # leaky ReLU's negative slope; unused elsewhere


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """s(z) = 1 / (1 + e^-z), evaluated without overflow for large |z|."""
    e = np.exp(-np.abs(Z))
    return np.where(Z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(A: np.ndarray) -> np.ndarray:
    """s'(z) = s(z)(1 - s(z)), from A = s(Z)."""
    return A * (1.0 - A)


def tanh_derivative(A: np.ndarray) -> np.ndarray:
    """tanh'(z) = 1 - tanh(z)^2, from A = tanh(Z)."""
    return 1.0 - A * A


def relu_derivative(Z: np.ndarray) -> np.ndarray:
    """relu'(z) = 1 if z > 0 else 0; the derivative at exactly 0 is taken as 0,
    as the course (dZ[Z <= 0] = 0) and torch.relu do."""
    return (Z > 0).astype(Z.dtype)


def leaky_relu_derivative(Z: np.ndarray, slope: float) -> np.ndarray:
    """1 if z > 0 else slope (slope also at exactly 0, as torch.nn.LeakyReLU)."""
    return np.where(Z > 0, 1.0, slope).astype(Z.dtype)


def softmax(Z: np.ndarray) -> np.ndarray:
    """Column-wise softmax. Shifting each column by its max leaves the result
    unchanged mathematically and keeps every exponent <= 0, so nothing overflows."""
    e = np.exp(Z - Z.max(axis=0, keepdims=True))
    e /= e.sum(axis=0, keepdims=True)
    return e


def hardmax(Z: np.ndarray) -> np.ndarray:
    """One-hot of each column's arg max (the first on ties, like np/torch.argmax)."""
    A = np.zeros_like(Z)
    A[Z.argmax(axis=0), np.arange(Z.shape[1])] = 1
    return A


def activate(name: str, Z: np.ndarray, slope: float = 0.0, *, overwrite: bool = False) -> np.ndarray:
    """A = g(Z) for activation ``name``, unchecked (the kernel behind every ``*_forward``).

    ``overwrite=True`` lets ReLU and tanh write A into Z's memory (a network's training
    pass, which never reads Z again); the others always return a new array, except the
    identity ("linear"), which returns Z itself.
    """
    out = Z if overwrite else None
    if name == "relu":
        return np.maximum(Z, 0, out=out)
    if name == "tanh":
        return np.tanh(Z, out=out)
    if name == "sigmoid":
        return sigmoid(Z)
    if name == "leaky_relu":
        return np.where(Z > 0, Z, slope * Z)
    if name == "softmax":
        return softmax(Z)
    if name == "hardmax":
        return hardmax(Z)
    return Z


def _check(Z):
    return check_float_array("Z", Z)


def _forward(name: str, Z, slope: float = 0.0):
    Z = _check(Z)
    A = activate(name, Z, slope)
    return A, ActivationCache(Z, A, slope)


def _check_backward(dA, cache: ActivationCache):
    if not isinstance(cache, ActivationCache):
        raise ValueError(f"cache must be the ActivationCache returned by the forward pass, "
                         f"got {type(cache).__name__}")
    check_float_array("dA", dA, dtype=cache.A.dtype)
    check_same_shape("dA", dA, "A", cache.A)


def _checked(kernel):
    """The public backward pass: ``_check_backward``, then ``kernel(dA, cache)``, which stays
    reachable (unchecked) as the public function's ``.unchecked``."""
    @functools.wraps(kernel)
    def backward(dA, cache: ActivationCache):
        _check_backward(dA, cache)
        return kernel(dA, cache)
    backward.unchecked = kernel
    return backward


def sigmoid_forward(Z):
    """A = 1 / (1 + e^-Z). Shapes: Z, A (n, m)."""
    return _forward("sigmoid", Z)


@_checked
def sigmoid_backward(dA, cache: ActivationCache):
    """dZ = dA * A(1 - A)."""
    return dA * sigmoid_derivative(cache.A)


def tanh_forward(Z):
    """A = tanh(Z)."""
    return _forward("tanh", Z)


@_checked
def tanh_backward(dA, cache: ActivationCache):
    """dZ = dA * (1 - A^2)."""
    return dA * tanh_derivative(cache.A)


def relu_forward(Z):
    """A = max(Z, 0)."""
    return _forward("relu", Z)


@_checked
def relu_backward(dA, cache: ActivationCache):
    """dZ = dA where Z > 0 (read off A > 0), else 0 (including Z == 0 exactly)."""
    return dA * (cache.A > 0)


def _relu_backward_in_place(dA, cache: ActivationCache):
    """relu_backward's dZ written into dA's memory (unchecked), for a caller that owns dA and
    never reads it again (models.Network's backward pass): one allocation fewer per layer."""
    return np.multiply(dA, cache.A > 0, out=dA)


relu_backward.in_place = _relu_backward_in_place


def leaky_relu_forward(Z, slope: float = 0.01):
    """A = Z if Z > 0 else slope * Z. The default slope is torch's, 0.01."""
    return _forward("leaky_relu", Z, check_positive("slope", slope, allow_zero=True))


@_checked
def leaky_relu_backward(dA, cache: ActivationCache):
    """dZ = dA where Z > 0 (read off A > 0), else slope * dA."""
    return np.where(cache.A > 0, dA, cache.slope * dA)


def linear_forward(Z):
    """A = Z (the identity; used for raw scores and regression outputs)."""
    return _forward("linear", Z)


@_checked
def linear_backward(dA, cache: ActivationCache):
    """dZ = dA."""
    return dA


def softmax_forward(Z):
    """A[i, j] = e^{Z[i, j]} / sum_k e^{Z[k, j]}. Shapes: Z, A (C, m)."""
    return _forward("softmax", Z)


@_checked
def softmax_backward(dA, cache: ActivationCache):
    """Jacobian-vector product of softmax per column: dZ = A * (dA - sum_k dA_k A_k)."""
    A = cache.A
    return A * (dA - (dA * A).sum(axis=0, keepdims=True))


def hardmax_forward(Z):
    """One-hot of each column's arg max (the first on ties, like np/torch.argmax)."""
    return _forward("hardmax", Z)


@_checked
def hardmax_backward(dA, cache: ActivationCache):
    """Hardmax is piecewise constant: its gradient is zero wherever it exists."""
    return np.zeros_like(dA)


FORWARD = {
    "sigmoid": sigmoid_forward, "tanh": tanh_forward, "relu": relu_forward,
    "leaky_relu": leaky_relu_forward, "linear": linear_forward,
    "softmax": softmax_forward, "hardmax": hardmax_forward,
}
BACKWARD = {
    "sigmoid": sigmoid_backward, "tanh": tanh_backward, "relu": relu_backward,
    "leaky_relu": leaky_relu_backward, "linear": linear_backward,
    "softmax": softmax_backward, "hardmax": hardmax_backward,
}
NAMES = tuple(FORWARD)
