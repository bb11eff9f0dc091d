"""The bad-input contract of minibatch: mini-batches (permutations, partitions, sampling, index
batches; torch's samplers and loaders).

For both ``scratch_numpy/minibatch.py`` and ``reference_torch/minibatch.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    DTYPES, draw_th_data, fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, spoil_rng, tiny_xn, tiny_xt, tiny_yn,
    tiny_yt,
)
from parity_tests.contract.strategies import (
    Bad, np_floats, np_labels, size, spoil_array, spoil_choice, spoil_count, spoil_np_labels, spoil_tensor,
    spoil_th_labels,
)
from reference_torch import minibatch as th_mb
from scratch_numpy import minibatch as np_mb
from scratch_numpy.contract import SAMPLING


def _spoil_permutation(draw, permutation, name="permutation", *, short=True) -> Bad:
    kind = draw(st.sampled_from(["repeat", "float", "2-D", "list", "out of range"] + (["short"] if short else [])))
    p = permutation
    bad = {"repeat": np.zeros_like(p) if len(p) > 1 else np.array([1]), "float": p.astype(float), "2-D": p[None],
           "list": p.tolist(), "short": p[:-1] if len(p) > 1 else np.array([], dtype=np.int64),
           "out of range": p + 1}[kind]
    return Bad(bad, f"permutation {kind}", (name,))


@fuzz("np.minibatch.course_permutation", 25)
def _np_course_permutation(draw):
    m = size(draw, 1, 20)

    def check(p, kw):
        assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(m))
    return make_case(draw, np_mb.course_permutation, {"m": m, "seed": draw(st.integers(0, 99))}, {
        "m": lambda d: spoil_count(d, "m"),
        "seed": lambda d: Bad(d(st.sampled_from([-1, 2 ** 32, 1.5, "a", None, True, np.random.default_rng(0)])),
                              "seed", ("seed",))}, check)


@fuzz("np.minibatch.draw_permutations", 25)
def _np_draw_permutations(draw):
    m, epochs = size(draw, 1, 20), size(draw, 1, 3)

    def check(ps, kw):
        assert len(ps) == epochs and all(sorted(p.tolist()) == list(range(m)) for p in ps)
    return make_case(draw, np_mb.draw_permutations, {"m": m, "epochs": epochs, "seed": draw(st.integers(0, 99))},
                     {"m": lambda d: spoil_count(d, "m"), "epochs": lambda d: spoil_count(d, "epochs"),
                      "seed": lambda d: spoil_rng(d, "seed")}, check)


@fuzz("np.minibatch.partition", 40)
def _np_partition(draw):
    m, batch_size = size(draw, 1, 20), size(draw, 1, 8)
    permutation = np.random.default_rng(draw(st.integers(0, 99))).permutation(m)

    def check(batches, kw):
        assert np.array_equal(np.concatenate(batches), permutation)
        assert all(len(b) == batch_size for b in batches[:-1]) and 0 < len(batches[-1]) <= batch_size
    return make_case(draw, np_mb.partition, {"permutation": permutation, "batch_size": batch_size}, {
        "permutation": lambda d: _spoil_permutation(d, permutation, short=False),   # partition has no m
        "batch_size": lambda d: spoil_count(d, "batch_size")}, check)


@fuzz("np.minibatch.iterations_per_epoch", 25)
def _np_iterations_per_epoch(draw):
    m, batch_size = size(draw, 1, 50), size(draw, 1, 60)
    return make_case(draw, np_mb.iterations_per_epoch, {"m": m, "batch_size": batch_size}, {
        "m": lambda d: spoil_count(d, "m"), "batch_size": lambda d: spoil_count(d, "batch_size")},
        lambda out, kw: out == max(m // batch_size, 1) or pytest.fail(str(out)))


@fuzz("np.minibatch.sample_with_replacement", 30)
def _np_sample_with_replacement(draw):
    m, batch_size, iterations = size(draw, 1, 20), size(draw, 1, 8), size(draw, 1, 3)

    def check(batches, kw):
        assert len(batches) == iterations and all(b.shape == (batch_size,) and b.min() >= 0 and b.max() < m
                                                  for b in batches)
    return make_case(draw, np_mb.sample_with_replacement, {"m": m, "batch_size": batch_size, "iterations": iterations,
                                                           "rng": draw(st.sampled_from([0, 5]))}, {
        "m": lambda d: spoil_count(d, "m"), "batch_size": lambda d: spoil_count(d, "batch_size"),
        "iterations": lambda d: spoil_count(d, "iterations"), "rng": lambda d: spoil_rng(d, none_ok=True)}, check)


def _columns_case(draw):
    n_x, m = size(draw), size(draw, 1, 12)
    dtype = draw(st.sampled_from(DTYPES))
    return np_floats(draw, (n_x, m), dtype), np_labels(draw, m, 3), m


@fuzz("np.minibatch.mini_batches", 40)
def _np_mini_batches(draw):
    X, Y, m = _columns_case(draw)
    batch_size = size(draw, 1, 6)
    permutation = np.random.default_rng(draw(st.integers(0, 99))).permutation(m)

    def check(batches, kw):
        assert np.array_equal(np.concatenate([b[0] for b in batches], axis=1), X[:, permutation])
        assert np.array_equal(np.concatenate([b[1] for b in batches], axis=1), Y[:, permutation])
    return make_case(draw, np_mb.mini_batches, {"X": X, "Y": Y, "batch_size": batch_size, "permutation": permutation}, {
        "X": lambda d: spoil_array(d, "X", X, kinds=["rank-down", "rank-up", "list", "None"], also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 3, also=("X",), exclude=(
            "label C", "label 2**40", "label -1", "fractional", "NaN", "inf", "1e20", "-1e300", "uint64 2**63",
            "bool", "str", "object", "complex")),  # a selector: any label values are carried along
        "batch_size": lambda d: spoil_count(d, "batch_size"),
        "permutation": lambda d: _spoil_permutation(d, permutation)}, check)


@fuzz("np.minibatch.select", 30)
def _np_select(draw):
    X, Y, m = _columns_case(draw)
    batches = [np.random.default_rng(i).integers(0, m, size(draw, 1, 4)) for i in range(size(draw, 1, 3))]

    def check(out, kw):
        for (Xb, Yb), idx in zip(out, batches):
            assert np.array_equal(Xb, X[:, idx]) and np.array_equal(Yb, Y[:, idx])
    return make_case(draw, np_mb.select, {"X": X, "Y": Y, "index_batches": batches}, {
        "X": lambda d: spoil_array(d, "X", X, kinds=["rank-down", "rank-up", "list", "None"], also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 3, also=("X",), exclude=(
            "label C", "label 2**40", "label -1", "fractional", "NaN", "inf", "1e20", "-1e300", "uint64 2**63",
            "bool", "str", "object", "complex")),
        "index_batches": lambda d: Bad(d(st.sampled_from([[np.array([m])], [np.array([-1])], [np.array([0.5])], [[]],
                                                          None, [[0, [1, 2]]], np.array([[0]]), [[True]]])),
                                       "index_batches", ("index_batches", "index_batches[0]"))}, check)


@fuzz("np.minibatch.epoch_index_batches", 40)
def _np_epoch_index_batches(draw):
    m, epochs, batch_size = size(draw, 1, 12), size(draw, 1, 3), size(draw, 1, 5)
    sampling = draw(st.sampled_from(SAMPLING))
    valid = {"m": m, "epochs": epochs, "batch_size": batch_size, "sampling": sampling}
    if sampling == "shuffle" and draw(st.booleans()):
        valid["permutations"] = np_mb.draw_permutations(m, epochs, 3)
    else:
        valid["seed"] = draw(st.integers(0, 99))

    def check(out, kw):
        assert len(out) == epochs
        for batches in out:
            idx = np.concatenate(batches)
            assert idx.min() >= 0 and idx.max() < m
            if sampling == "shuffle":
                assert sorted(idx.tolist()) == list(range(m))
    spoilers = {"m": lambda d: spoil_count(d, "m"), "epochs": lambda d: spoil_count(d, "epochs"),
                "batch_size": lambda d: spoil_count(d, "batch_size"),
                "sampling": lambda d: spoil_choice(d, "sampling", SAMPLING)}
    if "seed" in valid:
        spoilers["seed"] = lambda d: spoil_rng(d, "seed")
    if "permutations" in valid:
        spoilers["permutations"] = lambda d: Bad([np.zeros(m, np.int64) + (m > 1)] * epochs if m > 1 else [[0]] * 0,
                                                 "permutations not permutations", ("permutations", "permutations[0]"))
    return make_case(draw, np_mb.epoch_index_batches, valid, spoilers, check)


@fuzz("th.minibatch.PermutationSampler", 25)
def _th_permutation_sampler(draw):
    m = size(draw, 1, 12)
    permutation = np.random.default_rng(draw(st.integers(0, 9))).permutation(m)
    return make_case(draw, th_mb.PermutationSampler, {"permutation": permutation, "m": m}, {
        "permutation": lambda d: _spoil_permutation(d, permutation, "permutation") if d(st.booleans()) else
        Bad(None, "permutation None", ("permutation",)),
        "m": lambda d: Bad(d(st.sampled_from([0, -3, 2.5, "2", True, [2]])), "m", ("m",))},   # None: its own length
        lambda out, kw: list(out) == permutation.tolist() or pytest.fail("order"))


@fuzz("th.minibatch.IndexBatchSampler", 25)
def _th_index_batch_sampler(draw):
    m = size(draw, 1, 12)
    batches = np_mb.sample_with_replacement(m, size(draw, 1, 4), size(draw, 1, 3), 0)
    return make_case(draw, th_mb.IndexBatchSampler, {"batches": batches, "m": m}, {
        "batches": lambda d: Bad(d(st.sampled_from([[np.array([m])], [np.array([-1])], [np.array([0.5])], [[]], None,
                                                    [[0, [1, 2]]], "0"])), "batches", ("batches", "batches[0]")),
        "m": lambda d: spoil_count(d, "m")},
        lambda out, kw: [list(b) for b in out] == [b.tolist() for b in batches] or pytest.fail("batches"))


@fuzz("th.minibatch.dataset", 25)
def _th_dataset(draw):
    X, Xt, y, m = draw_th_data(draw)
    return make_case(draw, th_mb.dataset, {"X": Xt, "y": y}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, pinned=False, kinds=["rank-down", "rank-up", "empty", "dtype", "NaN",
                                                                      "numpy", "None"], also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", y, 3, also=("X",), exclude=("label C", "label 2**40", "label -1"))},
        lambda out, kw: len(out) == m or pytest.fail("length"))


@fuzz("th.minibatch.mini_batch_loader", 25)
def _th_mini_batch_loader(draw):
    X, Xt, y, m = draw_th_data(draw)
    batch_size = size(draw, 1, 5)
    permutation = np.random.default_rng(draw(st.integers(0, 9))).permutation(m)

    def check(loader, kw):
        batches = list(loader)
        assert torch.equal(torch.cat([b[0] for b in batches]), Xt.detach()[permutation])
        assert torch.equal(torch.cat([b[1] for b in batches]), y[permutation])
    return make_case(draw, th_mb.mini_batch_loader, {"X": Xt, "y": y, "batch_size": batch_size,
                                                    "permutation": permutation}, {
        "batch_size": lambda d: spoil_count(d, "batch_size"),
        "permutation": lambda d: _spoil_permutation(d, permutation),
        "y": lambda d: spoil_th_labels(d, "y", y, 3, also=("X",), exclude=("label C", "label 2**40", "label -1"))},
        check)


@fuzz("th.minibatch.order_loader", 25)
def _th_order_loader(draw):
    X, Xt, y, m = draw_th_data(draw)
    sampling, batch_size = draw(st.sampled_from(SAMPLING)), size(draw, 1, 4)
    order = th_mb.epoch_orders(m, epochs=1, batch_size=batch_size, seed=1, sampling=sampling)[0]
    batches = np_mb.epoch_index_batches(m, epochs=1, batch_size=batch_size, seed=1, sampling=sampling)[0]

    def check(loader, kw):
        got = torch.cat([b[1] for b in loader])
        assert torch.equal(got, y[np.concatenate(batches)])
    return make_case(draw, th_mb.order_loader, {"X": Xt, "y": y, "order": order, "sampling": sampling,
                                               "batch_size": batch_size}, {
        "y": lambda d: spoil_th_labels(d, "y", y, 3, also=("X",), exclude=("label C", "label 2**40", "label -1")),
        "sampling": lambda d: spoil_choice(d, "sampling", SAMPLING),
        "order": lambda d: Bad(d(st.sampled_from(
            [None, np.array([m]), np.array([0.5]), [[0, [1, 2]]]] if sampling == "shuffle"
            else [None, [np.array([m])], [np.array([0.5])], [[0, [1, 2]]]])), "order", ("order", "order[0]"))},
        check)


FIXED_GAPS = [
    fixed("course_permutation-seed", lambda: np_mb.course_permutation(4, 1.5), "seed"),
    fixed("draw_permutations-seed", lambda: np_mb.draw_permutations(4, 1, seed=-1), "seed"),
    fixed("epoch_index_batches-seed", lambda: np_mb.epoch_index_batches(4, epochs=1, batch_size=2, seed="a"), "seed"),
    fixed("sample_with_replacement-rng", lambda: np_mb.sample_with_replacement(4, 2, 1, "x"), "rng"),
    fixed("select-index_batches", lambda: np_mb.select(tiny_xn(), tiny_yn(), [np.array([0, 5])]), "index_batches"),
    fixed("th-PermutationSampler-None", lambda: th_mb.PermutationSampler(None), "permutation"),
    fixed("th-IndexBatchSampler-batches", lambda: th_mb.IndexBatchSampler(None, 3), "batches"),
    fixed("th-order_loader-sampling",
          lambda: th_mb.order_loader(tiny_xt(), tiny_yt(), np.arange(4), sampling="nope", batch_size=2),
          "sampling"),
    fixed("course_permutation-m-2**62", lambda: np_mb.course_permutation(2 ** 62, 0), "m"),
    fixed("sample_with_replacement-m-2**62", lambda: np_mb.sample_with_replacement(2 ** 62, 2, 1, 0), "m"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
