"""Exponentially weighted averages with torch's own EMA update.

``torch.optim.swa_utils.get_ema_avg_fn(decay)`` is the update PyTorch's
AveragedModel uses for an exponential moving average:

    ema <- decay * ema + (1 - decay) * current

which is v_t = beta v_{t-1} + (1 - beta) theta_t with decay = beta. Here it
starts from v_0 = 0 (the course's form) and divides by 1 - beta^t when asked.
AveragedModel itself starts differently: its first update copies theta_1
(v_1 = theta_1), which is neither the plain nor the bias-corrected average
after the first step (CONVENTIONS.md).
"""

from __future__ import annotations

import torch
from torch.optim.swa_utils import get_ema_avg_fn

from scratch_numpy.contract import check_beta
from scratch_numpy.validation import check_flag

from .validation import check_tensor


class EWA:
    """Running average of tensors theta_1, theta_2, ...; ``v`` (uncorrected) and ``t`` inspectable."""

    def __init__(self, beta: float = 0.9, *, bias_correction: bool = False):
        self.beta = check_beta("beta", beta)
        self.bias_correction = check_flag("bias_correction", bias_correction)
        self._update = get_ema_avg_fn(self.beta)
        self.v = None
        self.t = 0

    def update(self, theta: torch.Tensor) -> torch.Tensor:
        if not isinstance(theta, torch.Tensor):
            raise ValueError(f"theta must be a torch.Tensor, got {type(theta).__name__}")
        check_tensor("theta", theta, ndim=theta.dim(), shape=None if self.v is None else tuple(self.v.shape),
                     dtype=None if self.v is None else self.v.dtype)
        if self.v is None:
            self.v = torch.zeros_like(theta)
        self.t += 1
        self.v = self._update(self.v, theta, self.t)
        return self.value

    @property
    def value(self) -> torch.Tensor:
        if self.v is None:
            raise ValueError("the average has no value before the first update")
        if self.bias_correction:
            return self.v / (1 - self.beta ** self.t)
        return self.v


def ewa(thetas: torch.Tensor, beta: float = 0.9, *, bias_correction: bool = False) -> torch.Tensor:
    """Every average v_1, ..., v_T of the values along dim 0 of ``thetas`` (T, ...)."""
    if not isinstance(thetas, torch.Tensor) or thetas.dim() < 1:
        raise ValueError("thetas must be a torch.Tensor with the time steps along dim 0")
    check_tensor("thetas", thetas, ndim=thetas.dim())
    average = EWA(beta, bias_correction=bias_correction)
    return torch.stack([average.update(theta[None])[0] for theta in thetas])
