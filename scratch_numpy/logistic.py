"""Logistic regression as the course writes it: w (n_x, 1), a scalar b, examples in columns.

    z = w^T X + b,  a = sigmoid(z),  J = -(1/m) sum [y log a + (1 - y) log(1 - a)]
    dw = (1/m) X (a - y)^T,  db = (1/m) sum (a - y)

The cost is evaluated on the logits z in the stable form (see
``losses.binary_cross_entropy_with_logits``); on ordinary inputs it equals the
course's log(a) form to the last digits it prints. ``optimize`` validates X and
Y once, then runs the unchecked kernel behind ``propagate`` every iteration.
"""

from __future__ import annotations

import numpy as np

from .losses import binary_cross_entropy_with_logits
from .validation import (check_choice, check_count, check_finite_number, check_float_array, check_labels,
                         check_positive, unchecked)


def _check_wb(w, b):
    w = check_float_array("w", w, shape=(None, 1))
    return w, check_finite_number("b", b)


def _check_X(w, X):
    return check_float_array("X", X, shape=(w.shape[0], None), dtype=w.dtype)


def initialize_with_zeros(n_x: int, dtype: str = "float64"):
    """w = 0 of shape (n_x, 1), b = 0.0 (zeros are fine here: one unit, no symmetry to break)."""
    check_choice("dtype", dtype, ("float32", "float64"))
    return np.zeros((check_count("n_x", n_x), 1), dtype=dtype), 0.0


def propagate(w, b, X, Y):
    """One forward and backward pass. Shapes: w (n_x, 1), X (n_x, m), Y (1, m).

    Returns ({"dw": (n_x, 1), "db": float}, cost).
    """
    w, b = _check_wb(w, b)
    X = _check_X(w, X)
    return _propagate(w, b, X, check_labels("Y", Y, m=X.shape[1], num_classes=2))


def _propagate(w, b, X, Y):
    m = X.shape[1]
    Z = w.T @ X
    Z += b
    cost, dZ = unchecked(binary_cross_entropy_with_logits)(Z, Y)
    dw = X @ dZ.T
    dw /= m
    return {"dw": dw, "db": float(dZ.sum() / m)}, cost


def optimize(w, b, X, Y, num_iterations: int, learning_rate: float):
    """Full-batch gradient descent: w -= alpha dw, b -= alpha db, num_iterations times.

    Returns (params {"w", "b"}, grads of the last iteration {"dw", "db"},
    costs) with costs[i] the cost before update i (every iteration is kept;
    the course prints every 100th).
    """
    num_iterations = check_count("num_iterations", num_iterations)
    learning_rate = check_positive("learning_rate", learning_rate)
    w, b = _check_wb(w, b)
    X = _check_X(w, X)
    Y = check_labels("Y", Y, m=X.shape[1], num_classes=2)
    w = w.copy()
    costs = []
    for _ in range(num_iterations):
        grads, cost = _propagate(w, b, X, Y)
        w -= learning_rate * grads["dw"]
        b = float(w.dtype.type(b - learning_rate * grads["db"]))  # b kept at w's precision
        costs.append(cost)
    return {"w": w, "b": b}, grads, costs


def predict(w, b, X):
    """Labels 1 where sigmoid(w^T X + b) > 0.5, else 0, as int64 of shape (1, m)."""
    w, b = _check_wb(w, b)
    X = _check_X(w, X)
    # a > 0.5 means z > 0; thresholding z avoids sigmoid rounding to exactly 0.5
    # for |z| < 1e-16, and both implementations decide the same way.
    return (w.T @ X + b > 0).astype(np.int64)
