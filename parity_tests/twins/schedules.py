"""Learning-rate decay: 50 counts of rates, then a training run under the schedule."""

from __future__ import annotations

import numpy as np

from reference_torch import schedules as t_schedules
from scratch_numpy import schedules as n_schedules

from ..checker.harness import compare
from .common import case, trajectory_tolerance
from .mutant import Mutant
from .optim import NUMPY_UPDATES, OPTIMIZER_LABELS, TORCH_MAKERS
from .training import moment_scales, trajectory_pair

# schedule -> hyperparameters; the rates of 50 epochs (or 50 mini-batches) are compared
SCHEDULES = {
    "constant": {},
    "inverse_time": {"decay_rate": 0.3},
    "exponential": {"base": 0.95},
    "inverse_sqrt_epoch": {"k": 1.0},
    "inverse_sqrt_step": {"k": 1.0},
    "staircase": {"decay_rate": 0.5, "time_interval": 10},
}


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
                   tolerance=trajectory_tolerance(dtype), scales=moment_scales(torch_rows, dtype),
                   label=f"LR decay {name}: 50 rates, {OPTIMIZER_LABELS[variant]} {steps} steps")


CASES = [(f"LR decay {name}: rates and 200 steps", case(schedule, name)) for name in SCHEDULES]


def _counted_from_one(side, table, name):
    """A mutant ``table`` whose ``name`` factor counts from 1 instead of 0 (f(count + 1))."""
    def factory(original):
        unit, factor, *rest = original[name]
        return {**original, name: (unit, lambda count, **hp: factor(count + 1, **hp), *rest)}
    return Mutant(side, table, f"{name} counted from 1 (off by one)", factory)


MUTANTS = {
    "LR decay constant: rates and 200 steps": [NUMPY_UPDATES["adam"], TORCH_MAKERS["adam"]],
    **{f"LR decay {name}: rates and 200 steps": [
        _counted_from_one("numpy", "scratch_numpy.schedules.SCHEDULES", name),
        _counted_from_one("torch", "reference_torch.schedules.FACTORS", name)]
       for name in SCHEDULES if name != "constant"},
}
