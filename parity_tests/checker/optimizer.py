"""Check a hand-written NumPy update rule against the project's optimisers and torch.optim.

``check_optimizer(rule, name, lr=..., ...)`` runs the user's rule for K steps (default 1, 3 and 200) from
random parameters {W1 (4, 5), b1 (4, 1), W2 (3, 4), b2 (3, 1)} on a random gradient stream, and compares
every parameter and every piece of state the rule exposes, after each step count, with a reference run
on the same numbers:

* "numpy": the project's rule, scratch_numpy.optim.make_optimizer(name, params, lr=..., ...);
* "torch": torch.optim configured as the project does, reference_torch.optim.make_optimizer over a
  reference_torch.models.Network holding the same parameters (state read back in the course's names by
  reference_torch.optim.optimizer_state);
* "both" (the default) runs the two;
* a callable ``factory(tensors) -> torch.optim.Optimizer``: the user's own torch optimiser over the
  tensors [W1, b1, W2, b2] (torch's shapes, b as (n,)); its parameters are compared, not its state,
  whose names are torch's own (under a schedule, the project's LambdaLR steps it as it steps torch's).

A rule is one of

    update(params, grads, state) -> state      params {W1, b1, ...} updated in place, grads {dW1, db1, ...},
                                               state None at the first call; may return (params, state)
    an object with step(params, grads)         its ``state`` attribute, when it has one, is compared; the
                                               check steps a deep copy, so the object stays as given
    a class                                    built as cls(params, **hyperparameters), then as an object

A function or class receives, by keyword, the hyperparameters its signature names (lr, beta, mu,
nesterov, beta1, beta2, eps, l2_lambda, m; under a schedule also its decay_rate, base, k, time_interval):
the values the check uses for the reference; under a schedule, the function or ``step`` also receives
STEP_KEYWORDS (epoch, iteration, current_lr) before each step, those it names (see below).

State is compared in the course's names: {"t": t, "v": {"dW1": ...}, "s": {...}} (a key "W1" inside v or
s is read as "dW1"; a top-level key named like a parameter is refused, as a rule returning its parameters
as its state). Rows are "W1 after 3 steps", "v[dW1] after 3 steps", "t after 3 steps", compared at each
step count where both sides have them; state the reference does not keep is listed, not compared.

With ``schedule`` (a name of scratch_numpy.schedules: constant, inverse_time, exponential,
inverse_sqrt_epoch, inverse_sqrt_step, staircase; its hyperparameters decay_rate, base, k, time_interval by
keyword, each one the schedule takes required) the rate changes as in the project's training loops. Step k
= 1, 2, ... of the stream is update ``iteration`` = k - 1 of epoch ``epoch`` = (k - 1) // steps_per_epoch,
both counted from 0 (the updates and the epochs already completed), and trains at

    current_lr = lr * f(epoch)        (f(iteration) for inverse_sqrt_step)

with f the project's (1 / (1 + decay_rate epoch), base^epoch, k / sqrt(epoch + 1), k / sqrt(iteration + 1),
1 / (1 + decay_rate floor(epoch / time_interval))), so the first epoch trains at lr * f(0). The numpy
reference sets its optimiser's lr to that before each step (scratch_numpy.training); the torch references
step reference_torch.schedules.make_scheduler's LambdaLR after each epoch's last step (after every step for
inverse_sqrt_step; reference_torch.training). The rule learns where it is by keyword, when its function (an
object's or a class's ``step`` method) names them: ``epoch``, ``iteration`` and ``current_lr``, before each
step; ``lr`` stays alpha0, the rate before any decay, and the schedule's hyperparameters are passed like the
optimiser's. The hints schedule_late and schedule_early recognise a rule whose rate is one epoch behind
(alpha0 f(epoch - 1), alpha0 in epoch 0) or ahead (alpha0 f(epoch + 1)).

The stream (``draw_stream``) is drawn once from ``seed`` and every contender gets its own copies of the
parameters and of each step's gradients: a rule that writes into them changes nothing else (reported as a
warning). Each gradient element has its own scale, log-uniform over 1e-10 .. 10, times a standard normal
draw at every step: elements near eps show where eps sits, large ones show the rest. float64 and float32
are checked separately (``dtype``), with comparison.TOLERANCES. When the rule fails, the convention hints
(optimizer_hints.py) say which classic slip its numbers match. optimizer_run.py draws the stream and runs
the contenders; this module checks the arguments, compares and reports.
"""

from __future__ import annotations

import copy
import inspect
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from reference_torch import optim as torch_optim
from scratch_numpy import optim as numpy_optim
from scratch_numpy import schedules as numpy_schedules
from scratch_numpy.contract import SCHEDULE_HYPERPARAMETERS
from scratch_numpy.validation import check_positive

from . import optimizer_hints
from .comparison import TOLERANCES, ParityReport, Tolerance, compare
from .optimizer_hints import OptimizerHint
from .optimizer_run import (Stream, _as_contender, _copies, _FunctionRule, _references, _snapshots, _steps_text,
                            _trajectory, draw_stream)

__all__ = ["DEFAULT_STEPS", "OptimizerReport", "STEPS_PER_EPOCH", "STEP_KEYWORDS", "Stream",
           "assert_optimizer", "check_optimizer", "draw_stream"]

DEFAULT_STEPS = (1, 3, 200)
STEPS_PER_EPOCH = 2                # under a schedule: step 3 is already in epoch 1, and 200 steps span 100 epochs
STEP_KEYWORDS = ("epoch", "iteration", "current_lr")   # passed before each step, under a schedule
AGAINST = ("numpy", "torch", "both")
DTYPES = tuple(TOLERANCES)


@dataclass
class OptimizerReport:
    """The result of ``check_optimizer``: one ``ParityReport`` per reference (``comparisons``, keyed by the
    reference's description), each with rows "<tensor> after <K> steps" for every step count; ``hints``,
    the convention hints whose slipped variant the rule's trajectory matches (only when it fails);
    ``warnings`` (writes into the gradients) and ``notes`` (what was passed, what was not compared);
    ``schedule``, the learning-rate schedule and its epochs ("" for a constant rate). ``str()`` renders the
    whole report and a verdict."""

    rule: str
    name: str
    hyperparameters: dict[str, Any]
    dtype: str
    steps: tuple[int, ...]
    seed: int
    comparisons: dict[str, ParityReport]
    hints: list[OptimizerHint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    schedule: str = ""

    @property
    def passed(self) -> bool:
        return all(report.passed for report in self.comparisons.values())

    @property
    def first_failed_step(self) -> int | None:
        """The smallest step count after which some row fails (None when everything agrees)."""
        failed = [int(d.tensor.rsplit(" after ", 1)[1].split()[0])
                  for report in self.comparisons.values() for d in report.failures]
        return min(failed, default=None)

    def __str__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        schedule = f", schedule {self.schedule}" if self.schedule else ""
        lines = [(f"check_optimizer: {self.rule} vs {self.name}({hp}){schedule} [{self.dtype}], "
                  f"steps {', '.join(map(str, self.steps))}, seed {self.seed}")]
        for reference, report in self.comparisons.items():
            lines += ["", f"against {reference}:", str(report), _worst_line(report)]
        if self.warnings:
            lines += ["", *(f"warning: {w}" for w in self.warnings)]
        if self.notes:
            lines += ["", *(f"note: {n}" for n in self.notes)]
        if self.hints:
            lines += ["", "convention hints (the rule's numbers match this slip, not the reference):",
                      *(f"  - {hint.key}: {hint.message}" for hint in self.hints)]
        lines += ["", self.verdict]
        return "\n".join(lines)

    @property
    def verdict(self) -> str:
        references = " and ".join(self.comparisons)
        if self.passed:
            return f"verdict: agrees with {references} after {_steps_text(max(self.steps))} ({self.dtype})"
        slips = f"; looks like {', '.join(h.key for h in self.hints)}" if self.hints else ""
        return (f"verdict: MISMATCH from step count {self.first_failed_step} ({self.dtype}){slips}")

    def assert_passed(self) -> None:
        """Raise AssertionError with the report when any row fails."""
        if not self.passed:
            raise AssertionError(str(self))


def check_optimizer(rule: Any, name: str, *, lr: float, against: str | Callable = "both",
                    steps: Sequence[int] = DEFAULT_STEPS, dtype: str = "float64", seed: int = 0,
                    tolerance: Tolerance | None = None, hints: bool = True, label: str = "",
                    schedule: str | None = None, steps_per_epoch: int = STEPS_PER_EPOCH,
                    **hyperparameters: Any) -> OptimizerReport:
    """Run ``rule`` (see the module docstring) for max(``steps``) steps and compare it, after each step
    count in ``steps``, with the reference ``against`` ("numpy", "torch", "both" or a torch optimiser
    factory) for the project's rule ``name`` (gd, momentum, cs231n_momentum, rmsprop, adam) with learning
    rate ``lr`` and ``hyperparameters`` (beta, mu, nesterov, beta1, beta2, eps, l2_lambda, m: those of
    scratch_numpy.optim.make_optimizer; defaults are the project's, reference_torch.optim.HYPERPARAMETERS).

    ``schedule``: None (the constant rate ``lr``) or a name of scratch_numpy.schedules, with its
    hyperparameters among ``hyperparameters`` (decay_rate, base, k, time_interval: every one it takes,
    required); the epochs hold ``steps_per_epoch`` steps each (default 2), counted from 0: step k trains in
    epoch (k - 1) // steps_per_epoch at lr * f(epoch), and the rule gets ``epoch``, ``iteration`` (k - 1) and
    ``current_lr`` by keyword when it names them (module docstring). cs231n_momentum keeps the old rates
    inside v and torch's SGD does not (CONVENTIONS.md): under a schedule it is checked against numpy only
    (against="both" drops torch, with a note).

    ``dtype`` ("float64" or "float32"): the stream's, the rule's and the reference's. ``tolerance`` defaults
    to comparison.TOLERANCES[dtype]. ``hints``: when the rule fails, run the slipped variants of
    optimizer_hints.py and report those its trajectory matches. Raises ValueError or TypeError naming the
    argument for a bad argument (every hyperparameter's value is checked before the rule runs), and
    ValueError or TypeError naming the entry when the rule returns parameters or state of the wrong keys,
    type or shape; an exception raised by the rule itself propagates.
    """
    hp, keywords, clock = _arguments(name, lr, schedule, steps_per_epoch, hyperparameters)
    steps = _step_counts(steps)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    if not (against in AGAINST or callable(against)):
        raise ValueError(f"against must be one of {AGAINST} or a torch optimiser factory, not {against!r}")
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, not {seed!r}")
    if tolerance is not None and not isinstance(tolerance, Tolerance):
        raise TypeError(f"tolerance must be None or a comparison.Tolerance(rtol, atol_scale), not {tolerance!r}")
    notes = []
    if clock.schedule is not None and name == "cs231n_momentum" and against in ("torch", "both"):
        if against == "torch":
            raise ValueError("against='torch' cannot check cs231n_momentum under a schedule: torch's SGD buffer "
                             "does not keep the past rates that cs231n's v does (CONVENTIONS.md); use "
                             "against='numpy'")
        against = "numpy"
        notes.append("cs231n_momentum under a schedule is checked against numpy only: torch's SGD buffer does "
                     "not keep the past rates that cs231n's v does")
    stream = draw_stream(max(steps), seed, dtype)
    rule_label = label or getattr(rule, "__qualname__", type(rule).__name__)

    if not inspect.isclass(rule) and callable(getattr(rule, "step", None)):
        try:   # an object's state would carry over: the object itself, and a later check of it, stay as given
            rule = copy.deepcopy(rule)
        except Exception as error:   # e.g. it holds a module or a lock
            notes.append(f"the rule object could not be copied ({type(error).__name__}: {error}): the check "
                         "stepped the object itself, and a later check of it starts where this one ended")
    user, passed = _as_contender(rule, _copies(stream.params), keywords, clock)
    user_rows, warnings = _trajectory(user, stream, steps)
    notes.append(f"passed to the rule: {', '.join(passed)}" if passed else
                 "the rule takes no hyperparameters by keyword: it must use those of the check itself")
    if clock.schedule is not None:
        notes += _schedule_notes(clock, passed, max(steps))
    user_names = {row for rows in user_rows.values() for row in rows}

    comparisons = {}
    for reference, contender in _references(against, name, hp, clock, stream, dtype):
        expected_rows, _ = _trajectory(contender, stream, steps)
        # Row by row at each step count: state a rule exposes only after some steps is compared where it is.
        common = {k: [row for row in user_rows[k] if row in expected_rows[k]] for k in steps}
        comparisons[reference] = compare(
            {f"{row} after {_steps_text(k)}": user_rows[k][row] for k in steps for row in common[k]},
            {f"{row} after {_steps_text(k)}": expected_rows[k][row] for k in steps for row in common[k]},
            tolerance=tolerance, label=f"{rule_label} vs {reference}", strict_dtypes=False)
        comparisons[reference].dtype = dtype
        notes += _missing_notes(reference, expected_rows, user_rows)
    if extra := sorted(user_names - {row for r in comparisons.values() for row in _row_names(r)}):
        notes.append(f"the rule's {', '.join(extra)} has no counterpart in the reference: not compared")

    report = OptimizerReport(rule_label, name, hp, dtype, steps, seed, comparisons, warnings=warnings,
                             notes=notes, schedule=clock.describe())
    if hints and not report.passed:
        report.hints = _fired_hints(name, hp, clock, stream, steps, user_rows, dtype)
    return report


def assert_optimizer(rule: Any, name: str, **options: Any) -> OptimizerReport:
    """``check_optimizer`` (same arguments), then raise AssertionError with the report on a mismatch;
    returns the report when everything agrees."""
    report = check_optimizer(rule, name, **options)
    report.assert_passed()
    return report


# ------------------------------------------------------------------ arguments

def _arguments(name: str, lr: float, schedule: str | None, steps_per_epoch: int, given: Mapping[str, Any]):
    """(hp: {"lr": lr, the rule's hyperparameters with the project's defaults overridden by ``given``, and
    l2_lambda, m when l2_lambda > 0}; the keywords a rule may name: hp and the schedule's hyperparameters;
    the run's _Clock), checked."""
    if name not in torch_optim.HYPERPARAMETERS:
        raise ValueError(f"name must be one of {list(torch_optim.HYPERPARAMETERS)}, not {name!r}")
    if schedule is not None and (not isinstance(schedule, str) or schedule not in SCHEDULE_HYPERPARAMETERS):
        raise ValueError(f"schedule must be None or one of {list(numpy_schedules.NAMES)}, not {schedule!r}")
    if (not isinstance(steps_per_epoch, numbers.Integral) or isinstance(steps_per_epoch, bool)
            or steps_per_epoch < 1):
        raise ValueError(f"steps_per_epoch must be a whole number >= 1, not {steps_per_epoch!r}")
    allowed = set(torch_optim.HYPERPARAMETERS[name]) | {"l2_lambda", "m"}
    schedule_names = SCHEDULE_HYPERPARAMETERS[schedule] if schedule is not None else {}
    if unknown := sorted(set(given) - allowed - set(schedule_names)):
        schedule_part = (f" and schedule {schedule} takes {', '.join(schedule_names) or 'none'}"
                         if schedule is not None else " (decay_rate, base, k and time_interval need schedule=NAME)")
        raise TypeError(f"check_optimizer: {name} takes lr, {', '.join(sorted(allowed))}{schedule_part}; got "
                        f"unexpected {', '.join(unknown)}")
    if missing := [k for k in schedule_names if k not in given]:
        raise ValueError(f"schedule {schedule!r} needs {' and '.join(missing)}, e.g. "
                         + ", ".join(f"{k}={schedule_names[k][0]!r}" for k in missing))
    hp = {"lr": check_positive("lr", lr), **torch_optim.HYPERPARAMETERS[name],
          **{k: v for k, v in given.items() if k in allowed and k not in ("l2_lambda", "m")}}
    if given.get("l2_lambda"):
        if given.get("m") is None:
            raise ValueError("m (the number of training examples) is needed for lambda/m when l2_lambda > 0")
        hp.update(l2_lambda=given["l2_lambda"], m=given["m"])
    # Each value checked and named now (check_beta, check_positive, ...), not after the rule's 200 steps,
    # and also when no NumPy reference runs (against a torch optimiser factory).
    numpy_optim.make_optimizer(name, {"W1": np.zeros((1, 1))}, **hp)
    if schedule is None:
        return hp, hp, _Clock(hp["lr"])
    # make_schedule checks each value and names it (scratch_numpy.contract.check_schedule)
    made = numpy_schedules.make_schedule(schedule, **{k: given[k] for k in schedule_names})
    return hp, {**hp, **made.hyperparameters}, _Clock(hp["lr"], made, int(steps_per_epoch))


@dataclass(frozen=True)
class _Clock:
    """Where step k (1, 2, ...) of a run falls and the rate it trains at: ``schedule`` a
    scratch_numpy.schedules.Schedule, or None for the constant rate ``alpha0``; epoch (k - 1) //
    ``steps_per_epoch`` and iteration k - 1, both from 0. ``shift``: a schedule hint's slip, the counts its
    rate is off by (optimizer_hints.scheduled_lr)."""

    alpha0: float
    schedule: Any = None
    steps_per_epoch: int = STEPS_PER_EPOCH
    shift: int = 0

    def epoch(self, k: int) -> int:
        return (k - 1) // self.steps_per_epoch

    def lr(self, k: int) -> float:
        if self.schedule is None:
            return self.alpha0
        count = k - 1 if self.schedule.unit == "iteration" else self.epoch(k)
        return optimizer_hints.scheduled_lr(self.schedule, self.alpha0, count, self.shift)

    def keywords(self, k: int) -> dict[str, Any]:
        """STEP_KEYWORDS for step k; none without a schedule (a constant-rate rule keeps its signature)."""
        if self.schedule is None:
            return {}
        return {"epoch": self.epoch(k), "iteration": k - 1, "current_lr": self.lr(k)}

    def advances(self, k: int) -> bool:
        """Whether a LambdaLR steps after step k: after an epoch's last step (every step, iteration unit)."""
        return self.schedule is not None and (self.schedule.unit == "iteration" or k % self.steps_per_epoch == 0)

    def describe(self) -> str:
        if self.schedule is None:
            return ""
        hp = ", ".join(f"{k}={v!r}" for k, v in self.schedule.hyperparameters.items())
        return f"{self.schedule.name}({hp}), {self.steps_per_epoch} steps per epoch from epoch 0"


def _schedule_notes(clock: _Clock, passed: Sequence[str], steps: int) -> list[str]:
    """What the user should know about a scheduled run: a rule that cannot follow it, or a schedule that
    keeps one rate over the whole run (then a late or early schedule cannot show)."""
    notes = []
    if not set(passed) & set(STEP_KEYWORDS):
        notes.append(f"the rule takes none of {', '.join(STEP_KEYWORDS)}: it cannot follow the schedule")
    if len({clock.lr(k) for k in range(1, steps + 1)}) == 1:
        notes.append(f"the schedule keeps one rate over all {steps} steps: a schedule one epoch late or early "
                     "cannot show (take more steps, fewer steps_per_epoch or a shorter time_interval)")
    return notes


def _step_counts(steps: Sequence[int]) -> tuple[int, ...]:
    """The distinct step counts, ascending; each a whole number >= 1."""
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence) or not steps or not all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1 for k in steps):
        raise ValueError(f"steps must be a non-empty sequence of whole numbers >= 1, e.g. (1, 3, 200), "
                         f"not {steps!r}")
    return tuple(sorted({int(k) for k in steps}))


def _missing_notes(reference: str, expected_rows: Mapping[int, Mapping], user_rows: Mapping[int, Mapping]):
    """A note per group of the reference's rows that the rule lacks at the same step counts ("after 1 step"
    when it exposes them later; nothing said when it lacks them throughout)."""
    lacking: dict[tuple[int, ...], list[str]] = {}
    for row in sorted({row for rows in expected_rows.values() for row in rows}):
        counts = tuple(k for k, rows in expected_rows.items() if row in rows and row not in user_rows[k])
        if counts:
            lacking.setdefault(counts, []).append(row)
    return [f"{reference} keeps {', '.join(rows)}, which the rule does not expose"
            f"{'' if len(counts) == len(expected_rows) else ' after ' + ', '.join(map(_steps_text, counts))}"
            ": not compared" for counts, rows in lacking.items()]


def _row_names(report: ParityReport) -> set[str]:
    return {d.tensor.rsplit(" after ", 1)[0] for d in report.diffs}


def _fired_hints(name, hp, clock, stream, steps, user_rows, dtype) -> list[OptimizerHint]:
    """The hints one of whose slipped variants runs, on the same stream, to the user's rows (all but t) while
    the course's rule (scratch_numpy.optim's) does not: each variant at the reference's rates, a schedule
    variant at its shifted ones. A variant is abandoned at the first step count where it parts from the
    user's rule. A variant that the course's rule matches as well on those rows (beta = 0 makes momentum's
    first step and dampening no slip; a tiny lr or eps hides most) cannot be told from it and names nothing:
    a rule that fails only by a little would otherwise match it."""
    (_, course), = _references("numpy", name, hp, clock, stream, dtype)
    course_rows, _ = _trajectory(course, stream, steps)
    fired = []
    for hint in optimizer_hints.applicable(name, hp, scheduled=clock.schedule is not None):
        for variant in hint.variants:
            rule = _FunctionRule(optimizer_hints.slipped_rule(variant, name, hp), _copies(stream.params), {},
                                 replace(clock, shift=optimizer_hints.SCHEDULE_SHIFTS.get(variant, 0)))
            slipped = False   # whether the variant has parted from the course's rule so far
            for k, variant_rows, _ in _snapshots(rule, stream, steps):
                common = [row for row in user_rows[k] if row in variant_rows and row in course_rows[k] and row != "t"]
                if not optimizer_hints.matches({row: user_rows[k][row] for row in common},
                                               {row: variant_rows[row] for row in common}, dtype):
                    break
                slipped = slipped or not optimizer_hints.matches({row: course_rows[k][row] for row in common},
                                                                 {row: variant_rows[row] for row in common}, dtype)
            else:
                if slipped:
                    fired.append(hint)
                    break
    return fired


def _worst_line(report: ParityReport) -> str:
    """The row with the largest relative error (a failed row first) and its element nearest to failing,
    with both values."""
    rows = [d for d in report.diffs if d.worst_index is not None]
    if not rows:
        return "worst: none (no comparable element)"
    d = max(rows, key=lambda d: (not d.passed, d.max_rel))
    return (f"worst: {d.tensor} (max rel {d.max_rel:.1e}), element {d.worst_index}: rule {d.actual_value!r}, "
            f"reference {d.expected_value!r}")
