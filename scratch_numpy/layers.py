"""The linear (affine) layer, the score function Z = W A_prev + b.

Gradient convention (the course's): the backward pass carries per-example
gradients dZ = dL/dZ of the *summed* loss L = sum_i L_i, and the 1/m of the
cost J = L / m is applied exactly once, where parameter gradients are formed:

    dW = (1/m) dZ A_prev^T,   db = (1/m) sum_columns(dZ),   dA_prev = W^T dZ.

So dW, db are dJ/dW, dJ/db (what autograd gives for the mean cost) while
dA_prev is m * dJ/dA_prev, exactly as in the course's ``linear_backward``.

``affine`` and ``linear_backward.unchecked`` are the unchecked kernels behind the
two public functions; models.Network calls them after validating its inputs once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .validation import check_float_array


class LinearCache(NamedTuple):
    """What backward needs: the layer's input and its weights."""

    A_prev: np.ndarray
    W: np.ndarray


class FirstLayerCache(LinearCache):
    """A network's first layer in its training pass: the input X needs no gradient, so backward
    skips the product W^T dZ (the largest one in a wide first layer) and returns None for dA_prev."""

    __slots__ = ()


def affine(A_prev, W, b=None):
    """Z = W A_prev + b, unchecked (b None: no bias); the bias is added into the product's memory."""
    Z = W @ A_prev
    if b is not None:
        Z += b
    return Z


def linear_forward(A_prev, W, b):
    """Z = W A_prev + b.

    Shapes: A_prev (n_prev, m), W (n, n_prev), b (n, 1) -> Z (n, m).
    Returns (Z, LinearCache).
    """
    W = check_float_array("W", W)
    n, n_prev = W.shape
    check_float_array("A_prev", A_prev, shape=(n_prev, None), dtype=W.dtype)
    check_float_array("b", b, shape=(n, 1), dtype=W.dtype)
    return affine(A_prev, W, b), LinearCache(A_prev, W)


def _linear_backward(dZ, cache: LinearCache):
    A_prev, W = cache
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T
    dW /= m
    db = dZ.sum(axis=1, keepdims=True)
    db /= m
    return (None if isinstance(cache, FirstLayerCache) else W.T @ dZ), dW, db


def linear_backward(dZ, cache: LinearCache):
    """dA_prev = W^T dZ, dW = dZ A_prev^T / m, db = sum_cols(dZ) / m.

    Shapes: dZ (n, m) -> dA_prev (n_prev, m), dW (n, n_prev), db (n, 1).
    """
    if not isinstance(cache, LinearCache):
        raise ValueError(f"cache must be the LinearCache returned by linear_forward, got {type(cache).__name__}")
    check_float_array("dZ", dZ, shape=(cache.W.shape[0], cache.A_prev.shape[1]), dtype=cache.W.dtype)
    return _linear_backward(dZ, cache)


linear_backward.unchecked = _linear_backward
