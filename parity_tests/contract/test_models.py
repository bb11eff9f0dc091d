"""The bad-input contract of models: the network (``models.Network``: constructor, ``init_params``,
forward, loss/cost, predict, accuracy, masks, penalty) and ``train_gd``.

For both ``scratch_numpy/models.py`` and ``reference_torch/models.py``:

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
    C, HIDDEN, LABELS2, LABELS3, NP_BAD_X, N_X, TH_BAD_X, bad_x_cases, bad_y_cases, case, expect_value_error,
    hyper_cases, np_bad_y, np_net, np_net_method, np_params, poke, set_key, th_bad_y, th_net, th_net_method, xn, xt,
    yn, yt,
)
from parity_tests.contract.fuzzing import (
    HIDDEN_ACTIVATIONS, NOT_A_MODEL, TH_DTYPES, close, decided, draw_dims, fixed, fixed_gaps_test, fuzz, fuzz_test,
    make_case, net_options, NetCase, same_dtype, spoil_device, spoil_generator, spoil_layer_dims, spoil_model,
    spoil_network, spoil_np_dtype, spoil_rng, spoil_th_dtype, th_bn_net_with_var, th_net_spoilers, tiny_np_net,
    tiny_th_net, tiny_xn, tiny_xt, tiny_yn, tiny_yt, tol,
)
from parity_tests.contract.strategies import (
    Bad, INF, NAN, arg, positive, size, spoil_choice, spoil_count, spoil_flag, spoil_positive, spoil_unit,
)
from reference_torch import bridge
from reference_torch import init as th_init
from reference_torch import models as th_models
from scratch_numpy import init as np_init
from scratch_numpy import models as np_models


def _np_network_loss(draw, method):
    c = NetCase(draw, train=None if method == "loss" else True)
    valid = {"params": c.params, "X": c.X, "Y": c.Y, "train": c.train}
    if c.masks is not None:
        valid["masks"] = c.masks

    def check(out, kw):
        cost, grads = out if method == "loss" else (out, None)
        assert isinstance(cost, float) and np.isfinite(cost)
        tcost, tgrads = c.torch_cost_and_grads()
        close(cost, tcost, "cost", dtype=c.dtype, scale=max(1.0, abs(cost)))
        if grads is not None:
            assert sorted(grads) == sorted("d" + k for k in c.params), sorted(grads)
            s = c.scale(tgrads)
            for k, g in grads.items():
                same_dtype(g, c.dtype)
                close(g, tgrads[k], k, dtype=c.dtype, scale=s, rtol=3 * tol(c.dtype))
        if c.net.batch_norm and c.train:
            for k, v in bridge.state_from_module(c.model).items():
                close(c.net.state[k], v, k, dtype=c.dtype, scale=max(1.0, np.abs(v).max()))
    return make_case(draw, getattr(c.net, method), valid, c.spoilers(masks=True, flag="train"), check)


fuzz("np.models.Network.loss", 70)(lambda draw: _np_network_loss(draw, "loss"))
fuzz("np.models.Network.cost", 40)(lambda draw: _np_network_loss(draw, "cost"))


@fuzz("np.models.Network.forward", 60)
def _np_network_forward(draw):
    c = NetCase(draw)
    valid = {"params": c.params, "X": c.X, "train": c.train}
    if c.masks is not None:
        valid["masks"] = c.masks

    def check(out, kw):
        AL, caches = out
        assert AL.shape == (c.dims[-1], c.m) and len(caches) == c.net.L
        same_dtype(AL, c.dtype)
        with torch.no_grad():
            expected = c.model(c.Xt, c.th_masks(c.masks)).T
        close(AL, expected, "A_L", dtype=c.dtype, scale=max(1.0, np.abs(AL).max()))
    return make_case(draw, c.net.forward, valid, c.spoilers(Y=False, masks=True, flag="train"), check)


@fuzz("np.models.Network.predict", 50)
def _np_network_predict(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        assert out.shape == (1, c.m) and out.dtype == np.int64
        sure = decided(c.model.scores(c.Xt).T, c.net.output)
        np.testing.assert_array_equal(out[0][sure], c.model.predict(c.Xt).numpy()[sure])
    return make_case(draw, c.net.predict, {"params": c.params, "X": c.X}, c.spoilers(Y=False), check)


@fuzz("np.models.Network.accuracy", 40)
def _np_network_accuracy(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        assert isinstance(out, float) and 0 <= out <= 1
        assert out == float((c.net.predict(c.params, c.X) == c.Y.astype(np.int64)).mean())
    return make_case(draw, c.net.accuracy, {"params": c.params, "X": c.X, "Y": c.Y}, c.spoilers(), check)


@fuzz("np.models.Network.init_params", 30)
def _np_network_init_params(draw):
    c = NetCase(draw, train=False)

    def check(params, kw):
        assert {k: v.shape for k, v in params.items()} == c.net.param_shapes()
        for v in params.values():
            same_dtype(v, kw["dtype"])
    return make_case(draw, c.net.init_params, {"method": "he", "rng": 3, "dtype": c.dtype}, {
        "method": lambda d: spoil_choice(d, "method", np_init.METHODS), "rng": spoil_rng, "dtype": spoil_np_dtype},
        check)


@fuzz("np.models.Network.draw_masks", 30)
def _np_network_draw_masks(draw):
    c = NetCase(draw, train=True)

    def check(masks, kw):
        assert sorted(masks) == sorted(f"D{l}" for l in c.net.dropout_layers)
        for key, D in masks.items():
            assert D.shape == (c.dims[int(key[1:])], kw["m"]) and np.isin(D, (0, 1)).all()
            same_dtype(D, kw["dtype"])
    return make_case(draw, c.net.draw_masks, {"m": c.m, "rng": 5, "dtype": c.dtype}, {
        "m": lambda d: spoil_count(d, "m"), "rng": lambda d: spoil_rng(d, none_ok=True), "dtype": spoil_np_dtype},
        check)


def _spoil_net_kwarg(draw, name):
    if name == "layer_dims":
        return spoil_layer_dims(draw)
    if name in ("hidden_activation", "output"):
        return spoil_choice(draw, name, HIDDEN_ACTIVATIONS if name != "output" else np_models.OUTPUTS)
    if name in ("leaky_slope", "l2_lambda", "l1_lambda"):
        return spoil_positive(draw, name, allow_zero=True)
    if name == "bn_eps":
        return spoil_positive(draw, name)
    if name == "bn_beta_momentum":
        return spoil_unit(draw, name, closed_low=True, closed_high=False)
    if name == "keep_probs":
        value = draw(st.sampled_from([0, 1.5, -0.5, NAN, "0.5", True, [0.5, 0.5, 0.5, 0.5], [0.0]]))
        return Bad(value, f"keep_probs={value!r}", ("keep_probs", "keep_probs[0]"))
    if name in ("batch_norm", "bn_unbiased_running_var"):
        return spoil_flag(draw, name)
    if name == "dropout_rng":
        return spoil_rng(draw, "dropout_rng", none_ok=True)
    raise AssertionError(name)


@fuzz("np.models.Network", 60)
def _np_network(draw):
    dims, output = draw_dims(draw)
    kw, _ = net_options(draw, dims, output)
    valid = {"layer_dims": dims, **kw}
    names = ["layer_dims", "hidden_activation", "output", "leaky_slope", "l2_lambda", "l1_lambda", "bn_eps",
             "bn_beta_momentum", "batch_norm", "bn_unbiased_running_var", "dropout_rng"] + (["keep_probs"] if len(dims) > 2 else [])

    def check(net, kw):
        assert net.L == len(dims) - 1 and net.layer_dims == tuple(dims)
        assert set(net.param_shapes()) == set(net.init_params().keys())
    return make_case(draw, np_models.Network, valid, {n: (lambda d, n=n: _spoil_net_kwarg(d, n)) for n in names},
                     check)


@fuzz("np.models.train_gd", 30)
def _np_train_gd(draw):
    c = NetCase(draw, train=True)
    iterations = size(draw, 1, 3)
    masks = None if c.masks is None else [c.net.draw_masks(c.m, rng=i, dtype=c.dtype) for i in range(iterations)]
    valid = {"network": c.net, "params": c.params, "X": c.X, "Y": c.Y,
             "learning_rate": positive(draw, 1e-3, 0.5), "num_iterations": iterations, "masks": masks}

    def check(out, kw):
        params, costs = out
        assert len(costs) == iterations and all(np.isfinite(costs))
        tcosts = th_models.train_gd(c.model, c.Xt, c.yt, kw["learning_rate"], iterations,
                                    masks=None if masks is None else [bridge.masks_to_torch(mk) for mk in masks])
        close(costs, tcosts, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, costs))), rtol=10 * tol(c.dtype))
        for k, v in bridge.params_from_module(c.model).items():
            close(params[k], v, k, dtype=c.dtype, scale=max(1.0, np.abs(v).max()), rtol=10 * tol(c.dtype))
    spoilers = c.spoilers()
    spoilers.update(learning_rate=lambda d: spoil_positive(d, "learning_rate"),
                    num_iterations=lambda d: spoil_count(d, "num_iterations"), network=spoil_network,
                    masks=lambda d: Bad(d(st.sampled_from([{}, [], "masks", [None] * (iterations + 1)])),
                                        "masks not one per iteration", ("masks",)))
    return make_case(draw, np_models.train_gd, valid, spoilers, check)


@fuzz("th.models.Network.cost", 60)
def _th_network_cost(draw):
    c = NetCase(draw)
    valid = {"X": c.Xt, "y": c.yt, "masks": c.th_masks(c.masks)}

    def check(cost, kw):
        assert cost.dim() == 0 and torch.isfinite(cost)
        ncost, _ = c.net.loss(c.params, c.X, c.Y, masks=c.masks, train=c.train)
        close(cost, ncost, "cost", dtype=c.dtype, scale=max(1.0, abs(ncost)))
    return make_case(draw, c.model.cost, valid, th_net_spoilers(c, masks=True), check)


@fuzz("th.models.Network.accuracy", 30)
def _th_network_accuracy(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, c.model.accuracy, {"X": c.Xt, "y": c.yt}, th_net_spoilers(c),
                     lambda out, kw: out == c.net.accuracy(c.params, c.X, c.Y) or pytest.fail(str(out)))


@fuzz("th.models.Network.penalty", 25)
def _th_network_penalty(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        expected = sum(np_models.PENALTIES[k](c.params, c.kw[k], kw["m"])[0]
                       for k in ("l2_lambda", "l1_lambda") if c.kw.get(k))
        close(out, expected, "penalty", dtype=c.dtype)
    return make_case(draw, c.model.penalty, {"m": size(draw, 1, 50)}, {"m": lambda d: spoil_count(d, "m")}, check)


@fuzz("th.models.Network.init_params", 25)
def _th_network_init_params(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, c.model.init_params, {"method": "he", "generator": None}, {
        "method": lambda d: spoil_choice(d, "method", th_init.INITIALIZERS), "generator": spoil_generator},
        lambda out, kw: out is c.model or pytest.fail("not the model"))


@fuzz("th.models.Network", 50)
def _th_network(draw):
    dims, output = draw_dims(draw)
    kw, th_kw = net_options(draw, dims, output)
    valid = {"layer_dims": dims, **th_kw, "dtype": draw(st.sampled_from(list(TH_DTYPES.values()))), "device": "cpu"}
    names = ["layer_dims", "hidden_activation", "output", "leaky_slope", "l2_lambda", "l1_lambda", "bn_eps",
             "bn_beta_momentum", "batch_norm"] + (["keep_probs"] if len(dims) > 2 else [])
    spoilers = {n: (lambda d, n=n: _spoil_net_kwarg(d, n)) for n in names}
    spoilers.update(dtype=spoil_th_dtype, device=spoil_device)

    def check(model, kw):
        assert model.L == len(dims) - 1 and model.dtype == kw["dtype"]
    return make_case(draw, th_models.Network, valid, spoilers, check)


@fuzz("th.models.train_gd", 30)
def _th_train_gd(draw):
    c = NetCase(draw, train=True)
    iterations = size(draw, 1, 3)
    masks = None if c.masks is None else [c.net.draw_masks(c.m, rng=i, dtype=c.dtype) for i in range(iterations)]
    decay = positive(draw, 0.0, 1.0, zero=True) if not c.kw.get("l2_lambda") else 0.0
    valid = {"model": c.model, "X": c.Xt, "y": c.yt, "learning_rate": positive(draw, 1e-3, 0.5),
             "num_iterations": iterations, "masks": None if masks is None else [bridge.masks_to_torch(mk) for mk in masks],
             "l2_lambda": decay}
    net = np_models.Network(c.dims, **{**c.kw, "l2_lambda": c.kw.get("l2_lambda", 0.0) + decay})

    def check(costs, kw):
        _, ncosts = np_models.train_gd(net, c.params, c.X, c.Y, kw["learning_rate"], iterations, masks=masks)
        close(costs, ncosts, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, ncosts))), rtol=10 * tol(c.dtype))
    net.state = {k: v.copy() for k, v in c.net.state.items()}
    spoilers = th_net_spoilers(c)
    spoilers.update(learning_rate=lambda d: spoil_positive(d, "learning_rate"),
                    num_iterations=lambda d: spoil_count(d, "num_iterations"),
                    l2_lambda=lambda d: spoil_positive(d, "l2_lambda", allow_zero=True),
                    masks=lambda d: Bad(d(st.sampled_from([{}, "masks", [None] * (iterations + 1)])),
                                        "masks not one per iteration", ("masks",)),
                    model=spoil_model)
    return make_case(draw, th_models.train_gd, valid, spoilers, check)


def _np_bn_predict_with_var(running_var):
    net = tiny_np_net(batch_norm=True)
    params = net.init_params()   # (and a fresh state)
    net.state["running_var1"] = np.full((3, 1), running_var)
    return net.predict(params, tiny_xn())


FIXED_GAPS = [
    fixed("draw_masks-dtype", lambda: tiny_np_net(keep_probs=0.5).draw_masks(4, rng=0, dtype="float16"), "dtype"),
    fixed("Network-dropout_rng-name", lambda: tiny_np_net(dropout_rng=-1), "dropout_rng"),
    fixed("th-penalty-m", lambda: tiny_th_net(l2_lambda=0.5).penalty(0), "m"),
    fixed("th-train_gd-model", lambda: th_models.train_gd(NOT_A_MODEL, tiny_xt(), tiny_yt(), 0.1, 1), "model"),
    # wrong objects
    fixed("train_gd-network",
          lambda: np_models.train_gd(NOT_A_MODEL, tiny_np_net().init_params(), tiny_xn(), tiny_yn(), 0.1, 1),
          "network"),
    # sizes past the limit (MAX_COUNT = 2**40), empty arrays, shapes that broadcast
    fixed("Network-layer_dims-2**40", lambda: np_models.Network([2 ** 40, 2 ** 40, 1]), "layer_dims"),
    fixed("th-Network-layer_dims-2**40", lambda: th_models.Network([2 ** 40, 2 ** 40, 1]), "layer_dims"),
    fixed("Network-state-negative-var", lambda: _np_bn_predict_with_var(-1.0), "state['running_var1']"),
    fixed("th-Network-negative-var", lambda: th_bn_net_with_var(-1.0).scores(tiny_xt()), "norms[0].running_var"),
    # predict and accuracy switch to eval mode themselves: a model left in training mode is checked too
    fixed("th-Network-negative-var-predict-in-train-mode",
          lambda: th_bn_net_with_var(-1.0).train().predict(tiny_xt()), "norms[0].running_var"),
    fixed("th-Network-negative-var-accuracy-in-train-mode",
          lambda: th_bn_net_with_var(-1.0).train().accuracy(tiny_xt(), tiny_yt()), "norms[0].running_var"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)


NP_NETWORK_X_ENTRIES = {
    "Network.forward": np_net_method("forward"),
    "Network.loss": np_net_method("loss"),
    "Network.cost": np_net_method("cost"),
    "Network.predict": np_net_method("predict"),
    "Network.accuracy": np_net_method("accuracy"),
    "Network[softmax].loss": np_net_method("loss", "softmax"),
    "train_gd": np_net_method("train_gd"),
}


NP_NETWORK_Y_ENTRIES = {  # name -> (call(Y), num_classes, valid labels)
    "Network.loss": (lambda Y: np_net_method("loss")(xn(), Y), 2, LABELS2),
    "Network.cost": (lambda Y: np_net_method("cost")(xn(), Y), 2, LABELS2),
    "Network.accuracy": (lambda Y: np_net_method("accuracy")(xn(), Y), 2, LABELS2),
    "Network[softmax].loss": (lambda Y: np_net_method("loss", "softmax")(xn(), Y), C, LABELS3),
    "Network[linear].cost": (lambda Y: np_net_method("cost", "linear")(xn(), Y), C, LABELS3),
    "train_gd": (lambda Y: np_net_method("train_gd")(xn(), Y), 2, LABELS2),
}


@pytest.mark.parametrize("build, match", bad_x_cases(NP_NETWORK_X_ENTRIES, NP_BAD_X, arg("X")))
def test_numpy_bad_X(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", bad_y_cases(NP_NETWORK_Y_ENTRIES, np_bad_y, arg("Y")))
def test_numpy_bad_Y(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", hyper_cases({
    "train_gd": lambda lr, it: np_models.train_gd(np_net(), np_params(np_net()), xn(), yn(), lr, it)}))
def test_numpy_bad_hyperparameters(build, match):
    expect_value_error(build, match)


# (description, constructor kwargs, match, gap); the defaults are [2, 3, 1], relu, sigmoid.
NET_CTOR_BAD = [
    ("layer_dims too short", dict(layer_dims=[2]), arg("layer_dims"), None),
    ("layer_dims empty", dict(layer_dims=[]), arg("layer_dims"), None),
    ("layer_dims zero width", dict(layer_dims=[2, 0, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims negative", dict(layer_dims=[2, -3, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims fractional", dict(layer_dims=[2, 1.5, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims float 2.0", dict(layer_dims=[2.0, 3, 1]), re.escape("layer_dims[0]"), None),
    ("layer_dims str entry", dict(layer_dims=[2, "3", 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims bool entry", dict(layer_dims=[2, True, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims None entry", dict(layer_dims=[2, None, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims an int", dict(layer_dims=3), arg("layer_dims"), None),
    ("layer_dims None", dict(layer_dims=None), arg("layer_dims"), None),
    ("hidden_activation unknown", dict(hidden_activation="softplus"), arg("hidden_activation"), None),
    ("hidden_activation wrong case", dict(hidden_activation="ReLU"), arg("hidden_activation"), None),
    ("hidden_activation softmax", dict(hidden_activation="softmax"), arg("hidden_activation"), None),
    ("hidden_activation hardmax", dict(hidden_activation="hardmax"), arg("hidden_activation"), None),
    ("hidden_activation None", dict(hidden_activation=None), arg("hidden_activation"), None),
    ("hidden_activation list", dict(hidden_activation=["relu"]), arg("hidden_activation"), None),
    ("output unknown", dict(output="hinge"), arg("output"), None),
    ("output hardmax", dict(output="hardmax"), arg("output"), None),
    ("output None", dict(output=None), arg("output"), None),
    ("output list", dict(output=["sigmoid"]), arg("output"), None),
    ("sigmoid output with 3 units", dict(layer_dims=[2, 3, 3], output="sigmoid"),
     re.escape("layer_dims[-1]"), None),
    ("softmax output with 1 unit", dict(layer_dims=[2, 3, 1], output="softmax"),
     re.escape("layer_dims[-1]"), None),
    ("linear output with 1 unit", dict(layer_dims=[2, 3, 1], output="linear"),
     re.escape("layer_dims[-1]"), None),
    ("leaky_slope negative", dict(leaky_slope=-0.1), arg("leaky_slope"), None),
    ("leaky_slope NaN", dict(leaky_slope=NAN), arg("leaky_slope"), None),
    ("leaky_slope str", dict(leaky_slope="0.01"), arg("leaky_slope"), None),
    ("leaky_slope None", dict(leaky_slope=None), arg("leaky_slope"), None),
]


NET_DEFAULTS = dict(layer_dims=[N_X, HIDDEN, 1], hidden_activation="relu", output="sigmoid")


def _ctor_case(cls, desc, kwargs, match, gap):
    full = {**NET_DEFAULTS, **kwargs}
    return case(desc, match, lambda: cls(full.pop("layer_dims"), **full), gap)


@pytest.mark.parametrize("build, match", [
    _ctor_case(np_models.Network, *row) for row in NET_CTOR_BAD])
def test_numpy_network_constructor(build, match):
    expect_value_error(build, match)


def _np_params_variant(change):
    params = np_params(np_net())
    change(params)
    return params


NP_BAD_PARAMS = [  # (description, change to a valid params dict, match)
    ("W2 missing", lambda p: p.pop("W2"), arg("W2")),
    ("b1 missing", lambda p: p.pop("b1"), arg("b1")),
    ("unexpected key W3", set_key("W3", lambda p: np.ones((1, 1))), arg("W3")),
    ("unexpected key dW1", set_key("dW1", lambda p: p["W1"]), arg("dW1")),
    ("W1 transposed", set_key("W1", lambda p: p["W1"].T.copy()), re.escape("params['W1']")),
    ("W1 rank-1", set_key("W1", lambda p: p["W1"][:, 0].copy()), re.escape("params['W1']")),
    ("W1 int", set_key("W1", lambda p: np.ones_like(p["W1"], dtype=np.int64)), re.escape("params['W1']")),
    ("W1 NaN", set_key("W1", lambda p: poke(p["W1"], NAN)), re.escape("params['W1']")),
    ("W2 inf", set_key("W2", lambda p: poke(p["W2"], INF, 0)), re.escape("params['W2']")),
    ("W1 list", set_key("W1", lambda p: p["W1"].tolist()), re.escape("params['W1']")),
    ("b1 rank-1 (n,)", set_key("b1", lambda p: p["b1"][:, 0].copy()), re.escape("params['b1']")),
    ("b1 row (1, n)", set_key("b1", lambda p: p["b1"].T.copy()), re.escape("params['b1']")),
    ("b2 scalar", set_key("b2", lambda p: 0.0), re.escape("params['b2']")),
    ("b1 float32 among float64", set_key("b1", lambda p: p["b1"].astype(np.float32)), re.escape("params['b1']")),
    ("W2 float32 among float64", set_key("W2", lambda p: p["W2"].astype(np.float32)), re.escape("params['W2']")),
]


def _np_net_call(method: str, params):
    """Network.<method> (or train_gd) on the valid X, Y with the given params."""
    net = np_net()
    if method in ("forward", "predict"):
        return getattr(net, method)(params, xn())
    if method == "train_gd":
        return np_models.train_gd(net, params, xn(), yn(), 0.1, 1)
    return getattr(net, method)(params, xn(), yn())


def _np_params_cases():
    rows = []
    for method in ("forward", "loss", "cost", "predict", "accuracy", "train_gd"):
        for desc, change, match in NP_BAD_PARAMS:
            rows.append(case(f"Network.{method} | params {desc}", match,
                             lambda method=method, change=change: _np_net_call(method, _np_params_variant(change))))
        for bad, desc in ((None, "None"), ([np.ones((3, 2))], "list")):
            rows.append(case(f"Network.{method} | params {desc}", arg("params"),
                             lambda method=method, bad=bad: _np_net_call(method, bad)))
    return rows


@pytest.mark.parametrize("build, match", _np_params_cases())
def test_numpy_network_bad_params(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    case("init_params method unknown", arg("method"), lambda: np_net().init_params("kaiming")),
    case("init_params method None", arg("method"), lambda: np_net().init_params(None)),
    case("init_params dtype float16", arg("dtype"), lambda: np_net().init_params(dtype="float16")),
    case("init_params dtype int64", arg("dtype"), lambda: np_net().init_params(dtype="int64")),
    case("init_params rng negative", arg("rng"), lambda: np_net().init_params(rng=-1)),
    case("init_params rng str", arg("rng"), lambda: np_net().init_params(rng="0")),
])
def test_numpy_network_init_params(build, match):
    expect_value_error(build, match)


def test_numpy_train_gd_rejects_before_training():
    """train_gd validates data and hyperparameters before touching the loop."""
    params = np_params(np_net())
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(ValueError, match=arg("learning_rate")):
        np_models.train_gd(np_net(), params, xn(), yn(), -1.0, 5)
    assert all(np.array_equal(params[k], before[k]) for k in params)


TH_NETWORK_X_ENTRIES = {
    "Network.scores": th_net_method("scores"),
    "Network.forward": th_net_method("forward"),
    "Network.cost": th_net_method("cost"),
    "Network.predict": th_net_method("predict"),
    "Network.accuracy": th_net_method("accuracy"),
    "Network[softmax].forward": th_net_method("forward", "softmax"),
    "Network[linear].cost": th_net_method("cost", "linear"),
    "train_gd": th_net_method("train_gd"),
}


TH_NETWORK_Y_ENTRIES = {  # name -> (call(y), num_classes, valid labels)
    "Network.cost": (lambda y: th_net_method("cost")(xt(), y), 2, LABELS2),
    "Network.accuracy": (lambda y: th_net_method("accuracy")(xt(), y), 2, LABELS2),
    "Network[softmax].cost": (lambda y: th_net_method("cost", "softmax")(xt(), y), C, LABELS3),
    "Network[linear].accuracy": (lambda y: th_net_method("accuracy", "linear")(xt(), y), C, LABELS3),
    "train_gd": (lambda y: th_net_method("train_gd")(xt(), y), 2, LABELS2),
}


@pytest.mark.parametrize("build, match", bad_x_cases(TH_NETWORK_X_ENTRIES, TH_BAD_X, arg("X")))
def test_torch_bad_X(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", bad_y_cases(TH_NETWORK_Y_ENTRIES, th_bad_y, arg("y")))
def test_torch_bad_y(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", hyper_cases({
    "train_gd": lambda lr, it: th_models.train_gd(th_net(), xt(), yt(), lr, it)}))
def test_torch_bad_hyperparameters(build, match):
    expect_value_error(build, match)


def test_torch_train_gd_rejects_before_training():
    """A rejected call leaves the model's parameters untouched."""
    net = th_net()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match=arg("y")):
        th_models.train_gd(net, xt(), yt(LABELS3), 0.1, 5)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


TH_NET_CTOR_EXTRA = [
    ("dtype a string", dict(dtype="float64"), arg("dtype"), None),
    ("dtype int64", dict(dtype=torch.int64), arg("dtype"), None),
    ("dtype float16", dict(dtype=torch.float16), arg("dtype"), None),
    ("device unknown 'gpu'", dict(device="gpu"), arg("device"), None),
]


@pytest.mark.parametrize("build, match", [
    _ctor_case(th_models.Network, *row) for row in NET_CTOR_BAD + TH_NET_CTOR_EXTRA])
def test_torch_network_constructor(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    case("init_params method unknown", arg("method"), lambda: th_net().init_params("kaiming")),
    case("init_params method None", arg("method"), lambda: th_net().init_params(None)),
    case("init_params generator int", arg("generator"), lambda: th_net().init_params("he", 0), None),
])
def test_torch_network_init_params(build, match):
    expect_value_error(build, match)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_network_rejects_data_on_another_device():
    with pytest.raises(ValueError, match=arg("X")):
        th_net().forward(xt().cuda())
