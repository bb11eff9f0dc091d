"""Activations: A = g(Z) and dZ = dA * g'(Z), NumPy vs torch.nn, float64 and float32.

Inputs are kept 1e-3 away from the ReLU kink except in the kink tests, which
put exact zeros in Z on purpose (zero initialisation produces them).
"""

import numpy as np
import pytest

from parity_tests import twins
from parity_tests.checker.harness import check_backward
from scratch_numpy import activations

SHAPES = [(1, 1), (3, 7), (10, 64)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", activations.NAMES)
def test_activation_matches_torch(name, shape, dtype, device):
    for seed in range(3):
        twins.activations.activation(name, dtype=dtype, shape=shape, seed=seed, device=device).assert_passed()


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kink_at_exactly_zero_matches_torch(name, dtype, device):
    report = twins.activations.activation(name, dtype=dtype, shape=(6, 9), at_kink=True, device=device)
    report.assert_passed()


def test_relu_gradient_is_zero_at_zero_and_leaky_slope_applies():
    Z = np.array([[-1.0, 0.0, 2.0]])
    dA = np.array([[3.0, 5.0, 7.0]])
    assert activations.relu_backward(dA, activations.relu_forward(Z)[1]).tolist() == [[0.0, 0.0, 7.0]]
    _, cache = activations.leaky_relu_forward(Z, slope=0.1)
    assert activations.leaky_relu_backward(dA, cache).tolist() == [[0.30000000000000004, 0.5, 7.0]]


def test_sigmoid_derivative_is_s_times_one_minus_s():
    """The course's identity sigmoid' = s(1 - s), against a central difference."""
    z = np.linspace(-6, 6, 25)[None, :]
    numeric = (activations.sigmoid(z + 1e-6) - activations.sigmoid(z - 1e-6)) / 2e-6
    s = activations.sigmoid(z)
    np.testing.assert_allclose(activations.sigmoid_derivative(s), numeric, rtol=1e-6, atol=1e-12)


def test_sigmoid_and_softmax_are_finite_at_extremes():
    z = np.array([[-1e4, -745.0, 0.0, 745.0, 1e4]])
    s = activations.sigmoid(z)
    assert np.isfinite(s).all() and s[0, 0] == 0.0 and s[0, -1] == 1.0 and s[0, 2] == 0.5
    p = activations.softmax(np.array([[1e4], [0.0], [-1e4]]))
    np.testing.assert_array_equal(p, [[1.0], [0.0], [0.0]])


def test_softmax_columns_sum_to_one_and_hardmax_takes_first_max():
    Z = np.array([[1.0, 3.0], [2.0, 3.0], [0.5, -1.0]])
    np.testing.assert_allclose(activations.softmax(Z).sum(axis=0), [1.0, 1.0], rtol=1e-15)
    A, _ = activations.hardmax_forward(Z)
    np.testing.assert_array_equal(A, [[0, 1], [1, 0], [0, 0]])


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softmax"])
def test_backward_agrees_with_finite_differences(name):
    """A third opinion besides autograd: two-sided differences in float64."""
    report = check_backward(activations.FORWARD[name], lambda dA, cache: {"dZ": activations.BACKWARD[name](dA, cache)},
                            inputs={"Z": (4, 5)}, finite_differences=True, label=name)
    report.assert_passed()


def test_planted_relu_mask_bug_is_found_at_the_kink():
    """dZ[Z < 0] = 0 instead of <= passes the gradient at exactly 0: the harness names dZ and the element."""
    import torch

    def buggy_backward(dA, cache):
        dZ = dA.copy()
        dZ[cache.Z < 0] = 0
        return {"dZ": dZ}

    Z = np.array([[0.5, 0.0, -0.3], [-1.2, 0.7, 0.0]])
    report = check_backward(activations.relu_forward, buggy_backward, lambda Z: torch.relu(Z),
                            inputs={"Z": Z.shape}, values={"Z": Z}, label="buggy relu")
    assert [d.name for d in report.failures] == ["dZ"]
    assert report.failures[0].worst_index in {(0, 1), (1, 2)}
    assert report.failures[0].expected_value == 0.0
