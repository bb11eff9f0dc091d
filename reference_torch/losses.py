"""Losses with torch.nn.functional, batch-first: scores (m, C), labels y (m,) int64.

Each returns the cost, the mean over the m examples (reduction="mean"), as a
0-d tensor; autograd gives dJ/dinput. (The NumPy side returns m times that,
the course's per-example convention: see scratch_numpy/losses.py.)

As on the NumPy side, the losses a network ends with and the penalties are thin
checks around kernels, ``<function>.unchecked``, which models.Network calls after
validating its inputs once.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from scratch_numpy.validation import check_count, check_positive

from .validation import check_labels, check_tensor


def _binary(name, A, y):
    A = check_tensor(name, A, shape=(None, 1))
    return A, check_labels("y", y, m=A.shape[0], num_classes=2)[:, None].to(A.dtype)


def binary_cross_entropy(AL, y):
    """F.binary_cross_entropy on probabilities AL (m, 1), labels y (m,) in {0, 1}.

    Differs from the textbook at saturation: torch clamps each log term at
    -100, so a = 0 with y = 1 costs 100 / m instead of inf (CONVENTIONS.md).
    """
    AL, y = _binary("AL", AL, y)
    if float(AL.detach().min()) < 0 or float(AL.detach().max()) > 1:
        raise ValueError("AL must hold probabilities in [0, 1]")
    return F.binary_cross_entropy(AL, y)


def binary_cross_entropy_with_logits(Z, y):
    """F.binary_cross_entropy_with_logits on logits Z (m, 1), labels y (m,) in {0, 1}."""
    Z = check_tensor("Z", Z, shape=(None, 1))
    return _bce_with_logits(Z, check_labels("y", y, m=Z.shape[0], num_classes=2))


def _bce_with_logits(Z, y):
    return F.binary_cross_entropy_with_logits(Z, y[:, None].to(Z.dtype))


def softmax_cross_entropy(scores, y):
    """F.cross_entropy (log-softmax + NLL, mean over m) on scores (m, C), labels y (m,)."""
    scores = check_tensor("scores", scores)
    return _softmax_cross_entropy(scores, check_labels("y", y, m=scores.shape[0], num_classes=scores.shape[1]))


def _softmax_cross_entropy(scores, y):
    """The kernel: y int64 (m,) in [0, C), as check_labels returns it (a binary bool y already 0/1)."""
    return F.cross_entropy(scores, y)


def svm_hinge(scores, y, delta: float = 1.0):
    """The cs231n SVM loss as C * F.multi_margin_loss(scores, y, margin=delta).

    MultiMarginLoss computes sum_{j != y} max(0, delta - s_y + s_j) / C per
    example and has no option to drop the /C, so it is multiplied back.
    """
    scores = check_tensor("scores", scores)
    delta = check_positive("delta", delta, allow_zero=True)
    m, C = scores.shape
    return _svm_hinge(scores, check_labels("y", y, m=m, num_classes=C), delta)


def _svm_hinge(scores, y, delta: float = 1.0):
    """The kernel: y int64 (m,) in [0, C), as check_labels returns it (a binary bool y already 0/1)."""
    return scores.shape[1] * F.multi_margin_loss(scores, y, margin=delta)


def _weights(weights):
    if isinstance(weights, torch.Tensor) or not hasattr(weights, "__iter__"):
        raise ValueError(f"weights must be a list of weight tensors, got {type(weights).__name__}")
    weights = list(weights)
    if not weights:
        raise ValueError("weights must hold at least one weight tensor")
    check_tensor("weights[0]", weights[0])   # before its dtype is read, the others' reference
    for i, W in enumerate(weights[1:], start=1):
        check_tensor(f"weights[{i}]", W, dtype=weights[0].dtype)
    return weights


def l2_penalty(weights, l2_lambda: float, m: int):
    """lambda/(2m) sum_l ||W_l||_F^2 over the given weight tensors (never the biases)."""
    l2_lambda = check_positive("l2_lambda", l2_lambda, allow_zero=True)
    m = check_count("m", m)
    return _l2_penalty(_weights(weights), l2_lambda, m)


def _l2_penalty(weights, l2_lambda, m):
    return l2_lambda / (2 * m) * sum(W.pow(2).sum() for W in weights)


def l1_penalty(weights, l1_lambda: float, m: int):
    """lambda/(2m) sum_l sum |W_l|; torch.abs's gradient at 0 is 0, like sign(0)."""
    l1_lambda = check_positive("l1_lambda", l1_lambda, allow_zero=True)
    m = check_count("m", m)
    return _l1_penalty(_weights(weights), l1_lambda, m)


def _l1_penalty(weights, l1_lambda, m):
    return l1_lambda / (2 * m) * sum(W.abs().sum() for W in weights)


binary_cross_entropy_with_logits.unchecked = _bce_with_logits
softmax_cross_entropy.unchecked = _softmax_cross_entropy
svm_hinge.unchecked = _svm_hinge
l2_penalty.unchecked = _l2_penalty
l1_penalty.unchecked = _l1_penalty
