"""Losses and penalties. Examples are columns; labels are a (1, m) integer row.

Every loss returns ``(cost, dinput)``: the cost J = (1/m) sum_i L_i, and the
gradient of the *summed* loss sum_i L_i with respect to its input, i.e.
m * dJ/dinput. That is the course's convention (its dAL and dZ = A - Y carry no
1/m); ``layers.linear_backward`` applies the 1/m once, to dW and db.

Penalties act on the weights W1, W2, ... only (never on b) and return
``(cost_term, grads)`` with grads already at the cost's scale (dJ/dW).

The losses a network ends with and the penalties are thin checks around unchecked
kernels, reachable as ``<function>.unchecked`` (labels already int64 (1, m)), which
models.Network and optim.Optimizer call after validating their inputs once.
"""

from __future__ import annotations

import re

import numpy as np

from .activations import sigmoid
from .validation import check_count, check_float_array, check_labels, check_params, check_positive


def _check_binary(name, A, Y):
    A = check_float_array(name, A, shape=(1, None))
    return A, check_labels("Y", Y, m=A.shape[1], num_classes=2)


def binary_cross_entropy(AL, Y):
    """J = -(1/m) sum [y log a + (1 - y) log(1 - a)] on probabilities a = AL.

    Shapes: AL (1, m) in [0, 1], Y (1, m) in {0, 1}.
    dAL = -(y / a - (1 - y) / (1 - a)), written per label so that a = 0 with
    y = 0 (and a = 1 with y = 1) costs 0 instead of 0 * log 0 = NaN. A wrong
    label at saturation costs +inf: the textbook form has no clamp (torch's
    BCELoss clamps each log at -100; see CONVENTIONS.md).
    """
    AL, Y = _check_binary("AL", AL, Y)
    if AL.min() < 0 or AL.max() > 1:
        raise ValueError(f"AL must hold probabilities in [0, 1], got values from {AL.min()} to {AL.max()}")
    positive = Y == 1
    with np.errstate(divide="ignore"):
        losses = -np.log(np.where(positive, AL, 1 - AL))
        dAL = np.where(positive, -1 / AL, 1 / (1 - AL))
    return float(losses.mean()), dAL


def binary_cross_entropy_with_logits(Z, Y):
    """The same loss on logits, a = sigmoid(z), in the stable form

        L = max(z, 0) - z y + log(1 + e^-|z|),   dZ = sigmoid(z) - y,

    which never exponentiates a positive number (finite for |z| up to 1e308).
    Shapes: Z (1, m), Y (1, m) in {0, 1}.
    """
    return _bce_with_logits(*_check_binary("Z", Z, Y))


def _bce_with_logits(Z, Y):
    Y = Y.astype(Z.dtype)  # int64 labels would promote float32 arithmetic to float64
    losses = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
    return float(losses.mean()), sigmoid(Z) - Y


def _check_scores(scores, Y):
    scores = check_float_array("scores", scores)
    C, m = scores.shape
    return scores, check_labels("Y", Y, m=m, num_classes=C)


def softmax_cross_entropy(scores, Y):
    """J = -(1/m) sum_i log softmax(s_i)[y_i], with dscores = softmax(s) - onehot(y).

    Shapes: scores (C, m), Y (1, m) in [0, C). The log-sum-exp is taken after
    subtracting each column's max, so no exponent is positive; softmax and the
    loss share that one exponential (the fused form).
    """
    return _softmax_cross_entropy(*_check_scores(scores, Y))


def _softmax_cross_entropy(scores, Y):
    y, columns = Y[0], np.arange(scores.shape[1])
    dscores = scores - scores.max(axis=0, keepdims=True)   # shifted scores, then softmax, in one buffer
    picked = dscores[y, columns]
    np.exp(dscores, out=dscores)
    sums = dscores.sum(axis=0)
    dscores /= sums
    dscores[y, columns] -= 1
    return float((np.log(sums) - picked).mean()), dscores


def svm_hinge(scores, Y, delta: float = 1.0):
    """Multiclass SVM (cs231n): J = (1/m) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + delta).

    Shapes: scores (C, m), Y (1, m) in [0, C). dscores[j] = 1 for every class
    with a positive margin and dscores[y] = -(their count); a margin of exactly
    0 counts as inactive (the hinge's derivative at its kink is taken as 0).
    torch.nn.MultiMarginLoss divides by C as well: see CONVENTIONS.md.
    """
    scores, Y = _check_scores(scores, Y)
    return _svm_hinge(scores, Y, check_positive("delta", delta, allow_zero=True))


def _svm_hinge(scores, Y, delta: float = 1.0):
    y, m = Y[0], scores.shape[1]
    columns = np.arange(m)
    margins = np.maximum(0, scores - scores[y, columns] + delta)
    margins[y, columns] = 0
    dscores = (margins > 0).astype(scores.dtype)
    dscores[y, columns] = -dscores.sum(axis=0)
    return float(margins.sum() / m), dscores


binary_cross_entropy_with_logits.unchecked = _bce_with_logits
softmax_cross_entropy.unchecked = _softmax_cross_entropy
svm_hinge.unchecked = _svm_hinge


def _weight_names(params):
    """The keys W1, W2, ... of ``params``, in layer order."""
    return sorted((k for k in params if re.fullmatch(r"W\d+", str(k))), key=lambda k: int(k[1:]))


def _check_penalty(params, name: str, strength, m):
    """(strength, m) after checking them (``name``: l2_lambda or l1_lambda) and the weights W1, W2, ...
    (2-D, finite, one float dtype)."""
    strength = check_positive(name, strength, allow_zero=True)
    m = check_count("m", m)
    check_params("params", params, keys=())
    odd = [k for k in params if str(k).startswith("W") and not re.fullmatch(r"W\d+", str(k))]
    if odd:
        raise ValueError(f"params keys {odd} look like weights but are not named W1, W2, ...")
    names = _weight_names(params)
    if not names:
        raise ValueError(f"params must hold weight matrices W1, W2, ..., got keys {sorted(map(str, params))}")
    dtype = None
    for k in names:
        dtype = check_float_array(f"params[{k!r}]", params[k], dtype=dtype).dtype
    return strength, m


def l2_penalty(params, l2_lambda: float, m: int):
    """lambda/(2m) sum_l ||W_l||_F^2 over the weights only; dW_l = (lambda/m) W_l."""
    return _l2_penalty(params, *_check_penalty(params, "l2_lambda", l2_lambda, m))


def _l2_penalty(params, l2_lambda, m):
    names = _weight_names(params)
    cost = l2_lambda / (2 * m) * sum(float(np.sum(params[k] * params[k])) for k in names)
    return cost, {"d" + k: (l2_lambda / m) * params[k] for k in names}


def l1_penalty(params, l1_lambda: float, m: int):
    """lambda/(2m) sum_l sum |W_l| over the weights only; dW_l = lambda/(2m) sign(W_l).

    The scale follows the course's slide (lambda/(2m), like L2); sign(0) = 0 is
    the subgradient chosen at the kink, as torch.abs's backward does.
    """
    return _l1_penalty(params, *_check_penalty(params, "l1_lambda", l1_lambda, m))


def _l1_penalty(params, l1_lambda, m):
    names = _weight_names(params)
    scale = l1_lambda / (2 * m)
    cost = scale * sum(float(np.abs(params[k]).sum()) for k in names)
    return cost, {"d" + k: scale * np.sign(params[k]) for k in names}


l2_penalty.unchecked = _l2_penalty
l1_penalty.unchecked = _l1_penalty
