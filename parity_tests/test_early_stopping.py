"""Early stopping in the shared training loop, on a set-up where dev error rises
(twins.early_stopping.rising_dev_error_data: 30 % of the training labels flipped, clean dev labels)."""

import numpy as np
import pytest

from parity_tests import twins
from parity_tests.checker.harness import compare
from scratch_numpy import early_stopping as n_early_stopping
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training


def network(**options):
    return n_models.Network((2, 32, 32, 1), "relu", "sigmoid", **options)


def run(epochs=150, stopper=None, net=None, **train_kwargs):
    """NumPy training of ``net`` (default: a fresh ``network()``) on the rising-dev-error set-up,
    full batch, the same start every time: (net, params, history)."""
    X, Y, X_dev, Y_dev, rng = twins.early_stopping.rising_dev_error_data()
    net = network() if net is None else net
    params = net.init_params("he", rng)
    hooks = {} if stopper is None else {"callback": stopper.callback, "early_stopping": stopper}
    history = n_training.train(net, params, X, Y, n_optim.make_optimizer("adam", params, lr=0.003), epochs=epochs,
                               batch_size=X.shape[1], permutations=[np.arange(X.shape[1])] * epochs,
                               X_dev=X_dev, Y_dev=Y_dev, **hooks, **train_kwargs)
    return net, params, history


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_the_set_up_overfits():
    history = run()[2]
    dev_error = 1 - np.array(history.dev_accuracy)
    best = int(dev_error.argmin())
    assert 5 < best < 30 and dev_error[best] < 0.1
    assert dev_error[-1] > dev_error[best] + 0.3 and history.train_accuracy[-1] > history.train_accuracy[best]


@pytest.mark.parametrize("monitor", ["dev_error", "dev_cost"])
def test_stops_patience_epochs_after_the_best_and_restores_it(monitor):
    X_dev, Y_dev = twins.early_stopping.rising_dev_error_data()[2:4]
    net = network()
    dev = {"dev_cost": n_early_stopping.dev_cost(net, X_dev, Y_dev)} if monitor == "dev_cost" else {}
    stopper = n_early_stopping.EarlyStopping(10, monitor=monitor, **dev)
    _, params, history = run(stopper=stopper, net=net)
    assert history.stopped_early and history.epochs_run == stopper.best_epoch + 1 + 10 < 150
    assert stopper.best_value == min(stopper.values) and len(stopper.values) == history.epochs_run
    _, best_params, best_history = run(epochs=stopper.best_epoch + 1)     # the same run, cut at the best epoch
    assert same(params, best_params)
    if monitor == "dev_error":
        assert 1 - net.accuracy(params, X_dev, Y_dev) == stopper.best_value == 1 - best_history.dev_accuracy[-1]
    else:
        assert dev["dev_cost"](params) == stopper.best_value < stopper.values[-1]


def test_without_a_stop_the_loop_still_ends_on_the_best_epoch():
    stopper = n_early_stopping.EarlyStopping(200)
    _, params, history = run(epochs=40, stopper=stopper)
    assert not history.stopped_early and stopper.best_epoch < 39
    assert same(params, run(epochs=stopper.best_epoch + 1)[1]) and not same(params, run(epochs=40)[1])


def test_min_delta_and_no_restore():
    stopper = n_early_stopping.EarlyStopping(3, min_delta=1.0, restore_best=False)
    _, params, history = run(stopper=stopper)
    assert history.epochs_run == 4 and stopper.best_epoch == 0    # nothing improves by more than 1
    assert not same(params, stopper.best["params"])


def test_batchnorm_running_statistics_are_restored_with_the_parameters():
    net = network(batch_norm=True)
    stopper = n_early_stopping.EarlyStopping(5, network=net)
    _, params, history = run(epochs=60, stopper=stopper, net=net)
    best_net, best_params, _ = run(epochs=stopper.best_epoch + 1, net=network(batch_norm=True))
    assert same(params, best_params) and same(net.state, best_net.state) and net.state


@pytest.mark.parametrize("monitor", ["dev_error", "dev_cost"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parity_both_loops_stop_at_the_same_epoch_with_the_same_parameters(monitor, dtype, device):
    numpy_rows, torch_rows, stopper, stopper_t = twins.early_stopping.early_stopping_pair(monitor, dtype=dtype,
                                                                                          device=device)
    assert stopper.best_epoch == stopper_t.best_epoch and len(stopper.values) == len(stopper_t.values) < 150
    compare(numpy_rows, torch_rows, tolerance=twins.common.trajectory_tolerance(dtype)).assert_passed()


def test_bad_use():
    with pytest.raises(ValueError, match="callback"):
        run(stopper=None, early_stopping=n_early_stopping.EarlyStopping(3))
    with pytest.raises(ValueError, match="pass X_dev and Y_dev"):
        stopper = n_early_stopping.EarlyStopping(3)
        stopper.callback(0, n_training.History(), {})
    with pytest.raises(ValueError, match="needs dev_cost="):
        n_early_stopping.EarlyStopping(3, monitor="dev_cost")
    with pytest.raises(ValueError, match="only used with monitor='dev_cost'"):
        n_early_stopping.EarlyStopping(3, dev_cost=lambda p: 0.0)
    with pytest.raises(ValueError, match="patience must be an integer >= 1"):
        n_early_stopping.EarlyStopping(0)
    with pytest.raises(ValueError, match="monitor must be one of"):
        n_early_stopping.EarlyStopping(3, monitor="train_cost")
    with pytest.raises(ValueError, match="nothing to restore"):
        n_early_stopping.EarlyStopping(3).restore({})
