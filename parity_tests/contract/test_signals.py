"""The bad-input contract of signals: signal diagnostics (``identity_params``, ``signal_norms``,
``frobenius_norm``).

For both ``scratch_numpy/signals.py`` and ``reference_torch/signals.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    DTYPES, NOT_A_MODEL, close, draw_layer_dims, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, NetCase,
    same_dtype, spoil_layer_dims, spoil_model, spoil_network, spoil_np_dtype, tiny_th_net, tiny_xn, tiny_xt, tiny_yn,
    tiny_yt, tol,
)
from parity_tests.contract.strategies import (
    Bad, HUGE_INT, NAN, as_tensor, np_floats, size, spoil_array, spoil_tensor, spoil_th_labels,
)
from reference_torch import signals as th_sig
from scratch_numpy import signals as np_sig


@fuzz("np.signals.identity_params", 30)
def _np_identity_params(draw):
    dims = draw_layer_dims(draw)
    c = draw(st.sampled_from([1.5, 0.5, 0, -2.0]))

    def check(params, kw):
        for l in range(1, len(dims)):
            assert np.array_equal(params[f"W{l}"], c * np.eye(dims[l], dims[l - 1]))
            same_dtype(params[f"W{l}"], kw["dtype"])
    return make_case(draw, np_sig.identity_params, {"layer_dims": dims, "c": c, "dtype": draw(st.sampled_from(DTYPES))},
                     {"layer_dims": spoil_layer_dims, "dtype": spoil_np_dtype,
                      "c": lambda d: Bad(d(st.sampled_from([NAN, float("inf"), "1", None, True, [1.0], HUGE_INT])),
                                         "c", ("c",))}, check)


@fuzz("np.signals.signal_norms", 40)
def _np_signal_norms(draw):
    c = NetCase(draw, train=False, bn=False)

    def check(out, kw):
        expected = th_sig.signal_norms(c.model, c.Xt, c.yt)
        for field_name, a, e in zip(out._fields, out, expected):
            assert a.shape == (c.net.L,)
            close(a, e, field_name, dtype=c.dtype, rtol=10 * tol(c.dtype))
    return make_case(draw, np_sig.signal_norms, {"network": c.net, "params": c.params, "X": c.X, "Y": c.Y},
                     {**c.spoilers(), "network": spoil_network}, check)


@fuzz("th.signals.signal_norms", 30)
def _th_signal_norms(draw):
    c = NetCase(draw, train=False, bn=False)

    def check(out, kw):
        for field_name, a, e in zip(out._fields, out, np_sig.signal_norms(c.net, c.params, c.X, c.Y)):
            close(a, e, field_name, dtype=c.dtype, rtol=10 * tol(c.dtype))
    return make_case(draw, th_sig.signal_norms, {"model": c.model, "X": c.Xt, "y": c.yt}, {
        "y": lambda d: spoil_th_labels(d, "y", c.yt, c.net.num_classes, also=("X",)),
        "X": lambda d: spoil_tensor(d, "X", c.Xt, fixed=(1,), also=("y",)), "model": spoil_model},
        check)


def _frobenius_case(draw):
    dtype = draw(st.sampled_from(DTYPES))
    x = np_floats(draw, (size(draw), size(draw)), dtype)
    return x, lambda out, kw: close(np.float64(out), np.linalg.norm(x.astype(np.float64)), "||x||", dtype=dtype)


@fuzz("np.signals.frobenius_norm", 25)
def _np_frobenius_norm(draw):
    x, check = _frobenius_case(draw)
    return make_case(draw, np_sig.frobenius_norm, {"x": x}, {
        "x": lambda d: spoil_array(d, "x", x, pinned=False, exclude=("rank-down", "rank-up", "NaN", "inf", "-inf"))},
        check)


@fuzz("th.signals.frobenius_norm", 25)
def _th_frobenius_norm(draw):
    x, check = _frobenius_case(draw)
    xt = as_tensor(draw, x)
    return make_case(draw, th_sig.frobenius_norm, {"x": xt}, {
        "x": lambda d: spoil_tensor(d, "x", xt, pinned=False, exclude=("rank-down", "rank-up", "NaN", "inf", "-inf"))},
        check)


FIXED_GAPS = [
    fixed("th-signal_norms-X", lambda: th_sig.signal_norms(tiny_th_net(), tiny_xt().numpy(), tiny_yt()), "X"),
    fixed("th-signal_norms-model", lambda: th_sig.signal_norms(NOT_A_MODEL, tiny_xt(), tiny_yt()), "model"),
    fixed("signal_norms-network", lambda: np_sig.signal_norms(NOT_A_MODEL, {}, tiny_xn(), tiny_yn()), "network"),
    fixed("frobenius_norm-empty", lambda: np_sig.frobenius_norm(np.zeros((0, 3))), "x"),
    fixed("th-frobenius_norm-empty", lambda: th_sig.frobenius_norm(torch.zeros(0, 3)), "x"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
