"""Losses and penalties: cost and input gradient, NumPy vs torch.nn.functional.

NumPy's input gradient is the per-example one (m * dJ/dinput, the course's
convention); the twins multiply torch's by m before comparing (CONVENTIONS.md).
"""

import numpy as np
import pytest
import torch

from parity_tests import twins
from scratch_numpy import losses
from reference_torch import losses as t_losses

SIZES = [(2, 1), (3, 7), (10, 50)]  # (classes, m)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("num_classes,m", SIZES, ids=str)
@pytest.mark.parametrize("name", list(twins.losses.LOSS_INPUTS))
def test_loss_matches_torch(name, num_classes, m, dtype, device):
    for seed in range(3):
        twins.losses.loss(name, dtype=dtype, num_classes=num_classes, m=m, seed=seed, device=device).assert_passed()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["l2", "l1"])
def test_penalty_matches_torch(name, dtype, device):
    for seed, dims in enumerate([(2, 1), (4, 5, 3), (7, 6, 5, 4, 2)]):
        twins.losses.penalty(name, dtype=dtype, layer_dims=dims, seed=seed, device=device).assert_passed()


def test_penalties_touch_weights_only_with_the_course_scale():
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[5.0]]), "W2": np.array([[3.0]]), "b2": np.array([[7.0]])}
    cost, grads = losses.l2_penalty(params, l2_lambda=0.7, m=10)
    assert cost == pytest.approx(0.7 / 20 * (1 + 4 + 9), rel=1e-15)
    assert set(grads) == {"dW1", "dW2"}
    np.testing.assert_allclose(grads["dW1"], 0.07 * params["W1"], rtol=1e-15)
    cost, grads = losses.l1_penalty(params, l1_lambda=0.7, m=10)
    assert cost == pytest.approx(0.7 / 20 * 6, rel=1e-15)
    np.testing.assert_allclose(grads["dW1"], [[0.035, -0.035]], rtol=1e-15)


def test_l1_subgradient_at_zero_is_zero_on_both_sides():
    W = np.array([[0.0, 1.5, -2.0]])
    _, grads = losses.l1_penalty({"W1": W}, l1_lambda=1.0, m=1)
    Wt = torch.tensor(W, requires_grad=True)
    t_losses.l1_penalty([Wt], 1.0, 1).backward()
    np.testing.assert_array_equal(grads["dW1"], Wt.grad.numpy())
    assert grads["dW1"][0, 0] == 0.0


def test_course_l_layer_cost():
    """course-values.md: AL = [[.8, .9, .4]], Y = [[1, 1, 0]] -> 0.2797765635793422."""
    cost, _ = losses.binary_cross_entropy(np.array([[0.8, 0.9, 0.4]]), np.array([[1, 1, 0]]))
    assert cost == pytest.approx(0.2797765635793422, rel=1e-15)


def test_logit_losses_stay_finite_at_1e4():
    Z = np.array([[1e4, -1e4, 1e4, -1e4]])
    Y = np.array([[1, 0, 0, 1]])
    cost, dZ = losses.binary_cross_entropy_with_logits(Z, Y)
    assert cost == pytest.approx(1e4 / 2, rel=1e-15)  # two examples wrong by 1e4 each, mean over 4
    np.testing.assert_array_equal(dZ, [[0.0, 0.0, 1.0, -1.0]])
    scores = np.array([[1e4, 0.0], [0.0, 1e4], [-1e4, -1e4]])
    cost, dscores = losses.softmax_cross_entropy(scores, np.array([[1, 1]]))
    assert cost == pytest.approx(1e4 / 2, rel=1e-15) and np.isfinite(dscores).all()


def test_bce_saturation_costs_zero_or_inf_never_nan():
    AL, Y = np.array([[0.0, 1.0, 0.0]]), np.array([[0, 1, 1]])
    cost, dAL = losses.binary_cross_entropy(AL, Y)
    assert cost == np.inf and not np.isnan(dAL).any()
    cost, _ = losses.binary_cross_entropy(AL[:, :2], Y[:, :2])
    assert cost == 0.0


def test_svm_hinge_closed_form_and_the_10_vs_9_example():
    """cs231n: scores [10, 9] for the correct class 0 give margin max(0, 9 - 10 + 1) = 0;
    scores [9, 10] give 2 (9 -> margin 10 - 9 + 1)."""
    cost, dscores = losses.svm_hinge(np.array([[10.0], [9.0]]), np.array([[0]]))
    assert cost == 0.0 and not dscores.any()
    cost, dscores = losses.svm_hinge(np.array([[9.0], [10.0]]), np.array([[0]]))
    assert cost == 2.0
    np.testing.assert_array_equal(dscores, [[-1.0], [1.0]])
