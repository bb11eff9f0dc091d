"""Vanishing and exploding signals: with W = c I the activations grow as c^l and the gradients
as c^(L-l); He (ReLU) and Xavier (linear) scaling keep both flat; NumPy and torch (hooks) agree."""

import numpy as np
import pytest
import torch

from parity_tests import twins
from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import signals as t_signals
from scratch_numpy import models as n_models
from scratch_numpy import signals as n_signals


def deep(hidden, weights, depth=50, width=64, m=32, seed=0):
    """Signals of a depth-layer net: weights is c (W = c I) or an init method."""
    rng = np.random.default_rng(seed)
    dims = (width,) * depth + (1,)
    net = n_models.Network(dims, hidden, "sigmoid")
    params = n_signals.identity_params(dims, weights) if isinstance(weights, float) else net.init_params(weights, rng)
    X = np.abs(rng.standard_normal((width, m)))   # positive: ReLU passes c I's signal on whole
    return n_signals.signal_norms(net, params, X, rng.integers(0, 2, (1, m)))


@pytest.mark.parametrize("c", [1.5, 0.5])
@pytest.mark.parametrize("hidden", ["linear", "relu"])
def test_identity_weights_grow_or_shrink_as_c_to_the_depth(c, hidden):
    s = deep(hidden, c, depth=30)
    l = np.arange(30)
    np.testing.assert_allclose(s.activations, s.activations[0] * c ** l, rtol=1e-12)       # A_l = c^l X
    np.testing.assert_allclose(s.gradients, s.gradients[-1] * c ** (29 - l), rtol=1e-12)   # dA_l = c^(L-1-l) dA_(L-1)
    np.testing.assert_allclose(s.weight_gradients, s.weight_gradients[0], rtol=1e-12)      # c^(L-1) in every layer
    assert (s.activations[-1] / s.activations[0]) == pytest.approx(c ** 29, rel=1e-12)


@pytest.mark.parametrize("hidden, init", [("relu", "he"), ("linear", "xavier")])
def test_matched_scaling_keeps_signals_flat(hidden, init):
    """Flat up to the random walk of a finite width (log-norm variance ~ depth / width), against
    1.5^49 = 4e8 and 0.5^49 = 2e-15 for W = c I."""
    s = deep(hidden, init, width=256)
    for norms in (s.activations / s.activations[0], s.gradients / s.gradients[-1]):
        assert 1 / 3 < norms.min() and norms.max() < 3, norms


def test_mismatched_scaling_vanishes():
    """Xavier's sqrt(1/n) on ReLU halves the variance per layer (||A|| x 2^-1/2); the course's 0.01 kills it."""
    assert deep("relu", "xavier").activations[-1] / deep("relu", "xavier").activations[0] < 1e-6
    assert deep("relu", "small").activations[-1] < 1e-40
    tanh = deep("tanh", "xavier")
    assert 0.02 < tanh.activations[-1] / tanh.activations[0] < 0.5   # tanh: a slow, not exponential, decay


@pytest.mark.parametrize("setup", twins.signals.SIGNAL_SETUPS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parity_of_the_norms(setup, dtype, device):
    twins.signals.signals(setup, dtype=dtype, device=device).assert_passed()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("scale", ["ordinary", "huge", "tiny"])
def test_the_scaled_norm_is_finite_where_the_norm_is(scale, dtype):
    """s ||x / s|| with s = max|x|, both sides: entries near the largest float (whose squares overflow)
    and near the smallest normal one (whose squares underflow to 0) have their finite, non-zero norm."""
    info = np.finfo(dtype)
    factor = {"ordinary": 1.0, "huge": float(info.max) / 1e3, "tiny": float(info.tiny) * 1e3}[scale]
    z = np.random.default_rng(0).standard_normal((5, 4))
    x = (z * factor).astype(dtype)
    expected = float(np.linalg.norm(x.astype(np.float64) / factor)) * factor
    for norm in (n_signals.frobenius_norm(x), t_signals.frobenius_norm(torch.from_numpy(x))):
        assert np.isfinite(norm) and norm == pytest.approx(expected, rel=10 * float(info.eps))
    assert n_signals.frobenius_norm(np.zeros((2, 3), dtype)) == t_signals.frobenius_norm(torch.zeros(2, 3)) == 0


def test_torch_hooks_are_removed_and_grads_untouched():
    dims = (4, 4, 4, 1)
    model = t_models.Network(dims, "relu", "sigmoid")
    bridge.params_to_module(n_signals.identity_params(dims, 1.5), model)
    X, y = bridge.data_to_torch(np.ones((4, 3)), np.zeros((1, 3), dtype=np.int64))
    t_signals.signal_norms(model, X, y)
    assert all(not layer._forward_pre_hooks for layer in model.linears)
    assert all(p.grad is None for p in model.parameters()) and model.training


def test_bad_inputs():
    with pytest.raises(ValueError, match="c must be a finite number"):
        n_signals.identity_params((3, 3), float("inf"))
    with pytest.raises(ValueError, match="layer_dims"):
        n_signals.identity_params((3,), 1.5)
    net = n_models.Network((3, 3, 1), batch_norm=True)
    with pytest.raises(ValueError, match="batch_norm=False"):
        n_signals.signal_norms(net, net.init_params(), np.ones((3, 2)), np.zeros((1, 2), dtype=int))
    with pytest.raises(ValueError, match="batch_norm=False"):
        t_signals.signal_norms(t_models.Network((3, 3, 1), batch_norm=True), torch.ones(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="X must have shape"):
        n_signals.signal_norms(n_models.Network((3, 3, 1)), n_signals.identity_params((3, 3, 1), 1.0),
                               np.ones((2, 2)), np.zeros((1, 2), dtype=int))
