"""Input checks for the torch side: the same contract as ``scratch_numpy.validation``.

Tensors are batch-first here (X is (m, n_x), labels are (m,)); a wrong shape,
dtype or a non-finite value is a ``ValueError`` naming the argument, never a
broadcast.
"""

from __future__ import annotations

import torch

from scratch_numpy.validation import check_model  # noqa: F401 (the shared check, re-exported)

FLOAT_DTYPES = (torch.float32, torch.float64)


def check_tensor(name: str, x, *, ndim: int | None = 2, shape=None, dtype=None, finite: bool = True,
                 minimum: float | None = None):
    """Return ``x`` after checking it is a float32/float64 tensor of the given rank and shape
    (``ndim`` None: any rank; ``None`` in ``shape`` is a free dimension) and, if given, ``dtype``;
    ``minimum``: every entry must be at least this (a variance >= 0)."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name} must have dtype torch.float32 or torch.float64, got {x.dtype}")
    if dtype is not None and x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype} like the other operands, got {x.dtype} "
                         "(float32 and float64 are never mixed)")
    shown = "" if shape is None else " (" + ", ".join("*" if e is None else str(e) for e in shape) + ")"
    if ndim is not None and x.dim() != ndim:
        hint = " (a rank-1 tensor is not a batch: use shape (m, n))" if x.dim() == 1 and ndim == 2 else ""
        raise ValueError(f"{name} must be {ndim}-D{shown}, got shape {tuple(x.shape)}{hint}")
    if shape is not None and (len(shape) != x.dim() or not all(e is None or e == g for g, e in zip(x.shape, shape))):
        raise ValueError(f"{name} must have shape{shown}, got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite and not _finite(x):
        raise ValueError(f"{name} contains NaN or inf values")
    if minimum is not None and x.min() < minimum:
        raise ValueError(f"{name} must hold values >= {minimum}, got {x.min().item()}")
    return x


def _finite(x: torch.Tensor) -> bool:
    """No NaN or inf in ``x``: one pass of aminmax (NaN propagates to both ends, an infinity
    shows at one of them), ten times faster on the CPU than isfinite(x).all()."""
    return bool(torch.isfinite(torch.stack(torch.aminmax(x.detach()))).all())


ANY_CLASSES = torch.iinfo(torch.int64).max   # the "any number of classes" of splits


def check_labels(name: str, y, *, m: int, num_classes: int, relaxed: bool | None = None):
    """Class labels as an int64 tensor of shape (m,) with values in [0, num_classes).

    The contract of scratch_numpy.validation.check_labels, batch-first: where the labels feed a
    computation with a known number of classes (``relaxed``, by default: ``num_classes`` below
    ANY_CLASSES) a boolean y (m,) is accepted for binary outputs (``num_classes`` 2) and returned
    as a new int64 tensor of 0/1 (the caller's is never modified); callers use the returned labels.
    A column (m, 1) or a row (1, m) is refused with the exact fix, "pass y as shape (m,), e.g.
    y.reshape(-1)".
    """
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"{name} must be an int64 tensor of class labels, got {type(y).__name__}")
    relaxed = num_classes < ANY_CLASSES if relaxed is None else relaxed
    binary_bool = y.dtype == torch.bool and relaxed and num_classes == 2
    if y.dtype != torch.int64 and not binary_bool:
        why = " (booleans are accepted as 0/1 for binary outputs only)" if y.dtype == torch.bool else ""
        fix = f": pass {name}.long()" if y.dtype == torch.bool or not (y.is_floating_point() or y.is_complex()) else ""
        raise ValueError(f"{name} must be an int64 tensor of class labels, got {y.dtype}{why}{fix}")
    if y.numel() == 0:
        raise ValueError(f"{name} must hold at least one label, got shape {tuple(y.shape)}")
    if tuple(y.shape) != (m,):
        fix = f": pass {name} as shape (m,), e.g. {name}.reshape(-1)" if y.dim() == 2 and 1 in y.shape \
            and y.numel() == m else ""
        raise ValueError(f"{name} must have shape ({m},), one label per example, got {tuple(y.shape)}{fix}")
    if binary_bool:
        return y.long()   # False/True -> 0/1, a new tensor; in range by construction
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


def check_state_dict(name: str, module: torch.nn.Module, state: dict) -> None:
    """``state`` fits ``module`` exactly (the same keys, each of the same shape), so that
    load_state_dict can only succeed: another model's state is a ValueError naming ``name`` and
    the first difference, not load_state_dict's RuntimeError."""
    own = module.state_dict()
    missing, extra = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or extra:
        raise ValueError(f"{name} does not match the saved state (another model?): keys only in its state_dict "
                         f"{missing}, only in the saved one {extra}")
    for key, value in state.items():
        if own[key].shape != value.shape:
            raise ValueError(f"{name} does not match the saved state: {key} has shape {tuple(own[key].shape)}, "
                             f"the saved one {tuple(value.shape)}")


def check_optimizer(name: str, optimizer, model: torch.nn.Module):
    """``optimizer`` is a torch.optim.Optimizer over ``model``'s own parameters: one built over
    another model's (an easy slip when a model is rebuilt) would step those and train nothing,
    silently."""
    if not isinstance(optimizer, torch.optim.Optimizer):   # a ValueError, as the NumPy loop's check
        raise ValueError(f"{name} must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    own = {id(p) for p in model.parameters()}
    if any(id(p) not in own for group in optimizer.param_groups for p in group["params"]):
        raise ValueError(f"{name} holds parameters that are not the model's: build it over this model "
                         "(e.g. make_optimizer(name, model, lr=...))")
    return optimizer
