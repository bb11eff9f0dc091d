"""Train/dev/test splits: sizes by ratio, disjoint parts covering every example, stratification,
and identical index sets on both sides (cut from one NumPy permutation)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from parity_tests import twins
from reference_torch import splits as t_splits
from scratch_numpy import splits as n_splits


@pytest.mark.parametrize("m, ratios, sizes", [
    (10, (0.6, 0.2, 0.2), (6, 2, 2)),
    (1_000_000, (0.98, 0.01, 0.01), (980_000, 10_000, 10_000)),
    (7, (0.6, 0.2, 0.2), (4, 2, 1)),        # 4.2, 1.4, 1.4: the leftover goes to the earlier tie
    (100, (0.29, 0.71), (29, 71)),           # 0.29 * 100 = 28.999999999999996 in binary
    (3, (0.5, 0.5), (2, 1)),
])
def test_part_sizes(m, ratios, sizes):
    assert n_splits.part_sizes(m, ratios) == sizes


@settings(max_examples=60, deadline=None)
@given(m=st.integers(3, 300), seed=st.integers(0, 2**16), stratify=st.booleans(),
       ratios=st.sampled_from([(0.6, 0.2, 0.2), (0.98, 0.01, 0.01), (0.5, 0.5), (0.7, 0.15, 0.15), (0.8, 0.2)]))
def test_parts_are_disjoint_cover_everything_and_follow_the_ratios(m, seed, stratify, ratios):
    labels = np.random.default_rng(seed).integers(0, 3, (1, m))
    try:
        parts = n_splits.split_indices(m, ratios, seed=seed, labels=labels if stratify else None)
    except ValueError as error:
        assert "empty" in str(error)
        return
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(m))
    if not stratify:
        assert tuple(map(len, parts)) == n_splits.part_sizes(m, ratios)
        np.testing.assert_array_equal(np.concatenate(parts), n_splits.shuffled(m, seed))
    for part, r in zip(parts, ratios):
        assert abs(len(part) - r * m) <= (3 if stratify else 1)   # one per class when stratified


def test_stratified_parts_keep_the_class_proportions():
    Y = np.array([[0] * 80 + [1] * 20])
    parts = n_splits.split_indices(100, (0.6, 0.2, 0.2), seed=0, labels=Y)
    assert [np.bincount(Y[0, p], minlength=2).tolist() for p in parts] == [[48, 12], [16, 4], [16, 4]]
    rank = np.argsort(n_splits.shuffled(100, 0))
    assert all(np.all(np.diff(rank[p]) > 0) for p in parts)   # each part in permutation order


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = (n_splits.split_indices(50, seed=s) for s in (3, 3, 4))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_split_selects_the_columns():
    X = np.arange(20.0).reshape(2, 10)
    Y = np.arange(10)[None] % 2
    (X_train, Y_train), (X_dev, Y_dev), (X_test, Y_test) = n_splits.split(X, Y, seed=1)
    train, dev, test = n_splits.split_indices(10, seed=1)
    np.testing.assert_array_equal(X_dev, X[:, dev])
    np.testing.assert_array_equal(Y_test, Y[:, test])
    assert X_train.shape == (2, 6) and Y_train.shape == (1, 6)


def test_torch_random_split_does_not_reproduce_the_numpy_split():
    """Why the torch side is fed the NumPy permutation: random_split draws from torch's generator."""
    numpy_parts = n_splits.split_indices(50, seed=0)
    torch_parts = torch.utils.data.random_split(range(50), [30, 10, 10], generator=torch.Generator().manual_seed(0))
    assert not np.array_equal(numpy_parts[0], np.asarray(torch_parts[0].indices))


@pytest.mark.parametrize("ratios, m, stratify", [
    ((0.6, 0.2, 0.2), 50, False), ((0.6, 0.2, 0.2), 50, True), ((0.98, 0.01, 0.01), 1000, False),
    ((0.98, 0.01, 0.01), 1000, True), ((0.8, 0.2), 37, False)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parity_identical_index_sets(ratios, m, stratify, dtype, device):
    report = twins.splits.splits(ratios, m=m, stratify=stratify, dtype=dtype, device=device)
    report.assert_passed()
    assert all(d.max_abs == 0 for d in report.diffs)


@pytest.mark.parametrize("call, match", [
    (lambda: n_splits.split_indices(10, (0.6, 0.3, 0.2)), "add up to 1"),
    (lambda: n_splits.split_indices(10, (0.5, 0.0, 0.5)), "dev ratio must be a number in"),
    (lambda: n_splits.split_indices(10, (0.4, 0.2, 0.2, 0.2)), "2 or 3 numbers"),
    (lambda: n_splits.split_indices(10, 0.6), "2 or 3 numbers"),
    (lambda: n_splits.split_indices(50, (0.98, 0.01, 0.01)), "leave the test part empty for m = 50"),
    (lambda: n_splits.split_indices(0), "m must be an integer >= 1"),
    (lambda: n_splits.split_indices(10, seed=-1), "seed must be an integer >= 0"),
    (lambda: n_splits.split_indices(10, labels=np.zeros(10, dtype=int)), r"labels must have shape \(1, m\)"),
    (lambda: n_splits.split(np.ones((2, 10)), np.zeros((1, 9), dtype=int)), "Y has 9 examples"),
    (lambda: n_splits.split(np.ones((2, 10)), np.zeros((1, 10), dtype=int), stratify=1), "stratify"),
    (lambda: t_splits.split_indices(torch.tensor([0, 1, 1])), "exactly once"),
    (lambda: t_splits.split_indices(np.arange(5)), "1-D int64 tensor"),
    (lambda: t_splits.split(torch.ones(10, 2, dtype=torch.float64), torch.zeros(10, dtype=torch.int64),
                            (0.98, 0.01, 0.01)), "part empty for m = 10"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
