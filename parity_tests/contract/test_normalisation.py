"""The bad-input contract of normalisation: input normalisation (``fit``, ``apply``,
``normalize_sets``).

For both ``scratch_numpy/normalisation.py`` and ``reference_torch/normalisation.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    DTYPES, close, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, same_dtype, th, to_np,
)
from parity_tests.contract.strategies import (
    Bad, as_tensor, np_floats, positive, size, spoil_array, spoil_extreme, spoil_positive, spoil_tensor,
)
from reference_torch import normalisation as th_norm
from scratch_numpy import normalisation as np_norm


def _norm_data(draw):
    dtype, n_x = draw(st.sampled_from(DTYPES)), size(draw)
    X = np_floats(draw, (n_x, size(draw, 1, 6)), dtype)
    if draw(st.booleans()):   # a constant feature
        X = np.array(X, copy=True)
        X[0] = draw(st.sampled_from([0.0, 3.5]))
    return dtype, n_x, X


@fuzz("np.normalisation.fit", 40)
def _np_norm_fit(draw):
    dtype, n_x, X = _norm_data(draw)

    def check(out, kw):
        mu, sigma2 = out
        X = kw["X_train"]   # the valid one, or extreme values of a single example
        tmu, tsigma2 = th_norm.fit(th(X).T)
        close(mu[:, 0], tmu, "mu", dtype=dtype, scale=max(1e-300, np.abs(X).max()))
        close(sigma2[:, 0], tsigma2, "sigma2", dtype=dtype, scale=max(1e-300, min(float(np.abs(X).max()), 1e150) ** 2))
        assert (sigma2 >= 0).all()
    return make_case(draw, np_norm.fit, {"X_train": X}, {
        "X_train": lambda d: spoil_extreme("X_train", X, must_fail=X.shape[1] > 1) if d(st.integers(0, 4)) == 0
        else spoil_array(d, "X_train", X, pinned=False)}, check)


@fuzz("np.normalisation.apply", 40)
def _np_norm_apply(draw):
    dtype, n_x, X = _norm_data(draw)
    mu, sigma2 = np_norm.fit(X)
    eps = positive(draw, 0.0, 1e-3, zero=True)

    def check(out, kw):
        same_dtype(out, dtype)
        expected = th_norm.apply(th(X).T, th(mu[:, 0]), th(sigma2[:, 0]), eps).T
        close(out, expected, "X_norm", dtype=dtype, scale=max(1.0, np.abs(expected.numpy()).max()))
    bad_sigma2 = np.array(sigma2, copy=True)
    bad_sigma2[0, 0] = -1
    return make_case(draw, np_norm.apply, {"X": X, "mu": mu, "sigma2": sigma2, "eps": eps}, {
        "X": lambda d: spoil_array(d, "X", X, pinned=False, also=("mu", "sigma2")),
        "mu": lambda d: spoil_array(d, "mu", mu, fixed=(0, 1)),
        "sigma2": lambda d: Bad(bad_sigma2, "negative variance", ("sigma2",)) if d(st.booleans())
        else spoil_array(d, "sigma2", sigma2, fixed=(0, 1)),
        "eps": lambda d: spoil_positive(d, "eps", allow_zero=True)}, check)


@fuzz("np.normalisation.normalize_sets", 30)
def _np_normalize_sets(draw):
    dtype, n_x, X = _norm_data(draw)
    other = np_floats(draw, (n_x, size(draw)), dtype)

    def check(out, kw):
        (Xn, On), (mu, sigma2) = out
        tout, _ = th_norm.normalize_sets(th(X).T, th(other).T)
        close(On, tout[1].T, "dev", dtype=dtype, scale=max(1.0, np.abs(tout[1].numpy()).max()))
    return make_case(draw, lambda X_train, others: np_norm.normalize_sets(X_train, *others), {
        "X_train": X, "others": [other]}, {
        "X_train": lambda d: spoil_array(d, "X_train", X, pinned=False, also=("others[0]",)),
        "others": lambda d: Bad([spoil_array(d, "others[0]", other, fixed=(0,)).value], "others[0] bad",
                                ("others[0]",))}, check)


@fuzz("th.normalisation.fit", 30)
def _th_norm_fit(draw):
    dtype, n_x, X = _norm_data(draw)
    Xt = as_tensor(draw, X.T.copy())

    def check(out, kw):
        X = to_np(kw["X_train"]).T   # the valid one, or extreme values of a single example
        mu, sigma2 = np_norm.fit(X)
        close(out[0], mu[:, 0], "mu", dtype=dtype, scale=max(1e-300, np.abs(X).max()))
        close(out[1], sigma2[:, 0], "sigma2", dtype=dtype, scale=max(1e-300, min(float(np.abs(X).max()), 1e150) ** 2))
    return make_case(draw, th_norm.fit, {"X_train": Xt}, {
        "X_train": lambda d: spoil_extreme("X_train", Xt, must_fail=Xt.shape[0] > 1) if d(st.integers(0, 4)) == 0
        else spoil_tensor(d, "X_train", Xt, pinned=False)}, check)


@fuzz("th.normalisation.apply", 30)
def _th_norm_apply(draw):
    dtype, n_x, X = _norm_data(draw)
    mu, sigma2 = np_norm.fit(X)
    Xt, mut, s2t = th(X).T, th(mu[:, 0]), th(sigma2[:, 0])

    def check(out, kw):
        expected = np_norm.apply(X, mu, sigma2)
        close(out.T, expected, "X_norm", dtype=dtype, scale=max(1.0, np.abs(expected).max()))
    return make_case(draw, th_norm.apply, {"X": Xt, "mu": mut, "sigma2": s2t}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, pinned=False, also=("mu", "sigma2")),
        "mu": lambda d: spoil_tensor(d, "mu", mut, fixed=(0,), exclude=("rank-down",) if n_x == 1 else ()),
        "sigma2": lambda d: Bad(-s2t - 1, "negative variance", ("sigma2",)),
        "eps": lambda d: spoil_positive(d, "eps", allow_zero=True)}, check)


@fuzz("th.normalisation.normalize_sets", 25)
def _th_normalize_sets(draw):
    dtype, n_x, X = _norm_data(draw)
    other = np_floats(draw, (n_x, size(draw)), dtype)

    def check(out, kw):
        expected, _ = np_norm.normalize_sets(X, other)
        close(out[0][1].T, expected[1], "dev", dtype=dtype, scale=max(1.0, np.abs(expected[1]).max()))
    return make_case(draw, lambda X_train, others: th_norm.normalize_sets(X_train, *others), {
        "X_train": th(X).T, "others": [th(other).T]}, {
        "others": lambda d: Bad([spoil_tensor(d, "others[0]", th(other).T, fixed=(1,)).value], "others[0] bad",
                                ("others[0]",))}, check)


FIXED_GAPS = [
    fixed("normalisation-fit-1e200", lambda: np_norm.fit(np.array([[1e200, -1e200]])), "X_train"),
    fixed("th-normalisation-fit-1e200", lambda: th_norm.fit(torch.tensor([[1e200], [-1e200]])), "X_train"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
