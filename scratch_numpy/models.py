"""A fully connected network of any depth, examples in columns.

    [LINEAR -> (BATCHNORM) -> g -> (DROPOUT)] * (L - 1) -> LINEAR -> output

with hidden activation g and an output that fixes the loss:

    output    A_L                 loss on Z_L                     labels Y (1, m)
    sigmoid   sigmoid(Z_L)        binary cross-entropy (logits)   {0, 1}
    softmax   softmax(Z_L)        softmax cross-entropy           [0, C)
    linear    Z_L (raw scores)    multiclass SVM hinge, delta 1   [0, C)

One class covers the course's shallow net ([n_x, n_h, 1], tanh, sigmoid), its
L-layer net (ReLU, sigmoid) and cs231n's affine-ReLU-affine-softmax net.
The loss's gradient is taken on Z_L directly (dZ_L = A_L - Y for the first
two), which is the course's fused form and stays finite at saturation.

The practical aspects (course 2), each off by default:

* ``l2_lambda``, ``l1_lambda``: J += lambda/(2m) sum_l ||W_l||_F^2 (dW_l += (lambda/m) W_l)
  and J += lambda/(2m) sum_l sum |W_l| (dW_l += lambda/(2m) sign(W_l)), on the
  weights only, m = the examples in the batch (scratch_numpy.losses).
* ``keep_probs``: inverted dropout after each hidden activation, keep_prob per
  hidden layer (scratch_numpy.dropout); masks D1, D2, ... are drawn from
  ``dropout_rng`` or given to ``loss``/``forward``; never applied at test time.
* ``batch_norm``: every hidden layer normalises Z_l before g
  (scratch_numpy.batchnorm); its b_l is dropped and gamma_l, beta_l (n_l, 1)
  are learned. The running statistics live in ``network.state``
  ({running_mean1, running_var1, ...}, (n_l, 1)), never in the parameters, so
  optimisers never touch them; training passes update them, test-time passes
  use them.

Modes: ``loss`` is the training pass by default (``train=True``: batch
statistics, dropout, running statistics updated); ``forward``, ``predict`` and
``accuracy`` are test-time passes by default (running statistics, no dropout,
nothing updated).

Validation happens once per public call, at this boundary: the layers,
activations, losses and penalties are then called through their unchecked
kernels (``validation.unchecked``), so no intermediate is scanned again. The
passes behind ``loss`` and ``predict`` are lean: each hidden activation
overwrites its Z (backward reads A alone), the output activation is skipped
(the loss and the prediction read Z_L) and layer 1 forms no gradient for X.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import activations, init, losses
from .activations import ActivationCache
from .batchnorm import BatchNormCache, batchnorm_backward, batchnorm_forward, init_running
from .contract import check_beta, check_keep_probs
from .dropout import DropoutCache, check_mask, draw_mask, dropout_backward, dropout_forward
from .layers import FirstLayerCache, LinearCache, affine, linear_backward
from .validation import (check_choice, check_count, check_flag, check_float_array, check_labels, check_layer_dims,
                          check_model, check_positive, sum_of_squares, unchecked)

OUTPUTS = {
    "sigmoid": ("sigmoid", losses.binary_cross_entropy_with_logits),
    "softmax": ("softmax", losses.softmax_cross_entropy),
    "linear": ("linear", losses.svm_hinge),
}
PENALTIES = {"l2_lambda": losses.l2_penalty, "l1_lambda": losses.l1_penalty}


class LayerCache(NamedTuple):
    """One layer's caches; ``cache[0]``, ``cache[1]`` are the linear and activation caches as before."""

    linear: LinearCache
    activation: ActivationCache
    batchnorm: BatchNormCache | None = None
    dropout: DropoutCache | None = None


class Network:
    """L-layer network with parameters {W1, b1, ..., WL, bL} (gamma_l, beta_l instead of b_l
    in the hidden layers when ``batch_norm``).

    Shapes: X (n_x, m), W_l (n_l, n_{l-1}), b_l, gamma_l, beta_l (n_l, 1), output (n_L, m).
    A sigmoid output has n_L = 1; softmax and linear outputs have n_L = C classes.
    Options (module docstring): ``l2_lambda``, ``l1_lambda`` (lambda >= 0), ``keep_probs`` (None, one
    number or one per hidden layer, each in (0, 1]), ``batch_norm`` with
    ``bn_beta_momentum`` (the running averages' beta; torch's momentum is 1 - beta),
    ``bn_eps`` and ``bn_unbiased_running_var`` (torch's n - 1 form; False: the course's
    biased one), ``dropout_rng`` (seed, Generator or RandomState for drawn masks).
    """

    def __init__(self, layer_dims, hidden_activation: str = "relu", output: str = "sigmoid",
                 *, leaky_slope: float = 0.01, l2_lambda: float = 0.0, l1_lambda: float = 0.0, keep_probs=None,
                 batch_norm: bool = False, bn_beta_momentum: float = 0.9, bn_eps: float = 1e-5,
                 bn_unbiased_running_var: bool = True, dropout_rng=None):
        self.layer_dims = check_layer_dims(layer_dims)
        self.hidden_activation = check_choice("hidden_activation", hidden_activation,
                                              ("sigmoid", "tanh", "relu", "leaky_relu", "linear"))
        self.output = check_choice("output", output, OUTPUTS)
        if output == "sigmoid" and self.layer_dims[-1] != 1:
            raise ValueError(f"a sigmoid output needs layer_dims[-1] == 1, got {self.layer_dims[-1]}")
        if output != "sigmoid" and self.layer_dims[-1] < 2:
            raise ValueError(f"a {output} output needs layer_dims[-1] >= 2 classes, got {self.layer_dims[-1]}")
        self.leaky_slope = check_positive("leaky_slope", leaky_slope, allow_zero=True)
        self.L = len(self.layer_dims) - 1
        self.l2_lambda = check_positive("l2_lambda", l2_lambda, allow_zero=True)
        self.l1_lambda = check_positive("l1_lambda", l1_lambda, allow_zero=True)
        self.keep_probs = check_keep_probs(keep_probs, self.L - 1)
        self.batch_norm = check_flag("batch_norm", batch_norm)
        self.bn_beta_momentum = check_beta("bn_beta_momentum", bn_beta_momentum)
        self.bn_eps = check_positive("bn_eps", bn_eps)
        self.bn_unbiased_running_var = check_flag("bn_unbiased_running_var", bn_unbiased_running_var)
        self.dropout_rng = None if dropout_rng is None else init.as_rng(dropout_rng, "dropout_rng")
        self.state: dict = {}

    def __repr__(self):
        options = "".join(f", {k}={getattr(self, k)!r}" for k, default in
                          (("l2_lambda", 0.0), ("l1_lambda", 0.0), ("batch_norm", False)) if getattr(self, k) != default)
        if any(p < 1 for p in self.keep_probs):
            options += f", keep_probs={list(self.keep_probs)}"
        return (f"Network({list(self.layer_dims)}, hidden_activation={self.hidden_activation!r}, "
                f"output={self.output!r}{options})")

    @property
    def num_classes(self) -> int:
        return 2 if self.output == "sigmoid" else self.layer_dims[-1]

    @property
    def bn_layers(self) -> tuple[int, ...]:
        """The layers l with batch norm (every hidden layer when ``batch_norm``)."""
        return tuple(range(1, self.L)) if self.batch_norm else ()

    @property
    def dropout_layers(self) -> tuple[int, ...]:
        """The hidden layers l with keep_prob < 1; their masks are named D{l}."""
        return tuple(l for l in range(1, self.L) if self.keep_probs[l - 1] < 1)

    def param_shapes(self) -> dict:
        """{name: shape} of every parameter, in layer order."""
        shapes = {}
        for l in range(1, self.L + 1):
            n_prev, n = self.layer_dims[l - 1], self.layer_dims[l]
            shapes[f"W{l}"] = (n, n_prev)
            if l in self.bn_layers:
                shapes[f"gamma{l}"] = shapes[f"beta{l}"] = (n, 1)
            else:
                shapes[f"b{l}"] = (n, 1)
        return shapes

    def init_params(self, method: str = "he", rng=0, dtype: str = "float64"):
        """Draw W_l with ``init.initialize_parameters`` (see there), b_l = 0; with batch norm
        gamma_l = 1 and beta_l = 0 replace b_l, and ``state`` starts afresh (``init_state``)."""
        drawn = init.initialize_parameters(self.layer_dims, method, rng, dtype)
        params = {}
        for key, shape in self.param_shapes().items():
            if key.startswith("gamma"):
                params[key] = np.ones(shape, dtype=dtype)
            elif key.startswith("beta"):
                params[key] = np.zeros(shape, dtype=dtype)
            else:
                params[key] = drawn[key]
        self.init_state(dtype)
        return params

    def init_state(self, dtype: str = "float64") -> dict:
        """Fresh running statistics, running_mean_l = 0 and running_var_l = 1 (n_l, 1), as
        ``self.state`` (empty without batch norm); returned as well."""
        self.state = {}
        for l in self.bn_layers:
            running = init_running(self.layer_dims[l], dtype)
            self.state[f"running_mean{l}"], self.state[f"running_var{l}"] = running["mean"], running["var"]
        return self.state

    def check_params(self, params):
        """Every parameter present with its shape and one float dtype; returns that dtype."""
        if not isinstance(params, dict):
            raise ValueError(f"params must be a dict of arrays W1, b1, ..., got {type(params).__name__}")
        shapes = self.param_shapes()
        if set(params) - set(shapes):
            raise ValueError(f"params has unexpected keys {sorted(set(params) - set(shapes))}; "
                             f"expected {sorted(shapes)}")
        dtype = None
        for key, shape in shapes.items():
            if key not in params:
                raise ValueError(f"params is missing {key} of shape {shape}")
            check_float_array(f"params[{key!r}]", params[key], shape=shape, dtype=dtype, finite=False)
            dtype = params[key].dtype
        # finiteness in one BLAS pass over all parameters instead of an isfinite pass (and its boolean
        # array) per parameter; only when that fails, the exact check that names the parameter at fault
        if not sum_of_squares([params[key] for key in shapes]) <= np.finfo(dtype).max:
            for key in shapes:
                check_float_array(f"params[{key!r}]", params[key], shape=shapes[key], dtype=dtype)
        return dtype

    def check_data(self, params, X, Y=None, *, names=("X", "Y")):
        """``names``: what the messages call X and Y (e.g. X_dev, Y_dev for a dev set)."""
        dtype = self.check_params(params)
        X = check_float_array(names[0], X, shape=(self.layer_dims[0], None), dtype=dtype)
        if Y is None:
            return X, None
        return X, check_labels(names[1], Y, m=X.shape[1], num_classes=self.num_classes)

    def _check_labelled(self, params, X, Y, *, names=("X", "Y")):
        """``check_data`` where the labels are required (None is an error, not "no labels")."""
        X, _ = self.check_data(params, X, names=names)
        return X, check_labels(names[1], Y, m=X.shape[1], num_classes=self.num_classes)

    def _checked_state(self, dtype) -> dict:
        """``self.state``, started (``init_state``) if empty, checked against the layers and ``dtype``."""
        if not self.state:
            self.init_state(dtype)
        for l in self.bn_layers:
            for key in (f"running_mean{l}", f"running_var{l}"):
                if key not in self.state:
                    raise ValueError(f"state is missing {key}; call init_state()")
                check_float_array(f"state[{key!r}]", self.state[key], shape=(self.layer_dims[l], 1), dtype=dtype,
                                  minimum=0 if key.startswith("running_var") else None)
        return self.state

    def draw_masks(self, m: int, rng=None, dtype: str = "float64") -> dict:
        """Keep masks {D_l: (n_l, m)} of 0./1. for the dropout layers, drawn from ``rng``
        (default: ``dropout_rng``); give them to ``loss``/``forward`` as ``masks``."""
        m = check_count("m", m)
        check_choice("dtype", dtype, init.DTYPES)   # checked here too: a network without dropout draws no mask
        rng = self._dropout_rng() if rng is None else init.as_rng(rng)
        return {f"D{l}": draw_mask((self.layer_dims[l], m), self.keep_probs[l - 1], rng, dtype)
                for l in self.dropout_layers}

    def _dropout_rng(self):
        if self.dropout_rng is None:   # unseeded, drawn once so successive masks differ
            self.dropout_rng = np.random.default_rng()
        return self.dropout_rng

    def _check_masks(self, masks, m: int, dtype) -> dict:
        if masks is None:
            return {}
        if not isinstance(masks, dict):
            raise ValueError(f"masks must be a dict {{D1: (n_1, m), ...}} or None, got {type(masks).__name__}")
        expected = {f"D{l}" for l in self.dropout_layers}
        if set(masks) != expected:
            raise ValueError(f"masks must hold exactly {sorted(expected)} (one per layer with keep_prob < 1), "
                             f"got {sorted(masks)}")
        return {key: check_mask(f"masks[{key!r}]", mask, (self.layer_dims[int(key[1:])], m), dtype)
                for key, mask in masks.items()}

    def _activation(self, l):
        return OUTPUTS[self.output][0] if l == self.L else self.hidden_activation

    def forward(self, params, X, *, masks=None, train: bool = False):
        """Forward pass, at test time unless ``train`` (``masks`` as in ``loss``; ignored at
        test time). Returns (A_L, caches); caches[l - 1] is layer l's LayerCache
        (linear, activation, batchnorm, dropout)."""
        X, _ = self.check_data(params, X)
        return self._forward(params, X, masks, check_flag("train", train))

    def _forward(self, params, X, masks, train, *, lean: bool = False):
        """The forward pass on validated inputs. ``lean`` (behind ``loss`` and ``predict``): hidden
        activations overwrite their Z (their caches keep Z = None), the output activation is
        skipped (A_L is None; Z_L is in the last cache) and layer 1's cache is a FirstLayerCache."""
        masks = self._check_masks(masks, X.shape[1], X.dtype) if train else {}
        bn_layers, dropout_layers = self.bn_layers, self.dropout_layers
        A, caches = X, []
        for l in range(1, self.L + 1):
            W, bn_cache, drop_cache = params[f"W{l}"], None, None
            linear_cache = (FirstLayerCache if lean and l == 1 else LinearCache)(A, W)
            if l in bn_layers:   # b_l is dropped: the mean subtraction cancels it
                Z, bn_cache = self._batchnorm(l, affine(A, W), params, train)
            else:
                Z = affine(A, W, params[f"b{l}"])
            if lean and l == self.L:
                A, act_cache = None, ActivationCache(Z, None)
            else:
                A = activations.activate(self._activation(l), Z, self.leaky_slope, overwrite=lean)
                act_cache = ActivationCache(None if lean else Z, A, self.leaky_slope)
            if l in dropout_layers:
                A, drop_cache = unchecked(dropout_forward)(
                    A, self.keep_probs[l - 1], masks.get(f"D{l}"), self._dropout_rng() if train and not masks else None,
                    train)
            caches.append(LayerCache(linear_cache, act_cache, bn_cache, drop_cache))
        return A, caches

    def _batchnorm(self, l, Z, params, train):
        state = self._checked_state(Z.dtype)
        running = {"mean": state[f"running_mean{l}"], "var": state[f"running_var{l}"]}
        out, cache = unchecked(batchnorm_forward)(
            Z, params[f"gamma{l}"], params[f"beta{l}"], running, train=train, beta_momentum=self.bn_beta_momentum,
            eps=self.bn_eps, unbiased_running_var=self.bn_unbiased_running_var)
        state[f"running_mean{l}"], state[f"running_var{l}"] = running["mean"], running["var"]
        return out, cache

    def loss(self, params, X, Y, *, masks=None, train: bool = True):
        """Cost J (with the l2_lambda/l1_lambda terms) and gradients {dW_l, db_l or dgamma_l, dbeta_l} = dJ/d(.).

        A training pass by default: ``masks`` {D_l: (n_l, m)} are the dropout masks to apply
        (None: drawn from ``dropout_rng``); batch norm uses and records batch statistics.
        """
        X, Y = self._check_labelled(params, X, Y)
        return self._loss(params, X, Y, masks, check_flag("train", train))

    def _loss(self, params, X, Y, masks, train):
        """``loss`` on validated inputs (Y: the int64 labels from ``check_data``)."""
        _, caches = self._forward(params, X, masks, train, lean=True)
        cost, dZ = unchecked(OUTPUTS[self.output][1])(caches[-1].activation.Z, Y)
        grads = self._backward(caches, dZ)
        for name, penalty in PENALTIES.items():
            strength = getattr(self, name)
            if strength:
                term, dWs = unchecked(penalty)(params, strength, X.shape[1])
                cost += term
                for k, dW in dWs.items():
                    grads[k] += dW
        return cost, grads

    def cost(self, params, X, Y, **mode) -> float:
        """J from ``loss`` (same keyword arguments)."""
        return self.loss(params, X, Y, **mode)[0]

    def _backward(self, caches, dZL):
        """Backward from dZ_L (per-example, see layers.py) down to layer 1. The functions are
        looked up here, by name, at every call (a test plants bugs in them)."""
        grads, dZ, dA = {}, dZL, None
        for l in range(self.L, 0, -1):
            cache = caches[l - 1]
            if l < self.L:  # dA is then layer l's output gradient, from layer l + 1
                if cache.dropout is not None:
                    dA = unchecked(dropout_backward)(dA, cache.dropout)
                backward = activations.BACKWARD[self._activation(l)]
                # dA is this pass's own array (layer l + 1's W^T dZ or dropout's product) and is read
                # nowhere else, so a kernel that can write dZ into it (ReLU's ``in_place``) does
                dZ = getattr(backward, "in_place", unchecked(backward))(dA, cache.activation)
                if cache.batchnorm is not None:
                    dZ, grads[f"dgamma{l}"], grads[f"dbeta{l}"] = unchecked(batchnorm_backward)(dZ, cache.batchnorm)
            dA, grads[f"dW{l}"], db = unchecked(linear_backward)(dZ, cache.linear)
            if cache.batchnorm is None:
                grads[f"db{l}"] = db
        return grads

    def predict(self, params, X):
        """Predicted labels, int64 of shape (1, m), from a test-time pass: Z_L > 0 for a sigmoid
        output (the same as A_L > 0.5, without rounding at 0.5), else the arg max class."""
        X, _ = self.check_data(params, X)
        return self._predict(params, X)

    def _predict(self, params, X):
        _, caches = self._forward(params, X, None, False, lean=True)
        ZL = caches[-1].activation.Z
        if self.output == "sigmoid":
            return (ZL > 0).astype(np.int64)
        return ZL.argmax(axis=0)[None, :]

    def accuracy(self, params, X, Y) -> float:
        """Fraction of examples whose predicted label equals Y."""
        if Y is None:
            raise ValueError("Y must be the (1, m) labels to score against, got None")
        X, Y = self.check_data(params, X, Y)
        return float((self._predict(params, X) == Y).mean())


def train_gd(network: Network, params, X, Y, learning_rate: float, num_iterations: int, *, masks=None):
    """Full-batch gradient descent on every parameter, theta -= alpha dtheta.

    ``masks``: None, or one dropout-mask dict per iteration (see Network.loss).
    Returns (params, costs) where costs[i] is the cost before update i. The
    caller's params are left untouched; ``network.state`` (batch norm's running
    statistics) is updated by every iteration.
    """
    check_model("network", network, Network)
    learning_rate = check_positive("learning_rate", learning_rate)
    num_iterations = check_count("num_iterations", num_iterations)
    X, Y = network._check_labelled(params, X, Y)
    if masks is not None and (not isinstance(masks, (list, tuple)) or len(masks) != num_iterations):
        raise ValueError(f"masks must be None or a list of {num_iterations} mask dicts (one per iteration), "
                         f"got {type(masks).__name__} {masks!r}"[:200])
    params = {k: v.copy() for k, v in params.items()}
    costs = []
    for i in range(num_iterations):
        cost, grads = network._loss(params, X, Y, None if masks is None else masks[i], True)
        for key, value in params.items():
            step = grads["d" + key]     # the network's own array: scaled in place
            step *= learning_rate
            value -= step
        costs.append(cost)
    return params, costs
