"""Parity checks: a hand-written NumPy forward/backward pair against an oracle.

Two entry points:

* ``compare(actual, expected)`` compares named arrays (NumPy arrays, Python
  floats or torch tensors) and returns a ``ParityReport``: one row per tensor
  with the largest absolute and relative error, the worst element and a
  verdict. ``actual`` is conventionally the NumPy implementation, ``expected``
  the oracle (torch autograd, finite differences or a closed form).
* ``check_backward(forward, backward, oracle)`` draws inputs, runs the NumPy
  pair on a random upstream gradient and compares the output and every
  gradient with ``torch.autograd`` (and/or with central finite differences).

Pass rule, elementwise::

    |actual - expected| <= atol + rtol * |expected|
    atol = atol_scale * max(max|expected|, max|actual|, tiny)

The absolute term is scaled to the tensor's size because matrix products and
reductions leave small components with a large *relative* error (cancellation)
even when the code is right. Arrays are never broadcast: a shape mismatch is a
failed row, and float32 is never compared with float64.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

ArrayLike = Any  # np.ndarray | float | torch.Tensor
_EMPTY: Mapping[str, Any] = MappingProxyType({})


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
# Central differences carry O(eps^2) truncation and O(ulp / eps) rounding error:
# they are a third opinion, good to about 1e-7 in float64, not an exact one.
FINITE_DIFFERENCE_TOLERANCE = Tolerance(rtol=1e-6, atol_scale=1e-7)
GRAD_CONVENTIONS = ("vjp", "course")


@dataclass(frozen=True)
class TensorDiff:
    """One compared tensor. ``max_rel`` is the largest ``|a-b| / max(|a|, |b|)`` (0 where both are 0);
    ``worst_index`` is the element with the largest ``|a-b| / (atol + rtol|b|)``, i.e. nearest to failing
    (None when there is no element to point at: a shape mismatch or an empty tensor)."""

    name: str
    shape: tuple
    max_abs: float
    max_rel: float
    worst_index: tuple | None
    actual_value: float
    expected_value: float
    passed: bool
    note: str = ""


KINDS = ("outputs", "gradients", "updates")


def tensor_kind(name: str) -> str:
    """Which column of the parity table a tensor belongs to, from its name."""
    if " after " in name:
        return "updates"
    return "gradients" if name.startswith("d") else "outputs"


@dataclass
class ParityReport:
    """The rows of one comparison; ``str()`` renders them as a fixed-width table."""

    diffs: list[TensorDiff]
    label: str = ""
    dtype: str = ""
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

    def __str__(self) -> str:
        header = ("tensor", "shape", "max abs", "max rel", "verdict")
        rows = [(d.name, str(d.shape), f"{d.max_abs:.2e}", f"{d.max_rel:.2e}", _verdict(d)) for d in self.diffs]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
        lines = [f"parity: {self.label or 'unnamed'} [{self.dtype}] - "
                 f"{len(self.failures)} of {len(self.diffs)} tensors failed"]
        for row in [header, tuple("-" * len(h) for h in header), *rows]:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
        return "\n".join(lines)

    def assert_passed(self) -> None:
        """Raise AssertionError with the table, followed by numpy.testing's message for each failed tensor."""
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


def _verdict(d: TensorDiff) -> str:
    text = "ok" if d.passed else "FAIL"
    if not d.passed and d.worst_index is not None:
        text += f" at {d.worst_index}: actual {d.actual_value!r} vs expected {d.expected_value!r}"
    return f"{text} ({d.note})" if d.note else text


def _to_numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)  # a Python float becomes float64


def compare(actual: Mapping[str, ArrayLike], expected: Mapping[str, ArrayLike], *,
            tolerance: Tolerance | None = None, label: str = "") -> ParityReport:
    """Compare ``actual[name]`` with ``expected[name]`` for every name; rows follow ``actual``'s order.

    ``tolerance`` defaults to ``TOLERANCES[dtype]`` per pair. Raises ValueError when the key sets
    differ, when a pair's dtypes differ, or when no default tolerance exists for the dtype.
    """
    if actual.keys() != expected.keys():
        raise ValueError(f"{label or 'compare'}: keys differ; missing from actual: "
                         f"{sorted(expected.keys() - actual.keys())}, extra in actual: "
                         f"{sorted(actual.keys() - expected.keys())}")
    report = ParityReport(diffs=[], label=label)
    dtypes = []
    for name in actual:
        a, b = _to_numpy(actual[name]), _to_numpy(expected[name])
        if a.dtype != b.dtype:
            rule = (" (float32 is never compared with float64)"
                    if {a.dtype.name, b.dtype.name} == {"float32", "float64"} else "")
            raise ValueError(f"{name!r}: actual is {a.dtype}, expected is {b.dtype}{rule}")
        tol = tolerance or TOLERANCES.get(a.dtype.name)
        if tol is None:
            raise ValueError(f"{name!r}: no default tolerance for {a.dtype}; pass tolerance=")
        diff, atol = _diff(name, a, b, tol)
        report.diffs.append(diff)
        report._pairs[name] = (a, b, tol.rtol, atol)
        dtypes.append(a.dtype.name)
    report.dtype = "/".join(dict.fromkeys(dtypes))
    return report


def _diff(name: str, a: np.ndarray, b: np.ndarray, tol: Tolerance) -> tuple[TensorDiff, float]:
    """The row for one pair, and the absolute tolerance it was judged with."""
    if a.shape != b.shape:
        hint = "; same size: a missing keepdims or reshape?" if a.size == b.size else ""
        return TensorDiff(name, a.shape, np.inf, np.inf, None, np.nan, np.nan, False,
                          f"shape {a.shape} vs {b.shape}{hint}"), 0.0
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
                np.finfo(np.float64).tiny)
    atol = tol.atol_scale * scale
    allowed = atol + tol.rtol * np.where(np.isfinite(b64), np.abs(b64), 0.0)
    ratio = np.divide(abs_err, allowed, out=np.where(abs_err > 0, np.inf, 0.0), where=allowed > 0)
    passed = bool(np.all(abs_err <= allowed))

    if a.size == 0:
        return TensorDiff(name, a.shape, 0.0, 0.0, None, np.nan, np.nan, True), atol
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(ratio), a.shape))
    nan_both = int(np.sum(np.isnan(a64) & np.isnan(b64)))
    unmatched = int(np.sum(~finite & ~same_inf))
    if nan_both:
        note = f"NaN in both at {nan_both} place(s); NaN never passes"
    elif unmatched:
        note = f"non-finite values differ at {unmatched} place(s)"
    else:
        note = "" if passed else _hint(a64, b64)
    return TensorDiff(name, a.shape, float(abs_err.max()), float(rel_err.max()), worst,
                      float(a64[worst]), float(b64[worst]), passed, note), atol


def _hint(a: np.ndarray, b: np.ndarray) -> str:
    """Name the two commonest gradient slips: a transposed result and a missing or extra constant factor."""
    if a.ndim == 2 and a.shape[0] == a.shape[1] and np.allclose(a, b.T) and not np.allclose(a, b):
        return "actual matches expected transposed"
    nonzero = b != 0
    if nonzero.any() and np.array_equal(a == 0, ~nonzero):
        ratios = a[nonzero] / b[nonzero]
        if np.allclose(ratios, ratios[0], rtol=1e-6, atol=0) and not np.isclose(ratios[0], 1.0):
            return f"actual = {ratios[0]:.6g} x expected everywhere: a convention factor such as 1/m?"
    return ""


def kink_free(x: np.ndarray, kinks: Sequence[float] = (0.0,), margin: float = 1e-3) -> np.ndarray:
    """A copy of ``x`` whose entries within ``margin`` of a kink are moved to ``kink +/- margin``, on their own
    side (an entry exactly at the kink goes above it). At a kink (ReLU's 0, a hinge's margin) the derivative is
    undefined and one-sided differences disagree, so parity is only meaningful away from it. Kinks should be
    more than ``2 * margin`` apart."""
    x = np.array(x, copy=True)
    for kink in kinks:
        near = np.abs(x - kink) < margin
        x[near] = kink + np.where(x[near] >= kink, margin, -margin)
    return x


def check_backward(forward: Callable, backward: Callable, oracle: Callable | None = None, *,
                   inputs: Mapping[str, tuple], params: Mapping[str, tuple] = _EMPTY,
                   fixed: Mapping[str, ArrayLike] = _EMPTY, values: Mapping[str, ArrayLike] = _EMPTY,
                   dtype: str = "float64", seed: int = 0, kinks: Sequence[float] = (0.0,), margin: float = 1e-3,
                   grad_convention: str = "vjp", batch_axis: int = -1, finite_differences: bool = False,
                   fd_eps: float | None = None, tolerance: Tolerance | None = None,
                   fd_tolerance: Tolerance = FINITE_DIFFERENCE_TOLERANCE, label: str = "") -> ParityReport:
    """Check a NumPy pair ``out, cache = forward(**arrays)``; ``grads = backward(dout, cache)``.

    ``inputs`` and ``params`` (name -> shape) are drawn from ``default_rng(seed).standard_normal`` in ``dtype``
    and kept ``margin`` away from ``kinks``; ``values`` overrides drawn arrays (still differentiated, not moved
    off kinks: use it to probe a kink on purpose); ``fixed`` entries are passed through and not differentiated.
    ``dout`` is random with ``out``'s shape. ``grads`` is a mapping with keys "d" + name, or a sequence ordered
    as ``inputs`` then ``params``.

    ``oracle(**tensors)`` gets CPU torch tensors of the same shapes and dtype and returns the output; its
    gradients are ``torch.autograd.grad(out, arrays, grad_outputs=dout)``. Rows: "out" and "d" + name.

    ``grad_convention``: "vjp" - every gradient is ``dout^T J`` (cs231n); "course" - gradients w.r.t. ``params``
    carry a 1/m (``dW = (1/m) dZ A_prev^T``), those w.r.t. ``inputs`` do not; ``m = out.shape[batch_axis]``.

    ``finite_differences`` (implied when there is no oracle) adds rows "d" + name + " (finite differences)":
    central differences of ``L = sum(dout * forward(...))`` with step ``fd_eps`` (1e-6), float64 only.
    """
    if grad_convention not in GRAD_CONVENTIONS:
        raise ValueError(f"grad_convention must be one of {GRAD_CONVENTIONS}, not {grad_convention!r}")
    finite_differences = finite_differences or oracle is None
    if finite_differences and np.dtype(dtype) != np.float64:
        raise ValueError(f"finite differences need float64, not {dtype}: at float32 the step that balances "
                         "truncation against rounding leaves errors near 1e-3, too coarse to judge a gradient")
    names = [*inputs, *params]
    if len(set(names) | set(fixed)) != len(names) + len(fixed):
        raise ValueError("inputs, params and fixed must have distinct names")
    if unknown := set(values) - set(names):
        raise ValueError(f"values names {sorted(unknown)} are not in inputs or params")

    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in {**inputs, **params}.items():
        # Drawn even when overridden, so that the other arrays do not depend on which ones are.
        arrays[name] = kink_free(rng.standard_normal(shape), kinks, margin).astype(dtype)
        if name in values:
            arrays[name] = np.array(values[name], dtype=dtype)
            if arrays[name].shape != tuple(shape):
                raise ValueError(f"values[{name!r}] has shape {arrays[name].shape}, inputs/params say {shape}")

    out, cache = forward(**arrays, **fixed)
    # Random, never all ones: an all-ones dout zeroes e.g. softmax's input gradient and hides bugs there.
    dout = rng.standard_normal(np.shape(out)).astype(dtype)
    grads = backward(dout, cache)
    if not isinstance(grads, Mapping):
        if len(grads) != len(names):
            raise ValueError(f"backward returned {len(grads)} gradients; expected {len(names)}: "
                             f"{', '.join('d' + n for n in names)}")
        grads = dict(zip(("d" + n for n in names), grads))
    if grads.keys() != {"d" + n for n in names}:
        raise ValueError(f"backward returned gradients {sorted(grads)}; expected {['d' + n for n in names]}")

    if grad_convention == "course":
        if np.ndim(out) == 0:
            raise ValueError("the course convention needs an output with a batch axis")
        scale = {name: (1.0 / np.shape(out)[batch_axis] if name in params else 1.0) for name in names}
    else:
        scale = dict.fromkeys(names, 1.0)

    report = ParityReport(diffs=[], label=label, dtype=dtype)
    if oracle is not None:
        expected = _autograd(oracle, arrays, fixed, dout, scale)
        report = compare({"out": out, **grads}, expected, tolerance=tolerance, label=label)
    if finite_differences:
        numeric = _finite_differences(forward, arrays, fixed, dout, scale, fd_eps or 1e-6)
        fd = compare({f"d{n} (finite differences)": grads["d" + n] for n in names},
                     {f"d{n} (finite differences)": g for n, g in numeric.items()},
                     tolerance=fd_tolerance, label=label)
        report.diffs += fd.diffs
        report._pairs.update(fd._pairs)
    return report


def _autograd(oracle, arrays, fixed, dout, scale) -> dict[str, torch.Tensor]:
    leaves = {n: torch.from_numpy(a.copy()).requires_grad_() for n, a in arrays.items()}
    extra = {n: torch.from_numpy(v.copy()) if isinstance(v, np.ndarray) else v for n, v in fixed.items()}
    out = oracle(**leaves, **extra)
    # allow_unused: an array the output does not depend on has gradient zero, not an error.
    grads = torch.autograd.grad(out, list(leaves.values()), grad_outputs=torch.from_numpy(dout), allow_unused=True)
    return {"out": out, **{"d" + n: (torch.zeros_like(leaves[n]) if g is None else g) * scale[n]
                           for n, g in zip(leaves, grads)}}


def _finite_differences(forward, arrays, fixed, dout, scale, eps) -> dict[str, np.ndarray]:
    """dL/dx by central differences, L(x) = sum(dout * forward(x)); one pair of forward calls per element.
    ``eps`` is far below the kink margin, so no difference straddles a kink."""
    def loss(**overrides):
        out, _ = forward(**{**arrays, **overrides}, **fixed)
        return float(np.sum(dout * out))

    numeric = {}
    for name, x in arrays.items():
        grad = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            plus, minus = x.copy(), x.copy()
            plus[index] += eps
            minus[index] -= eps
            grad[index] = (loss(**{name: plus}) - loss(**{name: minus})) / (2 * eps)
        numeric[name] = grad * scale[name]
    return numeric
