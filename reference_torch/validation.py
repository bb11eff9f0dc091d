"""Input checks for the torch side: the same contract as ``scratch_numpy.validation``.

Tensors are batch-first here (X is (m, n_x), labels are (m,)); a wrong shape,
dtype or a non-finite value is a ``ValueError`` naming the argument, never a
broadcast.
"""

from __future__ import annotations

import torch

FLOAT_DTYPES = (torch.float32, torch.float64)


def check_tensor(name: str, x, *, ndim: int = 2, shape=None, dtype=None, finite: bool = True):
    """Return ``x`` after checking it is a float32/float64 tensor of the given rank and shape
    (``None`` in ``shape`` is a free dimension) and, if given, ``dtype``."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name} must have dtype torch.float32 or torch.float64, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype} like the other operands, got {x.dtype} "
                         "(float32 and float64 are never mixed)")
    if x.dim() != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(x.shape)}")
    if shape is not None and not (len(shape) == x.dim() and all(
            e is None or e == g for g, e in zip(x.shape, shape))):
        shown = "(" + ", ".join("*" if e is None else str(e) for e in shape) + ")"
        raise ValueError(f"{name} must have shape {shown}, got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def check_labels(name: str, y, *, m: int, num_classes: int):
    """Class labels as an int64 tensor of shape (m,) with values in [0, num_classes)."""
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64:
        got = y.dtype if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{name} must be an int64 tensor of class labels, got {got}")
    if tuple(y.shape) != (m,):
        raise ValueError(f"{name} must have shape ({m},), one label per example, got {tuple(y.shape)}")
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ValueError(f"{name} labels must lie in [0, {num_classes - 1}], "
                         f"got values from {int(y.min())} to {int(y.max())}")
    return y
