"""The bad-input contract of logistic: logistic regression (``initialize_with_zeros``,
``propagate``, ``optimize``, ``predict``; torch's ``LogisticRegression``).

For both ``scratch_numpy/logistic.py`` and ``reference_torch/logistic.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed;
* the bad-input tables: each row's call must raise a ValueError naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from parity_tests.contract.bad_input import (
    LABELS2, NP_BAD_X, N_X, TH_BAD_X, bad_x_cases, bad_y_cases, case, expect_value_error, hyper_cases, np_bad_y,
    poke, th_bad_y, th_logreg, w0, xn, xt, yn, yt,
)
from parity_tests.contract.fuzzing import (
    DTYPES, NOT_A_MODEL, TH_DTYPES, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, same_dtype, spoil_device,
    spoil_np_dtype, spoil_th_dtype, th_floats, tiny_xn, tiny_xt, tiny_yt,
)
from parity_tests.contract.strategies import INF, NAN, arg, size, spoil_count, spoil_tensor
from reference_torch import logistic as th_log
from reference_torch import logistic as th_logistic
from scratch_numpy import logistic as np_log
from scratch_numpy import logistic as np_logistic


@fuzz("np.logistic.initialize_with_zeros", 25)
def _np_log_init(draw):
    valid = {"n_x": draw(st.sampled_from([1, 3, np.int64(4)])), "dtype": draw(st.sampled_from(DTYPES))}

    def check(out, kw):
        w, b = out
        assert w.shape == (int(kw["n_x"]), 1) and not w.any() and b == 0.0
        same_dtype(w, kw["dtype"])
    return make_case(draw, np_log.initialize_with_zeros, valid,
                     {"n_x": lambda d: spoil_count(d, "n_x"), "dtype": spoil_np_dtype}, check)


@fuzz("th.logistic.LogisticRegression", 25)
def _th_logreg(draw):
    return make_case(draw, th_log.LogisticRegression, {"n_x": size(draw), "dtype": torch.float64, "device": "cpu"}, {
        "n_x": lambda d: spoil_count(d, "n_x"), "dtype": spoil_th_dtype, "device": spoil_device},
        lambda model, kw: model.linear.weight.abs().sum() == 0 or pytest.fail("not zero"))


@fuzz("th.logistic.LogisticRegression.forward", 30)
def _th_logreg_forward(draw):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw)
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    X, Xt = th_floats(draw, (m, n_x), dtype)
    return make_case(draw, model, {"X": Xt}, {"X": lambda d: spoil_tensor(d, "X", Xt, fixed=(1,))},
                     lambda out, kw: bool((out == 0.5).all()) or pytest.fail(str(out)))


FIXED_GAPS = [
    fixed("logistic-b-huge", lambda: np_log.predict(np.zeros((2, 1)), 10 ** 400, tiny_xn()), "b"),
    fixed("th-logistic-propagate-model", lambda: th_log.propagate(NOT_A_MODEL, tiny_xt(), tiny_yt()), "model"),
    fixed("th-logistic-optimize-model", lambda: th_log.optimize(NOT_A_MODEL, tiny_xt(), tiny_yt(), 1, 0.1), "model"),
    fixed("th-logistic-predict-model", lambda: th_log.predict(NOT_A_MODEL, tiny_xt()), "model"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)


NP_LOGISTIC_X_ENTRIES = {
    "logistic.propagate": lambda X, Y: np_logistic.propagate(w0(), 0.0, X, Y),
    "logistic.optimize": lambda X, Y: np_logistic.optimize(w0(), 0.0, X, Y, 2, 0.1),
    "logistic.predict": lambda X, Y: np_logistic.predict(w0(), 0.0, X),
}


NP_LOGISTIC_Y_ENTRIES = {
    "logistic.propagate": (lambda Y: np_logistic.propagate(w0(), 0.0, xn(), Y), 2, LABELS2),
    "logistic.optimize": (lambda Y: np_logistic.optimize(w0(), 0.0, xn(), Y, 2, 0.1), 2, LABELS2),
}


@pytest.mark.parametrize("build, match", bad_x_cases(NP_LOGISTIC_X_ENTRIES, NP_BAD_X, arg("X")))
def test_numpy_bad_X(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", bad_y_cases(NP_LOGISTIC_Y_ENTRIES, np_bad_y, arg("Y")))
def test_numpy_bad_Y(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", hyper_cases({
    "logistic.optimize": lambda lr, it: np_logistic.optimize(w0(), 0.0, xn(), yn(), it, lr)}))
def test_numpy_bad_hyperparameters(build, match):
    expect_value_error(build, match)


def _np_logistic_wb_cases():
    W_BAD = [("rank-1 (n_x,)", lambda: np.zeros(N_X)), ("row (1, n_x)", lambda: np.zeros((1, N_X))),
             ("(n_x, 2)", lambda: np.zeros((N_X, 2))), ("int", lambda: np.zeros((N_X, 1), int)),
             ("NaN", lambda: poke(w0(), NAN)), ("list", lambda: w0().tolist()),
             ("float16", lambda: w0(dtype=np.float16)), ("empty (0, 1)", lambda: np.zeros((0, 1))),
             ("None", lambda: None)]
    B_BAD = [("str", "0"), ("None", None), ("NaN", NAN), ("inf", INF), ("-inf", -INF),
             ("0-d array", np.array(0.0)), ("(1, 1) array", np.zeros((1, 1))), ("list", [0.0]),
             ("bool", True), ("complex", 1 + 0j)]
    calls = {
        "propagate": lambda w, b: np_logistic.propagate(w, b, xn(), yn()),
        "optimize": lambda w, b: np_logistic.optimize(w, b, xn(), yn(), 2, 0.1),
        "predict": lambda w, b: np_logistic.predict(w, b, xn()),
    }
    rows = []
    for name, call in calls.items():
        for desc, make in W_BAD:
            rows.append(case(f"logistic.{name} | w {desc}", arg("w"), lambda call=call, make=make: call(make(), 0.0)))
        for desc, b in B_BAD:
            rows.append(case(f"logistic.{name} | b {desc}", arg("b"), lambda call=call, b=b: call(w0(), b)))
        rows.append(case(f"logistic.{name} | w (n_x + 1, 1) vs X (n_x, m)", arg("X"),
                         lambda call=call: call(w0(N_X + 1), 0.0)))
    return rows


@pytest.mark.parametrize("build, match", [
    *_np_logistic_wb_cases(),
    *[case(f"initialize_with_zeros | n_x {desc}", arg("n_x"), lambda n=n: np_logistic.initialize_with_zeros(n))
      for n, desc in ((0, "0"), (-1, "negative"), (2.0, "float"), (True, "bool"), ("3", "str"), (None, "None"))],
    case("initialize_with_zeros | dtype int64", arg("dtype"),
         lambda: np_logistic.initialize_with_zeros(3, dtype="int64"), None),
    case("initialize_with_zeros | dtype unknown", arg("dtype"),
         lambda: np_logistic.initialize_with_zeros(3, dtype="foo"), None),
])
def test_numpy_logistic(build, match):
    expect_value_error(build, match)


TH_LOGISTIC_X_ENTRIES = {
    "LogisticRegression.forward": lambda X, y: th_logreg()(X),
    "logistic.propagate": lambda X, y: th_logistic.propagate(th_logreg(), X, y),
    "logistic.optimize": lambda X, y: th_logistic.optimize(th_logreg(), X, y, 2, 0.1),
    "logistic.predict": lambda X, y: th_logistic.predict(th_logreg(), X),
}


TH_LOGISTIC_Y_ENTRIES = {
    "logistic.propagate": (lambda y: th_logistic.propagate(th_logreg(), xt(), y), 2, LABELS2),
    "logistic.optimize": (lambda y: th_logistic.optimize(th_logreg(), xt(), y, 2, 0.1), 2, LABELS2),
}


@pytest.mark.parametrize("build, match", bad_x_cases(TH_LOGISTIC_X_ENTRIES, TH_BAD_X, arg("X")))
def test_torch_bad_X(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", bad_y_cases(TH_LOGISTIC_Y_ENTRIES, th_bad_y, arg("y")))
def test_torch_bad_y(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", hyper_cases({
    "logistic.optimize": lambda lr, it: th_logistic.optimize(th_logreg(), xt(), yt(), it, lr)}))
def test_torch_bad_hyperparameters(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    *[case(f"LogisticRegression | n_x {desc}", arg("n_x"), lambda n=n: th_logistic.LogisticRegression(n))
      for n, desc in ((0, "0"), (-1, "negative"), (2.5, "float"), (True, "bool"), ("2", "str"), (None, "None"))],
    case("LogisticRegression | dtype a string", arg("dtype"),
         lambda: th_logistic.LogisticRegression(2, dtype="float64"), None),
    case("LogisticRegression | device 'gpu'", arg("device"),
         lambda: th_logistic.LogisticRegression(2, device="gpu"), None),
    case("logistic.predict | X float32 into float64 model", arg("X"),
         lambda: th_logistic.predict(th_logreg(), xt(dtype=torch.float32))),
])
def test_torch_logistic(build, match):
    expect_value_error(build, match)
