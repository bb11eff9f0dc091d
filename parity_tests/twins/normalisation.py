"""Input normalisation: mu and sigma^2 fitted on a training set, applied to it and to a dev set."""

from __future__ import annotations

import numpy as np

from reference_torch import bridge
from reference_torch import normalisation as t_normalisation
from scratch_numpy import normalisation as n_normalisation

from ..checker.harness import compare
from .common import case
from .mutant import Mutant


def normalisation(*, dtype="float64", device="cpu", n_x=5, m=30, m_dev=12, eps=0.0, seed=0):
    """mu and sigma^2 fitted on a training set (one feature constant, the others shifted and
    scaled), and the training and dev sets normalised with them."""
    rng = np.random.default_rng(seed)
    scale, shift = rng.uniform(0.1, 10, (n_x, 1)), rng.uniform(-5, 5, (n_x, 1))
    X, X_dev = (shift + scale * rng.standard_normal((n_x, k)) for k in (m, m_dev))
    X[1], X_dev[1] = 0.1, 0.3   # constant on train, not on dev
    X, X_dev = X.astype(dtype), X_dev.astype(dtype)
    (Xn, Xn_dev), (mu, sigma2) = n_normalisation.normalize_sets(X, X_dev, eps=eps)
    Xt, Xt_dev = (bridge.data_to_torch(x, device=device) for x in (X, X_dev))
    (Xtn, Xtn_dev), (mu_t, sigma2_t) = t_normalisation.normalize_sets(Xt, Xt_dev, eps=eps)
    return compare({"mu": mu, "sigma2": sigma2, "X_train normalised": Xn, "X_dev normalised": Xn_dev},
                   {"mu": mu_t[:, None], "sigma2": sigma2_t[:, None], "X_train normalised": Xtn.T,
                    "X_dev normalised": Xtn_dev.T},
                   label=f"input normalisation, eps={eps:g}")


CASES = [
    ("input normalisation: mu, sigma^2 from train, on dev", case(normalisation)),
    ("input normalisation with eps = 1e-8", case(normalisation, eps=1e-8)),
]


def _unbiased(examples_axis):
    """A ``fit`` whose variance divides by m - 1 (the examples along ``examples_axis``)."""
    def factory(original):
        def fit(X_train):
            mu, sigma2 = original(X_train)
            m = X_train.shape[examples_axis]
            return mu, sigma2 * m / (m - 1)
        return fit
    return factory


MUTANTS = {
    "input normalisation*": [
        Mutant("numpy", "scratch_numpy.normalisation.apply", "divided by sigma^2, not sigma",
               lambda original: lambda X, mu, sigma2, eps=0.0: original(X, mu, sigma2 * sigma2, eps)),
        Mutant("numpy", "scratch_numpy.normalisation.fit", "unbiased variance (m - 1)", _unbiased(1)),
        Mutant("torch", "reference_torch.normalisation.fit", "torch's default unbiased var (m - 1)", _unbiased(0))],
    "input normalisation with eps = 1e-8": [
        Mutant("torch", "reference_torch.normalisation.apply", "eps dropped from sqrt(sigma^2 + eps)",
               lambda original: lambda X, mu, sigma2, eps=0.0: original(X, mu, sigma2))],
}
