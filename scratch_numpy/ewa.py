"""Exponentially weighted averages (course 2, week 2), the building block of
momentum, RMSprop, Adam and batch norm's running statistics.

    v_0 = 0
    v_t = beta v_{t-1} + (1 - beta) theta_t                    t = 1, 2, ...
    v_t^corrected = v_t / (1 - beta^t)                         (bias correction)

Unrolled, v_t is the direct weighted sum

    v_t = (1 - beta) sum_{k=1}^{t} beta^(t-k) theta_k,

whose weights add up to 1 - beta^t, not 1: the early averages are pulled
towards v_0 = 0, and dividing by 1 - beta^t removes exactly that bias. The
weight of a value decays by beta per step, and beta^(1/(1-beta)) ~ 1/e, so v_t
averages roughly the last 1/(1 - beta) values (beta = 0.9: ten; 0.98: fifty).
"""

from __future__ import annotations

import numpy as np

from .contract import check_beta
from .validation import check_count, check_flag, check_float_array, check_plain_array


def effective_window(beta: float) -> float:
    """1 / (1 - beta), the number of recent values v_t roughly averages."""
    return 1.0 / (1.0 - check_beta("beta", beta))


class EWA:
    """Running average of arrays theta_1, theta_2, ... of one shape and dtype.

    ``update(theta)`` applies v = beta v + (1 - beta) theta and returns the
    average (bias-corrected v / (1 - beta^t) when ``bias_correction``).
    ``v`` (uncorrected) and ``t`` (values seen) stay inspectable.
    """

    def __init__(self, beta: float = 0.9, *, bias_correction: bool = False):
        self.beta = check_beta("beta", beta)
        self.bias_correction = check_flag("bias_correction", bias_correction)
        self.v = None
        self.t = 0

    def update(self, theta: np.ndarray) -> np.ndarray:
        theta = check_float_array("theta", theta, ndim=theta.ndim if isinstance(theta, np.ndarray) else 1,
                                  shape=None if self.v is None else self.v.shape,
                                  dtype=None if self.v is None else self.v.dtype)
        if self.v is None:
            self.v = np.zeros_like(theta)
        self.t += 1
        self.v = self.beta * self.v + (1 - self.beta) * theta
        return self.value

    @property
    def value(self) -> np.ndarray:
        if self.v is None:
            raise ValueError("the average has no value before the first update")
        if self.bias_correction:
            return self.v / (1 - self.beta ** self.t)
        return self.v


def ewa(thetas: np.ndarray, beta: float = 0.9, *, bias_correction: bool = False) -> np.ndarray:
    """Every average v_1, ..., v_T of the values along axis 0 of ``thetas``.

    Shapes: thetas (T, ...) -> averages (T, ...), same dtype.
    """
    check_plain_array("thetas", thetas)
    if not isinstance(thetas, np.ndarray) or thetas.ndim < 1:
        raise ValueError(f"thetas must be a numpy array with the time steps along axis 0, got {thetas!r}"[:160])
    check_float_array("thetas", thetas, ndim=thetas.ndim)
    average = EWA(beta, bias_correction=bias_correction)
    return np.stack([average.update(theta[None])[0] for theta in thetas])


def direct_weights(t: int, beta: float, *, bias_correction: bool = False) -> np.ndarray:
    """The weights (1 - beta) beta^(t-k) of theta_1, ..., theta_t in v_t (float64, shape (t,)),
    divided by 1 - beta^t when ``bias_correction`` (they then sum to 1)."""
    beta = check_beta("beta", beta)
    t = check_count("t", t)
    weights = (1 - beta) * beta ** np.arange(t - 1, -1, -1, dtype=np.float64)
    return weights / (1 - beta ** t) if bias_correction else weights
