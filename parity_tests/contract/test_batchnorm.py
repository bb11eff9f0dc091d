"""The bad-input contract of batchnorm: batch normalisation (``batchnorm_forward``/``backward``,
running statistics; torch's ``batch_norm``, ``apply``).

For both ``scratch_numpy/batchnorm.py`` and ``reference_torch/batchnorm.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from torch import nn

from parity_tests.contract.fuzzing import (
    DTYPES, TH_DTYPES, close, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, same_dtype, spoil_cache,
    spoil_device, spoil_np_dtype, spoil_th_dtype, th, tiny_xn, tiny_xt, tol,
)
from parity_tests.contract.strategies import (
    Bad, as_tensor, np_floats, seeded_rng, size, spoil_array, spoil_count, spoil_flag, spoil_negative,
    spoil_positive, spoil_tensor, spoil_unit,
)
from reference_torch import batchnorm as th_bn
from scratch_numpy import batchnorm as np_bn


def _spoil_running(draw, running, n) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "negative var", "keys", "not a dict"]))
    if kind == "negative var":
        return Bad({**running, "var": spoil_negative("running['var']", running["var"]).value}, kind, ("var",))
    if kind == "entry":
        key = draw(st.sampled_from(["mean", "var"]))
        bad = spoil_array(draw, f"running['{key}']", running[key], fixed=(0, 1))
        return Bad({**running, key: bad.value}, f"running[{key}] {bad.kind}", (key, "running"))
    if kind == "keys":
        return Bad({"mean": running["mean"]}, kind, ("running",))
    return Bad([running["mean"], running["var"]], kind, ("running",))


def _bn_case(draw):
    dtype, n = draw(st.sampled_from(DTYPES)), size(draw)
    train = draw(st.booleans())
    m = size(draw, 2 if train else 1, 6)
    Z = np_floats(draw, (n, m), dtype, scale=draw(st.sampled_from([0.01, 1.0, 100.0])), zeros=False)
    gamma, beta = np_floats(draw, (n, 1), dtype, scale=1.0), np_floats(draw, (n, 1), dtype, scale=1.0)
    rng = seeded_rng(draw)
    running = {"mean": rng.standard_normal((n, 1)).astype(dtype), "var": rng.uniform(0.5, 2, (n, 1)).astype(dtype)}
    hp = {"beta_momentum": draw(st.sampled_from([0.0, 0.5, 0.9, np.float64(0.99)])),
          "eps": draw(st.sampled_from([1e-5, 1e-3, 1e-8]))}
    module = th_bn.batch_norm(n, beta_momentum=hp["beta_momentum"], eps=hp["eps"], dtype=TH_DTYPES[dtype])
    with torch.no_grad():
        module.weight.copy_(th(gamma[:, 0])), module.bias.copy_(th(beta[:, 0]))
        module.running_mean.copy_(th(running["mean"][:, 0])), module.running_var.copy_(th(running["var"][:, 0]))
    module.train(train)
    return dtype, n, m, train, Z, gamma, beta, running, hp, module


@fuzz("np.batchnorm.batchnorm_forward", 60)
def _np_bn_forward(draw):
    dtype, n, m, train, Z, gamma, beta, running, hp, module = _bn_case(draw)
    valid = {"Z": Z, "gamma": gamma, "beta": beta, "running": dict(running), "train": train, **hp,
             "unbiased_running_var": True}

    def check(out, kw):
        Zt, cache = out
        assert isinstance(cache, np_bn.BatchNormCache)
        same_dtype(Zt, dtype)
        with torch.no_grad():
            expected = th_bn.apply(module, th(Z).T).T
        close(Zt, expected, "Z_tilde", dtype=dtype, scale=max(1.0, np.abs(Zt).max()), rtol=3 * tol(dtype))
        close(kw["running"]["mean"][:, 0], module.running_mean, "running_mean", dtype=dtype, scale=max(1, np.abs(Z).max()))
        close(kw["running"]["var"][:, 0], module.running_var, "running_var", dtype=dtype,
              scale=max(1, np.abs(Z).max() ** 2))
    return make_case(draw, np_bn.batchnorm_forward, valid, {
        "Z": lambda d: spoil_array(d, "Z", Z, pinned=False, also=("gamma", "beta", "running")),
        "gamma": lambda d: spoil_array(d, "gamma", gamma, fixed=(0, 1)),
        "beta": lambda d: spoil_array(d, "beta", beta, fixed=(0, 1)),
        "running": lambda d: _spoil_running(d, running, n),
        "train": lambda d: spoil_flag(d, "train"),
        "unbiased_running_var": lambda d: spoil_flag(d, "unbiased_running_var"),
        "beta_momentum": lambda d: spoil_unit(d, "beta_momentum", closed_low=True, closed_high=False),
        "eps": lambda d: spoil_positive(d, "eps")}, check)


@fuzz("np.batchnorm.batchnorm_backward", 50)
def _np_bn_backward(draw):
    dtype, n, m, train, Z, gamma, beta, running, hp, module = _bn_case(draw)
    _, cache = np_bn.batchnorm_forward(Z, gamma, beta, dict(running), train=train, **hp)
    dout = np_floats(draw, (n, m), dtype, scale=1.0)

    def check(out, kw):
        dZ, dgamma, dbeta = out
        Zt = th(Z).T.requires_grad_()
        outt = th_bn.apply(module, Zt)
        gZ, gg, gb = torch.autograd.grad(outt, (Zt, module.weight, module.bias), th(dout).T)
        s = max(1.0, np.abs(dZ).max(), np.abs(dgamma).max() * m)
        close(dZ, gZ.T, "dZ", dtype=dtype, scale=s, rtol=10 * tol(dtype))
        close(dgamma, gg[:, None] / m, "dgamma", dtype=dtype, scale=s, rtol=10 * tol(dtype))
        close(dbeta, gb[:, None] / m, "dbeta", dtype=dtype, scale=s, rtol=10 * tol(dtype))
    return make_case(draw, np_bn.batchnorm_backward, {"dout": dout, "cache": cache}, {
        "dout": lambda d: spoil_array(d, "dout", dout, fixed=(0, 1)),
        "cache": lambda d: spoil_cache(d, "cache", cache)}, check)


@fuzz("np.batchnorm.init_running", 25)
def _np_init_running(draw):
    def check(out, kw):
        assert set(out) == {"mean", "var"} and out["mean"].shape == (kw["n"], 1)
        assert not out["mean"].any() and (out["var"] == 1).all()
        same_dtype(out["var"], kw["dtype"])
    return make_case(draw, np_bn.init_running, {"n": size(draw), "dtype": draw(st.sampled_from(DTYPES))},
                     {"n": lambda d: spoil_count(d, "n"), "dtype": spoil_np_dtype}, check)


@fuzz("th.batchnorm.batch_norm", 25)
def _th_batch_norm(draw):
    def check(module, kw):
        assert isinstance(module, nn.BatchNorm1d) and module.momentum == pytest.approx(1 - kw["beta_momentum"])
    return make_case(draw, th_bn.batch_norm, {"n": size(draw), "beta_momentum": draw(st.sampled_from([0.0, 0.9])),
                                              "eps": 1e-5, "dtype": draw(st.sampled_from(list(TH_DTYPES.values()))),
                                              "device": "cpu"}, {
        "n": lambda d: spoil_count(d, "n"), "eps": lambda d: spoil_positive(d, "eps"),
        "beta_momentum": lambda d: spoil_unit(d, "beta_momentum", closed_low=True, closed_high=False),
        "dtype": spoil_th_dtype, "device": spoil_device}, check)


@fuzz("th.batchnorm.apply", 50)
def _th_bn_apply(draw):
    dtype, n, m, train, Z, gamma, beta, running, hp, module = _bn_case(draw)
    Zt = as_tensor(draw, Z.T.copy())

    def check(out, kw):
        expected, _ = np_bn.batchnorm_forward(Z, gamma, beta, dict(running), train=train, **hp)
        close(out.T, expected, "Z_tilde", dtype=dtype, scale=max(1.0, np.abs(expected).max()), rtol=3 * tol(dtype))
    return make_case(draw, th_bn.apply, {"module": module, "Z": Zt}, {
        "Z": lambda d: spoil_tensor(d, "Z", Zt, fixed=(1,)),
        "module": lambda d: _spoil_bn_module(d, module)}, check)


def _spoil_bn_module(draw, module) -> Bad:
    """Not an nn.BatchNorm1d, or one whose running variance is negative (refused in eval mode, where it is
    used)."""
    if draw(st.booleans()):
        return Bad(draw(st.sampled_from([None, nn.Linear(2, 2), "bn"])), "module", ("module",))
    bad = copy.deepcopy(module)
    with torch.no_grad():
        bad.running_var[0] = -1.0
    return Bad(bad, "a negative running_var", ("running_var",), must_fail=not module.training)


def _th_eval_bn(running_var):
    module = th_bn.batch_norm(2).eval()
    module.running_var.fill_(running_var)
    return th_bn.apply(module, tiny_xt())


FIXED_GAPS = [
    fixed("init_running-dtype", lambda: np_bn.init_running(3, "float16"), "dtype"),
    fixed("th-batch_norm-dtype", lambda: th_bn.batch_norm(3, dtype=torch.int64), "dtype"),
    fixed("th-batch_norm-n-2**62", lambda: th_bn.batch_norm(2 ** 62), "n"),
    # values
    fixed("batchnorm_forward-negative-var", lambda: np_bn.batchnorm_forward(
        tiny_xn(), np.ones((2, 1)), np.zeros((2, 1)), {"mean": np.zeros((2, 1)), "var": -np.ones((2, 1))}, train=False),
        "running['var']"),
    fixed("th-batchnorm-negative-var", lambda: _th_eval_bn(-1.0), "running_var"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
