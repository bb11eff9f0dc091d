"""Logistic regression: propagate (cost, dw, db) and 100 full-batch GD steps,
NumPy (the course's w, b) vs nn.Linear(n_x, 1) + BCEWithLogits + torch.optim.SGD."""

import numpy as np
import pytest

from parity_tests import twins
from scratch_numpy import logistic


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_x,m", [(1, 1), (5, 40), (30, 200)], ids=str)
def test_logistic_regression_matches_torch(n_x, m, dtype, device):
    for seed in range(2):
        twins.logistic.logistic_trajectory(dtype=dtype, n_x=n_x, m=m, seed=seed, device=device).assert_passed()


def test_cost_matches_the_course_log_form():
    """The stable logits form equals -mean(y log a + (1 - y) log(1 - a)) on ordinary inputs."""
    rng = np.random.default_rng(0)
    w, X = rng.standard_normal((4, 1)), rng.standard_normal((4, 30))
    Y = rng.integers(0, 2, (1, 30))
    a = 1 / (1 + np.exp(-(w.T @ X + 0.3)))
    textbook = -np.mean(Y * np.log(a) + (1 - Y) * np.log(1 - a))
    _, cost = logistic.propagate(w, 0.3, X, Y)
    assert cost == pytest.approx(textbook, rel=1e-13)


def test_optimize_lowers_cost_on_separable_data():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 100))
    Y = (X[0:1] + X[1:2] > 0).astype(np.int64)
    w, b = logistic.initialize_with_zeros(2)
    params, _, costs = logistic.optimize(w, b, X, Y, 500, 0.1)
    assert costs[0] == pytest.approx(np.log(2), rel=1e-15) and costs[-1] < 0.2
    assert (logistic.predict(params["w"], params["b"], X) == Y).mean() > 0.97
