"""Gradient checking on the torch side: the course's checks on a model, and torch.autograd.gradcheck.

* ``gradient_check``: autograd's gradient against the two-sided difference of ``model.cost``,
  element by element (each parameter element moved by +-eps in place, under no_grad), read with
  the course's formula and thresholds (scratch_numpy.gradcheck states them), computed here with
  torch, into the shared record scratch_numpy.records.GradCheckReport.
* ``directional_check``: the slope along a unit direction (drawn with NumPy, shared with the
  NumPy side): two cost evaluations against g . d, overall and per tensor.
* ``autograd_gradcheck``: torch.autograd.gradcheck on J(W1, b1, ...) = cost with every
  parameter an input (torch.func.functional_call). ``fast_mode=False`` compares the full
  Jacobian column by column; ``fast_mode=True`` compares v^T J u for random u, v (one backward,
  two forward passes per input). A mismatch is reported with the parameter's course name.

Parameters are named as the course names them (W1, b1, or gamma_l, beta_l with batch norm),
gradients d + name. Like the NumPy side these refuse dropout (keep_prob < 1) and float32, and
put a batch-norm model's running statistics back afterwards; the model's mode is left alone.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.autograd.gradcheck import GradcheckError

from scratch_numpy.records import DirectionalReport, ElementError, GradCheckReport, Slope, verdict
from scratch_numpy.validation import check_count, check_flag, check_float_array, check_positive

from . import bridge
from .bridge import to_numpy, to_tensor
from .models import Network
from .validation import check_model


def course_parameters(model) -> dict:
    """{course name: the model's parameter tensor}, layer by layer (W1, b1, W2, ...)."""
    return dict(bridge.course_parameters(model))


def _checked(model, X, y) -> dict:
    """The model's parameters after refusing dropout and float32 (and checking the data)."""
    check_model("model", model, Network)
    keep_probs = getattr(model, "keep_probs", None)
    if keep_probs is not None and np.any(np.asarray(keep_probs) < 1):
        raise ValueError(f"gradient checking with dropout on (keep_probs={keep_probs!r}) is meaningless: every "
                         "forward pass draws a new mask; check a model built with keep_probs=None")
    params = course_parameters(model)
    if any(p.dtype != torch.float64 for p in params.values()):
        raise ValueError("gradient checking needs a float64 model (in float32 the step eps is lost to rounding)")
    model.check_data(X, y)
    return params


@contextlib.contextmanager
def _buffers_kept(model):
    """Put the running statistics (every buffer) back after the check's training passes."""
    saved = {name: buffer.detach().clone() for name, buffer in model.named_buffers()}
    try:
        yield
    finally:
        model.load_state_dict(saved, strict=False)


def _gradients(model, params, X, y) -> dict:
    """{d + name: dJ/dparam} by autograd, without touching the parameters' .grad."""
    return dict(zip(("d" + k for k in params), torch.autograd.grad(model.cost(X, y), list(params.values()))))


def _two_sided(model, params, X, y, epsilon) -> dict:
    """{name: (J(p_i + eps) - J(p_i - eps)) / (2 eps) for every element i}, each element moved in place
    and put back exactly (the copy is restored, not eps added back)."""
    gradapprox = {}
    with torch.no_grad():
        for name, p in params.items():
            approx, flat = torch.empty_like(p), p.view(-1)
            for i in range(flat.numel()):
                original = flat[i].clone()
                flat[i] = original + epsilon
                J_plus = float(model.cost(X, y))
                flat[i] = original - epsilon
                J_minus = float(model.cost(X, y))
                flat[i] = original
                approx.view(-1)[i] = (J_plus - J_minus) / (2 * epsilon)
            gradapprox[name] = approx
    return gradapprox


def gradient_check(model, X, y, *, epsilon: float = 1e-7, worst: int = 5) -> GradCheckReport:
    """The course's check on ``model.cost(X, y)``: X (m, n_x), y (m,)."""
    params = _checked(model, X, y)
    epsilon, worst = check_positive("epsilon", epsilon), check_count("worst", worst, minimum=0)
    with _buffers_kept(model):
        grads = _gradients(model, params, X, y)
        gradapprox = _two_sided(model, params, X, y, epsilon)
    return _report(grads, {"d" + k: v for k, v in gradapprox.items()}, epsilon, worst)


def relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b||_2 / (||a||_2 + ||b||_2), and 0 when both are 0."""
    denominator = torch.linalg.vector_norm(a) + torch.linalg.vector_norm(b)
    return float(torch.linalg.vector_norm(a - b) / denominator) if denominator > 0 else 0.0


def _report(grads: dict, gradapprox: dict, epsilon: float, worst: int) -> GradCheckReport:
    """The report of backprop's and the two-sided gradients ({dW1: tensor, ...}, torch's shapes):
    the difference over all elements and per tensor, the ``worst`` elements by |g - g_num| (ties in
    parameter order), every tensor in the course's shape ((n,) vectors as (n, 1) columns)."""
    grad, approx = (torch.cat([t.reshape(-1) for t in d.values()]) for d in (grads, gradapprox))
    difference = relative_difference(grad, approx)
    per_parameter = {k: relative_difference(grads[k], gradapprox[k]) for k in grads}
    shapes = {k: (t.shape[0], 1) if t.dim() == 1 else tuple(t.shape) for k, t in grads.items()}
    owner = [(k, i) for k, t in grads.items() for i in range(t.numel())]
    errors = (grad - approx).abs()
    order = torch.sort(errors, descending=True, stable=True).indices[:worst]
    elements = tuple(ElementError(owner[j][0], tuple(int(i) for i in np.unravel_index(owner[j][1], shapes[owner[j][0]])),
                                  float(grad[j]), float(approx[j]), float(errors[j])) for j in order.tolist())
    analytic, numerical = ({k: to_numpy(t).reshape(shapes[k]) for k, t in d.items()} for d in (grads, gradapprox))
    return GradCheckReport(difference, verdict(difference), per_parameter, elements, analytic, numerical, epsilon)


def directional_check(model, X, y, direction: dict, *, epsilon: float = 1e-6) -> DirectionalReport:
    """Slopes along ``direction`` ({name: NumPy array in the course's shapes}, unit length, e.g.
    scratch_numpy.gradcheck.random_direction) and along each tensor's part of it:
    (J(theta + eps d) - J(theta - eps d)) / (2 eps) against g . d."""
    params = _checked(model, X, y)
    epsilon = check_positive("epsilon", epsilon)
    if not isinstance(direction, dict) or set(direction) != set(params):
        raise ValueError(f"direction must be a dict with the keys {list(params)}")
    for key, value in direction.items():   # a NaN or inf step gives NaN slopes, not a check
        check_float_array(f"direction[{key!r}]", value, ndim=None)
    with _buffers_kept(model):
        grads = _gradients(model, params, X, y)
        slopes = {}
        whole = {k: to_tensor(direction[k], p.device).reshape(p.shape) for k, p in params.items()}
        for key, d in _split_direction(whole).items():
            analytic = sum(float((grads["d" + k] * d[k]).sum()) for k in params)
            with torch.no_grad():
                originals = {k: p.clone() for k, p in params.items()}
                costs = []
                for sign in (1, -1):
                    for k, p in params.items():
                        p.copy_(originals[k] + sign * epsilon * d[k])
                    costs.append(float(model.cost(X, y)))
                for k, p in params.items():
                    p.copy_(originals[k])
            numerical = (costs[0] - costs[1]) / (2 * epsilon)
            slopes[key] = Slope(analytic, numerical, relative_difference(*torch.tensor([[analytic], [numerical]])))
    return DirectionalReport(slopes.pop("all"), slopes, epsilon)


def _split_direction(direction: dict) -> dict:
    """{"all": d} followed by {d + name: d restricted to that tensor, normalised, zero elsewhere}."""
    directions = {"all": direction}
    for name, d in direction.items():
        norm = torch.linalg.vector_norm(d)
        if norm > 0:
            directions["d" + name] = {k: (d / norm if k == name else torch.zeros_like(v)) for k, v in direction.items()}
    return directions


class _Cost(nn.Module):
    """The model's cost as a module's forward, so that torch.func.functional_call can swap parameters."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, X, y):
        return self.model.cost(X, y)


@dataclass(frozen=True)
class AutogradCheck:
    """torch.autograd.gradcheck's answer; ``faulty`` names the first parameter whose Jacobian differs."""

    passed: bool
    fast_mode: bool
    faulty: str | None = None
    message: str = ""


def autograd_gradcheck(model, X, y, *, fast_mode: bool = False, eps: float = 1e-6, atol: float = 1e-5,
                       rtol: float = 1e-3) -> AutogradCheck:
    """torch.autograd.gradcheck on the cost as a function of the parameters (defaults are torch's)."""
    params = _checked(model, X, y)
    check_flag("fast_mode", fast_mode)
    # torch takes them unchecked: eps < 0 reports a false mismatch, a NaN tolerance torch's RuntimeError
    eps = check_positive("eps", eps)
    atol, rtol = check_positive("atol", atol, allow_zero=True), check_positive("rtol", rtol, allow_zero=True)
    torch_names = {id(p): name for name, p in model.named_parameters()}
    names = list(params)
    wrapper = _Cost(model)

    def cost(*tensors):
        return torch.func.functional_call(
            wrapper, {"model." + torch_names[id(p)]: t for p, t in zip(params.values(), tensors)}, (X, y))

    inputs = tuple(p.detach().clone().requires_grad_() for p in params.values())
    with _buffers_kept(model):
        try:
            torch.autograd.gradcheck(cost, inputs, eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
        except GradcheckError as error:
            found = re.search(r"with respect to input (\d+)", str(error))
            return AutogradCheck(False, fast_mode, names[int(found.group(1))] if found else None, str(error))
    return AutogradCheck(True, fast_mode)
