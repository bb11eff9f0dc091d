"""Batch normalisation: NumPy's batchnorm_forward/backward and Network(batch_norm=True)
against nn.BatchNorm1d.

Parity of the forward pass, dZ, dgamma, dbeta, the running statistics after
several training passes and the test-time output, in a layer and in networks
(float64 and float32, random upstream gradients); finite differences as a
third opinion; the running statistics are exponentially weighted averages of
the batch statistics. Then the conventions: torch's momentum is 1 - beta, its
running variance is unbiased (the course's biased form is an option here,
and the difference is shown), running_var starts at 1, eps is 1e-5; and a
training batch of one is a clear error on both sides.
"""

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from parity_tests import twins
from parity_tests.checker.harness import check_backward, compare
from reference_torch import batchnorm as t_bn
from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import batchnorm as n_bn
from scratch_numpy import ewa as n_ewa
from scratch_numpy import minibatch as n_minibatch
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training

DTYPES = ["float64", "float32"]
EPS = 1e-5


def _id(value):
    """Test ids without spaces: (5, 6, 1) -> 5-6-1."""
    return "-".join(map(str, value)) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("dtype", DTYPES)
# Not m = 2: two examples normalise to -1 and +1 whatever Z is, so dZ is eps-sized and all
# cancellation (float32 cannot resolve it; torch accumulates in double on the CPU).
@pytest.mark.parametrize("n, m", [(5, 8), (1, 3), (16, 64), (3, 3)], ids=_id)
def test_layer_parity_over_five_training_passes_and_test_time(n, m, dtype, device):
    for seed in range(3):
        report = twins.batchnorm.batchnorm_layer(dtype=dtype, n=n, m=m, seed=seed, device=device)
        report.assert_passed()
    assert {"running_mean after 5 steps", "Z_tilde test after 5 steps", "dgamma test"} <= {d.name for d in
                                                                                            report.diffs}


@pytest.mark.parametrize("beta_momentum, eps", [(0.0, 1e-5), (0.99, 1e-3)], ids=["beta0", "beta.99-eps1e-3"])
def test_layer_parity_with_other_hyperparameters(beta_momentum, eps, device):
    twins.batchnorm.batchnorm_layer(beta_momentum=beta_momentum, eps=eps, device=device).assert_passed()


ARCHITECTURES = [((5, 6, 4, 1), "relu", "sigmoid"), ((4, 10, 3), "tanh", "softmax"),
                 ((6, 8, 8, 4), "leaky_relu", "linear"), ((3, 5, 1), "sigmoid", "sigmoid")]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dims, hidden, output", ARCHITECTURES, ids=_id)
def test_network_parity(dims, hidden, output, dtype, device):
    for seed in range(2):
        twins.models.network_step(dims, hidden, output, batch_norm=True, dtype=dtype, seed=seed,
                                     device=device).assert_passed()
    twins.models.options_trajectory(dims, hidden, output, batch_norm=True, dtype=dtype, device=device,
                                       steps=5).assert_passed()


def _forward_fresh(Z, gamma, beta):
    """A training pass that leaves no trace (fresh running statistics each call)."""
    return n_bn.batchnorm_forward(Z, gamma, beta, n_bn.init_running(Z.shape[0]), train=True)


def test_backward_against_autograd_and_finite_differences():
    report = check_backward(
        _forward_fresh, n_bn.batchnorm_backward,
        lambda Z, gamma, beta: F.batch_norm(Z.T, None, None, gamma[:, 0], beta[:, 0], training=True, eps=EPS).T,
        inputs={"Z": (4, 6)}, params={"gamma": (4, 1), "beta": (4, 1)}, grad_convention="course",
        finite_differences=True, label="batchnorm_backward")
    report.assert_passed()


def test_running_statistics_are_ewas_of_the_batch_statistics():
    """running_mean_t = v_t of the batch means (v_0 = 0); running_var_t = beta^t * 1 + v_t of the
    unbiased batch variances: scratch_numpy.ewa's average, started where torch starts."""
    rng = np.random.default_rng(0)
    n, m, beta = 3, 7, 0.9
    running = n_bn.init_running(n)
    batches = [rng.standard_normal((n, m)) * 2 + 1 for _ in range(6)]
    for Z in batches:
        n_bn.batchnorm_forward(Z, np.ones((n, 1)), np.zeros((n, 1)), running, train=True, beta_momentum=beta)
    means = np.stack([Z.mean(axis=1, keepdims=True) for Z in batches])
    variances = np.stack([Z.var(axis=1, ddof=1, keepdims=True) for Z in batches])
    np.testing.assert_allclose(running["mean"], n_ewa.ewa(means, beta)[-1], rtol=1e-14)
    np.testing.assert_allclose(running["var"], beta ** len(batches) + n_ewa.ewa(variances, beta)[-1], rtol=1e-14)


def test_test_time_uses_the_running_statistics_and_changes_nothing():
    rng = np.random.default_rng(1)
    gamma, beta = rng.standard_normal((4, 1)), rng.standard_normal((4, 1))
    running = {"mean": rng.standard_normal((4, 1)), "var": rng.random((4, 1)) + 0.5}
    before = {k: v.copy() for k, v in running.items()}
    Z = rng.standard_normal((4, 1))                                   # one example is fine at test time
    out, _ = n_bn.batchnorm_forward(Z, gamma, beta, running, train=False)
    np.testing.assert_allclose(out, gamma * (Z - before["mean"]) / np.sqrt(before["var"] + EPS) + beta, rtol=1e-14)
    assert all(np.array_equal(running[k], before[k]) for k in running)
    module = t_bn.batch_norm(4).eval()
    with torch.no_grad():
        for name, value in (("weight", gamma), ("bias", beta), ("running_mean", before["mean"]),
                            ("running_var", before["var"])):
            getattr(module, name).copy_(torch.tensor(value[:, 0]))
        np.testing.assert_allclose(t_bn.apply(module, torch.tensor(Z.T)).numpy().T, out, rtol=1e-14)


def test_network_predict_is_a_test_time_pass_on_both_sides():
    """After training, predict uses the running statistics: it agrees across sides, leaves the
    statistics alone, and restores torch's training mode."""
    dims = (4, 6, 3)
    net = n_models.Network(dims, "relu", "softmax", batch_norm=True)
    params = net.init_params("he", 0)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 30)), rng.integers(0, 3, (1, 30))
    params, _ = n_models.train_gd(net, params, X, Y, 0.1, 3)
    model = t_models.Network(dims, "relu", "softmax", batch_norm=True)
    bridge.params_to_module(params, model)
    bridge.state_to_module(net.state, model)
    state = {k: v.copy() for k, v in net.state.items()}
    X_test = rng.standard_normal((4, 1))                              # a single example at test time
    np.testing.assert_array_equal(net.predict(params, X_test)[0], model.predict(bridge.data_to_torch(X_test)).numpy())
    assert model.training and all(np.array_equal(state[k], v) for k, v in net.state.items())
    compare(state, bridge.state_from_module(model), label="running stats untouched").assert_passed()


def test_bridge_round_trip_of_gamma_beta_and_running_statistics_is_exact():
    for dtype in DTYPES:
        net = n_models.Network((5, 4, 3, 2), "relu", "softmax", batch_norm=True)
        rng = np.random.default_rng(3)
        params = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in net.init_params("he", 0, dtype).items()}
        state = {k: rng.random(v.shape).astype(dtype) for k, v in net.state.items()}
        model = t_models.Network((5, 4, 3, 2), "relu", "softmax", batch_norm=True, dtype=bridge.resolve_dtype(dtype))
        bridge.params_to_module(params, model)
        bridge.state_to_module(state, model)
        assert [layer.bias is None for layer in model.linears] == [True, True, False]
        back, back_state = bridge.params_from_module(model), bridge.state_from_module(model)
        assert list(back) == list(params) == ["W1", "gamma1", "beta1", "W2", "gamma2", "beta2", "W3", "b3"]
        assert all(np.array_equal(back[k], params[k]) and back[k].dtype == params[k].dtype for k in params)
        assert back_state.keys() == state.keys() and all(np.array_equal(back_state[k], state[k]) for k in state)


def test_init_params_gives_gamma_one_beta_zero_and_no_b_on_both_sides():
    net = n_models.Network((3, 4, 1), batch_norm=True)
    params = net.init_params("he", 0)
    assert set(params) == {"W1", "gamma1", "beta1", "W2", "b2"}
    assert (params["gamma1"] == 1).all() and (params["beta1"] == 0).all()
    assert (net.state["running_mean1"] == 0).all() and (net.state["running_var1"] == 1).all()
    model = t_models.Network((3, 4, 1), batch_norm=True).init_params("he", torch.Generator().manual_seed(0))
    torch_params = bridge.params_from_module(model)
    assert set(torch_params) == set(params) and (torch_params["gamma1"] == 1).all()


# --- batch of one, bad input ------------------------------------------------------------------

def test_a_training_batch_of_one_is_a_clear_error_on_both_sides():
    Z = np.ones((3, 1))
    with pytest.raises(ValueError, match=r"Z has a batch of m = 1 .* m >= 2"):
        n_bn.batchnorm_forward(Z, np.ones((3, 1)), np.zeros((3, 1)), n_bn.init_running(3), train=True)
    with pytest.raises(ValueError, match=r"Z has a batch of m = 1 .* m >= 2"):
        t_bn.apply(t_bn.batch_norm(3), torch.ones(1, 3, dtype=torch.float64))
    # torch's own module refuses it too, without naming the argument
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(torch.ones(1, 3))
    net = n_models.Network((2, 3, 1), batch_norm=True)
    params = net.init_params("he", 0)
    with pytest.raises(ValueError, match=r"batch of m = 1"):
        net.loss(params, np.ones((2, 1)), np.zeros((1, 1), dtype=np.int64))
    model = t_models.Network((2, 3, 1), batch_norm=True)
    with pytest.raises(ValueError, match=r"batch of m = 1"):
        model.cost(torch.ones(1, 2, dtype=torch.float64), torch.zeros(1, dtype=torch.int64))
    assert net.predict(params, np.ones((2, 1))).shape == (1, 1)          # fine at test time
    assert model.predict(torch.ones(1, 2, dtype=torch.float64)).shape == (1,)


@pytest.mark.parametrize("change, match", [
    pytest.param(dict(gamma=np.ones((3,))), r"gamma must be 2-D", id="gamma rank-1"),
    pytest.param(dict(beta=np.ones((2, 1))), r"beta must have shape \(3, 1\)", id="beta wrong n"),
    pytest.param(dict(running={"mean": np.zeros((3, 1))}), r"running must be a dict with the keys 'mean' and 'var'",
                 id="running without var"),
    pytest.param(dict(running={"mean": np.zeros((3, 1)), "var": np.ones((3, 1), np.float32)}),
                 r"running\['var'\].*float64", id="running float32"),
    pytest.param(dict(eps=0.0), r"eps must be a finite number > 0", id="eps zero"),
    pytest.param(dict(beta_momentum=1.0), r"beta_momentum must be a number in \[0, 1\)", id="beta_momentum one"),
    pytest.param(dict(train="yes"), r"train must be True or False", id="train str"),
    pytest.param(dict(unbiased_running_var=None), r"unbiased_running_var must be True or False",
                 id="unbiased_running_var None"),
])
def test_bad_input_is_a_value_error_naming_the_argument(change, match):
    args = dict(Z=np.ones((3, 4)), gamma=np.ones((3, 1)), beta=np.zeros((3, 1)), running=n_bn.init_running(3),
                train=True, **{k: v for k, v in change.items() if k not in ("gamma", "beta", "running", "train")})
    args.update({k: v for k, v in change.items() if k in ("gamma", "beta", "running", "train")})
    with pytest.raises(ValueError, match=match):
        n_bn.batchnorm_forward(args.pop("Z"), args.pop("gamma"), args.pop("beta"), args.pop("running"), **args)


def test_network_options_are_checked_on_both_sides():
    for cls in (n_models.Network, t_models.Network):
        for kwargs, match in ((dict(batch_norm=1), "batch_norm must be True or False"),
                              (dict(batch_norm=True, bn_beta_momentum=1.5), r"bn_beta_momentum"),
                              (dict(batch_norm=True, bn_eps=-1.0), r"bn_eps")):
            with pytest.raises(ValueError, match=match):
                cls([2, 3, 1], **kwargs)
    net = n_models.Network((2, 3, 1), batch_norm=True)
    params = net.init_params("he", 0)
    with pytest.raises(ValueError, match=r"params is missing gamma1"):
        net.loss({k: v for k, v in params.items() if k != "gamma1"}, np.ones((2, 4)), np.zeros((1, 4), np.int64))
    with pytest.raises(ValueError, match=r"unexpected keys \['b1'\]"):
        net.loss({**params, "b1": np.zeros((3, 1))}, np.ones((2, 4)), np.zeros((1, 4), np.int64))
    net.state["running_var1"] = np.ones((3, 1), np.float32)
    with pytest.raises(ValueError, match=r"state\['running_var1'\].*float64"):
        net.predict(params, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"state is missing running_var1"):
        bridge.state_to_module({"running_mean1": np.zeros((3, 1))}, t_models.Network((2, 3, 1), batch_norm=True))


# --- conventions (CONVENTIONS.md) ---------------------------------------------------

def _one_training_pass(Z, **numpy_kwargs):
    """running (mean, var) after one training pass: NumPy with ``numpy_kwargs``, torch's BatchNorm1d
    built by reference_torch.batchnorm.batch_norm (momentum = 1 - beta)."""
    n = Z.shape[0]
    running = n_bn.init_running(n)
    n_bn.batchnorm_forward(Z, np.ones((n, 1)), np.zeros((n, 1)), running, train=True, **numpy_kwargs)
    module = t_bn.batch_norm(n, beta_momentum=numpy_kwargs.get("beta_momentum", 0.9))
    module(torch.tensor(Z.T))
    return running, {"mean": module.running_mean.numpy()[:, None], "var": module.running_var.numpy()[:, None]}


def test_torch_momentum_is_one_minus_beta():
    """BatchNorm1d: running = momentum * batch + (1 - momentum) * running; the course:
    running = beta * running + (1 - beta) * batch. Same average when momentum = 1 - beta;
    passing the course's beta as torch's momentum weights the batch 0.9 instead of 0.1."""
    Z = np.random.default_rng(0).standard_normal((4, 10)) * 3 + 2
    numpy_running, torch_running = _one_training_pass(Z, beta_momentum=0.9)
    assert t_bn.batch_norm(4, beta_momentum=0.9).momentum == pytest.approx(0.1, abs=1e-16)
    np.testing.assert_allclose(numpy_running["mean"], torch_running["mean"], rtol=1e-15)
    np.testing.assert_allclose(numpy_running["mean"], 0.1 * Z.mean(axis=1, keepdims=True), rtol=1e-15)
    wrong = nn.BatchNorm1d(4, momentum=0.9, dtype=torch.float64)
    wrong(torch.tensor(Z.T))
    np.testing.assert_allclose(wrong.running_mean.numpy()[:, None], 0.9 * Z.mean(axis=1, keepdims=True), rtol=1e-15)


def test_running_variance_unbiased_in_torch_biased_course_option_differs():
    """Training normalises with the biased variance on both sides, but torch's running_var averages the
    UNBIASED one, sigma2 * m/(m-1). NumPy matches it by default; the course's biased form
    (unbiased_running_var=False) is off by (1 - beta) * sigma2 / (m - 1) after one pass (from 1)."""
    m = 5
    Z = np.random.default_rng(1).standard_normal((3, m)) * 2
    sigma2 = Z.var(axis=1, keepdims=True)                     # biased, ddof=0
    unbiased, torch_running = _one_training_pass(Z)
    biased, _ = _one_training_pass(Z, unbiased_running_var=False)
    np.testing.assert_allclose(unbiased["var"], torch_running["var"], rtol=1e-15)
    np.testing.assert_allclose(unbiased["var"], 0.9 + 0.1 * Z.var(axis=1, ddof=1, keepdims=True), rtol=1e-15)
    np.testing.assert_allclose(biased["var"], 0.9 + 0.1 * sigma2, rtol=1e-15)
    np.testing.assert_allclose(torch_running["var"] - biased["var"], 0.1 * sigma2 / (m - 1), rtol=1e-12)
    assert np.abs(torch_running["var"] - biased["var"]).min() > 1e-3        # a real difference, not rounding
    # the forward pass itself uses the biased variance on both sides
    out = t_bn.batch_norm(3).train()(torch.tensor(Z.T)).detach().numpy().T
    np.testing.assert_allclose(out, (Z - Z.mean(axis=1, keepdims=True)) / np.sqrt(sigma2 + EPS), rtol=1e-13)


def test_the_biased_option_trains_and_differs_only_in_the_running_variance():
    dims, kw = (4, 6, 1), dict(batch_norm=True)
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((4, 12)), rng.integers(0, 2, (1, 12))
    runs = {}
    for unbiased in (True, False):
        net = n_models.Network(dims, bn_unbiased_running_var=unbiased, **kw)
        params, costs = n_models.train_gd(net, net.init_params("he", 0), X, Y, 0.1, 5)
        runs[unbiased] = (params, costs, net.state)
    assert runs[True][1] == runs[False][1]                                  # training never reads running_var
    assert all(np.array_equal(runs[True][0][k], runs[False][0][k]) for k in runs[True][0])
    np.testing.assert_array_equal(runs[True][2]["running_mean1"], runs[False][2]["running_mean1"])
    ratio = (runs[True][2]["running_var1"] - 0.9 ** 5) / (runs[False][2]["running_var1"] - 0.9 ** 5)
    np.testing.assert_allclose(ratio, 12 / 11, rtol=1e-12)                  # m / (m - 1), every pass


def test_running_statistics_start_at_zero_and_one_and_eps_is_1e_5():
    """torch: running_mean = 0, running_var = 1 (cs231n starts the variance at 0), eps = 1e-5;
    init_running and batchnorm_forward's defaults are the same."""
    module = nn.BatchNorm1d(3)
    assert module.eps == EPS == t_bn.batch_norm(3).eps and module.momentum == 0.1
    assert torch.equal(module.running_mean, torch.zeros(3)) and torch.equal(module.running_var, torch.ones(3))
    running = n_bn.init_running(3)
    assert (running["mean"] == 0).all() and (running["var"] == 1).all()
    # a fresh module at test time is (Z - 0) / sqrt(1 + eps): not quite the identity
    Z = np.random.default_rng(3).standard_normal((3, 4))
    out, _ = n_bn.batchnorm_forward(Z, np.ones((3, 1)), np.zeros((3, 1)), running, train=False)
    np.testing.assert_allclose(out, Z / np.sqrt(1 + EPS), rtol=1e-15)
    np.testing.assert_allclose(module.double().eval()(torch.tensor(Z.T)).detach().numpy().T, out, rtol=1e-15)


def test_the_shared_training_loops_agree_on_a_batchnorm_network():
    """scratch_numpy.training.train and reference_torch.training.train, mini-batches of 16 (the
    last one 12) from the same permutations: the running statistics follow the mini-batches, the
    accuracies come from test-time passes, and both sides end in the same place (the torch
    optimiser from make_optimizer, whose parameter groups cover gamma and beta)."""
    dims, m, epochs = (4, 8, 6, 1), 60, 5
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, m))
    Y = (X[:1] * X[1:2] > 0).astype(np.int64)
    net = n_models.Network(dims, "relu", "sigmoid", batch_norm=True)
    params = net.init_params("he", rng)
    model = t_models.Network(dims, "relu", "sigmoid", batch_norm=True)
    bridge.params_to_module(params, model)
    order = dict(permutations=n_minibatch.draw_permutations(m, epochs, 0), epochs=epochs, batch_size=16)
    history = n_training.train(net, params, X, Y, n_optim.make_optimizer("gd", params, lr=0.1), **order)
    history_t = t_training.train(model, *bridge.data_to_torch(X, Y),
                                 t_optim.make_optimizer("gd", model, lr=0.1), **order)

    def rows(h, final, state):
        return {"costs": np.asarray(h.costs), "accuracy (train)": np.asarray(h.train_accuracy),
                **{f"{k} after {len(h.costs)} steps": v for k, v in {**final, **state}.items()}}

    compare(rows(history, params, net.state),
            rows(history_t, bridge.params_from_module(model), bridge.state_from_module(model))).assert_passed()
