"""The linear layer Z = W A_prev + b, and three classic bugs in its backward pass.

Shapes: A_prev (n_prev, m), W (n, n_prev), b (n, 1), Z (n, m). The course's convention: the cost's 1/m is
applied where the parameter gradients are formed,

    dW = dZ A_prev^T / m,   db = sum_cols(dZ) / m,   dA_prev = W^T dZ,

so the check runs with ``grad_convention="course"``.

    python -m parity_tests.checker examples/linear.py:forward,backward_missing_1_over_m \\
        --inputs A_prev=4x8 --params W=3x4,b=3x1 --against "W @ A_prev + b" --convention course
"""

from typing import NamedTuple

import numpy as np

from examples.cases import Case


class LinearCache(NamedTuple):
    A_prev: np.ndarray
    W: np.ndarray


def forward(A_prev, W, b):
    """Z = W A_prev + b."""
    return W @ A_prev + b, LinearCache(A_prev, W)


def backward(dZ, cache):
    """dA_prev = W^T dZ, dW = dZ A_prev^T / m, db = sum_cols(dZ) / m."""
    m = dZ.shape[1]
    return {"dA_prev": cache.W.T @ dZ, "dW": dZ @ cache.A_prev.T / m, "db": dZ.sum(axis=1, keepdims=True) / m}


def backward_missing_1_over_m(dZ, cache):
    """Bug: dW = dZ A_prev^T, the 1/m forgotten."""
    return {**backward(dZ, cache), "dW": dZ @ cache.A_prev.T}


def backward_transposed_dW(dZ, cache):
    """Bug: dW = A_prev dZ^T / m, the transpose of the right product."""
    return {**backward(dZ, cache), "dW": cache.A_prev @ dZ.T / dZ.shape[1]}


def backward_db_not_summed(dZ, cache):
    """Bug: db = dZ / m, the sum over the examples (axis 1) forgotten."""
    return {**backward(dZ, cache), "db": dZ / dZ.shape[1]}


def torch_linear(A_prev, W, b):
    return W @ A_prev + b


CHECK = dict(oracle=torch_linear, inputs={"A_prev": (4, 8)}, params={"W": (3, 4), "b": (3, 1)},
             grad_convention="course")

CASES = [
    Case("linear", forward, backward, CHECK),
    Case("linear: missing 1/m", forward, backward_missing_1_over_m, CHECK, ("dW",), "the 1/m is missing"),
    Case("linear: transposed dW", forward, backward_transposed_dW, CHECK, ("dW",), "transposed"),
    Case("linear: db not summed", forward, backward_db_not_summed, CHECK, ("db",),
         "sum over the batch axis (axis 1) is missing"),
]
