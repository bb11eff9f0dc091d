"""The bad-input contract of optim: the optimisers (``make_optimizer``, ``Optimizer.step``; torch's
``param_groups``, ``optimizer_state``).

For both ``scratch_numpy/optim.py`` and ``reference_torch/optim.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import (
    DTYPES, NOT_A_MODEL, OPTIMIZER_HP, TH_DTYPES, close, draw_layer_dims, fixed, fixed_gaps_test, fuzz, fuzz_test,
    make_case, named_if, same_dtype, spoil_model, th, tiny_np_net, tiny_th_net, tol,
)
from parity_tests.contract.strategies import (
    Bad, np_floats, positive, size, spoil_array, spoil_choice, spoil_count, spoil_extreme, spoil_flag,
    spoil_positive, spoil_unit,
)
from reference_torch import bridge
from reference_torch import models as th_models
from reference_torch import optim as th_optim
from scratch_numpy import models as np_models
from scratch_numpy import optim as np_optim


def _grads_like(draw, params, dtype):
    return {"d" + k: np_floats(draw, v.shape, dtype, scale=1.0, layouts=("C", "F")) for k, v in params.items()}


def _spoil_grads(draw, grads, *, squared: bool = False) -> Bad:
    """Bad gradients; with ``squared`` (RMSprop, Adam) also finite ones too large to square."""
    kind = draw(st.sampled_from(["entry", "entry", "missing", "not a dict"] + ["extreme"] * squared))
    if kind == "extreme":
        key = draw(st.sampled_from(sorted(grads)))
        return Bad({**grads, key: spoil_extreme(key, grads[key]).value}, f"grads[{key}] +-max/4", (key,))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(grads)))
        bad = spoil_array(draw, key, grads[key], fixed=(0, 1))
        return Bad({**grads, key: bad.value}, f"grads[{key}] {bad.kind}", (key,))
    if kind == "missing":
        key = draw(st.sampled_from(sorted(grads)))
        return Bad({k: v for k, v in grads.items() if k != key}, "grads without " + key, (key, "grads"))
    return Bad(list(grads.values()), kind, ("grads",))


def _optimizer_case(draw):
    """A NumPy optimiser and the torch one on a Network holding the same parameters."""
    dtype = draw(st.sampled_from(DTYPES))
    name = draw(st.sampled_from(sorted(OPTIMIZER_HP)))
    dims = draw_layer_dims(draw, 2, 3)
    net = np_models.Network(dims, "relu", "sigmoid" if dims[-1] == 1 else "softmax")
    params = net.init_params("he", rng=draw(st.integers(0, 99)), dtype=dtype)
    hp = {k: draw(st.floats(*bounds)) for k, bounds in OPTIMIZER_HP[name].items()}
    if name == "cs231n_momentum":
        hp["nesterov"] = draw(st.booleans())
    hp["lr"] = positive(draw, 1e-3, 0.5)
    if draw(st.booleans()):
        hp["l2_lambda"], hp["m"] = positive(draw, 0.0, 1.0, zero=True), size(draw, 1, 50)
    model = th_models.Network(dims, "relu", net.output, dtype=TH_DTYPES[dtype])
    bridge.params_to_module(params, model)
    return dtype, name, params, hp, model


@fuzz("np.optim.make_optimizer", 50)
def _np_make_optimizer(draw):
    dtype, name, params, hp, model = _optimizer_case(draw)
    valid = {"name": name, "params": params, **hp}

    def check(opt, kw):
        assert isinstance(opt, np_optim.OPTIMIZERS[name]) and opt.t == 0
    spoilers = {"name": lambda d: spoil_choice(d, "name", np_optim.OPTIMIZERS),
                "params": lambda d: _spoil_opt_params(d, params),
                "lr": lambda d: spoil_positive(d, "lr")}
    for k in OPTIMIZER_HP[name]:
        spoilers[k] = (lambda d, k=k: spoil_positive(d, k)) if k == "eps" else \
            (lambda d, k=k: spoil_unit(d, k, closed_low=True, closed_high=False))
    if "l2_lambda" in hp:
        spoilers["l2_lambda"] = lambda d: spoil_positive(d, "l2_lambda", allow_zero=True)
        spoilers["m"] = lambda d: Bad(d(st.sampled_from([0, -1, 2.5, "4"])), "m", ("m",))
    if name == "cs231n_momentum":
        spoilers["nesterov"] = lambda d: spoil_flag(d, "nesterov")
    return make_case(draw, lambda name, params, **kw: np_optim.make_optimizer(name, params, **kw), valid, spoilers,
                     check)


def _spoil_opt_params(draw, params) -> Bad:
    kind = draw(st.sampled_from(["entry", "empty", "not a dict"]))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(params)))
        bad = spoil_array(draw, key, params[key], pinned=False, exclude=("rank-down", "rank-up"))
        return Bad({**params, key: bad.value}, f"params[{key}] {bad.kind}", (key,))
    return Bad({} if kind == "empty" else list(params.values()), f"params {kind}", ("params",))


@fuzz("np.optim.Optimizer.step", 60)
def _np_optimizer_step(draw):
    dtype, name, params, hp, model = _optimizer_case(draw)
    opt = np_optim.make_optimizer(name, params, **hp)
    topt = th_optim.make_optimizer(name, model, **hp)
    steps = [_grads_like(draw, params, dtype) for _ in range(size(draw, 1, 3))]
    for grads in steps[:-1]:
        opt.step(params, grads)
    valid = {"params": params, "grads": steps[-1]}

    def check(out, kw):
        assert out is None and opt.t == len(steps)
        tparams = dict(bridge.course_parameters(model))
        for grads in steps:
            for k, p in tparams.items():
                p.grad = th(grads["d" + k]).reshape(p.shape).to(p.dtype)
            topt.step()
        for k, v in bridge.params_from_module(model).items():
            close(params[k], v, k, dtype=dtype, scale=max(1.0, np.abs(v).max()), rtol=10 * tol(dtype))
            same_dtype(params[k], dtype)
    return make_case(draw, opt.step, valid, {
        "params": lambda d: _spoil_step_params(d, params),
        "grads": lambda d: _spoil_grads(d, steps[-1], squared=opt.squares_gradients)}, check)


def _spoil_step_params(draw, params) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "missing", "not a dict"]))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(params)))
        bad = spoil_array(draw, key, params[key], fixed=(0, 1))
        return Bad({**params, key: bad.value}, f"params[{key}] {bad.kind}", (key,))
    if kind == "missing":
        return Bad({k: v for k, v in list(params.items())[1:]}, "params missing one", ("params",))
    return Bad(list(params.values()), kind, ("params",))


def _th_optimizer_case(draw):
    dtype, name, params, hp, model = _optimizer_case(draw)
    return dtype, name, params, hp, model


@fuzz("th.optim.make_optimizer", 40)
def _th_make_optimizer(draw):
    dtype, name, params, hp, model = _th_optimizer_case(draw)

    def check(opt, kw):
        assert isinstance(opt, torch.optim.Optimizer)
        assert th_optim.penalty(opt) == pytest.approx(np_optim.make_optimizer(name, params, **hp).penalty(params))
    spoilers = {"name": lambda d: spoil_choice(d, "name", th_optim.HYPERPARAMETERS),
                "lr": lambda d: spoil_positive(d, "lr"),
                "unknown": lambda d: Bad(0.5, "unknown hyperparameter", ("unknown",))}
    for k in OPTIMIZER_HP[name]:
        spoilers[k] = (lambda d, k=k: spoil_positive(d, k)) if k == "eps" else \
            (lambda d, k=k: spoil_unit(d, k, closed_low=True, closed_high=False))
    if "l2_lambda" in hp:
        spoilers["l2_lambda"] = lambda d: spoil_positive(d, "l2_lambda", allow_zero=True)
        spoilers["m"] = lambda d: named_if(Bad(d(st.sampled_from([0, -1, 2.5, "4"])), "m", ("m",)),
                                           must_fail=hp["l2_lambda"] > 0)
    if name == "cs231n_momentum":
        spoilers["nesterov"] = lambda d: spoil_flag(d, "nesterov")
    spoilers["model"] = spoil_model
    return make_case(draw, th_optim.make_optimizer, {"name": name, "model": model, **hp}, spoilers, check)


@fuzz("th.models.Network.param_groups", 25)
def _th_param_groups(draw):
    dtype, name, params, hp, model = _th_optimizer_case(draw)
    lam, m = positive(draw, 0.0, 1.0, zero=True), size(draw, 1, 50)

    def check(groups, kw):
        assert groups[0]["weight_decay"] == pytest.approx(lam / m if lam else 0.0) and groups[1]["weight_decay"] == 0
    return make_case(draw, model.param_groups, {"l2_lambda": lam, "m": m}, {
        "l2_lambda": lambda d: spoil_positive(d, "l2_lambda", allow_zero=True),
        "m": lambda d: named_if(spoil_count(d, "m"), must_fail=lam > 0)}, check)


@fuzz("th.optim.optimizer_state", 25)
def _th_optimizer_state(draw):
    dtype, name, params, hp, model = _th_optimizer_case(draw)
    opt = th_optim.make_optimizer(name, model, **hp)
    nopt = np_optim.make_optimizer(name, params, **hp)
    grads = _grads_like(draw, params, dtype)
    for k, p in bridge.course_parameters(model):
        p.grad = th(grads["d" + k]).reshape(p.shape)
    opt.step()
    nopt.step(params, grads)

    def check(state, kw):
        for key in nopt.state_names:
            for k, v in getattr(nopt, key).items():
                close(state[key][k], v, f"{key}[{k}]", dtype=dtype, scale=max(1.0, np.abs(v).max()))
    return make_case(draw, th_optim.optimizer_state, {"optimizer": opt, "model": model}, {
        "optimizer": lambda d: spoil_model(d, "optimizer"), "model": spoil_model}, check)


def _np_adam_step(scale):
    params = tiny_np_net().init_params()
    grads = {"d" + k: np.full_like(v, scale) for k, v in params.items()}
    return np_optim.make_optimizer("adam", params, lr=0.01).step(params, grads)


def _th_adam_step(scale):
    model = tiny_th_net()
    optimizer = th_optim.make_optimizer("adam", model, lr=0.01)
    for p in model.parameters():
        p.grad = torch.full_like(p, scale)
    return optimizer.step()


FIXED_GAPS = [
    fixed("th-make_optimizer-model", lambda: th_optim.make_optimizer("gd", NOT_A_MODEL, lr=0.1), "model"),
    fixed("th-optimizer_state-args", lambda: th_optim.optimizer_state(NOT_A_MODEL, tiny_th_net()), "optimizer"),
    # extremes whose mathematics is finite: refused, with the same reason, on both sides (CONVENTIONS.md)
    fixed("adam-gradient-1e200", lambda: _np_adam_step(1e200), "grads['dW1']"),
    fixed("th-adam-gradient-1e200", lambda: _th_adam_step(1e200), "p.grad"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
