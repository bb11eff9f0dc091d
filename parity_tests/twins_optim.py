"""Twin runs for optimisation: mini-batches, EWA, optimisers, schedules, the training loop.

Each function draws its inputs once with NumPy (seeded), runs the NumPy side and
the torch side on copies, and returns a ``ParityReport``. Names: outputs never
start with "d" (hence "accuracy (dev)"); updated parameters and optimiser state
contain "after" ("W1 after 200 steps", "v_dW1 after 1 step"). ``CASES`` lists one row per
concept for the parity report: (label, run(dtype, device) -> ParityReport).

Bridged conventions (CONVENTIONS.md): the course's momentum is torch's
SGD(momentum=beta, dampening=beta) with a zero momentum buffer preset;
cs231n's velocity v is -lr times torch's buffer; RMSprop's decay beta is
torch's alpha; L2 is weight_decay = lambda/m on the weight group only.
Gradients fed to single steps are random normal, never all ones.
"""

from __future__ import annotations

import math
import re

import numpy as np

from reference_torch import bridge
from reference_torch import ewa as t_ewa
from reference_torch import minibatch as t_minibatch
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from reference_torch import schedules as t_schedules
from reference_torch import training as t_training
from scratch_numpy import ewa as n_ewa
from scratch_numpy import minibatch as n_minibatch
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim
from scratch_numpy import schedules as n_schedules
from scratch_numpy import training as n_training

from .checker.harness import Tolerance, compare

EXACT = Tolerance(rtol=0.0, atol_scale=0.0)
# 200 float32 steps accumulate one rounding per step (Adam and RMSprop divide by
# sqrt(s), which amplifies it where s is small): float32's per-step tolerance, widened.
FLOAT32_TRAJECTORY = Tolerance(rtol=1e-4, atol_scale=1e-4)
# Done-criterion for 200 float64 steps: parameters within 1e-10 relative.
FLOAT64_TRAJECTORY = Tolerance(rtol=1e-10, atol_scale=1e-12)

# variant -> (optimizer name, hyperparameters) shared by both make_optimizer functions
OPTIMIZERS = {
    "gd": ("gd", {"lr": 0.1}),
    "momentum": ("momentum", {"lr": 0.1, "beta": 0.9}),
    "cs231n_momentum": ("cs231n_momentum", {"lr": 0.1, "mu": 0.9}),
    "nesterov": ("cs231n_momentum", {"lr": 0.1, "mu": 0.9, "nesterov": True}),
    "rmsprop": ("rmsprop", {"lr": 0.01, "beta": 0.9, "eps": 1e-8}),
    "adam": ("adam", {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
}
OPTIMIZER_LABELS = {
    "gd": "gradient descent", "momentum": "momentum (course, v0 = 0)",
    "cs231n_momentum": "momentum (cs231n, v = mu v - lr dw)", "nesterov": "Nesterov momentum (cs231n)",
    "rmsprop": "RMSprop", "adam": "Adam (bias-corrected)",
}
# schedule -> hyperparameters; the rates of 50 epochs (or 50 mini-batches) are compared
SCHEDULES = {
    "constant": {},
    "inverse_time": {"decay_rate": 0.3},
    "exponential": {"base": 0.95},
    "inverse_sqrt_epoch": {"k": 1.0},
    "inverse_sqrt_step": {"k": 1.0},
    "staircase": {"decay_rate": 0.5, "time_interval": 10},
}


def _random_params(rng, layer_dims, dtype):
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1])).astype(dtype)
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1)).astype(dtype)
    return params


def _module(layer_dims, dtype, device, params):
    output = "sigmoid" if layer_dims[-1] == 1 else "softmax"
    model = t_models.Network(layer_dims, "relu", output, dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return model


def _set_grads(model, grads, device):
    for l, layer in enumerate(model.linears, start=1):
        layer.weight.grad = bridge.to_tensor(grads[f"dW{l}"], device)
        layer.bias.grad = bridge.to_tensor(np.ascontiguousarray(grads[f"db{l}"][:, 0]), device)


def _state_rows(state, suffix):
    """{"v_dW1 after ...": array, ..., "t after ...": float64} from a state dict."""
    rows = {}
    for name, value in state.items():
        if name == "t":
            rows[f"t after {suffix}"] = np.float64(value)
        else:
            rows.update({f"{name}_{key} after {suffix}": array for key, array in value.items()})
    return rows


def _steps_text(steps):
    return f"{steps} step" + ("" if steps == 1 else "s")


def optimizer_step_pair(variant: str, *, dtype="float64", device="cpu", layer_dims=(4, 5, 3), steps=1, seed=0,
                        l2_lambda=0.0, m=10, scale=1.0):
    """``steps`` updates from random parameters and random gradients on both sides.

    Returns (numpy rows, torch rows): every parameter and every piece of optimiser
    state after the last step (cs231n's v compared with -lr * torch's buffer; no t for SGD).
    ``scale`` multiplies the gradients (small gradients probe eps in RMSprop and Adam).
    """
    name, hp = OPTIMIZERS[variant]
    hp = {**hp, **({"l2_lambda": l2_lambda, "m": m} if l2_lambda else {})}
    rng = np.random.default_rng(seed)
    params = _random_params(rng, layer_dims, dtype)
    grads = [{f"d{k}": (scale * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
             for _ in range(steps)]
    model = _module(layer_dims, dtype, device, params)

    numpy_params = {k: v.copy() for k, v in params.items()}
    optimizer = n_optim.make_optimizer(name, numpy_params, **hp)
    for g in grads:
        optimizer.step(numpy_params, g)

    optimizer_t = t_optim.make_optimizer(name, model, **hp)
    for g in grads:
        _set_grads(model, g, device)
        optimizer_t.step()

    suffix = _steps_text(steps)
    state_t = t_optim.optimizer_state(optimizer_t, model)
    state = {k: v for k, v in optimizer.state.items() if k in state_t}
    numpy_rows = {**{f"{k} after {suffix}": v for k, v in numpy_params.items()}, **_state_rows(state, suffix)}
    torch_rows = {**{f"{k} after {suffix}": v for k, v in bridge.params_from_module(model).items()},
                  **_state_rows(state_t, suffix)}
    return numpy_rows, torch_rows


def optimizer_step(variant: str, dtype="float64", device="cpu", **kw):
    """Parity of ``optimizer_step_pair`` with the dtype's default tolerance."""
    steps = kw.get("steps", 1)
    l2 = f" + L2 lambda={kw['l2_lambda']}" if kw.get("l2_lambda") else ""
    return compare(*optimizer_step_pair(variant, dtype=dtype, device=device, **kw),
                   label=f"{OPTIMIZER_LABELS[variant]}{l2}, {_steps_text(steps)}")


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
    name, hp = OPTIMIZERS[variant]
    hp = {**hp, **({"l2_lambda": l2_lambda, "m": m} if l2_lambda else {})}
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

    done = _steps_text(len(history.costs))
    state_t = t_optim.optimizer_state(optimizer_t, model)
    state = {k: v for k, v in optimizer.state.items() if k in state_t}

    def rows(h, final, st):
        return {"costs": np.asarray(h.costs, dtype), "epoch costs": np.asarray(h.epoch_costs, dtype),
                "learning rates": np.asarray(h.learning_rates), "accuracy (train)": np.asarray(h.train_accuracy),
                "accuracy (dev)": np.asarray(h.dev_accuracy),
                **{f"{k} after {done}": v for k, v in final.items()}, **_state_rows(st, done)}

    return rows(history, params, state), rows(history_t, bridge.params_from_module(model), state_t)


def _trajectory_tolerance(dtype):
    return FLOAT32_TRAJECTORY if dtype == "float32" else FLOAT64_TRAJECTORY


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
    schedule = kw.get("schedule")
    what = f", schedule {schedule['name'] if isinstance(schedule, dict) else schedule}" if schedule else ""
    numpy_rows, torch_rows = trajectory_pair(variant, dtype=dtype, device=device, **kw)
    return compare(numpy_rows, torch_rows, tolerance=_trajectory_tolerance(dtype),
                   scales=moment_scales(torch_rows, dtype), label=f"{OPTIMIZER_LABELS[variant]}{what}, {kw.get('steps', 200)} mini-batch steps")


def schedule_rates_pair(name: str, *, alpha0=0.1, n=50, **hyperparameters):
    """The rates of counts 0..n-1: NumPy's Schedule vs a LambdaLR stepped n - 1 times."""
    hp = {**SCHEDULES[name], **hyperparameters}
    rates = n_schedules.make_schedule(name, **hp).rates(alpha0, n)
    rates_t = t_schedules.learning_rates(name, alpha0, n, **hp)
    return np.asarray(rates), np.asarray(rates_t)


def schedule(name: str, dtype="float64", device="cpu", *, variant="adam", steps=200, seed=0):
    """50 counts of rates (equal bit for bit: max abs 0 in the table), then a ``steps``-update
    training run under the schedule, in one report (the trajectory's tolerance)."""
    rates, rates_t = schedule_rates_pair(name)
    numpy_rows, torch_rows = trajectory_pair(variant, dtype=dtype, device=device, steps=steps, seed=seed,
                                             schedule={"name": name, **SCHEDULES[name]})
    return compare({"learning rates over 50 counts": rates, **numpy_rows},
                   {"learning rates over 50 counts": rates_t, **torch_rows},
                   tolerance=_trajectory_tolerance(dtype), scales=moment_scales(torch_rows, dtype),
                   label=f"LR decay {name}: 50 rates, {OPTIMIZER_LABELS[variant]} {steps} steps")


def minibatches_pair(*, sampling="shuffle", dtype="float64", device="cpu", n_x=3, m=37, batch_size=8, seed=0,
                     epochs=2):
    """Every batch of ``epochs`` epochs as the NumPy slices and as the DataLoader yields them.

    Rows "X batch e.k" (n_x, b) and "Y batch e.k" (1, b), plus "batch sizes"."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m)).astype(dtype)
    Y = rng.integers(0, 2, size=(1, m))
    Xt, yt = bridge.data_to_torch(X, Y, device)
    order = {"seed": seed} if sampling == "replacement" else \
        {"permutations": n_minibatch.draw_permutations(m, epochs, seed)}
    batches = n_minibatch.epoch_index_batches(m, epochs=epochs, batch_size=batch_size, sampling=sampling, **order)
    numpy_rows, torch_rows, sizes, sizes_t = {}, {}, [], []
    for e, epoch_batches in enumerate(batches):
        if sampling == "shuffle":   # the course's function, from the permutation itself
            pairs = n_minibatch.mini_batches(X, Y, batch_size, order["permutations"][e])
        else:
            pairs = n_minibatch.select(X, Y, epoch_batches)
        loader = t_minibatch.epoch_loader(Xt, yt, epoch_batches, sampling=sampling, batch_size=batch_size)
        for k, (X_b, Y_b) in enumerate(pairs):
            numpy_rows.update({f"X batch {e}.{k}": X_b, f"Y batch {e}.{k}": Y_b})
            sizes.append(Y_b.shape[1])
        for k, (X_b, y_b) in enumerate(loader):
            torch_rows.update({f"X batch {e}.{k}": X_b.T, f"Y batch {e}.{k}": y_b[None, :]})
            sizes_t.append(len(y_b))
    numpy_rows["batch sizes"] = np.asarray(sizes, dtype=np.int64)
    torch_rows["batch sizes"] = np.asarray(sizes_t, dtype=np.int64)
    return numpy_rows, torch_rows


def minibatches(sampling="shuffle", dtype="float64", device="cpu", **kw):
    """The batches must be identical, bit for bit."""
    bs = kw.get("batch_size", 8)
    return compare(*minibatches_pair(sampling=sampling, dtype=dtype, device=device, **kw), tolerance=EXACT,
                   label=f"mini-batches ({sampling}, batch_size={bs})")


def ewa_pair(*, dtype="float64", device="cpu", beta=0.9, bias_correction=False, T=50, shape=(3,), seed=0):
    """v_1..v_T (optionally bias-corrected) of a random sequence: NumPy vs torch's EMA update."""
    thetas = np.random.default_rng(seed).standard_normal((T, *shape)).astype(dtype)
    averages = n_ewa.ewa(thetas, beta, bias_correction=bias_correction)
    averages_t = t_ewa.ewa(bridge.to_tensor(thetas, device), beta, bias_correction=bias_correction)
    return {"averages": averages}, {"averages": averages_t}


def ewa(dtype="float64", device="cpu", *, bias_correction=False, **kw):
    what = "bias-corrected" if bias_correction else "no bias correction"
    return compare(*ewa_pair(dtype=dtype, device=device, bias_correction=bias_correction, **kw),
                   label=f"EWA beta=0.9, {what}")


def _case(fn, *args, **kw):
    return lambda dtype, device: fn(*args, dtype=dtype, device=device, **kw)


CASES = [
    ("mini-batches: shuffle + partition, last batch partial", _case(minibatches, "shuffle")),
    ("mini-batches: batch gradient descent (batch = m)", _case(minibatches, "shuffle", batch_size=37)),
    ("mini-batches: stochastic (batch = 1)", _case(minibatches, "shuffle", batch_size=1, m=9)),
    ("mini-batches: sampling with replacement (cs231n)", _case(minibatches, "replacement")),
    ("EWA v = beta v + (1 - beta) theta", _case(ewa)),
    ("EWA with bias correction v / (1 - beta^t)", _case(ewa, bias_correction=True)),
    *[(f"{OPTIMIZER_LABELS[v]}: 3 single steps", _case(optimizer_step, v, steps=3)) for v in OPTIMIZERS],
    ("momentum + L2 (weight_decay = lambda/m on W only): 3 steps",
     _case(optimizer_step, "momentum", steps=3, l2_lambda=0.7)),
    ("Adam + L2 (weight_decay = lambda/m on W only): 3 steps", _case(optimizer_step, "adam", steps=3, l2_lambda=0.7)),
    *[(f"{OPTIMIZER_LABELS[v]}: 200 mini-batch steps", _case(trajectory, v)) for v in OPTIMIZERS],
    ("Adam + L2: 200 mini-batch steps", _case(trajectory, "adam", l2_lambda=0.7)),
    *[(f"LR decay {name}: rates and 200 steps", _case(schedule, name)) for name in SCHEDULES],
]
