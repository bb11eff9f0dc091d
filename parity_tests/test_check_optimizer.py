"""check_optimizer (parity_tests/checker/optimizer.py) and its convention hints: every hint fires on the
planted slip of examples/optimizers.py and on nothing else, across 10 seeds; no hint fires on a correct
rule (the examples' and the project's own, both sides, at a constant rate and under the project's
learning-rate schedules) nor where a slip cannot be told from the reference; the references (NumPy, torch,
the user's torch optimiser) agree with correct rules, float32 apart; the epochs and rates of a scheduled
check; the report. What the check accepts, refuses and protects, the CLI and the fixture:
test_check_optimizer_inputs.py.

``python -m parity_tests.test_check_optimizer`` prints the table (rule, hint fired, seeds out of 10).
"""

from __future__ import annotations

import functools
import sys
from collections import Counter

import numpy as np
import pytest
import torch

from examples import optimizers as examples
from parity_tests.checker.optimizer import (
    DEFAULT_STEPS,
    STEPS_PER_EPOCH,
    OptimizerReport,
    assert_optimizer,
    check_optimizer,
    draw_stream,
)
from parity_tests.checker.optimizer_hints import HINTS, applicable, slipped_rule
from parity_tests.checker.optimizer_run import LAYER_DIMS, _as_contender, _trajectory
from reference_torch import bridge
from reference_torch import models as torch_models
from reference_torch import optim as torch_optim
from reference_torch import schedules as torch_schedules
from scratch_numpy import optim as numpy_optim
from scratch_numpy import schedules as numpy_schedules
from scratch_numpy.contract import SCHEDULE_HYPERPARAMETERS

SEEDS = range(10)
LR = 0.01


def project_rule(side: str, name: str, schedule: str | None = None):
    """The project's own rule ``name`` as a user's class ``cls(params, **hyperparameters)``: the NumPy
    side's make_optimizer, or torch.optim as reference_torch.optim builds it over a Network whose
    parameters are copied back into the user's dict after each step. With ``schedule``, the rate follows
    the side's own schedule, read from the ``epoch`` (``iteration``) the check passes to step: the NumPy
    side sets optimizer.lr = make_schedule(...).lr(alpha0, count) before each step, as
    scratch_numpy.training does; torch steps reference_torch.schedules' LambdaLR once the count has moved
    on (reference_torch.training steps it after an epoch's last step: the same rates)."""
    schedule_keys = set(SCHEDULE_HYPERPARAMETERS[schedule]) if schedule else set()

    def split(hp):
        """(the optimiser's hyperparameters, the schedule's)."""
        return ({k: v for k, v in hp.items() if k not in schedule_keys},
                {k: v for k, v in hp.items() if k in schedule_keys})

    if side == "numpy":
        class NumpyRule:
            def __init__(self, params, lr, **hp):
                hp, schedule_hp = split(hp)
                self.optimizer = numpy_optim.make_optimizer(name, params, lr=lr, **hp)
                self.schedule = None if schedule is None else numpy_schedules.make_schedule(schedule, **schedule_hp)

            def step(self, params, grads, epoch=0, iteration=0):
                if self.schedule is not None:
                    count = iteration if self.schedule.unit == "iteration" else epoch
                    self.optimizer.lr = self.schedule.lr(self.optimizer.initial_lr, count)
                self.optimizer.step(params, grads)

            @property
            def state(self):
                return self.optimizer.state
        return NumpyRule

    class TorchRule:
        def __init__(self, params, lr, **hp):
            hp, schedule_hp = split(hp)
            self.model = torch_models.Network(LAYER_DIMS, "relu", "softmax",
                                              dtype=bridge.resolve_dtype(params["W1"].dtype.name))
            bridge.params_to_module(params, self.model)
            self.optimizer = torch_optim.make_optimizer(name, self.model, lr=lr, **hp)
            self.scheduler = (None if schedule is None else
                              torch_schedules.make_scheduler(self.optimizer, schedule, **schedule_hp))

        def step(self, params, grads, epoch=0, iteration=0):
            if self.scheduler is not None:
                count = iteration if self.scheduler.unit == "iteration" else epoch
                while self.scheduler.scheduler.last_epoch < count:   # the first step of a new count
                    self.scheduler.step()
            for key, p in bridge.course_parameters(self.model):
                p.grad = torch.from_numpy(grads["d" + key].reshape(p.shape).copy())
            self.optimizer.step()
            for key, value in bridge.params_from_module(self.model).items():
                params[key][...] = value

        @property
        def state(self):
            return torch_optim.optimizer_state(self.optimizer, self.model)
    return TorchRule


# label -> (rule, the project's name, the hint it must fire or None, hyperparameters beyond lr)
PROJECT_CONFIGS = {"gd": ("gd", {}), "momentum": ("momentum", {}), "cs231n_momentum": ("cs231n_momentum", {}),
                   "nesterov": ("cs231n_momentum", {"nesterov": True}), "rmsprop": ("rmsprop", {}),
                   "adam": ("adam", {}), "momentum + L2": ("momentum", examples.L2),
                   "adam + L2": ("adam", examples.L2),
                   # cs231n_momentum is left out under a schedule: torch's buffer forgets the past rates
                   "adam + inverse_time": ("adam", examples.INVERSE_TIME),
                   "momentum + exponential": ("momentum", examples.EXPONENTIAL),
                   "gd + staircase": ("gd", {"schedule": "staircase", "decay_rate": 1.0, "time_interval": 5}),
                   "rmsprop + inverse_sqrt_epoch": ("rmsprop", {"schedule": "inverse_sqrt_epoch", "k": 2.0}),
                   "adam + inverse_sqrt_step": ("adam", {"schedule": "inverse_sqrt_step", "k": 1.0})}
RULES = {**examples.RULES,
         **{f"project {side} {label}": (project_rule(side, name, hp.get("schedule")), name, None, hp)
            for side in ("numpy", "torch") for label, (name, hp) in PROJECT_CONFIGS.items()}}
CORRECT = [label for label, (_, _, hint, _) in RULES.items() if hint is None]
EXAMPLES_CORRECT = [label for label, (_, _, hint, _) in examples.RULES.items() if hint is None]
SCHEDULED_PROJECT = [label for label in CORRECT if label.startswith("project ") and "schedule" in RULES[label][3]]


@functools.cache
def checked(label: str, seed: int, dtype: str = "float64", against: str = "numpy") -> OptimizerReport:
    rule, name, _, hp = RULES[label]
    return check_optimizer(rule, name, lr=LR, seed=seed, dtype=dtype, against=against, label=label, **hp)


def fired(label: str, seed: int) -> list[str]:
    return [hint.key for hint in checked(label, seed).hints]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("label, hint", [(label, rule[2] or "none") for label, rule in RULES.items()])
def test_each_hint_fires_on_its_slip_alone_and_none_on_a_correct_rule(label, hint, seed):
    report = checked(label, seed)
    assert report.passed == (hint == "none"), str(report)
    assert fired(label, seed) == ([] if hint == "none" else [hint]), str(report)


def test_every_hint_has_a_planted_slip_and_a_one_sentence_fix():
    planted = {hint for _, _, hint, _ in examples.RULES.values() if hint}
    assert planted == set(HINTS)
    for hint in HINTS.values():
        assert hint.message.count(". ") == 0 and hint.message.endswith("."), hint.key


@pytest.mark.parametrize("label", CORRECT)
def test_the_hints_stay_silent_even_when_asked_on_a_correct_trajectory(label):
    """The hints run only on a mismatch; run directly on a correct rule's numbers (the examples', and the
    project's, both sides, at a constant rate and under a schedule), none fires either, on any of the seeds.
    (A variant the correct numbers match is one the course's rule matches too, which names nothing: this
    guards that rule; test_a_rule_off_by_a_hair_gets_no_hint, the hints' tolerance.)"""
    from parity_tests.checker.optimizer import _arguments, _fired_hints
    rule, name, _, extra = RULES[label]
    extra = dict(extra)
    hp, keywords, clock = _arguments(name, LR, extra.pop("schedule", None), STEPS_PER_EPOCH, extra)
    for seed in SEEDS:
        stream = draw_stream(max(DEFAULT_STEPS), seed)
        user, _ = _as_contender(rule, {k: v.copy() for k, v in stream.params.items()}, keywords, clock)
        rows, _ = _trajectory(user, stream, DEFAULT_STEPS)
        assert _fired_hints(name, hp, clock, stream, DEFAULT_STEPS, rows, "float64") == [], seed


@pytest.mark.parametrize("label", EXAMPLES_CORRECT)
def test_a_correct_example_agrees_with_torch_optim_for_200_steps_in_float64(label):
    report = checked(label, 0, "float64", "torch")
    assert report.passed, str(report)
    assert max(report.steps) == 200 and [*report.comparisons] == [next(iter(report.comparisons))]
    assert "torch.optim" in next(iter(report.comparisons))


@pytest.mark.parametrize("label", EXAMPLES_CORRECT)
def test_a_correct_float32_rule_passes_the_float32_check(label):
    report = checked(label, 0, "float32", "both")
    assert report.passed, str(report)
    assert all(r.dtype == "float32" for r in report.comparisons.values())


def test_the_stream_is_shared_random_and_spread_over_decades():
    stream = draw_stream(50, seed=4)
    again = draw_stream(50, seed=4)
    assert all(np.array_equal(a[k], b[k]) for a, b in zip(stream.grads, again.grads) for k in a)
    assert not np.array_equal(draw_stream(1, seed=5).grads[0]["dW1"], stream.grads[0]["dW1"])
    g = np.abs(np.concatenate([grads[k].ravel() for grads in stream.grads for k in grads]))
    assert not np.any(g == 1) and np.log10(g.max() / g.min()) > 9
    # each element keeps its scale: some sit near eps = 1e-8 at every step, which eps's placement needs
    rms = np.sqrt(np.mean([grads["dW1"] ** 2 for grads in stream.grads], axis=0))
    assert np.any((rms > 1e-10) & (rms < 1e-7)) and np.any(rms > 1e-1)
    assert {k: p.shape for k, p in stream.params.items()} == {"W1": (4, 5), "b1": (4, 1), "W2": (3, 4),
                                                              "b2": (3, 1)}


def test_the_slipped_variants_take_their_textbook_first_step():
    """Independent closed forms of each variant's first step, from v_0 = s_0 = 0 and t = 1."""
    stream = draw_stream(1, seed=2)
    W, g = stream.params["W1"], stream.grads[0]["dW1"]
    lr, beta, b1, b2, eps = 0.01, 0.9, 0.9, 0.999, 1e-8
    hp = {"lr": lr, "beta": beta, "beta1": b1, "beta2": b2, "eps": eps, "mu": beta, "nesterov": False}

    def first(variant, name, **extra):
        params = {k: v.copy() for k, v in stream.params.items()}
        with np.errstate(all="ignore"):
            slipped_rule(variant, name, {**hp, **extra})(params, stream.grads[0], None)
        return params["W1"]

    np.testing.assert_allclose(first("eps_inside_sqrt", "rmsprop"), W - lr * g / np.sqrt((1 - beta) * g * g + eps),
                               rtol=1e-14)
    np.testing.assert_allclose(first("momentum_first_step", "momentum"), W - lr * g, rtol=1e-14)
    np.testing.assert_allclose(first("momentum_no_dampening", "momentum"), W - lr * g, rtol=1e-14)
    np.testing.assert_allclose(first("velocity_sign", "cs231n_momentum"), W - lr * g, rtol=1e-14)
    np.testing.assert_allclose(first("no_correction", "adam"),
                               W - lr * (1 - b1) * g / (np.sqrt(1 - b2) * np.abs(g) + eps), rtol=1e-14)
    np.testing.assert_allclose(first("eps_before_correction", "adam"),
                               W - lr * g / (np.abs(g) + eps / np.sqrt(1 - b2)), rtol=1e-12)
    np.testing.assert_allclose(first("t_plus_1", "adam"), W - lr * (1 - b1) / (1 - b1 ** 2) * g / (
        np.sqrt((1 - b2) / (1 - b2 ** 2)) * np.abs(g) + eps), rtol=1e-12)
    assert np.all(np.isnan(first("t_minus_1", "adam")))
    decayed = first("decay_without_m", "gd", l2_lambda=0.7, m=10)
    np.testing.assert_allclose(decayed, W - lr * (g + 0.7 * W), rtol=1e-14)


def test_hints_need_their_rule_and_l2():
    assert {h.key for h in applicable("gd", {})} == set()
    assert {h.key for h in applicable("gd", {"l2_lambda": 0.7, "m": 10})} == {"decay_on_biases", "decay_without_m"}
    assert {h.key for h in applicable("adam", {})} == {"eps_inside_sqrt", "eps_before_correction",
                                                       "bias_correction_missing", "t_off_by_one"}
    assert {h.key for h in applicable("gd", {}, scheduled=True)} == {"schedule_late", "schedule_early"}
    with pytest.raises(ValueError, match="variant must be one of"):
        slipped_rule("velocity_sign", "adam", {})


def near_miss(correct):
    """``correct`` with every parameter off by a factor 1 + 1e-11 after each step: 2e-9 after 200 steps, a
    failure (rtol 1e-12) within the hints' 1e-8."""
    @functools.wraps(correct)
    def rule(params, grads, state, **hp):
        state = correct(params, grads, state, **hp)
        for key in params:
            params[key] *= 1 + 1e-11
        return state
    return rule


class NoStateCS231n:
    """cs231n momentum that exposes no v, a hair off."""
    def __init__(self, params, lr, mu):
        self.rule, self.state_, self.hp = near_miss(examples.cs231n_momentum_update), None, {"lr": lr, "mu": mu}

    def step(self, params, grads):
        self.state_ = self.rule(params, grads, self.state_, **self.hp)


@pytest.mark.parametrize("rule, name, hp", [
    (near_miss(examples.momentum_update), "momentum", {"beta": 0.0}),   # no first-step or dampening slip at beta 0
    (near_miss(examples.adam_update), "adam", {"beta1": 0.0, "beta2": 0.0}),   # nor a bias correction
    (near_miss(examples.adam_update), "adam", {"eps": 1e-30}),           # eps placed anywhere is nothing
    (near_miss(examples.gd_update), "gd", {"lr": 1e-13, **examples.L2}),  # the decay moves W by 1e-13 W
    (NoStateCS231n, "cs231n_momentum", {}),                              # the sign shows only in v
])
def test_a_slip_that_the_reference_shares_names_nothing(rule, name, hp):
    """At these hyperparameters (or with the state the slip changes hidden) the slipped variants run to the
    reference's numbers within the hints' tolerance; a rule that fails by a hair matched them all."""
    hp = {"lr": LR, **hp}
    report = check_optimizer(rule, name, against="numpy", **hp)
    assert not report.passed and report.hints == [], str(report)


@pytest.mark.parametrize("label", [label for label in EXAMPLES_CORRECT if not isinstance(RULES[label][0], type)])
def test_a_rule_off_by_a_hair_gets_no_hint(label):
    """At the examples' hyperparameters every slip moves the numbers by far more than the hints' 1e-8: a
    correct rule off by 2e-9 fails and matches no slipped variant."""
    rule, name, _, hp = RULES[label]
    report = check_optimizer(near_miss(rule), name, lr=LR, against="numpy", **hp)
    assert not report.passed and report.hints == [], str(report)


def test_a_rule_that_upcasts_in_the_float32_check_gets_no_hint():
    """Its float64 numbers are never compared with a float32 variant's: it fails by dtype, without a slip's name."""
    def rmsprop_upcast(params, grads, state, lr, beta, eps):
        params64 = {k: p.astype(np.float64) for k, p in params.items()}
        state = examples.rmsprop_eps_inside_sqrt(params64, {k: g.astype(np.float64) for k, g in grads.items()},
                                                 state, lr, beta, eps)
        params.update(params64)
        return state
    report = check_optimizer(rmsprop_upcast, "rmsprop", lr=LR, dtype="float32", against="numpy")
    assert not report.passed and report.hints == [], str(report)
    assert all("float32 is never compared with float64" in d.note
               for d in report.comparisons["scratch_numpy.optim rmsprop"].failures)


def test_a_bug_that_is_no_classic_slip_fails_without_a_hint():
    def rmsprop_unsquared(params, grads, state, lr, beta, eps):
        state = state or {"s": {"d" + k: np.zeros_like(p) for k, p in params.items()}}
        for key in params:
            g = grads["d" + key]
            s = state["s"]["d" + key] = beta * state["s"]["d" + key] + (1 - beta) * np.abs(g)
            params[key] -= lr * g / (np.sqrt(s) + eps)
        return state
    report = check_optimizer(rmsprop_unsquared, "rmsprop", lr=LR, against="numpy")
    assert not report.passed and report.hints == []
    assert "verdict: MISMATCH from step count 1" in str(report)


def test_the_report_shows_the_worst_element_and_a_verdict():
    report = checked("adam_eps_inside_sqrt", 0)
    text = str(report)
    assert "worst: " in text and ", reference " in text
    assert report.first_failed_step == 1
    assert text.rstrip().endswith("verdict: MISMATCH from step count 1 (float64); looks like eps_inside_sqrt")
    assert HINTS["eps_inside_sqrt"].message in text
    good = checked("adam_update", 0)
    assert good.verdict == "verdict: agrees with scratch_numpy.optim adam after 200 steps (float64)"
    with pytest.raises(AssertionError, match="eps_inside_sqrt"):
        report.assert_passed()
    assert assert_optimizer(examples.gd_update, "gd", lr=LR).passed


# ------------------------------------------------------------------ learning-rate schedules

def test_a_scheduled_rule_gets_its_epoch_iteration_and_rate_before_each_step():
    """Step k is update k - 1 of epoch (k - 1) // steps_per_epoch, both from 0, at lr * f(epoch); lr stays
    alpha0 and the schedule's hyperparameters come by keyword like the optimiser's."""
    calls = []

    def recording_gd(params, grads, state, lr, epoch, iteration, current_lr, decay_rate):
        calls.append((epoch, iteration, current_lr, lr, decay_rate))
        return examples.gd_update(params, grads, state, current_lr)
    report = check_optimizer(recording_gd, "gd", lr=0.1, schedule="inverse_time", decay_rate=1.0,
                             steps_per_epoch=3, steps=(7,), against="numpy")
    assert report.passed, str(report)
    assert calls == [(e, i, 0.1 * (1 / (1 + e)), 0.1, 1.0) for i, e in enumerate([0, 0, 0, 1, 1, 1, 2])]
    assert "note: passed to the rule: lr, decay_rate, epoch, iteration, current_lr" in str(report)
    assert "schedule inverse_time(decay_rate=1.0), 3 steps per epoch from epoch 0" in str(report)

    class StaircaseGD:   # a class: the hyperparameters to the constructor, the epoch to step
        def __init__(self, params, lr, decay_rate, time_interval):
            self.lr, self.decay_rate, self.time_interval = lr, decay_rate, time_interval

        def step(self, params, grads, epoch):
            examples.gd_update(params, grads, None, self.lr / (1 + self.decay_rate * (epoch // self.time_interval)))
    assert check_optimizer(StaircaseGD, "gd", lr=0.1, schedule="staircase", decay_rate=1.0, time_interval=3).passed


def test_the_schedule_variants_run_one_count_late_and_early():
    """Closed forms of the rate of steps 1..6 (2 steps per epoch; per update for inverse_sqrt_step): the
    late variant is the project's delay-1 schedule, the course's loop (course_loop_rates)."""
    from parity_tests.checker.optimizer import _Clock
    a = 0.01
    inverse_time = numpy_schedules.make_schedule("inverse_time", decay_rate=0.5)
    rates = {shift: [_Clock(a, inverse_time, 2, shift).lr(k) for k in range(1, 7)] for shift in (0, -1, 1)}
    np.testing.assert_allclose(rates[0], [a, a, a / 1.5, a / 1.5, a / 2, a / 2], rtol=1e-15)
    np.testing.assert_allclose(rates[-1], [a, a, a, a, a / 1.5, a / 1.5], rtol=1e-15)
    np.testing.assert_allclose(rates[1], [a / 1.5, a / 1.5, a / 2, a / 2, a / 2.5, a / 2.5], rtol=1e-15)
    assert rates[-1][::2] == numpy_schedules.course_loop_rates(inverse_time, a, 3)
    per_update = numpy_schedules.make_schedule("inverse_sqrt_step", k=1.0)
    late, early = ([_Clock(a, per_update, 2, shift).lr(k) for k in (1, 2, 3)] for shift in (-1, 1))
    np.testing.assert_allclose(late, [a, a, a / np.sqrt(2)], rtol=1e-15)
    np.testing.assert_allclose(early, [a / np.sqrt(2), a / np.sqrt(3), a / 2], rtol=1e-15)


@pytest.mark.parametrize("label, schedule", [
    ("adam_update_lr inverse_time", examples.INVERSE_TIME),
    ("momentum_update_scheduled staircase", {"schedule": "staircase", "decay_rate": 1.0, "time_interval": 5}),
    ("momentum_update_scheduled exponential", {"schedule": "inverse_sqrt_step", "k": 1.0}),
    ("momentum_update_scheduled exponential", {"schedule": "inverse_sqrt_epoch", "k": 2.0})])
def test_a_scheduled_run_agrees_with_torchs_lambdalr_for_200_steps_in_float64(label, schedule):
    rule, name, _, _ = RULES[label]
    report = check_optimizer(rule, name, lr=LR, against="torch", **schedule)
    assert report.passed and max(report.steps) == 200, str(report)
    assert [*report.comparisons] == [f"torch.optim.{'Adam' if name == 'adam' else 'SGD'} (reference_torch.optim)"]
    # a user's torch optimiser is stepped by the same LambdaLR
    adam = check_optimizer(examples.adam_update_lr, "adam", lr=LR, against=lambda ts: torch.optim.Adam(ts, lr=LR),
                           **examples.INVERSE_TIME)
    assert adam.passed, str(adam)


def test_a_scheduled_check_says_when_it_cannot_show_a_late_schedule():
    constant_rate = check_optimizer(examples.adam_update, "adam", lr=LR, schedule="inverse_time", decay_rate=0.5,
                                    against="numpy")
    assert not constant_rate.passed and constant_rate.hints == []
    assert "the rule takes none of epoch, iteration, current_lr: it cannot follow the schedule" in str(constant_rate)
    flat = check_optimizer(examples.momentum_update_scheduled, "momentum", lr=LR, schedule="staircase",
                           decay_rate=1.0, time_interval=1000, against="numpy")
    assert flat.passed and "the schedule keeps one rate over all 200 steps" in str(flat)


def test_a_classic_slip_under_a_schedule_still_gets_its_hint():
    """Every other hint's variant runs at the reference's rate of each step."""
    def rmsprop_scheduled(params, grads, state, current_lr, beta, eps):
        return examples.rmsprop_eps_inside_sqrt(params, grads, state, current_lr, beta, eps)
    report = check_optimizer(rmsprop_scheduled, "rmsprop", lr=LR, **examples.EXPONENTIAL)
    assert [h.key for h in report.hints] == ["eps_inside_sqrt"], str(report)


def test_cs231n_momentum_under_a_schedule_is_checked_against_numpy_only():
    def cs231n_scheduled(params, grads, state, current_lr, mu):
        return examples.cs231n_momentum_update(params, grads, state, current_lr, mu)
    report = check_optimizer(cs231n_scheduled, "cs231n_momentum", lr=LR, **examples.INVERSE_TIME)
    assert report.passed and [*report.comparisons] == ["scratch_numpy.optim cs231n_momentum"]
    assert "checked against numpy only" in str(report)
    with pytest.raises(ValueError, match="against='torch' cannot check cs231n_momentum under a schedule"):
        check_optimizer(cs231n_scheduled, "cs231n_momentum", lr=LR, against="torch", **examples.INVERSE_TIME)


# ------------------------------------------------------------------ the table

def hint_table(seeds=SEEDS) -> list[tuple[str, str, int]]:
    """(rule, hint fired or "none", number of seeds it fired in) for every rule and every hint that fired."""
    rows = []
    for label in RULES:
        counts = Counter(key for seed in seeds for key in (fired(label, seed) or ["none"]))
        rows += [(label, key, n) for key, n in counts.items()]
    return rows


if __name__ == "__main__":
    rows = hint_table()
    width = max(len(r[0]) for r in rows)
    print(f"{'rule':{width}}  {'hint fired':24}  seeds (of {len(SEEDS)})")
    for label, key, n in rows:
        print(f"{label:{width}}  {key:24}  {n}")
    sys.exit(0)
