"""Hints for a failed tensor: which classic bug its values look like.

``hint`` (same shapes) and ``shape_hint`` (different shapes) look at the
actual and expected arrays, plus what the check knows about the tensor
(``Evidence``: the batch axis and size, a dropout keep_prob, which entries
were set exactly at a kink, the gradient before its sum over the batch axis),
and name a bug signature:

    at a kink      every mismatch sits where the input is exactly at a kink  (< vs <= in a mask)
    swapped        actual = the expected value of another tensor             (gradients in the wrong order)
    transposed     actual = expected^T
    sign           actual = -expected
    keep_prob      actual = keep_prob x expected on the kept units           (inverted dropout's 1/keep_prob)
    1/m            actual = m x expected, or expected / m
    factor         actual = c x expected for any other constant c
    one column     actual = one column of the per-example gradient           (a loop that overwrites)
    not summed     actual (n, m) vs expected (n, 1), and its sum over axis 1 is expected
    wrong axis     actual has the shape (or values) of a sum over another axis than the batch axis
    keepdims       same values, different shape

Hints are conservative: each needs its pattern to hold on the whole tensor
(to a ``slack`` relative to the tensor's largest entry, looser than the pass
rule: a hint names a pattern, it does not judge). No hint beats a wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evidence:
    """What the check knows about one tensor beyond its two values; every field is optional.

    ``out_shape`` and ``batch_axis`` (non-negative) describe the layer's output; ``batch_size`` is its
    size along the batch axis, m. ``keep_prob``: a dropout mask of this tensor's shape was drawn with it.
    ``kink_mask``: True where this gradient's own input ``kink_input`` is exactly at a kink.
    ``per_example()``: the expected gradient of a parameter broadcast along the batch axis, before that
    sum (the output's shape; its sum over ``batch_axis`` is the expected gradient), or None when the
    oracle cannot give it; called only when a hint needs it. ``others``: the expected values of the other
    tensors compared beside this one (name -> float64 array), to recognise gradients swapped with each other.
    """

    out_shape: tuple | None = None
    batch_axis: int | None = None
    keep_prob: float | None = None
    kink_mask: np.ndarray | None = None
    kink_input: str = ""
    per_example: Callable[[], np.ndarray | None] | None = None
    others: Mapping[str, np.ndarray] | None = None

    @property
    def batch_size(self) -> int | None:
        if self.out_shape is None or self.batch_axis is None:
            return None
        return self.out_shape[self.batch_axis]


NO_EVIDENCE = Evidence()


def hint(actual: np.ndarray, expected: np.ndarray, failing: np.ndarray, evidence: Evidence = NO_EVIDENCE,
         slack: float = 1e-10) -> str:
    """The hint for two float64 arrays of one shape; ``failing`` marks the elements outside tolerance."""
    return (_at_kinks(failing, evidence) or _swapped(actual, evidence, slack) or _transposed(actual, expected, slack)
            or _factor_hint(actual, expected, evidence, slack) or _one_column(actual, evidence, slack))


def shape_hint(actual: np.ndarray, expected: np.ndarray, evidence: Evidence = NO_EVIDENCE,
               slack: float = 1e-10) -> str:
    """The hint for two float64 arrays of different shapes."""
    if text := _swapped(actual, evidence, slack):
        return text
    if actual.ndim == 2 and actual.shape == expected.shape[::-1] and same(actual.T, expected, slack):
        return "actual matches expected transposed"
    if actual.size == expected.size and same(actual.reshape(expected.shape), expected, slack):
        return "same values: a missing keepdims or reshape"
    text = _not_summed(actual, expected, evidence, slack) or _wrong_axis(actual, expected, evidence, slack)
    if text:
        return text
    return "same size: a missing keepdims or reshape?" if actual.size == expected.size else ""


# --- the patterns ----------------------------------------------------------------------------------

def _at_kinks(failing, evidence: Evidence) -> str:
    at_kink = evidence.kink_mask
    if at_kink is None or at_kink.shape != failing.shape or not failing.any() or (failing & ~at_kink).any():
        return ""
    return (f"mismatches only where {evidence.kink_input} is exactly at a kink ({int(failing.sum())} of "
            f"{int(at_kink.sum())} such entries): the derivative chosen at the kink differs from the torch "
            "expression's, e.g. a mask written with < instead of <=")


def _swapped(a, evidence: Evidence, slack) -> str:
    # An all-zero tensor equals any other all-zero one: matching it says nothing.
    for name, other in (evidence.others or {}).items():
        if other.shape == a.shape and np.any(other != 0) and same(a, other, slack):
            return (f"actual = expected {name}: swapped with {name} (gradients returned in the wrong order or "
                    "under each other's names)")
    return ""


def _transposed(a, b, slack) -> str:
    # a symmetric expected (a 1 x 1 one included) is its own transpose: matching it says nothing
    if a.ndim == 2 and a.shape[0] == a.shape[1] and same(a, b.T, slack) and not same(b, b.T, slack):
        return "actual matches expected transposed"
    return ""


def _factor_hint(a, b, evidence: Evidence, slack) -> str:
    c = _factor(a, b, slack)
    if c is None or _near(c, 1.0, slack):
        return ""
    m, keep = evidence.batch_size, evidence.keep_prob
    if _near(c, -1.0, slack):
        return "sign flipped: actual = -expected everywhere"
    if keep is not None and _near(c, keep, slack):
        return (f"actual = {keep:g} x expected = keep_prob x expected on the kept units: "
                "the 1/keep_prob of inverted dropout is missing")
    if m and _near(c, m, slack):
        return f"actual = {m} x expected everywhere (m = {m}, the batch size): the 1/m is missing"
    if m and _near(c, 1 / m, slack):
        return f"actual = expected / {m} everywhere (m, the batch size): an extra 1/m"
    if a.size < 2:  # any two nonzero numbers are proportional: no evidence of a convention
        return ""
    return f"actual = {c:.6g} x expected everywhere: a convention factor such as 1/m?"


def _one_column(a, evidence: Evidence, slack) -> str:
    ax, m = evidence.batch_axis, evidence.batch_size
    if evidence.per_example is None or not m or m < 2 or a.ndim <= ax or a.shape[ax] != 1:
        return ""
    full = evidence.per_example()
    if full is None:
        return ""
    for j in range(m):
        c = _proportional_up_to_m(a, np.take(full, [j], axis=ax), m, slack)
        if c is not None:
            return (f"actual = {_times(c, m)}column {j} of the per-example gradient: the sum over the batch "
                    f"axis (axis {ax}) is missing, e.g. a loop that overwrites instead of adding")
    return ""


def _not_summed(a, b, evidence: Evidence, slack) -> str:
    ax, m = evidence.batch_axis, evidence.batch_size
    if not m or m < 2 or b.ndim <= ax or b.shape[ax] != 1 or a.shape != _with(b.shape, ax, m):
        return ""
    c = _proportional_up_to_m(a.sum(axis=ax, keepdims=True), b, m, slack)
    if c is not None:
        return (f"the sum over the batch axis (axis {ax}) is missing: actual summed over it "
                f"equals {_times(c, m)}expected")
    return f"actual keeps the batch axis (axis {ax}, m = {m}) that expected sums away: a missing sum?"


def _wrong_axis(a, b, evidence: Evidence, slack) -> str:
    ax, shape = evidence.batch_axis, evidence.out_shape
    if shape is None or ax is None or b.shape != _with(shape, ax, 1):
        return ""
    for k in range(len(shape)):
        if k == ax or a.shape not in (_with(shape, k, 1), shape[:k] + shape[k + 1:]):
            continue
        full = evidence.per_example() if evidence.per_example else None
        if full is None:
            return (f"actual has the shape of a sum over axis {k}; expected sums over the batch axis {ax}: "
                    "summed over the wrong axis?")
        c = _proportional_up_to_m(a, full.sum(axis=k).reshape(a.shape), evidence.batch_size, slack)
        if c is not None:
            return (f"actual = {_times(c, evidence.batch_size)}the per-example gradient summed over axis {k}: "
                    f"the sum must run over the batch axis {ax}")
    return ""


# --- helpers -----------------------------------------------------------------------------------

def same(a: np.ndarray, b: np.ndarray, slack: float) -> bool:
    """Same shape and equal elementwise to ``slack`` times the larger array's largest entry."""
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0), np.finfo(np.float64).tiny)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= slack * scale))


def _factor(a, b, slack) -> float | None:
    """The constant c with a = c b on every element (least squares, then checked), or None."""
    bb = float(np.sum(b * b))
    if a.shape != b.shape or bb == 0.0:
        return None
    c = float(np.sum(a * b)) / bb
    return c if c != 0.0 and same(a, c * b, slack) else None


def _near(c: float, target: float, slack) -> bool:
    return abs(c - target) <= max(slack, 1e-9) * abs(target)


def _proportional_up_to_m(a, ref, m, slack) -> float | None:
    """c in {1, m, 1/m} with a = c ref: a reduction bug alone, or together with a misplaced 1/m."""
    c = _factor(a, ref, slack)
    return c if c is not None and any(_near(c, t, slack) for t in (1.0, m, 1.0 / m)) else None


def _times(c: float, m: int) -> str:
    """How to print the factor found by _proportional_up_to_m before a noun."""
    if abs(c - 1.0) < 1e-6:
        return ""
    return f"{m} x " if c > 1 else f"1/{m} x "


def _with(shape: tuple, axis: int, size: int) -> tuple:
    return shape[:axis] + (size,) + shape[axis + 1:]
