"""Inverted dropout with torch.nn.functional.dropout semantics, batch-first: A is (m, n).

torch's p is the probability of DROPPING a unit, so p = 1 - keep_prob. On the
CPU F.dropout computes out = x * (bernoulli(1 - p) / (1 - p)), the course's
A * D / keep_prob with the division done first (<= 1 ulp apart).

torch's generator never draws NumPy's mask, so there are two ways to compare:

* inject one mask into both sides (``dropout(A, keep_prob, mask=D)`` computes
  A * D / keep_prob, the course's order; the NumPy side gets D transposed);
* let torch draw: ``recover_mask`` runs F.dropout on ones under a fixed seed
  and reads the mask off the zeros, and ``dropout(A, keep_prob, seed=s)``
  then draws that very mask again, so the NumPy side can be given it.
"""

from __future__ import annotations

import contextlib

import torch
from torch.nn import functional as F

from scratch_numpy.contract import check_keep_prob
from scratch_numpy.validation import check_count, check_flag, check_shape

from .validation import check_device, check_dtype, check_tensor


@contextlib.contextmanager
def seeded(seed: int, device="cpu"):
    """torch's generators seeded with ``seed`` inside the block, restored afterwards."""
    seed = check_count("seed", seed, minimum=0, maximum=2**64 - 1)   # torch.manual_seed's range
    device = check_device(device)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def check_mask(name: str, mask, shape: tuple, dtype: torch.dtype) -> torch.Tensor:
    """A keep mask of ``shape``: bool, or numbers that are all 0 or 1. Returned as ``dtype`` 0./1."""
    if not isinstance(mask, torch.Tensor) or mask.is_complex():
        raise ValueError(f"{name} must be a torch.Tensor of 0/1 (or bool) keep flags, got {type(mask).__name__}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)} like the activations it masks, "
                         f"got {tuple(mask.shape)}")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name} must hold only 0 and 1 (1 = keep the unit)")
    return mask.to(dtype)


def dropout(A: torch.Tensor, keep_prob: float, *, mask=None, seed=None, train: bool = True) -> torch.Tensor:
    """Inverted dropout of A (m, n) in training, the identity otherwise (``train`` False or keep_prob 1).

    ``mask`` (m, n): apply this keep mask, A * mask / keep_prob. Otherwise
    F.dropout(A, p=1 - keep_prob) draws one, under ``seed`` when given (see ``recover_mask``).
    """
    check_tensor("A", A)
    keep_prob = check_keep_prob("keep_prob", keep_prob)
    check_flag("train", train)
    if train and keep_prob < 1 and mask is not None:
        mask = check_mask("mask", mask, A.shape, A.dtype)
    return _dropout(A, keep_prob, mask=mask, seed=seed, train=train)


def _dropout(A, keep_prob, *, mask=None, seed=None, train=True):
    if not train or keep_prob == 1:
        return A
    if mask is not None:
        return A * mask.to(A.device) / keep_prob
    if seed is None:
        return F.dropout(A, p=1 - keep_prob, training=True)
    # on A's contiguous copy: F.dropout fills its noise tensor in A's memory order (empty_like keeps
    # the strides), so a transposed A would draw another mask than recover_mask reads off contiguous ones
    with seeded(seed, A.device):
        return F.dropout(A.contiguous(), p=1 - keep_prob, training=True)


dropout.unchecked = _dropout   # the kernel models.Network calls


def recover_mask(shape: tuple, keep_prob: float, seed: int, *, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """The keep mask (0./1., ``shape`` batch-first) F.dropout draws under ``seed``.

    F.dropout of ones is 0 where a unit is dropped and 1/keep_prob where it is
    kept. The draw depends on the seed, the shape, the dtype and the device,
    so recover it with those of the tensor it will mask.
    """
    keep_prob = check_keep_prob("keep_prob", keep_prob)
    shape = check_shape("shape", shape)
    dtype, device = check_dtype(dtype), check_device(device)
    ones = torch.ones(shape, dtype=dtype, device=device)
    with seeded(seed, device):
        return (F.dropout(ones, p=1 - keep_prob, training=True) != 0).to(dtype)
