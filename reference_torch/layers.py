"""The linear (affine) layer with torch.nn.Linear, batch-first.

nn.Linear computes Z = A_prev W^T + b with weight W of shape (n, n_prev), the
same layout as the NumPy side's W, and bias of shape (n,) = b[:, 0]. So
parameters copy across unchanged; only the activations are transposed
(A_prev here is (m, n_prev), the NumPy side's is (n_prev, m)).
"""

from __future__ import annotations

import torch
from torch import nn

from scratch_numpy.validation import check_count

from .validation import check_device, check_dtype, check_tensor


def linear(n_prev: int, n: int, *, dtype=torch.float64, device="cpu") -> nn.Linear:
    """An nn.Linear with weight (n, n_prev) and bias (n,), in ``dtype`` on ``device``."""
    return nn.Linear(check_count("n_prev", n_prev), check_count("n", n),
                     dtype=check_dtype(dtype), device=check_device(device))


def linear_forward(A_prev: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Z = A_prev W^T + b. Shapes: A_prev (m, n_prev), W (n, n_prev), b (n,) -> Z (m, n)."""
    check_tensor("W", W)
    n, n_prev = W.shape
    check_tensor("A_prev", A_prev, shape=(None, n_prev), dtype=W.dtype)
    check_tensor("b", b, ndim=1, shape=(n,), dtype=W.dtype)
    return nn.functional.linear(A_prev, W, b)
