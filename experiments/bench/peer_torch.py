"""The benchmark's torch peer: the training step as a torch tutorial writes it, with none of the
project's classes: ``nn.Sequential(Linear, ReLU, ..., Linear)``, ``F.cross_entropy`` (the mean over
the batch) and a stock optimiser over ``model.parameters()``.

The optimisers are the implementations the project's torch side is benchmarked with
(experiments.bench.step.TORCH_IMPLEMENTATION): Adam with ``fused=True`` and SGD with torch's
default (the per-tensor loop on the CPU); the hyperparameters are torch's defaults, which are the
project's (betas 0.9 / 0.999, eps 1e-8, no weight decay). Against the project's step it leaves
out what reference_torch adds around the same arithmetic: the input and label validation, the
parameter groups, the gradient-magnitude hook that refuses a gradient too large to square.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def sequential(layers, dtype: torch.dtype = torch.float32, device="cpu") -> nn.Sequential:
    """Linear(layers[0], layers[1]), ReLU, ..., Linear(layers[-2], layers[-1])."""
    modules = []
    for n_in, n_out in zip(layers[:-1], layers[1:]):
        modules += [nn.Linear(n_in, n_out, dtype=dtype, device=device), nn.ReLU()]
    return nn.Sequential(*modules[:-1])


def optimizer(name: str, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """``"sgd"``: SGD(lr); ``"adam"``: Adam(lr, fused=True)."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    raise ValueError(f"optimizer must be 'sgd' or 'adam', got {name!r}")


def train_step(model: nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One step on the batch X (N, D), y (N,); returns the loss (before the update, as a tensor)."""
    opt.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    opt.step()
    return loss
