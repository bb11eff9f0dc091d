"""The bad-input contract of activations: activations (sigmoid, tanh, ReLU, leaky ReLU, softmax, ...
forward and backward; torch's ``apply``/``make``).

For both ``scratch_numpy/activations.py`` and ``reference_torch/activations.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed;
* the bad-input tables: each row's call must raise a ValueError naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from torch import nn

from parity_tests.contract.bad_input import M, N_X, case, expect_value_error, poke, xn, xt
from parity_tests.contract.fuzzing import (
    DTYPES, TH_DTYPES, close, decided, draw_layer_dims, fixed, fixed_gaps_test, fuzz, fuzz_test, labels_row,
    make_case, matrix, named_if, NetCase, same_dtype, spoil_b, spoil_cache, spoil_model, th, th_floats,
    th_net_spoilers, tiny_xn, tol,
)
from parity_tests.contract.strategies import (
    Bad, INF, NAN, arg, as_tensor, np_floats, np_labels, positive, size, spoil_array, spoil_choice, spoil_count,
    spoil_np_labels, spoil_positive, spoil_tensor, spoil_th_labels, th_labels,
)
from reference_torch import activations as th_act
from reference_torch import bridge
from reference_torch import logistic as th_log
from reference_torch import losses as th_losses
from scratch_numpy import activations as np_act
from scratch_numpy import logistic as np_log
from scratch_numpy import losses as np_losses


for _name in np_act.NAMES:
    def _forward(draw, name=_name):
        dtype = draw(st.sampled_from(DTYPES))
        Z = np_floats(draw, (size(draw), size(draw)), dtype)
        valid, spoilers = {"Z": Z}, {"Z": lambda d: spoil_array(d, "Z", Z, pinned=False)}
        if name == "leaky_relu":
            valid["slope"] = positive(draw, 0.0, 1.0, zero=True)
            spoilers["slope"] = lambda d: spoil_positive(d, "slope", allow_zero=True)

        def check(out, kw):
            A, cache = out
            assert isinstance(cache, np_act.ActivationCache)
            same_dtype(A, dtype)
            expected = th_act.apply(name, th(kw["Z"]).T, leaky_slope=kw.get("slope", 0.01)).T
            close(A, expected, f"{name}(Z)", dtype=dtype)
        return make_case(draw, np_act.FORWARD[name], valid, spoilers, check)

    def _backward(draw, name=_name):
        dtype = draw(st.sampled_from(DTYPES))
        n, m = size(draw), size(draw)
        Z = np_floats(draw, (n, m), dtype, scale=draw(st.sampled_from([0.1, 1.0, 5.0])))
        slope = positive(draw, 0.0, 1.0, zero=True)
        _, cache = np_act.leaky_relu_forward(Z, slope) if name == "leaky_relu" else np_act.FORWARD[name](Z)
        dA = np_floats(draw, (n, m), dtype, scale=1.0)

        def check(dZ, kw):
            same_dtype(dZ, dtype)
            Zt = th(Z).T.requires_grad_()
            At = th_act.apply(name, Zt, leaky_slope=slope)
            if name == "hardmax":
                expected = torch.zeros_like(Zt)
            else:
                (expected,) = torch.autograd.grad(At, Zt, th(kw["dA"]).T)
            close(dZ, expected.T, f"d{name}", dtype=dtype)
        return make_case(draw, np_act.BACKWARD[name], {"dA": dA, "cache": cache},
                         {"dA": lambda d: spoil_array(d, "dA", dA, fixed=(0, 1)),
                          "cache": lambda d: spoil_cache(d, "cache", cache)}, check)

    fuzz(f"np.activations.{_name}_forward", 60)(_forward)
    fuzz(f"np.activations.{_name}_backward", 50)(_backward)


def _np_params(draw, layer_dims, dtype, *, scale=1.0):
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = np_floats(draw, (layer_dims[l], layer_dims[l - 1]), dtype, scale=scale)
        params[f"b{l}"] = np_floats(draw, (layer_dims[l], 1), dtype, scale=scale)
    return params


def _spoil_weights(draw, params) -> Bad:
    """A penalty's params with one weight spoiled, or no weights, or a malformed name, or not a dict."""
    kind = draw(st.sampled_from(["entry", "entry", "no weights", "odd name", "not a dict"]))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(k for k in params if k.startswith("W"))))
        bad = spoil_array(draw, key, params[key], exclude=("other float",))
        return Bad({**params, key: bad.value}, f"{key} {bad.kind}", (key,))
    if kind == "no weights":
        return Bad({k: v for k, v in params.items() if not k.startswith("W")}, kind, ("params",))
    if kind == "odd name":
        return Bad({**params, "Wx": params["W1"]}, kind, ("params",))
    return Bad(list(params.values()), kind, ("params",))


for _penalty in ("l2_penalty", "l1_penalty"):
    def _np_penalty(draw, penalty=_penalty):
        dtype = draw(st.sampled_from(DTYPES))
        params = _np_params(draw, draw_layer_dims(draw), dtype)
        strength = f"{penalty[:2]}_lambda"   # l2_lambda or l1_lambda, the argument's name
        lam, m = positive(draw, 0.0, 5.0, zero=True), size(draw, 1, 100)

        def check(out, kw):
            cost, grads = out
            weights = [th(params[k]).requires_grad_() for k in sorted(k for k in params if k[0] == "W")]
            ct = getattr(th_losses, penalty)(weights, kw[strength], kw["m"])
            close(cost, ct, "cost", dtype=dtype)
            gs = torch.autograd.grad(ct, weights) if kw[strength] else [torch.zeros_like(w) for w in weights]
            assert sorted(grads) == sorted("d" + k for k in params if k[0] == "W")
            for k, g in zip(sorted(k for k in params if k[0] == "W"), gs):
                close(grads["d" + k], g, "d" + k, dtype=dtype)
        return make_case(draw, getattr(np_losses, penalty), {"params": params, strength: lam, "m": m}, {
            "params": lambda d: _spoil_weights(d, params),
            strength: lambda d: spoil_positive(d, strength, allow_zero=True),
            "m": lambda d: spoil_count(d, "m")}, check)

    fuzz(f"np.losses.{_penalty}", 50)(_np_penalty)


def _logistic_case(draw, what):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw, 1, 6)
    w = np_floats(draw, (n_x, 1), dtype, scale=1.0)
    b = draw(st.sampled_from([0.0, 0.5, -1, np.float64(0.25)]))
    X, Y = np_floats(draw, (n_x, m), dtype, scale=1.0), np_labels(draw, m, 2)
    valid = {"w": w, "b": b, "X": X}
    spoilers = {"w": lambda d: spoil_array(d, "w", w, fixed=(1,), also=("X",)), "b": spoil_b,
                "X": lambda d: spoil_array(d, "X", X, fixed=(0,), also=("Y",))}
    if what != "predict":
        valid["Y"] = Y
        spoilers["Y"] = lambda d: spoil_np_labels(d, "Y", Y, 2, also=("X",))
    if what == "optimize":
        valid.update(num_iterations=size(draw, 1, 3), learning_rate=positive(draw, 1e-3, 1.0))
        spoilers.update(num_iterations=lambda d: spoil_count(d, "num_iterations"),
                        learning_rate=lambda d: spoil_positive(d, "learning_rate"))
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    bridge.logistic_to_module(w, float(b), model)

    def check(out, kw):
        Xt, yt = th(X).T, labels_row(Y)
        if what == "propagate":
            grads, cost = out
            tgrads, tcost = th_log.propagate(model, Xt, yt)
            close(cost, tcost, "cost", dtype=dtype)
            close(grads["dw"], tgrads["dw"].T, "dw", dtype=dtype)
            close(grads["db"], tgrads["db"][0], "db", dtype=dtype)
            same_dtype(grads["dw"], dtype)
        elif what == "optimize":
            params, grads, costs = out
            tcosts = th_log.optimize(model, Xt, yt, kw["num_iterations"], kw["learning_rate"])
            close(costs, tcosts, "costs", dtype=dtype, rtol=10 * tol(dtype))
            close(params["w"], model.linear.weight.T, "w", dtype=dtype, rtol=10 * tol(dtype), scale=1 + np.abs(w).max())
            same_dtype(params["w"], dtype)
        else:
            assert out.shape == (1, m) and out.dtype == np.int64
            # and where every w_i x_i is exactly 0: z = b on any CPU (b = 0: the tie, label 0 on both sides)
            sure = decided(w.astype(np.float64).T @ X.astype(np.float64) + b) | ~(w * X).any(axis=0)
            np.testing.assert_array_equal(out[0][sure], th_log.predict(model, Xt).numpy()[sure])
    fn = {"propagate": np_log.propagate, "optimize": np_log.optimize, "predict": np_log.predict}[what]
    return make_case(draw, fn, valid, spoilers, check)


for _what in ("propagate", "optimize", "predict"):
    fuzz(f"np.logistic.{_what}", 50)(lambda draw, what=_what: _logistic_case(draw, what))


@fuzz("th.activations.apply", 80)
def _th_apply(draw):
    dtype, name = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(th_act.NAMES))
    Z, Zt = th_floats(draw, (size(draw), size(draw)), dtype)
    slope = positive(draw, 0.0, 1.0, zero=True)

    def check(A, kw):
        same_dtype(A, TH_DTYPES[dtype])
        expected = np_act.leaky_relu_forward(Z.T, slope)[0] if name == "leaky_relu" else np_act.FORWARD[name](Z.T)[0]
        close(A, expected.T, name, dtype=dtype)
    return make_case(draw, th_act.apply, {"name": name, "Z": Zt, "leaky_slope": slope}, {
        "name": lambda d: spoil_choice(d, "name", th_act.NAMES),
        "Z": lambda d: spoil_tensor(d, "Z", Zt, pinned=False),
        "leaky_slope": lambda d: named_if(spoil_positive(d, "leaky_slope", allow_zero=True),
                                          must_fail=name == "leaky_relu")}, check)


@fuzz("th.activations.make", 25)
def _th_make(draw):
    name = draw(st.sampled_from(th_act.NAMES))
    return make_case(draw, th_act.make, {"name": name, "leaky_slope": positive(draw, 0.0, 1.0, zero=True)}, {
        "name": lambda d: spoil_choice(d, "name", th_act.NAMES),
        "leaky_slope": lambda d: Bad(d(st.sampled_from([-1.0, NAN, "0.1", None])), "leaky_slope", ("leaky_slope",),
                                     must_fail=name == "leaky_relu")},
        lambda out, kw: isinstance(out, nn.Module) or pytest.fail(repr(out)))


def _th_loss_case(draw, name):
    dtype, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 6)
    C = 1 if name.startswith("binary") else size(draw, 1, 5)
    num_classes = 2 if name.startswith("binary") else C
    if name == "binary_cross_entropy":
        x = np.clip(np_floats(draw, (m, 1), dtype, low=0.0, high=1.0), 1e-3, 1 - 1e-3)
    else:
        x = np_floats(draw, (m, C), dtype, zeros=name != "svm_hinge")
    xt, y = as_tensor(draw, x), th_labels(draw, m, num_classes)
    argname = {"binary_cross_entropy": "AL", "binary_cross_entropy_with_logits": "Z"}.get(name, "scores")
    valid = {argname: xt, "y": y}
    binary = name.startswith("binary")
    spoilers = {argname: lambda d: spoil_tensor(d, argname, xt, fixed=(1,) if binary else (), pinned=False,
                                                also=("y",)),
                "y": lambda d: spoil_th_labels(d, "y", y, num_classes, also=(argname,))}
    if name == "binary_cross_entropy":
        bad = xt.detach().clone()
        bad[0, 0] = 1.5
        spoilers["AL"] = lambda d: Bad(bad, "AL outside [0, 1]", ("AL",)) if d(st.booleans()) else \
            spoil_tensor(d, "AL", xt, fixed=(1,), pinned=False, also=("y",))
    if name == "svm_hinge":
        valid["delta"] = positive(draw, 0.0, 2.0, zero=True)
        spoilers["delta"] = lambda d: spoil_positive(d, "delta", allow_zero=True)
    np_fn = getattr(np_losses, name)

    def check(cost, kw):
        assert cost.dim() == 0
        same_dtype(cost, TH_DTYPES[dtype])
        ncost, _ = np_fn(x.T, y.numpy()[None], *([kw["delta"]] if "delta" in kw else []))
        close(cost, ncost, "cost", dtype=dtype, scale=max(1.0, np.abs(x).max()))
    return make_case(draw, getattr(th_losses, name), valid, spoilers, check)


for _loss in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "softmax_cross_entropy", "svm_hinge"):
    fuzz(f"th.losses.{_loss}", 60)(lambda draw, name=_loss: _th_loss_case(draw, name))


def _spoil_weights_list(draw, weights) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "empty", "tensor", "None"]))
    if kind == "entry":
        i = draw(st.integers(0, len(weights) - 1))
        bad = spoil_tensor(draw, f"weights[{i}]", weights[i], pinned=i > 0, exclude=("rank-up",))
        return Bad([*weights[:i], bad.value, *weights[i + 1:]], f"weights[{i}] {bad.kind}",
                   (f"weights[{i}]", f"weights[{i + 1}]"))
    return Bad({"empty": [], "tensor": weights[0], "None": None}[kind], f"weights {kind}", ("weights",))


for _penalty in ("l2_penalty", "l1_penalty"):
    def _th_penalty(draw, penalty=_penalty):
        dtype = draw(st.sampled_from(DTYPES))
        arrays = [np_floats(draw, (size(draw), size(draw)), dtype) for _ in range(size(draw, 1, 3))]
        weights = [as_tensor(draw, a) for a in arrays]
        strength = f"{penalty[:2]}_lambda"   # l2_lambda or l1_lambda, the argument's name
        lam, m = positive(draw, 0.0, 5.0, zero=True), size(draw, 1, 100)

        def check(cost, kw):
            params = {f"W{i + 1}": a for i, a in enumerate(arrays)}
            close(cost, getattr(np_losses, penalty)(params, kw[strength], kw["m"])[0], "cost", dtype=dtype)
        return make_case(draw, getattr(th_losses, penalty), {"weights": weights, strength: lam, "m": m}, {
            "weights": lambda d: _spoil_weights_list(d, weights),
            strength: lambda d: spoil_positive(d, strength, allow_zero=True),
            "m": lambda d: spoil_count(d, "m")}, check)

    fuzz(f"th.losses.{_penalty}", 40)(_th_penalty)


def _th_logistic_case(draw, what):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw, 1, 6)
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    w, b = np_floats(draw, (n_x, 1), dtype, scale=1.0, layouts=("C",)), draw(st.sampled_from([0.0, 0.5]))
    bridge.logistic_to_module(w, b, model)
    X, Xt = th_floats(draw, (m, n_x), dtype, scale=1.0)
    y = th_labels(draw, m, 2)
    valid = {"model": model, "X": Xt}
    spoilers = {"X": lambda d: spoil_tensor(d, "X", Xt, fixed=(1,), also=("y",)), "model": spoil_model}
    if what != "predict":
        valid["y"] = y
        spoilers["y"] = lambda d: spoil_th_labels(d, "y", y, 2, also=("X",))
    if what == "optimize":
        valid.update(num_iterations=size(draw, 1, 3), learning_rate=positive(draw, 1e-3, 1.0))
        spoilers.update(num_iterations=lambda d: spoil_count(d, "num_iterations"),
                        learning_rate=lambda d: spoil_positive(d, "learning_rate"))

    def check(out, kw):
        if what == "propagate":
            grads, cost = out
            ngrads, ncost = np_log.propagate(w, b, X.T, y.numpy()[None])
            close(cost, ncost, "cost", dtype=dtype)
            close(grads["dw"].T, ngrads["dw"], "dw", dtype=dtype)
        elif what == "optimize":
            nparams, _, ncosts = np_log.optimize(w, b, X.T, y.numpy()[None], kw["num_iterations"], kw["learning_rate"])
            close(out, ncosts, "costs", dtype=dtype, rtol=10 * tol(dtype))
        else:
            assert out.shape == (m,) and out.dtype == torch.int64
            sure = decided(w.astype(np.float64).T @ X.T.astype(np.float64) + b) | ~(w * X.T).any(axis=0)
            np.testing.assert_array_equal(out.numpy()[sure], np_log.predict(w, b, X.T)[0][sure])
    fn = {"propagate": th_log.propagate, "optimize": th_log.optimize, "predict": th_log.predict}[what]
    return make_case(draw, fn, valid, spoilers, check)


for _what in ("propagate", "optimize", "predict"):
    fuzz(f"th.logistic.{_what}", 40)(lambda draw, what=_what: _th_logistic_case(draw, what))


def _th_network_pass(draw, method):
    c = NetCase(draw)
    valid = {"X": c.Xt} if method in ("predict",) else {"X": c.Xt, "masks": c.th_masks(c.masks)}

    def check(out, kw):
        AL, caches = c.net.forward(c.params, c.X, masks=c.masks, train=c.train and method != "predict")
        if method == "predict":
            assert out.shape == (c.m,) and out.dtype == torch.int64
            sure = decided(caches[-1].activation.Z, c.net.output)
            np.testing.assert_array_equal(out.numpy()[sure], c.net.predict(c.params, c.X)[0][sure])
            return
        expected = caches[-1].activation.Z if method == "scores" else AL
        close(out.T, expected, method, dtype=c.dtype, scale=max(1.0, np.abs(expected).max()))
    return make_case(draw, getattr(c.model, method), valid, th_net_spoilers(c, y=False, masks=method != "predict"),
                     check)


for _method in ("scores", "forward", "predict"):
    fuzz(f"th.models.Network.{_method}", 40)(lambda draw, method=_method: _th_network_pass(draw, method))


def _np_relu_backward(dA):
    _, cache = np_act.relu_forward(tiny_xn())
    return np_act.relu_backward(dA, cache)


FIXED_GAPS = [
    # NumPy subclasses: np.matrix (* is a matrix product) and masked arrays (a NaN under the mask)
    fixed("np.matrix-dA", lambda: _np_relu_backward(matrix(tiny_xn())), "dA"),
    fixed("masked-array-NaN", lambda: np_act.sigmoid_forward(np.ma.masked_invalid([[1.0, np.nan]])), "Z"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)


def _np_bad_Z():
    return [
        ("Z list", lambda: xn().tolist()),
        ("Z None", lambda: None),
        ("Z int", lambda: np.ones((N_X, M), np.int64)),
        ("Z bool", lambda: xn() > 0),
        ("Z rank-1", lambda: xn()[0].copy()),
        ("Z rank-3", lambda: xn()[None]),
        ("Z empty", lambda: xn(m=0)),
        ("Z NaN", lambda: poke(xn(), NAN)),
        ("Z inf", lambda: poke(xn(), INF)),
    ]


def _np_bad_dA():
    return [  # the cache comes from a float64 (2, 4) Z
        ("dA transposed", lambda: xn().T.copy()),
        ("dA wrong m", lambda: xn(m=M + 1)),
        ("dA rank-1", lambda: xn()[0].copy()),
        ("dA float32", lambda: xn(dtype=np.float32)),
        ("dA int", lambda: np.ones((N_X, M), np.int64)),
        ("dA NaN", lambda: poke(xn(), NAN)),
        ("dA list", lambda: xn().tolist()),
    ]


def _np_activation_cases():
    rows = []
    for name in np_act.NAMES:
        fwd, bwd = np_act.FORWARD[name], np_act.BACKWARD[name]
        for desc, make in _np_bad_Z():
            rows.append(case(f"{name}_forward | {desc}", arg("Z"), lambda fwd=fwd, make=make: fwd(make())))
        for desc, make in _np_bad_dA():
            rows.append(case(f"{name}_backward | {desc}", arg("dA"),
                             lambda fwd=fwd, bwd=bwd, make=make: bwd(make(), fwd(xn())[1])))
    for slope, desc in ((-0.1, "negative"), (NAN, "NaN"), ("0.01", "str"), (None, "None")):
        rows.append(case(f"leaky_relu_forward | slope {desc}", arg("slope"),
                         lambda slope=slope: np_act.leaky_relu_forward(xn(), slope)))
    rows.append(case("relu_backward | cache a plain (Z, A) tuple", arg("cache"),
                     lambda: np_act.relu_backward(xn(), (xn(), xn())), None))
    return rows


@pytest.mark.parametrize("build, match", _np_activation_cases())
def test_numpy_activations(build, match):
    expect_value_error(build, match)


def _th_bad_Z():
    return [
        ("Z numpy", lambda: xn()),
        ("Z list", lambda: xt().tolist()),
        ("Z int", lambda: torch.ones(M, N_X, dtype=torch.int64)),
        ("Z bool", lambda: xt() > 0),
        ("Z float16", lambda: xt(dtype=torch.float16)),
        ("Z rank-1", lambda: xt()[0].clone()),
        ("Z rank-3", lambda: xt()[None]),
        ("Z empty", lambda: xt(m=0)),
        ("Z NaN", lambda: poke(xt(), NAN)),
        ("Z -inf", lambda: poke(xt(), -INF)),
    ]


def _th_activation_cases():
    rows = []
    for name in th_act.NAMES:
        for desc, make in _th_bad_Z():
            rows.append(case(f"apply({name!r}) | {desc}", arg("Z"), lambda name=name, make=make: th_act.apply(name, make())))
    for bad, desc in (("softplus", "unknown"), ("ReLU", "wrong case"), (None, "None"), ("", "empty")):
        rows.append(case(f"make | name {desc}", arg("name"), lambda bad=bad: th_act.make(bad)))
        rows.append(case(f"apply | name {desc}", arg("name"), lambda bad=bad: th_act.apply(bad, xt())))
    rows.append(case("make | name list", arg("name"), lambda: th_act.make(["relu"]), None))
    rows.append(case("make('hardmax') module | Z NaN", arg("Z"),
                     lambda: th_act.make("hardmax")(poke(xt(), NAN))))
    for slope, desc in ((-0.1, "negative"), (NAN, "NaN"), ("0.01", "str"), (None, "None")):
        rows.append(case(f"make | leaky_slope {desc}", arg("leaky_slope"),
                         lambda slope=slope: th_act.make("leaky_relu", leaky_slope=slope)))
        rows.append(case(f"apply | leaky_slope {desc}", arg("leaky_slope"),
                         lambda slope=slope: th_act.apply("leaky_relu", xt(), leaky_slope=slope)))
    return rows


@pytest.mark.parametrize("build, match", _th_activation_cases())
def test_torch_activations(build, match):
    expect_value_error(build, match)
