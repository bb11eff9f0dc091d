"""The linear layer: Z = W A_prev + b, dA_prev, dW, db with the course's 1/m, and one
gradient-descent step, NumPy vs torch.nn.Linear; plus planted bugs the harness must find."""

import numpy as np
import pytest
import torch

from parity_tests import twins
from parity_tests.checker.harness import check_backward
from scratch_numpy import layers

SHAPES = [(1, 1, 1), (4, 3, 6), (20, 7, 33), (64, 10, 128)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_prev,n,m", SHAPES, ids=lambda v: str(v))
def test_linear_matches_torch(n_prev, n, m, dtype, device):
    for seed in range(3):
        twins.layers.linear(dtype=dtype, n_prev=n_prev, n=n, m=m, seed=seed, device=device).assert_passed()


def _oracle(A_prev, W, b):
    return W @ A_prev + b


CORRECT = dict(inputs={"A_prev": (5, 8)}, params={"W": (5, 5), "b": (5, 1)}, grad_convention="course")


def _backward_with(bug):
    def backward(dZ, cache):
        A_prev, W = cache
        m = A_prev.shape[1]
        dW = dZ @ A_prev.T / m
        db = dZ.sum(axis=1, keepdims=True) / m
        if bug == "transpose":
            dW = A_prev @ dZ.T / m
        elif bug == "missing 1/m":
            dW = dZ @ A_prev.T
        return {"dA_prev": W.T @ dZ, "dW": dW, "db": db}
    return backward


def test_correct_layer_passes_the_harness_with_finite_differences_too():
    report = check_backward(layers.linear_forward, layers.linear_backward, _oracle,
                            finite_differences=True, **CORRECT)
    report.assert_passed()


@pytest.mark.parametrize("bug", ["transpose", "missing 1/m"])
def test_planted_bug_is_found_and_named(bug):
    report = check_backward(layers.linear_forward, _backward_with(bug), _oracle, **CORRECT)
    assert [d.name for d in report.failures] == ["dW"], str(report)
    worst = report.failures[0]
    assert worst.worst_index is not None and worst.actual_value != worst.expected_value
    assert "dW" in str(report) and str(worst.worst_index) in str(report)


def test_vjp_convention_sees_the_course_layer_as_off_by_m():
    """The same correct course layer, checked as a plain VJP, fails on dW and db only:
    the harness's two conventions are really different checks."""
    report = check_backward(layers.linear_forward, layers.linear_backward, _oracle,
                            inputs={"A_prev": (5, 8)}, params={"W": (5, 5), "b": (5, 1)}, grad_convention="vjp")
    assert sorted(d.name for d in report.failures) == ["dW", "db"]


def test_gradient_scale_course_convention():
    """dW, db equal autograd of the mean cost; dA_prev equals m times it."""
    rng = np.random.default_rng(3)
    A, W, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    dZ = rng.standard_normal((2, 4))
    Z, cache = layers.linear_forward(A, W, b)
    dA, dW, db = layers.linear_backward(dZ, cache)
    At, Wt = torch.tensor(A, requires_grad=True), torch.tensor(W, requires_grad=True)
    ((Wt @ At + torch.tensor(b)) * torch.tensor(dZ)).sum().div(4).backward()
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(dA, 4 * At.grad.numpy(), rtol=1e-14)
