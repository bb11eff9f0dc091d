"""Inverted dropout: the layer with a shared or a recovered mask, and networks with shared masks."""

from __future__ import annotations

import numpy as np

from reference_torch import dropout as t_dropout
from scratch_numpy import dropout as n_dropout

from ..checker.harness import compare
from .common import batch_first, case, columns, leaf, normal
from .models import network_step, options_trajectory
from .mutant import Mutant


def dropout_layer(*, dtype="float64", shape=(6, 9), keep_prob=0.7, seed=0, device="cpu", mask_from="numpy"):
    """out = A * D / keep_prob and dA = dout * D / keep_prob for a random upstream dout.

    ``mask_from``: "numpy" - D drawn with NumPy and injected into both sides; "torch" -
    torch's F.dropout draws it under a seed, and the NumPy side is given the mask recovered
    with reference_torch.dropout.recover_mask (the "D" row checks the recovery, exactly).
    Shapes are the NumPy side's (n, m); torch works on the transposes.
    """
    rng = np.random.default_rng(seed)
    A = normal(rng, shape, dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    At = leaf(A, device)
    if mask_from == "numpy":
        D = n_dropout.draw_mask(shape, keep_prob, rng, dtype)
        out_t = t_dropout.dropout(At, keep_prob, mask=batch_first(D, device))
        D_t = D
    elif mask_from == "torch":
        D = columns(t_dropout.recover_mask(shape[::-1], keep_prob, seed, dtype=At.dtype, device=device))
        out_t = t_dropout.dropout(At, keep_prob, seed=seed)
        D_t = (columns(out_t.detach()) != 0).astype(dtype)   # the mask torch really applied
    else:
        raise ValueError(f"mask_from must be 'numpy' or 'torch', got {mask_from!r}")
    out, cache = n_dropout.dropout_forward(A, keep_prob, mask=D)
    dA = n_dropout.dropout_backward(dout, cache)
    out_t.backward(batch_first(dout, device))
    return compare({"D": D, "out": out, "dA": dA}, {"D": D_t, "out": out_t.T, "dA": At.grad.T},
                   label=f"dropout keep_prob={keep_prob}, mask from {mask_from}")


CASES = [
    ("dropout layer, shared NumPy mask", case(dropout_layer)),
    ("dropout layer, torch's F.dropout mask recovered", case(dropout_layer, mask_from="torch")),
    ("dropout net keep_probs (0.8, 0.6): shared masks, 1 step", case(network_step, keep_probs=(0.8, 0.6))),
    ("dropout net, 50 GD steps, fresh shared masks", case(options_trajectory, keep_probs=(0.8, 0.6))),
]


def _scaled_by_keep_prob(original):
    def mutated(A, keep_prob, mask, rng, train):   # A * D * keep_prob: multiplied where it should divide
        out, cache = original(A, keep_prob, mask, rng, train)
        return out * keep_prob * keep_prob, cache
    return mutated


def _torch_drop_probability(original):
    def mutated(A, keep_prob, *, mask=None, seed=None, train=True):   # F.dropout's p given keep_prob
        return original(A, 1 - keep_prob, mask=mask, seed=seed, train=train)
    return mutated


def _torch_mask_unscaled(original):
    def mutated(A, keep_prob, *, mask=None, seed=None, train=True):   # A * mask, the 1/keep_prob dropped
        out = original(A, keep_prob, mask=mask, seed=seed, train=train)
        return out * keep_prob if train and mask is not None else out
    return mutated


NUMPY_FORWARD = Mutant("numpy", ("scratch_numpy.dropout._dropout_forward",
                                 "scratch_numpy.dropout.dropout_forward.unchecked"),
                       "out = A * D * keep_prob (multiplied, not divided)", _scaled_by_keep_prob)
NUMPY_BACKWARD = Mutant("numpy", ("scratch_numpy.dropout._dropout_backward",
                                  "scratch_numpy.dropout.dropout_backward.unchecked"),
                        "dA = dout * D (the 1/keep_prob dropped)",
                        lambda original: lambda dout, cache: dout if cache.mask is None else dout * cache.mask)
TORCH_UNSCALED = Mutant("torch", ("reference_torch.dropout._dropout", "reference_torch.dropout.dropout.unchecked"),
                        "an injected mask applied as A * mask (the 1/keep_prob dropped)", _torch_mask_unscaled)

MUTANTS = {
    "dropout layer, shared NumPy mask": [NUMPY_FORWARD, NUMPY_BACKWARD, TORCH_UNSCALED],
    "dropout layer, torch's F.dropout mask recovered": [
        NUMPY_BACKWARD,
        Mutant("torch", "reference_torch.dropout._dropout", "F.dropout's p = keep_prob (not 1 - keep_prob)",
               _torch_drop_probability)],
    "dropout net*": [NUMPY_FORWARD, NUMPY_BACKWARD, TORCH_UNSCALED],
}
