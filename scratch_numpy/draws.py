"""The shared random draws that both sides make from a seed themselves: a split's permutation and
each epoch's batch order, with NumPy's generator. torch's generator never draws NumPy's numbers,
so the two sides can only agree on shared draws; nothing here computes a concept (cutting the
draws into parts or batches is each side's own work). Draws that a caller makes once and hands to
both sides (weights, dropout masks, augmentation flips and offsets) stay with their concept.
"""

from __future__ import annotations

import numpy as np

from .contract import check_batch_size
from .validation import as_rng, check_count


def shuffled(m: int, seed: int = 0) -> np.ndarray:
    """The shared permutation of 0..m-1, ``default_rng(seed).permutation(m)`` as int64."""
    m, seed = check_count("m", m), check_count("seed", seed, minimum=0, maximum=None)
    return np.random.default_rng(seed).permutation(m).astype(np.int64)


def draw_permutations(m: int, epochs: int, seed: int = 0) -> list[np.ndarray]:
    """One permutation of 0..m-1 per epoch, from ``np.random.default_rng(seed)`` (``seed`` may
    also be a Generator or a RandomState, which then draws them)."""
    m, epochs = check_count("m", m), check_count("epochs", epochs)
    rng = as_rng(seed, "seed")
    return [rng.permutation(m).astype(np.int64) for _ in range(epochs)]


def sample_with_replacement(m: int, batch_size: int, iterations: int, rng) -> list[np.ndarray]:
    """``iterations`` index batches, each ``batch_size`` indices drawn uniformly from [0, m)
    with replacement (cs231n: ``np.random.choice(num_train, batch_size)``). ``rng``: an int seed,
    a Generator or a RandomState; None draws from a fresh, unseeded generator."""
    m, batch_size = check_count("m", m), check_batch_size(batch_size)
    iterations = check_count("iterations", iterations)
    rng = np.random.default_rng() if rng is None else as_rng(rng)
    return [rng.choice(m, batch_size).astype(np.int64) for _ in range(iterations)]
