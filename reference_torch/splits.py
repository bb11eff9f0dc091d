"""Train/dev(/test) splits as torch.utils.data.Subset, cut from the shared NumPy permutation.

torch.utils.data.random_split draws its own permutation from torch's generator, which never
equals NumPy's, so it cannot reproduce scratch_numpy.splits. Instead the permutation is the shared
draw (scratch_numpy.draws.shuffled), and everything else is computed here with torch ops: the part
sizes by the largest-remainder rule (``part_sizes``), the cut, per class when stratified; each
part is a Subset of the dataset with those indices.
"""

from __future__ import annotations

import torch
from torch.utils.data import Subset, TensorDataset

from scratch_numpy.contract import PART_NAMES, check_ratios
from scratch_numpy.draws import shuffled
from scratch_numpy.validation import check_count, check_flag

from .validation import check_labels, check_tensor

ANY = torch.iinfo(torch.int64).max  # labels may name any number of classes


def part_sizes(m: int, ratios) -> torch.Tensor:
    """The sizes (int64, one per ratio) of the parts of m examples, largest remainder: part k first
    gets floor(r_k m); the examples left over go one each to the parts with the largest fractional
    parts r_k m - floor(r_k m), ties to the earlier part. Each may be 0; they add up to m."""
    m, ratios = check_count("m", m), check_ratios(ratios)
    # a hair of slack so that 0.6 * 10 = 6.000000000000001 and 0.29 * 100 = 28.999999999999996 both floor right
    exact = torch.tensor(ratios, dtype=torch.float64) * m + 1e-9
    sizes = exact.floor()
    by_remainder = torch.argsort(sizes - exact, stable=True)   # largest remainder first, ties in order
    sizes[by_remainder[:m - int(sizes.sum())]] += 1
    return sizes.to(torch.int64)


def split_indices(permutation, ratios=(0.6, 0.2, 0.2), labels=None) -> tuple[torch.Tensor, ...]:
    """The indices (int64 tensors) of each part, cut from ``permutation`` (a 1-D int64 tensor of
    0..m-1, e.g. torch.from_numpy(shuffled(m, seed))); ``labels`` (m,) int64 for a stratified split."""
    if not isinstance(permutation, torch.Tensor) or permutation.dtype != torch.int64 or permutation.dim() != 1:
        raise ValueError("permutation must be a 1-D int64 tensor (a permutation of 0..m-1)")
    m, ratios = permutation.shape[0], check_ratios(ratios)
    if not torch.equal(permutation.sort().values, torch.arange(m, device=permutation.device)):
        raise ValueError(f"permutation must hold each of 0..{m - 1} exactly once")
    groups = torch.zeros(m, dtype=torch.int64, device=permutation.device) if labels is None \
        else check_labels("labels", labels, m=m, num_classes=ANY)
    part_of = torch.empty(m, dtype=torch.int64, device=permutation.device)
    for c in torch.unique(groups):
        members = permutation[groups[permutation] == c]
        sizes = part_sizes(len(members), ratios).to(permutation.device)
        part_of[members] = torch.repeat_interleave(torch.arange(len(ratios), device=permutation.device), sizes)
    parts = tuple(permutation[part_of[permutation] == k] for k in range(len(ratios)))
    for name, part in zip(PART_NAMES, parts):
        if part.numel() == 0:
            raise ValueError(f"ratios {ratios} leave the {name} part empty for m = {m} examples; "
                             f"use more examples or a larger {name} ratio")
    return parts


def split(X, y, ratios=(0.6, 0.2, 0.2), *, seed: int = 0, stratify: bool = False) -> list[Subset]:
    """[Subset(TensorDataset(X, y), indices), ...] in the order of ``ratios``; X (m, n_x), y (m,) int64."""
    X = check_tensor("X", X)
    check_labels("y", y, m=X.shape[0], num_classes=ANY)
    check_flag("stratify", stratify)
    permutation = torch.from_numpy(shuffled(X.shape[0], seed)).to(X.device)
    parts = split_indices(permutation, ratios, y if stratify else None)
    dataset = TensorDataset(X, y)
    return [Subset(dataset, part.tolist()) for part in parts]
