"""Batch normalisation: the layer over several training passes and a test-time pass, and
networks with batch norm in every hidden layer."""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import batchnorm as t_bn
from reference_torch import bridge
from scratch_numpy import batchnorm as n_bn

from ..checker.harness import compare
from .common import batch_first, case, leaf
from .dropout import NUMPY_BACKWARD as DROPOUT_BACKWARD
from .models import network_step, options_trajectory
from .mutant import Mutant, calling


def _batchnorm_module(gamma, beta, beta_momentum, eps, dtype, device):
    module = t_bn.batch_norm(gamma.shape[0], beta_momentum=beta_momentum, eps=eps,
                             dtype=bridge.resolve_dtype(dtype), device=device)
    with torch.no_grad():
        module.weight.copy_(bridge.to_tensor(gamma[:, 0], device))
        module.bias.copy_(bridge.to_tensor(beta[:, 0], device))
    return module


def batchnorm_layer(*, dtype="float64", n=5, m=8, steps=5, seed=0, device="cpu", beta_momentum=0.9, eps=1e-5):
    """``steps`` training passes of one batch-norm layer on fresh batches (each unit with its
    own mean and scale, so the running statistics move), then a test-time pass on a new batch.

    Rows: Z_tilde, dZ (per example), dgamma, dbeta of every training pass (stacked, pass
    first); the running mean and variance after the passes; the test-time Z_tilde and its
    gradients (running statistics held constant). Upstream gradients are random.
    """
    rng = np.random.default_rng(seed)
    gamma = (1 + 0.5 * rng.standard_normal((n, 1))).astype(dtype)
    beta = rng.standard_normal((n, 1)).astype(dtype)
    running = n_bn.init_running(n, dtype)
    module = _batchnorm_module(gamma, beta, beta_momentum, eps, dtype, device)
    passes, passes_t = [], []
    for k in range(steps + 1):
        train = k < steps
        Z = (rng.standard_normal((n, 1)) + (1 + 2 * rng.random((n, 1))) * rng.standard_normal((n, m))).astype(dtype)
        dout = rng.standard_normal((n, m)).astype(dtype)

        out, cache = n_bn.batchnorm_forward(Z, gamma, beta, running, train=train, beta_momentum=beta_momentum,
                                            eps=eps)
        passes.append((out, *n_bn.batchnorm_backward(dout, cache)))

        module.train(train)
        module.zero_grad()
        Zt = leaf(Z, device)
        out_t = t_bn.apply(module, Zt)
        # J = sum(dout * out) / m: autograd gives dgamma, dbeta as they are and dZ / m
        ((out_t * batch_first(dout, device)).sum() / m).backward()
        passes_t.append(tuple(bridge.to_numpy(t) for t in
                              (out_t.T, m * Zt.grad.T, module.weight.grad[:, None], module.bias.grad[:, None])))

    def rows(results, running_mean, running_var):
        stacked = {name: np.stack([r[i] for r in results[:steps]])
                   for i, name in enumerate(("Z_tilde", "dZ", "dgamma", "dbeta"))}
        test = results[steps]
        return {**stacked, f"running_mean after {steps} steps": running_mean,
                f"running_var after {steps} steps": running_var, f"Z_tilde test after {steps} steps": test[0],
                "dZ test": test[1], "dgamma test": test[2], "dbeta test": test[3]}

    return compare(rows(passes, running["mean"], running["var"]),
                   rows(passes_t, bridge.to_numpy(module.running_mean)[:, None],
                        bridge.to_numpy(module.running_var)[:, None]),
                   label=f"batch norm layer: {steps} training passes, running stats, test-time pass")


CASES = [
    ("batch norm layer: 5 passes, running stats, test time", case(batchnorm_layer)),
    ("batch norm net [5,6,4,1]: grads, 1 step, running stats", case(network_step, batch_norm=True)),
    ("batch norm net, 5 GD steps: running stats, test output", case(options_trajectory, batch_norm=True, steps=5)),
    ("batch norm + dropout + L2 net [6,8,5,3] softmax, 20 steps",
     case(options_trajectory, (6, 8, 5, 3), "relu", "softmax", batch_norm=True, keep_probs=0.8, l2_lambda=0.5,
          steps=20)),
]


def _dgamma_summed(original):
    def mutated(dout, cache):   # dgamma = sum(dout * Z_norm), the 1/m forgotten
        dZ, dgamma, dbeta = original(dout, cache)
        return dZ, dgamma * cache.Z_norm.shape[1], dbeta
    return mutated


NUMPY_BIASED_RUNNING_VAR = Mutant(
    "numpy", ("scratch_numpy.batchnorm._batchnorm_forward", "scratch_numpy.batchnorm.batchnorm_forward.unchecked"),
    "running variance averages the biased batch variance (m, not m - 1)",
    calling(lambda args, kwargs: (args, {**kwargs, "unbiased_running_var": False})))
NUMPY_DGAMMA_SUMMED = Mutant(
    "numpy", ("scratch_numpy.batchnorm._batchnorm_backward", "scratch_numpy.batchnorm.batchnorm_backward.unchecked"),
    "dgamma summed, not averaged over m", _dgamma_summed)
TORCH_MOMENTUM = Mutant(
    "torch", "reference_torch.batchnorm.batch_norm", "BatchNorm1d's momentum = beta (not 1 - beta)",
    calling(lambda args, kwargs: (args, {**kwargs, "beta_momentum": 1 - kwargs.get("beta_momentum", 0.9)})))

MUTANTS = {
    "batch norm layer*": [NUMPY_BIASED_RUNNING_VAR, NUMPY_DGAMMA_SUMMED, TORCH_MOMENTUM],
    "batch norm net*": [NUMPY_BIASED_RUNNING_VAR, NUMPY_DGAMMA_SUMMED, TORCH_MOMENTUM],
    "batch norm + dropout + L2 net*": [NUMPY_DGAMMA_SUMMED, DROPOUT_BACKWARD, TORCH_MOMENTUM],
}
