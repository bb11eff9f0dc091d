"""Parity checks: a hand-written NumPy forward/backward pair against an oracle.

Entry points:

* ``compare(actual, expected)`` compares named arrays and returns a ``ParityReport``: one row per tensor
  with the largest absolute and relative error, the worst elements, a verdict and a hint for a failure
  (``comparison.py`` holds the pass rule, ``hints.py`` the bug signatures).
* ``check_backward(forward, backward, oracle)`` draws inputs (each from its ``Domain``), runs the NumPy pair
  on a random upstream gradient and compares the output(s) and every gradient with ``torch.autograd``
  (and/or with central finite differences); optionally probes the kinks, injects dropout masks, noise or
  labels, passes a train/eval ``mode`` and compares running statistics (``state``) after the step. The code
  under test gets copies; a write into one is reported as a warning. ``assert_backward`` raises on a
  mismatch.

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

from .comparison import CHECKS, KINDS, TOLERANCES, ArrayLike, ParityReport, TensorDiff, Tolerance, compare
from .comparison import EMPTY as _EMPTY
from .comparison import tensor_kind, to_numpy
from .draws import KINK_FRACTION, Domain, Mask, Noise, as_domain, kink_free, set_at_kinks
from .hints import Evidence, same

__all__ = ["KINDS", "TOLERANCES", "FINITE_DIFFERENCE_TOLERANCE", "GRAD_CONVENTIONS", "KINK_FRACTION", "MODES",
           "ArrayLike", "Domain", "Mask", "Noise", "ParityReport", "TensorDiff", "Tolerance", "assert_backward",
           "check_backward", "compare", "kink_free", "tensor_kind"]

# Central differences carry O(eps^2) truncation and O(ulp / eps) rounding error:
# they are a third opinion, good to about 1e-7 in float64, not an exact one.
FINITE_DIFFERENCE_TOLERANCE = Tolerance(rtol=1e-6, atol_scale=1e-7)
GRAD_CONVENTIONS = ("vjp", "course")
MODES = ("train", "eval")
KINK_SUFFIX = CHECKS["kinks"]


def check_backward(forward: Callable, backward: Callable, oracle: Callable | None = None, *,
                   inputs: Mapping[str, tuple | Domain] = _EMPTY, params: Mapping[str, tuple | Domain] = _EMPTY,
                   fixed: Mapping[str, ArrayLike] = _EMPTY, values: Mapping[str, ArrayLike] = _EMPTY,
                   random: Mapping[str, Mask | Noise | Domain] = _EMPTY,
                   state: Mapping[str, ArrayLike] | None = None, mode: str | None = None, dtype: str = "float64",
                   seed: int = 0, kinks: Sequence[float] = (0.0,), margin: float = 1e-3, probe_kinks: bool = False,
                   grad_convention: str = "vjp", batch_axis: int = -1, finite_differences: bool = False,
                   fd_eps: float | None = None, tolerance: Tolerance | None = None,
                   fd_tolerance: Tolerance = FINITE_DIFFERENCE_TOLERANCE, device: str | torch.device = "cpu",
                   label: str = "") -> ParityReport:
    """Check a NumPy pair ``out, cache = forward(**arrays)``; ``grads = backward(dout, cache)``.

    ``inputs`` and ``params`` (name -> shape, or name -> ``Domain``; either may be left out, not both) are
    drawn in ``dtype`` from ``default_rng(seed)``: a bare shape from N(0, 1), a Domain from its sampler
    (positive, unit interval, custom); entries are kept ``margin`` away from the ``kinks`` inside their
    domain. ``values`` overrides drawn arrays (still differentiated, not moved off kinks: use it to probe a
    kink on purpose); ``fixed`` entries are passed through and not differentiated; ``random`` entries
    (``Mask``, ``Noise``, a ``Domain`` such as ``Domain.integers`` for labels) are drawn once and passed to
    both sides like ``fixed``.

    ``out`` is one array, a tuple or a dict of arrays (an RNN cell's ``h, c``); ``dout`` has the same
    structure, one random array per output, and the oracle returns the same structure. Rows: "out" (or
    "out[0]", "out[h]", ...) and "d" + name. ``grads`` is a mapping with keys "d" + name, a sequence ordered
    as ``inputs`` then ``params``, or a lone array when there is one array to differentiate. A gradient of
    another dtype than ``dtype`` is a failed row naming both.

    forward, backward and the oracle get copies of everything (arrays, ``fixed``, draws, ``dout``): a write
    into one changes nothing else, and is reported in ``report.warnings`` ("backward wrote into dout"),
    without failing the report.

    ``oracle(**tensors)`` gets torch tensors of the same shapes and dtype on ``device``; its gradients are
    ``torch.autograd.grad(outs, arrays, grad_outputs=douts)``.

    ``mode`` ("train" or "eval") is passed as ``mode=`` to forward and oracle. ``state`` (name -> initial
    array, e.g. running_mean, running_var) is passed as ``state=``, a fresh dict per call: the NumPy forward
    stores its updated arrays in it, the oracle updates its tensors in place (``F.batch_norm`` does) or stores
    new ones; rows "<name> after step" compare the two dicts after the call.

    ``grad_convention``: "vjp" - every gradient is ``dout^T J`` (cs231n); "course" - gradients w.r.t. ``params``
    carry a 1/m (``dW = (1/m) dZ A_prev^T``), those w.r.t. ``inputs`` do not; ``m`` is the (first) output's
    size along ``batch_axis``.

    ``probe_kinks`` adds a second pass (rows of check "kinks", suffixed " (at kinks)") in which a quarter of the
    entries of each of ``inputs`` not in ``values`` is set exactly at the kinks inside its domain: a derivative
    chosen at the kink (a ReLU mask's ``<`` against ``<=``) only shows there. The oracle's value at the kink is
    the reference: torch.relu's derivative at 0 is 0, ``x.clamp(min=0)``'s is 1 (CONVENTIONS.md, section 3).
    It needs an oracle.

    ``finite_differences`` (implied when there is no oracle) adds rows of check "finite differences",
    "d" + name + " (finite differences)": central differences of ``L = sum(dout * forward(...))`` (summed over
    the outputs) with step ``fd_eps`` (1e-6), float64 only.
    """
    specs = {name: as_domain(spec) for name, spec in {**inputs, **params}.items()}
    names = list(specs)
    finite_differences = finite_differences or oracle is None
    probed = {n: specs[n].kinks_inside(kinks) for n in inputs if n not in values}
    probed = {n: points for n, points in probed.items() if points}
    _validate(specs, fixed, values, random, state, mode, oracle, dtype, grad_convention, probe_kinks, probed,
              finite_differences)

    rng = np.random.default_rng(seed)
    arrays = {}
    for name, domain in specs.items():
        # Drawn even when overridden, so that the other arrays do not depend on which ones are.
        arrays[name] = kink_free(domain.draw(rng, dtype), domain.kinks_inside(kinks), margin).astype(dtype)
        if name in values:
            arrays[name] = np.array(values[name], dtype=dtype)
            if arrays[name].shape != domain.shape:
                raise ValueError(f"values[{name!r}] has shape {arrays[name].shape}, inputs/params say "
                                 f"{domain.shape}")
    layer = _Layer(forward, oracle, {**fixed, **{n: spec.draw(rng, dtype) for n, spec in random.items()}},
                   None if state is None else {n: np.array(v, dtype=dtype) for n, v in state.items()},
                   mode, device)

    out, cache, out_state, forward_wrote = layer.numpy(arrays)
    outs = _snapshot(out)
    # Random, never all ones: an all-ones dout zeroes e.g. softmax's input gradient and hides bugs there.
    dout = {row: rng.standard_normal(np.shape(o)).astype(dtype) for row, o in outs.items()}

    out_shape = np.shape(next(iter(outs.values()), ()))
    axis = batch_axis % len(out_shape) if out_shape else None
    if grad_convention == "course":
        if axis is None:
            raise ValueError("the course convention needs an output with a batch axis")
        scale = {name: (1.0 / out_shape[axis] if name in params else 1.0) for name in names}
    else:
        scale = dict.fromkeys(names, 1.0)
    keep_prob = {} if mode == "eval" else {s.shape: s.keep_prob for s in random.values() if isinstance(s, Mask)}
    check = _Check(layer, backward, names, _shaped_like(out, dout), scale, out_shape, axis, tuple(kinks),
                   keep_prob, tolerance, label)
    grads, backward_wrote = check.gradients(cache)

    report = ParityReport(diffs=[], label=label, dtype=dtype)
    if oracle is not None:
        report = check.against_oracle(arrays, outs, grads, out_state)
    if finite_differences:
        numeric = _finite_differences(layer, arrays, dout, scale, fd_eps or 1e-6)
        report.extend(compare({"d" + n: grads["d" + n] for n in names}, {"d" + n: numeric[n] for n in names},
                              tolerance=fd_tolerance, label=label, check="finite differences",
                              strict_dtypes=False, evidence={"d" + n: check.evidence(n, arrays) for n in names}))
    report.warnings += [f"forward wrote into {name}: it was given a copy, so the check is unaffected; a caller "
                        f"that reuses {name} would see the change" for name in forward_wrote]
    if backward_wrote:
        report.warnings.append("backward wrote into dout: it was given a copy, so the check is unaffected; a "
                               "caller that reuses dout (e.g. for another branch) would see the change")
    if probe_kinks:
        at_kinks = set_at_kinks(arrays, probed, seed)
        out_k, cache_k, state_k, _ = layer.numpy(at_kinks)
        outs_k = _snapshot(out_k)
        report.extend(check.against_oracle(at_kinks, outs_k, check.gradients(cache_k)[0], state_k,
                                           check="kinks"))
        count = sum(int(np.sum(at_kinks[n] != arrays[n])) for n in probed)
        points = list(dict.fromkeys(k for ks in probed.values() for k in ks))
        report.notes.append(f"rows marked{KINK_SUFFIX}: a second pass with {count} of the "
                            f"{sum(arrays[n].size for n in probed)} entries of {', '.join(probed)} set exactly at "
                            f"the kinks {points}; there the oracle's derivative is the reference")
    return report


def assert_backward(forward: Callable, backward: Callable, oracle: Callable | None = None,
                    **options: Any) -> ParityReport:
    """``check_backward`` (same arguments), then ``assert_passed``: in a test, a mismatch raises an
    AssertionError whose message is the report. Returns the report when everything passed."""
    report = check_backward(forward, backward, oracle, **options)
    report.assert_passed()
    return report


def _validate(specs, fixed, values, random, state, mode, oracle, dtype, grad_convention, probe_kinks, probed,
              finite_differences):
    if not specs:
        raise ValueError("nothing to differentiate: give inputs= and/or params=")
    if grad_convention not in GRAD_CONVENTIONS:
        raise ValueError(f"grad_convention must be one of {GRAD_CONVENTIONS}, not {grad_convention!r}")
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES} or None, not {mode!r}")
    if finite_differences and np.dtype(dtype) != np.float64:
        raise ValueError(f"finite differences need float64, not {dtype}: at float32 the step that balances "
                         "truncation against rounding leaves errors near 1e-3, too coarse to judge a gradient")
    if not_differentiable := [n for n, domain in specs.items() if not domain.differentiable]:
        raise ValueError(f"{not_differentiable} cannot be differentiated ({specs[not_differentiable[0]].kind}): "
                         "draw them in random= instead")
    if probe_kinks and (oracle is None or not probed):
        raise ValueError("probe_kinks needs an oracle and an input not given in values with a kink inside its "
                         "domain: at a kink finite differences are no reference, the oracle's derivative there "
                         "is checked")
    passed_by_name = [*specs, *fixed, *random, *(["state"] if state is not None else []),
                      *(["mode"] if mode is not None else [])]
    if len(set(passed_by_name)) != len(passed_by_name):
        raise ValueError("inputs, params, fixed, random (and state, mode when given) must have distinct names")
    if unknown := set(values) - set(specs):
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


def _outputs(out) -> dict[str, Any]:
    """A forward's (or the oracle's) output as rows: "out" for one array, "out[i]" for each of a tuple or list,
    "out[key]" for each of a dict."""
    if isinstance(out, Mapping):
        return {f"out[{key}]": o for key, o in out.items()}
    if isinstance(out, (tuple, list)):
        return {f"out[{i}]": o for i, o in enumerate(out)}
    return {"out": out}


def _snapshot(out) -> dict[str, Any]:
    """``_outputs(out)`` copied as the forward returned it: a cache usually holds the output itself, and a
    backward that writes into its cache must not change the compared output."""
    return {row: np.array(o, copy=True) for row, o in _outputs(out).items()}


def _shaped_like(out, rows: Mapping[str, np.ndarray]):
    """``rows`` (in ``_outputs(out)``'s order) in the structure of ``out``: what backward gets as dout."""
    if isinstance(out, Mapping):
        return dict(zip(out, rows.values()))
    if isinstance(out, (tuple, list)):
        return tuple(rows.values())
    return next(iter(rows.values()))


def _copies(arrays: Mapping[str, Any]) -> dict[str, Any]:
    return {n: v.copy() if isinstance(v, np.ndarray) else v for n, v in arrays.items()}


def _written(given: Mapping[str, Any], passed: Mapping[str, Any]) -> list[str]:
    """The names of the arrays in ``given`` whose copies in ``passed`` were changed by the code under test."""
    return [n for n, v in given.items() if isinstance(v, np.ndarray)
            and not (v.shape == np.shape(passed[n]) and np.array_equal(v, passed[n], equal_nan=v.dtype.kind == "f"))]


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
        """(out, cache, state after the call, the names of the arguments forward wrote into) from the NumPy
        forward. It gets copies: a write into one reaches neither the oracle nor the next call."""
        passed = {**_copies(arrays), **self._keywords(np.copy)}
        out, cache = self.forward(**passed)
        # The state dict is forward's to update; every other argument is an input it should leave alone.
        return out, cache, passed.get("state", {}), _written({**arrays, **self.extra}, passed)

    def torch(self, arrays, dout):
        """(out, {name: dout^T d out / d name}, state after the call) from the oracle and autograd; ``dout``
        holds one upstream gradient per row of ``_outputs(out)``."""
        leaves = {n: self._tensor(a).requires_grad_() for n, a in arrays.items()}
        keywords = self._keywords(self._tensor)
        out = self.oracle(**leaves, **keywords)
        # A piecewise-constant output (hardmax) carries no gradient, and allow_unused covers an array the
        # outputs do not depend on: in both cases the gradient is zero, not an error.
        pairs = [(o, self._tensor(dout[row])) for row, o in _outputs(out).items() if o.requires_grad]
        grads = (torch.autograd.grad([o for o, _ in pairs], list(leaves.values()),
                                     grad_outputs=[d for _, d in pairs], allow_unused=True)
                 if pairs else [None] * len(leaves))
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
    backward: Callable
    names: list[str]
    dout: Any  # as backward gets it: an array, a tuple or a dict, like forward's output
    scale: Mapping[str, float]
    out_shape: tuple
    batch_axis: int | None
    kinks: tuple
    keep_prob: Mapping[tuple, float]  # mask shape -> keep_prob
    tolerance: Tolerance | None
    label: str

    def gradients(self, cache) -> tuple[dict[str, np.ndarray], bool]:
        """({"d" + name: array}, whether backward wrote into dout) from backward, given a copy of dout."""
        given = _outputs(self.dout)
        passed = _copies(given)
        grads = _gradients(self.backward(_shaped_like(self.dout, passed), cache), self.names)
        return grads, bool(_written(given, passed))

    def against_oracle(self, arrays, outs, grads, out_state, check="oracle") -> ParityReport:
        """Rows of ``check`` for the outputs ``outs`` (by row), "d" + name and "<state> after step": the NumPy
        values against the oracle's."""
        expected_out, expected_grads, expected_state = self.layer.torch(arrays, _outputs(self.dout))
        actual = {**outs, **grads, **{f"{k} after step": v for k, v in out_state.items()}}
        expected = {**_outputs(expected_out), **{"d" + n: g * self.scale[n] for n, g in expected_grads.items()},
                    **{f"{k} after step": v for k, v in expected_state.items()}}
        expected_grads = {"d" + n: to_numpy(expected["d" + n]).astype(np.float64) for n in arrays}
        evidence = {**{row: self._evidence(np.shape(o)) for row, o in outs.items()},
                    **{"d" + n: self.evidence(n, arrays, expected_grads) for n in arrays}}
        return compare(actual, expected, tolerance=self.tolerance, label=self.label, evidence=evidence,
                       check=check, strict_dtypes=False)

    def evidence(self, name, arrays, expected_grads=None) -> Evidence:
        """What the hints may use about the gradient of ``arrays[name]``; ``expected_grads`` ("d" + name ->
        float64 array) are the oracle's gradients, when there is an oracle."""
        at_kink = np.isin(arrays[name], self.kinks)
        own = None if expected_grads is None else expected_grads["d" + name]
        others = None if expected_grads is None else {k: g for k, g in expected_grads.items() if k != "d" + name}
        return self._evidence(arrays[name].shape, at_kink if at_kink.any() else None, name,
                              self._per_example(name, arrays, own), others)

    def _evidence(self, shape, kink_mask=None, kink_input="", per_example=None, others=None) -> Evidence:
        return Evidence(self.out_shape, self.batch_axis, self.keep_prob.get(tuple(shape)), kink_mask, kink_input,
                        per_example, others)

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
                _, grads, _ = self.layer.torch(widened, _outputs(self.dout))
            except Exception:  # the oracle may refuse it (F.batch_norm wants a 1-D weight): no such hint then
                return None
            full = to_numpy(grads[name]) * self.scale[name]
            return full if same(full.sum(axis=ax, keepdims=True), expected_grad, slack) else None
        return compute


def _finite_differences(layer: _Layer, arrays, dout, scale, eps) -> dict[str, np.ndarray]:
    """dL/dx by central differences (scratch_numpy.gradcheck.two_sided_difference, the gradient check's own
    routine), L(x) = sum over the outputs of sum(dout * out(x)); one pair of forward calls per element.
    ``eps`` is far below the kink margin, so no difference straddles a kink."""
    def loss(**overrides):
        out, _, _, _ = layer.numpy({**arrays, **overrides})
        return float(sum(np.sum(dout[row] * o) for row, o in _outputs(out).items()))

    return {name: two_sided_difference(lambda v, name=name: loss(**{name: v}), x, eps) * scale[name]
            for name, x in arrays.items()}
