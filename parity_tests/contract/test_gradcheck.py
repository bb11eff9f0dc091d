"""The bad-input contract of gradcheck: gradient checking (``gradient_check``,
``directional_check``, ``vector_to_dictionary``, ``random_direction``, ``relative_difference``;
torch's ``autograd_gradcheck``).

For both ``scratch_numpy/gradcheck.py`` and ``reference_torch/gradcheck.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    NOT_A_MODEL, close, draw_dims, fixed, fixed_gaps_test, fuzz, fuzz_test, labels_row, make_case, spoil_model,
    spoil_rng, th, tiny_np_net, tiny_th_net, tiny_xt, tiny_yt,
)
from parity_tests.contract.strategies import (
    Bad, np_floats, np_labels, positive, size, spoil_array, spoil_count, spoil_flag, spoil_np_labels,
    spoil_positive, spoil_tensor, spoil_th_labels,
)
from reference_torch import bridge
from reference_torch import gradcheck as th_gc
from reference_torch import models as th_models
from scratch_numpy import gradcheck as np_gc
from scratch_numpy import models as np_models


def _gradcheck_case(draw):
    dims, output = draw_dims(draw, hidden=(0, 1), width=3)
    kw = {"hidden_activation": draw(st.sampled_from(["tanh", "sigmoid", "linear"])), "output": output}
    if draw(st.booleans()):
        kw["l2_lambda"] = positive(draw, 0.0, 1.0, zero=True)
    if len(dims) > 2 and draw(st.booleans()):
        kw["batch_norm"] = True
    net = np_models.Network(dims, **kw)
    m = size(draw, 2, 4)
    params = net.init_params("xavier", rng=draw(st.integers(0, 99)))
    X = np_floats(draw, (dims[0], m), "float64", scale=1.0, zeros=False)
    Y = np_labels(draw, m, net.num_classes)
    model = th_models.Network(dims, **kw)
    bridge.params_to_module(params, model)
    return net, params, X, Y, model


def _spoil_gc_params(draw, params) -> Bad:
    kind = draw(st.sampled_from(["float32", "NaN", "not a dict", "empty", "int"]))
    key = next(iter(params))
    bad = {"float32": {**params, key: params[key].astype(np.float32)},
           "NaN": {**params, key: np.full_like(params[key], np.nan)}, "not a dict": list(params.values()),
           "empty": {}, "int": {**params, key: params[key].astype(int)}}[kind]
    return Bad(bad, f"params {kind}", (key, "params"))


@fuzz("np.gradcheck.gradient_check", 25)
def _np_gradient_check(draw):
    net, params, X, Y, model = _gradcheck_case(draw)

    def check(report, kw):
        assert report.difference < 1e-5, str(report)
        assert set(report.per_parameter) == {"d" + k for k in params}
    return make_case(draw, np_gc.gradient_check, {"network_or_loss_fn": net, "params": params, "X": X, "Y": Y}, {
        "params": lambda d: _spoil_gc_params(d, params),
        "X": lambda d: spoil_array(d, "X", X, fixed=(0,), also=("Y",), exclude=("other float",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, net.num_classes),
        "epsilon": lambda d: spoil_positive(d, "epsilon"), "worst": lambda d: spoil_count(d, "worst", minimum=0),
        "l2_lambda": lambda d: spoil_positive(d, "l2_lambda", allow_zero=True),
        "network_or_loss_fn": lambda d: Bad(d(st.sampled_from([3, None, np_models.Network([2, 3, 1],
                                            keep_probs=0.5)])), "not a loss", ("network_or_loss_fn", "keep_probs"))},
        check)


@fuzz("np.gradcheck.directional_check", 25)
def _np_directional_check(draw):
    net, params, X, Y, model = _gradcheck_case(draw)
    direction = np_gc.random_direction({k: v.shape for k, v in params.items()}, rng=draw(st.integers(0, 9)))

    def check(report, kw):
        assert report.overall.difference < 1e-5, str(report)
        treport = th_gc.directional_check(model, th(X).T, labels_row(Y), direction)
        close(report.overall.analytic, treport.overall.analytic, "slope", rtol=1e-9, scale=max(1, abs(report.overall.analytic)))
    return make_case(draw, np_gc.directional_check, {"network_or_loss_fn": net, "params": params, "X": X, "Y": Y,
                                                     "direction": direction}, {
        "params": lambda d: _spoil_gc_params(d, params),
        "direction": lambda d: Bad({k: v[:, :0] if v.shape[1] > 1 else v.T for k, v in direction.items()}
                                   if d(st.booleans()) else {}, "direction", ("direction",)),
        "epsilon": lambda d: spoil_positive(d, "epsilon")}, check)


@fuzz("np.gradcheck.vector_to_dictionary", 25)
def _np_vector_to_dictionary(draw):
    shapes = {f"W{i}": (size(draw), size(draw)) for i in range(1, size(draw, 1, 3) + 1)}
    n = sum(a * b for a, b in shapes.values())
    theta = np_floats(draw, (n, 1), "float64")

    def check(out, kw):
        assert {k: v.shape for k, v in out.items()} == shapes
        assert np.array_equal(np_gc.dictionary_to_vector(out)[0], theta)
    return make_case(draw, np_gc.vector_to_dictionary, {"theta": theta, "shapes": shapes}, {
        "theta": lambda d: Bad(theta[:-1], "theta too short", ("theta",))}, check)


def _th_gradcheck_case(draw):
    net, params, X, Y, model = _gradcheck_case(draw)
    return net, params, model, th(X).T, labels_row(Y)


@fuzz("th.gradcheck.gradient_check", 20)
def _th_gradient_check(draw):
    net, params, model, Xt, yt = _th_gradcheck_case(draw)
    return make_case(draw, th_gc.gradient_check, {"model": model, "X": Xt, "y": yt}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, fixed=(1,), also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", yt, net.num_classes, also=("X",)),
        "epsilon": lambda d: spoil_positive(d, "epsilon"), "worst": lambda d: spoil_count(d, "worst", minimum=0),
        "model": spoil_model},
        lambda report, kw: report.difference < 1e-5 or pytest.fail(str(report)))


@fuzz("th.gradcheck.directional_check", 20)
def _th_directional_check(draw):
    net, params, model, Xt, yt = _th_gradcheck_case(draw)
    direction = np_gc.random_direction({k: v.shape for k, v in params.items()}, rng=1)
    return make_case(draw, th_gc.directional_check, {"model": model, "X": Xt, "y": yt, "direction": direction}, {
        "direction": lambda d: _spoil_direction(d, direction),
        "epsilon": lambda d: spoil_positive(d, "epsilon"), "model": spoil_model},
        lambda report, kw: report.overall.difference < 1e-5 or pytest.fail(str(report)))


def _spoil_direction(draw, direction) -> Bad:
    """Not a direction dict, or one with a NaN or inf entry (its slopes would be NaN)."""
    if draw(st.booleans()):
        return Bad(draw(st.sampled_from([{}, None, {"W1": 1}])), "direction", ("direction",))
    key = draw(st.sampled_from(sorted(direction)))
    bad = spoil_array(draw, f"direction['{key}']", direction[key], kinds=["NaN", "inf", "-inf", "matrix", "masked"])
    return Bad({**direction, key: bad.value}, f"direction[{key}] {bad.kind}", (key,))


@fuzz("th.gradcheck.autograd_gradcheck", 20)
def _th_autograd_gradcheck(draw):
    net, params, model, Xt, yt = _th_gradcheck_case(draw)
    return make_case(draw, th_gc.autograd_gradcheck, {"model": model, "X": Xt, "y": yt,
                                                     "fast_mode": draw(st.booleans())}, {
        "fast_mode": lambda d: spoil_flag(d, "fast_mode"),
        "y": lambda d: spoil_th_labels(d, "y", yt, net.num_classes, also=("X",)), "model": spoil_model,
        "eps": lambda d: spoil_positive(d, "eps"), "atol": lambda d: spoil_positive(d, "atol", allow_zero=True),
        "rtol": lambda d: spoil_positive(d, "rtol", allow_zero=True)},
        lambda out, kw: out.passed or pytest.fail(out.message))


@fuzz("np.gradcheck.random_direction", 20)
def _np_random_direction(draw):
    shapes = {f"W{i}": (size(draw), size(draw)) for i in range(1, size(draw, 1, 3) + 1)}

    def check(d, kw):
        assert {k: v.shape for k, v in d.items()} == shapes
        assert abs(np.linalg.norm(np_gc.dictionary_to_vector(d)[0]) - 1) < 1e-12
    return make_case(draw, np_gc.random_direction, {"shapes": shapes, "rng": 0}, {"rng": spoil_rng}, check)


@fuzz("np.gradcheck.relative_difference", 30)
def _np_relative_difference(draw):
    shape = (size(draw, 2, 4), 1)
    a, b = np_floats(draw, shape, "float64"), np_floats(draw, shape, "float64")
    any_rank = ("rank-down", "rank-up", "NaN", "inf", "-inf", "other float")   # accepted: any rank, values
    return make_case(draw, np_gc.relative_difference, {"a": a, "b": b}, {
        "a": lambda d: spoil_array(d, "a", a, fixed=(0, 1), pinned=False, also=("b",), exclude=any_rank),
        "b": lambda d: Bad(a.T.copy(), "(1, n) for (n, 1): broadcastable, not the same shape", ("a", "b"))
        if d(st.booleans()) else spoil_array(d, "b", b, fixed=(0, 1), pinned=False, also=("a",), exclude=any_rank)},
        lambda out, kw: 0 <= out <= 1 or pytest.fail(str(out)))


FIXED_GAPS = [
    fixed("th-gradcheck-model", lambda: th_gc.gradient_check(NOT_A_MODEL, tiny_xt(), tiny_yt()), "model"),
    fixed("th-autograd_gradcheck-eps",
          lambda: th_gc.autograd_gradcheck(tiny_th_net(), tiny_xt(), tiny_yt(), eps=-1.0), "eps"),
    fixed("relative_difference-broadcast", lambda: np_gc.relative_difference(np.ones((3, 1)), np.ones((1, 3))), "b"),
    fixed("th-directional_check-NaN", lambda: th_gc.directional_check(
        tiny_th_net(), tiny_xt(), tiny_yt(),
        {k: np.full(v.shape, np.nan) for k, v in tiny_np_net().init_params().items()}),
        "direction['W1']"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
