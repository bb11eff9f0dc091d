"""Learning-rate schedules: the course's published values, the formulas, and the same floats on
both sides (NumPy's alpha0 * f(epoch) and torch's LambdaLR, base_lr * lambda(last_epoch)),
with epochs counted the same way: epoch e (0-based) trains at alpha0 * f(e)."""

import math

import numpy as np
import pytest
import torch
from torch.optim.lr_scheduler import ExponentialLR, LambdaLR, StepLR

from parity_tests import twins
from reference_torch import schedules as t_schedules
from scratch_numpy import schedules as n_schedules

FORMULAS = {   # the course's closed forms, written as the course writes them
    "constant": lambda a0, e, hp: a0,
    "inverse_time": lambda a0, e, hp: a0 / (1 + hp["decay_rate"] * e),
    "exponential": lambda a0, e, hp: hp["base"] ** e * a0,
    "inverse_sqrt_epoch": lambda a0, e, hp: hp["k"] / math.sqrt(e + 1) * a0,     # epoch_num = e + 1
    "inverse_sqrt_step": lambda a0, e, hp: hp["k"] / math.sqrt(e + 1) * a0,      # t = iteration + 1
    "staircase": lambda a0, e, hp: a0 / (1 + hp["decay_rate"] * math.floor(e / hp["time_interval"])),
}
VARIANTS = [(name, hp) for name, hp in twins.schedules.SCHEDULES.items()] + [
    ("inverse_time", {"decay_rate": 1.0}), ("exponential", {"base": 0.9}), ("inverse_sqrt_epoch", {"k": 2.0}),
    ("inverse_sqrt_step", {"k": 0.5}), ("staircase", {"decay_rate": 0.3, "time_interval": 7})]
VARIANT_IDS = [name + "".join(f"-{k}={v}" for k, v in hp.items()) for name, hp in VARIANTS]


def test_course_published_values():
    """course-values.md: update_lr and schedule_lr_decay of the course's notebook."""
    assert np.allclose(n_schedules.update_lr(0.5, 2, 1), 0.16666666666666666)
    assert np.allclose(n_schedules.schedule_lr_decay(0.5, 10, 0.3, 100), 0.5)
    assert np.allclose(n_schedules.schedule_lr_decay(0.5, 100, 0.3, 100), 0.3846153846153846)
    assert np.allclose(t_schedules.learning_rates("inverse_time", 0.5, 3, decay_rate=1)[2], 0.16666666666666666)
    staircase = t_schedules.learning_rates("staircase", 0.5, 101, decay_rate=0.3, time_interval=100)
    assert np.allclose([staircase[10], staircase[100]], [0.5, 0.3846153846153846])


@pytest.mark.parametrize("name, hp", VARIANTS, ids=VARIANT_IDS)
def test_rates_follow_the_formulas(name, hp):
    schedule = n_schedules.make_schedule(name, **hp)
    full_hp = schedule.hyperparameters
    rates = schedule.rates(0.2, 50)
    np.testing.assert_allclose(rates, [FORMULAS[name](0.2, e, full_hp) for e in range(50)], rtol=5e-16, atol=0)
    assert rates[0] == pytest.approx(0.2 * (full_hp.get("k", 1.0)))


@pytest.mark.parametrize("name, hp", VARIANTS, ids=VARIANT_IDS)
def test_rates_over_50_epochs_are_identical_on_both_sides(name, hp):
    rates, rates_t = twins.schedules.schedule_rates_pair(name, alpha0=0.0075, n=50, **hp)
    assert rates.tolist() == rates_t.tolist()               # bit for bit, not approximately


def test_lambdalr_constructor_counts_epoch_zero():
    """LambdaLR's constructor sets lr = base_lr * lambda(0) and each step() adds one: epoch e trains at
    lambda(e), the counting Twinprop uses. The course's loop updates after epoch i with f(i), so its
    epochs 0 and 1 both train at alpha0: the same sequence, one epoch later."""
    seen = []
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = LambdaLR(optimizer, lambda e: seen.append(e) or 1 / (1 + e))
    assert seen == [0] and optimizer.param_groups[0]["lr"] == 0.5 * 1.0
    optimizer.step()
    scheduler.step()
    assert seen == [0, 1] and optimizer.param_groups[0]["lr"] == 0.5 * (1 / 2)

    schedule = n_schedules.make_schedule("inverse_time", decay_rate=1.0)
    ours = schedule.rates(0.5, 6)
    course = n_schedules.course_loop_rates(schedule, 0.5, 6)
    assert course[:2] == [0.5, 0.5] and course[1:] == ours[:-1]
    assert ours == t_schedules.learning_rates("inverse_time", 0.5, 6, decay_rate=1.0)


@pytest.mark.parametrize("name, hp", VARIANTS, ids=VARIANT_IDS)
def test_a_delayed_schedule_is_the_course_loop_on_both_sides(name, hp):
    """delay=1: epoch 0 trains at alpha0, epoch e >= 1 at alpha0 f(e - 1), the course's model() loop
    (it starts at learning_rate0 and sets the rate after epoch i with f(i)); the formula written as
    the course writes it, and torch's LambdaLR with the delay gives the same floats."""
    delayed = n_schedules.make_schedule(name, delay=1, **hp)
    full_hp = delayed.hyperparameters
    rates = delayed.rates(0.1, 40)
    expected = [0.1 if e == 0 else FORMULAS[name](0.1, e - 1, full_hp) for e in range(40)]
    np.testing.assert_allclose(rates, expected, rtol=5e-16, atol=0)
    assert rates == t_schedules.learning_rates(name, 0.1, 40, delay=1, **hp)


def test_the_course_decay_section_rates():
    """The rates the course's notebook prints after epochs 0, 1000, ..., 4000 (schedule_lr_decay,
    alpha0 0.1, decay_rate 1, time_interval 1000), as the rate of the next epoch."""
    for side in (lambda: n_schedules.make_schedule("staircase", delay=1).rates(0.1, 4002),
                 lambda: t_schedules.learning_rates("staircase", 0.1, 4002, delay=1)):
        rates = side()
        assert [round(rates[e + 1], 6) for e in (0, 1000, 2000, 3000, 4000)] == [0.1, 0.05, 0.033333, 0.025, 0.02]


def test_training_records_the_schedule_per_epoch_and_per_mini_batch():
    """In the training loops an epoch schedule holds its rate for the whole epoch (4 mini-batches);
    inverse_sqrt_step changes it every mini-batch, t = 1, 2, ..."""
    for name, per_update in (("inverse_time", lambda i: 0.01 * (1 / (1 + 0.3 * (i // 4)))),
                             ("inverse_sqrt_step", lambda i: 0.01 * (1.0 / math.sqrt(i + 1)))):
        numpy_rows, torch_rows = twins.training.trajectory_pair(
            "adam", steps=12, schedule={"name": name, **twins.schedules.SCHEDULES[name]})
        assert numpy_rows["learning rates"].tolist() == torch_rows["learning rates"].tolist()
        np.testing.assert_allclose(numpy_rows["learning rates"], [per_update(i) for i in range(12)], rtol=1e-15)


def test_exponential_lr_drifts_and_lambda_lr_does_not():
    """ExponentialLR multiplies the previous rate by gamma at every step: after a few dozen epochs it
    is no longer the float 0.95^epoch * alpha0. LambdaLR with the closed form is."""
    alpha0 = 0.0075
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=alpha0)
    scheduler = ExponentialLR(optimizer, gamma=0.95)
    chained = []
    for _ in range(50):
        chained.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    closed = n_schedules.make_schedule("exponential", base=0.95).rates(alpha0, 50)
    assert chained != closed
    np.testing.assert_allclose(chained, closed, rtol=1e-14)
    assert t_schedules.learning_rates("exponential", alpha0, 50, base=0.95) == closed


def test_steplr_is_not_the_course_staircase():
    """StepLR decays by gamma^floor(epoch / T); the course's staircase by 1 / (1 + d floor(epoch / T))."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    scheduler = StepLR(optimizer, step_size=10, gamma=1 / 1.3)
    rates = []
    for _ in range(30):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    staircase = n_schedules.make_schedule("staircase", decay_rate=0.3, time_interval=10).rates(0.5, 30)
    assert rates[:20] == pytest.approx(staircase[:20])                  # one decay: the same
    assert abs(rates[25] - staircase[25]) > 1e-2                         # two: 0.5/1.69 vs 0.5/1.6


@pytest.mark.parametrize("make", [lambda name, **hp: n_schedules.make_schedule(name, **hp),
                                  lambda name, **hp: t_schedules.make_scheduler(
                                      torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), name, **hp)],
                         ids=["numpy", "torch"])
@pytest.mark.parametrize("name, hp, argument", [
    ("cosine", {}, "schedule"), ("linear", {}, "schedule"),
    ("inverse_time", {"decay_rate": -1.0}, "decay_rate"), ("inverse_time", {"decay_rate": "1"}, "decay_rate"),
    ("exponential", {"base": 1.5}, "base"), ("exponential", {"base": 0.0}, "base"),
    ("inverse_sqrt_epoch", {"k": 0.0}, "k"), ("inverse_sqrt_step", {"k": -1.0}, "k"),
    ("staircase", {"time_interval": 0}, "time_interval"), ("staircase", {"time_interval": 2.5}, "time_interval"),
    ("constant", {"decay_rate": 1.0}, "unexpected"), ("constant", {"delay": -1}, "delay"),
    ("staircase", {"delay": 0.5}, "delay"),
])
def test_bad_schedules_are_a_clear_error(make, name, hp, argument):
    with pytest.raises(ValueError, match=argument):
        make(name, **hp)


def test_schedule_specs_and_counts_are_checked():
    assert n_schedules.as_schedule(None) is None
    assert n_schedules.as_schedule("constant").name == "constant"
    assert n_schedules.as_schedule({"name": "staircase", "time_interval": 5}).hyperparameters["time_interval"] == 5
    with pytest.raises(ValueError, match="schedule must be None"):
        n_schedules.as_schedule(0.95)
    with pytest.raises(ValueError, match="count must be an integer >= 0"):
        n_schedules.make_schedule("constant").lr(0.1, -1)
    with pytest.raises(ValueError, match="alpha0 must be a finite number > 0"):
        n_schedules.make_schedule("constant").lr(0.0, 1)
    assert set(n_schedules.NAMES) == set(t_schedules.NAMES)
    assert all(t_schedules.FACTORS[n][0] == n_schedules.SCHEDULES[n][0] for n in n_schedules.NAMES)
