"""Gradient checking of the course's reference network on both sides.

Gradient checking runs in float64 only (its step is lost to rounding in float32): in float32 its
row compares the float32 gradients, and the two-sided gradients of the same parameters in float64.
"""

from __future__ import annotations

import numpy as np

from reference_torch import bridge
from reference_torch import gradcheck as t_gradcheck
from reference_torch import models as t_models
from scratch_numpy import gradcheck as n_gradcheck
from scratch_numpy import models as n_models

from ..checker.harness import FINITE_DIFFERENCE_TOLERANCE, compare
from .common import case
from .models import DB_SUMMED
from .mutant import Mutant, returning

REFERENCE_NET = ((4, 5, 3, 1), "relu", "sigmoid")  # the course's gradient-checking network


def _reference_pair(dtype, device, seed=0, m=3, layer_dims=REFERENCE_NET[0]):
    """The reference network on both sides from the same parameters, with X (4, m) and Y (1, m)."""
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, *REFERENCE_NET[1:])
    params = net.init_params("he", rng, dtype)
    X = rng.standard_normal((layer_dims[0], m)).astype(dtype)
    Y = rng.integers(0, 2, (1, m))
    model = t_models.Network(layer_dims, *REFERENCE_NET[1:], dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return net, params, X, Y, model, *bridge.data_to_torch(X, Y, device)


def gradcheck(*, dtype="float64", device="cpu", seed=0):
    """The reference network's gradient checks on both sides:

    * backprop vs autograd, "dW1" ... (in ``dtype``);
    * the two-sided gradients, "dW1 (two-sided)" (the 1e-7 step turns the costs' last-bit
      differences into ~1e-9: finite-difference tolerance);
    * slopes along one random unit direction drawn with NumPy, "d slope, analytic/numerical",
      overall and along each tensor ("dW1 slope, ...").

    The last two always run in float64 (in float32 the step is lost to rounding)."""
    net, params, X, Y, model, Xt, yt = _reference_pair(dtype, device, seed)
    model.cost(Xt, yt).backward()
    report = compare(net.loss(params, X, Y)[1], bridge.grads_from_module(model),
                     label="gradient checks of the reference net [4,5,3,1]")
    net, params, X, Y, model, Xt, yt = _reference_pair("float64", device, seed)
    numerical = n_gradcheck.gradient_check(net, params, X, Y).numerical
    numerical_t = t_gradcheck.gradient_check(model, Xt, yt).numerical
    direction = n_gradcheck.random_direction({k: v.shape for k, v in params.items()}, seed)
    slopes = _slope_rows(n_gradcheck.directional_check(net, params, X, Y, direction=direction))
    slopes_t = _slope_rows(t_gradcheck.directional_check(model, Xt, yt, direction))
    report.extend(compare({**{f"{k} (two-sided)": v for k, v in numerical.items()}, **slopes},
                          {**{f"{k} (two-sided)": v for k, v in numerical_t.items()}, **slopes_t},
                          tolerance=FINITE_DIFFERENCE_TOLERANCE))
    return report


def _slope_rows(report) -> dict:
    along = {"d": report.overall, **{f"{k}": s for k, s in report.per_parameter.items()}}
    return {f"{name} slope, {kind}": np.asarray(getattr(s, kind)) for name, s in along.items()
            for kind in ("analytic", "numerical")}


CASES = [("gradient checking: two-sided and directional", case(gradcheck))]

MUTANTS = {
    "gradient checking: two-sided and directional": [
        DB_SUMMED,
        Mutant("numpy", "scratch_numpy.gradcheck.two_sided_difference", "divided by eps, not 2 eps",
               lambda original: lambda f, x, epsilon: 2 * original(f, x, epsilon)),
        Mutant("torch", "reference_torch.gradcheck._two_sided", "divided by eps, not 2 eps",
               returning(lambda approx: {k: 2 * v for k, v in approx.items()}))],
}
