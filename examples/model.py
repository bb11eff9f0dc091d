"""Whole networks in the course's layout, checked against reference_torch.models.Network (check_model).

The course's L-layer network (ReLU hidden layers, a sigmoid output), written with its helper functions:

    AL, caches = L_model_forward(X, parameters)       X (n_x, m), W_l (n_l, n_(l-1)), b_l (n_l, 1)
    grads = L_model_backward(AL, Y, caches)           {dA_(l-1), dW_l, db_l}, Y (1, m) in {0, 1}

    dAL = -(Y / AL - (1 - Y) / (1 - AL)),  dZ_l = dA_l * g'(Z_l),
    dW_l = dZ_l A_(l-1)^T / m,  db_l = sum_cols(dZ_l) / m,  dA_(l-1) = W_l^T dZ_l.

Then the course's shallow network (one tanh hidden layer) with every step written out by hand, where a slip
stays in one layer: ``shallow_backward_db2_missing_1_over_m``, which the report names as layer 2. And the
project's own ``scratch_numpy.models.Network`` behind the same two signatures.
"""

import numpy as np

from examples.cases import Case
from parity_tests.checker.model import check_model
from scratch_numpy import models


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def L_model_forward(X, parameters):
    """[LINEAR -> RELU] * (L - 1) -> LINEAR -> SIGMOID; caches[l - 1] = (A_(l-1), W_l, Z_l)."""
    L = len(parameters) // 2
    A, caches = X, []
    for l in range(1, L + 1):
        W = parameters[f"W{l}"]
        Z = W @ A + parameters[f"b{l}"]
        caches.append((A, W, Z))
        A = sigmoid(Z) if l == L else np.maximum(Z, 0)
    return A, caches


def L_model_backward(AL, Y, caches):
    """The course's backward from dAL (the cross-entropy's, per example) down to layer 1."""
    L, m = len(caches), AL.shape[1]
    grads = {}
    dA = -(Y / AL - (1 - Y) / (1 - AL))
    for l in range(L, 0, -1):
        A_prev, W, Z = caches[l - 1]
        dZ = dA * sigmoid(Z) * (1 - sigmoid(Z)) if l == L else dA * (Z > 0)
        grads[f"dW{l}"] = dZ @ A_prev.T / m
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        grads[f"dA{l - 1}"] = dA = W.T @ dZ
    return grads


def shallow_forward(X, parameters):
    """The course's shallow net: A1 = tanh(W1 X + b1), A2 = sigmoid(W2 A1 + b2)."""
    A1 = np.tanh(parameters["W1"] @ X + parameters["b1"])
    A2 = sigmoid(parameters["W2"] @ A1 + parameters["b2"])
    return A2, (X, A1, parameters["W2"])


def shallow_backward(A2, Y, cache):
    """dZ2 = A2 - Y, dW2 = dZ2 A1^T / m, db2 = sum_cols(dZ2) / m, dZ1 = W2^T dZ2 * (1 - A1^2), ..."""
    X, A1, W2 = cache
    m = X.shape[1]
    dZ2 = A2 - Y
    dZ1 = W2.T @ dZ2 * (1 - A1 ** 2)
    return {"dW2": dZ2 @ A1.T / m, "db2": dZ2.sum(axis=1, keepdims=True) / m,
            "dW1": dZ1 @ X.T / m, "db1": dZ1.sum(axis=1, keepdims=True) / m}


def shallow_backward_db2_missing_1_over_m(A2, Y, cache):
    """Bug: db2 = sum_cols(dZ2), the 1/m forgotten in layer 2 only."""
    return {**shallow_backward(A2, Y, cache), "db2": (A2 - Y).sum(axis=1, keepdims=True)}


def project_model(layer_dims, hidden, output):
    """scratch_numpy.models.Network as the course's (forward, backward) pair: forward keeps (X, parameters)
    as its cache, backward returns Network.loss's gradients."""
    network = models.Network(layer_dims, hidden, output)

    def forward(X, parameters):
        return network.forward(parameters, X)[0], (X, parameters)

    def backward(AL, Y, cache):
        X, parameters = cache
        return network.loss(parameters, X, Y)[1]

    return forward, backward


L_LAYER = dict(layer_dims=(5, 4, 3, 1), hidden="relu", output="sigmoid")
SHALLOW = dict(layer_dims=(3, 4, 1), hidden="tanh", output="sigmoid")
PROJECT = dict(layer_dims=(6, 5, 4), hidden="relu", output="softmax")

CASES = [
    Case("course L-layer model", L_model_forward, L_model_backward, L_LAYER, checker=check_model),
    Case("shallow model", shallow_forward, shallow_backward, SHALLOW, checker=check_model),
    Case("shallow model: db2 without 1/m", shallow_forward, shallow_backward_db2_missing_1_over_m, SHALLOW,
         ("db2",), "the 1/m is missing", checker=check_model),
    Case("scratch_numpy.models.Network relu/softmax", *project_model(**PROJECT), PROJECT, checker=check_model),
]
