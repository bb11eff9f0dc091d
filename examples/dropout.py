"""Inverted dropout with a mask injected by the check, and the forgotten 1/keep_prob.

Train: out = A * D / keep_prob, D (n, m) with entries 1 (probability keep_prob) or 0, so E[out] = A;
backward dA = dout * D / keep_prob. Eval: out = A, dA = dout. The check draws D (``Mask``) and gives the
same D to both sides: NumPy's and torch's generators never agree.

    python -m parity_tests.checker examples/dropout.py:forward_unscaled,backward_unscaled --inputs A=4x6 \\
        --mask D=4x6:0.8 --fixed keep_prob=0.8 --mode train \\
        --against "A * D / keep_prob if mode == 'train' else A"
"""

from typing import NamedTuple

import numpy as np

from examples.cases import Case
from parity_tests.checker.harness import Mask

KEEP_PROB = 0.8


class DropoutCache(NamedTuple):
    D: np.ndarray
    keep_prob: float
    train: bool


def forward(A, D, keep_prob, mode):
    """out = A * D / keep_prob in training, A in evaluation. Shapes: A, D, out (n, m)."""
    train = mode == "train"
    return (A * D / keep_prob if train else A), DropoutCache(D, keep_prob, train)


def backward(dout, cache):
    """dA = dout * D / keep_prob in training, dout in evaluation."""
    return dout * cache.D / cache.keep_prob if cache.train else dout


def forward_unscaled(A, D, keep_prob, mode):
    """Bug: out = A * D, without the 1/keep_prob that keeps E[out] = A."""
    train = mode == "train"
    return (A * D if train else A), DropoutCache(D, keep_prob, train)


def backward_unscaled(dout, cache):
    """Bug: dA = dout * D, without the 1/keep_prob."""
    return dout * cache.D if cache.train else dout


def torch_dropout(A, D, keep_prob, mode):
    return A * D / keep_prob if mode == "train" else A


CHECK = dict(oracle=torch_dropout, inputs={"A": (4, 6)}, random={"D": Mask((4, 6), KEEP_PROB)},
             fixed={"keep_prob": KEEP_PROB}, mode="train")

CASES = [
    Case("dropout", forward, backward, CHECK),
    Case("dropout, eval mode", forward, backward, {**CHECK, "mode": "eval"}),
    Case("dropout: no 1/keep_prob", forward_unscaled, backward_unscaled, CHECK, ("out", "dA"),
         "the 1/keep_prob of inverted dropout is missing"),
]
