"""The bad-input contract of losses: the losses (binary and softmax cross-entropy, with logits, SVM
hinge) and the L2/L1 penalties.

For both ``scratch_numpy/losses.py`` and ``reference_torch/losses.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed;
* the bad-input tables: each row's call must raise a ValueError naming the argument.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from parity_tests.contract.bad_input import (
    C, HIDDEN, LABELS2, LABELS3, M, N_X, bad_y_cases, case, expect_value_error, np_bad_y, poke, th_bad_y, xn, xt,
    yn, yt,
)
from parity_tests.contract.fuzzing import (
    DTYPES, close, fixed, fixed_gaps_test, fuzz, fuzz_test, labels_row, make_case, matrix, same_dtype, th,
)
from parity_tests.contract.strategies import (
    Bad, INF, NAN, arg, np_floats, np_labels, positive, size, spoil_array, spoil_np_labels, spoil_positive,
)
from reference_torch import losses as th_losses
from scratch_numpy import losses as np_losses


def _probabilities(draw, m, dtype):
    """(1, m) probabilities, sometimes exactly 0 or 1."""
    AL = np_floats(draw, (1, m), dtype, low=0.0, high=1.0)
    if draw(st.booleans()):
        AL = np.array(AL, copy=True)
        AL[0, draw(st.integers(0, m - 1))] = draw(st.sampled_from([0.0, 1.0]))
    return AL


def _spoil_probabilities(draw, AL):
    if draw(st.booleans()):
        bad = np.array(AL, copy=True)
        bad[0, 0] = draw(st.sampled_from([1.5, -0.1, 1.001, -1e-30]))
        return Bad(bad, "probability outside [0, 1]", ("AL",))
    return spoil_array(draw, "AL", AL, fixed=(0,), pinned=False, also=("Y",))


@fuzz("np.losses.binary_cross_entropy", 80)
def _np_bce(draw):
    dtype, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 6)
    AL, Y = _probabilities(draw, m, dtype), np_labels(draw, m, 2)

    def check(out, kw):
        cost, dAL = out
        assert isinstance(cost, float) and not np.isnan(cost) and not np.isnan(dAL).any()
        same_dtype(dAL, dtype)
        y = labels_row(kw["Y"])
        wrong = (AL[0] == 0) & (y.numpy() == 1) | (AL[0] == 1) & (y.numpy() == 0)
        if wrong.any():   # the textbook's +inf; torch clamps (test_extremes.py)
            assert cost == np.inf
            return
        At = th(AL).T.requires_grad_()
        ct = th_losses.binary_cross_entropy(At, y)
        (g,) = torch.autograd.grad(ct, At)
        close(cost, ct, "cost", dtype=dtype)
        inside = ((AL > 1e-6) & (AL < 1 - 1e-6))[0]   # torch's gradient clamps x(1 - x) at 1e-12
        close(dAL[0, inside], m * g[inside, 0], "dAL", dtype=dtype)
    return make_case(draw, np_losses.binary_cross_entropy, {"AL": AL, "Y": Y}, {
        "AL": lambda d: _spoil_probabilities(d, AL),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 2, also=("AL",))}, check)


def _loss_parity(np_fn, th_fn, name, dtype, extra=()):
    """check(out, kw) comparing a NumPy loss (cost, m * dJ/dinput) with its torch twin by autograd."""
    def check(out, kw):
        cost, d = out
        assert isinstance(cost, float)
        same_dtype(d, dtype)
        x = kw[name]
        xt = th(x).T.requires_grad_()
        ct = th_fn(xt, labels_row(kw["Y"]), *[kw[k] for k in extra])
        (g,) = torch.autograd.grad(ct, xt)
        m = x.shape[1]
        scale = max(1.0, np.abs(x).max())
        close(cost, ct, "cost", dtype=dtype, scale=scale)
        close(d, m * g.T, "d" + name, dtype=dtype, scale=max(1.0, np.abs(d).max()))
    return check


@fuzz("np.losses.binary_cross_entropy_with_logits", 80)
def _np_bce_logits(draw):
    dtype, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 6)
    Z, Y = np_floats(draw, (1, m), dtype), np_labels(draw, m, 2)
    return make_case(draw, np_losses.binary_cross_entropy_with_logits, {"Z": Z, "Y": Y}, {
        "Z": lambda d: spoil_array(d, "Z", Z, fixed=(0,), pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 2, also=("Z",))},
        _loss_parity(np_losses.binary_cross_entropy_with_logits, th_losses.binary_cross_entropy_with_logits,
                     "Z", dtype))


@fuzz("np.losses.softmax_cross_entropy", 80)
def _np_softmax_ce(draw):
    dtype, C, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 5), size(draw, 1, 6)
    S, Y = np_floats(draw, (C, m), dtype), np_labels(draw, m, C)
    return make_case(draw, np_losses.softmax_cross_entropy, {"scores": S, "Y": Y}, {
        "scores": lambda d: spoil_array(d, "scores", S, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, C, also=("scores",))},
        _loss_parity(np_losses.softmax_cross_entropy, th_losses.softmax_cross_entropy, "scores", dtype))


@fuzz("np.losses.svm_hinge", 80)
def _np_svm(draw):
    dtype, C, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 5), size(draw, 1, 6)
    S, Y = np_floats(draw, (C, m), dtype, zeros=False), np_labels(draw, m, C)
    delta = positive(draw, 0.0, 2.0, zero=True)
    return make_case(draw, np_losses.svm_hinge, {"scores": S, "Y": Y, "delta": delta}, {
        "scores": lambda d: spoil_array(d, "scores", S, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, C, also=("scores",)),
        "delta": lambda d: spoil_positive(d, "delta", allow_zero=True)},
        _loss_parity(np_losses.svm_hinge, th_losses.svm_hinge, "scores", dtype, extra=("delta",)))


FIXED_GAPS = [
    fixed("th-penalty-weights0", lambda: th_losses.l2_penalty([[1.0]], 0.1, 4), "weights[0]"),
    fixed("np.matrix-l2_penalty", lambda: np_losses.l2_penalty({"W1": matrix(np.ones((2, 2)))}, 0.1, 4), "W1"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)


NP_LOSS_Y_ENTRIES = {
    "losses.binary_cross_entropy": (
        lambda Y: np_losses.binary_cross_entropy(np.full((1, M), 0.5), Y), 2, LABELS2),
    "losses.binary_cross_entropy_with_logits": (
        lambda Y: np_losses.binary_cross_entropy_with_logits(xn(1), Y), 2, LABELS2),
    "losses.softmax_cross_entropy": (lambda Y: np_losses.softmax_cross_entropy(xn(C), Y), C, LABELS3),
    "losses.svm_hinge": (lambda Y: np_losses.svm_hinge(xn(C), Y), C, LABELS3),
}


@pytest.mark.parametrize("build, match", bad_y_cases(NP_LOSS_Y_ENTRIES, np_bad_y, arg("Y")))
def test_numpy_bad_Y(build, match):
    expect_value_error(build, match)


def _np_first_arg_cases():
    P = lambda shape, v=0.5: np.full(shape, v)  # noqa: E731  (probabilities)
    tables = {  # name -> (call(first, Y), argument name, make valid Y for m=0, bad firsts)
        "binary_cross_entropy": (np_losses.binary_cross_entropy, "AL", [
            ("rank-1", lambda: P(M)), ("column (m, 1)", lambda: P((M, 1))), ("(2, m)", lambda: P((2, M))),
            ("int", lambda: np.ones((1, M), int)), ("NaN", lambda: poke(P((1, M)), NAN)),
            ("above 1", lambda: poke(P((1, M)), 1.5)), ("below 0", lambda: poke(P((1, M)), -0.1)),
            ("float16", lambda: P((1, M)).astype(np.float16)), ("list", lambda: P((1, M)).tolist())]),
        "binary_cross_entropy_with_logits": (np_losses.binary_cross_entropy_with_logits, "Z", [
            ("rank-1", lambda: xn(1)[0].copy()), ("column (m, 1)", lambda: xn(1).T.copy()),
            ("(2, m)", lambda: xn(2)), ("int", lambda: np.ones((1, M), int)),
            ("NaN", lambda: poke(xn(1), NAN)), ("inf", lambda: poke(xn(1), INF)),
            ("list", lambda: xn(1).tolist())]),
        "softmax_cross_entropy": (np_losses.softmax_cross_entropy, "scores", [
            ("rank-1", lambda: xn(C)[:, 0].copy()), ("rank-3", lambda: xn(C)[None]),
            ("int", lambda: np.ones((C, M), int)), ("NaN", lambda: poke(xn(C), NAN)),
            ("inf", lambda: poke(xn(C), INF)), ("list", lambda: xn(C).tolist())]),
        "svm_hinge": (np_losses.svm_hinge, "scores", [
            ("rank-1", lambda: xn(C)[:, 0].copy()), ("rank-3", lambda: xn(C)[None]),
            ("int", lambda: np.ones((C, M), int)), ("NaN", lambda: poke(xn(C), NAN)),
            ("-inf", lambda: poke(xn(C), -INF)), ("list", lambda: xn(C).tolist())]),
    }
    rows = []
    for name, (fn, argname, bads) in tables.items():
        labels = LABELS3 if argname == "scores" else LABELS2
        for desc, make in bads:
            rows.append(case(f"losses.{name} | {argname} {desc}", arg(argname),
                             lambda fn=fn, make=make, labels=labels: fn(make(), yn(labels))))
        rows.append(case(f"losses.{name} | empty batch m=0", arg(argname),
                         lambda fn=fn, argname=argname: fn(
                             np.full((C if argname == "scores" else 1, 0), 0.5), yn(()))))
    for delta, desc in ((-1.0, "negative"), (NAN, "NaN"), (INF, "inf"), ("1", "str"), (None, "None")):
        rows.append(case(f"losses.svm_hinge | delta {desc}", arg("delta"),
                         lambda delta=delta: np_losses.svm_hinge(xn(C), yn(LABELS3), delta)))
    return rows


@pytest.mark.parametrize("build, match", _np_first_arg_cases())
def test_numpy_losses_bad_inputs(build, match):
    expect_value_error(build, match)


def _np_penalty_cases():
    good = lambda: {"W1": xn(HIDDEN, N_X), "b1": np.zeros((HIDDEN, 1)), "W2": xn(1, HIDDEN)}  # noqa: E731
    rows = []
    for fn in (np_losses.l2_penalty, np_losses.l1_penalty):
        n = fn.__name__
        name = f"{n[:2]}_lambda"   # l2_lambda or l1_lambda
        for strength, desc in ((-0.1, "negative"), (NAN, "NaN"), (INF, "inf"), ("0.1", "str"),
                               (None, "None"), (True, "bool")):
            rows.append(case(f"{n} | {name} {desc}", arg(name),
                             lambda fn=fn, strength=strength: fn(good(), strength, M)))
        for m, desc in ((0, "0"), (-4, "negative"), (NAN, "NaN"), ("4", "str"), (None, "None")):
            rows.append(case(f"{n} | m {desc}", arg("m"), lambda fn=fn, m=m: fn(good(), 0.1, m)))
        rows.append(case(f"{n} | m fractional", arg("m"), lambda fn=fn: fn(good(), 0.1, 2.5), None))
        for params, desc in ((None, "None"), ([xn()], "list"), ({}, "empty dict"),
                             ({"b1": np.zeros((2, 1))}, "no weights")):
            rows.append(case(f"{n} | params {desc}", arg("params"), lambda fn=fn, params=params: fn(params, 0.1, M)))
        for desc, change in (
                ("int", lambda p: p.__setitem__("W1", np.ones((HIDDEN, N_X), int))),
                ("NaN", lambda p: p.__setitem__("W1", poke(p["W1"], NAN))),
                ("rank-1", lambda p: p.__setitem__("W1", p["W1"][0].copy())),
                ("list", lambda p: p.__setitem__("W1", p["W1"].tolist())),
                ("float32 beside float64", lambda p: p.__setitem__("W2", p["W2"].astype(np.float32))),
                ("key 'Wx'", lambda p: p.__setitem__("Wx", p.pop("W2")))):
            def build(fn=fn, change=change):
                params = good()
                change(params)
                return fn(params, 0.1, M)
            rows.append(case(f"{n} | weight {desc}", r"(?<!\w)(params|W\w*)", build, None))
    return rows


@pytest.mark.parametrize("build, match", _np_penalty_cases())
def test_numpy_penalties_bad_inputs(build, match):
    expect_value_error(build, match)


TH_LOSS_Y_ENTRIES = {
    "losses.binary_cross_entropy": (
        lambda y: th_losses.binary_cross_entropy(torch.full((M, 1), 0.5, dtype=torch.float64), y), 2, LABELS2),
    "losses.binary_cross_entropy_with_logits": (
        lambda y: th_losses.binary_cross_entropy_with_logits(xt(1), y), 2, LABELS2),
    "losses.softmax_cross_entropy": (lambda y: th_losses.softmax_cross_entropy(xt(C), y), C, LABELS3),
    "losses.svm_hinge": (lambda y: th_losses.svm_hinge(xt(C), y), C, LABELS3),
}


@pytest.mark.parametrize("build, match", bad_y_cases(TH_LOSS_Y_ENTRIES, th_bad_y, arg("y")))
def test_torch_bad_y(build, match):
    expect_value_error(build, match)


def _th_first_arg_cases():
    def P(*shape, v=0.5):
        return torch.full(shape, v, dtype=torch.float64)

    tables = {
        "binary_cross_entropy": (th_losses.binary_cross_entropy, "AL", [
            ("rank-1 (m,)", lambda: P(M)), ("row (1, m)", lambda: P(1, M)), ("(m, 2)", lambda: P(M, 2)),
            ("int", lambda: torch.ones(M, 1, dtype=torch.int64)), ("NaN", lambda: poke(P(M, 1), NAN)),
            ("above 1", lambda: poke(P(M, 1), 1.5)), ("below 0", lambda: poke(P(M, 1), -0.1)),
            ("float16", lambda: P(M, 1).half()), ("numpy", lambda: np.full((M, 1), 0.5))]),
        "binary_cross_entropy_with_logits": (th_losses.binary_cross_entropy_with_logits, "Z", [
            ("rank-1 (m,)", lambda: xt(1)[:, 0].clone()), ("row (1, m)", lambda: xt(1).T.contiguous()),
            ("(m, 2)", lambda: xt(2)), ("int", lambda: torch.ones(M, 1, dtype=torch.int64)),
            ("NaN", lambda: poke(xt(1), NAN)), ("inf", lambda: poke(xt(1), INF)),
            ("numpy", lambda: xn(1).T.copy())]),
        "softmax_cross_entropy": (th_losses.softmax_cross_entropy, "scores", [
            ("rank-1", lambda: xt(C)[0].clone()), ("rank-3", lambda: xt(C)[None]),
            ("int", lambda: torch.ones(M, C, dtype=torch.int64)), ("NaN", lambda: poke(xt(C), NAN)),
            ("inf", lambda: poke(xt(C), INF)), ("numpy", lambda: xn(C).T.copy())]),
        "svm_hinge": (th_losses.svm_hinge, "scores", [
            ("rank-1", lambda: xt(C)[0].clone()), ("rank-3", lambda: xt(C)[None]),
            ("int", lambda: torch.ones(M, C, dtype=torch.int64)), ("NaN", lambda: poke(xt(C), NAN)),
            ("-inf", lambda: poke(xt(C), -INF)), ("numpy", lambda: xn(C).T.copy())]),
    }
    rows = []
    for name, (fn, argname, bads) in tables.items():
        labels = LABELS3 if argname == "scores" else LABELS2
        for desc, make in bads:
            rows.append(case(f"losses.{name} | {argname} {desc}", arg(argname),
                             lambda fn=fn, make=make, labels=labels: fn(make(), yt(labels))))
        rows.append(case(f"losses.{name} | empty batch m=0", arg(argname),
                         lambda fn=fn, argname=argname: fn(P(0, C if argname == "scores" else 1), yt(()))))
    for delta, desc in ((-1.0, "negative"), (NAN, "NaN"), (INF, "inf"), ("1", "str"), (None, "None")):
        rows.append(case(f"losses.svm_hinge | delta {desc}", arg("delta"),
                         lambda delta=delta: th_losses.svm_hinge(xt(C), yt(LABELS3), delta)))
    return rows


@pytest.mark.parametrize("build, match", _th_first_arg_cases())
def test_torch_losses_bad_inputs(build, match):
    expect_value_error(build, match)


def _th_penalty_cases():
    def good():
        return [xt(N_X, HIDDEN), xt(HIDDEN, 1)]  # W1 (3, 2), W2 (1, 3)

    rows = []
    for fn in (th_losses.l2_penalty, th_losses.l1_penalty):
        n = fn.__name__
        name = f"{n[:2]}_lambda"   # l2_lambda or l1_lambda
        for strength, desc in ((-0.1, "negative"), (NAN, "NaN"), (INF, "inf"), ("0.1", "str"),
                               (None, "None"), (True, "bool")):
            rows.append(case(f"{n} | {name} {desc}", arg(name),
                             lambda fn=fn, strength=strength: fn(good(), strength, M)))
        for m, desc in ((0, "0"), (-4, "negative"), (NAN, "NaN"), ("4", "str"), (None, "None")):
            rows.append(case(f"{n} | m {desc}", arg("m"), lambda fn=fn, m=m: fn(good(), 0.1, m)))
        rows.append(case(f"{n} | m fractional", arg("m"), lambda fn=fn: fn(good(), 0.1, 2.5), None))
        for desc, make, match, gap in (
                ("empty list", lambda: [], arg("weights"), None),
                ("numpy arrays", lambda: [xn(HIDDEN, N_X)], re.escape("weights[0]"), None),
                ("int tensor", lambda: [torch.ones(3, 2, dtype=torch.int64)], re.escape("weights[0]"), None),
                ("NaN", lambda: [poke(xt(N_X, HIDDEN), NAN)], re.escape("weights[0]"), None),
                ("rank-1 tensor", lambda: [torch.ones(3, dtype=torch.float64)], re.escape("weights[0]"), None),
                ("float32 beside float64", lambda: [xt(N_X, HIDDEN), xt(HIDDEN, 1, dtype=torch.float32)],
                 re.escape("weights[1]"), None),
                ("None", lambda: None, arg("weights"), None),
                ("one 2-D tensor, not a list", lambda: xt(N_X, HIDDEN), r"weights must", None)):
            rows.append(case(f"{n} | weights {desc}", match, lambda fn=fn, make=make: fn(make(), 0.1, M), gap))
    return rows


@pytest.mark.parametrize("build, match", _th_penalty_cases())
def test_torch_penalties_bad_inputs(build, match):
    expect_value_error(build, match)
