"""Mini-batches: which examples (columns of X) each update sees.

Shuffle and partition (the course's random_mini_batches): once per epoch, a
permutation of the m columns; the shuffled columns are cut into consecutive
slices of ``batch_size``; the last slice holds the m mod batch_size examples
left over (a partial batch), so every example is used exactly once per epoch:

    shuffled = X[:, permutation]
    batch k  = shuffled[:, k * batch_size : (k + 1) * batch_size],  k = 0, ..., ceil(m / batch_size) - 1

The two extremes: batch_size = m is batch gradient descent (one batch, the
whole set, per epoch); batch_size = 1 is stochastic gradient descent.

Sampling with replacement (cs231n's Solver): every iteration draws
``batch_size`` indices uniformly from [0, m), independently; an "epoch" is
max(m // batch_size, 1) iterations, and an example may be seen twice or never.

The order is always given, never drawn inside: a permutation (or index lists)
is drawn once with NumPy and handed to both sides, so NumPy and torch see the
very same batches (reference_torch.minibatch feeds it to a DataLoader).
``course_permutation(m, seed)`` reproduces the course's
``np.random.seed(seed); np.random.permutation(m)``.
"""

from __future__ import annotations

import numpy as np

from .contract import check_batch_order, check_batch_size, check_index_batches, check_permutation
from .draws import draw_permutations, sample_with_replacement
from .validation import check_count, check_plain_array


def course_permutation(m: int, seed: int) -> np.ndarray:
    """The course's shuffle: np.random.seed(seed); np.random.permutation(m), without touching
    the global generator."""
    m = check_count("m", m)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1] (np.random.seed's range), got {seed!r}"[:200])
    return np.random.RandomState(seed).permutation(m).astype(np.int64)


def partition(permutation: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cut a permutation into consecutive index batches of ``batch_size``; the last may be partial."""
    batch_size = check_batch_size(batch_size)
    permutation = check_permutation(permutation, None)
    return [permutation[k:k + batch_size] for k in range(0, permutation.shape[0], batch_size)]


def iterations_per_epoch(m: int, batch_size: int) -> int:
    """cs231n's Solver: max(m // batch_size, 1) sampled batches make one epoch."""
    return max(check_count("m", m) // check_batch_size(batch_size), 1)


def mini_batches(X: np.ndarray, Y: np.ndarray, batch_size: int, permutation: np.ndarray):
    """The course's random_mini_batches from a given permutation: [(X_batch, Y_batch), ...].

    Shapes: X (n_x, m), Y (1, m); X_batch (n_x, b), Y_batch (1, b) with b = batch_size,
    except the last batch, which holds the m mod batch_size remaining examples.
    """
    m = _check_columns(X, Y)
    return select(X, Y, partition(check_permutation(permutation, m), batch_size))


def select(X: np.ndarray, Y: np.ndarray, index_batches) -> list:
    """[(X[:, idx], Y[:, idx]) for idx in index_batches]."""
    m = _check_columns(X, Y)
    return [(X[:, idx], Y[:, idx]) for idx in check_index_batches(index_batches, m)]


def _check_columns(X, Y) -> int:
    check_plain_array("X", X)
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise ValueError(f"X must be a 2-D numpy array (n_x, m), got {getattr(X, 'shape', type(X).__name__)}")
    check_plain_array("Y", Y)
    if not isinstance(Y, np.ndarray) or Y.shape != (1, X.shape[1]):
        raise ValueError(f"Y must have shape (1, {X.shape[1]}), got {getattr(Y, 'shape', type(Y).__name__)}")
    return X.shape[1]


def epoch_index_batches(m: int, *, epochs: int, batch_size: int, permutations=None, seed=None,
                        sampling: str = "shuffle") -> list[list[np.ndarray]]:
    """The index batches of every epoch, as both training loops consume them.

    sampling "shuffle": epoch e is ``partition(permutations[e], batch_size)``; the
    permutations are given, or drawn with ``draws.draw_permutations(m, epochs, seed)``.
    sampling "replacement": epoch e is ``iterations_per_epoch(m, batch_size)``
    batches from ``draws.sample_with_replacement`` with ``default_rng(seed)``.
    """
    m, epochs, batch_size, rng, permutations = check_batch_order(m, epochs, batch_size, permutations, seed, sampling)
    if sampling == "replacement":
        per_epoch = iterations_per_epoch(m, batch_size)
        return [sample_with_replacement(m, batch_size, per_epoch, rng) for _ in range(epochs)]
    if permutations is None:
        permutations = draw_permutations(m, epochs, rng)
    return [partition(p, batch_size) for p in permutations]
