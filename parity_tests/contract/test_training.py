"""The bad-input contract of training: the training loop (``training.train``, both sides).

For both ``scratch_numpy/training.py`` and ``reference_torch/training.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    NOT_A_MODEL, OPTIMIZER_HP, close, finite, fixed, fixed_gaps_test, fuzz, fuzz_test, labels_row, make_case,
    NetCase, spoil_model, spoil_network, spoil_rng, th, tiny_np_net, tiny_th_net, tiny_xn, tiny_xt, tiny_yn, tiny_yt,
    tol,
)
from parity_tests.contract.strategies import (
    Bad, positive, size, spoil_array, spoil_choice, spoil_count, spoil_np_labels, spoil_tensor, spoil_th_labels,
)
from reference_torch import bridge
from reference_torch import optim as th_optim
from reference_torch import training as th_train
from scratch_numpy import minibatch as np_mb
from scratch_numpy.contract import SAMPLING
from scratch_numpy import optim as np_optim
from scratch_numpy import training as np_train


def _bn_safe_batch_size(draw, m, bn):
    """A batch size whose batches all hold >= 2 examples when batch norm trains on them."""
    options = [b for b in range(1, m + 1) if not bn or (b >= 2 and m % b != 1)] or [m]
    return draw(st.sampled_from(options))


@fuzz("np.training.train", 30)
def _np_train(draw):
    c = NetCase(draw, train=True, dropout=False)
    if c.kw.get("batch_norm") and c.m < 2:
        c = NetCase(draw, train=True, dropout=False, bn=False)
    name = draw(st.sampled_from(sorted(OPTIMIZER_HP)))
    hp = {k: draw(st.floats(*bounds)) for k, bounds in OPTIMIZER_HP[name].items()}
    hp["lr"] = positive(draw, 1e-3, 0.3)
    optimizer = np_optim.make_optimizer(name, c.params, **hp)
    toptimizer = th_optim.make_optimizer(name, c.model, **hp)
    sampling = draw(st.sampled_from(["shuffle", "replacement"])) if not c.net.batch_norm else "shuffle"
    epochs = size(draw, 1, 2)
    valid = {"network": c.net, "params": c.params, "X": c.X, "Y": c.Y, "optimizer": optimizer, "epochs": epochs,
             "batch_size": _bn_safe_batch_size(draw, c.m, c.net.batch_norm), "sampling": sampling,
             "schedule": draw(st.sampled_from([None, "inverse_time", {"name": "exponential", "base": 0.9},
                                               "inverse_sqrt_step"]))}
    if name == "cs231n_momentum":   # a changing rate rescales cs231n's velocity, not torch's buffer (CONVENTIONS.md)
        valid["schedule"] = None
    if sampling == "shuffle" and draw(st.booleans()):
        valid["permutations"] = np_mb.draw_permutations(c.m, epochs, 1)
    else:
        valid["seed"] = draw(st.integers(0, 99))
    if draw(st.booleans()):
        valid["X_dev"], valid["Y_dev"] = c.X[:, ::-1].copy(), c.Y[:, ::-1].copy()

    def check(history, kw):
        assert isinstance(history, np_train.History) and history.epochs_run == epochs
        finite(history.costs, history.epoch_costs)
        th_hist = th_train.train(c.model, c.Xt, c.yt, toptimizer, epochs=epochs, batch_size=kw["batch_size"],
                                 permutations=kw.get("permutations"), seed=kw.get("seed"), sampling=sampling,
                                 schedule=kw["schedule"], X_dev=None if "X_dev" not in kw else th(kw["X_dev"]).T,
                                 y_dev=None if "Y_dev" not in kw else labels_row(kw["Y_dev"]))
        r = 30 * tol(c.dtype)
        close(history.costs, th_hist.costs, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, history.costs))), rtol=r)
        close(history.learning_rates, th_hist.learning_rates, "learning rates", dtype=c.dtype)
        for k, v in bridge.params_from_module(c.model).items():
            close(kw["params"][k], v, k, dtype=c.dtype, scale=max(1.0, np.abs(v).max()), rtol=r)
    spoilers = {"X": lambda d: spoil_array(d, "X", c.X, fixed=(0,), also=("Y",)),
                "Y": lambda d: spoil_np_labels(d, "Y", c.Y, c.net.num_classes, also=("X",)),
                "epochs": lambda d: spoil_count(d, "epochs"), "batch_size": lambda d: spoil_count(d, "batch_size"),
                "sampling": lambda d: spoil_choice(d, "sampling", SAMPLING),
                "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3, {"name": "constant", "k": 1}])), "schedule",
                                          ("schedule", "k")),
                "optimizer": lambda d: Bad(d(st.sampled_from([None, "adam", toptimizer])), "optimizer",
                                           ("optimizer",)),
                "callback": lambda d: Bad("print", "callback not callable", ("callback",)),
                "early_stopping": lambda d: Bad(3, "early_stopping not callable", ("early_stopping",)),
                "network": spoil_network}
    if "X_dev" in valid:
        spoilers["X_dev"] = lambda d: spoil_array(d, "X_dev", valid["X_dev"], fixed=(0,), also=("Y_dev",))
        spoilers["Y_dev"] = lambda d: spoil_np_labels(d, "Y_dev", valid["Y_dev"], c.net.num_classes, also=("X_dev",))
    if "seed" in valid:
        spoilers["seed"] = lambda d: spoil_rng(d, "seed")
    return make_case(draw, np_train.train, valid, spoilers, check)


@fuzz("th.training.train", 25)
def _th_train(draw):
    c = NetCase(draw, train=True, dropout=False)
    name = draw(st.sampled_from(sorted(OPTIMIZER_HP)))
    hp = {k: draw(st.floats(*bounds)) for k, bounds in OPTIMIZER_HP[name].items()}
    hp["lr"] = positive(draw, 1e-3, 0.3)
    toptimizer = th_optim.make_optimizer(name, c.model, **hp)
    optimizer = np_optim.make_optimizer(name, c.params, **hp)
    sampling = draw(st.sampled_from(["shuffle", "replacement"])) if not c.net.batch_norm else "shuffle"
    epochs = size(draw, 1, 2)
    valid = {"model": c.model, "X": c.Xt, "y": c.yt, "optimizer": toptimizer, "epochs": epochs,
             "batch_size": _bn_safe_batch_size(draw, c.m, c.net.batch_norm), "sampling": sampling,
             "seed": draw(st.integers(0, 99)),
             "schedule": None if name == "cs231n_momentum" else draw(st.sampled_from([None, "inverse_time"]))}

    def check(history, kw):
        nhist = np_train.train(c.net, c.params, c.X, c.Y, optimizer, epochs=epochs, batch_size=kw["batch_size"],
                               seed=kw["seed"], sampling=sampling, schedule=kw["schedule"])
        close(history.costs, nhist.costs, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, nhist.costs))),
              rtol=30 * tol(c.dtype))
    return make_case(draw, th_train.train, valid, {
        "X": lambda d: spoil_tensor(d, "X", c.Xt, fixed=(1,), also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", c.yt, c.net.num_classes, also=("X",)),
        "epochs": lambda d: spoil_count(d, "epochs"), "batch_size": lambda d: spoil_count(d, "batch_size"),
        "sampling": lambda d: spoil_choice(d, "sampling", SAMPLING),
        "optimizer": lambda d: Bad(d(st.sampled_from([None, "adam", optimizer])), "optimizer", ("optimizer",)),
        "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3])), "schedule", ("schedule",)),
        "model": spoil_model, "seed": lambda d: spoil_rng(d, "seed")},
        check)


def _np_train_with_dev(X_dev, Y_dev):
    net = tiny_np_net()
    params = net.init_params()
    return np_train.train(net, params, tiny_xn(), tiny_yn(), np_optim.make_optimizer("gd", params, lr=0.1), epochs=1,
                          batch_size=2, seed=0, X_dev=X_dev, Y_dev=Y_dev)


FIXED_GAPS = [
    fixed("dev-data-named-X", lambda: _np_train_with_dev(tiny_xn(3, 4), tiny_yn()), "X_dev"),
    fixed("th-train-model",
          lambda: th_train.train(NOT_A_MODEL, tiny_xt(), tiny_yt(), torch.optim.SGD(tiny_th_net().parameters(), lr=0.1),
                                 epochs=1, batch_size=2, seed=0), "model"),
    fixed("train-network", lambda: np_train.train("net", {}, tiny_xn(), tiny_yn(), np_optim.make_optimizer(
        "gd", tiny_np_net().init_params(), lr=0.1), epochs=1, batch_size=2, seed=0), "network"),
    fixed("th-train-other-optimizer",
          lambda: th_train.train(tiny_th_net(), tiny_xt(), tiny_yt(),
                                 torch.optim.SGD(tiny_th_net().parameters(), lr=0.1), epochs=1, batch_size=2, seed=0),
          "optimizer"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
