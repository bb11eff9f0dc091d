"""Inverted dropout (course 2, week 1; cs231n's dropout_forward/backward), examples in columns.

Training, for a layer's activations A (n, m) and its keep_prob:

    D   = (U < keep_prob)          U ~ uniform[0, 1) of A's shape: D is the keep mask (0 or 1)
    out = A * D / keep_prob        the course's order: first A * D, then / keep_prob

so that E[out] = A: a unit survives with probability keep_prob and is scaled
by 1/keep_prob, and the next layer sees activations of the same expected size
(that is why nothing needs rescaling at test time). Backward applies the same
mask and scale: dA = dout * D / keep_prob.

At test time (``train=False``) and for keep_prob = 1 dropout is the identity:
it is never applied at prediction.

The mask can be injected (``mask=``), which is how parity runs give NumPy and
torch the same one (the two generators never draw the same numbers); otherwise
it is drawn from ``rng`` (an int seed, a numpy Generator or a RandomState:
``RandomState(seed)`` draws what the course's ``np.random.rand`` draws after
``np.random.seed(seed)``). torch's dropout takes p = 1 - keep_prob, the DROP
probability; cs231n's ``p`` is the keep probability (CONVENTIONS.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .contract import check_keep_prob
from .validation import as_rng, check_flag, check_float_array, check_plain_array, check_same_shape, check_shape

MASK_DTYPES = (np.dtype(bool), np.dtype(np.float32), np.dtype(np.float64))


class DropoutCache(NamedTuple):
    """The mask D that was applied (None when dropout was the identity) and keep_prob."""

    mask: np.ndarray | None
    keep_prob: float


def check_mask(name: str, mask, shape: tuple, dtype) -> np.ndarray:
    """A keep mask of ``shape``: bool, or numbers that are all 0 or 1. Returned as ``dtype`` 0./1."""
    check_plain_array(name, mask)
    if not isinstance(mask, np.ndarray) or mask.dtype.kind not in "biuf":
        got = f"dtype {mask.dtype}" if isinstance(mask, np.ndarray) else type(mask).__name__
        raise ValueError(f"{name} must be a numpy array of 0/1 (or bool) keep flags, got {got}")
    if mask.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} like the activations it masks, got {mask.shape}")
    if mask.dtype.kind != "b" and not np.isin(mask, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (1 = keep the unit)")
    return mask.astype(dtype)


def draw_mask(shape: tuple, keep_prob: float, rng=None, dtype="float64") -> np.ndarray:
    """D = (U < keep_prob) as 0./1. of ``dtype`` (float32, float64 or bool, by name or as a NumPy
    dtype: the activations' own), U uniform on [0, 1) from ``rng``.

    ``rng`` None draws from a fresh, unseeded generator.
    """
    shape = check_shape("shape", shape)
    keep_prob = check_keep_prob("keep_prob", keep_prob)
    return _draw_mask(shape, keep_prob, rng, _check_mask_dtype(dtype))


def _draw_mask(shape, keep_prob, rng, dtype):
    rng = np.random.default_rng() if rng is None else as_rng(rng)
    return (rng.random(shape) < keep_prob).astype(dtype)


def _check_mask_dtype(dtype) -> np.dtype:
    try:
        resolved = np.dtype(dtype) if isinstance(dtype, (str, type, np.dtype)) else None
    except (TypeError, ValueError):   # not a dtype name at all ("", "nope")
        resolved = None
    if resolved is None or resolved not in MASK_DTYPES:   # (np.dtype("float64") == None is True)
        raise ValueError(f"dtype must be float32, float64 or bool (the masked activations' dtype), got {dtype!r}")
    return resolved


def dropout_forward(A, keep_prob: float, mask=None, rng=None, train: bool = True):
    """out = A * D / keep_prob in training, out = A otherwise. Shapes: A, mask, out (n, m).

    ``mask``: the keep mask D to apply (injected); None draws one from ``rng``
    (see ``draw_mask``). Ignored when dropout is off (``train`` False or
    keep_prob 1). Returns (out, DropoutCache).
    """
    A = check_float_array("A", A)
    keep_prob = check_keep_prob("keep_prob", keep_prob)
    check_flag("train", train)
    if train and keep_prob < 1 and mask is not None:
        mask = check_mask("mask", mask, A.shape, A.dtype)
    return _dropout_forward(A, keep_prob, mask, rng, train)


def _dropout_forward(A, keep_prob, mask, rng, train):
    if not train or keep_prob == 1:
        return A, DropoutCache(None, keep_prob)
    D = _draw_mask(A.shape, keep_prob, rng, A.dtype) if mask is None else mask
    return A * D / keep_prob, DropoutCache(D, keep_prob)


def dropout_backward(dout, cache: DropoutCache):
    """dA = dout * D / keep_prob (dA = dout when dropout was off). Shapes: dout, dA (n, m)."""
    if not isinstance(cache, DropoutCache):
        raise ValueError(f"cache must be the DropoutCache returned by dropout_forward, got {type(cache).__name__}")
    dout = check_float_array("dout", dout)
    if cache.mask is not None:
        check_float_array("dout", dout, dtype=cache.mask.dtype)
        check_same_shape("dout", dout, "mask", cache.mask)
    return _dropout_backward(dout, cache)


def _dropout_backward(dout, cache: DropoutCache):
    return dout if cache.mask is None else dout * cache.mask / cache.keep_prob


dropout_forward.unchecked = _dropout_forward   # the kernels models.Network calls
dropout_backward.unchecked = _dropout_backward


