"""The bad-input contract of schedules: learning-rate schedules (``make_schedule``, ``Schedule.lr``,
``update_lr``, ...; torch's ``learning_rates``, ``make_scheduler``, ``as_scheduler``).

For both ``scratch_numpy/schedules.py`` and ``reference_torch/schedules.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import fixed, fixed_gaps_test, fuzz, fuzz_test, make_case
from parity_tests.contract.strategies import Bad, positive, size, spoil_count, spoil_positive
from reference_torch import schedules as th_sched
from scratch_numpy import schedules as np_sched


SCHEDULE_HP = {"constant": {}, "inverse_time": {"decay_rate": (0.0, 5.0)}, "exponential": {"base": (0.5, 1.0)},
               "inverse_sqrt_epoch": {"k": (0.1, 3.0)}, "inverse_sqrt_step": {"k": (0.1, 3.0)},
               "staircase": {"decay_rate": (0.0, 5.0), "time_interval": None}}


def _schedule_hp(draw, name):
    hp = {}
    for k, bounds in SCHEDULE_HP[name].items():
        if draw(st.booleans()):
            hp[k] = size(draw, 1, 10) if bounds is None else draw(st.floats(*bounds, exclude_min=k in ("base", "k")))
    return hp


def _spoil_schedule_hp(draw, name, k) -> Bad:
    if k == "time_interval":
        return spoil_count(draw, k)
    if k == "base":
        return spoil_positive(draw, k, upper=1)
    return spoil_positive(draw, k, allow_zero=k == "decay_rate")


@fuzz("np.schedules.make_schedule", 50)
def _np_make_schedule(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    hp = _schedule_hp(draw, name)

    def check(schedule, kw):
        rates = schedule.rates(0.1, 12)
        assert len(rates) == 12 and all(np.isfinite(rates)) and all(r >= 0 for r in rates)
        assert rates == th_sched.learning_rates(name, 0.1, 12, **hp)
    spoilers = {"name": lambda d: Bad(d(st.sampled_from(["nope", "Constant", None, 3])), "schedule", ("schedule",))}
    for k in SCHEDULE_HP[name]:
        spoilers[k] = lambda d, k=k: _spoil_schedule_hp(d, name, k)
    spoilers["unknown"] = lambda d: Bad(1.0, "unknown hyperparameter", ("unknown",))
    return make_case(draw, np_sched.make_schedule, {"name": name, **hp}, spoilers, check)


@fuzz("np.schedules.Schedule.lr", 40)
def _np_schedule_lr(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    schedule = np_sched.make_schedule(name, **_schedule_hp(draw, name))
    alpha0, count = positive(draw, 1e-4, 1.0), draw(st.integers(0, 10 ** 6))

    def check(lr, kw):
        assert isinstance(lr, float) and np.isfinite(lr) and 0 <= lr
    return make_case(draw, schedule.lr, {"alpha0": alpha0, "count": count}, {
        "alpha0": lambda d: spoil_positive(d, "alpha0"), "count": lambda d: spoil_count(d, "count", minimum=0)}, check)


@fuzz("np.schedules.update_lr", 25)
def _np_update_lr(draw):
    valid = {"learning_rate0": positive(draw, 1e-3, 1.0), "epoch_num": draw(st.integers(0, 1000)),
             "decay_rate": positive(draw, 0.0, 3.0, zero=True)}

    def check(lr, kw):
        assert abs(lr - kw["learning_rate0"] / (1 + kw["decay_rate"] * kw["epoch_num"])) <= 1e-12 * kw["learning_rate0"]
    return make_case(draw, np_sched.update_lr, valid, {
        "learning_rate0": lambda d: spoil_positive(d, "learning_rate0"),
        "epoch_num": lambda d: spoil_count(d, "epoch_num", minimum=0),
        "decay_rate": lambda d: spoil_positive(d, "decay_rate", allow_zero=True)}, check)


@fuzz("np.schedules.schedule_lr_decay", 25)
def _np_schedule_lr_decay(draw):
    valid = {"learning_rate0": positive(draw, 1e-3, 1.0), "epoch_num": draw(st.integers(0, 5000)),
             "decay_rate": positive(draw, 0.0, 3.0, zero=True), "time_interval": size(draw, 1, 1000)}

    def check(lr, kw):
        expected = kw["learning_rate0"] / (1 + kw["decay_rate"] * (kw["epoch_num"] // kw["time_interval"]))
        assert abs(lr - expected) <= 1e-12 * kw["learning_rate0"]
    return make_case(draw, np_sched.schedule_lr_decay, valid, {
        "learning_rate0": lambda d: spoil_positive(d, "learning_rate0"),
        "epoch_num": lambda d: spoil_count(d, "epoch_num", minimum=0),
        "decay_rate": lambda d: spoil_positive(d, "decay_rate", allow_zero=True),
        "time_interval": lambda d: spoil_count(d, "time_interval")}, check)


@fuzz("np.schedules.course_loop_rates", 25)
def _np_course_loop_rates(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    schedule = np_sched.make_schedule(name, **_schedule_hp(draw, name))
    valid = {"schedule": schedule, "alpha0": positive(draw, 1e-3, 1.0), "epochs": size(draw, 1, 10)}

    def check(rates, kw):
        assert len(rates) == kw["epochs"] and (rates[0] is kw["alpha0"] or rates[0] == kw["alpha0"])
    return make_case(draw, np_sched.course_loop_rates, valid, {
        "alpha0": lambda d: spoil_positive(d, "alpha0"), "epochs": lambda d: spoil_count(d, "epochs"),
        "schedule": lambda d: Bad(d(st.sampled_from([name, {"name": name}, None, 3])), "schedule", ("schedule",))},
        check)


@fuzz("np.schedules.as_schedule", 25)
def _np_as_schedule(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    value = draw(st.sampled_from([None, name, {"name": name}, np_sched.make_schedule(name)]))

    def check(out, kw):
        assert out is None if value is None else out.name == name
    return make_case(draw, np_sched.as_schedule, {"schedule": value}, {
        "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3, {"k": 1}, ["constant"], {"name": "nope"}])),
                                  "schedule", ("schedule",))}, check)


@fuzz("th.schedules.learning_rates", 40)
def _th_learning_rates(draw):
    name = draw(st.sampled_from(th_sched.NAMES))
    hp = _schedule_hp(draw, name)
    valid = {"name": name, "alpha0": positive(draw, 1e-3, 1.0), "n": size(draw, 1, 20), **hp}

    def check(rates, kw):
        assert rates == np_sched.make_schedule(name, **hp).rates(kw["alpha0"], kw["n"])
    spoilers = {"name": lambda d: Bad(d(st.sampled_from(["nope", None, 3])), "schedule", ("schedule", "name")),
                "alpha0": lambda d: spoil_positive(d, "alpha0"), "n": lambda d: spoil_count(d, "n")}
    for k in SCHEDULE_HP[name]:
        spoilers[k] = lambda d, k=k: _spoil_schedule_hp(d, name, k)
    return make_case(draw, th_sched.learning_rates, valid, spoilers, check)


@fuzz("th.schedules.make_scheduler", 30)
def _th_make_scheduler(draw):
    name = draw(st.sampled_from(th_sched.NAMES))
    hp = _schedule_hp(draw, name)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    spoilers = {"name": lambda d: Bad(d(st.sampled_from(["nope", None])), "schedule", ("schedule", "name"))}
    for k in SCHEDULE_HP[name]:
        spoilers[k] = lambda d, k=k: _spoil_schedule_hp(d, name, k)
    return make_case(draw, lambda **kw: th_sched.make_scheduler(optimizer, **kw), {"name": name, **hp}, spoilers,
                     lambda out, kw: out.unit in ("epoch", "iteration") or pytest.fail(out.unit))


@fuzz("th.schedules.as_scheduler", 25)
def _th_as_scheduler(draw):
    name = draw(st.sampled_from(th_sched.NAMES))
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    return make_case(draw, th_sched.as_scheduler, {"optimizer": optimizer, "schedule": draw(st.sampled_from(
        [None, name, {"name": name}]))}, {
        "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3, {"k": 1}, ["constant"], {"name": "nope"}])),
                                  "schedule", ("schedule",))}, lambda out, kw: None)


FIXED_GAPS = [
    fixed("course_loop_rates-schedule", lambda: np_sched.course_loop_rates("constant", 0.1, 3), "schedule"),
    fixed("course_loop_rates-alpha0",
          lambda: np_sched.course_loop_rates(np_sched.make_schedule("constant"), -1.0, 1), "alpha0"),
    fixed("update_lr-names", lambda: np_sched.update_lr(0, 1, 0.5), "learning_rate0"),
    fixed("Schedule.lr-count-10**400", lambda: np_sched.make_schedule("inverse_time").lr(0.1, 10 ** 400), "count"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
