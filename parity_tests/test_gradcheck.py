"""Gradient checking: correct backprop passes, every planted bug is found and located.

The reference network is the course's gradient-checking net: [4, 5, 3, 1], ReLU, sigmoid
output, X (4, 3). Bugs are planted inside the NumPy backward pass (the functions
scratch_numpy.models calls), never in its output, so a wrong dA_prev propagates as it would.
"""

import numpy as np
import pytest
import torch

from parity_tests import twins
from reference_torch import bridge
from reference_torch import gradcheck as t_gradcheck
from reference_torch import models as t_models
from scratch_numpy import gradcheck as n_gradcheck
from scratch_numpy import layers as n_layers
from scratch_numpy import losses as n_losses
from scratch_numpy import models as n_models


def reference(layer_dims=(4, 5, 3, 1), hidden="relu", output="sigmoid", seed=0, **options):
    """(network, params, X (4, 3), Y (1, 3)) in float64."""
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, hidden, output, **options)
    params = net.init_params("he", rng)
    return net, params, rng.standard_normal((layer_dims[0], 3)), rng.integers(0, net.num_classes, (1, 3))


def torch_reference(seed=0, **options):
    net, params, X, Y = reference(seed=seed)
    model = t_models.Network((4, 5, 3, 1), "relu", "sigmoid", **options)
    bridge.params_to_module(params, model)
    return model, *bridge.data_to_torch(X, Y)


# ------------------------------------------------------------------------ vectors and verdicts

def test_dictionary_to_vector_round_trip():
    net, params, _, _ = reference()
    theta, keys = n_gradcheck.dictionary_to_vector(params)
    assert theta.shape == (47, 1) and keys[:20] == ["W1"] * 20 and keys[20:25] == ["b1"] * 5 and keys[-1] == "b3"
    back = n_gradcheck.vector_to_dictionary(theta, {k: v.shape for k, v in params.items()})
    assert list(back) == list(params) and all(np.array_equal(back[k], params[k]) for k in params)


def test_relative_difference_and_verdicts():
    g = np.array([3.0, 4.0])
    assert n_gradcheck.relative_difference(g, g) == 0 and n_gradcheck.relative_difference(0 * g, 0 * g) == 0
    assert n_gradcheck.relative_difference(g, 2 * g) == pytest.approx(5 / 15)
    assert [n_gradcheck.verdict(d) for d in (1e-9, 9.9e-8, 1e-7, 1e-5, 9.9e-4, 1e-3, 0.5)] == \
        ["good", "good", "careful", "careful", "careful", "bug", "bug"]


# ------------------------------------------------------------------------ correct backprop

@pytest.mark.parametrize("layer_dims, hidden, output, options", [
    ((4, 5, 3, 1), "relu", "sigmoid", {}),
    ((4, 6, 3), "tanh", "softmax", {}),
    ((4, 6, 5, 3), "leaky_relu", "linear", {}),
    ((4, 5, 3, 1), "relu", "sigmoid", {"l2_lambda": 0.7}),
    ((4, 5, 3, 1), "sigmoid", "sigmoid", {"batch_norm": True}),
], ids=["reference", "tanh-softmax", "leaky-svm", "l2", "batch-norm"])
def test_correct_backprop_is_good(layer_dims, hidden, output, options):
    report = n_gradcheck.gradient_check(*reference(layer_dims, hidden, output, **options))
    assert report.difference < 1e-7 and report.verdict == "good" and report.faulty == (), str(report)
    assert set(report.per_parameter) == {"d" + k for k in reference(layer_dims, hidden, output, **options)[1]}


def test_l2_given_to_the_check_matches_l2_in_the_network():
    net, params, X, Y = reference()
    added = n_gradcheck.gradient_check(net, params, X, Y, l2_lambda=0.7)
    built_in = n_gradcheck.gradient_check(reference(l2_lambda=0.7)[0], params, X, Y)
    assert added.verdict == built_in.verdict == "good"
    for k in added.numerical:
        np.testing.assert_allclose(added.analytic[k], built_in.analytic[k], rtol=1e-12)


def test_a_plain_loss_function_can_be_checked():
    """cs231n-style: any loss(params, X, Y) -> (cost, grads); here J = sum(W x)^2 / (2m)."""
    def loss(params, X, Y):
        Z = params["W"] @ X
        return float((Z ** 2).sum() / (2 * X.shape[1])), {"dW": Z @ X.T / X.shape[1]}
    rng = np.random.default_rng(0)
    report = n_gradcheck.gradient_check(loss, {"W": rng.standard_normal((2, 3))}, rng.standard_normal((3, 4)), None)
    assert report.verdict == "good"


def test_batchnorm_running_statistics_are_put_back():
    net, params, X, Y = reference(batch_norm=True)
    before = {k: v.copy() for k, v in net.init_state().items()}
    n_gradcheck.gradient_check(net, params, X, Y)
    assert all(np.array_equal(net.state[k], before[k]) for k in before)


def test_kink_false_alarm_dead_example_with_zero_biases():
    """A known limit (cs231n): with seed 4 every layer-1 unit is dead on example 3, so with b = 0
    its Z2 column is exactly 0, the ReLU kink; the two-sided difference of b2 straddles it (numerical
    = backprop + half the one-sided jump). Moving the biases off 0 removes the alarm."""
    net, params, X, Y = reference(seed=4)
    report = n_gradcheck.gradient_check(net, params, X, Y)
    assert report.faulty == ("db2",) and report.worst[0].tensor == "db2"
    params["b2"] += 0.01
    assert n_gradcheck.gradient_check(net, params, X, Y).verdict == "good"


# ------------------------------------------------------------------------ planted bugs

def planted_linear_backward(shape, fix):
    """layers.linear_backward with ``fix(dA_prev, dW, db, dZ, cache)`` applied in the layer whose W has ``shape``."""
    def linear_backward(dZ, cache):
        dA_prev, dW, db = n_layers.linear_backward(dZ, cache)
        return fix(dA_prev, dW, db, dZ, cache) if cache.W.shape == shape else (dA_prev, dW, db)
    return linear_backward


def half_l2(params, l2_lambda, m):
    cost, grads = n_losses.l2_penalty(params, l2_lambda, m)
    return cost, {k: g / 2 for k, g in grads.items()}   # lambda/(2m) W instead of lambda/m W


# where each kind of bug is planted: the names scratch_numpy.models looks up
PLANT = {
    "linear_backward": lambda mp, f: mp.setattr(n_models, "linear_backward", f),
    "relu": lambda mp, f: mp.setitem(n_models.activations.BACKWARD, "relu", f),
    "l2": lambda mp, f: mp.setitem(n_models.PENALTIES, "l2_lambda", f),
}
BUGS = {
    # name: (layer_dims, options, (where, replacement), expected faulty tensors)
    "dW2 x 2 (course)": ((4, 5, 3, 1), {}, ("linear_backward", planted_linear_backward(
        (3, 5), lambda dA, dW, db, dZ, c: (dA, 2 * dW, db))), ("dW2",)),
    "db1 with 4/m (course)": ((4, 5, 3, 1), {}, ("linear_backward", planted_linear_backward(
        (5, 4), lambda dA, dW, db, dZ, c: (dA, dW, 4 * db))), ("db1",)),
    "db3 without 1/m": ((4, 5, 3, 1), {}, ("linear_backward", planted_linear_backward(
        (1, 3), lambda dA, dW, db, dZ, c: (dA, dW, dZ.sum(axis=1, keepdims=True)))), ("db3",)),
    "dA1 = W2 dZ2 (transpose missing)": ((4, 5, 5, 1), {}, ("linear_backward", planted_linear_backward(
        (5, 5), lambda dA, dW, db, dZ, c: (c.W @ dZ, dW, db))), ("dW1", "db1")),
    "ReLU backward without its mask": ((4, 5, 3, 1), {}, ("relu", lambda dA, cache: dA),
                                       ("dW1", "db1", "dW2", "db2")),
    "L2 gradient lambda/(2m) W": ((4, 5, 3, 1), {"l2_lambda": 0.7}, ("l2", half_l2), ("dW1", "dW2", "dW3")),
}


@pytest.mark.parametrize("bug", BUGS)
def test_planted_bug_is_found_and_located(bug, monkeypatch):
    layer_dims, options, (where, replacement), expected = BUGS[bug]
    PLANT[where](monkeypatch, replacement)
    net, params, X, Y = reference(layer_dims, **options)
    report = n_gradcheck.gradient_check(net, params, X, Y)
    assert report.difference > 1e-3 and report.verdict == "bug", str(report)
    assert report.faulty == expected, str(report)
    worst = report.worst[0]
    assert worst.tensor in expected and f"{worst.tensor}{list(worst.index)}" in str(report)
    directional = n_gradcheck.directional_check(net, params, X, Y)
    assert directional.faulty == expected, str(directional)


# ------------------------------------------------------------------------ directional check, refusals

def test_directional_check_on_a_large_network():
    """62 000 parameters: 2 x 7 cost evaluations instead of 2 x 62 000."""
    rng = np.random.default_rng(0)
    net = n_models.Network((100, 200, 200, 10), "relu", "softmax")
    params = net.init_params("he", rng)
    report = n_gradcheck.directional_check(net, params, rng.standard_normal((100, 64)), rng.integers(0, 10, (1, 64)))
    assert report.overall.verdict == "good" and report.faulty == () and len(report.per_parameter) == 6


@pytest.mark.parametrize("check", [n_gradcheck.gradient_check, n_gradcheck.directional_check])
def test_refuses_dropout(check):
    with pytest.raises(ValueError, match="dropout"):
        check(*reference(keep_probs=0.8))


@pytest.mark.parametrize("make, match", [
    (lambda p: {k: v.astype(np.float32) for k, v in p.items()}, "float64"),
    (lambda p: {}, "non-empty"),
    (lambda p: {**p, "W1": np.full((5, 4), np.nan)}, "finite"),
])
def test_refuses_bad_params(make, match):
    net, params, X, Y = reference()
    with pytest.raises(ValueError, match=match):
        n_gradcheck.gradient_check(net, make(params), X, Y)


def test_refuses_l2_twice_and_bad_arguments():
    net, params, X, Y = reference(l2_lambda=0.7)
    with pytest.raises(ValueError, match="already adds L2"):
        n_gradcheck.gradient_check(net, params, X, Y, l2_lambda=0.7)
    with pytest.raises(ValueError, match="epsilon"):
        n_gradcheck.gradient_check(net, params, X, Y, epsilon=0)
    with pytest.raises(ValueError, match="network_or_loss_fn"):
        n_gradcheck.gradient_check("net", params, X, Y)
    with pytest.raises(ValueError, match="direction"):
        n_gradcheck.directional_check(net, params, X, Y, direction={"W1": params["W1"]})


def test_misshapen_gradient_is_named():
    def loss(params, X, Y):
        return 0.0, {"dW": params["W"].T}
    with pytest.raises(ValueError, match=r"dW has shape \(3, 2\) but W has shape \(2, 3\)"):
        n_gradcheck.gradient_check(loss, {"W": np.ones((2, 3))}, np.ones((3, 1)), None)


# ------------------------------------------------------------------------ torch side

def test_torch_checks_pass_on_the_reference_model():
    model, X, y = torch_reference()
    assert t_gradcheck.gradient_check(model, X, y).difference < 1e-7
    for fast_mode in (False, True):
        assert t_gradcheck.autograd_gradcheck(model, X, y, fast_mode=fast_mode).passed


class _DoubledWeightGradient(torch.autograd.Function):
    """A linear layer Z = A W^T + b whose backward returns 2 dW: a planted bug in a custom Function."""

    @staticmethod
    def forward(ctx, A, W, b):
        ctx.save_for_backward(A, W)
        return A @ W.T + b

    @staticmethod
    def backward(ctx, dZ):
        A, W = ctx.saved_tensors
        return dZ @ W, 2 * dZ.T @ A, dZ.sum(0)


@pytest.mark.parametrize("fast_mode", [False, True], ids=["full", "fast"])
def test_torch_gradcheck_names_a_planted_bug(fast_mode, monkeypatch):
    model, X, y = torch_reference()
    layer = model.linears[1]
    monkeypatch.setattr(layer, "forward", lambda A: _DoubledWeightGradient.apply(A, layer.weight, layer.bias))
    result = t_gradcheck.autograd_gradcheck(model, X, y, fast_mode=fast_mode)
    assert not result.passed and result.faulty == "W2", result.message
    assert t_gradcheck.gradient_check(model, X, y).faulty == ("dW2",)


def test_torch_refuses_dropout_and_float32():
    with pytest.raises(ValueError, match="dropout"):
        t_gradcheck.gradient_check(*torch_reference(keep_probs=0.8))
    model = t_models.Network((4, 5, 3, 1), dtype=torch.float32)
    with pytest.raises(ValueError, match="float64"):
        t_gradcheck.autograd_gradcheck(model, torch.ones(3, 4), torch.zeros(3, dtype=torch.int64))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parity_two_sided_and_directional(dtype, device):
    report = twins.gradcheck.gradcheck(dtype=dtype, device=device)
    report.assert_passed()
