"""Check a custom ``torch.autograd.Function``: its backward, its double backward, and torch.func.

``check_function(fn_class, reference, inputs={"x": (3, 4)})`` draws the inputs, calls ``fn_class.apply``
and the ``reference`` torch expression on them, and compares, element by element (``compare``: one
``ParityReport`` row per tensor, the worst element, a hint):

    rows                          actual (fn_class)                 expected
    out                           fn_class.apply(*args)             reference(*args)
    d<x>                          autograd through backward, dout   autograd through the reference
    d<x> (finite differences)     the same                          central differences of <dout, apply(*args)>
    d<x>, dout (double backward)  d<v, d<x>>/d<x>, d/d dout         the same through the reference
    out, d<x> (vmap)              torch.func.vmap of apply, of vjp  the reference, one sample at a time

``dout`` and ``v`` are random (never all ones: a sum of the output hides softmax-like gradients).
``torch.autograd.gradcheck`` answers yes or no and prints whole Jacobians; these rows name the element.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from scratch_numpy.gradcheck import two_sided_difference

from .comparison import EMPTY, ParityReport, Tolerance, compare
from .harness import FINITE_DIFFERENCE_TOLERANCE, kink_free

__all__ = ["VMAP_BATCH", "check_function"]

VMAP_BATCH = 3  # samples stacked along a new leading axis for the vmap rows
DOUBLE = " (double backward)"
VMAP = " (vmap)"
TORCH_FUNC_NEEDS = ("torch.func needs the setup_context style (forward without ctx, setup_context(ctx, inputs, "
                    "output)), generate_vmap_rule = True or a vmap staticmethod, and torch operations only in "
                    "forward and backward (no .item(), NumPy or branching on values)")
DETACHED = ("the first derivatives agree, their derivatives do not: autograd cannot trace backward's result back "
            "to the inputs (or to dout), e.g. an intermediate computed in forward (which runs without autograd) and "
            "saved on ctx, or a backward marked @once_differentiable; save inputs or outputs and recompute "
            "intermediates in backward")
NOT_DIFFERENTIABLE = ("backward's result is not differentiable: computed outside autograd (NumPy, .detach()) or "
                      "marked @once_differentiable; pass double_backward=False if that is intended")


def check_function(fn_class: type[torch.autograd.Function], reference: Callable | None = None, *,
                   inputs: Mapping[str, tuple], fixed: Mapping[str, Any] = EMPTY, dtype: str = "float64",
                   seed: int = 0, kinks: Sequence[float] = (0.0,), margin: float = 1e-3,
                   double_backward: bool = True, vmap: bool = True, finite_differences: bool | None = None,
                   fd_eps: float = 1e-6, tolerance: Tolerance | None = None,
                   fd_tolerance: Tolerance = FINITE_DIFFERENCE_TOLERANCE, device: str | torch.device = "cpu",
                   label: str = "") -> ParityReport:
    """Check ``fn_class`` (a ``torch.autograd.Function`` returning one tensor) against ``reference``.

    Both are called positionally: ``fn_class.apply(*inputs, *fixed)`` and ``reference(*inputs, *fixed)``, in
    the dicts' order. ``inputs`` (name -> shape) are tensors drawn from ``default_rng(seed).standard_normal``
    in ``dtype`` on ``device``, ``margin`` away from ``kinks``, and differentiated; ``fixed`` values (a slope,
    an axis, a mask) are passed as they are and not differentiated. ``dout`` is random with out's shape.

    Rows (module docstring): "out"; "d" + name, dout^T J by the Function's backward against autograd on the
    reference; with ``finite_differences`` (default: on in float64, off in float32, where central differences
    are too coarse; implied without a reference) the same gradient against central differences of
    ``L = sum(dout * apply(...))`` with step ``fd_eps``; with ``double_backward``, for a random ``v`` per input,
    the gradient of ``S = sum_x <v_x, d<x>>`` with respect to each input (second derivatives, a Hessian-vector
    product) and to dout (= J v); with ``vmap``, a batch of ``VMAP_BATCH`` draws along a new axis 0 through
    ``torch.func.vmap`` of apply and of ``torch.func.vjp`` over it, against the reference sample by sample.

    Tolerances: ``tolerance`` or ``TOLERANCES[dtype]``; ``fd_tolerance`` for the finite-difference rows.
    An exception in the first-order pass propagates (nothing can be checked); a Function that raises under
    double backward or torch.func fails those rows, with the error as the row's note.
    """
    names = list(inputs)
    finite_differences = np.dtype(dtype) == np.float64 if finite_differences is None else finite_differences
    if finite_differences and np.dtype(dtype) != np.float64:
        raise ValueError(f"finite differences need float64, not {dtype}")
    if reference is None and not finite_differences:
        raise ValueError("without a reference the finite differences are the only oracle, and they need float64")
    if set(names) & set(fixed):
        raise ValueError(f"inputs and fixed share names {sorted(set(names) & set(fixed))}")
    check = _Check(fn_class, reference, tuple(fixed.values()), torch.device(device), dtype, tolerance, label)

    rng = np.random.default_rng(seed)
    xs = [check.tensor(kink_free(rng.standard_normal(shape), kinks, margin)) for shape in inputs.values()]
    leaves = [x.clone().requires_grad_() for x in xs]
    out = fn_class.apply(*leaves, *check.fresh_fixed())
    if not isinstance(out, torch.Tensor):
        raise ValueError(f"{fn_class.__name__}.apply returned {type(out).__name__}; check_function needs one tensor")
    # Random, never all ones: an all-ones dout zeroes e.g. softmax's input gradient and hides bugs there.
    dout = check.tensor(rng.standard_normal(tuple(out.shape)))
    v = [check.tensor(rng.standard_normal(tuple(x.shape))) for x in xs]

    given = dout.clone()   # the backward gets a copy: a write into it must not reach the other passes
    grads = _grads(out, leaves, given)
    report = ParityReport(diffs=[], label=label, dtype=dtype)
    if not torch.equal(given, dout):
        report.warnings.append("backward wrote into its grad_output (dout): it was given a copy, so the check is "
                               "unaffected; autograd may hand the same tensor to other branches")
    if reference is not None:
        expected_out, expected_grads = check.reference_grads(xs, dout)
        report.extend(check.compare({"out": out, **_named(names, grads)},
                                    {"out": expected_out, **_named(names, expected_grads)}))
    if finite_differences:
        numeric = [check.finite_differences(xs, i, dout, fd_eps) for i in range(len(xs))]
        report.extend(check.compare(_named(names, grads), _named(names, numeric), fd_tolerance,
                                    check="finite differences"))
    if double_backward and reference is not None:
        report.extend(check.double_backward(names, xs, dout, v))
        _explain_double_backward(report, names)
        report.notes.append(f"rows marked{DOUBLE}: autograd differentiates S = sum_x <v_x, dx> (dx the first "
                            "derivative, v random) w.r.t. each input (second derivatives) and w.r.t. dout (J v)")
    if vmap and reference is not None:
        report.extend(check.vmap(names, inputs.values(), tuple(out.shape), np.random.default_rng([seed, 1])))
        report.notes.append(f"rows marked{VMAP}: torch.func.vmap over {VMAP_BATCH} samples (a new axis 0) of apply "
                            "and of torch.func.vjp through it, against the reference one sample at a time")
    if reference is None:
        report.notes.append("no reference: only the finite-difference rows were checked")
    elif not finite_differences:
        report.notes.append(f"no finite-difference rows: off in {dtype} or by request")
    return report


def _grads(out: torch.Tensor, leaves: list[torch.Tensor], dout: torch.Tensor, **options) -> list[torch.Tensor]:
    """dout^T d out / d leaf for every leaf; zeros for a leaf the output does not depend on."""
    grads = torch.autograd.grad(out, leaves, grad_outputs=dout, allow_unused=True, **options)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads)]


def _named(names: list[str], tensors, suffix: str = "") -> dict[str, torch.Tensor]:
    return {f"d{n}{suffix}": t for n, t in zip(names, tensors)}


@dataclasses.dataclass(frozen=True)
class _Check:
    """One check_function call's Function, reference and settings, shared by its row groups."""

    fn_class: type
    reference: Callable | None
    fixed: tuple
    device: torch.device
    dtype: str
    tolerance: Tolerance | None
    label: str

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(array, dtype=self.dtype)).to(self.device)

    def fresh_fixed(self) -> tuple:
        """The fixed arguments for one call, tensors copied: a Function that writes into one cannot change
        what the other passes see."""
        return tuple(f.clone() if isinstance(f, torch.Tensor) else f for f in self.fixed)

    def compare(self, actual, expected, tolerance: Tolerance | None = None, check: str = "") -> ParityReport:
        return compare(actual, expected, tolerance=tolerance or self.tolerance, label=self.label, check=check)

    def reference_grads(self, xs, dout):
        """(reference output, its gradients) at ``xs`` for upstream gradient ``dout``."""
        leaves = [x.clone().requires_grad_() for x in xs]
        out = self.reference(*leaves, *self.fresh_fixed())
        return out, _grads(out, leaves, dout)

    def finite_differences(self, xs, i, dout, eps) -> torch.Tensor:
        """dL/dxs[i] by central differences (scratch_numpy.gradcheck.two_sided_difference), with
        L = sum(dout * apply(xs)): the Function's backward against its own forward."""
        def loss(x_i: np.ndarray) -> float:
            with torch.no_grad():
                args = [*(x.clone() for x in xs[:i]), self.tensor(x_i), *(x.clone() for x in xs[i + 1:]),
                        *self.fresh_fixed()]
                return float(torch.sum(dout * self.fn_class.apply(*args)))
        return self.tensor(two_sided_difference(loss, xs[i].cpu().numpy(), eps))

    def double_backward(self, names, xs, dout, v) -> ParityReport:
        """Rows d<x> and dout (double backward): the gradients of S = sum_x <v_x, d<x>>."""
        rows = [*(f"d{n}{DOUBLE}" for n in names), f"dout{DOUBLE}"]

        def second(fn):
            leaves = [x.clone().requires_grad_() for x in [*xs, dout]]
            first = _grads(fn(*leaves[:-1], *self.fresh_fixed()), leaves[:-1], leaves[-1], create_graph=True)
            total = sum(torch.sum(f * w) for f, w in zip(first, v))
            return _grads(total, leaves, torch.ones_like(total))

        expected = dict(zip(rows, second(self.reference)))
        try:
            actual = dict(zip(rows, second(self.fn_class.apply)))
        except Exception as error:  # whatever the Function raises is the finding
            return self._failed(expected, _first_line(error), NOT_DIFFERENTIABLE)
        return self.compare(actual, expected)

    def vmap(self, names, shapes, out_shape, rng) -> ParityReport:
        """Rows out and d<x> (vmap): a batch of fresh draws through torch.func.vmap of apply and of
        torch.func.vjp over it, against the reference applied one sample at a time."""
        batched = [self.tensor(rng.standard_normal((VMAP_BATCH, *shape))) for shape in shapes]
        douts = self.tensor(rng.standard_normal((VMAP_BATCH, *out_shape)))
        per_sample = [self.reference_grads([b[k] for b in batched], douts[k]) for k in range(VMAP_BATCH)]
        expected = {f"out{VMAP}": torch.stack([out.detach() for out, _ in per_sample]),
                    **_named(names, [torch.stack([g[i] for _, g in per_sample]) for i in range(len(names))], VMAP)}

        def apply(*args):  # the fixed arguments are not batched
            return self.fn_class.apply(*args, *self.fresh_fixed())

        def vjp(*args):
            return torch.func.vjp(apply, *args[:-1])[1](args[-1])

        report = ParityReport(diffs=[], label=self.label, dtype=self.dtype)
        # each pass gets its own copies: a Function that writes into its inputs cannot change the next pass's
        for rows, run in (([f"out{VMAP}"], lambda: [torch.func.vmap(apply)(*(b.clone() for b in batched))]),
                          ([f"d{n}{VMAP}" for n in names],
                           lambda: torch.func.vmap(vjp)(*(b.clone() for b in batched), douts.clone()))):
            wanted = {r: expected[r] for r in rows}
            try:
                actual = dict(zip(rows, run()))
            except Exception as error:  # whatever the Function raises is the finding
                report.extend(self._failed(wanted, _first_line(error), TORCH_FUNC_NEEDS))
            else:
                report.extend(self.compare(actual, wanted))
        return report

    def _failed(self, expected: Mapping[str, torch.Tensor], error: str, hint: str) -> ParityReport:
        """Failed rows for tensors the Function could not produce: NaN (which never passes) against the
        expected values, the verdict pointing at no element, the error as the note and ``hint``."""
        report = self.compare({n: torch.full_like(e, torch.nan) for n, e in expected.items()}, expected)
        report.diffs = [dataclasses.replace(d, worst_index=None, worst_elements=(), note=error, hint=hint)
                        for d in report.diffs]
        return report


def _explain_double_backward(report: ParityReport, names: list[str]) -> None:
    """Make DETACHED the hint of the double-backward rows that fail while every first derivative agrees (a
    row that failed with an error keeps its own hint)."""
    first_order = {f"d{n}" for n in names}  # the rows' tensors, against the reference and finite differences
    if any(not d.passed for d in report.diffs if d.tensor in first_order):
        return
    report.diffs = [dataclasses.replace(d, hint="; ".join(filter(None, (d.hint, DETACHED))))
                    if d.name.endswith(DOUBLE) and not d.passed and d.worst_index is not None else d
                    for d in report.diffs]


def _first_line(error: BaseException, limit: int = 160) -> str:
    """``Type: message``, the message's first line cut to ``limit`` characters (torch's run on, with links)."""
    line = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {line if len(line) <= limit else line[:limit - 3] + '...'}"
