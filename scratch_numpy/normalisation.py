"""Input normalisation (course 2, week 1): fit on the training set, reuse everywhere.

Examples are columns, X (n_x, m). Fitted on the training set only:

    mu      = (1/m) sum_i x^(i)                 (n_x, 1)
    sigma^2 = (1/m) sum_i (x^(i) - mu)^2        (n_x, 1), elementwise (the biased 1/m form)

and applied, with the same mu and sigma^2, to the training, dev and test sets:

    x_norm = (x - mu) / sqrt(sigma^2 + eps)     eps >= 0, default 0 (the course's formula)

so that all three sets go through one and the same transformation (the dev/test
sets' own statistics are never used).

Zero-variance features (the rule): a feature that is constant on the training
set is fitted with mu = that constant and sigma^2 = exactly 0 (not the few ulps
that (1/m) sum would leave), and is centred but not scaled: its divisor is 1
wherever sqrt(sigma^2 + eps) is 0. The training set maps it to exactly 0; dev and
test keep their offset from the constant at its original scale instead of
dividing it by 0 (NaN/inf) or by a tiny sqrt(eps) (a blow-up by 1/sqrt(eps)).
reference_torch.normalisation does the same with torch ops, batch-first.

Extreme values (the rule, both sides): mu and sigma^2 are computed on each feature
divided by a power of two s >= its largest magnitude / 2 (exact: only the exponent
changes) and scaled back, so that entries up to the largest float neither overflow
the sum nor the squares; a sigma^2 that itself exceeds the largest float (features
of +-1e200 in float64: 1e400) is refused, naming X_train, on both sides.
"""

from __future__ import annotations

import numpy as np

from .validation import check_float_array, check_positive, too_spread_message


def fit(X_train):
    """(mu, sigma2) of the training set: per-feature mean and biased variance, each (n_x, 1).

    Shapes: X_train (n_x, m). A feature constant over the m examples gets mu = the
    constant and sigma2 = 0 exactly (see the module docstring).
    """
    X_train = check_float_array("X_train", X_train)
    constant = (X_train == X_train[:, :1]).all(axis=1, keepdims=True)
    _, exponent = np.frexp(np.abs(X_train).max(axis=1, keepdims=True))
    s = np.ldexp(np.ones_like(constant, dtype=X_train.dtype), (exponent - 1).clip(*scale_exponents(X_train.dtype)))
    scaled = X_train / s
    mu_scaled = scaled.mean(axis=1, keepdims=True)
    with np.errstate(over="ignore"):   # an overflow is the refusal below
        sigma2 = np.where(constant, 0, ((scaled - mu_scaled) ** 2).mean(axis=1, keepdims=True) * s * s)
    if not np.isfinite(sigma2).all():
        raise ValueError(too_spread_message("X_train", X_train.dtype))
    return np.where(constant, X_train[:, :1], mu_scaled * s), sigma2


def scale_exponents(dtype) -> tuple[int, int]:
    """The exponents e of the scales s = 2**e (``fit``): e = (that of the largest magnitude) - 1, kept
    where 2**e is a normal, finite float (a subnormal feature is scaled up, not divided by 0)."""
    info = np.finfo(dtype)
    return info.minexp, info.maxexp - 1


def apply(X, mu, sigma2, eps: float = 0.0):
    """x_norm = (x - mu) / sqrt(sigma2 + eps), divisor 1 where sqrt(sigma2 + eps) = 0.

    Shapes: X (n_x, m) (any set: train, dev or test), mu and sigma2 (n_x, 1) from ``fit``.
    """
    X = check_float_array("X", X)
    n_x = X.shape[0]
    check_float_array("mu", mu, shape=(n_x, 1), dtype=X.dtype)
    check_float_array("sigma2", sigma2, shape=(n_x, 1), dtype=X.dtype)
    if (sigma2 < 0).any():
        raise ValueError(f"sigma2 must be a variance (>= 0), got a minimum of {sigma2.min()}")
    eps = check_positive("eps", eps, allow_zero=True)
    sigma = np.sqrt(sigma2 + eps)
    return (X - mu) / np.where(sigma > 0, sigma, 1).astype(X.dtype)


def normalize_sets(X_train, *others, eps: float = 0.0):
    """Fit on ``X_train`` and apply to it and to each of ``others`` (dev, test).

    Returns ([X_train_norm, *others_norm], (mu, sigma2)).
    """
    mu, sigma2 = fit(X_train)
    for k, X in enumerate(others):
        check_float_array(f"others[{k}]", X, shape=(X_train.shape[0], None), dtype=X_train.dtype)
    return [apply(X, mu, sigma2, eps) for X in (X_train, *others)], (mu, sigma2)
