"""Learning-rate decay with torch.optim.lr_scheduler.LambdaLR.

LambdaLR sets every group's rate to base_lr * lambda(last_epoch) in closed
form. Its constructor already counts epoch 0 (lr = base_lr * lambda(0)), and
each ``scheduler.step()`` advances last_epoch by one. Stepped once per epoch
(or once per mini-batch for ``inverse_sqrt_step``), epoch e trains at
base_lr * lambda(e): the counting of scratch_numpy.schedules.

    name                 lambda(count)
    constant             1
    inverse_time         1 / (1 + decay_rate * epoch)
    exponential          base ** epoch
    inverse_sqrt_epoch   k / sqrt(epoch + 1)
    inverse_sqrt_step    k / sqrt(iteration + 1)          (stepped per mini-batch)
    staircase            1 / (1 + decay_rate * floor(epoch / time_interval))

The built-ins that look alike do not give the same floats: ExponentialLR
multiplies the previous rate by gamma at each step (drifting from
0.95^epoch * alpha0 in the last bits), and StepLR decays by a factor gamma per
interval, not by 1 / (1 + d * floor(epoch / T)). LambdaLR with the closed form
reproduces the NumPy rates exactly (CONVENTIONS.md).

``delay`` d makes the lambda 1 for the first d counts, then lambda(count - d):
with d = 1, the course's loop, which sets the rate after epoch i with f(i), so
its epochs 0 and 1 both train at alpha0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.optim.lr_scheduler import LambdaLR

from scratch_numpy.contract import check_schedule
from scratch_numpy.validation import check_count, check_positive

# name: (unit, lambda(count, **hyperparameters))
FACTORS = {
    "constant": ("epoch", lambda epoch: 1.0),
    "inverse_time": ("epoch", lambda epoch, decay_rate: 1 / (1 + decay_rate * epoch)),
    "exponential": ("epoch", lambda epoch, base: base ** epoch),
    "inverse_sqrt_epoch": ("epoch", lambda epoch, k: k / math.sqrt(epoch + 1)),
    "inverse_sqrt_step": ("iteration", lambda iteration, k: k / math.sqrt(iteration + 1)),
    "staircase": ("epoch", lambda epoch, decay_rate, time_interval:
                  1 / (1 + decay_rate * math.floor(epoch / time_interval))),
}
NAMES = tuple(FACTORS)


@dataclass
class Scheduler:
    """A LambdaLR and the unit it is stepped in: "epoch" or "iteration"."""

    scheduler: LambdaLR
    unit: str

    def step(self) -> None:
        self.scheduler.step()


def make_scheduler(optimizer: torch.optim.Optimizer, name: str = "constant", delay: int = 0,
                   **hyperparameters) -> Scheduler:
    """LambdaLR(optimizer, lambda) for schedule ``name``, ``delay`` counts late; hyperparameters
    are checked (and defaulted) by the shared contract (scratch_numpy.contract.check_schedule)."""
    lag, hp = check_schedule(name, delay, hyperparameters)
    unit, factor = FACTORS[name]
    return Scheduler(LambdaLR(optimizer, lambda count: 1.0 if count < lag else factor(count - lag, **hp)), unit)


def as_scheduler(optimizer, schedule) -> Scheduler | None:
    """None, a name, or a dict {"name": ..., **hyperparameters} (as the NumPy side's train takes)."""
    if schedule is None:
        return None
    if isinstance(schedule, str):
        return make_scheduler(optimizer, schedule)
    if isinstance(schedule, dict) and "name" in schedule:
        spec = dict(schedule)
        return make_scheduler(optimizer, spec.pop("name"), **spec)
    raise ValueError(f"schedule must be None, a name in {list(NAMES)} or a dict with 'name', got {schedule!r}")


def learning_rates(name: str, alpha0: float, n: int, delay: int = 0, **hyperparameters) -> list[float]:
    """The rates of counts 0, ..., n - 1, read from optimizer.param_groups[0]["lr"] while a
    LambdaLR is stepped (one no-op optimizer.step() before each scheduler.step(), in the
    order torch expects)."""
    alpha0, n = check_positive("alpha0", alpha0), check_count("n", n)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=alpha0)
    scheduler = make_scheduler(optimizer, name, delay, **hyperparameters)
    rates = []
    for _ in range(n):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()            # no gradient: updates nothing
        scheduler.step()
    return rates
