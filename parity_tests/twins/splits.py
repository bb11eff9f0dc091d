"""Train/dev/test splits: the index sets and the examples they select, NumPy columns vs torch Subsets."""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import splits as t_splits
from scratch_numpy import splits as n_splits

from ..checker.harness import compare
from .common import EXACT, case
from .mutant import Mutant, returning


def splits(ratios=(0.6, 0.2, 0.2), *, dtype="float64", device="cpu", m=50, num_classes=3, stratify=False, seed=0):
    """Index sets of every part and the examples they select: NumPy columns vs the torch Subsets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2, m)).astype(dtype)
    Y = rng.integers(0, num_classes, size=(1, m))
    parts = n_splits.split_indices(m, ratios, seed=seed, labels=Y if stratify else None)
    pairs = n_splits.split(X, Y, ratios, seed=seed, stratify=stratify)
    Xt, yt = bridge.data_to_torch(X, Y, device)
    subsets = t_splits.split(Xt, yt, ratios, seed=seed, stratify=stratify)
    numpy_rows, torch_rows = {}, {}
    for name, idx, (X_k, Y_k), subset in zip(n_splits.PART_NAMES, parts, pairs, subsets):
        X_s, y_s = (torch.stack(column) for column in zip(*subset))   # through Subset.__getitem__
        numpy_rows.update({f"indices ({name})": idx, f"X_{name}": X_k, f"Y_{name}": Y_k})
        torch_rows.update({f"indices ({name})": np.asarray(subset.indices, dtype=np.int64), f"X_{name}": X_s.T,
                           f"Y_{name}": y_s[None, :]})
    what = "/".join(f"{100 * r:g}" for r in ratios)
    return compare(numpy_rows, torch_rows, tolerance=EXACT,
                   label=f"split {what}{', stratified' if stratify else ''} (m={m})")


CASES = [
    ("split 60/20/20 from a shared permutation", case(splits, (0.6, 0.2, 0.2))),
    ("split 98/1/1 (m = 1000)", case(splits, (0.98, 0.01, 0.01), m=1000)),
    ("split 60/20/20 stratified", case(splits, (0.6, 0.2, 0.2), stratify=True)),
    ("split 80/20 (train/dev)", case(splits, (0.8, 0.2))),
]


def _labels_sorted(original):
    def split(X, Y, ratios=(0.6, 0.2, 0.2), *, seed=0, stratify=False):   # Y's columns picked in index order
        return [(X_k, Y[:, np.sort(idx)]) for (X_k, _), idx in
                zip(original(X, Y, ratios, seed=seed, stratify=stratify),
                    n_splits.split_indices(X.shape[1], ratios, seed=seed, labels=Y if stratify else None))]
    return split


MUTANTS = {
    "split*": [
        Mutant("numpy", "scratch_numpy.splits.split_indices", "each part's indices in sorted order (a mask)",
               returning(lambda parts: tuple(np.sort(part) for part in parts))),
        Mutant("numpy", "scratch_numpy.splits.split", "Y's columns selected in sorted index order", _labels_sorted),
        Mutant("torch", "reference_torch.splits.split_indices", "each part's indices in sorted order (a mask)",
               returning(lambda parts: tuple(part.sort().values for part in parts)))],
}
