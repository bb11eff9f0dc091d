"""The bad-input contract of dropout: dropout (masks, ``dropout_forward``/``backward``; torch's
``dropout``, ``recover_mask``).

For both ``scratch_numpy/dropout.py`` and ``reference_torch/dropout.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    DTYPES, TH_DTYPES, close, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, matrix, named_if, same_dtype,
    spoil_cache, spoil_device, spoil_rng, spoil_th_dtype, th, th_floats, tiny_xn,
)
from parity_tests.contract.strategies import (
    Bad, np_floats, size, spoil_array, spoil_count, spoil_flag, spoil_tensor, spoil_unit,
)
from reference_torch import dropout as th_drop
from scratch_numpy import dropout as np_drop


def _spoil_keep_prob(draw, name="keep_prob"):
    return spoil_unit(draw, name, closed_low=False, closed_high=True)


@fuzz("np.dropout.draw_mask", 30)
def _np_draw_mask(draw):
    shape = (size(draw), size(draw))

    def check(D, kw):
        assert D.shape == shape and np.isin(D, (0, 1)).all()
        same_dtype(D, kw["dtype"])
    return make_case(draw, np_drop.draw_mask, {"shape": shape, "keep_prob": draw(st.sampled_from([0.3, 1.0, 0.99])),
                                               "rng": 1, "dtype": draw(st.sampled_from(DTYPES))},
                     {"keep_prob": _spoil_keep_prob, "rng": lambda d: spoil_rng(d, none_ok=True),
                      "shape": _spoil_shape, "dtype": _spoil_mask_dtype},
                     check)


def _spoil_mask_dtype(draw, name="dtype") -> Bad:
    """A mask's dtype may also be bool or given as a NumPy dtype ("f8", np.float64): these are not."""
    value = draw(st.sampled_from(["float16", "int64", "complex128", None, "", "nope", 3]))
    return Bad(value, f"dtype={value!r}", (name,))


def _spoil_shape(draw, name="shape") -> Bad:
    return Bad(draw(st.sampled_from([(0, 2), (-1, 2), "ab", None, (2.5, 1), (), (2, 2 ** 70)])), "shape",
               (name, f"{name}[0]", f"{name}[1]"))


@fuzz("np.dropout.dropout_forward", 60)
def _np_dropout_forward(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), (size(draw), size(draw))
    A = np_floats(draw, shape, dtype)
    keep_prob, train = draw(st.sampled_from([0.5, 0.8, 1.0])), draw(st.booleans())
    mask = np_drop.draw_mask(shape, 0.5, rng=draw(st.integers(0, 99)), dtype=draw(st.sampled_from(["bool", dtype])))
    valid = {"A": A, "keep_prob": keep_prob, "mask": mask, "train": train}

    def check(out, kw):
        outA, cache = out
        same_dtype(outA, dtype)
        expected = A * mask.astype(dtype) / dtype_np(dtype)(keep_prob) if train and keep_prob < 1 else A
        close(outA, expected, "out", dtype=dtype)
    return make_case(draw, np_drop.dropout_forward, valid, {
        "A": lambda d: spoil_array(d, "A", A, pinned=False, also=("mask",)),
        "keep_prob": _spoil_keep_prob,
        "train": lambda d: spoil_flag(d, "train"),
        "mask": lambda d: _spoil_mask(d, mask, must_fail=train and keep_prob < 1)}, check)


def dtype_np(dtype):
    return np.dtype(dtype).type


def _spoil_mask(draw, mask, *, must_fail=True, name="mask") -> Bad:
    kind = draw(st.sampled_from(["halves", "shape", "list", "str", "NaN"]))
    bad = {"halves": mask * 0.5, "shape": np.ones((mask.shape[0] + 1, mask.shape[1])), "list": mask.tolist(),
           "str": mask.astype(str), "NaN": np.full(mask.shape, np.nan)}[kind]
    return Bad(bad, f"mask {kind}", (name,), must_fail=must_fail)


@fuzz("np.dropout.dropout_backward", 40)
def _np_dropout_backward(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), (size(draw), size(draw))
    keep_prob = draw(st.sampled_from([0.5, 1.0]))
    _, cache = np_drop.dropout_forward(np.ones(shape, dtype), keep_prob, rng=draw(st.integers(0, 99)))
    dout = np_floats(draw, shape, dtype)

    def check(dA, kw):
        expected = dout if cache.mask is None else dout * cache.mask / keep_prob
        close(dA, expected, "dA", dtype=dtype)
    return make_case(draw, np_drop.dropout_backward, {"dout": dout, "cache": cache}, {
        "dout": lambda d: spoil_array(d, "dout", dout, fixed=(0, 1) if keep_prob < 1 else (),
                                      pinned=keep_prob < 1),
        "cache": lambda d: spoil_cache(d, "cache", cache)}, check)


@fuzz("th.dropout.dropout", 50)
def _th_dropout(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), (size(draw), size(draw))
    A, At = th_floats(draw, shape, dtype)
    keep_prob, train = draw(st.sampled_from([0.5, 0.8, 1.0])), draw(st.booleans())
    D = np_drop.draw_mask(shape, 0.5, rng=draw(st.integers(0, 99)), dtype=dtype)
    use_seed = draw(st.booleans())
    valid = {"A": At, "keep_prob": keep_prob, "train": train}
    if use_seed:
        valid["seed"] = draw(st.integers(0, 99))
    else:
        valid["mask"] = th(D)

    def check(out, kw):
        if not train or keep_prob == 1:
            close(out, A, "out", dtype=dtype)
        elif use_seed:
            mask = th_drop.recover_mask(shape, keep_prob, kw["seed"], dtype=TH_DTYPES[dtype]).numpy()
            close(out, A * mask / dtype_np(dtype)(keep_prob), "out", dtype=dtype)
        else:
            close(out, np_drop.dropout_forward(A, keep_prob, D)[0], "out", dtype=dtype)
    spoilers = {"A": lambda d: spoil_tensor(d, "A", At, pinned=False, also=("mask",)),
                "keep_prob": _spoil_keep_prob, "train": lambda d: spoil_flag(d, "train")}
    if not use_seed:
        spoilers["mask"] = lambda d: Bad(d(st.sampled_from([th(D) * 0.5, th(D).T.contiguous() if shape[0] != shape[1]
                                                            else torch.ones(1), D, "mask"])), "mask", ("mask",),
                                         must_fail=train and keep_prob < 1)
    else:
        spoilers["seed"] = lambda d: named_if(spoil_count(d, "seed", minimum=0, maximum=None),
                                              must_fail=train and keep_prob < 1)
    return make_case(draw, th_drop.dropout, valid, spoilers, check)


@fuzz("th.dropout.recover_mask", 30)
def _th_recover_mask(draw):
    shape = (size(draw), size(draw))

    def check(mask, kw):
        assert tuple(mask.shape) == shape and bool(((mask == 0) | (mask == 1)).all())
    return make_case(draw, th_drop.recover_mask, {"shape": shape, "keep_prob": 0.5, "seed": draw(st.integers(0, 9)),
                                                  "dtype": torch.float64, "device": "cpu"}, {
        "shape": lambda d: Bad(d(st.sampled_from([(0, 2), (-1, 2), "ab", None, (2.5, 1)])), "shape",
                               ("shape", "shape[0]")),
        "keep_prob": _spoil_keep_prob, "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None),
        "dtype": spoil_th_dtype, "device": spoil_device}, check)


FIXED_GAPS = [
    fixed("draw_mask-shape", lambda: np_drop.draw_mask((-1, 2), 0.5, rng=0), "shape"),
    fixed("np.matrix-dropout-mask", lambda: np_drop.dropout_forward(tiny_xn(), 0.5, matrix(np.ones((2, 4)))), "mask"),
    # torch.manual_seed takes seeds up to 2**64 - 1; past that its overflow message named no argument
    fixed("th-dropout-seed-2**70", lambda: th_drop.recover_mask((2, 3), 0.5, 2**70), "seed"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
