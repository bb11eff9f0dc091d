"""Input normalisation: statistics from the training set only, reused on dev/test, no NaN for
constant features; NumPy and torch agree."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from parity_tests import twins
from reference_torch import bridge
from reference_torch import normalisation as t_normalisation
from scratch_numpy import normalisation as n_normalisation


def sets(seed=0, n_x=4, m=50, m_dev=20):
    rng = np.random.default_rng(seed)
    shift, scale = rng.uniform(-5, 5, (n_x, 1)), rng.uniform(0.1, 10, (n_x, 1))
    return shift + scale * rng.standard_normal((n_x, m)), shift + scale * rng.standard_normal((n_x, m_dev))


def test_fit_is_the_training_mean_and_biased_variance():
    X, _ = sets()
    mu, sigma2 = n_normalisation.fit(X)
    np.testing.assert_allclose(mu, X.mean(axis=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(sigma2, np.var(X, axis=1, keepdims=True, ddof=0), rtol=1e-14)
    Xn = n_normalisation.apply(X, mu, sigma2)
    np.testing.assert_allclose(Xn.mean(axis=1), 0, atol=1e-14)
    np.testing.assert_allclose(Xn.var(axis=1), 1, rtol=1e-13)


def test_dev_set_uses_the_training_statistics():
    X, X_dev = sets()
    (_, Xn_dev), (mu, sigma2) = n_normalisation.normalize_sets(X, X_dev)
    np.testing.assert_array_equal(Xn_dev, (X_dev - mu) / np.sqrt(sigma2))
    assert not np.allclose(Xn_dev.mean(axis=1), 0, atol=1e-3)   # dev's own mean was not subtracted


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("eps", [0.0, 1e-8])
def test_constant_feature_is_centred_not_scaled(dtype, eps):
    """0.1 is inexact in binary: (1/m) sum of m copies need not give 0.1 back, which would leave a
    variance of a few ulps^2 and scale the feature by ~1e16. The rule gives sigma2 = 0 exactly."""
    X, X_dev = (x.astype(dtype) for x in sets(m=3))
    X[2], X_dev[2] = 0.1, 0.35
    with np.errstate(all="raise"):
        (Xn, Xn_dev), (mu, sigma2) = n_normalisation.normalize_sets(X, X_dev, eps=eps)
    assert sigma2[2, 0] == 0 and mu[2, 0] == X[2, 0]
    assert np.isfinite(Xn).all() and np.isfinite(Xn_dev).all()
    assert (Xn[2] == 0).all()
    np.testing.assert_allclose(Xn_dev[2], (X_dev[2] - X[2, 0]) / (np.sqrt(eps) if eps else 1), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(n_x=st.integers(1, 5), m=st.integers(1, 12), seed=st.integers(0, 2**16), constant=st.booleans())
def test_normalised_training_set_has_mean_0_and_variance_1_or_0(n_x, m, seed, constant):
    X = np.random.default_rng(seed).standard_normal((n_x, m)) * 3 + 1
    if constant:
        X[0] = 7.3
    Xn = n_normalisation.apply(X, *n_normalisation.fit(X))
    assert np.isfinite(Xn).all()
    np.testing.assert_allclose(Xn.mean(axis=1), 0, atol=1e-12)
    variance = Xn.var(axis=1)
    assert np.all(np.isclose(variance, 1, rtol=1e-10) | (variance == 0))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("eps", [0.0, 1e-8])
def test_parity(dtype, eps, device):
    twins.normalisation.normalisation(dtype=dtype, eps=eps, device=device).assert_passed()


def test_bad_inputs_numpy():
    X, X_dev = sets()
    mu, sigma2 = n_normalisation.fit(X)
    for call, match in [
        (lambda: n_normalisation.fit(X[0]), "X_train must be 2-D"),
        (lambda: n_normalisation.apply(X, mu[:, 0], sigma2), "mu must be 2-D"),
        (lambda: n_normalisation.apply(X, mu, -sigma2 - 1), "sigma2 must be a variance"),
        (lambda: n_normalisation.apply(X, mu, sigma2, eps=-1.0), "eps must be"),
        (lambda: n_normalisation.apply(X.astype(np.float32), mu, sigma2), "mu must have dtype float32"),
        (lambda: n_normalisation.normalize_sets(X, X_dev[:2]), r"others\[0\] must have shape \(4, \*\)"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()


def test_bad_inputs_torch():
    X, _ = sets()
    Xt = bridge.data_to_torch(X)
    mu, sigma2 = t_normalisation.fit(Xt)
    for call, match in [
        (lambda: t_normalisation.fit(Xt[0]), "X_train must be 2-D"),
        (lambda: t_normalisation.apply(Xt, mu[None], sigma2), "mu must be 1-D"),
        (lambda: t_normalisation.apply(Xt, mu, -sigma2 - 1), "sigma2 must be a variance"),
        (lambda: t_normalisation.apply(Xt.float(), mu, sigma2), "mu must have dtype torch.float32"),
        (lambda: t_normalisation.normalize_sets(Xt, torch.ones(3, 2, dtype=torch.float64)), "others"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
