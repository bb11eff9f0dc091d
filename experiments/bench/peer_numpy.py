"""The benchmark's NumPy peer: the training step written the textbook way, as Stanford's CS231n
assignments write it (assignment 2: ``cs231n/layers.py``, ``layer_utils.py``, ``optim.py``,
``classifiers/fc_net.py`` and ``solver.py``).

It is deliberately the textbook form, not a tuned one, and it has nothing to do with
scratch_numpy: it imports only NumPy. Examples are in rows (X is (N, D), W_l is (D_in, D_out), b_l
is (D_out,)); every layer is a forward/backward pair with a cache; the loss is ``softmax_loss``;
the update rules take and return a config dict per parameter, and a new array per intermediate
(``sgd`` updates in place, as CS231n's does). Its step is compared with the project's by the
benchmark (experiments.bench.step), which times both on the same parameters and data.

Two deliberate departures from the assignment's code, so that the peer does exactly the
project's computation and no more:

* the first layer's input gradient dX is not formed (``affine_backward(..., input_grad=False)``):
  CS231n's FullyConnectedNet computes it and throws it away, one matrix product of the largest
  layer's size (about 40 % more GEMM work for 784-256-128-10) that neither the project nor torch
  does;
* no regularisation term: the assignment adds 0.5 * reg * sum(W ** 2) even at reg = 0; the
  benchmark's step has no L2, and neither side computes a penalty then.
"""

from __future__ import annotations

import numpy as np


# ------------------------------------------------------------------------------ layers (layers.py)

def affine_forward(x, w, b):
    """out = x w + b for x (N, d_1, ..., d_k) read as (N, D), w (D, M), b (M,); cache (x, w, b)."""
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache, input_grad: bool = True):
    """(dx, dw, db) from the upstream gradient dout (N, M); dx is None without ``input_grad``
    (the first layer's, which nobody reads)."""
    x, w, b = cache
    dx = dout.dot(w.T).reshape(x.shape) if input_grad else None
    dw = x.reshape(x.shape[0], -1).T.dot(dout)
    db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    dx = dout * (x > 0)
    return dx


def softmax_loss(x, y):
    """Mean softmax cross-entropy of the scores x (N, C) for the labels y (N,), and dx."""
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    dx = probs.copy()
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


# ------------------------------------------------------------------------------ layer_utils.py

def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def affine_relu_backward(dout, cache, input_grad: bool = True):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, dw, db = affine_backward(da, fc_cache, input_grad)
    return dx, dw, db


# ------------------------------------------------------------------------------ the model (fc_net.py)

class FullyConnectedNet:
    """{affine - relu} x (L - 1) - affine - softmax, with ``params`` {W1, b1, ..., WL, bL} given
    (W_l (D_in, D_out), b_l (D_out,)): the assignment draws them itself; here they are the
    project's, transposed."""

    def __init__(self, params: dict):
        self.params = dict(params)
        self.num_layers = len(params) // 2

    def loss(self, X, y):
        """(loss, grads {W1: dW1, b1: db1, ...}) of the batch X (N, D), y (N,)."""
        caches = []
        out = X
        for i in range(1, self.num_layers):
            out, cache = affine_relu_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
            caches.append(cache)
        L = self.num_layers
        scores, cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
        caches.append(cache)

        grads = {}
        loss, dscores = softmax_loss(scores, y)
        dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, caches[L - 1])
        for i in range(L - 1, 0, -1):
            dout, grads[f"W{i}"], grads[f"b{i}"] = affine_relu_backward(dout, caches[i - 1], input_grad=i > 1)
        return loss, grads


# ------------------------------------------------------------------------------ update rules (optim.py)

def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent; config: learning_rate."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)

    w -= config["learning_rate"] * dw
    return w, config


def adam(w, dw, config=None):
    """Adam with bias correction; config: learning_rate, beta1, beta2, epsilon, m, v, t."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    mt = config["m"] / (1 - config["beta1"] ** config["t"])
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * (dw ** 2)
    vt = config["v"] / (1 - config["beta2"] ** config["t"])
    next_w = w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"])
    return next_w, config


UPDATE_RULES = {"sgd": sgd, "adam": adam}


# ------------------------------------------------------------------------------ the step (solver.py)

class Solver:
    """The part of the assignment's Solver that trains: ``step`` is its ``_step`` on a given
    batch, one config dict per parameter (a copy of ``optim_config`` each)."""

    def __init__(self, model: FullyConnectedNet, update_rule: str, optim_config: dict):
        self.model = model
        self.update_rule = UPDATE_RULES[update_rule]
        self.optim_configs = {p: dict(optim_config) for p in model.params}

    def step(self, X_batch, y_batch):
        """One gradient step on the batch; returns its loss (before the update)."""
        loss, grads = self.model.loss(X_batch, y_batch)
        for p, w in self.model.params.items():
            dw = grads[p]
            config = self.optim_configs[p]
            next_w, next_config = self.update_rule(w, dw, config)
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config
        return loss
