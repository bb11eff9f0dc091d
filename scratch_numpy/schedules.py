"""Learning-rate decay (course 2, week 2): alpha = alpha0 * f(count).

    name                 f                                          the course's formula
    constant             1                                          alpha0
    inverse_time         1 / (1 + decay_rate * epoch)               alpha0 / (1 + decay_rate * epoch)
    exponential          base^epoch            (base = 0.95)        0.95^epoch * alpha0
    inverse_sqrt_epoch   k / sqrt(epoch + 1)                        k / sqrt(epoch_num) * alpha0
    inverse_sqrt_step    k / sqrt(t)           (per mini-batch)     k / sqrt(t) * alpha0
    staircase            1 / (1 + decay_rate * floor(epoch / time_interval))
                                                                    alpha0 / (1 + decay_rate * floor(epoch / interval))

Counting, the same on both sides (torch.optim.lr_scheduler.LambdaLR's): the
rate for epoch ``epoch`` = 0, 1, 2, ... (the number of epochs already
completed) is alpha0 * f(epoch), so the first epoch trains at f(0) = alpha0.
The two square-root schedules count from 1, the lecture's epoch_num = epoch + 1
and the mini-batch count t = 1, 2, ... (as Adam's t), since f(0) would divide
by zero. The course's own training loop differs: it sets the rate after epoch
i with f(i), so its epochs 0 and 1 both train at alpha0 (CONVENTIONS.md). A
schedule made with ``delay=1`` counts that way on both sides: alpha0 for count
0, then alpha0 * f(count - 1) (``course_loop_rates`` lists its rates).

The rate is computed as alpha0 * f, not alpha0 / (1 + ...): LambdaLR computes
base_lr * lambda(epoch), and this order makes the two sides' floats identical.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from .contract import check_schedule
from .validation import check_count, check_positive


# name: (unit, factor(count, **hp)); the hyperparameters' defaults and checks: contract.SCHEDULE_HYPERPARAMETERS
SCHEDULES = {
    "constant": ("epoch", lambda epoch: 1.0),
    "inverse_time": ("epoch", lambda epoch, decay_rate: 1 / (1 + decay_rate * epoch)),
    "exponential": ("epoch", lambda epoch, base: base ** epoch),
    "inverse_sqrt_epoch": ("epoch", lambda epoch, k: k / math.sqrt(epoch + 1)),
    "inverse_sqrt_step": ("iteration", lambda iteration, k: k / math.sqrt(iteration + 1)),
    "staircase": ("epoch", lambda epoch, decay_rate, time_interval:
                  1 / (1 + decay_rate * math.floor(epoch / time_interval))),
}
NAMES = tuple(SCHEDULES)


@dataclass(frozen=True)
class Schedule:
    """A decay factor f and the unit it counts: "epoch" (set before each epoch, from 0)
    or "iteration" (set before each update, from 0; t = iteration + 1). ``delay``: the counts
    the schedule lags behind: factor 1 (alpha0, the rate no schedule has set yet) for the first
    ``delay`` counts, then f(count - delay) (the course's loop: delay 1)."""

    name: str
    hyperparameters: dict = field(default_factory=dict)
    delay: int = 0

    @property
    def unit(self) -> str:
        return SCHEDULES[self.name][0]

    def factor(self, count: int) -> float:
        count = check_count("count", count, minimum=0)
        if count < self.delay:
            return 1.0
        return SCHEDULES[self.name][1](count - self.delay, **self.hyperparameters)

    def lr(self, alpha0: float, count: int) -> float:
        """alpha0 * f(count)."""
        return check_positive("alpha0", alpha0) * self.factor(count)

    def rates(self, alpha0: float, n: int) -> list[float]:
        """The rates for counts 0, ..., n - 1."""
        return [self.lr(alpha0, c) for c in range(check_count("n", n))]


def make_schedule(name: str = "constant", delay: int = 0, **hyperparameters) -> Schedule:
    """A checked Schedule; hyperparameters default as in contract.SCHEDULE_HYPERPARAMETERS (decay_rate 1,
    base 0.95, k 1, time_interval 1000); ``delay`` as in Schedule (default 0)."""
    delay, values = check_schedule(name, delay, hyperparameters)
    return Schedule(name, values, delay)


def as_schedule(schedule) -> Schedule | None:
    """None, a Schedule, a name, or a dict {"name": ..., **hyperparameters}."""
    if schedule is None or isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        return make_schedule(schedule)
    if isinstance(schedule, dict) and "name" in schedule:
        spec = dict(schedule)
        return make_schedule(spec.pop("name"), **spec)
    raise ValueError(f"schedule must be None, a Schedule, a name in {list(NAMES)} or a dict with 'name', "
                     f"got {schedule!r}")


def update_lr(learning_rate0: float, epoch_num: int, decay_rate: float) -> float:
    """The course's update_lr: alpha0 / (1 + decay_rate * epoch_num)."""
    learning_rate0, epoch_num = _check_course_arguments(learning_rate0, epoch_num)
    return make_schedule("inverse_time", decay_rate=decay_rate).lr(learning_rate0, epoch_num)


def schedule_lr_decay(learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int = 1000) -> float:
    """The course's schedule_lr_decay: alpha0 / (1 + decay_rate * floor(epoch_num / time_interval))."""
    learning_rate0, epoch_num = _check_course_arguments(learning_rate0, epoch_num)
    return make_schedule("staircase", decay_rate=decay_rate, time_interval=time_interval).lr(learning_rate0, epoch_num)


def _check_course_arguments(learning_rate0, epoch_num) -> tuple[float, int]:
    """The course functions' own names for alpha0 and the count (make_schedule's would be reported)."""
    return check_positive("learning_rate0", learning_rate0), check_count("epoch_num", epoch_num, minimum=0)


def course_loop_rates(schedule: Schedule, alpha0: float, epochs: int) -> list[float]:
    """The rate each epoch trains at in the course's model(): alpha0 for epoch 0, and after
    epoch i the rate becomes alpha0 * f(i), so epoch e >= 1 trains at f(e - 1) (``schedule``
    with delay 1)."""
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule must be a Schedule (see make_schedule), got {type(schedule).__name__} "
                         f"{schedule!r}"[:200])
    return replace(schedule, delay=1).rates(check_positive("alpha0", alpha0), check_count("epochs", epochs))
