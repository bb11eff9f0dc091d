"""Convention hints for an update rule: which classic slip its numbers look like.

Each hint names a slip between the course's (and torch's) rules and what users commonly write, and the
rules it can occur in. ``check_optimizer`` runs, for every hint that applies to the checked rule and
hyperparameters, the slipped variants below on the same parameters and gradient stream; the hint fires
when the user's trajectory (every parameter and every piece of state the user exposes except ``t``, after
each step count) matches one of its variants within ``HINT_TOLERANCES`` while it fails the reference, and
the variant itself parts from the course's rule on those rows (at beta = 0 momentum's first step and
dampening are no slip, with a tiny eps its placement is none, with v hidden cs231n's sign cannot show: such
a variant names nothing). A slip is recognised from the numbers alone, never from the code.

    hint                     rules                        the slipped variant(s)
    eps_inside_sqrt          rmsprop, adam                W -= lr g / sqrt(s + eps)      (adam: sqrt(s_hat + eps))
    eps_before_correction    adam                         W -= lr sqrt(1 - b2^t) / (1 - b1^t) v / (sqrt(s) + eps)
                                                          (Keras, ONNX, the Adam paper's "efficient" form)
    bias_correction_missing  adam                         v_hat = v, s_hat = s (both, or either one)
    t_off_by_one             adam                         the correction uses t - 1 (t from 0, or incremented after
                                                          it: the first step divides by 1 - beta^0 = 0) or t + 1
    momentum_first_step      momentum                     v_1 = g_1 (torch's buf_1 = g_1), the course's rule after
    momentum_no_dampening    momentum                     v = beta v + g at every step (torch's dampening = 0)
    velocity_sign            cs231n_momentum              v = mu v + lr g, W -= v (nesterov: W -= -mu v_prev + (1+mu) v)
    decay_on_biases          every rule, with l2_lambda   db += (lambda / m) b as well as dW += (lambda / m) W
    decay_without_m          every rule, with l2_lambda   dW += lambda W (no / m)
    schedule_late            every rule, with a schedule  the course's rule at the rate of count - 1: alpha0 for count 0,
                                                          then alpha0 f(count - 1) (the schedule's delay 1, the course's
                                                          loop, which sets the rate after an epoch from that epoch)
    schedule_early           every rule, with a schedule  the course's rule at the rate alpha0 f(count + 1) (a count from 1
                                                          in a formula counting from 0, or incremented before the rate)

The count is the epoch (0, 1, ...: the epochs already completed; the update for inverse_sqrt_step) and f
the project's schedule (scratch_numpy.schedules): the schedule hints change the rate only, every other
hint's variant runs at the reference's rate of each step, so those slips are recognised under a schedule
too. A rule that evaluates f(-1) in epoch 0 (undefined for 1 / (1 + e) and k / sqrt(e + 1)) parts from
schedule_late at the first step and gets no hint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from reference_torch.optim import STATE_NAMES   # what each rule keeps, in the course's names

from .comparison import Tolerance, compare

# A match names a pattern; it does not judge, so it is looser than the pass rule (comparison.TOLERANCES)
# and far below the size of the slips: on a correct rule's trajectory no variant matches, on 10 seeds
# (parity_tests/test_check_optimizer.py::test_the_hints_stay_silent_even_when_asked_on_a_correct_trajectory).
HINT_TOLERANCES = {
    "float64": Tolerance(rtol=1e-8, atol_scale=1e-8),
    "float32": Tolerance(rtol=1e-3, atol_scale=1e-3),
}


@dataclass(frozen=True)
class OptimizerHint:
    """One classic slip: ``message`` says in one sentence what it is and the fix; ``variants`` are the
    slipped rules run to recognise it (any one matching fires the hint)."""

    key: str
    rules: tuple[str, ...]
    message: str
    variants: tuple[str, ...]
    needs_l2: bool = False
    needs_schedule: bool = False


ALL_RULES = tuple(STATE_NAMES)
HINTS = {hint.key: hint for hint in (
    OptimizerHint("eps_inside_sqrt", ("rmsprop", "adam"),
                  "eps is inside the square root (sqrt(s + eps), TensorFlow's RMSprop): add it outside, "
                  "sqrt(s) + eps (sqrt(s_hat) + eps in Adam), as the course and torch do.",
                  ("eps_inside_sqrt",)),
    OptimizerHint("eps_before_correction", ("adam",),
                  "eps is added to sqrt(s) before the bias correction (Keras/ONNX's lr sqrt(1 - beta2^t) / "
                  "(1 - beta1^t) form): add it after, alpha v_hat / (sqrt(s_hat) + eps), as the course and "
                  "torch do.",
                  ("eps_before_correction",)),
    OptimizerHint("bias_correction_missing", ("adam",),
                  "the bias correction is missing: divide v by (1 - beta1^t) and s by (1 - beta2^t) before "
                  "the update.",
                  ("no_correction", "no_correction_v", "no_correction_s")),
    OptimizerHint("t_off_by_one", ("adam",),
                  "the bias correction uses t off by one (t counted from 0 or incremented after the "
                  "correction, or started at 1 and incremented before it): t must be 1 in the first step's "
                  "1 - beta^t, so increment it once, before the correction.",
                  ("t_minus_1", "t_plus_1")),
    OptimizerHint("momentum_first_step", ("momentum",),
                  "the first step starts the velocity at the gradient (v_1 = dW_1, torch's buf_1 = g_1): "
                  "start from v_0 = 0, so that v_1 = (1 - beta) dW_1 (torch: preset a zero momentum_buffer).",
                  ("momentum_first_step",)),
    OptimizerHint("momentum_no_dampening", ("momentum",),
                  "the velocity sums the gradients without the (1 - beta) (v = beta v + dW, torch's dampening "
                  "= 0): average them, v = beta v + (1 - beta) dW (torch: dampening = beta).",
                  ("momentum_no_dampening",)),
    OptimizerHint("velocity_sign", ("cs231n_momentum",),
                  "the velocity has the opposite sign (v = mu v + lr dW, W -= v): the parameters agree but v "
                  "is minus cs231n's; keep v = mu v - lr dW and W += v.",
                  ("velocity_sign",)),
    OptimizerHint("decay_on_biases", ALL_RULES,
                  "weight decay is applied to the biases too: add (lambda / m) W to dW only, the biases are "
                  "not regularised (torch: weight_decay on the weight group only).",
                  ("decay_on_biases",), needs_l2=True),
    OptimizerHint("decay_without_m", ALL_RULES,
                  "weight decay adds lambda W instead of (lambda / m) W: divide by the number of training "
                  "examples m (torch: weight_decay = lambda / m).",
                  ("decay_without_m",), needs_l2=True),
    OptimizerHint("schedule_late", ALL_RULES,
                  "the learning-rate schedule runs one epoch late (one update for inverse_sqrt_step): epoch e "
                  "trains at alpha0 f(e - 1) and epoch 0 at alpha0, as when the rate is set after an epoch from "
                  "that epoch's number (the course's loop): set it before epoch e from e itself, counted from 0, "
                  "so that epoch e trains at alpha0 f(e).",
                  ("schedule_late",), needs_schedule=True),
    OptimizerHint("schedule_early", ALL_RULES,
                  "the learning-rate schedule runs one epoch early (one update for inverse_sqrt_step): epoch e "
                  "trains at alpha0 f(e + 1), as when the epoch is counted from 1 (the lecture's epoch_num) in a "
                  "formula that counts from 0 or incremented before the rate is computed: count the epochs "
                  "already completed, 0 in the first epoch, so that it trains at alpha0 f(0).",
                  ("schedule_early",), needs_schedule=True),
)}

# The count each schedule variant reads the rate at, relative to the reference's (scheduled_lr).
SCHEDULE_SHIFTS = {"schedule_late": -1, "schedule_early": 1}


def applicable(name: str, hp: Mapping, scheduled: bool = False) -> list[OptimizerHint]:
    """The hints that can occur in rule ``name`` with hyperparameters ``hp`` (the L2 ones need
    ``l2_lambda`` > 0, the schedule ones a schedule: ``scheduled``)."""
    return [hint for hint in HINTS.values()
            if name in hint.rules and (not hint.needs_l2 or hp.get("l2_lambda", 0.0) > 0)
            and (not hint.needs_schedule or scheduled)]


def scheduled_lr(schedule, alpha0: float, count: int, shift: int = 0) -> float:
    """The rate of count ``count`` (0, 1, ...) under ``schedule`` (a scratch_numpy.schedules.Schedule),
    ``shift`` counts off, computed by the project's Schedule itself: 0 is the reference, alpha0 f(count);
    -1 (schedule_late) is the schedule with delay 1, alpha0 for count 0 and then alpha0 f(count - 1), since
    f(-1) is undefined for 1 / (1 + d e) with d = 1 and for k / sqrt(e + 1), and a late rule starts at
    alpha0 (no rate has been set yet); +1 (schedule_early) is alpha0 f(count + 1)."""
    if shift < 0:
        return replace(schedule, delay=schedule.delay - shift).lr(alpha0, count)
    return schedule.lr(alpha0, count + shift)


def slipped_rule(variant: str, name: str, hp: Mapping) -> Callable:
    """The course's rule ``name`` with the slip ``variant``, as a user would write it:
    ``update(params, grads, state, current_lr=None) -> state``, params {W1, b1, ...} updated in place, state
    {"t": t, "v": {"dW1": ...}, "s": {...}} (None before the first step), in the dtype of params; the step's
    rate ``current_lr`` (under a schedule: optimizer.check_optimizer passes it) or else hp["lr"]. The
    schedule variants change no line here: they are the course's rule fed a shifted rate (scheduled_lr).

    Textbook formulas (course 2, week 2; cs231n), t the step number (1 in the first step):

        L2:       dW += (lambda / m) W                         (b not regularised)
        gd:       W -= lr dW
        momentum: v = beta v + (1 - beta) dW;  W -= lr v
        cs231n:   v = mu v - lr dW;  W += v    (nesterov: W += -mu v_prev + (1 + mu) v)
        rmsprop:  s = beta s + (1 - beta) dW^2;  W -= lr dW / (sqrt(s) + eps)
        adam:     v = beta1 v + (1 - beta1) dW;  s = beta2 s + (1 - beta2) dW^2;
                  W -= lr (v / (1 - beta1^t)) / (sqrt(s / (1 - beta2^t)) + eps)

    with the one line the slip changes (module docstring)."""
    variants = {v for hint in HINTS.values() if name in hint.rules for v in hint.variants}
    if variant not in variants:
        raise ValueError(f"variant must be one of {sorted(variants)} for rule {name!r}, not {variant!r}")
    delta = _DELTAS[name]
    l2_lambda, m = hp.get("l2_lambda", 0.0), hp.get("m")
    decay = 0.0 if not l2_lambda else l2_lambda if variant == "decay_without_m" else l2_lambda / m

    def update(params, grads, state, current_lr=None):
        step_hp = hp if current_lr is None else {**hp, "lr": current_lr}
        if state is None:
            state = {"t": 0, **{s: {"d" + k: np.zeros_like(p) for k, p in params.items()} for s in STATE_NAMES[name]}}
        state["t"] += 1
        for key, W in params.items():
            g = grads["d" + key]
            if decay and (key.startswith("W") or variant == "decay_on_biases"):
                g = g + decay * W
            W -= delta(g, state["t"], [state[s]["d" + key] for s in STATE_NAMES[name]], step_hp, variant)
        return state

    return update


def _gd(g, t, state, hp, variant):
    return hp["lr"] * g


def _momentum(g, t, state, hp, variant):
    (v,) = state
    beta = hp["beta"]
    if variant == "momentum_first_step" and t == 1:
        v[...] = g
    else:
        v *= beta
        v += g if variant == "momentum_no_dampening" else (1 - beta) * g
    return hp["lr"] * v


def _cs231n(g, t, state, hp, variant):
    (v,) = state
    mu, sign = hp["mu"], -1.0 if variant == "velocity_sign" else 1.0   # the slip keeps -v and steps W -= v
    v_prev = v.copy()
    v *= mu
    v -= sign * hp["lr"] * g
    step = -mu * v_prev + (1 + mu) * v if hp["nesterov"] else v
    return -sign * step


def _rmsprop(g, t, state, hp, variant):
    (s,) = state
    s *= hp["beta"]
    s += (1 - hp["beta"]) * g * g
    denominator = np.sqrt(s + hp["eps"]) if variant == "eps_inside_sqrt" else np.sqrt(s) + hp["eps"]
    return hp["lr"] * g / denominator


def _adam(g, t, state, hp, variant):
    v, s = state
    beta1, beta2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    v *= beta1
    v += (1 - beta1) * g
    s *= beta2
    s += (1 - beta2) * g * g
    t = {"t_minus_1": t - 1, "t_plus_1": t + 1}.get(variant, t)
    c1 = 1.0 if variant in ("no_correction", "no_correction_v") else 1 - beta1 ** t
    c2 = 1.0 if variant in ("no_correction", "no_correction_s") else 1 - beta2 ** t
    if variant == "eps_before_correction":
        return hp["lr"] * np.sqrt(c2) / c1 * v / (np.sqrt(s) + eps)
    if variant == "eps_inside_sqrt":
        return hp["lr"] * (v / c1) / np.sqrt(s / c2 + eps)
    return hp["lr"] * (v / c1) / (np.sqrt(s / c2) + eps)


_DELTAS = {"gd": _gd, "momentum": _momentum, "cs231n_momentum": _cs231n, "rmsprop": _rmsprop, "adam": _adam}


def matches(actual: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], dtype: str) -> bool:
    """Whether two trajectories' rows (name -> array, the same names) agree within ``HINT_TOLERANCES[dtype]``,
    elementwise as comparison.compare judges, with non-finite entries agreeing where both hold the same
    value or both NaN (a slip such as t_minus_1 turns every parameter into NaN at its first step). Rows of
    different dtypes never agree: float32 is never compared with float64 (a rule that upcasts fails by
    dtype, and its numbers name no slip)."""
    cleaned_a, cleaned_b = {}, {}
    for name in actual:
        a, b = np.asarray(actual[name]), np.asarray(expected[name])
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        a, b = a.astype(np.float64), b.astype(np.float64)
        both = (np.isnan(a) & np.isnan(b)) | (np.isinf(a) & (a == b))
        cleaned_a[name], cleaned_b[name] = np.where(both, 0.0, a), np.where(both, 0.0, b)
    return compare(cleaned_a, cleaned_b, tolerance=HINT_TOLERANCES[dtype]).passed
