"""Mini-batches with torch.utils.data: a DataLoader over a TensorDataset, fed a given order.

torch's own RandomSampler draws from torch's generator, which never matches
NumPy's; so the order is the shared draw (scratch_numpy.draws: a permutation per
epoch, or index batches drawn with replacement) and the batches are cut here:

* shuffle and partition: ``PermutationSampler(permutation)`` yields the
  permutation's indices; DataLoader(batch_size, drop_last=False) cuts them into
  consecutive batches, the last one partial, exactly as the course's slices.
* sampling with replacement (cs231n): ``IndexBatchSampler(batches)`` yields the
  given index lists as the DataLoader's batch_sampler.

Batch-first: X (m, n_x) and y (m,) int64; a batch is (X_b (b, n_x), y_b (b,)).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset

from scratch_numpy.contract import (SAMPLING, check_batch_order, check_batch_size, check_index_batches,
                                    check_permutation)
from scratch_numpy.draws import draw_permutations, sample_with_replacement
from scratch_numpy.validation import check_choice, check_count

from .validation import check_tensor


class PermutationSampler(Sampler[int]):
    """Yields the indices of a given permutation, in order (one epoch)."""

    def __init__(self, permutation: np.ndarray, m: int | None = None):
        m = None if m is None else check_count("m", m)
        self.permutation = check_permutation(permutation, m).tolist()

    def __iter__(self):
        return iter(self.permutation)

    def __len__(self):
        return len(self.permutation)


class IndexBatchSampler(Sampler[list[int]]):
    """Yields given index batches (lists of example indices), for DataLoader(batch_sampler=...)."""

    def __init__(self, batches: Sequence, m: int):
        self.batches = [batch.tolist() for batch in check_index_batches(batches, check_count("m", m), "batches")]

    def __iter__(self):
        return iter(self.batches)

    def __len__(self):
        return len(self.batches)


def dataset(X: torch.Tensor, y: torch.Tensor) -> TensorDataset:
    """TensorDataset(X, y) after checking X (m, n_x) and y (m,) int64."""
    check_tensor("X", X)
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64 or tuple(y.shape) != (X.shape[0],):
        raise ValueError(f"y must be an int64 tensor of shape ({X.shape[0]},), "
                         f"got {getattr(y, 'dtype', type(y).__name__)} {tuple(getattr(y, 'shape', ()))}")
    return TensorDataset(X, y)


def mini_batch_loader(X: torch.Tensor, y: torch.Tensor, batch_size: int, permutation: np.ndarray) -> DataLoader:
    """Shuffle and partition: one epoch of batches of ``batch_size`` in ``permutation``'s order."""
    batch_size = check_batch_size(batch_size)
    data = dataset(X, y)
    return DataLoader(data, batch_size=batch_size, shuffle=False, drop_last=False,
                      sampler=PermutationSampler(permutation, X.shape[0]))


def index_batch_loader(X: torch.Tensor, y: torch.Tensor, batches: Sequence) -> DataLoader:
    """One epoch of the given index batches (e.g. drawn with replacement by NumPy)."""
    data = dataset(X, y)
    return DataLoader(data, batch_sampler=IndexBatchSampler(batches, X.shape[0]))


def epoch_orders(m: int, *, epochs: int, batch_size: int, permutations=None, seed=None,
                 sampling: str = "shuffle") -> list:
    """Each epoch's order, the shared draws (scratch_numpy.draws) that ``order_loader`` cuts:

    sampling "shuffle": the epoch's permutation of 0..m-1 (given, or drawn from ``seed``);
    sampling "replacement": the epoch's max(m // batch_size, 1) index batches (cs231n's Solver),
    each ``batch_size`` indices drawn with replacement from ``seed``'s generator.
    """
    m, epochs, batch_size, rng, permutations = check_batch_order(m, epochs, batch_size, permutations, seed, sampling)
    if sampling == "replacement":
        return [sample_with_replacement(m, batch_size, max(m // batch_size, 1), rng) for _ in range(epochs)]
    return permutations if permutations is not None else draw_permutations(m, epochs, rng)


def order_loader(X: torch.Tensor, y: torch.Tensor, order, *, sampling: str, batch_size: int) -> DataLoader:
    """The DataLoader for one epoch of ``epoch_orders``: the permutation cut into consecutive
    batches of ``batch_size`` (the last partial) by the DataLoader ("shuffle"), or the index batches."""
    m = check_tensor("X", X).shape[0]
    if check_choice("sampling", sampling, SAMPLING) == "replacement":
        return index_batch_loader(X, y, check_index_batches(order, m, "order"))
    return mini_batch_loader(X, y, batch_size, check_permutation(order, m, "order"))
