"""The softmax cross-entropy cost, and the gradient with its sign flipped.

Scores (C, m), one example per column; labels y (1, m) of ints in [0, C); Y the one-hot (C, m):

    p = softmax over each column,   J = -(1/m) sum_i log p[y_i, i],   dscores = dJ (p - Y) / m,

dJ being the upstream gradient of the scalar cost (random in the check, as every upstream gradient).

    python -m parity_tests.checker examples/softmax.py:forward,backward_sign_error --inputs scores=3x6 \\
        --fixed "y=[[0, 2, 1, 2, 0, 1]]" --against "F.cross_entropy(scores.T, y[0])"
"""

from typing import NamedTuple

import numpy as np
import torch.nn.functional as F

from examples.cases import Case


class SoftmaxCache(NamedTuple):
    p: np.ndarray
    Y: np.ndarray


def forward(scores, y):
    """J, with log p computed from max-shifted scores so that no exponential overflows."""
    shifted = scores - scores.max(axis=0, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    Y = np.zeros_like(scores)
    Y[y[0], np.arange(scores.shape[1])] = 1
    return -(Y * log_p).sum() / scores.shape[1], SoftmaxCache(np.exp(log_p), Y)


def backward(dJ, cache):
    """dscores = dJ (p - Y) / m."""
    return dJ * (cache.p - cache.Y) / cache.p.shape[1]


def backward_sign_error(dJ, cache):
    """Bug: dscores = dJ (Y - p) / m, the gradient of the log-likelihood, not of the cost."""
    return dJ * (cache.Y - cache.p) / cache.p.shape[1]


def torch_cross_entropy(scores, y):
    return F.cross_entropy(scores.T, y[0])


CHECK = dict(oracle=torch_cross_entropy, inputs={"scores": (3, 6)}, fixed={"y": np.array([[0, 2, 1, 2, 0, 1]])})

CASES = [
    Case("softmax cross-entropy", forward, backward, CHECK),
    Case("softmax cross-entropy: sign error", forward, backward_sign_error, CHECK, ("dscores",), "sign flipped"),
]
