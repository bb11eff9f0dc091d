"""Comparing named arrays: the pass rule, the per-tensor rows and the report.

``compare(actual, expected)`` takes two mappings name -> array (NumPy arrays,
Python floats or torch tensors on any device) and returns a ``ParityReport``:
one ``TensorDiff`` row per name with the largest absolute and relative error,
the elements outside tolerance (worst first, with their indices and both
values), a verdict and, for a failure, a hint from ``hints.py``. ``actual`` is
conventionally the NumPy implementation, ``expected`` the oracle.

Pass rule, elementwise::

    |actual - expected| <= atol + rtol * |expected|
    atol = atol_scale * max(max|expected|, max|actual|, tiny)

The absolute term is scaled to the tensor's size because matrix products and
reductions leave small components with a large *relative* error (cancellation)
even when the code is right. Arrays are never broadcast: a shape mismatch is a
failed row, and float32 is never compared with float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import torch

from . import hints

ArrayLike = Any  # np.ndarray | float | torch.Tensor
EMPTY: Mapping[str, Any] = MappingProxyType({})
WORST_SHOWN = 5  # failing elements listed per tensor under the table


@dataclass(frozen=True)
class Tolerance:
    """``rtol`` relative to each expected element; ``atol_scale`` relative to the tensor's largest element."""

    rtol: float
    atol_scale: float


# A few ulps of each format, leaving room for differently ordered sums.
TOLERANCES = {
    "float64": Tolerance(rtol=1e-12, atol_scale=1e-12),
    "float32": Tolerance(rtol=1e-5, atol_scale=1e-5),
}


# The check that produced a row -> the suffix of its name: "oracle" (torch.autograd), "finite differences",
# "kinks" (the kink probe's second pass against the oracle); "" for a plain compare().
CHECKS = {"": "", "oracle": "", "finite differences": " (finite differences)", "kinks": " (at kinks)"}


class Element(NamedTuple):
    """One element outside tolerance."""

    index: tuple
    actual: float
    expected: float


@dataclass(frozen=True)
class TensorDiff:
    """One compared tensor. ``name`` is the row's printed name: ``tensor`` followed by the suffix of ``check``
    (``CHECKS``: "dZ (at kinks)" is tensor "dZ", check "kinks"). ``max_rel`` is the largest
    ``|a-b| / max(|a|, |b|)`` (0 where both are 0); ``worst_index`` is the element with the largest
    ``|a-b| / (atol + rtol|b|)``, i.e. nearest to failing (None when there is no element to point at: a shape
    or dtype mismatch or an empty tensor). ``failed`` counts the elements outside tolerance and
    ``worst_elements`` lists up to ``WORST_SHOWN`` of them, worst first, as ``Element(index, actual, expected)``.
    ``note`` states facts about a failure (shapes, dtypes, NaN); ``hint`` the classic bug its values look like
    (``hints.py``), each "" when there is none."""

    name: str
    shape: tuple
    max_abs: float
    max_rel: float
    worst_index: tuple | None
    actual_value: float
    expected_value: float
    passed: bool
    note: str = ""
    failed: int = 0
    worst_elements: tuple[Element, ...] = ()
    hint: str = ""
    check: str = ""

    @property
    def tensor(self) -> str:
        """The compared tensor's name, without the check's suffix."""
        return self.name.removesuffix(CHECKS[self.check])


KINDS = ("outputs", "gradients", "updates")


def tensor_kind(name: str) -> str:
    """Which column of the parity table a tensor belongs to, from its name."""
    if " after " in name:
        return "updates"
    return "gradients" if name.startswith("d") else "outputs"


@dataclass
class ParityReport:
    """The rows of one comparison; ``str()`` renders them as a fixed-width table, then the worst elements of
    each failed tensor, then ``warnings``, then ``notes`` (how the rows were produced, e.g. the kink probe).
    ``warnings`` are findings that are no mismatch and do not fail the report, e.g. code under test that wrote
    into an array it was given."""

    diffs: list[TensorDiff]
    label: str = ""
    dtype: str = ""
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # name -> (actual, expected, rtol, atol), kept for numpy.testing's diagnostics in assert_passed.
    _pairs: dict[str, tuple[np.ndarray, np.ndarray, float, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return all(d.passed for d in self.diffs)

    @property
    def failures(self) -> list[TensorDiff]:
        return [d for d in self.diffs if not d.passed]

    def worst(self, kind: str) -> tuple[float, float]:
        """(max_abs, max_rel) over one kind of tensor, told apart by name: "gradients"
        start with "d" (dW1), "updates" contain " after " (W1 after 1 step), "outputs" are the rest."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        rows = [d for d in self.diffs if tensor_kind(d.name) == kind]
        return (max((d.max_abs for d in rows), default=0.0), max((d.max_rel for d in rows), default=0.0))

    def extend(self, other: ParityReport) -> None:
        """Append another report's rows (and notes) to this one, e.g. a second pass of the same check."""
        self.diffs += other.diffs
        self._pairs.update(other._pairs)
        self.notes += other.notes
        self.warnings += other.warnings

    def __str__(self) -> str:
        header = ("tensor", "shape", "max abs", "max rel", "verdict")
        rows = [(d.name, str(d.shape), f"{d.max_abs:.2e}", f"{d.max_rel:.2e}", _verdict(d)) for d in self.diffs]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines = [f"parity: {self.label or 'unnamed'} [{self.dtype}] - "
                 f"{len(self.failures)} of {len(self.diffs)} tensors failed"]
        for row in [header, tuple("-" * len(h) for h in header), *rows]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
        for d in self.failures:
            if d.worst_elements:
                lines += ["", f"{d.name}: {d.failed} of {int(np.prod(d.shape))} elements outside tolerance, "
                              "worst first:", *_table([("index", "actual", "expected"),
                                                       *((str(i), repr(a), repr(b)) for i, a, b in d.worst_elements)])]
        if self.warnings:
            lines += ["", *(f"warning: {w}" for w in self.warnings)]
        if self.notes:
            lines += ["", *self.notes]
        return "\n".join(lines)

    def assert_passed(self) -> None:
        """Raise AssertionError with the report, followed by numpy.testing's message for each failed tensor."""
        if self.passed:
            return
        messages = [str(self)]
        for d in self.failures:
            actual, expected, rtol, atol = self._pairs[d.name]
            try:
                np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=False, err_msg=d.name)
            except AssertionError as error:
                messages.append(str(error).strip())
        raise AssertionError("\n\n".join(messages))


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _verdict(d: TensorDiff) -> str:
    text = "ok" if d.passed else "FAIL"
    if not d.passed and d.worst_index is not None:
        text += f" at {d.worst_index}: actual {d.actual_value!r} vs expected {d.expected_value!r}"
    said = "; ".join(filter(None, (d.note, d.hint)))
    return f"{text} ({said})" if said else text


def to_numpy(x: ArrayLike) -> np.ndarray:
    """A NumPy copy of an array, a Python number (float64) or a tensor on any device."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def compare(actual: Mapping[str, ArrayLike], expected: Mapping[str, ArrayLike], *,
            tolerance: Tolerance | None = None, label: str = "",
            evidence: Mapping[str, hints.Evidence] = EMPTY, scales: Mapping[str, float] = EMPTY,
            check: str = "", strict_dtypes: bool = True) -> ParityReport:
    """Compare ``actual[name]`` with ``expected[name]`` for every name; rows follow ``actual``'s order.

    ``tolerance`` defaults to ``TOLERANCES[dtype]`` per pair. ``evidence[name]`` is what the caller knows
    about a tensor beyond its values (batch size, keep_prob, kinks; see ``hints.Evidence``), used only to
    word the hint of a failed row. ``scales[name]``: a magnitude the absolute tolerance is taken relative
    to when it exceeds the tensor's own largest entry, for a tensor whose entries are sums that cancel
    (a bias's gradient moment: its rounding is the size of the terms, not of the small result). ``check``
    (a key of ``CHECKS``) is recorded in every row and suffixes its name. Raises ValueError when the key sets
    differ, when a pair's dtypes differ (unless ``strict_dtypes`` is False: then the pair is a failed row
    naming both dtypes, for code under test that returns the wrong one), or when no default tolerance exists
    for the dtype.
    """
    if check not in CHECKS:
        raise ValueError(f"check must be one of {list(CHECKS)}, not {check!r}")
    if actual.keys() != expected.keys():
        raise ValueError(f"{label or 'compare'}: keys differ; missing from actual: "
                         f"{sorted(expected.keys() - actual.keys())}, extra in actual: "
                         f"{sorted(actual.keys() - expected.keys())}")
    report = ParityReport(diffs=[], label=label)
    dtypes = []
    for name in actual:
        a, b = to_numpy(actual[name]), to_numpy(expected[name])
        row = name + CHECKS[check]
        if a.dtype != b.dtype:
            rule = (" (float32 is never compared with float64)"
                    if {a.dtype.name, b.dtype.name} == {"float32", "float64"} else "")
            if strict_dtypes:
                raise ValueError(f"{name!r}: actual is {a.dtype}, expected is {b.dtype}{rule}")
            report.diffs.append(TensorDiff(row, a.shape, np.inf, np.inf, None, np.nan, np.nan, False,
                                           f"dtype {a.dtype} vs {b.dtype}{rule}", check=check))
            report._pairs[row] = (a, b, 0.0, 0.0)
            dtypes.append(b.dtype.name)
            continue
        tol = tolerance or TOLERANCES.get(a.dtype.name)
        if tol is None:
            raise ValueError(f"{name!r}: no default tolerance for {a.dtype}; pass tolerance=")
        diff, atol = _diff(row, a, b, tol, evidence.get(name, hints.NO_EVIDENCE), scales.get(name, 0.0), check)
        report.diffs.append(diff)
        report._pairs[row] = (a, b, tol.rtol, atol)
        dtypes.append(a.dtype.name)
    report.dtype = "/".join(dict.fromkeys(dtypes))
    return report


def _diff(name: str, a: np.ndarray, b: np.ndarray, tol: Tolerance,
          evidence: hints.Evidence, floor: float, check: str) -> tuple[TensorDiff, float]:
    """The row ``name`` for one pair, and the absolute tolerance it was judged with (relative to the larger
    of the pair's largest entry and ``floor``)."""
    # A hint's "equal" is looser than the pass rule: it names a pattern, it does not judge.
    slack = max(100 * tol.rtol, 1e-10)
    if a.shape != b.shape:
        return TensorDiff(name, a.shape, np.inf, np.inf, None, np.nan, np.nan, False, f"shape {a.shape} vs {b.shape}",
                          hint=hints.shape_hint(a.astype(np.float64), b.astype(np.float64), evidence, slack),
                          check=check), 0.0
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    finite = np.isfinite(a64) & np.isfinite(b64)
    same_inf = np.isinf(b64) & (a64 == b64)
    # Every non-finite element fails (NaN included, even NaN against NaN) unless it is the same inf.
    abs_err = np.where(same_inf, 0.0, np.inf)
    rel_err = abs_err.copy()
    with np.errstate(over="ignore"):
        gap = np.abs(a64[finite] - b64[finite])
    size = np.maximum(np.abs(a64[finite]), np.abs(b64[finite]))
    abs_err[finite] = gap
    rel_err[finite] = np.divide(gap, size, out=np.zeros_like(gap), where=size > 0)

    scale = max(np.abs(a64[np.isfinite(a64)]).max(initial=0.0), np.abs(b64[np.isfinite(b64)]).max(initial=0.0),
                float(floor), np.finfo(np.float64).tiny)
    atol = tol.atol_scale * scale
    allowed = atol + tol.rtol * np.where(np.isfinite(b64), np.abs(b64), 0.0)
    ratio = np.divide(abs_err, allowed, out=np.where(abs_err > 0, np.inf, 0.0), where=allowed > 0)
    failing = ~(abs_err <= allowed)
    passed = not failing.any()

    if a.size == 0:
        return TensorDiff(name, a.shape, 0.0, 0.0, None, np.nan, np.nan, True, check=check), atol
    order = [np.unravel_index(i, a.shape) for i in np.argsort(-ratio, axis=None, kind="stable")]
    worst = tuple(int(i) for i in order[0])
    shown = tuple(Element(tuple(int(i) for i in index), float(a64[index]), float(b64[index]))
                  for index in order[:min(WORST_SHOWN, int(failing.sum()))])
    nan_both = int(np.sum(np.isnan(a64) & np.isnan(b64)))
    unmatched = int(np.sum(~finite & ~same_inf))
    note = hint = ""
    if nan_both:
        note = f"NaN in both at {nan_both} place(s); NaN never passes"
    elif unmatched:
        note = f"non-finite values differ at {unmatched} place(s)"
    elif not passed:
        hint = hints.hint(a64, b64, failing, evidence, slack)
    return TensorDiff(name, a.shape, float(abs_err.max()), float(rel_err.max()), worst, float(a64[worst]),
                      float(b64[worst]), passed, note, int(failing.sum()), shown, hint, check), atol
