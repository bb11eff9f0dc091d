"""A user's own NumPy layers, in the course's layout (examples are columns): what the plugin example checks.

Nothing here knows about Twinprop: forward(**arrays) returns (out, cache), backward(dout, cache) the gradients.
"""

import numpy as np


def relu_forward(Z):
    return np.maximum(Z, 0), Z


def relu_backward(dA, Z):
    dZ = dA.copy()
    dZ[Z <= 0] = 0
    return dZ


def relu_backward_strict_mask(dA, Z):
    """A classic slip: ``<`` for ``<=`` lets the gradient through at Z = 0 exactly."""
    dZ = dA.copy()
    dZ[Z < 0] = 0
    return dZ


def sigmoid_forward(Z):
    A = 1 / (1 + np.exp(-Z))
    return A, A


def sigmoid_backward(dA, A):
    return dA * A * (1 - A)


def linear_forward(A_prev, W, b):
    return W @ A_prev + b, (A_prev, W)


def linear_backward(dZ, cache):
    """The course's convention: the parameter gradients carry 1/m."""
    A_prev, W = cache
    m = A_prev.shape[1]
    return {"dA_prev": W.T @ dZ, "dW": dZ @ A_prev.T / m, "db": dZ.sum(axis=1, keepdims=True) / m}
