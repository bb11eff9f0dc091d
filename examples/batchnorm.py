"""Batch normalisation over the examples (axis 1) with running statistics, and two bugs.

Train, per feature (row) of x (n, m):

    mu = mean_cols(x),  var = mean_cols((x - mu)^2),  xhat = (x - mu) / sqrt(var + eps),
    out = gamma xhat + beta,
    running_mean <- beta_ewa running_mean + (1 - beta_ewa) mu,
    running_var  <- beta_ewa running_var  + (1 - beta_ewa) var m / (m - 1).

The running variance uses the unbiased estimate and torch's momentum is 1 - beta_ewa: both are
torch.nn.BatchNorm1d's conventions. Eval: xhat = (x - running_mean) / sqrt(running_var + eps), the running
statistics unchanged. Shapes: x, out (n, m); gamma, beta, running_mean, running_var (n, 1).

Backward (cs231n's compact form; vjp convention):

    dbeta = sum_cols(dout),  dgamma = sum_cols(dout xhat),  dxhat = gamma dout,
    dx = (dxhat m - sum_cols(dxhat) - xhat sum_cols(dxhat xhat)) / (m sqrt(var + eps))    (train)
    dx = dxhat / sqrt(running_var + eps)                                                   (eval)

The running statistics live in the ``state`` dict the forward updates; the check compares them with
F.batch_norm's buffers after the step (rows "running_mean after step", "running_var after step").
"""

import functools
from typing import NamedTuple

import numpy as np
import torch.nn.functional as F

from examples.cases import Case

EPS = 1e-5
EWA_BETA = 0.9  # torch's momentum = 1 - EWA_BETA


class BatchNormCache(NamedTuple):
    xhat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray  # 1 / sqrt(var + eps), (n, 1)
    train: bool


def forward(x, gamma, beta, state, mode, running_ddof=1):
    """out = gamma xhat + beta; in training also updates state["running_mean"], state["running_var"]
    (the latter with ``running_ddof`` degrees of freedom: 1 gives torch's unbiased estimate)."""
    train = mode == "train"
    if train:
        mu, var = x.mean(axis=1, keepdims=True), x.var(axis=1, keepdims=True)
        state["running_mean"] = EWA_BETA * state["running_mean"] + (1 - EWA_BETA) * mu
        state["running_var"] = (EWA_BETA * state["running_var"]
                                + (1 - EWA_BETA) * x.var(axis=1, ddof=running_ddof, keepdims=True))
    else:
        mu, var = state["running_mean"], state["running_var"]
    inv_std = 1 / np.sqrt(var + EPS)
    xhat = (x - mu) * inv_std
    return gamma * xhat + beta, BatchNormCache(xhat, gamma, inv_std, train)


def backward(dout, cache):
    """dx, dgamma, dbeta as in the module docstring."""
    xhat, gamma, inv_std, train = cache
    dxhat = gamma * dout
    if train:
        m = dout.shape[1]
        dx = (m * dxhat - dxhat.sum(axis=1, keepdims=True)
              - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) * inv_std / m
    else:
        dx = dxhat * inv_std
    return {"dx": dx, "dgamma": (dout * xhat).sum(axis=1, keepdims=True), "dbeta": dout.sum(axis=1, keepdims=True)}


def backward_dgamma_wrong_axis(dout, cache):
    """Bug: dgamma summed over axis 0 (the features), as in batch-first code, instead of the examples."""
    return {**backward(dout, cache), "dgamma": (dout * cache.xhat).sum(axis=0, keepdims=True)}


# Convention slip: the running variance from the biased estimate; the check compares it after the step.
forward_biased_running_var = functools.partial(forward, running_ddof=0)


def torch_batchnorm(x, gamma, beta, state, mode):
    """F.batch_norm on the batch-first x^T; it updates the running statistics in place, through the views."""
    return F.batch_norm(x.T, state["running_mean"].view(-1), state["running_var"].view(-1), gamma.view(-1),
                        beta.view(-1), training=mode == "train", momentum=1 - EWA_BETA, eps=EPS).T


_rng = np.random.default_rng(8)
# Away from torch's defaults (0 and 1), so that a forgotten term of the running averages shows.
STATE = {"running_mean": _rng.standard_normal((4, 1)), "running_var": 0.5 + _rng.random((4, 1))}
CHECK = dict(oracle=torch_batchnorm, inputs={"x": (4, 6)}, params={"gamma": (4, 1), "beta": (4, 1)},
             state=STATE, mode="train")

CASES = [
    Case("batch norm", forward, backward, CHECK),
    Case("batch norm, eval mode", forward, backward, {**CHECK, "mode": "eval"}),
    Case("batch norm: dgamma over the wrong axis", forward, backward_dgamma_wrong_axis, CHECK, ("dgamma",),
         "summed over the wrong axis"),
    Case("batch norm: biased running_var", forward_biased_running_var, backward, CHECK,
         ("running_var after step",)),
]
