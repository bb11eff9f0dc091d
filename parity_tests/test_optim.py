"""Optimisers: NumPy's update rules against torch.optim configured to match.

Single steps from random parameters and random gradients (never all ones):
every parameter and every piece of state (v, s, t) after 1 and 3 steps. The
bound is a few units in the last place of each tensor's scale,
|numpy - torch| <= 1e-15 * max|tensor| in float64 (4.5 ulps) and 1e-6 in
float32 (8 ulps): the two sides evaluate the same formulas, sometimes in
another order (Adam) and with or without fused multiply-add, so bitwise
agreement is not promised. The measured worst cases are printed (pytest -s).

Then the conventions where torch's formula differs from the textbook, each
demonstrated: SGD momentum's first step and dampening, cs231n's velocity,
Nesterov, RMSprop's eps and missing bias correction, Adam's bias correction
and eps, weight_decay versus lambda/m on W only, AdamW's default decay.
"""

import re

import numpy as np
import pytest
import torch

from parity_tests import twins
from parity_tests.checker.harness import Tolerance, compare
from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from scratch_numpy import ewa as n_ewa
from scratch_numpy import losses as n_losses
from scratch_numpy import optim as n_optim

SINGLE_STEP = {"float64": Tolerance(rtol=0.0, atol_scale=1e-15), "float32": Tolerance(rtol=0.0, atol_scale=1e-6)}
SHAPES = [((4, 5, 3), 0), ((7, 2, 6, 3), 1), ((3, 1), 2)]


def normwise(numpy_rows, torch_rows):
    """max over tensors of max|a - b| / max|a|, the measure SINGLE_STEP bounds."""
    worst = 0.0
    for key, a in numpy_rows.items():
        b = bridge.to_numpy(torch_rows[key]) if isinstance(torch_rows[key], torch.Tensor) else torch_rows[key]
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        scale = max(np.abs(a).max(), np.abs(b).max())
        worst = max(worst, float(np.abs(a - b).max() / scale) if scale else 0.0)
    return worst


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("layer_dims, seed", SHAPES, ids=["4-5-3", "7-2-6-3", "3-1"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("variant", list(twins.optim.OPTIMIZERS))
def test_single_step_parity(variant, dtype, layer_dims, seed, steps, device):
    numpy_rows, torch_rows = twins.optim.optimizer_step_pair(variant, dtype=dtype, device=device, steps=steps,
                                                             layer_dims=layer_dims, seed=seed)
    report = compare(numpy_rows, torch_rows, tolerance=SINGLE_STEP[dtype], label=f"{variant} {steps} step(s)")
    worst = max(d.max_rel for d in report.diffs)
    print(f"\n{variant} {dtype} {layer_dims} {steps} step(s): normwise {normwise(numpy_rows, torch_rows):.2e}, "
          f"elementwise {worst:.2e}")
    report.assert_passed()
    compare(numpy_rows, torch_rows).assert_passed()        # and the project's default tolerance
    assert any(name.startswith("v_") or name.startswith("s_") for name in numpy_rows) or variant == "gd"


@pytest.mark.parametrize("variant", list(twins.optim.OPTIMIZERS))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_single_step_parity_with_l2_on_weights_only(variant, dtype, device):
    numpy_rows, torch_rows = twins.optim.optimizer_step_pair(variant, dtype=dtype, device=device, steps=3,
                                                             l2_lambda=0.7, m=10, seed=5)
    compare(numpy_rows, torch_rows, tolerance=SINGLE_STEP[dtype]).assert_passed()


@pytest.mark.parametrize("variant", ["rmsprop", "adam"])
@pytest.mark.parametrize("scale", [1e-6, 1e-9, 1e-12])
def test_eps_placement_agrees_when_gradients_are_tiny(variant, scale):
    """With |dW| near eps = 1e-8 the placement of eps decides the step: both sides still agree."""
    numpy_rows, torch_rows = twins.optim.optimizer_step_pair(variant, steps=3, scale=scale, seed=7)
    compare(numpy_rows, torch_rows, tolerance=SINGLE_STEP["float64"]).assert_passed()


def _one_layer(dtype=torch.float64):
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((3, 4)), "b1": rng.standard_normal((3, 1))}
    grads = [{"dW1": rng.standard_normal((3, 4)), "db1": rng.standard_normal((3, 1))} for _ in range(4)]
    model = t_models.Network((4, 3), "relu", "softmax", dtype=dtype)
    bridge.params_to_module(params, model)
    return params, grads, model


def _torch_steps(model, optimizer, grads):
    for g in grads:
        model.linears[0].weight.grad = torch.from_numpy(g["dW1"].copy())
        model.linears[0].bias.grad = torch.from_numpy(g["db1"][:, 0].copy())
        optimizer.step()
    return bridge.params_from_module(model)


def test_sgd_momentum_first_step_needs_the_zero_buffer():
    """torch's SGD starts its buffer at g_1 (no dampening on the first step); the course starts at
    v_0 = 0. Without the preset zero buffer the first step is 1/(1 - beta) = 10 times the course's."""
    beta, lr = 0.9, 0.1
    params, grads, model = _one_layer()
    plain = torch.optim.SGD(model.parameters(), lr=lr, momentum=beta, dampening=beta)
    after = _torch_steps(model, plain, grads[:1])
    course = params["W1"] - lr * (1 - beta) * grads[0]["dW1"]
    torch_step, course_step = params["W1"] - after["W1"], params["W1"] - course
    np.testing.assert_allclose(torch_step, course_step / (1 - beta), rtol=1e-13)

    params, grads, model = _one_layer()
    configured = t_optim.make_optimizer("momentum", model, lr=lr, beta=beta)
    numpy_params = {k: v.copy() for k, v in params.items()}
    n_optim.Momentum(numpy_params, lr, beta).step(numpy_params, grads[0])
    np.testing.assert_allclose(_torch_steps(model, configured, grads[:1])["W1"], numpy_params["W1"], rtol=1e-15)


def test_sgd_momentum_without_dampening_is_the_average_over_one_minus_beta():
    """Dampening 0 (torch's default) accumulates buf_t = sum beta^(t-k) g_k = v_t / (1 - beta):
    the course's EWA only with dampening = beta (and then lr = alpha, unscaled)."""
    beta = 0.9
    params, grads, model = _one_layer()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=beta)
    optimizer.state[model.linears[0].weight]["momentum_buffer"] = torch.zeros(3, 4, dtype=torch.float64)
    _torch_steps(model, optimizer, grads)
    buf = optimizer.state[model.linears[0].weight]["momentum_buffer"].numpy()
    ewa_of_grads = n_ewa.ewa(np.stack([g["dW1"] for g in grads]), beta)[-1]
    np.testing.assert_allclose(buf * (1 - beta), ewa_of_grads, rtol=1e-13)


def test_course_momentum_velocity_is_the_ewa_of_the_gradients():
    """v_dW after t steps = EWA (no bias correction) of dW_1..dW_t; Adam's v_hat is the corrected EWA."""
    params, grads, _ = _one_layer()
    momentum = n_optim.Momentum({k: v.copy() for k, v in params.items()}, 0.1, 0.9)
    adam = n_optim.Adam({k: v.copy() for k, v in params.items()}, 0.01)
    p1, p2 = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    for g in grads:
        momentum.step(p1, g)
        adam.step(p2, g)
    stacked = np.stack([g["dW1"] for g in grads])
    np.testing.assert_allclose(momentum.v["dW1"], n_ewa.ewa(stacked, 0.9)[-1], rtol=1e-14)
    corrected = n_ewa.ewa(stacked, 0.9, bias_correction=True)[-1]
    np.testing.assert_allclose(adam.v["dW1"] / (1 - 0.9 ** adam.t), corrected, rtol=1e-14)
    assert momentum.t == adam.t == len(grads)


def test_cs231n_velocity_is_minus_lr_times_torch_buffer_until_lr_changes():
    """v = mu v - lr dw equals -lr * buf while lr is constant. When lr changes, cs231n's velocity keeps
    the old rate inside it; torch's buffer does not: the two runs part (by a visible amount)."""
    mu = 0.9
    params, grads, model = _one_layer()
    numpy_params = {k: v.copy() for k, v in params.items()}
    optimizer = n_optim.CS231nMomentum(numpy_params, 0.1, mu)
    optimizer_t = t_optim.make_optimizer("cs231n_momentum", model, lr=0.1, mu=mu)
    for i, g in enumerate(grads):
        if i == 2:                                  # halve the rate mid-run on both sides
            optimizer.lr = 0.05
            for group in optimizer_t.param_groups:
                group["lr"] = 0.05
        optimizer.step(numpy_params, g)
        _torch_steps(model, optimizer_t, [g])
        gap = np.abs(numpy_params["W1"] - bridge.params_from_module(model)["W1"]).max()
        if i < 2:
            assert gap < 1e-15
    assert gap > 1e-3


@pytest.mark.parametrize("name, hp", [("momentum", {"beta": 0.0}), ("cs231n_momentum", {"mu": 0.0}),
                                      ("cs231n_momentum", {"mu": 0.0, "nesterov": True})],
                         ids=["course", "cs231n", "nesterov"])
@pytest.mark.parametrize("l2_lambda", [0.0, 0.7], ids=["no-l2", "l2"])
def test_momentum_zero_state_is_the_step_gradient(name, hp, l2_lambda):
    """At momentum 0 torch's SGD keeps no buffer (and refuses Nesterov), yet the NumPy side's velocity
    is the last step's gradient, L2 term included: v = dW (course), v = -lr dW (cs231n).
    make_optimizer records it for optimizer_state, and the parameters agree step by step."""
    params, grads, model = _one_layer()
    numpy_params = {k: v.copy() for k, v in params.items()}
    hp = {"lr": 0.1, **hp, **({"l2_lambda": l2_lambda, "m": 10} if l2_lambda else {})}
    optimizer = n_optim.make_optimizer(name, numpy_params, **hp)
    optimizer_t = t_optim.make_optimizer(name, model, **hp)
    for g in grads:
        optimizer.step(numpy_params, g)
        stepped = _torch_steps(model, optimizer_t, [g])
        for k, v in numpy_params.items():
            np.testing.assert_allclose(stepped[k], v, rtol=0, atol=1e-15 * np.abs(v).max())
    state = t_optim.optimizer_state(optimizer_t, model)
    assert set(state) == {"v"}
    for k, v in optimizer.v.items():
        np.testing.assert_allclose(state["v"][k], v, rtol=0, atol=1e-15 * np.abs(v).max())


def test_nesterov_exists_only_in_the_cs231n_form():
    """torch refuses Nesterov with dampening != 0, so the course's (dampened) momentum has no Nesterov
    twin; cs231n's x += -mu v_prev + (1 + mu) v is torch's p -= lr (g + mu buf)."""
    _, _, model = _one_layer()
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, dampening=0.9, nesterov=True)
    twins.optim.optimizer_step("nesterov", steps=3).assert_passed()


def test_rmsprop_eps_is_outside_the_square_root_and_there_is_no_bias_correction():
    """torch: p -= lr g / (sqrt(S) + eps), S starting at 0 with no correction. So the first step is
    lr g / (sqrt(1 - beta) |g| + eps) ~ lr / sqrt(1 - beta) = 10 lr for beta = 0.99; eps inside
    the square root (sqrt(S + eps)) would give another step where g is small."""
    beta, lr, eps = 0.99, 0.01, 1e-8
    params, grads, model = _one_layer()
    g = grads[0]["dW1"] * 1e-8                                 # |g| ~ eps: the placement matters
    optimizer = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=beta, eps=eps)
    after = _torch_steps(model, optimizer, [{"dW1": g, "db1": grads[0]["db1"]}])
    outside = params["W1"] - lr * g / (np.sqrt((1 - beta) * g * g) + eps)
    inside = params["W1"] - lr * g / np.sqrt((1 - beta) * g * g + eps)
    np.testing.assert_allclose(after["W1"], outside, rtol=1e-15)
    assert np.abs(after["W1"] - inside).max() > 1e-3
    params, grads, model = _one_layer()
    first = params["W1"] - _torch_steps(model, torch.optim.RMSprop(model.parameters(), lr=lr, alpha=beta),
                                        grads[:1])["W1"]
    np.testing.assert_allclose(np.abs(first), lr / np.sqrt(1 - beta), rtol=1e-5)   # 10 lr, uncorrected


def test_adam_bias_correction_and_eps_placement():
    """torch: p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), i.e. eps added to sqrt(s_hat), after the
    correction: the course's form. The first step is then lr * sign(g) (v_hat = g, s_hat = g^2).
    The Adam paper's 'efficient' form (eps added to sqrt(s) before correcting) differs when |g| ~ eps."""
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    params, grads, model = _one_layer()
    first = params["W1"] - _torch_steps(model, torch.optim.Adam(model.parameters(), lr=lr), grads[:1])["W1"]
    np.testing.assert_allclose(first, lr * np.sign(grads[0]["dW1"]), rtol=1e-6)

    params, grads, model = _one_layer()
    g = grads[0]["dW1"] * 1e-9
    after = _torch_steps(model, torch.optim.Adam(model.parameters(), lr=lr, eps=eps),
                         [{"dW1": g, "db1": grads[0]["db1"]}])
    v, s = (1 - b1) * g, (1 - b2) * g * g
    course = params["W1"] - lr * (v / (1 - b1)) / (np.sqrt(s / (1 - b2)) + eps)
    paper = params["W1"] - lr * np.sqrt(1 - b2) / (1 - b1) * v / (np.sqrt(s) + eps)
    np.testing.assert_allclose(after["W1"], course, rtol=1e-15)
    assert np.abs(after["W1"] - paper).max() > 1e-4


def test_weight_decay_is_lambda_over_m_on_the_weight_group_only():
    """torch's weight_decay adds wd * p to every parameter of its group; the course's L2 gradient is
    (lambda/m) W for the weights and nothing for b. So: groups, W with lambda/m, b with 0."""
    l2_lambda, m = 0.7, 10
    params, grads, model = _one_layer()
    optimizer = t_optim.make_optimizer("gd", model, lr=0.1, l2_lambda=l2_lambda, m=m)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [l2_lambda / m, 0.0]
    after = _torch_steps(model, optimizer, grads[:1])
    _, decay = n_losses.l2_penalty(params, l2_lambda, m)
    np.testing.assert_allclose(after["W1"], params["W1"] - 0.1 * (grads[0]["dW1"] + decay["dW1"]), rtol=1e-15)
    np.testing.assert_allclose(after["b1"], params["b1"] - 0.1 * grads[0]["db1"], rtol=1e-15)

    params, grads, model = _one_layer()   # one group with weight_decay decays the bias too
    everything = _torch_steps(model, torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=l2_lambda / m), grads[:1])
    assert np.abs(everything["b1"] - after["b1"]).max() > 1e-3

    numpy_params = {k: v.copy() for k, v in params.items()}
    optimizer_n = n_optim.GradientDescent(numpy_params, 0.1, l2_lambda=l2_lambda, m=m)
    assert optimizer_n.penalty(params) == pytest.approx(n_losses.l2_penalty(params, l2_lambda, m)[0], rel=1e-15)
    assert t_optim.penalty(optimizer) == pytest.approx(optimizer_n.penalty(bridge.params_from_module(model)),
                                                       rel=1e-14)


def test_adamw_default_weight_decay_is_not_zero():
    """AdamW's default weight_decay is 1e-2 (Adam's is 0), and it is decoupled: p *= 1 - lr wd. So
    AdamW() is not Adam; AdamW(weight_decay=0) is; Adam(weight_decay=lambda/m) is the course's L2."""
    _, _, model = _one_layer()
    assert torch.optim.AdamW(model.parameters()).defaults["weight_decay"] == 1e-2
    assert torch.optim.Adam(model.parameters()).defaults["weight_decay"] == 0

    def run(make):
        params, grads, model = _one_layer()
        return params, grads, _torch_steps(model, make(model), grads)

    params, grads, adamw = run(lambda mdl: torch.optim.AdamW(mdl.parameters(), lr=0.01))
    _, _, adamw0 = run(lambda mdl: torch.optim.AdamW(mdl.parameters(), lr=0.01, weight_decay=0))
    numpy_params = {k: v.copy() for k, v in params.items()}
    adam = n_optim.Adam(numpy_params, 0.01)
    for g in grads:
        adam.step(numpy_params, g)
    np.testing.assert_allclose(adamw0["W1"], numpy_params["W1"], rtol=1e-14)
    assert np.abs(adamw["W1"] - numpy_params["W1"]).max() > 1e-5

    _, _, coupled = run(lambda mdl: t_optim.make_optimizer("adam", mdl, lr=0.01, l2_lambda=0.7, m=10))
    _, _, decoupled = run(lambda mdl: torch.optim.AdamW(mdl.param_groups(0.7, 10), lr=0.01))
    numpy_params = {k: v.copy() for k, v in params.items()}
    adam_l2 = n_optim.Adam(numpy_params, 0.01, l2_lambda=0.7, m=10)
    for g in grads:
        adam_l2.step(numpy_params, g)
    np.testing.assert_allclose(coupled["W1"], numpy_params["W1"], rtol=1e-14)
    assert np.abs(decoupled["W1"] - numpy_params["W1"]).max() > 1e-4


def test_state_is_inspectable_and_starts_at_zero():
    params = {"W1": np.ones((2, 3), np.float32), "b1": np.ones((2, 1), np.float32)}
    adam = n_optim.make_optimizer("adam", params, lr=0.01)
    assert adam.t == 0 and set(adam.state) == {"t", "v", "s"}
    assert adam.v["dW1"].shape == (2, 3) and adam.v["dW1"].dtype == np.float32 and not adam.v["dW1"].any()
    adam.step(params, {"dW1": np.full((2, 3), 0.5, np.float32), "db1": np.full((2, 1), -2.0, np.float32)})
    assert adam.t == 1 and params["W1"].dtype == np.float32
    np.testing.assert_allclose(params["W1"], 1 - 0.01, rtol=1e-6)         # first Adam step: lr * sign(g)
    np.testing.assert_allclose(params["b1"], 1 + 0.01, rtol=1e-6)
    assert "beta1=0.9" in repr(adam)


LR_ERRORS = [0, -0.1, float("nan"), float("inf"), "0.1", None]
BETA_ERRORS = [1.0, 1.5, -0.1, float("nan")]


def _numpy_make(name, **hp):
    params = {"W1": np.ones((2, 3)), "b1": np.ones((2, 1))}
    return n_optim.make_optimizer(name, params, **hp)


def _torch_make(name, **hp):
    return t_optim.make_optimizer(name, t_models.Network((3, 2), "relu", "softmax"), **hp)


@pytest.mark.parametrize("make", [_numpy_make, _torch_make], ids=["numpy", "torch"])
@pytest.mark.parametrize("name, argument, value", [
    *[(n, "lr", v) for n in twins.optim.OPTIMIZERS if n != "nesterov" for v in LR_ERRORS],
    *[("momentum", "beta", v) for v in BETA_ERRORS],
    *[("cs231n_momentum", "mu", v) for v in BETA_ERRORS],
    *[("rmsprop", "beta", v) for v in BETA_ERRORS],
    *[("adam", "beta1", v) for v in BETA_ERRORS],
    *[("adam", "beta2", v) for v in BETA_ERRORS],
    *[(n, "eps", v) for n in ("rmsprop", "adam") for v in (0, -1e-8, float("nan"))],
    *[(n, "l2_lambda", -0.1) for n in ("gd", "adam")],
])
def test_bad_hyperparameters_are_a_clear_error(make, name, argument, value):
    hp = {"lr": 0.1, argument: value}
    with pytest.raises(ValueError, match=rf"^{argument} must be"):
        make(name, **hp)


@pytest.mark.parametrize("make", [_numpy_make, _torch_make], ids=["numpy", "torch"])
def test_unknown_optimizer_or_hyperparameter_is_a_clear_error(make):
    with pytest.raises(ValueError, match="name must be one of"):
        make("adagrad", lr=0.1)
    with pytest.raises(ValueError, match="beta3|unexpected"):
        make("adam", lr=0.1, beta3=0.5)
    with pytest.raises(ValueError, match="m .*needed"):
        make("gd", lr=0.1, l2_lambda=0.5)


def test_step_checks_its_inputs():
    params = {"W1": np.ones((2, 3)), "b1": np.ones((2, 1))}
    optimizer = n_optim.make_optimizer("momentum", params, lr=0.1)
    with pytest.raises(ValueError, match="grads is missing db1"):
        optimizer.step(params, {"dW1": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"grads\['dW1'\] must have shape \(2, 3\)"):
        optimizer.step(params, {"dW1": np.ones((3, 2)), "db1": np.ones((2, 1))})
    with pytest.raises(ValueError, match="float32 and float64 are never mixed"):
        optimizer.step(params, {"dW1": np.ones((2, 3), np.float32), "db1": np.ones((2, 1))})
    with pytest.raises(ValueError, match="params must hold exactly"):
        optimizer.step({"W1": params["W1"]}, {"dW1": np.ones((2, 3)), "db1": np.ones((2, 1))})


def test_both_factories_offer_the_same_optimisers_and_defaults():
    import inspect
    assert set(n_optim.OPTIMIZERS) == set(t_optim.NAMES)
    for name, cls in n_optim.OPTIMIZERS.items():
        signature = inspect.signature(cls.__init__).parameters
        own = {k: p.default for k, p in signature.items() if k not in ("self", "params", "lr", "kw", "l2_lambda", "m", "state")}
        assert own == t_optim.HYPERPARAMETERS[name], name


# ------------------------------------------------------------------ an initial state (t, v, s) on both sides

def _random_state(variant, params, rng, t=4):
    """A non-zero state in the course's names and shapes for ``variant``'s optimiser (s >= 0)."""
    name = twins.optim.OPTIMIZERS[variant][0]
    names = t_optim.STATE_NAMES[name]
    state = {"t": t}
    for n in names:
        state[n] = {f"d{k}": (np.abs(rng.standard_normal(v.shape)) if n == "s" else rng.standard_normal(v.shape))
                    .astype(v.dtype) * 0.1 for k, v in params.items()}
    return state


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("variant", list(twins.optim.OPTIMIZERS))
def test_parity_after_3_steps_from_a_nonzero_initial_state(variant, dtype, device):
    """Both sides built with the same ``state=`` (NumPy's Optimizer and torch's make_optimizer),
    then 3 steps: every parameter and every piece of state agree, and differ from a zero start."""
    name, hp = twins.optim.hyperparameters(variant, 0.0, 10)
    rng = np.random.default_rng(11)
    params = twins.optim._random_params(rng, (4, 5, 3), dtype)
    grads = [{f"d{k}": rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()} for _ in range(3)]
    state = _random_state(variant, params, rng)
    given = {k: ({kk: vv.copy() for kk, vv in v.items()} if isinstance(v, dict) else v) for k, v in state.items()}

    numpy_params = {k: v.copy() for k, v in params.items()}
    optimizer = n_optim.make_optimizer(name, numpy_params, **hp, state=state)
    for g in grads:
        optimizer.step(numpy_params, g)
    model = twins.optim._module((4, 5, 3), dtype, device, params)
    optimizer_t = t_optim.make_optimizer(name, model, **hp, state=state)
    for g in grads:
        twins.optim._set_grads(model, g, device)
        optimizer_t.step()

    state_t = t_optim.optimizer_state(optimizer_t, model)
    numpy_state = {k: v for k, v in optimizer.state.items() if k in state_t}
    numpy_rows = {**numpy_params, **twins.optim.state_rows(numpy_state, "3 steps")}
    torch_rows = {**bridge.params_from_module(model), **twins.optim.state_rows(state_t, "3 steps")}
    compare(numpy_rows, torch_rows, tolerance=SINGLE_STEP[dtype], label=f"{variant} from a state").assert_passed()
    if "t" in state_t:
        assert state_t["t"] == optimizer.t == 7
    for key, value in given.items():                      # the caller's state is copied, never updated
        if isinstance(value, dict):
            for k, v in value.items():
                np.testing.assert_array_equal(state[key][k], v)
    if variant != "gd":                                    # the state mattered
        zero = {k: v.copy() for k, v in params.items()}
        plain = n_optim.make_optimizer(name, zero, **hp)
        for g in grads:
            plain.step(zero, g)
        assert not np.allclose(zero["W1"], numpy_params["W1"])


def test_zero_state_is_the_default_start():
    rng = np.random.default_rng(2)
    params = twins.optim._random_params(rng, (3, 2), "float64")
    grads = {f"d{k}": rng.standard_normal(v.shape) for k, v in params.items()}
    zeros = {f"d{k}": np.zeros_like(v) for k, v in params.items()}
    a, b = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
    n_optim.Adam(a, 0.01).step(a, grads)
    n_optim.Adam(b, 0.01, state={"t": 0, "v": zeros, "s": zeros}).step(b, grads)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def _bad_states(params):
    zeros = {f"d{k}": np.zeros_like(v) for k, v in params.items()}
    return [
        ("not a dict", [1, 2], "state must be a dict"),
        ("unknown key", {"t": 0, "v": zeros, "s": zeros, "m": zeros}, "state has unexpected keys ['m']"),
        ("missing s", {"t": 0, "v": zeros}, "state is missing ['s']"),
        ("t negative", {"t": -1, "v": zeros, "s": zeros}, "state['t'] must be an integer >= 0"),
        ("t float", {"t": 2.0, "v": zeros, "s": zeros}, "state['t'] must be an integer >= 0"),
        ("t bool", {"t": True, "v": zeros, "s": zeros}, "state['t'] must be an integer >= 0"),
        ("v missing dW1", {"t": 0, "v": {"db1": zeros["db1"]}, "s": zeros}, "state['v'] must be a dict holding exactly"),
        ("v wrong shape", {"t": 0, "v": {**zeros, "db1": zeros["db1"][:, 0]}, "s": zeros}, "state['v']['db1'] must be 2-D"),
        ("v transposed", {"t": 0, "v": {**zeros, "dW1": zeros["dW1"].T}, "s": zeros}, "state['v']['dW1'] must have shape (2, 3)"),
        ("s float32", {"t": 0, "v": zeros, "s": {**zeros, "dW1": zeros["dW1"].astype(np.float32)}},
         "state['s']['dW1'] must have dtype float64"),
        ("s int", {"t": 0, "v": zeros, "s": {**zeros, "dW1": zeros["dW1"].astype(int)}},
         "state['s']['dW1'] must have dtype float32 or float64"),
        ("v NaN", {"t": 0, "v": {**zeros, "dW1": zeros["dW1"] + np.nan}, "s": zeros}, "state['v']['dW1'] contains NaN"),
        ("s negative", {"t": 0, "v": zeros, "s": {**zeros, "db1": zeros["db1"] - 1}}, "state['s']['db1'] must hold values >= 0"),
    ]


@pytest.mark.parametrize("case", range(13))
def test_a_bad_initial_state_is_refused_the_same_way_on_both_sides(case):
    rng = np.random.default_rng(0)
    params = twins.optim._random_params(rng, (3, 2), "float64")
    desc, state, message = _bad_states(params)[case]
    with pytest.raises(ValueError, match=re.escape(message)):
        n_optim.make_optimizer("adam", {k: v.copy() for k, v in params.items()}, lr=0.01, state=state)
    model = twins.optim._module((3, 2), "float64", "cpu", params)
    with pytest.raises(ValueError, match=re.escape(message)):
        t_optim.make_optimizer("adam", model, lr=0.01, state=state)


def test_state_names_follow_the_optimiser():
    """Gradient descent keeps only t; momentum v; RMSprop s: another optimiser's state is refused."""
    rng = np.random.default_rng(0)
    params = twins.optim._random_params(rng, (3, 2), "float64")
    zeros = {f"d{k}": np.zeros_like(v) for k, v in params.items()}
    model = twins.optim._module((3, 2), "float64", "cpu", params)
    for name, state, message in [("gd", {"t": 3, "v": zeros}, "unexpected keys ['v']"),
                                 ("momentum", {"t": 0, "v": zeros, "s": zeros}, "unexpected keys ['s']"),
                                 ("rmsprop", {"t": 0, "v": zeros}, "unexpected keys ['v']")]:
        for build in (lambda: n_optim.make_optimizer(name, {k: v.copy() for k, v in params.items()}, lr=0.1, state=state),
                      lambda: t_optim.make_optimizer(name, model, lr=0.1, state=state)):
            with pytest.raises(ValueError, match=re.escape(message)):
                build()
    n_optim.make_optimizer("gd", {k: v.copy() for k, v in params.items()}, lr=0.1, state={"t": 3})
    t_optim.make_optimizer("gd", model, lr=0.1, state={"t": 3})
