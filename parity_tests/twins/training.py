"""The mini-batch training loop: one network trained the same number of updates by both loops.

Names: outputs never start with "d" (hence "accuracy (dev)"); parameters and optimiser state
after training contain "after" ("W1 after 200 steps").
"""

from __future__ import annotations

import math
import re

import numpy as np

from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import training as t_training
from scratch_numpy import minibatch as n_minibatch
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import training as n_training

from ..checker.harness import compare
from .common import case, steps_text, trajectory_tolerance
from .minibatch import TORCH_SAMPLER_DROPPED
from .models import DECAY_NOT_PER_EXAMPLE
from .mutant import Mutant
from .optim import (NUMPY_DECAY_HALVED, NUMPY_UPDATES, OPTIMIZER_LABELS, OPTIMIZERS, TORCH_MAKERS, hyperparameters,
                    state_rows)


def _training_data(rng, layer_dims, dtype, m, m_dev):
    X = rng.standard_normal((layer_dims[0], m)).astype(dtype)
    X_dev = rng.standard_normal((layer_dims[0], m_dev)).astype(dtype)
    # labels from a fixed random linear rule, so that there is something to learn
    w = rng.standard_normal((1, layer_dims[0]))
    Y = (w @ X > 0).astype(np.int64)
    Y_dev = (w @ X_dev > 0).astype(np.int64)
    return X, Y, X_dev, Y_dev


def trajectory_pair(variant: str = "adam", *, dtype="float64", device="cpu", schedule=None, steps=200,
                    layer_dims=(5, 8, 6, 1), m=60, batch_size=16, seed=0, l2_lambda=0.0, sampling="shuffle",
                    hidden="relu"):
    """The same network trained ``steps`` mini-batch updates by both training loops.

    m = 60 with batches of 16 gives 4 updates per epoch, the last on a partial batch of
    12; 200 steps are 50 epochs. Returns (numpy rows, torch rows): per-iteration costs and
    rates, per-epoch costs and accuracies, every parameter and optimiser state at the end.
    """
    name, hp = hyperparameters(variant, l2_lambda, m)
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, hidden, "sigmoid" if layer_dims[-1] == 1 else "softmax")
    params = net.init_params("he", rng, dtype)
    X, Y, X_dev, Y_dev = _training_data(rng, layer_dims, dtype, m, m // 2)
    per_epoch = n_minibatch.iterations_per_epoch(m, batch_size) if sampling == "replacement" \
        else math.ceil(m / batch_size)
    epochs = math.ceil(steps / per_epoch)
    order = {"seed": seed} if sampling == "replacement" else \
        {"permutations": n_minibatch.draw_permutations(m, epochs, seed)}

    model = t_models.Network(layer_dims, hidden, net.output, dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    Xt, yt = bridge.data_to_torch(X, Y, device)
    Xt_dev, yt_dev = bridge.data_to_torch(X_dev, Y_dev, device)

    optimizer = n_optim.make_optimizer(name, params, **hp)
    history = n_training.train(net, params, X, Y, optimizer, epochs=epochs, batch_size=batch_size,
                               schedule=schedule, X_dev=X_dev, Y_dev=Y_dev, sampling=sampling, **order)
    optimizer_t = t_optim.make_optimizer(name, model, **hp)
    history_t = t_training.train(model, Xt, yt, optimizer_t, epochs=epochs, batch_size=batch_size,
                                 schedule=schedule, X_dev=Xt_dev, y_dev=yt_dev, sampling=sampling, **order)

    done = steps_text(len(history.costs))
    state_t = t_optim.optimizer_state(optimizer_t, model)
    state = {k: v for k, v in optimizer.state.items() if k in state_t}

    def rows(h, final, st):
        return {"costs": np.asarray(h.costs, dtype), "epoch costs": np.asarray(h.epoch_costs, dtype),
                "learning rates": np.asarray(h.learning_rates), "accuracy (train)": np.asarray(h.train_accuracy),
                "accuracy (dev)": np.asarray(h.dev_accuracy),
                **{f"{k} after {done}": v for k, v in final.items()}, **state_rows(st, done)}

    return rows(history, params, state), rows(history_t, bridge.params_from_module(model), state_t)


def moment_scales(rows: dict, dtype) -> dict:
    """{row: scale} for the float32 optimiser-moment rows ("v_db3 after 200 steps", "s_dW3 ..."): the
    largest entry of that moment in that layer (v_dW3 and v_db3 share one). A bias's gradient is a
    sum over the batch whose terms cancel, and its moment an average of such sums over the steps:
    its rounding is the size of the layer's other gradients, not of the small result (float32, 200
    Adam steps: v_db3 = -3.0e-5 moved by 1.1e-8 on one CPU's kernels). float64: none (its rounding
    stays far inside the tolerance)."""
    if dtype != "float32":
        return {}
    layer = {name: m.groups() for name in rows if (m := re.match(r"^([vs])_d[A-Za-z]+(\d+) ", name))}
    largest = {}
    for name, key in layer.items():
        largest[key] = max(largest.get(key, 0.0), float(np.abs(rows[name]).max(initial=0.0)))
    return {name: largest[key] for name, key in layer.items()}


def trajectory(variant: str = "adam", dtype="float64", device="cpu", **kw):
    """Parity of ``trajectory_pair`` under the trajectory tolerance (moments scaled per layer in float32)."""
    schedule = kw.get("schedule")
    what = f", schedule {schedule['name'] if isinstance(schedule, dict) else schedule}" if schedule else ""
    numpy_rows, torch_rows = trajectory_pair(variant, dtype=dtype, device=device, **kw)
    return compare(numpy_rows, torch_rows, tolerance=trajectory_tolerance(dtype),
                   scales=moment_scales(torch_rows, dtype),
                   label=f"{OPTIMIZER_LABELS[variant]}{what}, {kw.get('steps', 200)} mini-batch steps")


CASES = [
    *[(f"{OPTIMIZER_LABELS[v]}: 200 mini-batch steps", case(trajectory, v)) for v in OPTIMIZERS],
    ("Adam + L2: 200 mini-batch steps", case(trajectory, "adam", l2_lambda=0.7)),
]

def _last_parameter_skipped(original):
    def step(self, params, grads):   # off by one: the loop over the parameters stops before b_L
        last = list(self.shapes)[-1]
        kept = params[last].copy()
        original(self, params, grads)
        params[last][...] = kept
    return step


NUMPY_LAST_SKIPPED = Mutant("numpy", "scratch_numpy.optim.Optimizer.step", "the last parameter (b_L) never updated",
                            _last_parameter_skipped)
# gradient ascent and a flipped velocity diverge within 200 steps, and the loop refuses the overflow
# (a raise, not wrong numbers): these rows get the off-by-one instead
DIVERGING = ("gd", "cs231n_momentum")

MUTANTS = {
    **{f"{OPTIMIZER_LABELS[v]}: 200 mini-batch steps": [
        NUMPY_LAST_SKIPPED if v in DIVERGING else NUMPY_UPDATES[v], TORCH_MAKERS[v], TORCH_SAMPLER_DROPPED]
       for v in OPTIMIZERS},
    "Adam + L2: 200 mini-batch steps": [
        NUMPY_DECAY_HALVED,
        Mutant("numpy", "scratch_numpy.optim.Optimizer.penalty", "the L2 term left out of the recorded cost",
               lambda original: lambda self, params: 0.0),
        DECAY_NOT_PER_EXAMPLE],
}
