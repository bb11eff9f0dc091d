"""The network of any depth: A_L, cost, every dW_l/db_l, one GD step and a 100-step
trajectory, NumPy vs an nn.Module, plus the bridge that copies parameters across."""

import numpy as np
import pytest
import torch

from parity_tests import twins
from reference_torch import bridge
from reference_torch import models as t_models
from scratch_numpy import models

ARCHITECTURES = [
    ((2, 4, 1), "tanh", "sigmoid"),           # the course's shallow net
    ((6, 5, 4, 3, 1), "relu", "sigmoid"),     # its L-layer net
    ((6, 10, 4), "relu", "softmax"),          # cs231n's two-layer net
    ((5, 8, 8, 3), "leaky_relu", "linear"),   # scores + SVM hinge
    ((3, 6, 2), "sigmoid", "softmax"),
    ((4, 3, 1), "linear", "sigmoid"),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dims,hidden,output", ARCHITECTURES, ids=str)
def test_network_forward_backward_step_match_torch(dims, hidden, output, dtype, device):
    for seed in range(2):
        twins.models.network(dims, hidden, output, dtype=dtype, seed=seed, device=device).assert_passed()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_zero_init_hits_the_relu_kink_and_still_matches(dtype, device):
    report = twins.models.network((4, 5, 3, 1), "relu", "sigmoid", init="zeros", dtype=dtype, device=device)
    report.assert_passed()
    hidden_grads = [d for d in report.diffs if d.name in ("dW1", "dW2")]
    assert all(d.max_abs == 0 for d in hidden_grads)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dims,hidden,output", ARCHITECTURES[:4], ids=str)
def test_100_step_trajectory_matches_torch(dims, hidden, output, dtype, device):
    report = twins.models.network_trajectory(dims, hidden, output, dtype=dtype, device=device, steps=100)
    report.assert_passed()
    if dtype == "float64":
        assert max(d.max_abs for d in report.diffs) < 1e-12


def test_training_lowers_the_cost_and_predicts_labels():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 200))
    Y = (X[0:1] * X[1:2] > 0).astype(np.int64)  # XOR-like: needs the hidden layer
    net = models.Network([2, 8, 1], "tanh", "sigmoid")
    params, costs = models.train_gd(net, net.init_params("xavier", 1), X, Y, 0.5, 2000)
    assert costs[-1] < 0.5 * costs[0]
    assert net.predict(params, X).shape == (1, 200) and net.accuracy(params, X, Y) > 0.9


def test_train_gd_leaves_the_callers_params_untouched():
    net = models.Network([3, 2, 1])
    params = net.init_params("he", 0)
    before = {k: v.copy() for k, v in params.items()}
    X = np.random.default_rng(1).standard_normal((3, 5))
    models.train_gd(net, params, X, np.array([[0, 1, 1, 0, 1]]), 0.1, 3)
    assert all(np.array_equal(before[k], params[k]) for k in params)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bridge_round_trip_is_exact(dtype):
    net = models.Network([5, 4, 3], "relu", "softmax")
    params = net.init_params("glorot", 7, dtype)
    model = t_models.Network([5, 4, 3], "relu", "softmax", dtype=bridge.resolve_dtype(dtype))
    bridge.params_to_module(params, model)
    back = bridge.params_from_module(model)
    assert set(back) == set(params)
    for key in params:
        assert back[key].dtype == params[key].dtype and back[key].shape == params[key].shape
        np.testing.assert_array_equal(back[key], params[key])


def test_data_layout_is_transposed_at_the_boundary():
    X = np.arange(6.0).reshape(2, 3)
    Xt, yt = bridge.data_to_torch(X, np.array([[0, 1, 1]]))
    assert Xt.shape == (3, 2) and yt.dtype == torch.int64
    np.testing.assert_array_equal(Xt.numpy(), X.T)


def test_predictions_agree_between_sides():
    net = models.Network([4, 6, 3], "relu", "softmax")
    params = net.init_params("he", 3)
    X = np.random.default_rng(3).standard_normal((4, 50))
    model = t_models.Network([4, 6, 3], "relu", "softmax")
    bridge.params_to_module(params, model)
    np.testing.assert_array_equal(net.predict(params, X)[0], model.predict(bridge.data_to_torch(X)).numpy())


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_parameter_is_named_and_a_huge_finite_one_is_not_refused(dtype, bad):
    """check_params proves finiteness with one sum of squares over all parameters; where that sum is not
    finite, the exact check must still name the parameter at fault, and must not refuse parameters whose
    squares merely overflow the sum (every entry finite)."""
    net = models.Network([3, 4, 2], output="softmax")
    params = net.init_params("he", 0, dtype)
    params["b2"][1, 0] = bad
    with pytest.raises(ValueError, match=r"params\['b2'\].*NaN or inf"):
        net.check_params(params)
    params = net.init_params("he", 0, dtype)
    params["W1"][0, 0] = np.finfo(dtype).max / 2       # its square overflows; the entry is finite
    assert net.check_params(params) == np.dtype(dtype)
