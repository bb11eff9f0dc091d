"""The contenders of ``check_optimizer`` (optimizer.py) and the numbers they run on.

``draw_stream`` draws the starting parameters and the gradient stream. Every contender (the user's rule,
a reference, a slipped variant of optimizer_hints.py) is an object with ``step(grads, k)``, the k-th update
(k = 1, 2, ...) on its own parameters, and ``read() -> (params, state)``: ``_as_contender`` wraps the user's
rule (a function, an object with ``step`` or a class), ``_references`` builds the project's NumPy rule, the
torch optimiser configured as the project does and the user's torch optimiser. ``_trajectory`` runs one on
its own copies of the stream and returns its rows after each step count, {"W1": ..., "t": ..., "v[dW1]":
...}, copies checked for keys, types and shapes (``_rows``).
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import models as torch_models
from reference_torch import optim as torch_optim
from reference_torch import schedules as torch_schedules
from scratch_numpy import optim as numpy_optim

LAYER_DIMS = (5, 4, 3)             # W1 (4, 5), b1 (4, 1), W2 (3, 4), b2 (3, 1)
GRADIENT_DECADES = (-10.0, 1.0)    # log10 of each gradient element's scale: around eps = 1e-8 and far above


@dataclass(frozen=True)
class Stream:
    """The numbers every contender starts from: ``params`` {W1, b1, ...} and ``grads``, one dict
    {dW1, db1, ...} per step, all in one dtype."""

    params: dict[str, np.ndarray]
    grads: list[dict[str, np.ndarray]]


def draw_stream(steps: int, seed: int = 0, dtype: str = "float64", layer_dims: Sequence[int] = LAYER_DIMS) -> Stream:
    """Parameters W_l (n_l, n_(l-1)) and b_l (n_l, 1) ~ N(0, 1) and ``steps`` gradient dicts from
    ``default_rng(seed)``: element (i, j) of dW_l at every step is ``scale_ij * N(0, 1)``, with
    log10(scale_ij) ~ U(GRADIENT_DECADES) drawn once, so an element is small or large at every step (a
    running average of its squares stays near eps or far above it)."""
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1]))
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1))
    scales = {key: 10.0 ** rng.uniform(*GRADIENT_DECADES, size=p.shape) for key, p in params.items()}
    grads = [{"d" + key: (scales[key] * rng.standard_normal(p.shape)).astype(dtype) for key, p in params.items()}
             for _ in range(steps)]
    return Stream({key: p.astype(dtype) for key, p in params.items()}, grads)


def _steps_text(k: int) -> str:
    return f"{k} step" + ("" if k == 1 else "s")


def _copies(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: a.copy() for key, a in arrays.items()}


# ------------------------------------------------------------------ contenders: step(grads), read()

class _ObjectRule:
    """An object with step(params, grads) (the user's, or scratch_numpy.optim's) and, optionally, .state;
    ``step`` gets the clock's STEP_KEYWORDS its signature names."""

    def __init__(self, rule, params, clock):
        self.rule, self.params, self.clock = rule, params, clock
        self.accepts = _accepted(rule.step)

    def step(self, grads, k):
        self.rule.step(self.params, grads, **_pick(self.accepts, self.clock.keywords(k)))

    def read(self):
        return self.params, getattr(self.rule, "state", None)


class _ProjectRule(_ObjectRule):
    """scratch_numpy.optim's rule, its lr set before each step as scratch_numpy.training sets it."""

    def step(self, grads, k):
        self.rule.lr = self.clock.lr(k)
        super().step(grads, k)


class _FunctionRule:
    """update(params, grads, state, **hyperparameters, **step keywords) -> state or (params, state)."""

    def __init__(self, update, params, keywords, clock):
        self.update, self.params, self.keywords, self.clock, self.state = update, params, keywords, clock, None
        self.accepts = _accepted(update)

    def step(self, grads, k):
        result = self.update(self.params, grads, self.state, **self.keywords,
                             **_pick(self.accepts, self.clock.keywords(k)))
        # (params, state), not a state that is a pair of dicts such as (v, s): the first holds the parameters
        if (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Mapping)
                and set(result[0]) == set(self.params)):
            self.params, result = result
        self.state = result

    def read(self):
        return self.params, self.state


class _TorchRule:
    """A torch optimiser over ``model`` (a reference_torch.models.Network holding the stream's parameters);
    ``with_state``: read its state back in the course's names (reference_torch.optim.optimizer_state). Under
    a schedule, reference_torch.schedules' LambdaLR is stepped after each epoch, as reference_torch.training
    does."""

    def __init__(self, optimizer, model, with_state, clock):
        self.optimizer, self.model, self.with_state, self.clock = optimizer, model, with_state, clock
        schedule = clock.schedule
        self.scheduler = None if schedule is None else torch_schedules.make_scheduler(
            optimizer, schedule.name, **schedule.hyperparameters)

    def step(self, grads, k):
        for key, p in bridge.course_parameters(self.model):
            g = grads["d" + key]
            p.grad = torch.from_numpy(g if p.dim() == 2 else np.ascontiguousarray(g[:, 0]))
        self.optimizer.step()
        if self.clock.advances(k):
            self.scheduler.step()

    def read(self):
        state = torch_optim.optimizer_state(self.optimizer, self.model) if self.with_state else None
        return bridge.params_from_module(self.model), state


def _accepted(function) -> set[str] | None:
    """The keywords ``function``'s signature names; None when it takes any (a **kwargs)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):   # a builtin without a signature: it takes none by keyword
        return set()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return set(parameters)


def _pick(accepts: set[str] | None, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` a signature accepting ``accepts`` (_accepted) takes."""
    return dict(values) if accepts is None else {k: v for k, v in values.items() if k in accepts}


def _as_contender(rule, params, keywords, clock):
    """(the rule as a contender, the keywords passed to it: hyperparameters, then step keywords)."""
    if inspect.isclass(rule):
        given = _pick(_accepted(rule), keywords)
        contender = _ObjectRule(rule(params, **given), params, clock)
    elif callable(getattr(rule, "step", None)):
        given, contender = {}, _ObjectRule(rule, params, clock)
    elif callable(rule):
        given = _pick(_accepted(rule), keywords)
        contender = _FunctionRule(rule, params, given, clock)
    else:
        raise TypeError(f"rule must be a function update(params, grads, state) -> state, an object with "
                        f"step(params, grads) or a class built as cls(params, **hyperparameters), not "
                        f"{type(rule).__name__}")
    return contender, [*given, *_pick(contender.accepts, clock.keywords(1))]


def _references(against, name, hp, clock, stream, dtype):
    """(description, contender) for each reference; each starts from its own copy of the parameters."""
    if against in ("numpy", "both"):
        params = _copies(stream.params)
        optimizer = numpy_optim.make_optimizer(name, params, **hp)
        yield f"scratch_numpy.optim {name}", _ProjectRule(optimizer, params, clock)
    if against in ("torch", "both"):
        model = _network(stream.params, dtype)
        rest = {k: v for k, v in hp.items() if k != "lr"}
        optimizer = torch_optim.make_optimizer(name, model, lr=hp["lr"], **rest)
        yield (f"torch.optim.{type(optimizer).__name__} (reference_torch.optim)",
               _TorchRule(optimizer, model, True, clock))
    if callable(against):
        model = _network(stream.params, dtype)
        optimizer = against([p for _, p in bridge.course_parameters(model)])
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"against(tensors) must return a torch.optim.Optimizer, not {type(optimizer).__name__}")
        yield (f"your torch.optim.{type(optimizer).__name__} (parameters only)",
               _TorchRule(optimizer, model, False, clock))


def _network(params, dtype):
    model = torch_models.Network(LAYER_DIMS, "relu", "softmax", dtype=bridge.resolve_dtype(dtype))
    bridge.params_to_module(params, model)
    return model


# ------------------------------------------------------------------ trajectories

def _snapshots(contender, stream: Stream, steps: tuple[int, ...]):
    """Run ``contender`` on the stream; after each step count K in ``steps`` yield (K, its rows, warnings so
    far: the first step at which it wrote into its gradients, the first step count after which its state
    held a gradient array it was handed). Each step's gradients are handed as fresh copies, and the rows
    are copies too (a rule may keep updating the arrays it exposed)."""
    warnings, wrote, kept = [], False, False
    shapes = {key: p.shape for key, p in stream.params.items()}
    handed = []   # every gradient array handed so far: a state array may be one of an earlier step's
    for k, grads in enumerate(stream.grads[:steps[-1]], start=1):
        given = _copies(grads)
        handed += given.values()
        # A slip such as t counted from 0 divides by zero: the trajectory then holds inf and NaN, which the
        # report shows (and a hint may match) instead of a warning raised out of the rule.
        with np.errstate(all="ignore"):
            contender.step(given, k)
        if not wrote and any(n not in given or not np.array_equal(given[n], grads[n]) for n in grads):
            wrote = True
            warnings.append(f"the rule wrote into grads (first at step {k}): it was given a copy, so the check "
                            "is unaffected; a caller that reuses the gradients would see the change")
        if k in steps:
            params, state = contender.read()
            rows = _rows(params, state, shapes, k)
            if not kept and (held := _held(state, handed)):
                kept = True
                warnings.append(f"the rule's state holds gradient arrays it was handed ({', '.join(held)} after "
                                f"{_steps_text(k)}): the check hands fresh arrays, so it is unaffected; a loop "
                                "that writes each step's gradients into the same arrays would change that "
                                "state: store a copy")
            yield k, rows, warnings


def _held(state, handed: Sequence[np.ndarray]) -> list[str]:
    """The names ("v[dW1]") of the arrays in ``state`` (checked by _rows) that share memory with one of
    ``handed``."""
    arrays = {}
    for name, value in (state or {}).items():
        items = value.items() if isinstance(value, Mapping) else [(None, value)]
        arrays.update({name if key is None else f"{name}[{key}]": a for key, a in items
                       if isinstance(a, np.ndarray)})
    return [name for name, a in arrays.items() if any(np.shares_memory(a, g) for g in handed)]


def _trajectory(contender, stream: Stream, steps: tuple[int, ...]):
    """({K: rows after K steps} for K in ``steps``, the warnings of _snapshots)."""
    rows, warnings = {}, []
    for k, snapshot, warnings in _snapshots(contender, stream, steps):
        rows[k] = snapshot
    return rows, warnings


def _rows(params, state, shapes: Mapping[str, tuple], k: int) -> dict[str, np.ndarray]:
    """{"W1": ..., "t": float64, "v[dW1]": ...}: copies of the parameters and of the state, checked."""
    when = f"after {_steps_text(k)}"
    if not isinstance(params, Mapping) or set(params) != set(shapes):
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"{when}, params must hold exactly {sorted(shapes)}, got {got}")
    rows = {}
    for key, shape in shapes.items():
        rows[key] = _array(f"params[{key!r}]", params[key], shape, when)
    if state is None:
        return rows
    if not isinstance(state, Mapping):
        raise TypeError(f"{when}, the rule's state is a {type(state).__name__}: return a dict such as "
                        "{'t': t, 'v': {'dW1': ...}, 's': {...}} (or None when it keeps none)")
    for name, value in state.items():
        if isinstance(value, Mapping):
            for key, array in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"{when}, state[{name!r}] has the key {key!r}: key it like the gradients "
                                    "('dW1', 'db1', ...) or the parameters ('W1', ...)")
                grad = key if key.startswith("d") else "d" + key
                shape = shapes.get(grad[1:])
                rows[f"{name}[{grad}]"] = _array(f"state[{name!r}][{key!r}]", array, shape, when)
        elif name in shapes:
            # A row "W1" from the state would replace the parameter's own row: a rule returning new
            # parameters as its state would then be judged on them while its params never change.
            raise ValueError(f"{when}, the rule's state has the key {name!r}, a parameter's name: return the "
                             "state, {'v': {'dW1': ...}, ...}, not the parameters (update params in place, or "
                             "return (params, state))")
        elif isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim > 0:
            rows[str(name)] = _array(f"state[{name!r}]", value, None, when)
        elif isinstance(value, (numbers.Real, np.ndarray, torch.Tensor)):   # a count or a rate: t, lr
            rows[str(name)] = np.float64(value)
        else:
            raise TypeError(f"{when}, state[{name!r}] is a {type(value).__name__}: keep per-tensor state in a "
                            "dict keyed like the gradients, {'dW1': ..., 'db1': ...}, and counts as numbers")
    return rows


def _array(what: str, value, shape, when: str) -> np.ndarray:
    if not isinstance(value, (np.ndarray, torch.Tensor)):
        raise TypeError(f"{when}, {what} is a {type(value).__name__}, not an array")
    array = np.array(value.detach().cpu() if isinstance(value, torch.Tensor) else value, copy=True)
    if shape is not None and array.shape != shape:
        raise ValueError(f"{when}, {what} has shape {array.shape}; expected {shape}")
    return array
