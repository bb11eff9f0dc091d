"""The bad-input contract of ewa: exponentially weighted averages (``EWA``, ``ewa``,
``direct_weights``, ``effective_window``).

For both ``scratch_numpy/ewa.py`` and ``reference_torch/ewa.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    DTYPES, close, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, same_dtype, th,
)
from parity_tests.contract.strategies import (
    np_floats, size, spoil_array, spoil_count, spoil_flag, spoil_tensor, spoil_unit,
)
from reference_torch import ewa as th_ewa
from scratch_numpy import ewa as np_ewa


@fuzz("np.ewa.EWA.update", 50)
def _np_ewa_update(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), tuple(size(draw) for _ in range(draw(st.integers(0, 3))))
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())
    average = np_ewa.EWA(beta, bias_correction=corrected)
    thetas = [np_floats(draw, shape, dtype, layouts=("C",)) for _ in range(size(draw, 1, 3))]
    for theta in thetas[:-1]:
        average.update(theta)
    first = len(thetas) == 1

    def check(out, kw):
        expected = th_ewa.ewa(th(np.stack(thetas)), beta, bias_correction=corrected)[-1]
        close(out, expected, "average", dtype=dtype)
        same_dtype(out, dtype)
    if first:   # any shape goes; the dtype and the values are checked
        def spoil(d):
            return spoil_array(d, "theta", thetas[-1], pinned=False, ndim=len(shape),
                               exclude=("rank-down", "rank-up", "empty", "scalar"))
    else:       # the shape and dtype of the first theta are pinned
        def spoil(d):
            return spoil_array(d, "theta", thetas[-1], fixed=tuple(range(len(shape))), ndim=len(shape),
                               exclude=("scalar",) if not shape else ())
    return make_case(draw, average.update, {"theta": thetas[-1]}, {"theta": spoil}, check)


@fuzz("np.ewa.EWA", 25)
def _np_ewa_ctor(draw):
    return make_case(draw, np_ewa.EWA, {"beta": draw(st.sampled_from([0.0, 0.9, np.float64(0.5)])),
                                        "bias_correction": draw(st.booleans())}, {
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False),
        "bias_correction": lambda d: spoil_flag(d, "bias_correction")},
        lambda out, kw: None)


@fuzz("np.ewa.ewa", 40)
def _np_ewa(draw):
    dtype = draw(st.sampled_from(DTYPES))
    thetas = np_floats(draw, (size(draw, 1, 6), *[size(draw) for _ in range(draw(st.integers(0, 2)))]), dtype)
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())

    def check(out, kw):
        close(out, th_ewa.ewa(th(thetas), beta, bias_correction=corrected), "averages", dtype=dtype)
        same_dtype(out, dtype)
    return make_case(draw, np_ewa.ewa, {"thetas": thetas, "beta": beta, "bias_correction": corrected}, {
        "thetas": lambda d: spoil_array(d, "thetas", thetas, pinned=False, ndim=thetas.ndim,
                                        exclude=("rank-down", "rank-up")),
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False),
        "bias_correction": lambda d: spoil_flag(d, "bias_correction")}, check)


@fuzz("np.ewa.direct_weights", 30)
def _np_direct_weights(draw):
    t, beta, corrected = size(draw, 1, 30), draw(st.sampled_from([0.0, 0.5, 0.9, 0.999])), draw(st.booleans())

    def check(w, kw):
        assert w.shape == (t,) and w.dtype == np.float64 and np.isfinite(w).all()
        if corrected:
            assert abs(w.sum() - 1) < 1e-9
    return make_case(draw, np_ewa.direct_weights, {"t": t, "beta": beta, "bias_correction": corrected}, {
        "t": lambda d: spoil_count(d, "t"),
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False)}, check)


@fuzz("np.ewa.effective_window", 20)
def _np_effective_window(draw):
    beta = draw(st.sampled_from([0.0, 0.5, 0.9, 0.98]))
    return make_case(draw, np_ewa.effective_window, {"beta": beta},
                     {"beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False)},
                     lambda out, kw: abs(out - 1 / (1 - beta)) < 1e-12 or pytest.fail(str(out)))


@fuzz("th.ewa.EWA.update", 40)
def _th_ewa_update(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), tuple(size(draw) for _ in range(draw(st.integers(0, 3))))
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())
    average = th_ewa.EWA(beta, bias_correction=corrected)
    thetas = [np_floats(draw, shape, dtype, layouts=("C",)) for _ in range(size(draw, 1, 3))]
    for theta in thetas[:-1]:
        average.update(th(theta))
    last = th(thetas[-1])

    def check(out, kw):
        close(out, np_ewa.ewa(np.stack(thetas), beta, bias_correction=corrected)[-1], "average", dtype=dtype)
    first = len(thetas) == 1
    return make_case(draw, average.update, {"theta": last}, {
        "theta": lambda d: spoil_tensor(d, "theta", last, pinned=not first, fixed=() if first else tuple(range(len(shape))),
                                        exclude=("rank-down", "rank-up", "empty", "scalar") if first or not shape else ())},
        check)


@fuzz("th.ewa.ewa", 30)
def _th_ewa(draw):
    dtype = draw(st.sampled_from(DTYPES))
    thetas = np_floats(draw, (size(draw, 1, 6), *[size(draw) for _ in range(draw(st.integers(0, 2)))]), dtype,
                       layouts=("C",))
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())

    def check(out, kw):
        close(out, np_ewa.ewa(thetas, beta, bias_correction=corrected), "averages", dtype=dtype)
    return make_case(draw, th_ewa.ewa, {"thetas": th(thetas), "beta": beta, "bias_correction": corrected}, {
        "thetas": lambda d: spoil_tensor(d, "thetas", th(thetas), pinned=False, exclude=("rank-down", "rank-up")),
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False),
        "bias_correction": lambda d: spoil_flag(d, "bias_correction")}, check)


FIXED_GAPS = [
    fixed("ewa-bias_correction", lambda: np_ewa.EWA(0.9, bias_correction="no"), "bias_correction"),
    fixed("th-ewa-bias_correction", lambda: th_ewa.EWA(0.9, bias_correction="no"), "bias_correction"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
