"""Gradient checking (course 2, week 1): backprop's gradient against the two-sided difference.

All parameters are flattened into one column theta (N, 1) in dictionary order (W1, b1, W2, ...),
and so is backprop's gradient g = d theta (dW1, db1, ...). For each element i:

    g_num[i] = (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)          eps = 1e-7

    difference = ||g - g_num||_2 / (||g||_2 + ||g_num||_2)

read with the course's thresholds: below 1e-7 "good"; from 1e-7 "careful" (around 1e-5 it may
be right: look at the components); from 1e-3 "bug". The report repeats the difference per
parameter tensor (its own elements only), so a wrong dW2 is named as such, and lists the worst
elements (largest |g - g_num|) with their tensor, index and both values.

* L2: ``l2_lambda=lambda`` adds lambda/(2m) sum ||W_l||_F^2 to J and (lambda/m) W_l to dW_l (a network
  built with ``l2_lambda`` already has both: then leave ``l2_lambda=0``).
* Dropout: refused. Every forward pass would draw a new mask, so J(theta + eps e_i) and
  J(theta - eps e_i) would be different functions; check with keep_prob = 1, then turn dropout on.
* Precision: float64 only. In float32, theta + 1e-7 theta_i rounds back to theta_i (float32's
  spacing near 1 is 1.2e-7), and any eps large enough to register leaves errors near 1e-3.
* Large networks: ``directional_check`` compares the slope along a random unit direction d,
  (J(theta + eps d) - J(theta - eps d)) / (2 eps) against g . d: two forward passes instead of 2N,
  and two more per tensor (d restricted to that tensor) to say which tensor is wrong.

A batch-norm network is checked in its training mode (batch statistics); its running statistics
(``network.state``) are put back afterwards. reference_torch.gradcheck does the same with torch
and wraps torch.autograd.gradcheck.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping

import numpy as np

from .losses import l2_penalty
from .records import DirectionalReport, ElementError, GradCheckReport, Slope, verdict
from .validation import as_rng, check_count, check_float_array, check_plain_array, check_positive, check_same_shape



def relative_difference(a, b) -> float:
    """||a - b||_2 / (||a||_2 + ||b||_2), and 0 when both are 0. ``a`` and ``b``: non-empty float arrays of
    one shape (any rank): a (3, 1) and a (1, 3) would broadcast to a (3, 3) difference, a wrong number."""
    a = check_float_array("a", a, ndim=None, finite=False)
    b = check_float_array("b", b, ndim=None, finite=False)
    check_same_shape("b", b, "a", a)
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denominator) if denominator > 0 else 0.0


def check_params(params, what: str = "params") -> dict:
    """A non-empty dict name -> finite float64 array; returns {name: shape} in its order."""
    if not isinstance(params, Mapping) or not params:
        raise ValueError(f"{what} must be a non-empty dict of arrays (W1, b1, ...), got {type(params).__name__}")
    for name, value in params.items():
        check_plain_array(f"{what}[{name!r}]", value)
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise ValueError(f"{what}[{name!r}] must be a float numpy array, got {type(value).__name__}")
        if value.dtype != np.float64:
            raise ValueError(f"{what}[{name!r}] is {value.dtype}: gradient checking needs float64 (in float32 "
                             "the step eps is lost to rounding); cast with .astype('float64')")
        if value.size == 0 or not np.isfinite(value).all():
            raise ValueError(f"{what}[{name!r}] must be non-empty and finite")
    return {name: value.shape for name, value in params.items()}


def dictionary_to_vector(params, names=None):
    """(theta (N, 1), keys): the tensors of ``params`` (in ``names``' order, default the dict's)
    flattened and stacked; keys[i] is the name of the tensor element i comes from."""
    names = list(params) if names is None else list(names)
    theta = np.concatenate([np.reshape(params[k], (-1, 1)) for k in names])
    keys = [k for k in names for _ in range(np.size(params[k]))]
    return theta, keys


def vector_to_dictionary(theta, shapes) -> dict:
    """The inverse: {name: array of shapes[name]} cut from theta (N, 1) in ``shapes``' order."""
    sizes = [int(np.prod(shape)) for shape in shapes.values()]
    if np.size(theta) != sum(sizes):
        raise ValueError(f"theta has {np.size(theta)} elements but the shapes need {sum(sizes)}")
    pieces = np.split(np.reshape(theta, -1), np.cumsum(sizes)[:-1])
    return {name: piece.reshape(shape) for (name, shape), piece in zip(shapes.items(), pieces)}


def gradients_to_vector(grads, shapes):
    """The gradients {d + name} stacked as theta is (N, 1); a missing or misshapen one is named."""
    if not isinstance(grads, Mapping):
        raise ValueError(f"grads must be a dict {{dW1, db1, ...}}, got {type(grads).__name__}")
    for name, shape in shapes.items():
        g = grads.get("d" + name)
        if g is None:
            raise ValueError(f"the gradients have no d{name} (got {sorted(grads)})")
        if np.shape(g) != shape:
            raise ValueError(f"d{name} has shape {np.shape(g)} but {name} has shape {shape} "
                             "(a transposed product?)")
    return dictionary_to_vector({name: grads["d" + name] for name in shapes})[0]


def build_report(shapes, grad, gradapprox, epsilon: float, worst: int = 5) -> GradCheckReport:
    """The report from backprop's and the two-sided gradient stacked as columns (N, 1) in the order
    of ``shapes`` {name: shape}."""
    grad_shapes = {"d" + name: shape for name, shape in shapes.items()}
    analytic, numerical = (vector_to_dictionary(v, grad_shapes) for v in (grad, gradapprox))
    per_parameter = {k: relative_difference(analytic[k], numerical[k]) for k in grad_shapes}
    elements = [ElementError(k, index, float(analytic[k][index]), float(numerical[k][index]),
                             float(abs(analytic[k][index] - numerical[k][index])))
                for k, shape in grad_shapes.items() for index in np.ndindex(shape)]
    elements.sort(key=lambda e: -e.abs_error)
    difference = relative_difference(grad, gradapprox)
    return GradCheckReport(difference, verdict(difference), per_parameter, tuple(elements[:worst]),
                           analytic, numerical, epsilon)


def _objective(network_or_loss_fn, l2_lambda: float):
    """loss(params, X, Y) -> (cost, grads) from a Network (its ``.loss``) or a function, with
    lambda/(2m) sum ||W||^2 added when ``l2_lambda``; refuses dropout."""
    l2_lambda = check_positive("l2_lambda", l2_lambda, allow_zero=True)
    loss = getattr(network_or_loss_fn, "loss", network_or_loss_fn)
    if not callable(loss):
        raise ValueError("network_or_loss_fn must be a Network (with .loss) or a function "
                         f"loss(params, X, Y) -> (cost, grads), got {type(network_or_loss_fn).__name__}")
    keep_probs = getattr(network_or_loss_fn, "keep_probs", None)
    if keep_probs is not None and np.any(np.asarray(keep_probs) < 1):
        raise ValueError(f"gradient checking with dropout on (keep_probs={keep_probs!r}) is meaningless: every "
                         "forward pass draws a new mask, so J is not one function of theta; check with "
                         "keep_probs=None (keep_prob 1), then turn dropout back on")
    if l2_lambda and getattr(network_or_loss_fn, "l2_lambda", 0):
        raise ValueError(f"the network already adds L2 (l2_lambda={network_or_loss_fn.l2_lambda}); leave l2_lambda=0 here")
    if not l2_lambda:
        return loss

    def with_l2(params, X, Y):
        cost, grads = loss(params, X, Y)
        term, dWs = l2_penalty(params, l2_lambda, np.shape(X)[1])
        return cost + term, {k: g + dWs[k] if k in dWs else g for k, g in grads.items()}
    return with_l2


@contextlib.contextmanager
def _state_kept(network):
    """Put a batch-norm network's running statistics back after the check's many training passes."""
    state = getattr(network, "state", None)
    saved = copy.deepcopy(state) if isinstance(state, dict) else None
    try:
        yield
    finally:
        if saved is not None:
            network.state = saved


def gradient_check(network_or_loss_fn, params, X, Y, *, epsilon: float = 1e-7, l2_lambda: float = 0.0,
                   worst: int = 5) -> GradCheckReport:
    """The course's gradient_check_n: 2N + 1 evaluations of J for N parameters (module docstring).

    ``network_or_loss_fn``: a scratch_numpy.models.Network or loss(params, X, Y) -> (cost, grads)
    with grads {d + name} shaped like params. Shapes: X (n_x, m), Y (1, m), params float64.
    """
    loss = _objective(network_or_loss_fn, l2_lambda)
    shapes = check_params(params)
    epsilon = check_positive("epsilon", epsilon)
    worst = check_count("worst", worst, minimum=0)
    with _state_kept(network_or_loss_fn):
        grad = gradients_to_vector(loss(params, X, Y)[1], shapes)
        theta, _ = dictionary_to_vector(params)
        gradapprox = two_sided_difference(lambda t: loss(vector_to_dictionary(t, shapes), X, Y)[0], theta, epsilon)
    return build_report(shapes, grad, gradapprox, epsilon, worst)


def two_sided_difference(f, x: np.ndarray, epsilon: float) -> np.ndarray:
    """(f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every element i of x, in x's shape: the
    two-sided difference of a scalar function, one pair of calls per element on copies of x (x itself
    is never written). Used by gradient_check and by the backward-pass checker (parity_tests.checker)."""
    gradapprox = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += epsilon
        minus[index] -= epsilon
        gradapprox[index] = (f(plus) - f(minus)) / (2 * epsilon)
    return gradapprox


def random_direction(shapes, rng=0) -> dict:
    """A direction {name: array} of unit length over all tensors together, N(0, 1) entries normalised."""
    rng = as_rng(rng)
    direction = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
    norm = np.linalg.norm(dictionary_to_vector(direction)[0])
    return {name: d / norm for name, d in direction.items()}


def split_direction(direction) -> dict:
    """{"all": d} followed by {d + name: d restricted to that tensor, normalised} (others zero)."""
    directions = {"all": direction}
    for name, d in direction.items():
        norm = np.linalg.norm(d)
        if norm > 0:
            directions["d" + name] = {k: (d / norm if k == name else np.zeros_like(v)) for k, v in direction.items()}
    return directions


def directional_check(network_or_loss_fn, params, X, Y, *, epsilon: float = 1e-6, direction=None, rng=0,
                      l2_lambda: float = 0.0) -> DirectionalReport:
    """Slopes along a random unit direction d (``direction``, else ``random_direction(shapes, rng)``):

        (J(theta + eps d) - J(theta - eps d)) / (2 eps)   against   g . d

    once for d over all tensors and once per tensor (d restricted to it, normalised): 2 (K + 1)
    evaluations of J for K tensors, whatever N. Arguments as in ``gradient_check``.
    """
    loss = _objective(network_or_loss_fn, l2_lambda)
    shapes = check_params(params)
    epsilon = check_positive("epsilon", epsilon)
    if direction is None:
        direction = random_direction(shapes, rng)
    elif check_params(direction, "direction") != shapes:
        raise ValueError(f"direction must hold arrays shaped like params {shapes}")
    with _state_kept(network_or_loss_fn):
        grads = loss(params, X, Y)[1]
        gradients_to_vector(grads, shapes)  # named error for a missing or misshapen gradient
        slopes = {}
        for key, d in split_direction(direction).items():
            J_plus = loss({k: v + epsilon * d[k] for k, v in params.items()}, X, Y)[0]
            J_minus = loss({k: v - epsilon * d[k] for k, v in params.items()}, X, Y)[0]
            analytic = sum(float(np.sum(grads["d" + k] * d[k])) for k in shapes)
            numerical = (J_plus - J_minus) / (2 * epsilon)
            slopes[key] = Slope(analytic, numerical, relative_difference(np.array(analytic), np.array(numerical)))
    overall = slopes.pop("all")
    return DirectionalReport(overall, slopes, epsilon)
