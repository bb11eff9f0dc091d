"""Signal norms: per-layer ||A_l||, ||dA_l|| and ||dW_l|| of a deep net on both sides."""

from __future__ import annotations

import numpy as np

from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import signals as t_signals
from scratch_numpy import models as n_models
from scratch_numpy import signals as n_signals

from ..checker.harness import compare
from .common import case
from .mutant import Mutant

SIGNAL_SETUPS = {
    # name: (hidden activation, weights: c for W = c I, or an init method)
    "W = 1.5 I, linear": ("linear", 1.5),
    "W = 0.5 I, relu": ("relu", 0.5),
    "He init, relu": ("relu", "he"),
    "Xavier init, tanh": ("tanh", "xavier"),
}


def signals_pair(setup="W = 1.5 I, linear", *, dtype="float64", device="cpu", width=16, depth=20, m=8, seed=0):
    """Per-layer norms (scratch_numpy.signals.Signals) of a ``depth``-layer net of ``width`` units
    and a sigmoid output, on both sides: (numpy Signals, torch Signals)."""
    hidden, weights = SIGNAL_SETUPS[setup]
    dims = (width,) * depth + (1,)
    rng = np.random.default_rng(seed)
    net = n_models.Network(dims, hidden, "sigmoid")
    params = net.init_params(weights, rng, dtype) if isinstance(weights, str) \
        else n_signals.identity_params(dims, weights, dtype)
    X = np.abs(rng.standard_normal((width, m))).astype(dtype)  # positive, so ReLU passes c I's signal on whole
    Y = rng.integers(0, 2, (1, m))
    model = t_models.Network(dims, hidden, "sigmoid", dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return n_signals.signal_norms(net, params, X, Y), t_signals.signal_norms(model, *bridge.data_to_torch(X, Y, device))


def signals(setup="W = 1.5 I, linear", *, dtype="float64", device="cpu", **kw):
    """Parity of the three per-layer norm vectors of ``signals_pair``."""
    numpy_signals, torch_signals = signals_pair(setup, dtype=dtype, device=device, **kw)

    def rows(s):
        return {"||A_l|| per layer": s.activations, "dA_l norms per layer": s.gradients,
                "dW_l norms per layer": s.weight_gradients}
    return compare(rows(numpy_signals), rows(torch_signals), label=f"signal norms, {setup}")


CASES = [(f"signal norms: {setup}, 20 layers", case(signals, setup)) for setup in SIGNAL_SETUPS]


def _dW_summed(original):
    def linear_backward(dZ, cache):   # dW = dZ A_prev^T, the 1/m forgotten
        dA, dW, db = original(dZ, cache)
        return dA, dW * dZ.shape[1], db
    return linear_backward


MUTANTS = {
    "signal norms*": [
        Mutant("numpy", "scratch_numpy.signals.linear_backward", "dW summed, not averaged over m", _dW_summed),
        Mutant("torch", "reference_torch.signals.frobenius_norm", "the max-abs norm, not Frobenius",
               lambda original: lambda x: float(x.detach().abs().max()))],
}
