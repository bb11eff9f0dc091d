"""Exponentially weighted averages v_1..v_T of a random sequence, with and without bias correction."""

from __future__ import annotations

import numpy as np

from reference_torch import bridge
from reference_torch import ewa as t_ewa
from scratch_numpy import ewa as n_ewa

from ..checker.harness import compare
from .common import case
from .mutant import Mutant, calling


def ewa_pair(*, dtype="float64", device="cpu", beta=0.9, bias_correction=False, T=50, shape=(3,), seed=0):
    """v_1..v_T (optionally bias-corrected) of a random sequence: NumPy vs torch's EMA update."""
    thetas = np.random.default_rng(seed).standard_normal((T, *shape)).astype(dtype)
    averages = n_ewa.ewa(thetas, beta, bias_correction=bias_correction)
    averages_t = t_ewa.ewa(bridge.to_tensor(thetas, device), beta, bias_correction=bias_correction)
    return {"averages": averages}, {"averages": averages_t}


def ewa(dtype="float64", device="cpu", *, bias_correction=False, **kw):
    """Parity of ``ewa_pair`` with the dtype's default tolerance."""
    what = "bias-corrected" if bias_correction else "no bias correction"
    return compare(*ewa_pair(dtype=dtype, device=device, bias_correction=bias_correction, **kw),
                   label=f"EWA beta=0.9, {what}")


CASES = [
    ("EWA v = beta v + (1 - beta) theta", case(ewa)),
    ("EWA with bias correction v / (1 - beta^t)", case(ewa, bias_correction=True)),
]


def _starts_at_first_value(original):
    def update(self, theta):   # v_0 = theta_1 instead of 0
        if self.v is None:
            self.v = np.array(theta, copy=True)
        return original(self, theta)
    return update


def _corrected_by(denominator):
    """A ``value`` property whose bias correction divides by ``denominator(beta, t)``."""
    return lambda original: property(
        lambda self: self.v / denominator(self.beta, self.t) if self.bias_correction else self.v)


NUMPY_V0 = Mutant("numpy", "scratch_numpy.ewa.EWA.update", "v_0 = theta_1 instead of 0", _starts_at_first_value)
TORCH_DECAY = Mutant("torch", "reference_torch.ewa.get_ema_avg_fn", "torch's EMA decay given 1 - beta",
                     calling(lambda args, kwargs: ((1 - args[0],), kwargs)))

MUTANTS = {
    "EWA v = beta v + (1 - beta) theta": [NUMPY_V0, TORCH_DECAY],
    "EWA with bias correction v / (1 - beta^t)": [
        Mutant("numpy", "scratch_numpy.ewa.EWA.value", "corrected by 1 - beta^(t + 1) (off by one)",
               _corrected_by(lambda beta, t: 1 - beta ** (t + 1))),
        Mutant("torch", "reference_torch.ewa.EWA.value", "corrected by (1 - beta)^t (misplaced parenthesis)",
               _corrected_by(lambda beta, t: (1 - beta) ** t)),
        TORCH_DECAY],
}
