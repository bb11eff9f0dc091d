"""The bad-input contract of early stopping: early stopping (``EarlyStopping``, ``dev_cost``).

For both ``scratch_numpy/early_stopping.py`` and ``reference_torch/early_stopping.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    NOT_A_MODEL, close, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, NetCase, spoil_model, spoil_net_params,
    spoil_network, tiny_np_net, tiny_th_net, tiny_xn, tiny_xt, tiny_yn, tiny_yt,
)
from parity_tests.contract.strategies import (
    Bad, positive, size, spoil_array, spoil_choice, spoil_count, spoil_flag, spoil_np_labels, spoil_positive,
    spoil_tensor, spoil_th_labels,
)
from reference_torch import early_stopping as th_es
from reference_torch import models as th_models
from scratch_numpy import early_stopping as np_es


@fuzz("np.early_stopping.EarlyStopping", 30)
def _np_early_stopping(draw):
    monitor = draw(st.sampled_from(np_es.MONITORS))
    valid = {"patience": size(draw, 1, 5), "monitor": monitor, "min_delta": positive(draw, 0.0, 0.1, zero=True),
             "restore_best": draw(st.booleans())}
    if monitor == "dev_cost":
        valid["dev_cost"] = lambda params: 0.0
    return make_case(draw, np_es.EarlyStopping, valid, {
        "patience": lambda d: spoil_count(d, "patience"), "monitor": lambda d: spoil_choice(d, "monitor", np_es.MONITORS),
        "min_delta": lambda d: spoil_positive(d, "min_delta", allow_zero=True),
        "restore_best": lambda d: spoil_flag(d, "restore_best"),
        "dev_cost": lambda d: Bad(3 if monitor == "dev_cost" else (lambda p: 0.0), "dev_cost", ("dev_cost",))},
        lambda out, kw: None)


@fuzz("np.early_stopping.dev_cost", 30)
def _np_dev_cost(draw):
    c = NetCase(draw, train=False)

    def check(cost, kw):
        assert np.isfinite(cost)
        close(cost, th_es.dev_cost(c.Xt, c.yt)(c.model), "dev cost", dtype=c.dtype, scale=max(1.0, abs(cost)))
    call = lambda network, X_dev, Y_dev, params: np_es.dev_cost(network, X_dev, Y_dev)(params)  # noqa: E731
    return make_case(draw, call, {"network": c.net, "X_dev": c.X, "Y_dev": c.Y, "params": c.params}, {
        "params": lambda d: spoil_net_params(d, c.params),
        "X_dev": lambda d: spoil_array(d, "X_dev", c.X, fixed=(0,), also=("Y_dev",)),
        "Y_dev": lambda d: spoil_np_labels(d, "Y_dev", c.Y, c.net.num_classes, also=("X_dev",)),
        "network": spoil_network}, check)


@fuzz("th.early_stopping.EarlyStopping", 25)
def _th_early_stopping(draw):
    return make_case(draw, th_es.EarlyStopping, {"patience": size(draw, 1, 5), "min_delta": 0.0}, {
        "patience": lambda d: spoil_count(d, "patience"), "monitor": lambda d: spoil_choice(d, "monitor", np_es.MONITORS),
        "min_delta": lambda d: spoil_positive(d, "min_delta", allow_zero=True),
        "restore_best": lambda d: spoil_flag(d, "restore_best")}, lambda out, kw: None)


@fuzz("th.early_stopping.dev_cost", 25)
def _th_dev_cost(draw):
    c = NetCase(draw, train=False)

    def check(cost, kw):
        close(cost, np_es.dev_cost(c.net, c.X, c.Y)(c.params), "dev cost", dtype=c.dtype, scale=max(1.0, abs(cost)))
    call = lambda X_dev, y_dev, model: th_es.dev_cost(X_dev, y_dev)(model)  # noqa: E731
    return make_case(draw, call, {"X_dev": c.Xt, "y_dev": c.yt, "model": c.model}, {
        "X_dev": lambda d: spoil_tensor(d, "X_dev", c.Xt, fixed=(1,), also=("y_dev",)),
        "y_dev": lambda d: spoil_th_labels(d, "y_dev", c.yt, c.net.num_classes, also=("X_dev",)),
        "model": spoil_model}, check)


def _np_stopper():
    """A NumPy EarlyStopping that has recorded one epoch of _np_net()'s parameters."""
    stopper = np_es.EarlyStopping(1, monitor="dev_cost", dev_cost=lambda params: 1.0)
    stopper.callback(0, None, tiny_np_net().init_params())
    return stopper


def _th_stopper():
    stopper = th_es.EarlyStopping(1, monitor="dev_cost", dev_cost=lambda model: 1.0)
    stopper.callback(0, None, tiny_th_net())
    return stopper


FIXED_GAPS = [
    fixed("dev_cost-named-X",
          lambda: np_es.dev_cost(tiny_np_net(), tiny_xn(), tiny_yn()[:, :3])(tiny_np_net().init_params()), "Y_dev"),
    fixed("th-dev_cost-model", lambda: th_es.dev_cost(tiny_xt(), tiny_yt())(NOT_A_MODEL), "model"),
    fixed("th-dev_cost-named-X", lambda: th_es.dev_cost(tiny_xt(), tiny_yt()[:3])(tiny_th_net()), "y_dev"),
    fixed("dev_cost-network", lambda: np_es.dev_cost(NOT_A_MODEL, tiny_xn(), tiny_yn()), "network"),
    fixed("EarlyStopping.restore-missing", lambda: _np_stopper().restore({"W1": np.zeros((3, 2))}), "params"),
    fixed("EarlyStopping.restore-shape",
          lambda: _np_stopper().restore({k: np.zeros((5, 5)) for k in tiny_np_net().init_params()}), "W1"),
    fixed("th-EarlyStopping.restore-other",
          lambda: _th_stopper().restore(th_models.Network([2, 4, 1], "relu", "sigmoid")), "model"),
    fixed("th-EarlyStopping.restore-None-model", lambda: _th_stopper().restore("model"), "model"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
