"""The same fully connected network as an nn.Module, batch-first: X (m, n_x), y (m,).

    [nn.Linear -> g] * (L - 1) -> nn.Linear -> output

    output    forward() returns      cost on the last layer's Z_L
    sigmoid   sigmoid(Z_L) (m, 1)    F.binary_cross_entropy_with_logits
    softmax   softmax(Z_L) (m, C)    F.cross_entropy
    linear    Z_L (m, C)             C * F.multi_margin_loss (the cs231n SVM)

Layer l's nn.Linear holds W_l as ``weight`` (n_l, n_{l-1}) and b_l[:, 0] as
``bias``; reference_torch.bridge copies parameters to and from the NumPy dict.
"""

from __future__ import annotations

import torch
from torch import nn

from scratch_numpy.validation import check_choice, check_count, check_positive

from . import activations, losses
from .init import init_linear_
from .validation import check_labels, check_tensor

OUTPUTS = {
    "sigmoid": ("sigmoid", losses.binary_cross_entropy_with_logits),
    "softmax": ("softmax", losses.softmax_cross_entropy),
    "linear": ("linear", losses.svm_hinge),
}


class Network(nn.Module):
    """L-layer network; ``linears[l - 1]`` is layer l. Parameters start with
    torch's own default init; use ``init_params`` or the bridge to set them."""

    def __init__(self, layer_dims, hidden_activation: str = "relu", output: str = "sigmoid",
                 *, leaky_slope: float = 0.01, dtype=torch.float64, device="cpu"):
        super().__init__()
        if len(layer_dims) < 2:
            raise ValueError(f"layer_dims needs at least [n_x, n_out], got {list(layer_dims)}")
        self.layer_dims = tuple(check_count(f"layer_dims[{i}]", n) for i, n in enumerate(layer_dims))
        check_choice("hidden_activation", hidden_activation, ("sigmoid", "tanh", "relu", "leaky_relu", "linear"))
        self.output = check_choice("output", output, OUTPUTS)
        if output == "sigmoid" and self.layer_dims[-1] != 1:
            raise ValueError(f"a sigmoid output needs layer_dims[-1] == 1, got {self.layer_dims[-1]}")
        if output != "sigmoid" and self.layer_dims[-1] < 2:
            raise ValueError(f"a {output} output needs layer_dims[-1] >= 2 classes, got {self.layer_dims[-1]}")
        check_positive("leaky_slope", leaky_slope, allow_zero=True)
        self.hidden_activation = hidden_activation
        self.L = len(self.layer_dims) - 1
        self.linears = nn.ModuleList(
            nn.Linear(n_prev, n, dtype=dtype, device=device)
            for n_prev, n in zip(self.layer_dims[:-1], self.layer_dims[1:]))
        self.hidden = activations.make(hidden_activation, leaky_slope=leaky_slope)
        self.out_activation = activations.make(OUTPUTS[output][0])

    @property
    def num_classes(self) -> int:
        return 2 if self.output == "sigmoid" else self.layer_dims[-1]

    @property
    def dtype(self) -> torch.dtype:
        return self.linears[0].weight.dtype

    def init_params(self, method: str = "he", generator: torch.Generator | None = None):
        """Re-draw every weight with torch.nn.init (see reference_torch.init) and zero the biases."""
        for layer in self.linears:
            init_linear_(layer, method, generator)
        return self

    def check_data(self, X, y=None):
        check_tensor("X", X, shape=(None, self.layer_dims[0]), dtype=self.dtype)
        if X.device != self.linears[0].weight.device:
            raise ValueError(f"X is on {X.device} but the network is on {self.linears[0].weight.device}")
        if y is not None:
            check_labels("y", y, m=X.shape[0], num_classes=self.num_classes)

    def scores(self, X):
        """Z_L, the last linear layer's output (logits or class scores), (m, n_L)."""
        self.check_data(X)
        A = X
        for l, layer in enumerate(self.linears, start=1):
            Z = layer(A)
            A = self.hidden(Z) if l < self.L else Z
        return Z

    def forward(self, X):
        """A_L: probabilities for sigmoid/softmax outputs, scores for a linear one."""
        return self.out_activation(self.scores(X))

    def cost(self, X, y):
        """J, the mean loss over the batch, as a 0-d tensor (call .backward() for grads)."""
        self.check_data(X, y)
        return OUTPUTS[self.output][1](self.scores(X), y)

    @torch.no_grad()
    def predict(self, X):
        """Labels (m,) int64: Z_L > 0 for a sigmoid output, else the arg max class."""
        ZL = self.scores(X)
        return (ZL[:, 0] > 0).long() if self.output == "sigmoid" else ZL.argmax(dim=1)

    def accuracy(self, X, y) -> float:
        self.check_data(X, y)
        return float((self.predict(X) == y).double().mean())


def train_gd(model: Network, X, y, learning_rate: float, num_iterations: int):
    """Full-batch gradient descent with torch.optim.SGD (no momentum): p -= lr * p.grad.

    Trains ``model`` in place; returns the costs, costs[i] before update i.
    """
    learning_rate = check_positive("learning_rate", learning_rate)
    num_iterations = check_count("num_iterations", num_iterations)
    model.check_data(X, y)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    costs = []
    for _ in range(num_iterations):
        optimizer.zero_grad()
        cost = model.cost(X, y)
        cost.backward()
        optimizer.step()
        costs.append(cost.detach())
    return [float(c) for c in costs]
