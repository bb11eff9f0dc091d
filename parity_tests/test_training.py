"""The shared training loops: the same network trained 200 mini-batch steps on both sides with each
optimiser and each schedule ends with the same parameters (float64: within 1e-10 relative; the
largest divergence seen is printed, run with -s), and the loop's History, callback and early-stop
hook behave the same on both sides."""

import inspect
import os

import numpy as np
import pytest
import torch

from parity_tests import twins
from parity_tests.checker.harness import compare
from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import losses as n_losses
from scratch_numpy import minibatch as n_minibatch
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training

RUNS = [*[(v, None) for v in twins.optim.OPTIMIZERS],
        *[("adam", {"name": s, **hp}) for s, hp in twins.schedules.SCHEDULES.items()],
        ("momentum", {"name": "inverse_time", **twins.schedules.SCHEDULES["inverse_time"]})]


def _divergence(report):
    """Largest elementwise relative difference over the parameters, and over everything compared."""
    params = [d.max_rel for d in report.diffs if "after" in d.name and d.name[0] in "Wb"]
    return max(params), max(d.max_rel for d in report.diffs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("variant, schedule", RUNS,
                         ids=[f"{v}-{s['name'] if s else 'no-schedule'}" for v, s in RUNS])
def test_200_steps_end_at_the_same_parameters(variant, schedule, dtype, device):
    report = twins.training.trajectory(variant, dtype, device, schedule=schedule, steps=200)
    params, everything = _divergence(report)
    print(f"\n{report.label} [{dtype}]: largest divergence in the parameters {params:.2e}, "
          f"anywhere (costs, state) {everything:.2e}")
    report.assert_passed()
    if dtype == "float64":
        assert params <= 1e-10


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_l2_and_sampling_with_replacement_trajectories(dtype, device):
    twins.training.trajectory("adam", dtype, device, l2_lambda=0.7).assert_passed()
    twins.training.trajectory("momentum", dtype, device, sampling="replacement", steps=60).assert_passed()


def _pair(m=24, seed=3, dtype="float64"):
    rng = np.random.default_rng(seed)
    net = n_models.Network((3, 4, 1), "tanh", "sigmoid")
    params = net.init_params("xavier", rng, dtype)
    X = rng.standard_normal((3, m)).astype(dtype)
    Y = (X[:1] + X[1:2] > 0).astype(np.int64)
    model = t_models.Network((3, 4, 1), "tanh", "sigmoid", dtype=bridge.resolve_dtype(dtype))
    bridge.params_to_module(params, model)
    Xt, yt = bridge.data_to_torch(X, Y)
    return net, params, X, Y, model, Xt, yt


def test_history_has_one_entry_per_update_and_per_epoch():
    net, params, X, Y, model, Xt, yt = _pair()
    history = n_training.train(net, params, X, Y, n_optim.GradientDescent(params, 0.1), epochs=3, batch_size=10,
                               seed=0, X_dev=X[:, :6], Y_dev=Y[:, :6])
    history_t = t_training.train(model, Xt, yt, t_optim.make_optimizer("gd", model, lr=0.1), epochs=3,
                                 batch_size=10, seed=0, X_dev=Xt[:6], y_dev=yt[:6])
    for h in (history, history_t):
        assert len(h.costs) == len(h.learning_rates) == 9            # 24 examples: 10 + 10 + 4 per epoch
        assert len(h.epoch_costs) == len(h.train_accuracy) == len(h.dev_accuracy) == 3
        assert h.epochs_run == 3 and not h.stopped_early
    assert history.train_accuracy == history_t.train_accuracy
    assert history.dev_accuracy == history_t.dev_accuracy
    np.testing.assert_allclose(history.costs, history_t.costs, rtol=1e-13)


def test_epoch_cost_is_the_example_weighted_mean():
    """The course: cost_total = sum over batches of the summed loss, cost_avg = cost_total / m."""
    net, params, X, Y, *_ = _pair()
    history = n_training.train(net, params, X, Y, n_optim.GradientDescent(params, 0.1), epochs=1, batch_size=10,
                               seed=0)
    assert history.epoch_costs[0] == pytest.approx(np.dot(history.costs, [10, 10, 4]) / 24, rel=1e-15)


def test_callback_and_early_stopping_on_both_sides():
    """The hook sees the History after each epoch; returning True stops both loops after that epoch."""
    net, params, X, Y, model, Xt, yt = _pair()
    calls, calls_t = [], []
    stop_after_three = lambda history: history.epochs_run == 3   # noqa: E731
    history = n_training.train(
        net, params, X, Y, n_optim.make_optimizer("adam", params, lr=0.01), epochs=10, batch_size=8, seed=1,
        callback=lambda e, h, p: calls.append((e, len(h.costs), sorted(p))), early_stopping=stop_after_three)
    history_t = t_training.train(
        model, Xt, yt, t_optim.make_optimizer("adam", model, lr=0.01), epochs=10, batch_size=8, seed=1,
        callback=lambda e, h, mdl: calls_t.append((e, len(h.costs), type(mdl).__name__)),
        early_stopping=stop_after_three)
    assert calls == [(0, 3, ["W1", "W2", "b1", "b2"]), (1, 6, ["W1", "W2", "b1", "b2"]),
                     (2, 9, ["W1", "W2", "b1", "b2"])]
    assert calls_t == [(0, 3, "Network"), (1, 6, "Network"), (2, 9, "Network")]
    for h in (history, history_t):
        assert h.stopped_early and h.epochs_run == 3 and len(h.epoch_costs) == 3
    compare({k: v for k, v in params.items()}, bridge.params_from_module(model)).assert_passed()


def test_full_batch_training_is_the_models_gradient_descent():
    """batch_size = m with plain GD is models.train_gd (up to the order of the sum over examples)."""
    net, params, X, Y, model, Xt, yt = _pair()
    expected, _ = n_models.train_gd(net, params, X, Y, 0.1, 20)
    n_training.train(net, params, X, Y, n_optim.GradientDescent(params, 0.1), epochs=20, batch_size=24, seed=0)
    for key in params:
        np.testing.assert_allclose(params[key], expected[key], rtol=1e-12, atol=1e-14)
    _, _, _, _, model_gd, _, _ = _pair()
    t_models.train_gd(model_gd, Xt, yt, 0.1, 20)
    t_training.train(model, Xt, yt, t_optim.make_optimizer("gd", model, lr=0.1), epochs=20, batch_size=24, seed=0)
    for a, b in zip(model.parameters(), model_gd.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


def test_recorded_cost_includes_the_l2_term():
    net, params, X, Y, model, Xt, yt = _pair()
    perms = n_minibatch.draw_permutations(24, 1, 0)
    first = n_minibatch.partition(perms[0], 8)[0]
    cost, _ = net.loss(params, X[:, first], Y[:, first])
    expected = cost + n_losses.l2_penalty(params, 0.7, 24)[0]
    history = n_training.train(net, params, X, Y, n_optim.make_optimizer("gd", params, lr=0.1, l2_lambda=0.7, m=24),
                               epochs=1, batch_size=8, permutations=perms)
    history_t = t_training.train(model, Xt, yt, t_optim.make_optimizer("gd", model, lr=0.1, l2_lambda=0.7, m=24),
                                 epochs=1, batch_size=8, permutations=perms)
    assert history.costs[0] == pytest.approx(expected, rel=1e-15)
    assert history_t.costs[0] == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be an integer >= 1"),
    ({"epochs": 2.0}, "epochs must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
    ({"batch_size": -8}, "batch_size must be an integer >= 1"),
    ({"batch_size": 2.5}, "batch_size must be an integer >= 1"),
    ({"seed": None}, "exactly one of permutations"),
    ({"permutations": [np.arange(24)]}, "exactly one of permutations"),
    ({"seed": None, "permutations": [np.arange(24)]}, "1 permutations for 2 epochs"),
    ({"seed": None, "permutations": [np.arange(24), np.arange(23)]}, r"permutations\[1\]"),
    ({"sampling": "bootstrap"}, "sampling must be one of"),
    ({"schedule": "cosine"}, "schedule must be one of"),
    ({"callback": "print"}, "callback must be callable"),
    ({"early_stopping": 3}, "early_stopping must be callable"),
])
def test_bad_arguments_are_a_clear_error(kwargs, message):
    net, params, X, Y, model, Xt, yt = _pair()
    args = {"epochs": 2, "batch_size": 8, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        n_training.train(net, params, X, Y, n_optim.GradientDescent(params, 0.1), **args)
    with pytest.raises(ValueError, match=message):
        t_training.train(model, Xt, yt, t_optim.make_optimizer("gd", model, lr=0.1), **args)


def test_wrong_optimizer_or_data_is_a_clear_error():
    net, params, X, Y, model, Xt, yt = _pair()
    with pytest.raises(ValueError, match="scratch_numpy.optim.Optimizer"):
        n_training.train(net, params, X, Y, t_optim.make_optimizer("gd", model, lr=0.1), epochs=1, batch_size=8,
                         seed=0)
    with pytest.raises(ValueError, match="torch.optim.Optimizer"):
        t_training.train(model, Xt, yt, n_optim.GradientDescent(params, 0.1), epochs=1, batch_size=8, seed=0)
    with pytest.raises(ValueError, match="dev"):
        n_training.train(net, params, X, Y, n_optim.GradientDescent(params, 0.1), epochs=1, batch_size=8, seed=0,
                         X_dev=X)
    with pytest.raises(ValueError, match="X must have shape"):
        n_training.train(net, params, X.T.copy(), Y, n_optim.GradientDescent(params, 0.1), epochs=1,
                         batch_size=8, seed=0)


def test_torch_loop_reads_the_device_once_per_epoch_not_per_batch(monkeypatch):
    """On a GPU every read of a value (float, item, tolist, bool) waits for the device: the loop
    may read per epoch (history, accuracies) but not per batch. Counted on the CPU by wrapping
    the reads: 2 and 12 batches per epoch (with L2, whose terms are read too) read as often.
    torch.optim's own reads are not counted: they read Adam's step count, which torch keeps on
    the host (a CPU tensor) unless capturable=True."""
    reads = []

    def counted(read):
        def wrapper(self, *args, **kwargs):
            caller = inspect.currentframe().f_back.f_code.co_filename
            if f"torch{os.sep}optim{os.sep}" not in caller:
                reads.append(caller)
            return read(self, *args, **kwargs)
        return wrapper

    for name in ("__float__", "item", "tolist", "__bool__"):
        monkeypatch.setattr(torch.Tensor, name, counted(getattr(torch.Tensor, name)))

    def count(batch_size):
        *_, model, Xt, yt = _pair(m=24)
        optimizer = t_optim.make_optimizer("adam", model, lr=0.01, l2_lambda=0.5, m=24)
        reads.clear()
        history = t_training.train(model, Xt, yt, optimizer, epochs=3, batch_size=batch_size, seed=0)
        assert len(history.costs) == 3 * (24 // batch_size)
        return len(reads)

    assert count(12) == count(2)
