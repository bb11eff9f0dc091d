"""torch.optim configured to run the course's and cs231n's update rules.

    name              torch optimiser                            NumPy twin (scratch_numpy.optim)
    gd                SGD(lr)                                    GradientDescent
    momentum          SGD(lr, momentum=beta, dampening=beta),    Momentum (course: v = beta v + (1-beta) dW)
                      momentum_buffer preset to zeros
    cs231n_momentum   SGD(lr, momentum=mu, nesterov=...)         CS231nMomentum (v = mu v - lr dW; v = -lr buf)
    rmsprop           RMSprop(lr, alpha=beta, eps)               RMSprop
    adam              Adam(lr, betas=(beta1, beta2), eps)        Adam

Why the preset buffer: torch's SGD starts its buffer at the first gradient
(buf_1 = g_1, no dampening) while the course starts at v_0 = 0
(v_1 = (1 - beta) dW_1); without the preset the first step is 1/(1 - beta)
times too large. With ``buf = 0`` already in the state, torch's first step is
buf = beta * 0 + (1 - dampening) g, the course's v_1.

L2 on the weights only: two parameter groups, every nn.Linear weight with
weight_decay = l2_lambda / m (torch adds weight_decay * W to the gradient
before the update, = the gradient of lambda/(2m) ||W||^2) and every bias with
weight_decay 0. The weight group also carries ``l2_lambda`` and ``m`` (extra
keys torch keeps but ignores) so a training loop can add the penalty to the
cost it records. ``foreach=False``: the single-tensor loop on every device.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from scratch_numpy.contract import check_beta, check_optimizer_state
from scratch_numpy.validation import check_choice, check_flag, check_positive, check_squarable, unchecked

from .bridge import course_parameters, to_numpy
from .losses import l2_penalty
from .models import Network
from .validation import check_model

STATEFUL = (torch.optim.SGD, torch.optim.RMSprop, torch.optim.Adam)   # what make_optimizer builds


# name -> its hyperparameters and their defaults (those of scratch_numpy.optim's classes)
HYPERPARAMETERS = {
    "gd": {},
    "momentum": {"beta": 0.9},
    "cs231n_momentum": {"mu": 0.9, "nesterov": False},
    "rmsprop": {"beta": 0.99, "eps": 1e-8},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}
NAMES = tuple(HYPERPARAMETERS)


STATE_NAMES = {"gd": (), "momentum": ("v",), "cs231n_momentum": ("v",), "rmsprop": ("s",), "adam": ("v", "s")}


def make_optimizer(name: str, model, *, lr: float, l2_lambda: float = 0.0, m: int | None = None, state=None,
                   **hyperparameters) -> torch.optim.Optimizer:
    """The torch optimiser for ``name`` over ``model.linears``, taking the same hyperparameters
    as scratch_numpy.optim.make_optimizer (see HYPERPARAMETERS for names and defaults).

    ``state``: None (t = 0, zero v and s), or the state to start from in the course's names and
    shapes, the dict ``optimizer_state`` returns and scratch_numpy.optim's ``state=`` takes:
    {"t": t, "v": {"dW1": ..., "db1": (n, 1), ...}, "s": {...}} (scratch_numpy.contract.
    check_optimizer_state: numpy arrays of the model's dtype, finite, s >= 0; t >= 0 the steps
    already taken). It becomes momentum_buffer (course momentum: v; cs231n: -v / lr), square_avg
    (s), exp_avg / exp_avg_sq (v, s) and step (t), each b column as torch's (n,). torch's SGD keeps no
    step count: t is checked but has no effect there (as on the NumPy side, where only Adam reads it)."""
    check_choice("name", name, HYPERPARAMETERS)
    unknown = set(hyperparameters) - set(HYPERPARAMETERS[name])
    if unknown:
        raise ValueError(f"optimizer {name!r} takes lr, l2_lambda, m and {sorted(HYPERPARAMETERS[name])}, "
                         f"got unexpected {sorted(unknown)}")
    hp = {**HYPERPARAMETERS[name], **hyperparameters}
    lr = check_positive("lr", lr)
    if "eps" in hp:
        check_positive("eps", hp["eps"])
    for key in ("beta", "mu", "beta1", "beta2"):
        if key in hp:
            check_beta(key, hp[key])
    check_model("model", model, Network)
    if state is not None:
        state = _course_state(state, name, model)
    groups = model.param_groups(l2_lambda, m)
    optimizer = _build(name, groups, lr, hp)
    if state is not None:
        _load_state(optimizer, model, state, name, lr)
    return optimizer


def _course_state(state, name: str, model) -> dict:
    """``state`` checked against ``model``'s parameters in the course's shapes (b as (n, 1))."""
    dtype = np.dtype(str(model.dtype).removeprefix("torch."))
    shapes = {key: ((tuple(p.shape) if p.dim() == 2 else (p.shape[0], 1)), dtype)
              for key, p in course_parameters(model)}
    return check_optimizer_state(state, STATE_NAMES[name], shapes)


def _load_state(optimizer, model, state: dict, name: str, lr: float) -> None:
    """Set torch's state from the checked course ``state`` (the inverse of ``optimizer_state``)."""
    t = state["t"]
    for key, p in course_parameters(model):
        def tensor(course_name, scale=1.0):
            value = state[course_name]["d" + key]
            value = value if p.dim() == 2 else value[:, 0]
            return torch.as_tensor(scale * value, dtype=p.dtype, device=p.device).clone()
        if name in ("momentum", "cs231n_momentum"):   # cs231n: v = -lr buf
            optimizer.state[p]["momentum_buffer"] = tensor("v", 1.0 if name == "momentum" else -1.0 / lr)
        elif name in ("rmsprop", "adam"):
            step = {"step": torch.tensor(float(t), dtype=_scalar_dtype())}
            moments = {"square_avg": tensor("s")} if name == "rmsprop" else \
                {"exp_avg": tensor("v"), "exp_avg_sq": tensor("s")}
            optimizer.state[p].update(step, **moments)


def _scalar_dtype() -> torch.dtype:
    """The dtype of torch's own ``step`` tensors (torch.optim.optimizer._get_scalar_dtype)."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _build(name: str, groups, lr: float, hp: dict) -> torch.optim.Optimizer:
    if name == "gd":
        return torch.optim.SGD(groups, lr=lr, foreach=False)
    if name == "momentum":
        optimizer = torch.optim.SGD(groups, lr=lr, momentum=hp["beta"], dampening=hp["beta"], foreach=False)
        for group in optimizer.param_groups:
            group["momentum_form"] = "course"   # beta = 0 has dampening 0 too: the form cannot be told from it
            for p in group["params"]:
                optimizer.state[p]["momentum_buffer"] = torch.zeros_like(p)   # v_0 = 0
        return _record_velocity(optimizer) if hp["beta"] == 0 else optimizer
    if name == "cs231n_momentum":
        check_flag("nesterov", hp["nesterov"])
        # torch refuses Nesterov without momentum; at mu = 0 both forms are the plain step anyway
        optimizer = torch.optim.SGD(groups, lr=lr, momentum=hp["mu"], nesterov=hp["nesterov"] and hp["mu"] > 0,
                                    foreach=False)
        for group in optimizer.param_groups:
            group["momentum_form"] = "cs231n"
        return _record_velocity(optimizer) if hp["mu"] == 0 else optimizer
    if name == "rmsprop":
        return _refuse_unsquarable(torch.optim.RMSprop(groups, lr=lr, alpha=hp["beta"], eps=hp["eps"], foreach=False))
    return _refuse_unsquarable(torch.optim.Adam(groups, lr=lr, betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                                                foreach=False))


GRADIENT_NAME = "p.grad (the model's gradients, L2's weight_decay * p included)"


def _refuse_unsquarable(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """Before each step, scratch_numpy.validation.check_squarable on the largest magnitude of what the step
    squares, the gradient plus weight_decay * p (the NumPy side checks dW + (lambda/m) W): read at
    once (one host read per step), or, while a training loop defers it (``defer_squarable_check``),
    kept on the device in ``optimizer.largest_gradient`` for the loop's read at the end of the epoch."""
    def check(optimizer, args, kwargs):
        grads = [p.grad.detach() + group["weight_decay"] * p.detach() if group["weight_decay"] else p.grad.detach()
                 for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        largest = torch.stack([g.abs().amax() for g in grads]).amax()
        if not optimizer.squarable_deferred:
            check_squarable(GRADIENT_NAME, largest, str(largest.dtype).removeprefix("torch."))
        elif optimizer.largest_gradient is None:
            optimizer.largest_gradient = largest
        else:
            optimizer.largest_gradient = torch.maximum(optimizer.largest_gradient, largest)
    optimizer.squarable_deferred, optimizer.largest_gradient = False, None
    optimizer.register_step_pre_hook(check)
    return optimizer


@contextlib.contextmanager
def defer_squarable_check(optimizer: torch.optim.Optimizer):
    """For a training loop, which reads the device once per epoch, not per batch: within the block,
    RMSprop's and Adam's step hook (make_optimizer) records the gradients' largest magnitude on the
    device; the yielded function, called once per epoch, reads it (one scalar), refuses it as the
    NumPy side's step does (check_squarable) and starts a new record. The NumPy side refuses before
    the offending update; torch, inside the loop, after the epoch's steps (CONVENTIONS.md). Other
    optimisers: a function that does nothing."""
    if not hasattr(optimizer, "squarable_deferred"):
        yield lambda: None
        return

    def check_epoch():
        largest, optimizer.largest_gradient = optimizer.largest_gradient, None
        if largest is not None:
            check_squarable(GRADIENT_NAME, float(largest), str(largest.dtype).removeprefix("torch."))
    optimizer.squarable_deferred = True
    try:
        yield check_epoch
    finally:
        optimizer.squarable_deferred, optimizer.largest_gradient = False, None


def _record_velocity(optimizer: torch.optim.SGD) -> torch.optim.SGD:
    """SGD with momentum 0 keeps no momentum_buffer, but the NumPy side's velocity is then the step's
    own gradient (course: v = dW; cs231n: v = -lr dW): record it, as torch would have, before each step
    (SGD ignores the buffer at momentum 0), so that ``optimizer_state`` can read it."""
    def record(optimizer, args, kwargs):
        with torch.no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:   # torch's d_p: the gradient plus weight_decay * p
                        optimizer.state[p]["momentum_buffer"] = p.grad + group["weight_decay"] * p
    optimizer.register_step_pre_hook(record)
    return optimizer


def optimizer_state(optimizer: torch.optim.Optimizer, model) -> dict:
    """The optimiser's state in scratch_numpy.optim's names and shapes:
    {"t": t, "v": {"dW1": ..., "db1": ...}, "s": {...}} (b as (n, 1) columns).

    SGD: v = momentum_buffer (course form, dampening = momentum) or -lr * buffer
    (cs231n form, dampening 0), the form as make_optimizer marks it (``momentum_form``); at
    momentum 0 the buffer is the step's gradient, which make_optimizer records. No t (torch's
    SGD keeps no step count).
    RMSprop: s = square_avg. Adam: v = exp_avg, s = exp_avg_sq; t = step.
    """
    check_model("optimizer", optimizer, STATEFUL)
    check_model("model", model, Network)
    # b, gamma and beta are (n,) in torch and (n, 1) columns in the course
    names = {p: ("d" + key, (lambda x: x) if p.dim() == 2 else (lambda x: x[:, None]))
             for key, p in course_parameters(model)}
    keys = next(k for cls, k in ((torch.optim.SGD, {"v": "momentum_buffer"}),
                                 (torch.optim.RMSprop, {"s": "square_avg"}),
                                 (torch.optim.Adam, {"v": "exp_avg", "s": "exp_avg_sq"})) if isinstance(optimizer, cls))
    state: dict = {}
    for group in optimizer.param_groups:
        cs231n = group.get("momentum_form", "cs231n" if group.get("dampening") == 0 else "course") == "cs231n"
        scale = -group["lr"] if isinstance(optimizer, torch.optim.SGD) and cs231n else None
        for p in group["params"]:
            if p not in names:
                raise ValueError("optimizer holds a parameter that model does not have: build the optimizer over "
                                 "this model's parameters")
            key, shape = names[p]
            for ours, theirs in keys.items():
                if theirs not in optimizer.state[p]:
                    continue
                value = optimizer.state[p][theirs]
                value = scale * value if scale is not None else value
                state.setdefault(ours, {})[key] = shape(to_numpy(value)).copy()
            if "step" in optimizer.state[p]:
                state["t"] = int(optimizer.state[p]["step"])
    return state


def penalty(optimizer: torch.optim.Optimizer):
    """lambda/(2m) sum ||W||^2 (a float) over the groups that carry l2_lambda and m (0.0 without L2)."""
    total = 0.0
    for term in penalty_terms(optimizer):
        total += float(term)
    return total


def penalty_terms(optimizer: torch.optim.Optimizer, *, check: bool = True) -> list:
    """The L2 terms of ``penalty``, one 0-d tensor per group that carries l2_lambda and m, left on
    the device: a training loop reads them with its costs, not once per batch. ``check=False``
    (the loop, whose optimizer and weights are its own) skips the arguments' checks, which read
    the weights (isfinite) on every call."""
    if check:
        check_model("optimizer", optimizer, torch.optim.Optimizer)
    kernel = l2_penalty if check else unchecked(l2_penalty)
    with torch.no_grad():
        return [kernel(group["params"], group["l2_lambda"], group["m"])
                for group in optimizer.param_groups if group.get("l2_lambda")]
