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

from .init import as_rng
from .validation import check_choice, check_count, check_plain_array

SAMPLING = ("shuffle", "replacement")


def check_batch_size(batch_size) -> int:
    """A batch size is an integer >= 1 (a size above m gives one batch of all m examples)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1 (1: stochastic, m: batch gradient descent), "
                         f"got {batch_size!r}")
    return check_count("batch_size", batch_size)   # and at most MAX_COUNT, as every count


def check_permutation(permutation, m: int | None, name: str = "permutation") -> np.ndarray:
    """A 1-D integer array holding each of 0, ..., m - 1 exactly once (m None: its own length);
    returned as int64."""
    check_plain_array(name, permutation)
    if not isinstance(permutation, np.ndarray) or permutation.ndim != 1 or permutation.dtype.kind not in "iu":
        got = (f"array of shape {permutation.shape} and dtype {permutation.dtype}"
               if isinstance(permutation, np.ndarray) else type(permutation).__name__)
        raise ValueError(f"{name} must be a 1-D integer numpy array (a permutation of "
                         f"0..{'m - 1' if m is None else m - 1}), got {got}")
    m = permutation.shape[0] if m is None else m
    if permutation.shape[0] != m or not np.array_equal(np.sort(permutation), np.arange(m)):
        raise ValueError(f"{name} must hold each of 0..{m - 1} exactly once (m = {m} examples)")
    return permutation.astype(np.int64)


def course_permutation(m: int, seed: int) -> np.ndarray:
    """The course's shuffle: np.random.seed(seed); np.random.permutation(m), without touching
    the global generator."""
    m = check_count("m", m)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1] (np.random.seed's range), got {seed!r}"[:200])
    return np.random.RandomState(seed).permutation(m).astype(np.int64)


def draw_permutations(m: int, epochs: int, seed: int = 0) -> list[np.ndarray]:
    """One permutation of 0..m-1 per epoch, from ``np.random.default_rng(seed)`` (``seed`` may
    also be a Generator or a RandomState, which then draws them)."""
    m, epochs = check_count("m", m), check_count("epochs", epochs)
    rng = as_rng(seed, "seed")
    return [rng.permutation(m).astype(np.int64) for _ in range(epochs)]


def partition(permutation: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Cut a permutation into consecutive index batches of ``batch_size``; the last may be partial."""
    batch_size = check_batch_size(batch_size)
    permutation = check_permutation(permutation, None)
    return [permutation[k:k + batch_size] for k in range(0, permutation.shape[0], batch_size)]


def iterations_per_epoch(m: int, batch_size: int) -> int:
    """cs231n's Solver: max(m // batch_size, 1) sampled batches make one epoch."""
    return max(check_count("m", m) // check_batch_size(batch_size), 1)


def sample_with_replacement(m: int, batch_size: int, iterations: int, rng) -> list[np.ndarray]:
    """``iterations`` index batches, each ``batch_size`` indices drawn uniformly from [0, m)
    with replacement (cs231n: ``np.random.choice(num_train, batch_size)``). ``rng``: an int seed,
    a Generator or a RandomState; None draws from a fresh, unseeded generator."""
    m, batch_size = check_count("m", m), check_batch_size(batch_size)
    iterations = check_count("iterations", iterations)
    rng = np.random.default_rng() if rng is None else as_rng(rng)
    return [rng.choice(m, batch_size).astype(np.int64) for _ in range(iterations)]


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


def check_index_batches(batches, m: int, name: str = "index_batches") -> list[np.ndarray]:
    """A list (or tuple) of index batches, each a non-empty 1-D integer array (or list) of
    example indices in [0, m); returned as arrays."""
    if not isinstance(batches, (list, tuple)):
        raise ValueError(f"{name} must be a list of 1-D index arrays, got {type(batches).__name__}")
    checked = []
    for k, batch in enumerate(batches):
        try:
            batch = np.asarray(batch)
        except ValueError:   # a ragged nesting such as [0, [1, 2]]
            batch = None
        if (batch is None or batch.ndim != 1 or batch.size == 0 or batch.dtype.kind not in "iu"
                or batch.min() < 0 or batch.max() >= m):
            raise ValueError(f"{name}[{k}] must be a non-empty 1-D list of indices in [0, {m - 1}]")
        checked.append(batch)
    return checked


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
    permutations are given, or drawn with ``draw_permutations(m, epochs, seed)``.
    sampling "replacement": epoch e is ``iterations_per_epoch(m, batch_size)``
    batches from ``sample_with_replacement`` with ``default_rng(seed)``.
    """
    m, epochs = check_count("m", m), check_count("epochs", epochs)
    batch_size = check_batch_size(batch_size)
    check_choice("sampling", sampling, SAMPLING)
    rng = None if seed is None else as_rng(seed, "seed")
    if (permutations is None) == (seed is None) and sampling == "shuffle":
        raise ValueError("give exactly one of permutations (one per epoch) and seed (to draw them)")
    if sampling == "replacement":
        if permutations is not None or seed is None:
            raise ValueError("sampling='replacement' draws its batches from seed: give seed, not permutations")
        per_epoch = iterations_per_epoch(m, batch_size)
        return [sample_with_replacement(m, batch_size, per_epoch, rng) for _ in range(epochs)]
    if permutations is None:
        permutations = draw_permutations(m, epochs, rng)
    if len(permutations) < epochs:
        raise ValueError(f"permutations holds {len(permutations)} permutations for {epochs} epochs")
    return [partition(check_permutation(p, m, f"permutations[{e}]"), batch_size)
            for e, p in enumerate(permutations[:epochs])]
