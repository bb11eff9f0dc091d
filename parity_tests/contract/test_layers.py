"""The bad-input contract of layers: the linear layer (``linear_forward``/``linear_backward``;
torch's ``linear``, ``linear_forward``).

For both ``scratch_numpy/layers.py`` and ``reference_torch/layers.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* the bad-input tables: each row's call must raise a ValueError naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from torch import nn

from parity_tests.contract.bad_input import (
    HIDDEN, M, N_X, case, expect_value_error, lin_bwd, lin_fwd, poke, th_lin_fwd, xn, xt,
)
from parity_tests.contract.fuzzing import (
    DTYPES, TH_DTYPES, close, fuzz, fuzz_test, make_case, same_dtype, spoil_cache, spoil_device, spoil_th_dtype, th,
    th_floats,
)
from parity_tests.contract.strategies import NAN, arg, np_floats, size, spoil_array, spoil_count, spoil_tensor
from reference_torch import layers as th_layers
from scratch_numpy import layers as np_layers


@fuzz("np.layers.linear_forward", 80)
def _np_linear_forward(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n, n_prev, m = size(draw), size(draw), size(draw)
    A, W, b = (np_floats(draw, s, dtype, scale=1.0) for s in ((n_prev, m), (n, n_prev), (n, 1)))

    def check(out, kw):
        Z, cache = out
        assert isinstance(cache, np_layers.LinearCache)
        same_dtype(Z, dtype)
        close(Z, th_layers.linear_forward(th(A).T, th(W), th(b)[:, 0]).T, "Z", dtype=dtype, scale=10 * n_prev)
    return make_case(draw, np_layers.linear_forward, {"A_prev": A, "W": W, "b": b}, {
        "A_prev": lambda d: spoil_array(d, "A_prev", A, fixed=(0,)),
        "W": lambda d: spoil_array(d, "W", W, fixed=(0, 1), also=("A_prev", "b")),
        "b": lambda d: spoil_array(d, "b", b, fixed=(0, 1))}, check)


@fuzz("np.layers.linear_backward", 60)
def _np_linear_backward(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n, n_prev, m = size(draw), size(draw), size(draw)
    A, W, b, dZ = (np_floats(draw, s, dtype, scale=1.0) for s in ((n_prev, m), (n, n_prev), (n, 1), (n, m)))
    _, cache = np_layers.linear_forward(A, W, b)

    def check(out, kw):
        dA, dW, db = out
        At, Wt, bt = (th(x).requires_grad_() for x in (A.T, W, b[:, 0]))
        Z = nn.functional.linear(At, Wt, bt)
        gA, gW, gb = torch.autograd.grad(Z, (At, Wt, bt), th(dZ).T)
        scale = 10 * max(n, n_prev, m)
        close(dA, gA.T, "dA_prev", dtype=dtype, scale=scale)
        close(dW, gW / m, "dW", dtype=dtype, scale=scale)
        close(db, gb[:, None] / m, "db", dtype=dtype, scale=scale)
    return make_case(draw, np_layers.linear_backward, {"dZ": dZ, "cache": cache}, {
        "dZ": lambda d: spoil_array(d, "dZ", dZ, fixed=(0, 1)),
        "cache": lambda d: spoil_cache(d, "cache", cache)}, check)


@fuzz("th.layers.linear", 25)
def _th_linear(draw):
    n_prev, n = size(draw), size(draw)

    def check(layer, kw):
        assert layer.weight.shape == (n, n_prev) and layer.weight.dtype == kw["dtype"]
    return make_case(draw, th_layers.linear, {"n_prev": n_prev, "n": n, "dtype": draw(st.sampled_from(
        list(TH_DTYPES.values()))), "device": "cpu"}, {
        "n_prev": lambda d: spoil_count(d, "n_prev"), "n": lambda d: spoil_count(d, "n"),
        "dtype": spoil_th_dtype, "device": spoil_device}, check)


@fuzz("th.layers.linear_forward", 60)
def _th_linear_forward(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n, n_prev, m = size(draw), size(draw), size(draw)
    (A, At), (W, Wt), (b, bt) = (th_floats(draw, s, dtype, scale=1.0) for s in ((m, n_prev), (n, n_prev), (n,)))

    def check(Z, kw):
        same_dtype(Z, TH_DTYPES[dtype])
        close(Z, np_layers.linear_forward(A.T, W, b[:, None])[0].T, "Z", dtype=dtype, scale=10 * n_prev)
    return make_case(draw, th_layers.linear_forward, {"A_prev": At, "W": Wt, "b": bt}, {
        "A_prev": lambda d: spoil_tensor(d, "A_prev", At, fixed=(1,)),
        "W": lambda d: spoil_tensor(d, "W", Wt, fixed=(0, 1), also=("A_prev", "b")),
        "b": lambda d: spoil_tensor(d, "b", bt, fixed=(0,), exclude=("rank-down",) if n == 1 else ())}, check)


test_fuzz = fuzz_test(__name__)


@pytest.mark.parametrize("build, match", [
    case("linear_forward | W list", arg("W"), lambda: lin_fwd(W=lambda: xn(HIDDEN, N_X).tolist())),
    case("linear_forward | W int", arg("W"), lambda: lin_fwd(W=lambda: np.ones((HIDDEN, N_X), int))),
    case("linear_forward | W rank-1", arg("W"), lambda: lin_fwd(W=lambda: np.ones(N_X))),
    case("linear_forward | W rank-3", arg("W"), lambda: lin_fwd(W=lambda: np.ones((1, HIDDEN, N_X)))),
    case("linear_forward | W empty", arg("W"), lambda: lin_fwd(W=lambda: np.ones((0, N_X)))),
    case("linear_forward | W NaN", arg("W"), lambda: lin_fwd(W=lambda: poke(xn(HIDDEN, N_X), NAN))),
    case("linear_forward | W transposed", arg("A_prev"), lambda: lin_fwd(W=lambda: xn(N_X, HIDDEN))),
    case("linear_forward | A_prev wrong n_prev", arg("A_prev"), lambda: lin_fwd(A_prev=lambda: xn(N_X + 1))),
    case("linear_forward | A_prev batch-first", arg("A_prev"), lambda: lin_fwd(A_prev=lambda: xn().T.copy())),
    case("linear_forward | A_prev rank-1", arg("A_prev"), lambda: lin_fwd(A_prev=lambda: xn()[:, 0].copy())),
    case("linear_forward | A_prev float32", arg("A_prev"), lambda: lin_fwd(A_prev=lambda: xn(dtype=np.float32))),
    case("linear_forward | A_prev int", arg("A_prev"),
         lambda: lin_fwd(A_prev=lambda: np.ones((N_X, M), np.int64))),
    case("linear_forward | A_prev NaN", arg("A_prev"), lambda: lin_fwd(A_prev=lambda: poke(xn(), NAN))),
    case("linear_forward | A_prev empty m=0", arg("A_prev"), lambda: lin_fwd(A_prev=lambda: xn(m=0))),
    case("linear_forward | A_prev list", arg("A_prev"), lambda: lin_fwd(A_prev=lambda: xn().tolist())),
    case("linear_forward | b rank-1 (n,)", arg("b"), lambda: lin_fwd(b=lambda: np.zeros(HIDDEN))),
    case("linear_forward | b row (1, n)", arg("b"), lambda: lin_fwd(b=lambda: np.zeros((1, HIDDEN)))),
    case("linear_forward | b (n, m)", arg("b"), lambda: lin_fwd(b=lambda: np.zeros((HIDDEN, M)))),
    case("linear_forward | b (n + 1, 1)", arg("b"), lambda: lin_fwd(b=lambda: np.zeros((HIDDEN + 1, 1)))),
    case("linear_forward | b (1, 1)", arg("b"), lambda: lin_fwd(b=lambda: np.zeros((1, 1)))),
    case("linear_forward | b scalar", arg("b"), lambda: lin_fwd(b=lambda: 0.0)),
    case("linear_forward | b float32", arg("b"), lambda: lin_fwd(b=lambda: np.zeros((HIDDEN, 1), np.float32))),
    case("linear_forward | b int", arg("b"), lambda: lin_fwd(b=lambda: np.zeros((HIDDEN, 1), int))),
    case("linear_forward | b NaN", arg("b"), lambda: lin_fwd(b=lambda: poke(np.zeros((HIDDEN, 1)), NAN))),
    case("linear_backward | dZ wrong n", arg("dZ"), lambda: lin_bwd(lambda: xn(HIDDEN + 1))),
    case("linear_backward | dZ wrong m", arg("dZ"), lambda: lin_bwd(lambda: xn(HIDDEN, M + 1))),
    case("linear_backward | dZ transposed", arg("dZ"), lambda: lin_bwd(lambda: xn(M, HIDDEN))),
    case("linear_backward | dZ rank-1", arg("dZ"), lambda: lin_bwd(lambda: xn(HIDDEN)[:, 0].copy())),
    case("linear_backward | dZ float32", arg("dZ"), lambda: lin_bwd(lambda: xn(HIDDEN, dtype=np.float32))),
    case("linear_backward | dZ int", arg("dZ"), lambda: lin_bwd(lambda: np.ones((HIDDEN, M), int))),
    case("linear_backward | dZ NaN", arg("dZ"), lambda: lin_bwd(lambda: poke(xn(HIDDEN), NAN))),
    case("linear_backward | dZ list", arg("dZ"), lambda: lin_bwd(lambda: xn(HIDDEN).tolist())),
    case("linear_backward | cache None", arg("cache"), lambda: lin_bwd(lambda: xn(HIDDEN), cache=None), None),
])
def test_numpy_layers(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    case("linear_forward | W numpy", arg("W"), lambda: th_lin_fwd(W=lambda: xn(HIDDEN, N_X))),
    case("linear_forward | W int", arg("W"), lambda: th_lin_fwd(W=lambda: torch.ones(HIDDEN, N_X, dtype=torch.int64))),
    case("linear_forward | W rank-1", arg("W"), lambda: th_lin_fwd(W=lambda: torch.ones(N_X, dtype=torch.float64))),
    case("linear_forward | W empty", arg("W"), lambda: th_lin_fwd(W=lambda: torch.ones(0, N_X, dtype=torch.float64))),
    case("linear_forward | W NaN", arg("W"), lambda: th_lin_fwd(W=lambda: poke(xt(N_X, HIDDEN), NAN))),
    case("linear_forward | W transposed", arg("A_prev"), lambda: th_lin_fwd(W=lambda: xt(HIDDEN, N_X))),
    case("linear_forward | A_prev wrong n_prev", arg("A_prev"), lambda: th_lin_fwd(A_prev=lambda: xt(N_X + 1))),
    case("linear_forward | A_prev columns layout", arg("A_prev"),
         lambda: th_lin_fwd(A_prev=lambda: xt().T.contiguous())),
    case("linear_forward | A_prev rank-1", arg("A_prev"), lambda: th_lin_fwd(A_prev=lambda: xt()[0].clone())),
    case("linear_forward | A_prev float32", arg("A_prev"), lambda: th_lin_fwd(A_prev=lambda: xt(dtype=torch.float32))),
    case("linear_forward | A_prev int", arg("A_prev"),
         lambda: th_lin_fwd(A_prev=lambda: torch.ones(M, N_X, dtype=torch.int64))),
    case("linear_forward | A_prev NaN", arg("A_prev"), lambda: th_lin_fwd(A_prev=lambda: poke(xt(), NAN))),
    case("linear_forward | A_prev empty", arg("A_prev"), lambda: th_lin_fwd(A_prev=lambda: xt(m=0))),
    case("linear_forward | A_prev numpy", arg("A_prev"), lambda: th_lin_fwd(A_prev=lambda: xn().T.copy())),
    case("linear_forward | b (n, 1)", arg("b"), lambda: th_lin_fwd(b=lambda: torch.zeros(HIDDEN, 1, dtype=torch.float64))),
    case("linear_forward | b (n + 1,)", arg("b"), lambda: th_lin_fwd(b=lambda: torch.zeros(HIDDEN + 1, dtype=torch.float64))),
    case("linear_forward | b (1,)", arg("b"), lambda: th_lin_fwd(b=lambda: torch.zeros(1, dtype=torch.float64))),
    case("linear_forward | b 0-d", arg("b"), lambda: th_lin_fwd(b=lambda: torch.tensor(0.0, dtype=torch.float64))),
    case("linear_forward | b float32", arg("b"), lambda: th_lin_fwd(b=lambda: torch.zeros(HIDDEN))),
    case("linear_forward | b int", arg("b"), lambda: th_lin_fwd(b=lambda: torch.zeros(HIDDEN, dtype=torch.int64))),
    case("linear_forward | b NaN", arg("b"),
         lambda: th_lin_fwd(b=lambda: poke(torch.zeros(HIDDEN, dtype=torch.float64), NAN))),
    case("linear_forward | b numpy", arg("b"), lambda: th_lin_fwd(b=lambda: np.zeros(HIDDEN))),
    *[case(f"linear | {name} {desc}", arg(name),
           lambda name=name, v=v: th_layers.linear(**{"n_prev": 2, "n": 3, name: v}))
      for name in ("n_prev", "n") for v, desc in ((0, "0"), (-1, "negative"), (1.5, "float"),
                                                 (True, "bool"), ("3", "str"), (None, "None"))],
    case("linear | dtype a string", arg("dtype"), lambda: th_layers.linear(2, 3, dtype="float64"),
         None),
    case("linear | dtype int64", arg("dtype"), lambda: th_layers.linear(2, 3, dtype=torch.int64),
         None),
    case("linear | device 'gpu'", arg("device"), lambda: th_layers.linear(2, 3, device="gpu"),
         None),
])
def test_torch_layers(build, match):
    expect_value_error(build, match)
