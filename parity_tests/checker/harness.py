"""Parity checks: a hand-written NumPy forward/backward pair against an oracle.

Entry points:

* ``compare(actual, expected)`` compares named arrays and returns a ``ParityReport``: one row per tensor
  with the largest absolute and relative error, the worst elements, a verdict and a hint for a failure
  (``comparison.py`` holds the pass rule, ``hints.py`` the bug signatures).
* ``check_backward(forward, backward, oracle)`` draws inputs, runs the NumPy pair on a random upstream
  gradient and compares the output and every gradient with ``torch.autograd`` (and/or with central finite
  differences); optionally probes the kinks, injects dropout masks or noise, passes a train/eval ``mode``
  and compares running statistics (``state``) after the step. ``assert_backward`` raises on a mismatch.

The command line ``python -m parity_tests.checker`` drives ``check_backward`` on a module's functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from scratch_numpy.gradcheck import two_sided_difference

from .comparison import EMPTY as _EMPTY
from .comparison import (KINDS, TOLERANCES, ArrayLike, ParityReport, TensorDiff, Tolerance, compare,
                         tensor_kind, to_numpy)
from .hints import Evidence, same

__all__ = ["KINDS", "TOLERANCES", "FINITE_DIFFERENCE_TOLERANCE", "GRAD_CONVENTIONS", "MODES", "ArrayLike",
           "Mask", "Noise", "ParityReport", "TensorDiff", "Tolerance", "assert_backward", "check_backward",
           "compare", "kink_free", "tensor_kind"]

# Central differences carry O(eps^2) truncation and O(ulp / eps) rounding error:
# they are a third opinion, good to about 1e-7 in float64, not an exact one.
FINITE_DIFFERENCE_TOLERANCE = Tolerance(rtol=1e-6, atol_scale=1e-7)
GRAD_CONVENTIONS = ("vjp", "course")
MODES = ("train", "eval")
KINK_SUFFIX = " (at kinks)"
KINK_FRACTION = 0.25  # of each input's entries set exactly at a kink by the probe


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


@dataclass(frozen=True)
class Mask:
    """A dropout mask drawn by the check: D = 1 with probability ``keep_prob``, else 0, in the check's dtype.
    The same D reaches the NumPy forward (an array) and the oracle (a tensor): the two libraries' generators
    never agree, so neither side draws its own."""

    shape: tuple
    keep_prob: float

    def __post_init__(self):
        if not 0 < self.keep_prob <= 1:
            raise ValueError(f"keep_prob must be in (0, 1], not {self.keep_prob!r}")

    def draw(self, rng: np.random.Generator, dtype: str) -> np.ndarray:
        return (rng.random(self.shape) < self.keep_prob).astype(dtype)


@dataclass(frozen=True)
class Noise:
    """Gaussian noise N(0, std^2) drawn by the check and given to both sides, like ``Mask``."""

    shape: tuple
    std: float = 1.0

    def draw(self, rng: np.random.Generator, dtype: str) -> np.ndarray:
        return (self.std * rng.standard_normal(self.shape)).astype(dtype)


def check_backward(forward: Callable, backward: Callable, oracle: Callable | None = None, *,
                   inputs: Mapping[str, tuple], params: Mapping[str, tuple] = _EMPTY,
                   fixed: Mapping[str, ArrayLike] = _EMPTY, values: Mapping[str, ArrayLike] = _EMPTY,
                   random: Mapping[str, Mask | Noise] = _EMPTY, state: Mapping[str, ArrayLike] | None = None,
                   mode: str | None = None, dtype: str = "float64", seed: int = 0,
                   kinks: Sequence[float] = (0.0,), margin: float = 1e-3, probe_kinks: bool = False,
                   grad_convention: str = "vjp", batch_axis: int = -1, finite_differences: bool = False,
                   fd_eps: float | None = None, tolerance: Tolerance | None = None,
                   fd_tolerance: Tolerance = FINITE_DIFFERENCE_TOLERANCE, device: str | torch.device = "cpu",
                   label: str = "") -> ParityReport:
    """Check a NumPy pair ``out, cache = forward(**arrays)``; ``grads = backward(dout, cache)``.

    ``inputs`` and ``params`` (name -> shape) are drawn from ``default_rng(seed).standard_normal`` in ``dtype``
    and kept ``margin`` away from ``kinks``; ``values`` overrides drawn arrays (still differentiated, not moved
    off kinks: use it to probe a kink on purpose); ``fixed`` entries are passed through and not differentiated;
    ``random`` entries (``Mask``, ``Noise``) are drawn once and passed to both sides like ``fixed``.
    ``dout`` is random with ``out``'s shape. ``grads`` is a mapping with keys "d" + name, a sequence ordered
    as ``inputs`` then ``params``, or a lone array when there is one array to differentiate.

    ``oracle(**tensors)`` gets torch tensors of the same shapes and dtype on ``device`` and returns the output;
    its gradients are ``torch.autograd.grad(out, arrays, grad_outputs=dout)``. Rows: "out" and "d" + name.

    ``mode`` ("train" or "eval") is passed as ``mode=`` to forward and oracle. ``state`` (name -> initial
    array, e.g. running_mean, running_var) is passed as ``state=``, a fresh dict per call: the NumPy forward
    stores its updated arrays in it, the oracle updates its tensors in place (``F.batch_norm`` does) or stores
    new ones; rows "<name> after step" compare the two dicts after the call.

    ``grad_convention``: "vjp" - every gradient is ``dout^T J`` (cs231n); "course" - gradients w.r.t. ``params``
    carry a 1/m (``dW = (1/m) dZ A_prev^T``), those w.r.t. ``inputs`` do not; ``m = out.shape[batch_axis]``.

    ``probe_kinks`` adds a second pass (rows suffixed " (at kinks)") in which a quarter of the entries of each
    of ``inputs`` not in ``values`` is set exactly at the kinks: a derivative chosen at the kink (a ReLU mask's
    ``<`` against ``<=``) only shows there. The oracle's value at the kink is the reference: torch.relu's
    derivative at 0 is 0, ``x.clamp(min=0)``'s is 1 (CONVENTIONS.md, section 3). It needs an oracle.

    ``finite_differences`` (implied when there is no oracle) adds rows "d" + name + " (finite differences)":
    central differences of ``L = sum(dout * forward(...))`` with step ``fd_eps`` (1e-6), float64 only.
    """
    names = [*inputs, *params]
    finite_differences = finite_differences or oracle is None
    _validate(inputs, names, fixed, values, random, state, mode, oracle, dtype, grad_convention, probe_kinks,
              kinks, finite_differences)

    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in {**inputs, **params}.items():
        # Drawn even when overridden, so that the other arrays do not depend on which ones are.
        arrays[name] = kink_free(rng.standard_normal(shape), kinks, margin).astype(dtype)
        if name in values:
            arrays[name] = np.array(values[name], dtype=dtype)
            if arrays[name].shape != tuple(shape):
                raise ValueError(f"values[{name!r}] has shape {arrays[name].shape}, inputs/params say {shape}")
    layer = _Layer(forward, oracle, {**fixed, **{n: spec.draw(rng, dtype) for n, spec in random.items()}},
                   None if state is None else {n: np.array(v, dtype=dtype) for n, v in state.items()},
                   mode, device)

    out, cache, out_state = layer.numpy(arrays)
    # Random, never all ones: an all-ones dout zeroes e.g. softmax's input gradient and hides bugs there.
    dout = rng.standard_normal(np.shape(out)).astype(dtype)
    grads = _gradients(backward(dout, cache), names)

    out_shape = np.shape(out)
    axis = batch_axis % len(out_shape) if out_shape else None
    if grad_convention == "course":
        if axis is None:
            raise ValueError("the course convention needs an output with a batch axis")
        scale = {name: (1.0 / out_shape[axis] if name in params else 1.0) for name in names}
    else:
        scale = dict.fromkeys(names, 1.0)
    keep_prob = {} if mode == "eval" else {s.shape: s.keep_prob for s in random.values() if isinstance(s, Mask)}
    check = _Check(layer, dout, scale, out_shape, axis, tuple(kinks), keep_prob, tolerance, label)

    report = ParityReport(diffs=[], label=label, dtype=dtype)
    if oracle is not None:
        report = check.against_oracle(arrays, out, grads, out_state)
    if finite_differences:
        numeric = _finite_differences(layer, arrays, dout, scale, fd_eps or 1e-6)
        rows = {n: f"d{n} (finite differences)" for n in names}
        report.extend(compare({rows[n]: grads["d" + n] for n in names}, {rows[n]: numeric[n] for n in names},
                              tolerance=fd_tolerance, label=label,
                              evidence={rows[n]: check.evidence(n, arrays) for n in names}))
    if probe_kinks:
        moved = [n for n in inputs if n not in values]
        probed = _set_at_kinks(arrays, moved, kinks, seed)
        out_k, cache_k, state_k = layer.numpy(probed)
        report.extend(check.against_oracle(probed, out_k, _gradients(backward(dout, cache_k), names), state_k,
                                           suffix=KINK_SUFFIX))
        count = sum(int(np.sum(probed[n] != arrays[n])) for n in moved)
        report.notes.append(f"rows marked{KINK_SUFFIX}: a second pass with {count} of the "
                            f"{sum(arrays[n].size for n in moved)} entries of {', '.join(moved)} set exactly at "
                            f"the kinks {list(kinks)}; there the oracle's derivative is the reference")
    return report


def assert_backward(forward: Callable, backward: Callable, oracle: Callable | None = None,
                    **options: Any) -> ParityReport:
    """``check_backward`` (same arguments), then ``assert_passed``: in a test, a mismatch raises an
    AssertionError whose message is the report. Returns the report when everything passed."""
    report = check_backward(forward, backward, oracle, **options)
    report.assert_passed()
    return report


def _validate(inputs, names, fixed, values, random, state, mode, oracle, dtype, grad_convention, probe_kinks,
              kinks, finite_differences):
    if grad_convention not in GRAD_CONVENTIONS:
        raise ValueError(f"grad_convention must be one of {GRAD_CONVENTIONS}, not {grad_convention!r}")
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} or None, not {mode!r}")
    if finite_differences and np.dtype(dtype) != np.float64:
        raise ValueError(f"finite differences need float64, not {dtype}: at float32 the step that balances "
                         "truncation against rounding leaves errors near 1e-3, too coarse to judge a gradient")
    if probe_kinks and (oracle is None or not kinks or set(inputs) <= set(values)):
        raise ValueError("probe_kinks needs an oracle, at least one kink and an input not given in values: at "
                         "a kink finite differences are no reference, the oracle's derivative there is checked")
    passed_by_name = [*names, *fixed, *random, *(["state"] if state is not None else []),
                      *(["mode"] if mode is not None else [])]
    if len(set(passed_by_name)) != len(passed_by_name):
        raise ValueError("inputs, params, fixed, random (and state, mode when given) must have distinct names")
    if unknown := set(values) - set(names):
        raise ValueError(f"values names {sorted(unknown)} are not in inputs or params")


def _gradients(result, names: list[str]) -> dict[str, np.ndarray]:
    """backward's result as {"d" + name: array}."""
    if isinstance(result, np.ndarray) and len(names) == 1:
        return {"d" + names[0]: result}
    if not isinstance(result, Mapping):
        if len(result) != len(names):
            raise ValueError(f"backward returned {len(result)} gradients; expected {len(names)}: "
                             f"{', '.join('d' + n for n in names)}")
        result = dict(zip(("d" + n for n in names), result))
    if result.keys() != {"d" + n for n in names}:
        raise ValueError(f"backward returned gradients {sorted(result)}; expected {['d' + n for n in names]}")
    return dict(result)


@dataclass(frozen=True)
class _Layer:
    """The pair under test and what each call gets besides the differentiated arrays: ``extra`` (fixed values
    and random draws), a fresh copy of the initial ``state`` (forward updates it) and ``mode``."""

    forward: Callable
    oracle: Callable | None
    extra: Mapping[str, Any]
    state: Mapping[str, np.ndarray] | None
    mode: str | None
    device: str | torch.device

    def numpy(self, arrays):
        """(out, cache, state after the call) from the NumPy forward."""
        keywords = self._keywords(lambda v: v.copy())
        out, cache = self.forward(**arrays, **keywords)
        return out, cache, keywords.get("state", {})

    def torch(self, arrays, dout):
        """(out, {name: dout^T d out / d name}, state after the call) from the oracle and autograd."""
        leaves = {n: self._tensor(a).requires_grad_() for n, a in arrays.items()}
        keywords = self._keywords(self._tensor)
        out = self.oracle(**leaves, **keywords)
        # A piecewise-constant output (hardmax) carries no gradient, and allow_unused covers an array the
        # output does not depend on: in both cases the gradient is zero, not an error.
        grads = (torch.autograd.grad(out, list(leaves.values()), grad_outputs=self._tensor(dout), allow_unused=True)
                 if out.requires_grad else [None] * len(leaves))
        grads = {n: torch.zeros_like(leaves[n]) if g is None else g for n, g in zip(leaves, grads)}
        return out, grads, keywords.get("state", {})

    def _keywords(self, convert):
        keywords = {n: convert(v) if isinstance(v, np.ndarray) else v for n, v in self.extra.items()}
        if self.state is not None:
            keywords["state"] = {n: convert(v) for n, v in self.state.items()}
        if self.mode is not None:
            keywords["mode"] = self.mode
        return keywords

    def _tensor(self, array):
        return torch.from_numpy(np.array(array, copy=True)).to(self.device)


@dataclass(frozen=True)
class _Check:
    """One check_backward call's settings, shared by its passes (main and kink probe)."""

    layer: _Layer
    dout: np.ndarray
    scale: Mapping[str, float]
    out_shape: tuple
    batch_axis: int | None
    kinks: tuple
    keep_prob: Mapping[tuple, float]  # mask shape -> keep_prob
    tolerance: Tolerance | None
    label: str

    def against_oracle(self, arrays, out, grads, out_state, suffix="") -> ParityReport:
        """Rows "out", "d" + name, "<state> after step" (each + suffix): the NumPy values against the oracle's."""
        expected_out, expected_grads, expected_state = self.layer.torch(arrays, self.dout)
        actual = {"out": out, **grads, **{f"{k} after step": v for k, v in out_state.items()}}
        expected = {"out": expected_out, **{"d" + n: g * self.scale[n] for n, g in expected_grads.items()},
                    **{f"{k} after step": v for k, v in expected_state.items()}}
        evidence = {"out": self._evidence(np.shape(out)),
                    **{"d" + n: self.evidence(n, arrays, to_numpy(expected["d" + n])) for n in arrays}}
        return compare({k + suffix: v for k, v in actual.items()}, {k + suffix: v for k, v in expected.items()},
                       tolerance=self.tolerance, label=self.label,
                       evidence={k + suffix: v for k, v in evidence.items()})

    def evidence(self, name, arrays, expected_grad=None) -> Evidence:
        """What the hints may use about the gradient of ``arrays[name]``."""
        at_kink = np.isin(arrays[name], self.kinks)
        return self._evidence(arrays[name].shape, at_kink if at_kink.any() else None, name,
                              self._per_example(name, arrays, expected_grad))

    def _evidence(self, shape, kink_mask=None, kink_input="", per_example=None) -> Evidence:
        return Evidence(self.out_shape, self.batch_axis, self.keep_prob.get(tuple(shape)), kink_mask, kink_input,
                        per_example)

    def _per_example(self, name, arrays, expected_grad):
        """A lazy per-example gradient for a parameter broadcast along the batch axis (b (n, 1) in Z = W A + b):
        the oracle is called with the parameter widened to the output's shape. None when it does not apply."""
        x, ax = arrays[name], self.batch_axis
        if (expected_grad is None or ax is None or x.ndim != len(self.out_shape) or x.shape[ax] != 1
                or self.out_shape[ax] < 2 or any(s not in (1, t) for s, t in zip(x.shape, self.out_shape))):
            return None
        # Only a widened argument the oracle really broadcast adds up to the true gradient.
        slack = max(1e-8, 1e3 * np.finfo(x.dtype).eps)

        @functools.cache
        def compute():
            widened = {**arrays, name: np.ascontiguousarray(np.broadcast_to(x, self.out_shape))}
            try:
                _, grads, _ = self.layer.torch(widened, self.dout)
            except Exception:  # the oracle may refuse it (F.batch_norm wants a 1-D weight): no such hint then
                return None
            full = to_numpy(grads[name]) * self.scale[name]
            return full if same(full.sum(axis=ax, keepdims=True), expected_grad, slack) else None
        return compute


def _set_at_kinks(arrays, names, kinks, seed) -> dict[str, np.ndarray]:
    """A copy of ``arrays`` with about KINK_FRACTION of the entries of each of ``names`` (at least one) set
    exactly at the kinks, cycling through them."""
    rng = np.random.default_rng([seed, 1])  # its own stream: the main pass's draws do not depend on probing
    probed = dict(arrays)
    for name in names:
        x = arrays[name].copy()
        if x.size:
            chosen = rng.random(x.shape) < KINK_FRACTION
            chosen.flat[rng.integers(x.size)] = True
            x[chosen] = np.resize(np.asarray(kinks, dtype=x.dtype), int(chosen.sum()))
        probed[name] = x
    return probed


def _finite_differences(layer: _Layer, arrays, dout, scale, eps) -> dict[str, np.ndarray]:
    """dL/dx by central differences (scratch_numpy.gradcheck.two_sided_difference, the gradient check's own
    routine), L(x) = sum(dout * forward(x)); one pair of forward calls per element.
    ``eps`` is far below the kink margin, so no difference straddles a kink."""
    def loss(**overrides):
        out, _, _ = layer.numpy({**arrays, **overrides})
        return float(np.sum(dout * out))

    return {name: two_sided_difference(lambda v, name=name: loss(**{name: v}), x, eps) * scale[name]
            for name, x in arrays.items()}
