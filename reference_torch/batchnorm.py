"""Batch normalisation with torch.nn.BatchNorm1d, batch-first: Z is (m, n), one feature per column.

nn.BatchNorm1d(n, eps, momentum) in training normalises each feature with the
batch mean and the biased variance, applies weight (gamma) and bias (beta),
and updates its buffers

    running = momentum * batch statistic + (1 - momentum) * running,

averaging the UNBIASED variance (n - 1); running_mean starts at 0 and
running_var at 1. In eval mode it uses the buffers. The course writes the same
average with beta = 1 - momentum, so ``batch_norm(n, beta_momentum=beta)``
builds BatchNorm1d(n, eps=eps, momentum=1 - beta). NumPy's gamma, beta (n, 1)
are weight, bias (n,) here (reference_torch.bridge copies them).
"""

from __future__ import annotations

import torch
from torch import nn

from scratch_numpy.contract import check_beta
from scratch_numpy.validation import check_count, check_positive

from .validation import check_device, check_dtype, check_tensor


def batch_norm(n: int, *, beta_momentum: float = 0.9, eps: float = 1e-5, dtype=torch.float64,
               device="cpu") -> nn.BatchNorm1d:
    """nn.BatchNorm1d(n, eps=eps, momentum=1 - beta_momentum): gamma = 1, beta = 0,
    running_mean = 0, running_var = 1."""
    return nn.BatchNorm1d(check_count("n", n), eps=check_positive("eps", eps),
                          momentum=1 - check_beta("beta_momentum", beta_momentum), dtype=check_dtype(dtype),
                          device=check_device(device))


def apply(module: nn.BatchNorm1d, Z: torch.Tensor) -> torch.Tensor:
    """Z_tilde = module(Z) for a checked (m, n) Z, in the module's own mode (``module.training``).

    A training batch of one is refused here, naming Z (torch's own error does not name it), and so is a
    negative running variance in eval mode (it would normalise with sqrt(var + eps) = NaN).
    """
    if not isinstance(module, nn.BatchNorm1d):
        raise ValueError(f"module must be an nn.BatchNorm1d, got {type(module).__name__}")
    check_running_var("module.running_var", module)
    return _apply(module, check_tensor("Z", Z, shape=(None, module.num_features), dtype=module.weight.dtype))


def check_running_var(name: str, module: nn.BatchNorm1d, used: bool | None = None) -> None:
    """In eval mode ``module`` normalises with its running variance, which must then be >= 0 (a
    corrupted or hand-made one would give sqrt(var + eps) = NaN); in training mode it is not used.
    ``used``: whether the caller is about to use it (default: the module is in eval mode), e.g. a
    prediction that switches to eval mode itself."""
    if (not module.training if used is None else used) and module.running_var is not None:
        check_tensor(name, module.running_var, ndim=1, minimum=0)


def _apply(module, Z):
    if module.training and Z.shape[0] < 2:   # a property of the batch: the kernel keeps it
        raise ValueError(f"Z has a batch of m = {Z.shape[0]} example in training mode: batch norm needs "
                         "m >= 2; call .eval() to apply the running statistics")
    return module(Z)


apply.unchecked = _apply   # the kernel models.Network calls
