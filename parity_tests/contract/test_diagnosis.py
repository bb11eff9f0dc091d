"""The bad-input contract of diagnosis: bias/variance diagnosis (``diagnose``, ``diagnose_network``;
torch's ``diagnose_model``).

For both ``scratch_numpy/diagnosis.py`` and ``reference_torch/diagnosis.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    NOT_A_MODEL, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, NetCase, spoil_model, spoil_net_params,
    spoil_network, tiny_np_net, tiny_xn, tiny_xt, tiny_yn, tiny_yt,
)
from parity_tests.contract.strategies import (
    Bad, HUGE_INT, NAN, spoil_array, spoil_np_labels, spoil_positive, spoil_tensor, spoil_th_labels,
)
from reference_torch import diagnosis as th_diag
from scratch_numpy import diagnosis as np_diag


def _spoil_error(draw, name) -> Bad:
    value = draw(st.sampled_from([-0.1, 1.5, NAN, "0.1", None, True, 15, HUGE_INT]))
    return Bad(value, f"{name}={value!r}"[:40], (name,))


@fuzz("np.diagnosis.diagnose", 40)
def _np_diagnose(draw):
    errors = {k: draw(st.sampled_from([0.0, 0.01, 0.15, 0.3, 1, np.float64(0.5)]))
              for k in ("train_error", "dev_error", "bayes_error")}

    def check(out, kw):
        assert out.case in np_diag.CASES.values() and out.focus in ("bias", "variance")
        assert out.avoidable_bias == pytest.approx(kw["train_error"] - kw["bayes_error"])
    spoilers = {k: (lambda d, k=k: _spoil_error(d, k)) for k in errors}
    spoilers["threshold"] = lambda d: spoil_positive(d, "threshold", allow_zero=True)
    return make_case(draw, np_diag.diagnose, {**errors, "threshold": 0.02}, spoilers, check)


@fuzz("np.diagnosis.diagnose_network", 30)
def _np_diagnose_network(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        expected = th_diag.diagnose_model(c.model, c.Xt, c.yt, c.Xt, c.yt)
        assert out.case == expected.case
    return make_case(draw, np_diag.diagnose_network, {
        "network": c.net, "params": c.params, "X_train": c.X, "Y_train": c.Y, "X_dev": c.X, "Y_dev": c.Y}, {
        "params": lambda d: spoil_net_params(d, c.params),
        "X_train": lambda d: spoil_array(d, "X_train", c.X, fixed=(0,), also=("Y_train",)),
        "Y_train": lambda d: spoil_np_labels(d, "Y_train", c.Y, c.net.num_classes, also=("X_train",)),
        "X_dev": lambda d: spoil_array(d, "X_dev", c.X, fixed=(0,), also=("Y_dev",)),
        "Y_dev": lambda d: spoil_np_labels(d, "Y_dev", c.Y, c.net.num_classes, also=("X_dev",)),
        "bayes_error": lambda d: _spoil_error(d, "bayes_error"), "network": spoil_network}, check)


@fuzz("th.diagnosis.diagnose_model", 25)
def _th_diagnose_model(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, th_diag.diagnose_model, {"model": c.model, "X_train": c.Xt, "y_train": c.yt, "X_dev": c.Xt,
                                                   "y_dev": c.yt}, {
        "X_train": lambda d: spoil_tensor(d, "X_train", c.Xt, fixed=(1,), also=("y_train",)),
        "y_train": lambda d: spoil_th_labels(d, "y_train", c.yt, c.net.num_classes, also=("X_train",)),
        "X_dev": lambda d: spoil_tensor(d, "X_dev", c.Xt, fixed=(1,), also=("y_dev",)),
        "y_dev": lambda d: spoil_th_labels(d, "y_dev", c.yt, c.net.num_classes, also=("X_dev",)),
        "bayes_error": lambda d: _spoil_error(d, "bayes_error"), "model": spoil_model},
        lambda out, kw: out.case == np_diag.diagnose_network(c.net, c.params, c.X, c.Y, c.X, c.Y).case
        or pytest.fail(out.case))


FIXED_GAPS = [
    fixed("diagnose_network-named-X",
          lambda: np_diag.diagnose_network(tiny_np_net(), tiny_np_net().init_params(), tiny_xn(), tiny_yn(),
                                           tiny_xn(3, 4), tiny_yn()),
          "X_dev"),
    fixed("th-diagnose_model-model",
          lambda: th_diag.diagnose_model(NOT_A_MODEL, tiny_xt(), tiny_yt(), tiny_xt(), tiny_yt()), "model"),
    fixed("diagnose_network-network",
          lambda: np_diag.diagnose_network(NOT_A_MODEL, {}, tiny_xn(), tiny_yn(), tiny_xn(), tiny_yn()), "network"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
