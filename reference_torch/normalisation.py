"""Input normalisation with torch ops, batch-first: X (m, n_x), statistics (n_x,).

The same rule as scratch_numpy.normalisation (fitted on the training set only, the biased
1/m variance, zero-variance features centred but not scaled):

    mu = X_train.mean(dim=0)            sigma^2 = X_train.var(dim=0, correction=0)
    x_norm = (x - mu) / sqrt(sigma^2 + eps),  divisor 1 where sqrt(sigma^2 + eps) = 0

A feature constant on the training set gets mu = the constant and sigma^2 = 0 exactly. Extreme
values as there: computed on the feature divided by a power of two, a sigma^2 past the largest
float refused, with the same message.
"""

from __future__ import annotations

import math

import torch

from scratch_numpy.validation import check_positive, too_spread_message

from .validation import check_tensor


def fit(X_train):
    """(mu, sigma2), each (n_x,), of X_train (m, n_x)."""
    X_train = check_tensor("X_train", X_train)
    constant = (X_train == X_train[:1]).all(dim=0)
    _, exponent = torch.frexp(X_train.detach().abs().amax(dim=0))
    info = torch.finfo(X_train.dtype)   # 2**e a normal, finite float: e in [log2(tiny), log2(max)]
    low, high = int(math.log2(info.tiny)), int(math.log2(info.max))
    s = torch.ldexp(torch.ones_like(X_train[0]), (exponent - 1).clamp(low, high))   # as scratch_numpy's fit
    scaled = X_train / s
    sigma2 = torch.where(constant, 0, scaled.var(dim=0, correction=0) * s * s)
    if not bool(torch.isfinite(sigma2).all()):
        raise ValueError(too_spread_message("X_train", str(X_train.dtype).removeprefix("torch.")))
    return torch.where(constant, X_train[0], scaled.mean(dim=0) * s), sigma2


def apply(X, mu, sigma2, eps: float = 0.0):
    """x_norm = (x - mu) / sqrt(sigma2 + eps) (divisor 1 where that is 0). Shapes: X (m, n_x), mu, sigma2 (n_x,)."""
    X = check_tensor("X", X)
    n_x = X.shape[1]
    check_tensor("mu", mu, ndim=1, shape=(n_x,), dtype=X.dtype)
    check_tensor("sigma2", sigma2, ndim=1, shape=(n_x,), dtype=X.dtype)
    if bool((sigma2 < 0).any()):
        raise ValueError(f"sigma2 must be a variance (>= 0), got a minimum of {float(sigma2.min())}")
    eps = check_positive("eps", eps, allow_zero=True)
    sigma = torch.sqrt(sigma2 + eps)
    return (X - mu) / torch.where(sigma > 0, sigma, 1)


def normalize_sets(X_train, *others, eps: float = 0.0):
    """Fit on ``X_train``, apply to it and to each of ``others``: ([X_train_norm, ...], (mu, sigma2))."""
    mu, sigma2 = fit(X_train)
    for k, X in enumerate(others):
        check_tensor(f"others[{k}]", X, shape=(None, X_train.shape[1]), dtype=X_train.dtype)
    return [apply(X, mu, sigma2, eps) for X in (X_train, *others)], (mu, sigma2)
