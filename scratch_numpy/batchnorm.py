"""Batch normalisation (course 2, week 3; cs231n's batchnorm_forward/backward), examples in columns.

Between a layer's Z = W A_prev (its b is dropped: the mean subtraction cancels
it, and beta takes its place) and the activation, for each unit (row) i:

    training:  mu_i    = (1/m) sum_j Z_ij
               sigma2_i = (1/m) sum_j (Z_ij - mu_i)^2              the biased batch variance
               Z_norm  = (Z - mu) / sqrt(sigma2 + eps)
               Z_tilde = gamma * Z_norm + beta
    test:      Z_norm  = (Z - running_mean) / sqrt(running_var + eps)

The running statistics are exponentially weighted averages (scratch_numpy.ewa)
updated by every training pass, with decay beta (``beta_momentum``):

    running_mean <- beta running_mean + (1 - beta) mu
    running_var  <- beta running_var  + (1 - beta) sigma2 * m / (m - 1)    (unbiased_running_var, default)
    running_var  <- beta running_var  + (1 - beta) sigma2                  (the course's biased form)

torch.nn.BatchNorm1d normalises with the biased variance but averages the
unbiased one; its momentum is 1 - beta and its running_var starts at 1
(``init_running``). The defaults here match it; CONVENTIONS.md
states the differences.

Gradient convention, as in layers.py: the upstream ``dout`` = dL/dZ_tilde is
per example (of the summed loss), and so is the returned dZ; the parameter
gradients carry the 1/m of the cost, like dW and db:

    dbeta  = (1/m) sum_j dout_j                      = dJ/dbeta
    dgamma = (1/m) sum_j dout_j * Z_norm_j           = dJ/dgamma
    dZ     = (gamma / (m sqrt(sigma2 + eps))) (m dout - sum_j dout_j - Z_norm sum_j dout_j Z_norm_j)

(at test time the statistics are constants: dZ = dout * gamma / sqrt(running_var + eps)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .contract import check_beta
from .validation import check_count, check_flag, check_float_array, check_float_dtype, check_positive


class BatchNormCache(NamedTuple):
    """What backward needs: Z_norm, gamma, 1/sqrt(var + eps) (n, 1), and whether it was training."""

    Z_norm: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray
    train: bool


def init_running(n: int, dtype="float64") -> dict:
    """Running statistics before any training pass: mean 0 and var 1 (torch's start), each (n, 1).

    cs231n starts running_var at 0; torch, and Twinprop, at 1.
    """
    n, dtype = check_count("n", n), check_float_dtype("dtype", dtype)
    return {"mean": np.zeros((n, 1), dtype=dtype), "var": np.ones((n, 1), dtype=dtype)}


def _check_running(running, n: int, dtype) -> None:
    if not isinstance(running, dict) or set(running) != {"mean", "var"}:
        raise ValueError(f"running must be a dict with the keys 'mean' and 'var' (see init_running), "
                         f"got {running if not isinstance(running, dict) else sorted(running)!r}"[:200])
    check_float_array("running['mean']", running["mean"], shape=(n, 1), dtype=dtype)
    # a negative variance (a corrupted or hand-made state) would normalise with sqrt(var + eps) = NaN
    check_float_array("running['var']", running["var"], shape=(n, 1), dtype=dtype, minimum=0)


def batchnorm_forward(Z, gamma, beta, running: dict, *, train: bool, beta_momentum: float = 0.9,
                      eps: float = 1e-5, unbiased_running_var: bool = True):
    """Z_tilde = gamma * Z_norm + beta, normalising with the batch's statistics (``train``)
    or the running ones (test time). Training updates ``running`` in place (new arrays under
    its keys "mean" and "var"); a training batch needs m >= 2.

    Shapes: Z (n, m), gamma (n, 1), beta (n, 1), running["mean"], running["var"] (n, 1)
    -> Z_tilde (n, m). Returns (Z_tilde, BatchNormCache).
    """
    Z = check_float_array("Z", Z)
    n = Z.shape[0]
    check_float_array("gamma", gamma, shape=(n, 1), dtype=Z.dtype)
    check_float_array("beta", beta, shape=(n, 1), dtype=Z.dtype)
    _check_running(running, n, Z.dtype)
    for name, flag in (("train", train), ("unbiased_running_var", unbiased_running_var)):
        check_flag(name, flag)
    beta_momentum = check_beta("beta_momentum", beta_momentum)
    eps = check_positive("eps", eps)
    return _batchnorm_forward(Z, gamma, beta, running, train=train, beta_momentum=beta_momentum, eps=eps,
                              unbiased_running_var=unbiased_running_var)


def _batchnorm_forward(Z, gamma, beta, running, *, train, beta_momentum, eps, unbiased_running_var):
    m = Z.shape[1]
    if train:
        if m < 2:   # a property of the batch, so the kernel keeps it (models.Network relies on it)
            raise ValueError(f"Z has a batch of m = {m} example in training mode: batch norm needs m >= 2 "
                             "(one example has variance 0, is normalised to 0, and its unbiased variance "
                             "is undefined); use train=False to apply the running statistics")
        mu = Z.mean(axis=1, keepdims=True)
        var = ((Z - mu) ** 2).mean(axis=1, keepdims=True)
        new_var = var * (m / (m - 1)) if unbiased_running_var else var
        running["mean"] = beta_momentum * running["mean"] + (1 - beta_momentum) * mu
        running["var"] = beta_momentum * running["var"] + (1 - beta_momentum) * new_var
    else:
        mu, var = running["mean"], running["var"]
    inv_std = 1 / np.sqrt(var + eps)
    Z_norm = (Z - mu) * inv_std
    return gamma * Z_norm + beta, BatchNormCache(Z_norm, gamma, inv_std, train)


def batchnorm_backward(dout, cache: BatchNormCache):
    """(dZ, dgamma, dbeta): dZ per example, dgamma and dbeta with the 1/m (see the module docstring).

    Shapes: dout (n, m) -> dZ (n, m), dgamma (n, 1), dbeta (n, 1).
    """
    if not isinstance(cache, BatchNormCache):
        raise ValueError(f"cache must be the BatchNormCache returned by batchnorm_forward, got {type(cache).__name__}")
    check_float_array("dout", dout, shape=cache.Z_norm.shape, dtype=cache.Z_norm.dtype)
    return _batchnorm_backward(dout, cache)


def _batchnorm_backward(dout, cache: BatchNormCache):
    Z_norm, gamma, inv_std, train = cache
    m = Z_norm.shape[1]
    dbeta_sum = dout.sum(axis=1, keepdims=True)
    dgamma_sum = (dout * Z_norm).sum(axis=1, keepdims=True)
    if train:
        # mu and sigma2 depend on every column, hence the two correction terms
        dZ = (gamma * inv_std / m) * (m * dout - dbeta_sum - Z_norm * dgamma_sum)
    else:
        dZ = dout * (gamma * inv_std)
    return dZ, dgamma_sum / m, dbeta_sum / m


batchnorm_forward.unchecked = _batchnorm_forward   # the kernels models.Network calls
batchnorm_backward.unchecked = _batchnorm_backward
