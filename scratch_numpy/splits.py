"""Train/dev(/test) splits by ratio (course 2, week 1), from one seeded permutation.

The m examples (columns of X) are shuffled once, ``permutation =
default_rng(seed).permutation(m)``, and cut into consecutive parts whose sizes
follow ``ratios``: (0.6, 0.2, 0.2) for the classic small-data split, (0.98, 0.01,
0.01) for a million examples, (0.8, 0.2) for train/dev only, or any other.

Part sizes (largest remainder): part k first gets floor(r_k m) examples; the
examples left over go one each to the parts with the largest fractional parts
r_k m - floor(r_k m) (ties: the earlier part). So the sizes always add up to m,
and m = 10 with (0.6, 0.2, 0.2) gives exactly 6, 2, 2.

Stratified: the same cut is made within each class, in the order the classes'
examples appear in the permutation, so every part keeps the class proportions
(up to rounding); each part then lists its indices in permutation order.

Every part must be non-empty: ratios that leave a part with no example for this
m (0.98/0.01/0.01 with m = 50) are an error. reference_torch.splits cuts the same
NumPy permutation with torch ops and wraps the parts as torch.utils.data.Subset.
"""

from __future__ import annotations

import numpy as np

from .contract import PART_NAMES, check_ratios
from .draws import shuffled
from .validation import check_count, check_flag, check_float_array, check_labels

ANY = np.iinfo(np.int64).max  # labels may name any number of classes


def part_sizes(m: int, ratios) -> tuple[int, ...]:
    """Sizes of the parts of m examples by the largest-remainder rule (module docstring); each may be 0."""
    m, ratios = check_count("m", m), check_ratios(ratios)
    # a hair of slack so that 0.6 * 10 = 6.000000000000001 and 0.29 * 100 = 28.999999999999996 both floor right
    exact = [r * m + 1e-9 for r in ratios]
    sizes = [int(np.floor(x)) for x in exact]
    by_remainder = sorted(range(len(ratios)), key=lambda k: -(exact[k] - sizes[k]))
    for k in by_remainder[:m - sum(sizes)]:
        sizes[k] += 1
    return tuple(sizes)


def split_indices(m: int, ratios=(0.6, 0.2, 0.2), *, seed: int = 0, labels=None) -> tuple[np.ndarray, ...]:
    """The example indices of each part (int64 arrays), in the order of ``ratios``.

    ``labels``: None, or Y (1, m) for a stratified split (class labels 0..C-1).
    """
    m, ratios = check_count("m", m), check_ratios(ratios)
    permutation = shuffled(m, seed)
    # one group (plain split) or one per class (stratified); each group is cut in permutation order
    groups = np.zeros(m, np.int64) if labels is None else check_labels("labels", labels, m=m, num_classes=ANY)[0]
    part_of = np.empty(m, dtype=np.int64)
    for c in np.unique(groups):
        members = permutation[groups[permutation] == c]
        part_of[members] = np.repeat(np.arange(len(ratios)), part_sizes(len(members), ratios))
    parts = [permutation[part_of[permutation] == k] for k in range(len(ratios))]
    for name, part in zip(PART_NAMES, parts):
        if part.size == 0:
            raise ValueError(f"ratios {ratios} leave the {name} part empty for m = {m} examples; "
                             f"use more examples or a larger {name} ratio")
    return tuple(parts)


def split(X, Y, ratios=(0.6, 0.2, 0.2), *, seed: int = 0, stratify: bool = False):
    """[(X_part, Y_part), ...] in the order of ``ratios`` (columns selected by ``split_indices``).

    Shapes: X (n_x, m), Y (1, m) -> X_part (n_x, m_k), Y_part (1, m_k).
    """
    X = check_float_array("X", X)
    m = X.shape[1]
    check_labels("Y", Y, m=m, num_classes=ANY)
    check_flag("stratify", stratify)
    parts = split_indices(m, ratios, seed=seed, labels=Y if stratify else None)
    return [(X[:, idx], Y[:, idx]) for idx in parts]
