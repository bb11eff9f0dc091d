"""The bad-input contract of bridge: the bridge between the two layouts
(``reference_torch/bridge.py``: devices, dtypes, data, parameters, masks, running statistics).

For ``reference_torch/bridge.py``:

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
from torch import nn

from parity_tests.contract.bad_input import (
    HIDDEN, LABELS2, NP_BAD_X, N_X, case, error_message, expect_value_error, np_params_2_3_1, poke, set_key,
    th_logreg, th_net, w0, xn, yn,
)
from parity_tests.contract.fuzzing import (
    DTYPES, NOT_A_MODEL, TH_DTYPES, Case, fixed, fixed_gaps_test, fuzz, fuzz_test, labels_row, make_case, NetCase,
    spoil_b, spoil_device, spoil_model, th, th_bn_net_with_var, th_floats, tiny_np_net, tiny_th_net,
)
from parity_tests.contract.strategies import Bad, NAN, arg, np_floats, np_labels, size, spoil_array, spoil_np_labels
from reference_torch import bridge
from reference_torch import logistic as th_log
from reference_torch import models as th_models


@fuzz("bridge.resolve_device", 20)
def _bridge_resolve_device(draw):
    return make_case(draw, bridge.resolve_device, {"device": draw(st.sampled_from(["auto", "cpu"]))},
                     {"device": spoil_device}, lambda out, kw: out.type == "cpu" or pytest.fail(str(out)))


@fuzz("bridge.resolve_dtype", 20)
def _bridge_resolve_dtype(draw):
    return make_case(draw, bridge.resolve_dtype, {"dtype": draw(st.sampled_from(DTYPES))}, {
        "dtype": lambda d: Bad(d(st.sampled_from(["float16", "double", None, torch.float64, ["float64"]])), "dtype",
                               ("dtype",))}, lambda out, kw: out == TH_DTYPES[kw["dtype"]] or pytest.fail(str(out)))


@fuzz("bridge.data_to_torch", 50)
def _bridge_data_to_torch(draw):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw)
    X, Y = np_floats(draw, (n_x, m), dtype), np_labels(draw, m, 3)

    def check(out, kw):
        Xt, yt = out
        assert torch.equal(Xt, th(X).T) and torch.equal(yt, labels_row(Y)) and yt.dtype == torch.int64
    return make_case(draw, bridge.data_to_torch, {"X": X, "Y": Y, "device": "cpu"}, {
        "X": lambda d: spoil_array(d, "X", X, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 3, also=("X",), exclude=("label C", "label 2**40", "None"), relaxed=False),
        "device": spoil_device}, check)


@fuzz("bridge.params_to_module", 50)
def _bridge_params_to_module(draw):
    c = NetCase(draw, train=False)
    model = th_models.Network(c.dims, dtype=TH_DTYPES[c.dtype],
                              **{k: v for k, v in c.kw.items() if k in ("hidden_activation", "output", "batch_norm")})

    def check(out, kw):
        for k, v in bridge.params_from_module(model).items():
            assert np.array_equal(v, c.params[k]), k
    return make_case(draw, bridge.params_to_module, {"params": c.params, "module": model}, {
        "params": lambda d: _spoil_bridge_params(d, c.params),
        "module": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3), "net"])), "module", ("module",))}, check)


def _spoil_bridge_params(draw, params, *, extra=True) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "entry", "missing", "extra" if extra else "missing", "not a dict"]))
    keys = list(params)
    if kind == "entry":
        key = draw(st.sampled_from(keys))
        bad = spoil_array(draw, key, params[key], fixed=(0, 1), exclude=("rank-up",))
        return Bad({**params, key: bad.value}, f"params[{key}] {bad.kind}", (key,))
    if kind == "missing":
        key = draw(st.sampled_from(keys))
        return Bad({k: v for k, v in params.items() if k != key}, f"params without {key}", (key, "params"))
    if kind == "extra":
        return Bad({**params, "W9": params[keys[0]]}, "params with W9", ("W9", "params"))
    return Bad(list(params.values()), "params a list", ("params",))


@fuzz("bridge.params_to_linears", 30)
def _bridge_params_to_linears(draw):
    c = NetCase(draw, train=False, bn=False)
    return make_case(draw, bridge.params_to_linears, {"params": c.params, "linears": c.model.linears}, {
        "params": lambda d: _spoil_bridge_params(d, c.params),
        "linears": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3), [nn.ReLU()]])), "linears", ("linears",))},
        lambda out, kw: None)


@fuzz("bridge.params_from_module", 25)
def _bridge_params_from_module(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, bridge.params_from_module, {"module": c.model}, {
        "module": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3)])), "module", ("module",))},
        lambda out, kw: all(np.array_equal(out[k], c.params[k]) for k in c.params) or pytest.fail("differs"))


@fuzz("bridge.grads_from_module", 25)
def _bridge_grads_from_module(draw):
    c = NetCase(draw, train=True)
    backward = draw(st.booleans())
    if backward:
        c.model.cost(c.Xt, c.yt, c.th_masks(c.masks)).backward()
    return make_case(draw, bridge.grads_from_module, {"module": c.model}, {
        "module": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3)])), "module", ("module",))},
        lambda out, kw: sorted(out) == sorted("d" + k for k in c.params) or pytest.fail(sorted(out)),
        p_valid=3) if backward else Case(bridge.grads_from_module, {"module": c.model},
                                          Bad(c.model, "before backward", ("backward",)), "module")


@fuzz("bridge.state_to_module", 25)
def _bridge_state_to_module(draw):
    c = NetCase(draw, train=False, dropout=False)
    state = c.net.state

    def spoil_state(d):
        if not state:
            return Bad(d(st.sampled_from([None, [1]])), "state", ("state",))
        key = d(st.sampled_from(sorted(state)))
        bad = spoil_array(d, key, state[key], fixed=(0, 1), exclude=("rank-up",))
        return Bad({**state, key: bad.value}, f"state[{key}] {bad.kind}", (key,))
    return make_case(draw, bridge.state_to_module, {"state": state, "module": c.model}, {
        "state": spoil_state, "module": lambda d: spoil_model(d, "module")}, lambda out, kw: None)


@fuzz("bridge.masks_to_torch", 25)
def _bridge_masks_to_torch(draw):
    c = NetCase(draw, train=True)
    masks = c.masks or {"D1": np.ones((2, 3))}

    def check(out, kw):
        assert all(torch.equal(out[k], th(v).T) for k, v in masks.items())
    return make_case(draw, bridge.masks_to_torch, {"masks": masks, "device": "cpu"}, {
        "masks": lambda d: Bad(d(st.sampled_from([None, [1], {"D1": np.ones(3)}, {"D1": [[1.0]]}])), "masks",
                               ("masks", "D1")), "device": spoil_device}, check)


@fuzz("bridge.logistic_to_module", 30)
def _bridge_logistic_to_module(draw):
    dtype, n_x = draw(st.sampled_from(DTYPES)), size(draw)
    w = np_floats(draw, (n_x, 1), dtype, layouts=("C", "F", "strided"))
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])

    def check(out, kw):
        w2, b2 = bridge.logistic_from_module(model)
        assert np.array_equal(w2, w) and b2 == kw["b"]
    return make_case(draw, bridge.logistic_to_module, {"w": w, "b": 0.5, "model": model}, {
        "w": lambda d: spoil_array(d, "w", w, fixed=(0, 1)), "b": spoil_b,
        "model": lambda d: Bad(d(st.sampled_from([None, nn.Linear(n_x, 1)])), "model", ("model",))}, check)


@fuzz("bridge.to_numpy", 20)
def _bridge_to_numpy(draw):
    a, t = th_floats(draw, (size(draw), size(draw)), draw(st.sampled_from(DTYPES)))
    return make_case(draw, bridge.to_numpy, {"tensor": t}, {
        "tensor": lambda d: Bad(d(st.sampled_from([a, a.tolist(), None, 1.0])), "tensor", ("tensor",))},
        lambda out, kw: np.array_equal(out, a) or pytest.fail("values"))


@fuzz("bridge.masks_from_torch", 20)
def _bridge_masks_from_torch(draw):
    c = NetCase(draw, train=True)
    masks = c.th_masks(c.masks) or {"D1": torch.ones(3, 2)}
    return make_case(draw, bridge.masks_from_torch, {"masks": masks}, {
        "masks": lambda d: Bad(d(st.sampled_from([None, [1], {"D1": np.ones((3, 2))}, {"D1": torch.ones(3)}])),
                               "masks", ("masks", "D1"))},
        lambda out, kw: all(np.array_equal(out[k], v.numpy().T) for k, v in masks.items()) or pytest.fail("masks"))


@fuzz("bridge.state_from_module", 20)
def _bridge_state_from_module(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, bridge.state_from_module, {"module": c.model}, {
        "module": lambda d: spoil_model(d, "module")},
        lambda out, kw: all(np.allclose(out[k], v) for k, v in c.net.state.items()) or pytest.fail("state"))


@fuzz("bridge.logistic_from_module", 20)
def _bridge_logistic_from_module(draw):
    dtype, n_x = draw(st.sampled_from(DTYPES)), size(draw)
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    w, b = np_floats(draw, (n_x, 1), dtype), draw(st.floats(-10, 10))
    bridge.logistic_to_module(w, b, model)

    def check(out, kw):
        assert np.array_equal(out[0], w) and out[0].dtype == w.dtype and out[1] == float(np.dtype(dtype).type(b))
    return make_case(draw, bridge.logistic_from_module, {"model": model}, {"model": spoil_model}, check)


FIXED_GAPS = [
    fixed("bridge-masks_to_torch-device",
          lambda: bridge.masks_to_torch({"D1": np.ones((2, 2))}, device="gpu"), "device"),
    fixed("bridge-params_to_linears-extra",
          lambda: bridge.params_to_linears(
              {**tiny_np_net().init_params(), "W3": np.ones((1, 1)), "b3": np.zeros((1, 1))}, tiny_th_net().linears),
          "W3"),
    fixed("bridge-state_to_module-module",
          lambda: bridge.state_to_module({"running_mean1": np.zeros((3, 1))}, NOT_A_MODEL), "module"),
    fixed("bridge-to_numpy", lambda: bridge.to_numpy(np.ones(2)), "tensor"),
    fixed("bridge-state_to_module-extra",
          lambda: bridge.state_to_module({"running_mean1": np.zeros((3, 1))}, tiny_th_net()), "running_mean1"),
    fixed("bridge-state_to_module-negative-var", lambda: bridge.state_to_module(
        {"running_mean1": np.zeros((3, 1)), "running_var1": -np.ones((3, 1))}, th_bn_net_with_var(1.0)),
        "running_var1"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)


def _p2m(change=None, module=None):
    params = np_params_2_3_1()
    if change:
        change(params)
    return bridge.params_to_module(params, th_net() if module is None else module)


@pytest.mark.parametrize("build, match", [
    *[case(f"resolve_device | {desc}", arg("device"), lambda d=d: bridge.resolve_device(d))
      for d, desc in (("gpu", "'gpu'"), ("CPU", "'CPU'"), ("", "empty"), (None, "None"), ("cuda:0", "'cuda:0'"),
                      (0, "int 0"))],
    *[case(f"resolve_dtype | {desc}", arg("dtype"), lambda d=d: bridge.resolve_dtype(d))
      for d, desc in (("float16", "'float16'"), ("double", "'double'"), ("int64", "'int64'"), (None, "None"),
                      (torch.float64, "torch.float64"), (np.float64, "np.float64"))],
    case("resolve_dtype | list", arg("dtype"), lambda: bridge.resolve_dtype(["float64"]), None),
    # data_to_torch: X (n_x, m) and Y (1, m), NumPy layout in
    *[case(f"data_to_torch | {desc}", arg("X"), lambda mx=mx: bridge.data_to_torch(mx()))
      for desc, mx, _ in NP_BAD_X if desc not in ("X batch-first (m, n_x)", "X wrong n_x",
                                                  "X float32 with float64 params")],
    case("data_to_torch | X empty with empty Y", arg("X"), lambda: bridge.data_to_torch(xn(m=0), yn(()))),
    *[case(f"data_to_torch | {desc}", arg("Y"), lambda my=my: bridge.data_to_torch(xn(), my()))
      for desc, my in (("Y rank-1", lambda: yn()[0].copy()), ("Y column (m, 1)", lambda: yn().T.copy()),
                       ("Y m - 1", lambda: yn(LABELS2[:-1])), ("Y list", lambda: yn().tolist()))],
    case("data_to_torch | Y fractional", arg("Y"),
         lambda: bridge.data_to_torch(xn(), yn((0, 0.5, 1, 1), np.float64)), None),
    case("data_to_torch | Y NaN", arg("Y"),
         lambda: bridge.data_to_torch(xn(), yn((0, NAN, 1, 1), np.float64)), None),
    case("data_to_torch | Y label -1", arg("Y"), lambda: bridge.data_to_torch(xn(), yn((0, -1, 1, 1))), None),
    case("data_to_torch | Y strings", arg("Y"), lambda: bridge.data_to_torch(xn(), yn().astype(str)), None),
    case("data_to_torch | device 'gpu'", arg("device"), lambda: bridge.data_to_torch(xn(), device="gpu"), None),
    # params_to_module: NumPy {W1, b1, ...} into a float64 [2, 3, 1] Network
    case("params_to_module | W2 missing", arg("W2"), lambda: _p2m(lambda p: p.pop("W2"))),
    case("params_to_module | b1 missing", arg("b1"), lambda: _p2m(lambda p: p.pop("b1"))),
    case("params_to_module | float32 into float64", arg("W1"),
         lambda: bridge.params_to_module(np_params_2_3_1(np.float32), th_net())),
    case("params_to_module | float64 into float32", arg("W1"),
         lambda: bridge.params_to_module(np_params_2_3_1(), th_net(dtype=torch.float32))),
    case("params_to_module | W1 int", arg("W1"), lambda: _p2m(set_key("W1", lambda p: p["W1"].astype(np.int64)))),
    case("params_to_module | W1 transposed", arg("W1"), lambda: _p2m(set_key("W1", lambda p: p["W1"].T.copy()))),
    case("params_to_module | W1 rank-1", arg("W1"), lambda: _p2m(set_key("W1", lambda p: p["W1"][0].copy()))),
    case("params_to_module | b1 (n + 1, 1)", arg("b1"),
         lambda: _p2m(set_key("b1", lambda p: np.zeros((HIDDEN + 1, 1))))),
    case("params_to_module | b1 rank-1 (n,)", arg("b1"),
         lambda: _p2m(set_key("b1", lambda p: p["b1"][:, 0].copy())), None),
    case("params_to_module | b1 (n, 2)", arg("b1"), lambda: _p2m(set_key("b1", lambda p: np.zeros((HIDDEN, 2)))), None),
    case("params_to_module | W1 NaN", arg("W1"), lambda: _p2m(set_key("W1", lambda p: poke(p["W1"], NAN))), None),
    case("params_to_module | W1 list", arg("W1"), lambda: _p2m(set_key("W1", lambda p: p["W1"].tolist())), None),
    case("params_to_module | W1 a torch tensor", r"W1.*(numpy|ndarray)",
         lambda: _p2m(set_key("W1", lambda p: torch.from_numpy(p["W1"]))), None),
    case("params_to_module | params None", arg("params"), lambda: bridge.params_to_module(None, th_net()), None),
    case("params_to_module | extra layer W3, b3", arg("W3"),
         lambda: _p2m(lambda p: p.update(W3=np.ones((1, 1)), b3=np.zeros((1, 1)))), None),
    case("params_to_module | module an nn.Linear", arg("module"), lambda: _p2m(module=nn.Linear(2, 3)), None),
    case("params_to_linears | float32 into float64", arg("W1"),
         lambda: bridge.params_to_linears(np_params_2_3_1(np.float32), th_net().linears)),
    case("params_to_linears | b1 rank-1 (n,)", arg("b1"), lambda: bridge.params_to_linears(
        {**np_params_2_3_1(), "b1": np.zeros(HIDDEN)}, th_net().linears), None),
    case("params_to_linears | linears one nn.Linear", arg("linears"), lambda: bridge.params_to_linears(
        np_params_2_3_1(), nn.Linear(2, 3)), None),
    case("params_from_module | module an nn.Linear", arg("module"),
         lambda: bridge.params_from_module(nn.Linear(2, 3)), None),
    case("grads_from_module | before backward", r"backward", lambda: bridge.grads_from_module(th_net())),
    case("grads_from_module | module an nn.Linear", arg("module"),
         lambda: bridge.grads_from_module(nn.Linear(2, 3)), None),
    # logistic_to_module: the course's w (n_x, 1), scalar b into LogisticRegression(n_x = 2)
    case("logistic_to_module | w wrong n_x", arg("w"), lambda: bridge.logistic_to_module(w0(3), 0.0, th_logreg())),
    case("logistic_to_module | w float32", arg("w"),
         lambda: bridge.logistic_to_module(w0(dtype=np.float32), 0.0, th_logreg())),
    case("logistic_to_module | w int", arg("w"),
         lambda: bridge.logistic_to_module(w0().astype(int), 0.0, th_logreg())),
    case("logistic_to_module | w rank-1", arg("w"), lambda: bridge.logistic_to_module(np.zeros(N_X), 0.0, th_logreg())),
    case("logistic_to_module | w row (1, n_x): message in the course's layout", re.escape("w must have shape (2, 1)"),
         lambda: bridge.logistic_to_module(np.zeros((1, N_X)), 0.0, th_logreg()), None),
    case("logistic_to_module | w NaN", arg("w"), lambda: bridge.logistic_to_module(poke(w0(), NAN), 0.0, th_logreg()), None),
    case("logistic_to_module | b NaN", arg("b"), lambda: bridge.logistic_to_module(w0(), NAN, th_logreg()), None),
    case("logistic_to_module | b str", arg("b"), lambda: bridge.logistic_to_module(w0(), "x", th_logreg()), None),
    case("logistic_to_module | b array", arg("b"),
         lambda: bridge.logistic_to_module(w0(), np.array([1.0, 2.0]), th_logreg()), None),
    case("logistic_to_module | model a Network", arg("model"),
         lambda: bridge.logistic_to_module(w0(), 0.0, th_net()), None),
])
def test_bridge(build, match):
    expect_value_error(build, match)


@pytest.mark.skipif(torch.cuda.is_available(), reason="only meaningful without CUDA")
def test_bridge_resolve_device_cuda_without_cuda():
    with pytest.raises(ValueError, match=r"cuda"):
        bridge.resolve_device("cuda")


def test_bridge_refuses_float32_params_into_float64_module():
    params32 = np_params_2_3_1(np.float32)
    module = th_net()
    before = [p.detach().clone() for p in module.parameters()]
    msg = error_message(lambda: bridge.params_to_module(params32, module))
    assert re.search(arg("W1"), msg) and "float32" in msg and "float64" in msg, msg
    assert all(torch.equal(a, b) for a, b in zip(before, module.parameters())), "module changed"
    # and the converse; an explicit conversion is accepted
    assert "float32" in error_message(lambda: bridge.params_to_module(np_params_2_3_1(), th_net(dtype=torch.float32)))
    bridge.params_to_module({k: v.astype(np.float64) for k, v in params32.items()}, module)
    msg = error_message(lambda: bridge.logistic_to_module(w0(dtype=np.float32), 0.0, th_logreg()))
    assert re.search(arg("w"), msg) and "float32" in msg


def test_bridge_copies_read_only_arrays_before_torch_sees_them(monkeypatch):
    """torch.from_numpy warns (once per process, so a warning filter cannot pin it) that it cannot
    write to a read-only array (np.broadcast_to, a memory-mapped file): the bridge copies it first."""
    writeable, from_numpy = [], torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda a: writeable.append(a.flags.writeable) or from_numpy(a))
    params = np_params_2_3_1()
    for value in params.values():
        value.flags.writeable = False
    module = th_net()
    bridge.params_to_module(params, module)
    assert writeable and all(writeable)
    assert all(np.array_equal(v, params[k]) for k, v in bridge.params_from_module(module).items())
