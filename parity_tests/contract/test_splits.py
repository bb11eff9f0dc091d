"""The bad-input contract of splits: train/dev/test splits (``part_sizes``, ``shuffled``,
``split_indices``, ``split``).

For both ``scratch_numpy/splits.py`` and ``reference_torch/splits.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import DTYPES, draw_th_data, fuzz, fuzz_test, labels_row, make_case, th
from parity_tests.contract.strategies import (
    Bad, NAN, np_floats, np_labels, size, spoil_array, spoil_count, spoil_flag, spoil_np_labels, spoil_tensor,
    spoil_th_labels, th_labels,
)
from reference_torch import splits as th_splits
from scratch_numpy import splits as np_splits


RATIOS = [(0.6, 0.2, 0.2), (0.8, 0.2), (0.5, 0.5), [0.7, 0.15, 0.15], (np.float64(0.9), np.float64(0.1))]


def _spoil_ratios(draw) -> Bad:
    value = draw(st.sampled_from([[0.5, 0.6], [1.0], (0.5, -0.5, 1.0), "0.6", None, [0.6, 0.2, 0.2, 0.0],
                                  np.array([0.6, 0.4]), [NAN, 0.5], [0.5, "0.5"], [True, 0.0], (0.98, 0.01, 0.01)]))
    return Bad(value, f"ratios={value!r}"[:40], ("ratios",))


@fuzz("np.splits.part_sizes", 30)
def _np_part_sizes(draw):
    m, ratios = size(draw, 1, 200), draw(st.sampled_from(RATIOS))

    def check(sizes, kw):
        assert sum(sizes) == m and len(sizes) == len(ratios)
        assert all(abs(s - r * m) < 1 + 1e-9 for s, r in zip(sizes, ratios))
    return make_case(draw, np_splits.part_sizes, {"m": m, "ratios": ratios}, {
        "m": lambda d: spoil_count(d, "m"),
        "ratios": lambda d: Bad(d(st.sampled_from([[0.5, 0.6], "0.6", [NAN, 0.5], None])), "ratios", ("ratios",))},
        check)


@fuzz("np.splits.shuffled", 25)
def _np_shuffled(draw):
    m = size(draw, 1, 30)
    return make_case(draw, np_splits.shuffled, {"m": m, "seed": draw(st.integers(0, 99))}, {
        "m": lambda d: spoil_count(d, "m"), "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None)},
        lambda p, kw: sorted(p.tolist()) == list(range(m)) or pytest.fail(str(p)))


@fuzz("np.splits.split_indices", 40)
def _np_split_indices(draw):
    m, ratios, seed = size(draw, 20, 40), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 99))
    labels = np_labels(draw, m, 2) if draw(st.booleans()) else None

    def check(parts, kw):
        assert sorted(np.concatenate(parts).tolist()) == list(range(m))
        tparts = th_splits.split_indices(torch.from_numpy(np_splits.shuffled(m, seed)), ratios,
                                         None if labels is None else labels_row(labels))
        assert all(np.array_equal(a, b.numpy()) for a, b in zip(parts, tparts))
    spoilers = {"m": lambda d: spoil_count(d, "m"), "ratios": lambda d: _spoil_ratios(d),
                "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None)}
    if labels is not None:
        spoilers["labels"] = lambda d: spoil_np_labels(d, "labels", labels, 2, relaxed=False, also=("m",), exclude=(
            "label C", "label 2**40", "None"))   # any number of classes; None: not stratified
    return make_case(draw, np_splits.split_indices, {"m": m, "ratios": ratios, "seed": seed, "labels": labels},
                     spoilers, check)


@fuzz("np.splits.split", 30)
def _np_split(draw):
    m, ratios, seed, stratify = size(draw, 20, 30), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 9)), \
        draw(st.booleans())
    X, Y = np_floats(draw, (size(draw), m), draw(st.sampled_from(DTYPES))), np_labels(draw, m, 2)

    def check(parts, kw):
        tparts = th_splits.split(th(X).T, labels_row(Y), ratios, seed=seed, stratify=stratify)
        for (Xp, Yp), sub in zip(parts, tparts):
            assert np.array_equal(Xp.T, X.T[sub.indices]) and np.array_equal(Yp[0], Y[0][sub.indices])
    return make_case(draw, np_splits.split, {"X": X, "Y": Y, "ratios": ratios, "seed": seed, "stratify": stratify}, {
        "X": lambda d: spoil_array(d, "X", X, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 2, relaxed=False, also=("X",), exclude=("label C", "label 2**40")),
        "ratios": lambda d: _spoil_ratios(d), "stratify": lambda d: spoil_flag(d, "stratify")}, check)


@fuzz("th.splits.split_indices", 30)
def _th_split_indices(draw):
    m, ratios, seed = size(draw, 20, 40), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 99))
    permutation = torch.from_numpy(np_splits.shuffled(m, seed))
    labels = th_labels(draw, m, 2) if draw(st.booleans()) else None

    def check(parts, kw):
        nparts = np_splits.split_indices(m, ratios, seed=seed, labels=None if labels is None else labels.numpy()[None])
        assert all(np.array_equal(a.numpy(), b) for a, b in zip(parts, nparts))
    spoilers = {"ratios": lambda d: _spoil_ratios(d),
                "permutation": lambda d: Bad(d(st.sampled_from([permutation.float(), permutation[None], permutation * 0,
                                                                permutation.numpy()])), "permutation", ("permutation",))}
    if labels is not None:
        spoilers["labels"] = lambda d: spoil_th_labels(d, "labels", labels, 2, relaxed=False, also=("m",),
                                                       exclude=("label C", "label 2**40", "None"))   # None: valid
    return make_case(draw, th_splits.split_indices, {"permutation": permutation, "ratios": ratios, "labels": labels},
                     spoilers, check)


@fuzz("th.splits.split", 25)
def _th_split(draw):
    m, ratios, seed = size(draw, 20, 30), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 9))
    X, Xt, y, _ = draw_th_data(draw, m)
    stratify = draw(st.booleans())

    def check(parts, kw):
        nparts = np_splits.split_indices(m, ratios, seed=seed, labels=y.numpy()[None] if stratify else None)
        assert all(list(sub.indices) == idx.tolist() for sub, idx in zip(parts, nparts))
    return make_case(draw, th_splits.split, {"X": Xt, "y": y, "ratios": ratios, "seed": seed, "stratify": stratify}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, pinned=False, also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", y, 3, relaxed=False, also=("X",), exclude=("label C", "label 2**40")),
        "ratios": lambda d: _spoil_ratios(d), "stratify": lambda d: spoil_flag(d, "stratify"),
        "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None)}, check)


test_fuzz = fuzz_test(__name__)
