"""Losses and penalties. Examples are columns; labels are a (1, m) integer row.

Every loss returns ``(cost, dinput)``: the cost J = (1/m) sum_i L_i, and the
gradient of the *summed* loss sum_i L_i with respect to its input, i.e.
m * dJ/dinput. That is the course's convention (its dAL and dZ = A - Y carry no
1/m); ``layers.linear_backward`` applies the 1/m once, to dW and db.

Penalties act on the weights W1, W2, ... only (never on b) and return
``(cost_term, grads)`` with grads already at the cost's scale (dJ/dW).
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
    Z, Y = _check_binary("Z", Z, Y)
    Y = Y.astype(Z.dtype)  # int64 labels would promote float32 arithmetic to float64
    losses = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
    return float(losses.mean()), sigmoid(Z) - Y


def softmax_cross_entropy(scores, Y):
    """J = -(1/m) sum_i log softmax(s_i)[y_i], with dscores = softmax(s) - onehot(y).

    Shapes: scores (C, m), Y (1, m) in [0, C). The log-sum-exp is taken after
    subtracting each column's max, so no exponent is positive.
    """
    scores = check_float_array("scores", scores)
    C, m = scores.shape
    Y = check_labels("Y", Y, m=m, num_classes=C)[0]
    shifted = scores - scores.max(axis=0, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    columns = np.arange(m)
    dscores = np.exp(log_probs)
    dscores[Y, columns] -= 1
    return float(-log_probs[Y, columns].mean()), dscores


def svm_hinge(scores, Y, delta: float = 1.0):
    """Multiclass SVM (cs231n): J = (1/m) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + delta).

    Shapes: scores (C, m), Y (1, m) in [0, C). dscores[j] = 1 for every class
    with a positive margin and dscores[y] = -(their count); a margin of exactly
    0 counts as inactive (the hinge's derivative at its kink is taken as 0).
    torch.nn.MultiMarginLoss divides by C as well: see CONVENTIONS.md.
    """
    scores = check_float_array("scores", scores)
    check_positive("delta", delta, allow_zero=True)
    C, m = scores.shape
    Y = check_labels("Y", Y, m=m, num_classes=C)[0]
    columns = np.arange(m)
    margins = np.maximum(0, scores - scores[Y, columns] + delta)
    margins[Y, columns] = 0
    dscores = (margins > 0).astype(scores.dtype)
    dscores[Y, columns] = -dscores.sum(axis=0)
    return float(margins.sum() / m), dscores


def _weights(params):
    """The names W1, W2, ... in ``params``, each checked (2-D, finite, one float dtype)."""
    check_params("params", params, keys=())
    odd = [k for k in params if str(k).startswith("W") and not re.fullmatch(r"W\d+", str(k))]
    if odd:
        raise ValueError(f"params keys {odd} look like weights but are not named W1, W2, ...")
    names = sorted((k for k in params if re.fullmatch(r"W\d+", str(k))), key=lambda k: int(k[1:]))
    if not names:
        raise ValueError(f"params must hold weight matrices W1, W2, ..., got keys {sorted(map(str, params))}")
    dtype = None
    for k in names:
        dtype = check_float_array(f"params[{k!r}]", params[k], dtype=dtype).dtype
    return names


def l2_penalty(params, lambd: float, m: int):
    """lambda/(2m) sum_l ||W_l||_F^2 over the weights only; dW_l = (lambda/m) W_l."""
    lambd = check_positive("lambd", lambd, allow_zero=True)
    m = check_count("m", m)
    names = _weights(params)
    cost = lambd / (2 * m) * sum(float(np.sum(params[k] * params[k])) for k in names)
    return cost, {"d" + k: (lambd / m) * params[k] for k in names}


def l1_penalty(params, lambd: float, m: int):
    """lambda/(2m) sum_l sum |W_l| over the weights only; dW_l = lambda/(2m) sign(W_l).

    The scale follows the course's slide (lambda/(2m), like L2); sign(0) = 0 is
    the subgradient chosen at the kink, as torch.abs's backward does.
    """
    lambd = check_positive("lambd", lambd, allow_zero=True)
    m = check_count("m", m)
    names = _weights(params)
    scale = lambd / (2 * m)
    cost = scale * sum(float(np.abs(params[k]).sum()) for k in names)
    return cost, {"d" + k: scale * np.sign(params[k]) for k in names}
