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
    an object with step(params, grads)         its ``state`` attribute, when it has one, is compared
    a class                                    built as cls(params, **hyperparameters), then as an object

A function or class receives, by keyword, the hyperparameters its signature names (lr, beta, mu,
nesterov, beta1, beta2, eps, l2_lambda, m; under a schedule also its decay_rate, base, k, time_interval):
the values the check uses for the reference; under a schedule, the function or ``step`` also receives
STEP_KEYWORDS (epoch, iteration, current_lr) before each step, those it names (see below).

State is compared in the course's names: {"t": t, "v": {"dW1": ...}, "s": {...}} (a key "W1" inside v or
s is read as "dW1"). Rows are "W1 after 3 steps", "v[dW1] after 3 steps", "t after 3 steps"; state the
reference does not keep is listed, not compared.

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
(optimizer_hints.py) say which classic slip its numbers match.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import models as torch_models
from reference_torch import optim as torch_optim
from reference_torch import schedules as torch_schedules
from scratch_numpy import optim as numpy_optim
from scratch_numpy import schedules as numpy_schedules
from scratch_numpy.contract import SCHEDULE_HYPERPARAMETERS

from . import optimizer_hints
from .comparison import TOLERANCES, ParityReport, Tolerance, compare
from .optimizer_hints import OptimizerHint

__all__ = ["DEFAULT_STEPS", "HYPERPARAMETERS", "OptimizerReport", "STEPS_PER_EPOCH", "STEP_KEYWORDS", "Stream",
           "assert_optimizer", "check_optimizer", "draw_stream"]

DEFAULT_STEPS = (1, 3, 200)
STEPS_PER_EPOCH = 2                # under a schedule: step 3 is already in epoch 1, and 200 steps span 100 epochs
STEP_KEYWORDS = ("epoch", "iteration", "current_lr")   # passed before each step, under a schedule
LAYER_DIMS = (5, 4, 3)             # W1 (4, 5), b1 (4, 1), W2 (3, 4), b2 (3, 1)
GRADIENT_DECADES = (-10.0, 1.0)    # log10 of each gradient element's scale: around eps = 1e-8 and far above
HYPERPARAMETERS = ("lr", "beta", "mu", "nesterov", "beta1", "beta2", "eps", "l2_lambda", "m")
AGAINST = ("numpy", "torch", "both")
DTYPES = tuple(TOLERANCES)


@dataclass(frozen=True)
class Stream:
    """The numbers every contender starts from: ``params`` {W1, b1, ...} and ``grads``, one dict
    {dW1, db1, ...} per step, all in one dtype."""

    params: dict[str, np.ndarray]
    grads: list[dict[str, np.ndarray]]


def draw_stream(steps: int, seed: int = 0, dtype: str = "float64", layer_dims: Sequence[int] = LAYER_DIMS) -> Stream:
    """Parameters W_l (n_l, n_(l-1)) and b_l (n_l, 1) ~ N(0, 1) and ``steps`` gradient dicts from
    ``default_rng(seed)``: element (i, j) of dW_l at every step is ``scale_ij * N(0, 1)``, with
    log10(scale_ij) ~ U(GRADIENT_DECADES) drawn once, so an element is small or large at every step (a
    running average of its squares stays near eps or far above it)."""
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1]))
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1))
    scales = {key: 10.0 ** rng.uniform(*GRADIENT_DECADES, size=p.shape) for key, p in params.items()}
    grads = [{"d" + key: (scales[key] * rng.standard_normal(p.shape)).astype(dtype) for key, p in params.items()}
             for _ in range(steps)]
    return Stream({key: p.astype(dtype) for key, p in params.items()}, grads)


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
    argument for a bad argument, and ValueError naming the array when the rule returns parameters or state
    of the wrong keys, type or shape; an exception raised by the rule itself propagates.
    """
    hp, keywords, clock = _arguments(name, lr, schedule, steps_per_epoch, hyperparameters)
    steps = _step_counts(steps)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    if not (against in AGAINST or callable(against)):
        raise ValueError(f"against must be one of {AGAINST} or a torch optimiser factory, not {against!r}")
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

    user, passed = _as_contender(rule, _copies(stream.params), keywords, clock)
    user_rows, wrote = _trajectory(user, stream, steps)
    notes.append(f"passed to the rule: {', '.join(passed)}" if passed else
                 "the rule takes no hyperparameters by keyword: it must use those of the check itself")
    if clock.schedule is not None:
        notes += _schedule_notes(clock, passed, max(steps))
    user_names = {row for rows in user_rows.values() for row in rows}

    comparisons = {}
    for reference, contender in _references(against, name, hp, clock, stream, dtype):
        expected_rows, _ = _trajectory(contender, stream, steps)
        expected_names = {row for rows in expected_rows.values() for row in rows}
        common = [row for row in next(iter(user_rows.values())) if row in expected_names]
        comparisons[reference] = compare(
            {f"{row} after {_steps_text(k)}": user_rows[k][row] for k in steps for row in common},
            {f"{row} after {_steps_text(k)}": expected_rows[k][row] for k in steps for row in common},
            tolerance=tolerance, label=f"{rule_label} vs {reference}", strict_dtypes=False)
        comparisons[reference].dtype = dtype
        if missing := sorted(expected_names - user_names):
            notes.append(f"{reference} keeps {', '.join(missing)}, which the rule does not expose: not compared")
    if extra := sorted(user_names - {row for r in comparisons.values() for row in _row_names(r)}):
        notes.append(f"the rule's {', '.join(extra)} has no counterpart in the reference: not compared")

    report = OptimizerReport(rule_label, name, hp, dtype, steps, seed, comparisons, notes=notes,
                             schedule=clock.describe())
    if wrote:
        report.warnings.append(f"the rule wrote into grads (first at step {wrote}): it was given a copy, so the "
                               "check is unaffected; a caller that reuses the gradients would see the change")
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
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
        raise ValueError(f"lr must be a positive number, not {lr!r}")
    hp = {"lr": float(lr), **torch_optim.HYPERPARAMETERS[name],
          **{k: v for k, v in given.items() if k in allowed and k not in ("l2_lambda", "m")}}
    if given.get("l2_lambda"):
        if given.get("m") is None:
            raise ValueError("m (the number of training examples) is needed for lambda/m when l2_lambda > 0")
        hp.update(l2_lambda=given["l2_lambda"], m=given["m"])
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


def _steps_text(k: int) -> str:
    return f"{k} step" + ("" if k == 1 else "s")


def _copies(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: a.copy() for key, a in arrays.items()}


def _row_names(report: ParityReport) -> set[str]:
    return {d.tensor.rsplit(" after ", 1)[0] for d in report.diffs}


# ------------------------------------------------------------------ contenders: step(grads), read()

class _ObjectRule:
    """An object with step(params, grads) (the user's, or scratch_numpy.optim's) and, optionally, .state;
    ``step`` gets the clock's STEP_KEYWORDS its signature names."""

    def __init__(self, rule, params, clock):
        self.rule, self.params, self.clock = rule, params, clock
        self.accepts = _accepted(rule.step)

    def step(self, grads, k):
        self.rule.step(self.params, grads, **_pick(self.accepts, self.clock.keywords(k)))

    def read(self):
        return self.params, getattr(self.rule, "state", None)


class _ProjectRule(_ObjectRule):
    """scratch_numpy.optim's rule, its lr set before each step as scratch_numpy.training sets it."""

    def step(self, grads, k):
        self.rule.lr = self.clock.lr(k)
        super().step(grads, k)


class _FunctionRule:
    """update(params, grads, state, **hyperparameters, **step keywords) -> state or (params, state)."""

    def __init__(self, update, params, keywords, clock):
        self.update, self.params, self.keywords, self.clock, self.state = update, params, keywords, clock, None
        self.accepts = _accepted(update)

    def step(self, grads, k):
        result = self.update(self.params, grads, self.state, **self.keywords,
                             **_pick(self.accepts, self.clock.keywords(k)))
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Mapping):
            self.params, result = result
        self.state = result

    def read(self):
        return self.params, self.state


class _TorchRule:
    """A torch optimiser over ``model`` (a reference_torch.models.Network holding the stream's parameters);
    ``with_state``: read its state back in the course's names (reference_torch.optim.optimizer_state). Under
    a schedule, reference_torch.schedules' LambdaLR is stepped after each epoch, as reference_torch.training
    does."""

    def __init__(self, optimizer, model, with_state, clock):
        self.optimizer, self.model, self.with_state, self.clock = optimizer, model, with_state, clock
        schedule = clock.schedule
        self.scheduler = None if schedule is None else torch_schedules.make_scheduler(
            optimizer, schedule.name, **schedule.hyperparameters)

    def step(self, grads, k):
        for key, p in bridge.course_parameters(self.model):
            g = grads["d" + key]
            p.grad = torch.from_numpy(g if p.dim() == 2 else np.ascontiguousarray(g[:, 0]))
        self.optimizer.step()
        if self.clock.advances(k):
            self.scheduler.step()

    def read(self):
        state = torch_optim.optimizer_state(self.optimizer, self.model) if self.with_state else None
        return bridge.params_from_module(self.model), state


def _accepted(function) -> set[str] | None:
    """The keywords ``function``'s signature names; None when it takes any (a **kwargs)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):   # a builtin without a signature: it takes none by keyword
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return set(parameters)


def _pick(accepts: set[str] | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` a signature accepting ``accepts`` (_accepted) takes."""
    return dict(values) if accepts is None else {k: v for k, v in values.items() if k in accepts}


def _as_contender(rule, params, keywords, clock):
    """(the rule as a contender, the keywords passed to it: hyperparameters, then step keywords)."""
    if inspect.isclass(rule):
        given = _pick(_accepted(rule), keywords)
        contender = _ObjectRule(rule(params, **given), params, clock)
    elif callable(getattr(rule, "step", None)):
        given, contender = {}, _ObjectRule(rule, params, clock)
    elif callable(rule):
        given = _pick(_accepted(rule), keywords)
        contender = _FunctionRule(rule, params, given, clock)
    else:
        raise TypeError(f"rule must be a function update(params, grads, state) -> state, an object with "
                        f"step(params, grads) or a class built as cls(params, **hyperparameters), not "
                        f"{type(rule).__name__}")
    return contender, [*given, *_pick(contender.accepts, clock.keywords(1))]


def _references(against, name, hp, clock, stream, dtype):
    """(description, contender) for each reference; each starts from its own copy of the parameters."""
    if against in ("numpy", "both"):
        params = _copies(stream.params)
        optimizer = numpy_optim.make_optimizer(name, params, **hp)
        yield f"scratch_numpy.optim {name}", _ProjectRule(optimizer, params, clock)
    if against in AGAINST and against != "numpy":
        model = _network(stream.params, dtype)
        rest = {k: v for k, v in hp.items() if k != "lr"}
        optimizer = torch_optim.make_optimizer(name, model, lr=hp["lr"], **rest)
        yield (f"torch.optim.{type(optimizer).__name__} (reference_torch.optim)",
               _TorchRule(optimizer, model, True, clock))
    if callable(against):
        model = _network(stream.params, dtype)
        optimizer = against([p for _, p in bridge.course_parameters(model)])
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"against(tensors) must return a torch.optim.Optimizer, not {type(optimizer).__name__}")
        yield (f"your torch.optim.{type(optimizer).__name__} (parameters only)",
               _TorchRule(optimizer, model, False, clock))


def _network(params, dtype):
    model = torch_models.Network(LAYER_DIMS, "relu", "softmax", dtype=bridge.resolve_dtype(dtype))
    bridge.params_to_module(params, model)
    return model


# ------------------------------------------------------------------ trajectories

def _snapshots(contender, stream: Stream, steps: tuple[int, ...]):
    """Run ``contender`` on the stream; after each step count K in ``steps`` yield (K, its rows, the first
    step at which it wrote into its gradients or None). Each step's gradients are handed as fresh copies,
    and the rows are copies too (a rule may keep updating the arrays it exposed)."""
    wrote = None
    shapes = {key: p.shape for key, p in stream.params.items()}
    for k, grads in enumerate(stream.grads[:steps[-1]], start=1):
        given = _copies(grads)
        # A slip such as t counted from 0 divides by zero: the trajectory then holds inf and NaN, which the
        # report shows (and a hint may match) instead of a warning raised out of the rule.
        with np.errstate(all="ignore"):
            contender.step(given, k)
        if wrote is None and any(not np.array_equal(given[n], grads[n]) for n in grads):
            wrote = k
        if k in steps:
            yield k, _rows(*contender.read(), shapes, k), wrote


def _trajectory(contender, stream: Stream, steps: tuple[int, ...]):
    """({K: rows after K steps} for K in ``steps``, the first step at which the contender wrote into its
    gradients or None)."""
    rows, wrote = {}, None
    for k, snapshot, wrote in _snapshots(contender, stream, steps):
        rows[k] = snapshot
    return rows, wrote


def _rows(params, state, shapes: Mapping[str, tuple], k: int) -> dict[str, np.ndarray]:
    """{"W1": ..., "t": float64, "v[dW1]": ...}: copies of the parameters and of the state, checked."""
    when = f"after {_steps_text(k)}"
    if not isinstance(params, Mapping) or set(params) != set(shapes):
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"{when}, params must hold exactly {sorted(shapes)}, got {got}")
    rows = {}
    for key, shape in shapes.items():
        rows[key] = _array(f"params[{key!r}]", params[key], shape, when)
    if state is None:
        return rows
    if not isinstance(state, Mapping):
        raise TypeError(f"{when}, the rule's state is a {type(state).__name__}: return a dict such as "
                        "{'t': t, 'v': {'dW1': ...}, 's': {...}} (or None when it keeps none)")
    for name, value in state.items():
        if isinstance(value, Mapping):
            for key, array in value.items():
                grad = key if key.startswith("d") else "d" + key
                shape = shapes.get(grad[1:])
                rows[f"{name}[{grad}]"] = _array(f"state[{name!r}][{key!r}]", array, shape, when)
        elif np.ndim(value) == 0:
            rows[str(name)] = np.float64(value)
        else:
            rows[str(name)] = np.array(value, copy=True)
    return rows


def _array(what: str, value, shape, when: str) -> np.ndarray:
    if not isinstance(value, (np.ndarray, torch.Tensor)):
        raise TypeError(f"{when}, {what} is a {type(value).__name__}, not an array")
    array = np.array(value.detach().cpu() if isinstance(value, torch.Tensor) else value, copy=True)
    if shape is not None and array.shape != shape:
        raise ValueError(f"{when}, {what} has shape {array.shape}; expected {shape}")
    return array


def _fired_hints(name, hp, clock, stream, steps, user_rows, dtype) -> list[OptimizerHint]:
    """The hints one of whose slipped variants runs, on the same stream, to the user's rows (all but t): each
    variant at the reference's rates, a schedule variant at its shifted ones. A variant is abandoned at the
    first step count where it parts from the user's rule."""
    fired = []
    for hint in optimizer_hints.applicable(name, hp, scheduled=clock.schedule is not None):
        for variant in hint.variants:
            rule = _FunctionRule(optimizer_hints.slipped_rule(variant, name, hp), _copies(stream.params), {},
                                 replace(clock, shift=optimizer_hints.SCHEDULE_SHIFTS.get(variant, 0)))
            for k, variant_rows, _ in _snapshots(rule, stream, steps):
                common = [row for row in user_rows[k] if row in variant_rows and row != "t"]
                if not optimizer_hints.matches({row: user_rows[k][row] for row in common},
                                               {row: variant_rows[row] for row in common}, dtype):
                    break
            else:
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
