"""Input checks for the torch side: the same contract as ``scratch_numpy.validation``.

Tensors are batch-first here (X is (m, n_x), labels are (m,)); a wrong shape,
dtype or a non-finite value is a ``ValueError`` naming the argument, never a
broadcast.
"""

from __future__ import annotations

import sys

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
    shown = "" if shape is None else " (" + ", ".join("*" if e is None else str(e) for e in shape) + ")"
    if x.dim() != ndim:
        hint = " (a rank-1 tensor is not a batch: use shape (m, n))" if x.dim() == 1 and ndim == 2 else ""
        raise ValueError(f"{name} must be {ndim}-D{shown}, got shape {tuple(x.shape)}{hint}")
    if shape is not None and (len(shape) != x.dim() or not all(e is None or e == g for g, e in zip(x.shape, shape))):
        raise ValueError(f"{name} must have shape{shown}, got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and not _finite(x):
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def _finite(x: torch.Tensor) -> bool:
    """No NaN or inf in ``x``: one pass of aminmax (NaN propagates to both ends, an infinity
    shows at one of them), ten times faster on the CPU than isfinite(x).all()."""
    return bool(torch.isfinite(torch.stack(torch.aminmax(x.detach()))).all())


def check_labels(name: str, y, *, m: int, num_classes: int):
    """Class labels as an int64 tensor of shape (m,) with values in [0, num_classes)."""
    if not isinstance(y, torch.Tensor) or y.dtype != torch.int64:
        got = y.dtype if isinstance(y, torch.Tensor) else type(y).__name__
        raise ValueError(f"{name} must be an int64 tensor of class labels, got {got}")
    if y.numel() == 0:
        raise ValueError(f"{name} must hold at least one label, got shape {tuple(y.shape)}")
    if tuple(y.shape) != (m,):
        raise ValueError(f"{name} must have shape ({m},), one label per example, got {tuple(y.shape)}")
    low, high = torch.stack(torch.aminmax(y)).tolist()   # one pass, one transfer
    if low < 0 or high >= num_classes:
        raise ValueError(f"{name} labels must lie in [0, {num_classes - 1}], got values from {low} to {high}")
    return y


def check_dtype(dtype) -> torch.dtype:
    """torch.float32 or torch.float64 (the project's two dtypes)."""
    if dtype not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return dtype


def check_device(device) -> torch.device:
    """'cpu', 'cuda', 'cuda:N' or a torch.device; CUDA only when it is available."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or a torch.device, got {device!r}") from None
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but torch.cuda.is_available() is False")
    return device


def check_generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def check_model(name: str, model, cls):
    """``model`` is an instance of ``cls`` (a class or a tuple of classes): None, an nn.Linear or
    any other object in its place is a TypeError naming the argument and the expected type, not an
    AttributeError from deep inside."""
    if not isinstance(model, cls):
        expected = " or ".join(_class_name(c) for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be a {expected}, got {type(model).__name__}")
    return model


def _class_name(cls) -> str:
    """The shortest public path of a class: torch.optim.SGD rather than torch.optim.sgd.SGD."""
    parts = cls.__module__.split(".")
    while len(parts) > 1 and getattr(sys.modules.get(".".join(parts[:-1])), cls.__name__, None) is cls:
        parts.pop()
    return ".".join(parts + [cls.__qualname__])
