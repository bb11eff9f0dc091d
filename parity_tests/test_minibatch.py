"""Mini-batches: NumPy slices and a torch DataLoader fed the same order see identical batches.

Shuffle-and-partition is checked against the course's random_mini_batches
(written out below, with its np.random.seed), sampling with replacement
against cs231n's np.random.choice; then both sides against each other, the
last partial batch included, bit for bit.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from parity_tests import twins
from reference_torch import bridge
from reference_torch import minibatch as t_minibatch
from scratch_numpy import minibatch as n_minibatch


def course_random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The course's function (course 2, week 2), verbatim apart from restoring the global RNG."""
    saved = np.random.get_state()
    np.random.seed(seed)
    m = X.shape[1]
    mini_batches = []
    permutation = list(np.random.permutation(m))
    np.random.set_state(saved)
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    num_complete_minibatches = math.floor(m / mini_batch_size)
    for k in range(0, num_complete_minibatches):
        mini_batches.append((shuffled_X[:, k * mini_batch_size:(k + 1) * mini_batch_size],
                             shuffled_Y[:, k * mini_batch_size:(k + 1) * mini_batch_size]))
    if m % mini_batch_size != 0:
        mini_batches.append((shuffled_X[:, num_complete_minibatches * mini_batch_size:m],
                             shuffled_Y[:, num_complete_minibatches * mini_batch_size:m]))
    return mini_batches


@pytest.mark.parametrize("m, batch_size", [(148, 64), (37, 8), (64, 64), (10, 1), (5, 9)])
def test_partition_reproduces_the_course(m, batch_size):
    rng = np.random.default_rng(m)
    X, Y = rng.standard_normal((3, m)), rng.integers(0, 2, (1, m))
    expected = course_random_mini_batches(X, Y, batch_size, seed=10)
    got = n_minibatch.mini_batches(X, Y, batch_size, n_minibatch.course_permutation(m, 10))
    assert len(got) == len(expected) == math.ceil(m / batch_size)
    for (X_b, Y_b), (X_e, Y_e) in zip(got, expected):
        np.testing.assert_array_equal(X_b, X_e)
        np.testing.assert_array_equal(Y_b, Y_e)
    assert got[-1][0].shape[1] == (m % batch_size or min(batch_size, m))


@pytest.mark.parametrize("sampling", ["shuffle", "replacement"])
@pytest.mark.parametrize("m, batch_size", [(37, 8), (37, 37), (9, 1), (40, 8), (6, 50)],
                         ids=["partial-last", "batch-gd", "stochastic", "even", "batch-above-m"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_both_sides_see_identical_batches(sampling, m, batch_size, dtype, device):
    report = twins.minibatch.minibatches(sampling, dtype, device, m=m, batch_size=batch_size, epochs=2)
    report.assert_passed()
    assert all(d.max_abs == 0 for d in report.diffs)


@pytest.mark.parametrize("m, batch_size", [(37, 8), (9, 1), (37, 37)])
def test_last_batch_is_partial_on_both_sides(m, batch_size):
    numpy_rows, torch_rows = twins.minibatch.minibatches_pair(m=m, batch_size=batch_size, epochs=1)
    expected = [batch_size] * (m // batch_size) + ([m % batch_size] if m % batch_size else [])
    assert numpy_rows["batch sizes"].tolist() == expected
    assert torch_rows["batch sizes"].tolist() == expected


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 60), batch_size=st.integers(1, 70), seed=st.integers(0, 2**16))
def test_partition_uses_every_example_once(m, batch_size, seed):
    permutation = np.random.default_rng(seed).permutation(m)
    batches = n_minibatch.partition(permutation, batch_size)
    np.testing.assert_array_equal(np.concatenate(batches), permutation)
    assert all(len(b) == batch_size for b in batches[:-1])
    assert 1 <= len(batches[-1]) <= batch_size


def test_sampling_with_replacement_is_cs231n_choice():
    """cs231n's Solver: batch_mask = np.random.choice(num_train, batch_size), max(m // b, 1) per epoch."""
    saved = np.random.get_state()
    np.random.seed(3)
    expected = [np.random.choice(50, 16) for _ in range(3)]
    np.random.set_state(saved)
    got = n_minibatch.sample_with_replacement(50, 16, 3, np.random.RandomState(3))
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    assert n_minibatch.iterations_per_epoch(50, 16) == 3
    assert n_minibatch.iterations_per_epoch(10, 16) == 1


def test_permutations_are_drawn_once_and_shared():
    batches = n_minibatch.epoch_index_batches(20, epochs=3, batch_size=6, seed=4)
    again = n_minibatch.epoch_index_batches(20, epochs=3, batch_size=6,
                                            permutations=n_minibatch.draw_permutations(20, 3, 4))
    for a, b in zip(batches, again):
        np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))
    assert not np.array_equal(np.concatenate(batches[0]), np.concatenate(batches[1]))


BAD_BATCH_SIZES = [0, -1, -64, 2.5, 8.0, "8", True, None]


@pytest.mark.parametrize("batch_size", BAD_BATCH_SIZES, ids=repr)
def test_bad_batch_sizes_are_a_clear_error(batch_size):
    X, Y = np.zeros((2, 10)), np.zeros((1, 10), dtype=np.int64)
    Xt, yt = bridge.data_to_torch(X, Y)
    calls = [
        lambda: n_minibatch.mini_batches(X, Y, batch_size, np.arange(10)),
        lambda: n_minibatch.partition(np.arange(10), batch_size),
        lambda: n_minibatch.epoch_index_batches(10, epochs=1, batch_size=batch_size, seed=0),
        lambda: n_minibatch.sample_with_replacement(10, batch_size, 2, 0),
        lambda: t_minibatch.mini_batch_loader(Xt, yt, batch_size, np.arange(10)),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
            call()


@pytest.mark.parametrize("permutation", [np.array([0, 1, 1, 3]), np.arange(5), np.arange(3),
                                         np.arange(4.0), [0, 1, 2, 3], np.arange(4)[None, :]],
                         ids=["duplicate", "too-long", "too-short", "floats", "list", "2-D"])
def test_bad_permutations_are_a_clear_error(permutation):
    X, Y = np.zeros((2, 4)), np.zeros((1, 4), dtype=np.int64)
    with pytest.raises(ValueError, match="permutation"):
        n_minibatch.mini_batches(X, Y, 2, permutation)
    Xt, yt = bridge.data_to_torch(X, Y)
    with pytest.raises(ValueError, match="permutation"):
        t_minibatch.mini_batch_loader(Xt, yt, 2, permutation)


def test_loader_yields_batch_first_tensors():
    X = np.arange(12.0).reshape(3, 4)
    Y = np.array([[0, 1, 0, 1]])
    Xt, yt = bridge.data_to_torch(X, Y)
    batches = list(t_minibatch.mini_batch_loader(Xt, yt, 3, np.array([2, 0, 3, 1])))
    assert [tuple(b[0].shape) for b in batches] == [(3, 3), (1, 3)]
    torch.testing.assert_close(batches[0][0], Xt[[2, 0, 3]], rtol=0, atol=0)
    assert batches[1][1].tolist() == [1]
