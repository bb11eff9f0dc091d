"""Mini-batches with torch.utils.data: a DataLoader over a TensorDataset, fed a given order.

torch's own RandomSampler draws from torch's generator, which never matches
NumPy's; so the order is drawn once with NumPy (scratch_numpy.minibatch) and
handed in:

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

from scratch_numpy.minibatch import SAMPLING, check_batch_size, check_index_batches, check_permutation
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


def epoch_loader(X: torch.Tensor, y: torch.Tensor, batches: Sequence, *, sampling: str, batch_size: int) -> DataLoader:
    """The DataLoader for one epoch of scratch_numpy.minibatch.epoch_index_batches: a
    PermutationSampler over the concatenated batches ("shuffle"), or the batches themselves."""
    if check_choice("sampling", sampling, SAMPLING) == "replacement":
        return index_batch_loader(X, y, batches)   # IndexBatchSampler checks the batches
    m = check_tensor("X", X).shape[0]
    checked = check_index_batches(batches, m, "batches")
    # one shuffled epoch's batches hold every example once: a failure is reported as batches, not permutation
    order = check_permutation(np.concatenate(checked) if checked else np.arange(0), m, "batches (concatenated)")
    return mini_batch_loader(X, y, batch_size, order)
