"""Mini-batches: every batch as the NumPy slices and as the DataLoader yields them, each side cutting
(NumPy) or loading (torch) the epochs' orders by its own code from the same seed or permutations."""

from __future__ import annotations

import numpy as np
from torch.utils.data import DataLoader, TensorDataset

from reference_torch import bridge
from reference_torch import minibatch as t_minibatch
from scratch_numpy import minibatch as n_minibatch

from ..checker.harness import compare
from .common import EXACT, case
from .mutant import Mutant


def minibatches_pair(*, sampling="shuffle", dtype="float64", device="cpu", n_x=3, m=37, batch_size=8, seed=0,
                     epochs=2):
    """Every batch of ``epochs`` epochs as the NumPy slices and as the DataLoader yields them.

    Rows "X batch e.k" (n_x, b) and "Y batch e.k" (1, b), plus "batch sizes"."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m)).astype(dtype)
    Y = rng.integers(0, 2, size=(1, m))
    Xt, yt = bridge.data_to_torch(X, Y, device)
    order = {"seed": seed} if sampling == "replacement" else \
        {"permutations": n_minibatch.draw_permutations(m, epochs, seed)}
    batches = n_minibatch.epoch_index_batches(m, epochs=epochs, batch_size=batch_size, sampling=sampling, **order)
    orders = t_minibatch.epoch_orders(m, epochs=epochs, batch_size=batch_size, sampling=sampling, **order)
    numpy_rows, torch_rows, sizes, sizes_t = {}, {}, [], []
    for e, epoch_batches in enumerate(batches):
        if sampling == "shuffle":   # the course's function, from the permutation itself
            pairs = n_minibatch.mini_batches(X, Y, batch_size, order["permutations"][e])
        else:
            pairs = n_minibatch.select(X, Y, epoch_batches)
        loader = t_minibatch.order_loader(Xt, yt, orders[e], sampling=sampling, batch_size=batch_size)
        for k, (X_b, Y_b) in enumerate(pairs):
            numpy_rows.update({f"X batch {e}.{k}": X_b, f"Y batch {e}.{k}": Y_b})
            sizes.append(Y_b.shape[1])
        for k, (X_b, y_b) in enumerate(loader):
            torch_rows.update({f"X batch {e}.{k}": X_b.T, f"Y batch {e}.{k}": y_b[None, :]})
            sizes_t.append(len(y_b))
    numpy_rows["batch sizes"] = np.asarray(sizes, dtype=np.int64)
    torch_rows["batch sizes"] = np.asarray(sizes_t, dtype=np.int64)
    return numpy_rows, torch_rows


def minibatches(sampling="shuffle", dtype="float64", device="cpu", **kw):
    """The batches must be identical, bit for bit."""
    bs = kw.get("batch_size", 8)
    return compare(*minibatches_pair(sampling=sampling, dtype=dtype, device=device, **kw), tolerance=EXACT,
                   label=f"mini-batches ({sampling}, batch_size={bs})")


CASES = [
    ("mini-batches: shuffle + partition, last batch partial", case(minibatches, "shuffle")),
    ("mini-batches: batch gradient descent (batch = m)", case(minibatches, "shuffle", batch_size=37)),
    ("mini-batches: stochastic (batch = 1)", case(minibatches, "shuffle", batch_size=1, m=9)),
    ("mini-batches: sampling with replacement (cs231n)", case(minibatches, "replacement")),
]


def _labels_unshuffled(original):
    def mutated(X, Y, index_batches):   # X's columns shuffled, Y's taken in their original order
        pairs = original(X, Y, index_batches)
        starts = np.cumsum([0, *(X_b.shape[1] for X_b, _ in pairs)])
        return [(X_b, Y[:, start:start + X_b.shape[1]]) for (X_b, _), start in zip(pairs, starts)]
    return mutated


def _sampler_dropped(original):
    return lambda X, y, batch_size, permutation: DataLoader(TensorDataset(X, y), batch_size=batch_size)


def _deduplicated(original):
    return lambda X, y, batches: original(X, y, [np.array(sorted(set(np.asarray(b).tolist()))) for b in batches])


NUMPY_LABELS_UNSHUFFLED = Mutant("numpy", "scratch_numpy.minibatch.select", "Y's columns not shuffled with X's",
                                 _labels_unshuffled)
TORCH_SAMPLER_DROPPED = Mutant("torch", "reference_torch.minibatch.mini_batch_loader",
                               "the permutation sampler dropped: batches in index order", _sampler_dropped)

MUTANTS = {
    "mini-batches: shuffle*": [NUMPY_LABELS_UNSHUFFLED, TORCH_SAMPLER_DROPPED],
    "mini-batches: batch gradient descent (batch = m)": [NUMPY_LABELS_UNSHUFFLED, TORCH_SAMPLER_DROPPED],
    "mini-batches: stochastic (batch = 1)": [NUMPY_LABELS_UNSHUFFLED, TORCH_SAMPLER_DROPPED],
    "mini-batches: sampling with replacement (cs231n)": [
        NUMPY_LABELS_UNSHUFFLED,
        Mutant("torch", "reference_torch.minibatch.index_batch_loader",
               "each batch's indices deduplicated through a set", _deduplicated)],
}
