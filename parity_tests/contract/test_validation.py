"""The bad-input contract of validation: the shared checks themselves.

For both ``scratch_numpy/validation.py`` and ``reference_torch/validation.py``:

* the bad-input tables: each row's call must raise a ValueError naming the argument.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from parity_tests.contract.bad_input import LABELS2, LABELS3, M, case, expect_value_error, poke, yn, yt
from parity_tests.contract.strategies import INF, NAN, arg
from reference_torch import validation as th_val
from scratch_numpy import validation as np_val


@pytest.mark.parametrize("build, match", [
    case("check_float_array list", arg("A"), lambda: np_val.check_float_array("A", [[1.0]])),
    case("check_float_array None", arg("A"), lambda: np_val.check_float_array("A", None)),
    case("check_float_array int", arg("A"), lambda: np_val.check_float_array("A", np.ones((2, 2), int))),
    case("check_float_array float16", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2), np.float16))),
    case("check_float_array complex", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2), complex))),
    case("check_float_array dtype pin", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2), np.float32), dtype=np.float64)),
    case("check_float_array rank-1", "rank-1", lambda: np_val.check_float_array("A", np.ones(2))),
    case("check_float_array rank-3", arg("A"), lambda: np_val.check_float_array("A", np.ones((1, 2, 2)))),
    case("check_float_array ndim=1 given 2-D", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2)), ndim=1)),
    case("check_float_array shape", re.escape("(3, *)"),
         lambda: np_val.check_float_array("A", np.ones((2, 2)), shape=(3, None))),
    case("check_float_array empty", arg("A"), lambda: np_val.check_float_array("A", np.ones((2, 0)))),
    case("check_float_array NaN", arg("A"), lambda: np_val.check_float_array("A", poke(np.ones((2, 2)), NAN))),
    case("check_float_array -inf", arg("A"),
         lambda: np_val.check_float_array("A", poke(np.ones((2, 2)), -INF))),
    case("check_same_shape", arg("dA"),
         lambda: np_val.check_same_shape("dA", np.ones((2, 3)), "Z", np.ones((3, 2)))),
    case("check_labels not array", arg("Y"), lambda: np_val.check_labels("Y", [[0, 1]], m=2, num_classes=2)),
    case("check_labels rank-1 of another length", arg("Y"),
         lambda: np_val.check_labels("Y", np.array([0, 1, 1]), m=2, num_classes=2)),
    case("check_labels rank-1 where strict", arg("Y"),
         lambda: np_val.check_labels("Y", np.array([0, 1]), m=2, num_classes=2, relaxed=False)),
    case("check_labels m", arg("Y"), lambda: np_val.check_labels("Y", yn(), m=3, num_classes=2)),
    case("check_labels range", arg("Y"), lambda: np_val.check_labels("Y", yn(LABELS3), m=4, num_classes=2)),
    case("check_labels negative", arg("Y"), lambda: np_val.check_labels("Y", yn((0, -1)), m=2, num_classes=2)),
    case("check_labels fractional", arg("Y"),
         lambda: np_val.check_labels("Y", yn((0, 0.5), np.float64), m=2, num_classes=2)),
    case("check_labels NaN", arg("Y"),
         lambda: np_val.check_labels("Y", yn((0, NAN), np.float64), m=2, num_classes=2)),
    case("check_labels bool", arg("Y"),
         lambda: np_val.check_labels("Y", np.array([[True, False]]), m=2, num_classes=3)),
    case("check_labels strings", arg("Y"),
         lambda: np_val.check_labels("Y", np.array([["0", "1"]]), m=2, num_classes=2)),
    case("check_labels empty", arg("Y"),
         lambda: np_val.check_labels("Y", yn(()), m=0, num_classes=2), None),
    case("check_positive 0", arg("lr"), lambda: np_val.check_positive("lr", 0)),
    case("check_positive negative, allow_zero", arg("lr"), lambda: np_val.check_positive("lr", -1e-9, allow_zero=True)),
    case("check_positive NaN", arg("lr"), lambda: np_val.check_positive("lr", NAN)),
    case("check_positive inf", arg("lr"), lambda: np_val.check_positive("lr", INF)),
    case("check_positive str", arg("lr"), lambda: np_val.check_positive("lr", "1")),
    case("check_positive None", arg("lr"), lambda: np_val.check_positive("lr", None)),
    case("check_positive bool", arg("lr"), lambda: np_val.check_positive("lr", True)),
    case("check_positive complex", arg("lr"), lambda: np_val.check_positive("lr", 1 + 0j)),
    case("check_count 0", arg("n"), lambda: np_val.check_count("n", 0)),
    case("check_count float", arg("n"), lambda: np_val.check_count("n", 2.0)),
    case("check_count bool", arg("n"), lambda: np_val.check_count("n", True)),
    case("check_count str", arg("n"), lambda: np_val.check_count("n", "2")),
    case("check_count below minimum", arg("n"), lambda: np_val.check_count("n", 1, minimum=2)),
    case("check_choice unknown", arg("method"), lambda: np_val.check_choice("method", "x", ("a", "b"))),
    case("check_choice None", arg("method"), lambda: np_val.check_choice("method", None, {"a": 1})),
    case("check_choice list, tuple choices", arg("method"),
         lambda: np_val.check_choice("method", ["a"], ("a", "b"))),
    case("check_choice list, dict choices", arg("method"),
         lambda: np_val.check_choice("method", ["a"], {"a": 1}), None),
    case("check_params not a mapping", arg("params"), lambda: np_val.check_params("params", [1], keys=("W1",))),
    case("check_params missing", arg("params"),
         lambda: np_val.check_params("params", {"W1": np.ones((1, 1))}, keys=("W1", "b1"))),
])
def test_numpy_validation_helpers(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    case("check_tensor numpy", arg("A"), lambda: th_val.check_tensor("A", np.ones((2, 2)))),
    case("check_tensor list", arg("A"), lambda: th_val.check_tensor("A", [[1.0]])),
    case("check_tensor int64", arg("A"), lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.int64))),
    case("check_tensor float16", arg("A"), lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.float16))),
    case("check_tensor dtype pin", arg("A"),
         lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.float32), dtype=torch.float64)),
    case("check_tensor rank-1", arg("A"), lambda: th_val.check_tensor("A", torch.ones(2, dtype=torch.float64))),
    case("check_tensor rank-3", arg("A"), lambda: th_val.check_tensor("A", torch.ones(1, 2, 2, dtype=torch.float64))),
    case("check_tensor shape", re.escape("(*, 3)"),
         lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.float64), shape=(None, 3))),
    case("check_tensor empty", arg("A"), lambda: th_val.check_tensor("A", torch.ones(0, 2, dtype=torch.float64))),
    case("check_tensor NaN", arg("A"),
         lambda: th_val.check_tensor("A", poke(torch.ones(2, 2, dtype=torch.float64), NAN))),
    case("check_labels numpy", arg("y"), lambda: th_val.check_labels("y", np.array(LABELS2), m=M, num_classes=2)),
    case("check_labels int32", arg("y"), lambda: th_val.check_labels("y", yt().int(), m=M, num_classes=2)),
    case("check_labels float", arg("y"), lambda: th_val.check_labels("y", yt().double(), m=M, num_classes=2)),
    case("check_labels (m, 1)", arg("y"), lambda: th_val.check_labels("y", yt()[:, None], m=M, num_classes=2)),
    case("check_labels m", arg("y"), lambda: th_val.check_labels("y", yt(), m=M + 1, num_classes=2)),
    case("check_labels range", arg("y"), lambda: th_val.check_labels("y", yt(LABELS3), m=M, num_classes=2)),
    case("check_labels negative", arg("y"), lambda: th_val.check_labels("y", yt((0, -1)), m=2, num_classes=2)),
    case("check_labels empty", arg("y"), lambda: th_val.check_labels("y", yt(()), m=0, num_classes=2), None),
])
def test_torch_validation_helpers(build, match):
    expect_value_error(build, match)
