"""A fully connected network of any depth, examples in columns.

    [LINEAR -> g] * (L - 1) -> LINEAR -> output

with hidden activation g and an output that fixes the loss:

    output    A_L                 loss on Z_L                     labels Y (1, m)
    sigmoid   sigmoid(Z_L)        binary cross-entropy (logits)   {0, 1}
    softmax   softmax(Z_L)        softmax cross-entropy           [0, C)
    linear    Z_L (raw scores)    multiclass SVM hinge, delta 1   [0, C)

One class covers the course's shallow net ([n_x, n_h, 1], tanh, sigmoid), its
L-layer net (ReLU, sigmoid) and cs231n's affine-ReLU-affine-softmax net.
The loss's gradient is taken on Z_L directly (dZ_L = A_L - Y for the first
two), which is the course's fused form and stays finite at saturation.
"""

from __future__ import annotations

import numpy as np

from . import activations, init, losses
from .layers import linear_backward, linear_forward
from .validation import check_choice, check_count, check_float_array, check_labels, check_positive

OUTPUTS = {
    "sigmoid": ("sigmoid", losses.binary_cross_entropy_with_logits),
    "softmax": ("softmax", losses.softmax_cross_entropy),
    "linear": ("linear", losses.svm_hinge),
}


class Network:
    """L-layer network with parameters {W1, b1, ..., WL, bL}.

    Shapes: X (n_x, m), W_l (n_l, n_{l-1}), b_l (n_l, 1), output (n_L, m).
    A sigmoid output has n_L = 1; softmax and linear outputs have n_L = C classes.
    """

    def __init__(self, layer_dims, hidden_activation: str = "relu", output: str = "sigmoid",
                 *, leaky_slope: float = 0.01):
        if len(layer_dims) < 2:
            raise ValueError(f"layer_dims needs at least [n_x, n_out], got {list(layer_dims)}")
        self.layer_dims = tuple(check_count(f"layer_dims[{i}]", n) for i, n in enumerate(layer_dims))
        self.hidden_activation = check_choice("hidden_activation", hidden_activation,
                                              ("sigmoid", "tanh", "relu", "leaky_relu", "linear"))
        self.output = check_choice("output", output, OUTPUTS)
        if output == "sigmoid" and self.layer_dims[-1] != 1:
            raise ValueError(f"a sigmoid output needs layer_dims[-1] == 1, got {self.layer_dims[-1]}")
        if output != "sigmoid" and self.layer_dims[-1] < 2:
            raise ValueError(f"a {output} output needs layer_dims[-1] >= 2 classes, got {self.layer_dims[-1]}")
        self.leaky_slope = check_positive("leaky_slope", leaky_slope, allow_zero=True)
        self.L = len(self.layer_dims) - 1

    def __repr__(self):
        return (f"Network({list(self.layer_dims)}, hidden_activation={self.hidden_activation!r}, "
                f"output={self.output!r})")

    @property
    def num_classes(self) -> int:
        return 2 if self.output == "sigmoid" else self.layer_dims[-1]

    def init_params(self, method: str = "he", rng=0, dtype: str = "float64"):
        """Draw parameters with ``init.initialize_parameters`` (see there)."""
        return init.initialize_parameters(self.layer_dims, method, rng, dtype)

    def check_params(self, params):
        """Every W_l, b_l present with its shape and one float dtype; returns that dtype."""
        if not isinstance(params, dict):
            raise ValueError(f"params must be a dict of arrays W1, b1, ..., got {type(params).__name__}")
        expected = {f"{p}{l}" for l in range(1, self.L + 1) for p in "Wb"}
        if set(params) - expected:
            raise ValueError(f"params has unexpected keys {sorted(set(params) - expected)}; "
                             f"expected {sorted(expected)}")
        dtype = None
        for l in range(1, self.L + 1):
            n_prev, n = self.layer_dims[l - 1], self.layer_dims[l]
            for key, shape in ((f"W{l}", (n, n_prev)), (f"b{l}", (n, 1))):
                if key not in params:
                    raise ValueError(f"params is missing {key} of shape {shape}")
                check_float_array(f"params[{key!r}]", params[key], shape=shape, dtype=dtype)
                dtype = params[key].dtype
        return dtype

    def check_data(self, params, X, Y=None):
        dtype = self.check_params(params)
        X = check_float_array("X", X, shape=(self.layer_dims[0], None), dtype=dtype)
        if Y is None:
            return X, None
        return X, check_labels("Y", Y, m=X.shape[1], num_classes=self.num_classes)

    def _activation(self, l):
        return OUTPUTS[self.output][0] if l == self.L else self.hidden_activation

    def forward(self, params, X):
        """Forward pass. Returns (A_L, caches); caches[l - 1] = (LinearCache, ActivationCache)."""
        X, _ = self.check_data(params, X)
        return self._forward(params, X)

    def _forward(self, params, X):
        A, caches = X, []
        for l in range(1, self.L + 1):
            Z, linear_cache = linear_forward(A, params[f"W{l}"], params[f"b{l}"])
            name = self._activation(l)
            if name == "leaky_relu":
                A, act_cache = activations.leaky_relu_forward(Z, self.leaky_slope)
            else:
                A, act_cache = activations.FORWARD[name](Z)
            caches.append((linear_cache, act_cache))
        return A, caches

    def loss(self, params, X, Y):
        """Cost J and gradients {dW1, db1, ..., dWL, dbL} (dJ/dW_l, dJ/db_l)."""
        X, Y = self.check_data(params, X, Y)
        _, caches = self._forward(params, X)
        ZL = caches[-1][1].Z
        cost, dZ = OUTPUTS[self.output][1](ZL, Y)
        return cost, self._backward(caches, dZ)

    def cost(self, params, X, Y) -> float:
        return self.loss(params, X, Y)[0]

    def _backward(self, caches, dZL):
        """Backward from dZ_L (per-example, see layers.py) down to layer 1."""
        grads, dZ = {}, dZL
        for l in range(self.L, 0, -1):
            linear_cache, act_cache = caches[l - 1]
            if l < self.L:
                dZ = activations.BACKWARD[self._activation(l)](dA, act_cache)
            dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_backward(dZ, linear_cache)
        return grads

    def predict(self, params, X):
        """Predicted labels, int64 of shape (1, m): Z_L > 0 for a sigmoid output
        (the same as A_L > 0.5, without rounding at 0.5), else the arg max class."""
        X, _ = self.check_data(params, X)
        _, caches = self._forward(params, X)
        ZL = caches[-1][1].Z
        if self.output == "sigmoid":
            return (ZL > 0).astype(np.int64)
        return ZL.argmax(axis=0)[None, :]

    def accuracy(self, params, X, Y) -> float:
        """Fraction of examples whose predicted label equals Y."""
        X, Y = self.check_data(params, X, Y)
        return float((self.predict(params, X) == Y).mean())


def train_gd(network: Network, params, X, Y, learning_rate: float, num_iterations: int):
    """Full-batch gradient descent, W_l -= alpha dW_l and b_l -= alpha db_l.

    Returns (params, costs) where costs[i] is the cost before update i. The
    caller's params are left untouched.
    """
    learning_rate = check_positive("learning_rate", learning_rate)
    num_iterations = check_count("num_iterations", num_iterations)
    network.check_data(params, X, Y)
    params = {k: v.copy() for k, v in params.items()}
    costs = []
    for _ in range(num_iterations):
        cost, grads = network.loss(params, X, Y)
        for key, value in params.items():
            value -= learning_rate * grads["d" + key]
        costs.append(cost)
    return params, costs
