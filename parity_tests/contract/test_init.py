"""The bad-input contract of init: parameter initialisation (``initialize_parameters``, torch's
``init_linear_``).

For both ``scratch_numpy/init.py`` and ``reference_torch/init.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* the bad-input tables: each row's call must raise a ValueError naming the argument.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import strategies as st
from torch import nn

from parity_tests.contract.bad_input import case, expect_value_error
from parity_tests.contract.fuzzing import (
    DTYPES, TH_DTYPES, draw_layer_dims, finite, fuzz, fuzz_test, make_case, same_dtype, spoil_device,
    spoil_generator, spoil_layer_dims, spoil_np_dtype, spoil_rng, spoil_th_dtype,
)
from parity_tests.contract.strategies import Bad, arg, size, spoil_choice
from reference_torch import init as th_init
from scratch_numpy import init as np_init


@fuzz("np.init.initialize_parameters", 50)
def _np_initialize_parameters(draw):
    dims = draw_layer_dims(draw)
    valid = {"layer_dims": draw(st.sampled_from([list, tuple, np.array]))(dims),
             "method": draw(st.sampled_from(np_init.METHODS)), "rng": draw(st.sampled_from([0, 7, "generator", "rs"])),
             "dtype": draw(st.sampled_from(DTYPES))}
    valid["rng"] = {"generator": np.random.default_rng(1), "rs": np.random.RandomState(1)}.get(valid["rng"], valid["rng"])

    def check(params, kw):
        assert list(params) == [f"{p}{l}" for l in range(1, len(dims)) for p in "Wb"]
        for l in range(1, len(dims)):
            assert params[f"W{l}"].shape == (dims[l], dims[l - 1]) and params[f"b{l}"].shape == (dims[l], 1)
            same_dtype(params[f"W{l}"], kw["dtype"])
            assert not params[f"b{l}"].any() and (params[f"W{l}"].any() or kw["method"] == "zeros" or dims[l] * dims[l - 1] == 0)
            finite(params[f"W{l}"])
    return make_case(draw, np_init.initialize_parameters, valid, {
        "layer_dims": spoil_layer_dims, "method": lambda d: spoil_choice(d, "method", np_init.METHODS),
        "rng": spoil_rng, "dtype": spoil_np_dtype}, check)


@fuzz("th.init.initialize_parameters", 40)
def _th_initialize_parameters(draw):
    dims = draw_layer_dims(draw)

    def check(params, kw):
        for l in range(1, len(dims)):
            assert params[f"W{l}"].shape == (dims[l], dims[l - 1]) and params[f"b{l}"].shape == (dims[l],)
            assert params[f"W{l}"].dtype == kw["dtype"] and not params[f"b{l}"].any()
    return make_case(draw, th_init.initialize_parameters, {
        "layer_dims": dims, "method": draw(st.sampled_from(list(th_init.INITIALIZERS))),
        "generator": torch.Generator().manual_seed(draw(st.integers(0, 9))) if draw(st.booleans()) else None,
        "dtype": draw(st.sampled_from(list(TH_DTYPES.values()))), "device": "cpu"}, {
        "layer_dims": spoil_layer_dims, "method": lambda d: spoil_choice(d, "method", th_init.INITIALIZERS),
        "generator": spoil_generator, "dtype": spoil_th_dtype, "device": spoil_device}, check)


@fuzz("th.init.init_linear_", 30)
def _th_init_linear(draw):
    layer = nn.Linear(size(draw), size(draw), bias=draw(st.booleans()), dtype=torch.float64)
    return make_case(draw, th_init.init_linear_, {"layer": layer, "method": draw(st.sampled_from(
        list(th_init.INITIALIZERS))), "generator": None}, {
        "layer": lambda d: Bad(d(st.sampled_from([None, nn.ReLU(), "linear"])), "layer", ("layer",)),
        "method": lambda d: spoil_choice(d, "method", th_init.INITIALIZERS), "generator": spoil_generator},
        lambda out, kw: out is layer or pytest.fail("not the layer"))


test_fuzz = fuzz_test(__name__)


NP_RNG_BAD = [(-1, "negative"), (1.5, "float"), ("0", "str"), (None, "None"), (True, "bool"),
              ([0], "list"), (np.random, "the np.random module")]


@pytest.mark.parametrize("build, match", [
    *[case(f"as_rng | {desc}", arg("rng"), lambda r=r: np_init.as_rng(r)) for r, desc in NP_RNG_BAD],
    *[case(f"initialize_parameters | rng {desc}", arg("rng"),
           lambda r=r: np_init.initialize_parameters([2, 1], rng=r)) for r, desc in NP_RNG_BAD],
    case("initialize_parameters | method unknown", arg("method"),
         lambda: np_init.initialize_parameters([2, 1], "kaiming")),
    case("initialize_parameters | method wrong case", arg("method"),
         lambda: np_init.initialize_parameters([2, 1], "He")),
    case("initialize_parameters | method None", arg("method"), lambda: np_init.initialize_parameters([2, 1], None)),
    case("initialize_parameters | method list", arg("method"),
         lambda: np_init.initialize_parameters([2, 1], ["he"]), None),
    case("initialize_parameters | dtype float16", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype="float16")),
    case("initialize_parameters | dtype int64", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype="int64")),
    case("initialize_parameters | dtype np.float32 type", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype=np.float32)),
    case("initialize_parameters | dtype None", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype=None)),
    case("initialize_parameters | layer_dims [3]", arg("layer_dims"), lambda: np_init.initialize_parameters([3])),
    case("initialize_parameters | layer_dims []", arg("layer_dims"), lambda: np_init.initialize_parameters([])),
    case("initialize_parameters | layer_dims zero", re.escape("layer_dims[1]"),
         lambda: np_init.initialize_parameters([3, 0])),
    case("initialize_parameters | layer_dims negative", re.escape("layer_dims[1]"),
         lambda: np_init.initialize_parameters([3, -1])),
    case("initialize_parameters | layer_dims float", re.escape("layer_dims[1]"),
         lambda: np_init.initialize_parameters([3, 2.0])),
    case("initialize_parameters | layer_dims int", arg("layer_dims"),
         lambda: np_init.initialize_parameters(3), None),
])
def test_numpy_init(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    *[case(f"init_linear_ | method {desc}", arg("method"), lambda m=m: th_init.init_linear_(nn.Linear(2, 3), m))
      for m, desc in (("kaiming", "unknown"), ("He", "wrong case"), (None, "None"))],
    case("init_linear_ | layer not nn.Linear", arg("layer"), lambda: th_init.init_linear_(nn.ReLU()), None),
    case("init_linear_ | generator int", arg("generator"), lambda: th_init.init_linear_(nn.Linear(2, 3), "he", 0), None),
    *[case(f"initialize_parameters | method {desc}", arg("method"),
           lambda m=m: th_init.initialize_parameters([2, 1], m))
      for m, desc in (("kaiming", "unknown"), ("He", "wrong case"), (None, "None"))],
    case("initialize_parameters | method list", arg("method"),
         lambda: th_init.initialize_parameters([2, 1], ["he"]), None),
    case("initialize_parameters | layer_dims [3]", arg("layer_dims"), lambda: th_init.initialize_parameters([3])),
    case("initialize_parameters | layer_dims zero", re.escape("layer_dims[1]"),
         lambda: th_init.initialize_parameters([3, 0])),
    case("initialize_parameters | layer_dims float", re.escape("layer_dims[1]"),
         lambda: th_init.initialize_parameters([3, 1.5])),
    case("initialize_parameters | layer_dims int", arg("layer_dims"),
         lambda: th_init.initialize_parameters(3), None),
    case("initialize_parameters | dtype a string", arg("dtype"),
         lambda: th_init.initialize_parameters([2, 1], dtype="float64"), None),
    case("initialize_parameters | dtype int64", arg("dtype"),
         lambda: th_init.initialize_parameters([2, 1], dtype=torch.int64), None),
    case("initialize_parameters | device 'gpu'", arg("device"),
         lambda: th_init.initialize_parameters([2, 1], device="gpu"), None),
    case("initialize_parameters | generator int", arg("generator"),
         lambda: th_init.initialize_parameters([2, 1], generator=0), None),
])
def test_torch_init(build, match):
    expect_value_error(build, match)
