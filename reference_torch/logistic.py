"""Logistic regression with nn.Linear(n_x, 1) and F.binary_cross_entropy_with_logits.

Batch-first: X (m, n_x), y (m,). The course's w (n_x, 1) is ``weight.T`` and
its scalar b is ``bias[0]``; reference_torch.bridge converts.
"""

from __future__ import annotations

import torch
from torch import nn

from scratch_numpy.validation import check_count, check_positive

from . import losses
from .validation import check_device, check_dtype, check_model, check_tensor


class LogisticRegression(nn.Module):
    """z = X w + b, a = sigmoid(z). Starts from zeros, as the course does."""

    def __init__(self, n_x: int, *, dtype=torch.float64, device="cpu"):
        super().__init__()
        self.linear = nn.Linear(check_count("n_x", n_x), 1, dtype=check_dtype(dtype), device=check_device(device))
        with torch.no_grad():
            self.linear.weight.zero_()
            self.linear.bias.zero_()

    def logits(self, X):
        check_tensor("X", X, shape=(None, self.linear.in_features), dtype=self.linear.weight.dtype)
        return self.linear(X)

    def forward(self, X):
        """a = sigmoid(z), shape (m, 1)."""
        return torch.sigmoid(self.logits(X))


def propagate(model: LogisticRegression, X, y):
    """Cost and gradients by autograd: ({"dw": weight.grad (1, n_x), "db": bias.grad (1,)}, cost)."""
    check_model("model", model, LogisticRegression)
    model.zero_grad()
    cost = losses.binary_cross_entropy_with_logits(model.logits(X), y)
    cost.backward()
    return {"dw": model.linear.weight.grad.clone(), "db": model.linear.bias.grad.clone()}, cost.detach()


def optimize(model: LogisticRegression, X, y, num_iterations: int, learning_rate: float):
    """Full-batch gradient descent with torch.optim.SGD; trains ``model`` in place.

    Returns the costs, costs[i] before update i.
    """
    check_model("model", model, LogisticRegression)
    num_iterations = check_count("num_iterations", num_iterations)
    learning_rate = check_positive("learning_rate", learning_rate)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    costs = []
    for _ in range(num_iterations):
        _, cost = propagate(model, X, y)
        optimizer.step()
        costs.append(cost)
    return [float(c) for c in costs]


@torch.no_grad()
def predict(model: LogisticRegression, X):
    """Labels (m,) int64: 1 where z > 0 (a > 0.5), else 0."""
    check_model("model", model, LogisticRegression)
    return (model.logits(X)[:, 0] > 0).long()
