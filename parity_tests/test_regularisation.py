"""L2 and L1 regularisation in networks of any depth: the weights only, lambda/(2m).

    L2: J += lambda/(2m) sum_l ||W_l||_F^2,   dW_l += (lambda/m) W_l
    L1: J += lambda/(2m) sum_l sum |W_l|,     dW_l += lambda/(2m) sign(W_l)

Parity of the cost, every gradient and one step (NumPy's Network(l2_lambda=, l1_lambda=)
against the torch network's explicit penalty), and of training trajectories,
L2 both through the explicit penalty and through weight_decay = lambda/m on
the weight group. Then the conventions: torch's loss has no penalty term (it
is added by hand), and weight_decay on every parameter also decays the biases.
"""

import numpy as np
import pytest
import torch

from parity_tests import twins
from parity_tests.checker.harness import compare
from reference_torch import bridge
from reference_torch import models as t_models
from scratch_numpy import models as n_models

DTYPES = ["float64", "float32"]
DEPTHS = [((4, 1), "relu", "sigmoid"),                # logistic regression: no hidden layer
          ((5, 6, 1), "tanh", "sigmoid"),
          ((6, 10, 4), "relu", "softmax"),
          ((5, 8, 6, 4, 3), "leaky_relu", "linear")]
PENALTIES = [dict(l2_lambda=0.7), dict(l1_lambda=0.7), dict(l2_lambda=0.4, l1_lambda=0.3)]


def _id(value):
    """Test ids without spaces: (5, 6, 1) -> 5-6-1."""
    return "-".join(map(str, value)) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("penalty", PENALTIES, ids=lambda p: "+".join(k.removesuffix("_lambda") for k in p))
@pytest.mark.parametrize("dims, hidden, output", DEPTHS, ids=_id)
def test_cost_gradients_and_one_step_match_torch(dims, hidden, output, penalty, dtype, device):
    for seed in range(2):
        twins.models.network_step(dims, hidden, output, dtype=dtype, seed=seed, device=device,
                                     **penalty).assert_passed()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("route", ["penalty", "weight_decay"])
@pytest.mark.parametrize("dims, hidden, output", DEPTHS[1:3], ids=_id)
def test_l2_trajectory_matches_torch_by_either_route(dims, hidden, output, route, dtype, device):
    report = twins.models.options_trajectory(dims, hidden, output, l2_lambda=0.7, l2_route=route, dtype=dtype,
                                                device=device, steps=100)
    report.assert_passed()
    if dtype == "float64":
        assert max(d.max_abs for d in report.diffs) < 1e-12


@pytest.mark.parametrize("dtype", DTYPES)
def test_l1_trajectory_matches_torch(dtype, device):
    twins.models.options_trajectory((5, 6, 4, 1), l1_lambda=0.7, dtype=dtype, device=device, steps=100).assert_passed()


def _setup(dims=(5, 7, 4, 3), m=12, seed=0):
    rng = np.random.default_rng(seed)
    plain = n_models.Network(dims, "relu", "softmax")
    params = plain.init_params("he", rng)
    X, Y = rng.standard_normal((dims[0], m)), rng.integers(0, dims[-1], (1, m))
    return plain, params, X, Y


def test_the_penalty_terms_are_lambda_over_2m_on_the_weights_only():
    plain, params, X, Y = _setup()
    m, strength = X.shape[1], 0.9
    cost, grads = plain.loss(params, X, Y)
    weights = [params[k] for k in params if k.startswith("W")]
    for name, term, dterm in (
            ("l2_lambda", strength / (2 * m) * sum((W ** 2).sum() for W in weights), lambda W: strength / m * W),
            ("l1_lambda", strength / (2 * m) * sum(np.abs(W).sum() for W in weights),
             lambda W: strength / (2 * m) * np.sign(W))):
        net = n_models.Network(plain.layer_dims, "relu", "softmax", **{name: strength})
        cost_reg, grads_reg = net.loss(params, X, Y)
        assert cost_reg - cost == pytest.approx(term, rel=1e-12)
        for key in params:
            expected = dterm(params[key]) if key.startswith("W") else 0.0
            np.testing.assert_allclose(grads_reg["d" + key] - grads["d" + key], expected, rtol=1e-12, atol=1e-15)


# --- conventions (CONVENTIONS.md) ---------------------------------------------------

def test_torch_loss_has_no_penalty_term():
    """F.cross_entropy & co. know nothing of the weights: the regularised cost is torch's loss plus
    lambda/(2m) sum ||W||^2, added explicitly (Network(l2_lambda=...).cost does; train_gd's weight_decay
    route adds it to the recorded cost by hand)."""
    plain, params, X, Y = _setup()
    m, l2_lambda = X.shape[1], 0.9
    regularised = n_models.Network(plain.layer_dims, "relu", "softmax", l2_lambda=l2_lambda).cost(params, X, Y)
    term = l2_lambda / (2 * m) * sum(float((params[k] ** 2).sum()) for k in params if k.startswith("W"))
    Xt, yt = bridge.data_to_torch(X, Y)
    model = t_models.Network(plain.layer_dims, "relu", "softmax")
    bridge.params_to_module(params, model)
    torch_loss = float(model.cost(Xt, yt).detach())
    assert torch_loss == pytest.approx(plain.cost(params, X, Y), rel=1e-14)
    assert torch_loss == pytest.approx(regularised - term, rel=1e-14) and regularised - torch_loss > 0.1
    model.l2_lambda = l2_lambda
    assert float(model.cost(Xt, yt).detach()) == pytest.approx(regularised, rel=1e-14)
    model.l2_lambda = 0.0
    costs = t_models.train_gd(model, Xt, yt, 0.1, 1, l2_lambda=l2_lambda)
    assert costs[0] == pytest.approx(regularised, rel=1e-14)


def _one_sgd_step(groups_of, l2_lambda=0.9, lr=0.5):
    """One step from the same parameters: (before, NumPy's GD step with l2_lambda=l2_lambda, torch's SGD step
    over ``groups_of(model, m)``), all as NumPy dicts."""
    plain, params, X, Y = _setup(seed=1)
    for key in params:   # non-zero biases, so that decaying them would show
        params[key] = params[key] + 0.5
    net = n_models.Network(plain.layer_dims, "relu", "softmax", l2_lambda=l2_lambda)
    stepped, _ = n_models.train_gd(net, params, X, Y, lr, 1)
    model = t_models.Network(plain.layer_dims, "relu", "softmax")
    bridge.params_to_module(params, model)
    optimizer = torch.optim.SGD(groups_of(model, X.shape[1]), lr=lr)
    model.cost(*bridge.data_to_torch(X, Y)).backward()
    optimizer.step()
    return params, stepped, bridge.params_from_module(model)


def test_weight_decay_is_lambda_over_m_on_the_weight_group_only():
    """torch/optim/sgd.py adds weight_decay * p to p's gradient before the step, the gradient of
    (weight_decay/2) ||p||^2: with weight_decay = lambda/m on W and 0 on b it is the course's L2."""
    _, stepped, stepped_t = _one_sgd_step(lambda model, m: model.param_groups(0.9, m))
    assert t_models.Network((2, 3, 1)).param_groups(0.9, 12)[0]["weight_decay"] == 0.9 / 12
    compare({f"{k} after 1 step": v for k, v in stepped.items()},
            {f"{k} after 1 step": v for k, v in stepped_t.items()}).assert_passed()


def test_weight_decay_on_every_parameter_also_decays_the_biases():
    """The common shortcut SGD(model.parameters(), weight_decay=lambda/m) regularises b too: W agrees
    with the course, every b_l is off by exactly lr * (lambda/m) * b_l (b_l before the step)."""
    lr, l2_lambda = 0.5, 0.9
    before, stepped, stepped_t = _one_sgd_step(
        lambda model, m: [{"params": list(model.parameters()), "weight_decay": l2_lambda / m}], l2_lambda, lr)
    m = 12
    for key in stepped:
        if key.startswith("W"):
            np.testing.assert_allclose(stepped_t[key], stepped[key], rtol=1e-13)
        else:
            np.testing.assert_allclose(stepped[key] - stepped_t[key], lr * l2_lambda / m * before[key], rtol=1e-10)
            assert np.abs(stepped[key] - stepped_t[key]).min() > 1e-3


@pytest.mark.parametrize("cls", [n_models.Network, t_models.Network])
@pytest.mark.parametrize("name", ["l2_lambda", "l1_lambda"])
@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.7", None, True])
def test_bad_lambda_is_a_value_error_naming_it(cls, name, bad):
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number >= 0"):
        cls([2, 3, 1], **{name: bad})


def test_bad_weight_decay_arguments():
    model = t_models.Network((2, 3, 1))
    with pytest.raises(ValueError, match=r"m \(the number of training examples"):
        model.param_groups(0.5)
    with pytest.raises(ValueError, match=r"l2_lambda must be a finite number >= 0"):
        t_models.train_gd(model, torch.ones(4, 2, dtype=torch.float64), torch.zeros(4, dtype=torch.int64), 0.1, 1,
                          l2_lambda=-1.0)


@pytest.mark.parametrize("m", [1, 7, 64])
def test_cs231n_reg_maps_to_the_courses_lambda_over_m(m):
    """cs231n's ``0.5 * reg * sum(W**2)`` (gradient reg * W, no 1/m) is the course's lambda/(2m)
    sum ||W||^2 (gradient (lambda/m) W) with reg = lambda / m for the same batch size m
    (CONVENTIONS.md): our l2_penalty with l2_lambda = reg * m equals 0.5 * reg * sum(W**2)."""
    from scratch_numpy.losses import l2_penalty
    rng = np.random.default_rng(m)
    params = {"W1": rng.standard_normal((5, 4)), "b1": rng.standard_normal((5, 1)),
              "W2": rng.standard_normal((3, 5)), "b2": rng.standard_normal((3, 1))}
    reg = 2.5e-3
    cost, grads = l2_penalty(params, reg * m, m)
    cs231n_cost = sum(0.5 * reg * np.sum(params[k] ** 2) for k in ("W1", "W2"))
    np.testing.assert_allclose(cost, cs231n_cost, rtol=1e-13)
    assert set(grads) == {"dW1", "dW2"}                         # the biases are not regularised
    for k in ("W1", "W2"):
        np.testing.assert_allclose(grads["d" + k], reg * params[k], rtol=1e-13)
