"""The same fully connected network as an nn.Module, batch-first: X (m, n_x), y (m,).

    [nn.Linear -> (nn.BatchNorm1d) -> g -> (dropout)] * (L - 1) -> nn.Linear -> output

    output    forward() returns      cost on the last layer's Z_L
    sigmoid   sigmoid(Z_L) (m, 1)    F.binary_cross_entropy_with_logits
    softmax   softmax(Z_L) (m, C)    F.cross_entropy
    linear    Z_L (m, C)             C * F.multi_margin_loss (the cs231n SVM)

Layer l's nn.Linear holds W_l as ``weight`` (n_l, n_{l-1}) and b_l[:, 0] as
``bias``; reference_torch.bridge copies parameters to and from the NumPy dict.

The practical aspects, mirroring scratch_numpy.models.Network:

* ``l2_lambda``, ``l1_lambda``: ``cost`` adds lambda/(2m) sum ||W||^2 and lambda/(2m) sum |W|
  explicitly (torch's losses have no penalty term); ``Network.param_groups`` gives the
  other route for L2, weight_decay = lambda/m on the weights only.
* ``keep_probs``: dropout after each hidden activation with F.dropout
  semantics, p = 1 - keep_prob (reference_torch.dropout); ``masks``
  {D_l: (m, n_l)} inject the masks, otherwise torch draws them.
* ``batch_norm``: ``norms[l - 1]`` = nn.BatchNorm1d(n_l, eps, momentum = 1 - beta)
  between layer l's nn.Linear (bias=False) and g, for every hidden layer.

Mode: the module's own (``train()``/``eval()``) for scores/forward/cost;
``predict`` and ``accuracy`` always run in eval mode (no dropout, running
statistics, none updated) and restore the mode.

Validation happens once per public call, at this boundary (X, y, masks); the
layers, losses and penalties inside are called through their unchecked kernels
(scratch_numpy.validation.unchecked). ``cost(..., check=False)`` skips even that,
for a loop that validated its data once: on a GPU every check is a host
synchronisation.
"""

from __future__ import annotations

import torch
from torch import nn

from scratch_numpy.contract import check_beta, check_keep_probs
from scratch_numpy.validation import check_choice, check_count, check_flag, check_layer_dims, check_positive, unchecked

from . import activations, batchnorm, losses
from .dropout import check_mask, dropout
from .init import init_linear_
from .validation import check_device, check_dtype, check_labels, check_model, check_tensor

OUTPUTS = {
    "sigmoid": ("sigmoid", losses.binary_cross_entropy_with_logits),
    "softmax": ("softmax", losses.softmax_cross_entropy),
    "linear": ("linear", losses.svm_hinge),
}
PENALTIES = {"l2_lambda": losses.l2_penalty, "l1_lambda": losses.l1_penalty}


class Network(nn.Module):
    """L-layer network; ``linears[l - 1]`` is layer l, ``norms[l - 1]`` its BatchNorm1d
    (when ``batch_norm``). Parameters start with torch's own default init; use
    ``init_params`` or the bridge to set them. Options as scratch_numpy.models.Network
    (``bn_beta_momentum`` is the course's beta: torch's momentum is 1 - beta)."""

    def __init__(self, layer_dims, hidden_activation: str = "relu", output: str = "sigmoid",
                 *, leaky_slope: float = 0.01, dtype=torch.float64, device="cpu", l2_lambda: float = 0.0,
                 l1_lambda: float = 0.0, keep_probs=None, batch_norm: bool = False, bn_beta_momentum: float = 0.9,
                 bn_eps: float = 1e-5):
        super().__init__()
        self.layer_dims = check_layer_dims(layer_dims)
        dtype, device = check_dtype(dtype), check_device(device)
        check_choice("hidden_activation", hidden_activation, ("sigmoid", "tanh", "relu", "leaky_relu", "linear"))
        self.output = check_choice("output", output, OUTPUTS)
        if output == "sigmoid" and self.layer_dims[-1] != 1:
            raise ValueError(f"a sigmoid output needs layer_dims[-1] == 1, got {self.layer_dims[-1]}")
        if output != "sigmoid" and self.layer_dims[-1] < 2:
            raise ValueError(f"a {output} output needs layer_dims[-1] >= 2 classes, got {self.layer_dims[-1]}")
        check_positive("leaky_slope", leaky_slope, allow_zero=True)
        self.hidden_activation = hidden_activation
        self.L = len(self.layer_dims) - 1
        self.l2_lambda = check_positive("l2_lambda", l2_lambda, allow_zero=True)
        self.l1_lambda = check_positive("l1_lambda", l1_lambda, allow_zero=True)
        self.keep_probs = check_keep_probs(keep_probs, self.L - 1)
        self.batch_norm = check_flag("batch_norm", batch_norm)
        check_beta("bn_beta_momentum", bn_beta_momentum)
        check_positive("bn_eps", bn_eps)
        dims = list(zip(self.layer_dims[:-1], self.layer_dims[1:]))
        # a normalised layer has no bias: the mean subtraction would cancel it (beta replaces it)
        self.linears = nn.ModuleList(
            nn.Linear(n_prev, n, bias=not (batch_norm and l < self.L), dtype=dtype, device=device)
            for l, (n_prev, n) in enumerate(dims, start=1))
        self.norms = nn.ModuleList(
            batchnorm.batch_norm(n, beta_momentum=bn_beta_momentum, eps=bn_eps, dtype=dtype, device=device)
            for _, n in (dims[:-1] if batch_norm else []))
        self.hidden = activations.make(hidden_activation, leaky_slope=leaky_slope)
        self.out_activation = activations.make(OUTPUTS[output][0])

    @property
    def num_classes(self) -> int:
        return 2 if self.output == "sigmoid" else self.layer_dims[-1]

    @property
    def dtype(self) -> torch.dtype:
        return self.linears[0].weight.dtype

    @property
    def dropout_layers(self) -> tuple[int, ...]:
        """The hidden layers l with keep_prob < 1; their masks are named D{l}."""
        return tuple(l for l in range(1, self.L) if self.keep_probs[l - 1] < 1)

    def init_params(self, method: str = "he", generator: torch.Generator | None = None):
        """Re-draw every weight with torch.nn.init (see reference_torch.init), zero the biases;
        batch norm restarts at gamma = 1, beta = 0, running_mean = 0, running_var = 1."""
        for layer in self.linears:
            init_linear_(layer, method, generator)
        for norm in self.norms:
            norm.reset_parameters()
        return self

    def check_data(self, X, y=None, *, names=("X", "y"), predicting: bool = False):
        """``names``: what the messages call X and y (e.g. X_dev, y_dev for a dev set); ``predicting``:
        an eval-mode pass follows whatever the current mode (its running variances are used)."""
        check_tensor(names[0], X, shape=(None, self.layer_dims[0]), dtype=self.dtype)
        if X.device != self.linears[0].weight.device:
            raise ValueError(f"{names[0]} is on {X.device} but the network is on {self.linears[0].weight.device}")
        if y is not None:
            check_labels(names[1], y, m=X.shape[0], num_classes=self.num_classes)
        for i, norm in enumerate(self.norms):   # used in eval mode: >= 0
            batchnorm.check_running_var(f"norms[{i}].running_var", norm, used=predicting or None)

    def _check_masks(self, masks, m: int) -> dict:
        if masks is None:
            return {}
        if not isinstance(masks, dict):
            raise ValueError(f"masks must be a dict {{D1: (m, n_1), ...}} or None, got {type(masks).__name__}")
        expected = {f"D{l}" for l in self.dropout_layers}
        if set(masks) != expected:
            raise ValueError(f"masks must hold exactly {sorted(expected)} (one per layer with keep_prob < 1), "
                             f"got {sorted(masks)}")
        return {key: check_mask(f"masks[{key!r}]", mask, (m, self.layer_dims[int(key[1:])]), self.dtype)
                for key, mask in masks.items()}

    def scores(self, X, masks=None):
        """Z_L, the last linear layer's output (logits or class scores), (m, n_L).

        ``masks`` {D_l: (m, n_l)}: the dropout masks to apply in training mode (None: torch
        draws them); ignored in eval mode.
        """
        self.check_data(X)
        return self._scores(X, self._check_masks(masks, X.shape[0]) if self.training else {})

    def _scores(self, X, masks: dict):
        """``scores`` on validated X and masks."""
        A = X
        for l, layer in enumerate(self.linears, start=1):
            Z = layer(A)
            if l == self.L:
                return Z
            if self.batch_norm:
                Z = unchecked(batchnorm.apply)(self.norms[l - 1], Z)
            A = self.hidden(Z)
            if l in self.dropout_layers:
                A = unchecked(dropout)(A, self.keep_probs[l - 1], mask=masks.get(f"D{l}"), train=self.training)

    def forward(self, X, masks=None):
        """A_L: probabilities for sigmoid/softmax outputs, scores for a linear one."""
        return self.out_activation(self.scores(X, masks))

    def penalty(self, m: int) -> torch.Tensor:
        """lambda/(2m) sum_l ||W_l||^2 + lambda/(2m) sum_l |W_l| for this network's l2_lambda and l1_lambda
        (a 0-d tensor; 0 without them)."""
        m = check_count("m", m)   # the penalty kernels below are unchecked
        weights = [layer.weight for layer in self.linears]
        total = torch.zeros((), dtype=self.dtype, device=weights[0].device)
        for name, penalty in PENALTIES.items():
            if getattr(self, name):
                total = total + unchecked(penalty)(weights, getattr(self, name), m)
        return total

    def param_groups(self, l2_lambda: float = 0.0, m: int | None = None) -> list[dict]:
        """L2 through torch.optim's weight_decay on the weights only: [{every W_l of
        self.linears, weight_decay = l2_lambda/m}, {every other parameter (b_l, gamma_l,
        beta_l), weight_decay = 0}], the groups to build an optimiser with.

        weight_decay adds weight_decay * W to W's gradient, the gradient of lambda/(2m)||W||^2;
        the cost term itself is not in torch's loss. The weight group carries ``l2_lambda``
        and ``m`` so that reference_torch.optim.penalty can add it to a recorded cost.
        """
        l2_lambda = check_positive("l2_lambda", l2_lambda, allow_zero=True)
        if l2_lambda > 0 and m is None:
            raise ValueError("m (the number of training examples) is needed for lambda/m when l2_lambda > 0")
        m = None if m is None else check_count("m", m)
        weights = [layer.weight for layer in self.linears]
        others = [p for p in self.parameters() if all(p is not W for W in weights)]
        return [
            {"params": weights, "weight_decay": l2_lambda / m if l2_lambda > 0 else 0.0,
             "l2_lambda": l2_lambda, "m": m, "role": "W"},
            {"params": others, "weight_decay": 0.0, "role": "b"},
        ]

    def cost(self, X, y, masks=None, *, check: bool = True):
        """J, the mean loss over the batch plus ``penalty(m)``, as a 0-d tensor (call
        .backward() for grads). ``check=False`` trusts X, y and masks (validated by the caller)."""
        if check_flag("check", check):
            self.check_data(X)
            y = check_labels("y", y, m=X.shape[0], num_classes=self.num_classes)   # None is an error; bool -> 0/1
            masks = self._check_masks(masks, X.shape[0]) if self.training else {}
        cost = unchecked(OUTPUTS[self.output][1])(self._scores(X, masks or {}), y)
        return cost + self.penalty(X.shape[0]) if self.l2_lambda or self.l1_lambda else cost

    @torch.no_grad()
    def predict(self, X):
        """Labels (m,) int64 from an eval-mode pass: Z_L > 0 for a sigmoid output, else the arg max class."""
        self.check_data(X, predicting=True)
        return self._predict(X)

    @torch.no_grad()
    def _predict(self, X):
        was_training = self.training
        self.eval()
        try:
            ZL = self._scores(X, {})
        finally:
            self.train(was_training)
        return (ZL[:, 0] > 0).long() if self.output == "sigmoid" else ZL.argmax(dim=1)

    def accuracy(self, X, y) -> float:
        if y is None:
            raise ValueError("y must be the (m,) int64 labels to score against, got None")
        self.check_data(X, y, predicting=True)
        return float((self._predict(X) == y).double().mean())


def train_gd(model: Network, X, y, learning_rate: float, num_iterations: int, *, masks=None,
             l2_lambda: float = 0.0):
    """Full-batch gradient descent with torch.optim.SGD (no momentum): p -= lr * p.grad.

    ``masks``: None or one dropout-mask dict per iteration (see ``scores``).
    ``l2_lambda`` = lambda: L2 through ``Network.param_groups`` (weight_decay = lambda/m on
    the weights, m = X.shape[0]) instead of the model's explicit ``l2_lambda``; its cost term
    lambda/(2m) sum ||W||^2 is then added to the recorded costs by hand.
    Trains ``model`` in place, in its own mode; returns the costs, costs[i] before update i.
    """
    learning_rate = check_positive("learning_rate", learning_rate)
    num_iterations = check_count("num_iterations", num_iterations)
    check_model("model", model, Network)
    model.check_data(X, y)
    if masks is not None and (not isinstance(masks, (list, tuple)) or len(masks) != num_iterations):
        raise ValueError(f"masks must be None or a list of {num_iterations} mask dicts (one per iteration), "
                         f"got {type(masks).__name__} {masks!r}"[:200])
    m = X.shape[0]
    decay = check_positive("l2_lambda", l2_lambda, allow_zero=True)
    optimizer = torch.optim.SGD(model.param_groups(decay, m), lr=learning_rate)
    costs = []
    for i in range(num_iterations):
        optimizer.zero_grad()
        cost = model.cost(X, y, None if masks is None else masks[i])
        cost.backward()
        with torch.no_grad():
            recorded = cost + (losses.l2_penalty([layer.weight for layer in model.linears], decay, m)
                               if decay else 0.0)
        optimizer.step()
        costs.append(recorded.detach())
    return [float(c) for c in costs]
