"""Property-based input fuzzing of every public function and model, on both sides (issue 7, item 1).

The contract, for any input: either the right answer, or a ``ValueError``/``TypeError`` whose
message names the argument that is wrong -- never an IndexError, a broadcast error, a
RuntimeWarning or an AttributeError from inside NumPy/torch, never a silently wrong shape.

Each target below is a hypothesis strategy that draws a *case*: valid arguments of random
sizes, dtypes (float32/float64, int/float labels) and memory layouts (C, Fortran, strided,
read-only; contiguous, non-contiguous, requires_grad), and with probability 2/3 one argument
spoiled by a spoiler of ``parity_tests/strategies.py`` (rank-1/rank-3, empty, mismatched size,
int/bool/float16/complex/object/str dtype, float32 mixed with float64, NaN/inf, labels out of
range, fractional, huge or of the wrong dtype, zero/negative/NaN/huge hyperparameters, unknown
choices, non-bool flags, bad seeds and index batches, a wrong model or network, lists, None; since
issue 21: np.matrix and masked arrays, counts and layer sizes past MAX_COUNT, negative running
variances, non-finite directions, extreme scales). ``execute``
then holds the call to the contract:

* no spoiled argument: the call must succeed, and ``check`` compares the answer with the other
  side (NumPy vs torch, through the bridge's layouts) or with the closed form: shapes, dtypes,
  values, finiteness;
* a spoiled argument: ``ValueError``/``TypeError`` naming it (or, for a mismatch, its partner);
  ``Bad.must_fail=False`` marks the few spoils whose right answer is also acceptable.

Library gaps the fuzzing found are fixed; each one's minimal input stays in ``test_fixed_gaps``
(RELIABILITY.md lists them), and its spoil kind is fuzzed with the rest.

CI budget: ``derandomize=True`` (the same examples on every run), ``deadline=None``, no example
database, and per-target ``max_examples`` chosen so that the whole file runs in well under a
minute on 2 cores. ``test_every_target_was_fuzzed`` (the last test) asserts each target saw at
least its minimum number of examples, and a table of the counts is printed at the end of the
session (the terminal summary).
"""

from __future__ import annotations

import collections
import copy
import os
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from torch import nn

from parity_tests.strategies import (
    HUGE_INT, NAN, Bad, arg, as_tensor, np_floats, np_labels, positive, seeded_rng, size, spoil_array,
    spoil_choice, spoil_count, spoil_extreme, spoil_flag, spoil_negative, spoil_np_labels, spoil_positive,
    spoil_tensor, spoil_th_labels, spoil_unit, th_labels,
)
from reference_torch import activations as th_act
from reference_torch import augmentation as th_aug
from reference_torch import batchnorm as th_bn
from reference_torch import bridge
from reference_torch import diagnosis as th_diag
from reference_torch import dropout as th_drop
from reference_torch import early_stopping as th_es
from reference_torch import ewa as th_ewa
from reference_torch import gradcheck as th_gc
from reference_torch import init as th_init
from reference_torch import layers as th_layers
from reference_torch import logistic as th_log
from reference_torch import losses as th_losses
from reference_torch import minibatch as th_mb
from reference_torch import models as th_models
from reference_torch import normalization as th_norm
from reference_torch import optim as th_optim
from reference_torch import schedules as th_sched
from reference_torch import signals as th_sig
from reference_torch import splits as th_splits
from reference_torch import training as th_train
from scratch_numpy import activations as np_act
from scratch_numpy import augmentation as np_aug
from scratch_numpy import batchnorm as np_bn
from scratch_numpy import diagnosis as np_diag
from scratch_numpy import dropout as np_drop
from scratch_numpy import early_stopping as np_es
from scratch_numpy import ewa as np_ewa
from scratch_numpy import gradcheck as np_gc
from scratch_numpy import init as np_init
from scratch_numpy import layers as np_layers
from scratch_numpy import logistic as np_log
from scratch_numpy import losses as np_losses
from scratch_numpy import minibatch as np_mb
from scratch_numpy import models as np_models
from scratch_numpy import normalization as np_norm
from scratch_numpy import optim as np_optim
from scratch_numpy import schedules as np_sched
from scratch_numpy import signals as np_sig
from scratch_numpy import splits as np_splits
from scratch_numpy import training as np_train

DTYPES = ("float64", "float32")
TH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
HIDDEN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")

# =====================================================================================
# The harness: targets, cases, the contract, the counts
# =====================================================================================


@dataclass
class Case:
    """``call(**kwargs)``; ``bad`` is the spoiled argument (None: all valid); ``check(out, kwargs)``
    judges a returned answer."""

    call: object
    kwargs: dict
    bad: Bad | None = None
    spoiled: str | None = None
    check: object = None

    def describe(self) -> str:
        if self.bad is None:
            return "valid input"
        return f"{self.spoiled} spoiled ({self.bad.kind})"


@dataclass
class Target:
    name: str
    strategy: object
    examples: int
    counts: collections.Counter = field(default_factory=collections.Counter)
    kinds: set = field(default_factory=set)      # (argument, spoil kind) pairs rejected as the contract says
    seconds: float = 0.0


TARGETS: dict[str, Target] = {}
DEFAULT_EXAMPLES = 40
MIN_EXAMPLES = 15  # every target must have been run on at least this many inputs
# CI runs the counts below; TWINPROP_FUZZ_SCALE=10 runs ten times as many (still derandomized) for a deep local run
SCALE = float(os.environ.get("TWINPROP_FUZZ_SCALE", "1"))


def fuzz(name: str, examples: int = DEFAULT_EXAMPLES):
    """Register a composite strategy ``fn(draw) -> Case`` as the fuzz target ``name``."""
    def register(fn):
        assert name not in TARGETS, name
        TARGETS[name] = Target(name, st.composite(fn)(), examples)
        return fn
    return register


def make_case(draw, call, valid: dict, spoilers: dict, check=None, *, p_valid: int = 3) -> Case:
    """A Case from valid kwargs; with probability (p_valid - 1)/p_valid one argument of ``spoilers``
    ({name: draw -> Bad}) is spoiled."""
    kwargs = dict(valid)
    if spoilers and draw(st.integers(0, p_valid - 1)) > 0:
        spoiled = draw(st.sampled_from(sorted(spoilers)))
        bad = spoilers[spoiled](draw)
        kwargs[spoiled] = bad.value
        return Case(call, kwargs, bad, spoiled, check)
    return Case(call, kwargs, None, None, check)


def execute(target: Target, case: Case) -> None:
    """The contract (module docstring)."""
    counts = target.counts
    counts["tried"] += 1
    counts["spoiled"] += case.bad is not None
    try:
        out = case.call(**case.kwargs)
    except (ValueError, TypeError) as error:
        message = str(error)
        if case.bad is None:
            raise AssertionError(f"{target.name}: valid input rejected with {type(error).__name__}: {message}") \
                from error
        if not any(re.search(arg(n), message) for n in case.bad.names):
            raise AssertionError(f"{target.name}, {case.describe()}: {type(error).__name__} {message!r} names none "
                                 f"of {case.bad.names}") from error
        counts["rejected"] += 1
        target.kinds.add((case.spoiled, case.bad.kind))
        return
    except Exception as error:  # noqa: BLE001 (any other type breaks the contract)
        raise AssertionError(f"{target.name}, {case.describe()}: unexpected {type(error).__name__}: "
                             f"{str(error)[:300]}") from error
    if case.bad is not None and case.bad.must_fail:
        raise AssertionError(f"{target.name}, {case.describe()}: accepted silently, returned "
                             f"{type(out).__name__}")
    counts["answered"] += 1
    if case.check is not None:
        case.check(out, case.kwargs)


SETTINGS = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                    phases=(Phase.explicit, Phase.generate, Phase.shrink),
                    suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------------------- comparisons

def to_np(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def tol(dtype) -> float:
    return 1e-9 if str(dtype).endswith("float64") else 3e-4


def close(actual, expected, what: str, *, dtype="float64", scale=None, rtol=None) -> None:
    """``actual`` has ``expected``'s shape and |a - e| <= rtol * scale everywhere (scale: the largest
    magnitude of either, unless given); both finite where ``expected`` is."""
    a, e = to_np(actual).astype(np.float64), to_np(expected).astype(np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}"
    assert (np.isfinite(a) == np.isfinite(e)).all(), f"{what}: finite pattern differs:\n{a}\n{e}"
    finite = np.isfinite(e)
    if not finite.any():
        return
    s = scale if scale is not None else max(np.abs(a[finite]).max(), np.abs(e[finite]).max(), 1e-300)
    # results below the dtype's smallest normal number carry no relative precision (torch computes a
    # float32 penalty in float32 where NumPy returns a Python float): an absolute floor of 10 tiny
    tiny = np.finfo(np.float64 if str(dtype).endswith("float64") else np.float32).tiny
    bound = max((rtol if rtol is not None else tol(dtype)) * s, 10 * tiny)
    worst = np.abs(a[finite] - e[finite]).max()
    assert worst <= bound, f"{what}: max |difference| {worst:.3g} > {bound:.3g}\nactual\n{a}\nexpected\n{e}"


# A score this close to a decision boundary (0 for a sigmoid output, a tie for an arg max) may fall on
# either side with another CPU's summation order; predictions are compared where it is farther.
DECIDED = 1e-4


def decided(scores, output: str = "sigmoid") -> np.ndarray:
    """Which examples (columns of ``scores`` (n_L, m)) a rounding difference cannot flip."""
    Z = to_np(scores).astype(np.float64)
    if output == "sigmoid" or Z.shape[0] == 1:
        return (np.abs(Z) > DECIDED).all(axis=0)
    top = np.sort(Z, axis=0)
    return top[-1] - top[-2] > DECIDED


def same_dtype(x, dtype) -> None:
    got = str(x.dtype).removeprefix("torch.")
    assert got == str(np.dtype(dtype) if not str(dtype).startswith("torch") else dtype).removeprefix("torch."), \
        f"dtype {got}, expected {dtype}"


def finite(*xs) -> None:
    for x in xs:
        assert np.isfinite(to_np(x).astype(np.float64)).all(), f"non-finite answer {x}"


def dtype_of(a) -> str:
    return str(a.dtype).removeprefix("torch.")


def th(a, dtype=None) -> torch.Tensor:
    """A NumPy array as a fresh tensor (its own dtype unless given)."""
    t = torch.tensor(np.array(a, order="C"))    # (np.ascontiguousarray would make a 0-d array 1-d)
    return t if dtype is None else t.to(dtype)


def labels_row(Y) -> torch.Tensor:
    """NumPy labels (1, m) of any accepted dtype as torch's (m,) int64."""
    return torch.tensor(np.asarray(Y)[0].astype(np.int64))


def named_if(bad: Bad, *, must_fail: bool) -> Bad:
    """``bad`` that is only an error when ``must_fail`` (an argument the call ignores otherwise)."""
    bad.must_fail = must_fail
    return bad


def spoil_model(draw, name: str = "model") -> Bad:
    """Not the model (or module, optimizer) the function takes: None, a bare nn.Linear, a string."""
    kind = draw(st.sampled_from(["None", "nn.Linear", "str"]))
    return Bad({"None": None, "nn.Linear": nn.Linear(2, 1), "str": name}[kind], f"{name} {kind}", (name,))


def spoil_network(draw) -> Bad:
    """Not the scratch_numpy.models.Network a NumPy function takes (None, an nn.Linear, a string)."""
    return spoil_model(draw, "network")


def spoil_cache(draw, name: str, valid_cache) -> Bad:
    """A cache argument that is not the cache the forward pass returned."""
    value = draw(st.sampled_from(["tuple", None, "str", "other"]))
    bad = {"tuple": tuple(valid_cache)[:2], None: None, "str": "cache", "other": {"A": 1}}[value]
    return Bad(bad, f"cache {value}", (name,))


# =====================================================================================
# NumPy side: activations, layers, losses
# =====================================================================================

for _name in np_act.NAMES:
    def _forward(draw, name=_name):
        dtype = draw(st.sampled_from(DTYPES))
        Z = np_floats(draw, (size(draw), size(draw)), dtype)
        valid, spoilers = {"Z": Z}, {"Z": lambda d: spoil_array(d, "Z", Z, pinned=False)}
        if name == "leaky_relu":
            valid["slope"] = positive(draw, 0.0, 1.0, zero=True)
            spoilers["slope"] = lambda d: spoil_positive(d, "slope", allow_zero=True)

        def check(out, kw):
            A, cache = out
            assert isinstance(cache, np_act.ActivationCache)
            same_dtype(A, dtype)
            expected = th_act.apply(name, th(kw["Z"]).T, leaky_slope=kw.get("slope", 0.01)).T
            close(A, expected, f"{name}(Z)", dtype=dtype)
        return make_case(draw, np_act.FORWARD[name], valid, spoilers, check)

    def _backward(draw, name=_name):
        dtype = draw(st.sampled_from(DTYPES))
        n, m = size(draw), size(draw)
        Z = np_floats(draw, (n, m), dtype, scale=draw(st.sampled_from([0.1, 1.0, 5.0])))
        slope = positive(draw, 0.0, 1.0, zero=True)
        _, cache = np_act.leaky_relu_forward(Z, slope) if name == "leaky_relu" else np_act.FORWARD[name](Z)
        dA = np_floats(draw, (n, m), dtype, scale=1.0)

        def check(dZ, kw):
            same_dtype(dZ, dtype)
            Zt = th(Z).T.requires_grad_()
            At = th_act.apply(name, Zt, leaky_slope=slope)
            if name == "hardmax":
                expected = torch.zeros_like(Zt)
            else:
                (expected,) = torch.autograd.grad(At, Zt, th(kw["dA"]).T)
            close(dZ, expected.T, f"d{name}", dtype=dtype)
        return make_case(draw, np_act.BACKWARD[name], {"dA": dA, "cache": cache},
                         {"dA": lambda d: spoil_array(d, "dA", dA, fixed=(0, 1)),
                          "cache": lambda d: spoil_cache(d, "cache", cache)}, check)

    fuzz(f"np.activations.{_name}_forward", 60)(_forward)
    fuzz(f"np.activations.{_name}_backward", 50)(_backward)


@fuzz("np.layers.linear_forward", 80)
def _np_linear_forward(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n, n_prev, m = size(draw), size(draw), size(draw)
    A, W, b = (np_floats(draw, s, dtype, scale=1.0) for s in ((n_prev, m), (n, n_prev), (n, 1)))

    def check(out, kw):
        Z, cache = out
        assert isinstance(cache, np_layers.LinearCache)
        same_dtype(Z, dtype)
        close(Z, th_layers.linear_forward(th(A).T, th(W), th(b)[:, 0]).T, "Z", dtype=dtype, scale=10 * n_prev)
    return make_case(draw, np_layers.linear_forward, {"A_prev": A, "W": W, "b": b}, {
        "A_prev": lambda d: spoil_array(d, "A_prev", A, fixed=(0,)),
        "W": lambda d: spoil_array(d, "W", W, fixed=(0, 1), also=("A_prev", "b")),
        "b": lambda d: spoil_array(d, "b", b, fixed=(0, 1))}, check)


@fuzz("np.layers.linear_backward", 60)
def _np_linear_backward(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n, n_prev, m = size(draw), size(draw), size(draw)
    A, W, b, dZ = (np_floats(draw, s, dtype, scale=1.0) for s in ((n_prev, m), (n, n_prev), (n, 1), (n, m)))
    _, cache = np_layers.linear_forward(A, W, b)

    def check(out, kw):
        dA, dW, db = out
        At, Wt, bt = (th(x).requires_grad_() for x in (A.T, W, b[:, 0]))
        Z = nn.functional.linear(At, Wt, bt)
        gA, gW, gb = torch.autograd.grad(Z, (At, Wt, bt), th(dZ).T)
        scale = 10 * max(n, n_prev, m)
        close(dA, gA.T, "dA_prev", dtype=dtype, scale=scale)
        close(dW, gW / m, "dW", dtype=dtype, scale=scale)
        close(db, gb[:, None] / m, "db", dtype=dtype, scale=scale)
    return make_case(draw, np_layers.linear_backward, {"dZ": dZ, "cache": cache}, {
        "dZ": lambda d: spoil_array(d, "dZ", dZ, fixed=(0, 1)),
        "cache": lambda d: spoil_cache(d, "cache", cache)}, check)


def _probabilities(draw, m, dtype):
    """(1, m) probabilities, sometimes exactly 0 or 1."""
    AL = np_floats(draw, (1, m), dtype, low=0.0, high=1.0)
    if draw(st.booleans()):
        AL = np.array(AL, copy=True)
        AL[0, draw(st.integers(0, m - 1))] = draw(st.sampled_from([0.0, 1.0]))
    return AL


def _spoil_probabilities(draw, AL):
    if draw(st.booleans()):
        bad = np.array(AL, copy=True)
        bad[0, 0] = draw(st.sampled_from([1.5, -0.1, 1.001, -1e-30]))
        return Bad(bad, "probability outside [0, 1]", ("AL",))
    return spoil_array(draw, "AL", AL, fixed=(0,), pinned=False, also=("Y",))


@fuzz("np.losses.binary_cross_entropy", 80)
def _np_bce(draw):
    dtype, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 6)
    AL, Y = _probabilities(draw, m, dtype), np_labels(draw, m, 2)

    def check(out, kw):
        cost, dAL = out
        assert isinstance(cost, float) and not np.isnan(cost) and not np.isnan(dAL).any()
        same_dtype(dAL, dtype)
        y = labels_row(kw["Y"])
        wrong = (AL[0] == 0) & (y.numpy() == 1) | (AL[0] == 1) & (y.numpy() == 0)
        if wrong.any():   # the textbook's +inf; torch clamps (test_extremes.py)
            assert cost == np.inf
            return
        At = th(AL).T.requires_grad_()
        ct = th_losses.binary_cross_entropy(At, y)
        (g,) = torch.autograd.grad(ct, At)
        close(cost, ct, "cost", dtype=dtype)
        inside = ((AL > 1e-6) & (AL < 1 - 1e-6))[0]   # torch's gradient clamps x(1 - x) at 1e-12
        close(dAL[0, inside], m * g[inside, 0], "dAL", dtype=dtype)
    return make_case(draw, np_losses.binary_cross_entropy, {"AL": AL, "Y": Y}, {
        "AL": lambda d: _spoil_probabilities(d, AL),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 2, also=("AL",))}, check)


def _loss_parity(np_fn, th_fn, name, dtype, extra=()):
    """check(out, kw) comparing a NumPy loss (cost, m * dJ/dinput) with its torch twin by autograd."""
    def check(out, kw):
        cost, d = out
        assert isinstance(cost, float)
        same_dtype(d, dtype)
        x = kw[name]
        xt = th(x).T.requires_grad_()
        ct = th_fn(xt, labels_row(kw["Y"]), *[kw[k] for k in extra])
        (g,) = torch.autograd.grad(ct, xt)
        m = x.shape[1]
        scale = max(1.0, np.abs(x).max())
        close(cost, ct, "cost", dtype=dtype, scale=scale)
        close(d, m * g.T, "d" + name, dtype=dtype, scale=max(1.0, np.abs(d).max()))
    return check


@fuzz("np.losses.binary_cross_entropy_with_logits", 80)
def _np_bce_logits(draw):
    dtype, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 6)
    Z, Y = np_floats(draw, (1, m), dtype), np_labels(draw, m, 2)
    return make_case(draw, np_losses.binary_cross_entropy_with_logits, {"Z": Z, "Y": Y}, {
        "Z": lambda d: spoil_array(d, "Z", Z, fixed=(0,), pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 2, also=("Z",))},
        _loss_parity(np_losses.binary_cross_entropy_with_logits, th_losses.binary_cross_entropy_with_logits,
                     "Z", dtype))


@fuzz("np.losses.softmax_cross_entropy", 80)
def _np_softmax_ce(draw):
    dtype, C, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 5), size(draw, 1, 6)
    S, Y = np_floats(draw, (C, m), dtype), np_labels(draw, m, C)
    return make_case(draw, np_losses.softmax_cross_entropy, {"scores": S, "Y": Y}, {
        "scores": lambda d: spoil_array(d, "scores", S, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, C, also=("scores",))},
        _loss_parity(np_losses.softmax_cross_entropy, th_losses.softmax_cross_entropy, "scores", dtype))


@fuzz("np.losses.svm_hinge", 80)
def _np_svm(draw):
    dtype, C, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 5), size(draw, 1, 6)
    S, Y = np_floats(draw, (C, m), dtype, zeros=False), np_labels(draw, m, C)
    delta = positive(draw, 0.0, 2.0, zero=True)
    return make_case(draw, np_losses.svm_hinge, {"scores": S, "Y": Y, "delta": delta}, {
        "scores": lambda d: spoil_array(d, "scores", S, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, C, also=("scores",)),
        "delta": lambda d: spoil_positive(d, "delta", allow_zero=True)},
        _loss_parity(np_losses.svm_hinge, th_losses.svm_hinge, "scores", dtype, extra=("delta",)))


def _np_params(draw, layer_dims, dtype, *, scale=1.0):
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = np_floats(draw, (layer_dims[l], layer_dims[l - 1]), dtype, scale=scale)
        params[f"b{l}"] = np_floats(draw, (layer_dims[l], 1), dtype, scale=scale)
    return params


def _layer_dims(draw, lo=2, hi=4, width=4):
    return [size(draw, 1, width) for _ in range(draw(st.integers(lo, hi)))]


def _spoil_weights(draw, params) -> Bad:
    """A penalty's params with one weight spoiled, or no weights, or a malformed name, or not a dict."""
    kind = draw(st.sampled_from(["entry", "entry", "no weights", "odd name", "not a dict"]))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(k for k in params if k.startswith("W"))))
        bad = spoil_array(draw, key, params[key], exclude=("other float",))
        return Bad({**params, key: bad.value}, f"{key} {bad.kind}", (key,))
    if kind == "no weights":
        return Bad({k: v for k, v in params.items() if not k.startswith("W")}, kind, ("params",))
    if kind == "odd name":
        return Bad({**params, "Wx": params["W1"]}, kind, ("params",))
    return Bad(list(params.values()), kind, ("params",))


for _penalty in ("l2_penalty", "l1_penalty"):
    def _np_penalty(draw, penalty=_penalty):
        dtype = draw(st.sampled_from(DTYPES))
        params = _np_params(draw, _layer_dims(draw), dtype)
        lambd, m = positive(draw, 0.0, 5.0, zero=True), size(draw, 1, 100)

        def check(out, kw):
            cost, grads = out
            weights = [th(params[k]).requires_grad_() for k in sorted(k for k in params if k[0] == "W")]
            ct = getattr(th_losses, penalty)(weights, kw["lambd"], kw["m"])
            close(cost, ct, "cost", dtype=dtype)
            gs = torch.autograd.grad(ct, weights) if kw["lambd"] else [torch.zeros_like(w) for w in weights]
            assert sorted(grads) == sorted("d" + k for k in params if k[0] == "W")
            for k, g in zip(sorted(k for k in params if k[0] == "W"), gs):
                close(grads["d" + k], g, "d" + k, dtype=dtype)
        return make_case(draw, getattr(np_losses, penalty), {"params": params, "lambd": lambd, "m": m}, {
            "params": lambda d: _spoil_weights(d, params),
            "lambd": lambda d: spoil_positive(d, "lambd", allow_zero=True),
            "m": lambda d: spoil_count(d, "m")}, check)

    fuzz(f"np.losses.{_penalty}", 50)(_np_penalty)


# =====================================================================================
# NumPy side: init, logistic regression, the network
# =====================================================================================

def _spoil_layer_dims(draw, name="layer_dims") -> Bad:
    value = draw(st.sampled_from([[], [3], [2, 0, 1], [2, -1], [2, 1.5], [2.0, 3], "23", None, 3, [2, None],
                                  [2, True], np.array([[2, 3]]), [2, "3"], [2, 2 ** 70], [2 ** 40, 2 ** 40, 1],
                                  [2, 2 ** 21, 2 ** 21]]))
    return Bad(value, f"layer_dims={value!r}"[:40], (name,))


def _spoil_rng(draw, name="rng", *, none_ok=False) -> Bad:
    value = draw(st.sampled_from([-1, "0", 1.5, True, [0]] + ([] if none_ok else [None])))
    return Bad(value, f"rng={value!r}", (name,))


def _spoil_np_dtype(draw, name="dtype") -> Bad:
    value = draw(st.sampled_from(["float16", "int64", "double", np.float64, None, "f8", ""]))
    return Bad(value, f"dtype={value!r}", (name,))


def _dims(draw, *, output=None, hidden=(0, 2), width=4):
    output = output or draw(st.sampled_from(sorted(np_models.OUTPUTS)))
    last = 1 if output == "sigmoid" else size(draw, 2, width)
    return [size(draw, 1, width)] + [size(draw, 1, width) for _ in range(draw(st.integers(*hidden)))] + [last], output


@fuzz("np.init.initialize_parameters", 50)
def _np_initialize_parameters(draw):
    dims = _layer_dims(draw)
    valid = {"layer_dims": draw(st.sampled_from([list, tuple, np.array]))(dims),
             "method": draw(st.sampled_from(np_init.METHODS)), "rng": draw(st.sampled_from([0, 7, "generator", "rs"])),
             "dtype": draw(st.sampled_from(DTYPES))}
    valid["rng"] = {"generator": np.random.default_rng(1), "rs": np.random.RandomState(1)}.get(valid["rng"], valid["rng"])

    def check(params, kw):
        assert list(params) == [f"{p}{l}" for l in range(1, len(dims)) for p in "Wb"]
        for l in range(1, len(dims)):
            assert params[f"W{l}"].shape == (dims[l], dims[l - 1]) and params[f"b{l}"].shape == (dims[l], 1)
            same_dtype(params[f"W{l}"], kw["dtype"])
            assert not params[f"b{l}"].any() and (params[f"W{l}"].any() or kw["method"] == "zeros" or dims[l] * dims[l - 1] == 0)
            finite(params[f"W{l}"])
    return make_case(draw, np_init.initialize_parameters, valid, {
        "layer_dims": _spoil_layer_dims, "method": lambda d: spoil_choice(d, "method", np_init.METHODS),
        "rng": _spoil_rng, "dtype": _spoil_np_dtype}, check)


@fuzz("np.logistic.initialize_with_zeros", 25)
def _np_log_init(draw):
    valid = {"n_x": draw(st.sampled_from([1, 3, np.int64(4)])), "dtype": draw(st.sampled_from(DTYPES))}

    def check(out, kw):
        w, b = out
        assert w.shape == (int(kw["n_x"]), 1) and not w.any() and b == 0.0
        same_dtype(w, kw["dtype"])
    return make_case(draw, np_log.initialize_with_zeros, valid,
                     {"n_x": lambda d: spoil_count(d, "n_x"), "dtype": _spoil_np_dtype}, check)


def _spoil_b(draw, name="b") -> Bad:
    value = draw(st.sampled_from([NAN, float("inf"), "0", None, True, [0.0], np.array([1.0, 2.0]), 1 + 0j, HUGE_INT]))
    return Bad(value, f"b={value!r}"[:40], (name,))


def _logistic_case(draw, what):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw, 1, 6)
    w = np_floats(draw, (n_x, 1), dtype, scale=1.0)
    b = draw(st.sampled_from([0.0, 0.5, -1, np.float64(0.25)]))
    X, Y = np_floats(draw, (n_x, m), dtype, scale=1.0), np_labels(draw, m, 2)
    valid = {"w": w, "b": b, "X": X}
    spoilers = {"w": lambda d: spoil_array(d, "w", w, fixed=(1,), also=("X",)), "b": _spoil_b,
                "X": lambda d: spoil_array(d, "X", X, fixed=(0,), also=("Y",))}
    if what != "predict":
        valid["Y"] = Y
        spoilers["Y"] = lambda d: spoil_np_labels(d, "Y", Y, 2, also=("X",))
    if what == "optimize":
        valid.update(num_iterations=size(draw, 1, 3), learning_rate=positive(draw, 1e-3, 1.0))
        spoilers.update(num_iterations=lambda d: spoil_count(d, "num_iterations"),
                        learning_rate=lambda d: spoil_positive(d, "learning_rate"))
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    bridge.logistic_to_module(w, float(b), model)

    def check(out, kw):
        Xt, yt = th(X).T, labels_row(Y)
        if what == "propagate":
            grads, cost = out
            tgrads, tcost = th_log.propagate(model, Xt, yt)
            close(cost, tcost, "cost", dtype=dtype)
            close(grads["dw"], tgrads["dw"].T, "dw", dtype=dtype)
            close(grads["db"], tgrads["db"][0], "db", dtype=dtype)
            same_dtype(grads["dw"], dtype)
        elif what == "optimize":
            params, grads, costs = out
            tcosts = th_log.optimize(model, Xt, yt, kw["num_iterations"], kw["learning_rate"])
            close(costs, tcosts, "costs", dtype=dtype, rtol=10 * tol(dtype))
            close(params["w"], model.linear.weight.T, "w", dtype=dtype, rtol=10 * tol(dtype), scale=1 + np.abs(w).max())
            same_dtype(params["w"], dtype)
        else:
            assert out.shape == (1, m) and out.dtype == np.int64
            # and where every w_i x_i is exactly 0: z = b on any CPU (b = 0: the tie, label 0 on both sides)
            sure = decided(w.astype(np.float64).T @ X.astype(np.float64) + b) | ~(w * X).any(axis=0)
            np.testing.assert_array_equal(out[0][sure], th_log.predict(model, Xt).numpy()[sure])
    fn = {"propagate": np_log.propagate, "optimize": np_log.optimize, "predict": np_log.predict}[what]
    return make_case(draw, fn, valid, spoilers, check)


for _what in ("propagate", "optimize", "predict"):
    fuzz(f"np.logistic.{_what}", 50)(lambda draw, what=_what: _logistic_case(draw, what))


def _net_options(draw, dims, output):
    """(NumPy Network kwargs, torch Network kwargs) for a random valid configuration."""
    L = len(dims) - 1
    kw = {"hidden_activation": draw(st.sampled_from(HIDDEN)), "output": output}
    if draw(st.booleans()):
        kw["leaky_slope"] = positive(draw, 0.0, 0.5, zero=True)
    if draw(st.booleans()):
        kw["l2"], kw["l1"] = positive(draw, 0.0, 1.0, zero=True), positive(draw, 0.0, 1.0, zero=True)
    if L > 1 and draw(st.booleans()):
        kw["keep_probs"] = draw(st.sampled_from([0.5, 0.8, 1.0, "list"]))
        if kw["keep_probs"] == "list":
            kw["keep_probs"] = [draw(st.sampled_from([0.6, 0.9, 1.0])) for _ in range(L - 1)]
    if L > 1 and draw(st.booleans()):
        kw["batch_norm"] = True
        kw["bn_beta_momentum"] = draw(st.sampled_from([0.0, 0.5, 0.9]))
        kw["bn_eps"] = draw(st.sampled_from([1e-5, 1e-3]))
    th_kw = {k: v for k, v in kw.items()}
    return kw, th_kw


def _spoil_net_params(draw, params, *, also=()) -> Bad:
    keys = list(params)
    kind = draw(st.sampled_from(["entry", "entry", "entry", "missing", "extra", "not a dict"]))
    if kind == "entry":
        key = draw(st.sampled_from(keys))
        bad = spoil_array(draw, key, params[key], fixed=(0, 1))
        names = (*keys, "X", *also) if bad.kind.startswith("float") else (key,)
        return Bad({**params, key: bad.value}, f"params[{key}] {bad.kind}", names)
    if kind == "missing":
        key = draw(st.sampled_from(keys))
        return Bad({k: v for k, v in params.items() if k != key}, f"params without {key}", (key, "params"))
    if kind == "extra":
        return Bad({**params, "W9": params[keys[0]]}, "params with W9", ("W9", "params"))
    return Bad(list(params.values()), "params a list", ("params",))


def _spoil_masks(draw, masks, dims) -> Bad:
    kind = draw(st.sampled_from(["wrong keys", "not a dict", "entry"] if masks else ["wrong keys", "not a dict"]))
    if kind == "wrong keys":
        return Bad({**(masks or {}), "D9": np.ones((1, 1))}, kind, ("masks",))
    if kind == "not a dict":
        return Bad(list((masks or {"D1": 1}).values()), kind, ("masks",))
    key = draw(st.sampled_from(sorted(masks)))
    value = draw(st.sampled_from(["half", "shape", "list", "str"]))
    bad = {"half": masks[key] * 0.5 + 0.25, "shape": masks[key][:, :0] if masks[key].shape[1] > 1 else masks[key].T,
           "list": masks[key].tolist(), "str": masks[key].astype(str)}[value]
    if value == "shape" and bad.shape == masks[key].shape:
        bad = np.ones((masks[key].shape[0] + 1, masks[key].shape[1]))
    return Bad({**masks, key: bad}, f"masks[{key}] {value}", (key,))


class NetCase:
    """A random valid network on both sides: the NumPy Network, its params and state, and a torch
    Network holding the same numbers (built before the call, which may update the NumPy state)."""

    def __init__(self, draw, *, train=None, dropout=True, bn=True, dtypes=DTYPES, hidden=(0, 2)):
        self.dtype = draw(st.sampled_from(dtypes))
        self.dims, output = _dims(draw, hidden=hidden)
        self.kw, th_kw = _net_options(draw, self.dims, output)
        if not dropout:
            self.kw.pop("keep_probs", None), th_kw.pop("keep_probs", None)
        if not bn:
            for k in ("batch_norm", "bn_beta_momentum", "bn_eps"):
                self.kw.pop(k, None), th_kw.pop(k, None)
        self.train = draw(st.booleans()) if train is None else train
        m_min = 2 if self.kw.get("batch_norm") and self.train else 1
        self.m = size(draw, m_min, 6)
        self.net = np_models.Network(self.dims, **self.kw)
        self.params = self.net.init_params(draw(st.sampled_from(["he", "xavier", "small"])),
                                           rng=draw(st.integers(0, 1000)), dtype=self.dtype)
        if self.net.batch_norm:   # running statistics away from their start
            rng = seeded_rng(draw)
            self.net.state = {k: (rng.uniform(0.5, 2.0, v.shape) if "var" in k else rng.standard_normal(v.shape))
                              .astype(self.dtype) for k, v in self.net.state.items()}
        self.X = np_floats(draw, (self.dims[0], self.m), self.dtype, scale=1.0, zeros=False)
        self.Y = np_labels(draw, self.m, self.net.num_classes)
        self.masks = (self.net.draw_masks(self.m, rng=draw(st.integers(0, 1000)), dtype=self.dtype)
                      if self.train and self.net.dropout_layers else None)
        self.model = th_models.Network(self.dims, dtype=TH_DTYPES[self.dtype], **th_kw)
        bridge.params_to_module(self.params, self.model)
        bridge.state_to_module(self.net.state, self.model)
        self.model.train(self.train)
        self.Xt, self.yt = th(self.X).T, labels_row(self.Y)

    def th_masks(self, masks):
        return None if masks is None else bridge.masks_to_torch(masks)

    def spoilers(self, *, Y=True, masks=False, flag=None):
        spoilers = {"params": lambda d: _spoil_net_params(d, self.params),
                    "X": lambda d: spoil_array(d, "X", self.X, fixed=(0,), also=("Y",) if Y else ())}
        if Y:
            spoilers["Y"] = lambda d: spoil_np_labels(d, "Y", self.Y, self.net.num_classes, also=("X",))
        if masks and self.train:
            spoilers["masks"] = lambda d: _spoil_masks(d, self.masks, self.dims)
        if flag:
            spoilers[flag] = lambda d: spoil_flag(d, flag)
        return spoilers

    def torch_cost_and_grads(self):
        cost = self.model.cost(self.Xt, self.yt, self.th_masks(self.masks))
        cost.backward()
        return cost, bridge.grads_from_module(self.model)

    def scale(self, grads):
        return max(1.0, *(np.abs(g).max() for g in grads.values()))


def _np_network_loss(draw, method):
    c = NetCase(draw, train=None if method == "loss" else True)
    valid = {"params": c.params, "X": c.X, "Y": c.Y, "train": c.train}
    if c.masks is not None:
        valid["masks"] = c.masks

    def check(out, kw):
        cost, grads = out if method == "loss" else (out, None)
        assert isinstance(cost, float) and np.isfinite(cost)
        tcost, tgrads = c.torch_cost_and_grads()
        close(cost, tcost, "cost", dtype=c.dtype, scale=max(1.0, abs(cost)))
        if grads is not None:
            assert sorted(grads) == sorted("d" + k for k in c.params), sorted(grads)
            s = c.scale(tgrads)
            for k, g in grads.items():
                same_dtype(g, c.dtype)
                close(g, tgrads[k], k, dtype=c.dtype, scale=s, rtol=3 * tol(c.dtype))
        if c.net.batch_norm and c.train:
            for k, v in bridge.state_from_module(c.model).items():
                close(c.net.state[k], v, k, dtype=c.dtype, scale=max(1.0, np.abs(v).max()))
    return make_case(draw, getattr(c.net, method), valid, c.spoilers(masks=True, flag="train"), check)


fuzz("np.models.Network.loss", 70)(lambda draw: _np_network_loss(draw, "loss"))
fuzz("np.models.Network.cost", 40)(lambda draw: _np_network_loss(draw, "cost"))


@fuzz("np.models.Network.forward", 60)
def _np_network_forward(draw):
    c = NetCase(draw)
    valid = {"params": c.params, "X": c.X, "train": c.train}
    if c.masks is not None:
        valid["masks"] = c.masks

    def check(out, kw):
        AL, caches = out
        assert AL.shape == (c.dims[-1], c.m) and len(caches) == c.net.L
        same_dtype(AL, c.dtype)
        with torch.no_grad():
            expected = c.model(c.Xt, c.th_masks(c.masks)).T
        close(AL, expected, "A_L", dtype=c.dtype, scale=max(1.0, np.abs(AL).max()))
    return make_case(draw, c.net.forward, valid, c.spoilers(Y=False, masks=True, flag="train"), check)


@fuzz("np.models.Network.predict", 50)
def _np_network_predict(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        assert out.shape == (1, c.m) and out.dtype == np.int64
        sure = decided(c.model.scores(c.Xt).T, c.net.output)
        np.testing.assert_array_equal(out[0][sure], c.model.predict(c.Xt).numpy()[sure])
    return make_case(draw, c.net.predict, {"params": c.params, "X": c.X}, c.spoilers(Y=False), check)


@fuzz("np.models.Network.accuracy", 40)
def _np_network_accuracy(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        assert isinstance(out, float) and 0 <= out <= 1
        assert out == float((c.net.predict(c.params, c.X) == c.Y.astype(np.int64)).mean())
    return make_case(draw, c.net.accuracy, {"params": c.params, "X": c.X, "Y": c.Y}, c.spoilers(), check)


@fuzz("np.models.Network.init_params", 30)
def _np_network_init_params(draw):
    c = NetCase(draw, train=False)

    def check(params, kw):
        assert {k: v.shape for k, v in params.items()} == c.net.param_shapes()
        for v in params.values():
            same_dtype(v, kw["dtype"])
    return make_case(draw, c.net.init_params, {"method": "he", "rng": 3, "dtype": c.dtype}, {
        "method": lambda d: spoil_choice(d, "method", np_init.METHODS), "rng": _spoil_rng, "dtype": _spoil_np_dtype},
        check)


@fuzz("np.models.Network.draw_masks", 30)
def _np_network_draw_masks(draw):
    c = NetCase(draw, train=True)

    def check(masks, kw):
        assert sorted(masks) == sorted(f"D{l}" for l in c.net.dropout_layers)
        for key, D in masks.items():
            assert D.shape == (c.dims[int(key[1:])], kw["m"]) and np.isin(D, (0, 1)).all()
            same_dtype(D, kw["dtype"])
    return make_case(draw, c.net.draw_masks, {"m": c.m, "rng": 5, "dtype": c.dtype}, {
        "m": lambda d: spoil_count(d, "m"), "rng": lambda d: _spoil_rng(d, none_ok=True), "dtype": _spoil_np_dtype},
        check)


def _spoil_net_kwarg(draw, name):
    if name == "layer_dims":
        return _spoil_layer_dims(draw)
    if name in ("hidden_activation", "output"):
        return spoil_choice(draw, name, HIDDEN if name != "output" else np_models.OUTPUTS)
    if name in ("leaky_slope", "l2", "l1"):
        return spoil_positive(draw, name, allow_zero=True)
    if name == "bn_eps":
        return spoil_positive(draw, name)
    if name == "bn_beta_momentum":
        return spoil_unit(draw, name, closed_low=True, closed_high=False)
    if name == "keep_probs":
        value = draw(st.sampled_from([0, 1.5, -0.5, NAN, "0.5", True, [0.5, 0.5, 0.5, 0.5], [0.0]]))
        return Bad(value, f"keep_probs={value!r}", ("keep_probs", "keep_probs[0]"))
    if name in ("batch_norm", "bn_unbiased_running_var"):
        return spoil_flag(draw, name)
    if name == "dropout_rng":
        return _spoil_rng(draw, "dropout_rng", none_ok=True)
    raise AssertionError(name)


@fuzz("np.models.Network", 60)
def _np_network(draw):
    dims, output = _dims(draw)
    kw, _ = _net_options(draw, dims, output)
    valid = {"layer_dims": dims, **kw}
    names = ["layer_dims", "hidden_activation", "output", "leaky_slope", "l2", "l1", "bn_eps", "bn_beta_momentum",
             "batch_norm", "bn_unbiased_running_var", "dropout_rng"] + (["keep_probs"] if len(dims) > 2 else [])

    def check(net, kw):
        assert net.L == len(dims) - 1 and net.layer_dims == tuple(dims)
        assert set(net.param_shapes()) == set(net.init_params().keys())
    return make_case(draw, np_models.Network, valid, {n: (lambda d, n=n: _spoil_net_kwarg(d, n)) for n in names},
                     check)


@fuzz("np.models.train_gd", 30)
def _np_train_gd(draw):
    c = NetCase(draw, train=True)
    iterations = size(draw, 1, 3)
    masks = None if c.masks is None else [c.net.draw_masks(c.m, rng=i, dtype=c.dtype) for i in range(iterations)]
    valid = {"network": c.net, "params": c.params, "X": c.X, "Y": c.Y,
             "learning_rate": positive(draw, 1e-3, 0.5), "num_iterations": iterations, "masks": masks}

    def check(out, kw):
        params, costs = out
        assert len(costs) == iterations and all(np.isfinite(costs))
        tcosts = th_models.train_gd(c.model, c.Xt, c.yt, kw["learning_rate"], iterations,
                                    masks=None if masks is None else [bridge.masks_to_torch(mk) for mk in masks])
        close(costs, tcosts, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, costs))), rtol=10 * tol(c.dtype))
        for k, v in bridge.params_from_module(c.model).items():
            close(params[k], v, k, dtype=c.dtype, scale=max(1.0, np.abs(v).max()), rtol=10 * tol(c.dtype))
    spoilers = c.spoilers()
    spoilers.update(learning_rate=lambda d: spoil_positive(d, "learning_rate"),
                    num_iterations=lambda d: spoil_count(d, "num_iterations"), network=spoil_network,
                    masks=lambda d: Bad(d(st.sampled_from([{}, [], "masks", [None] * (iterations + 1)])),
                                        "masks not one per iteration", ("masks",)))
    return make_case(draw, np_models.train_gd, valid, spoilers, check)


# =====================================================================================
# NumPy side: batch norm, dropout, EWA
# =====================================================================================

def _spoil_running(draw, running, n) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "negative var", "keys", "not a dict"]))
    if kind == "negative var":
        return Bad({**running, "var": spoil_negative("running['var']", running["var"]).value}, kind, ("var",))
    if kind == "entry":
        key = draw(st.sampled_from(["mean", "var"]))
        bad = spoil_array(draw, f"running['{key}']", running[key], fixed=(0, 1))
        return Bad({**running, key: bad.value}, f"running[{key}] {bad.kind}", (key, "running"))
    if kind == "keys":
        return Bad({"mean": running["mean"]}, kind, ("running",))
    return Bad([running["mean"], running["var"]], kind, ("running",))


def _bn_case(draw):
    dtype, n = draw(st.sampled_from(DTYPES)), size(draw)
    train = draw(st.booleans())
    m = size(draw, 2 if train else 1, 6)
    Z = np_floats(draw, (n, m), dtype, scale=draw(st.sampled_from([0.01, 1.0, 100.0])), zeros=False)
    gamma, beta = np_floats(draw, (n, 1), dtype, scale=1.0), np_floats(draw, (n, 1), dtype, scale=1.0)
    rng = seeded_rng(draw)
    running = {"mean": rng.standard_normal((n, 1)).astype(dtype), "var": rng.uniform(0.5, 2, (n, 1)).astype(dtype)}
    hp = {"beta_momentum": draw(st.sampled_from([0.0, 0.5, 0.9, np.float64(0.99)])),
          "eps": draw(st.sampled_from([1e-5, 1e-3, 1e-8]))}
    module = th_bn.batch_norm(n, beta_momentum=hp["beta_momentum"], eps=hp["eps"], dtype=TH_DTYPES[dtype])
    with torch.no_grad():
        module.weight.copy_(th(gamma[:, 0])), module.bias.copy_(th(beta[:, 0]))
        module.running_mean.copy_(th(running["mean"][:, 0])), module.running_var.copy_(th(running["var"][:, 0]))
    module.train(train)
    return dtype, n, m, train, Z, gamma, beta, running, hp, module


@fuzz("np.batchnorm.batchnorm_forward", 60)
def _np_bn_forward(draw):
    dtype, n, m, train, Z, gamma, beta, running, hp, module = _bn_case(draw)
    valid = {"Z": Z, "gamma": gamma, "beta": beta, "running": dict(running), "train": train, **hp,
             "unbiased_running_var": True}

    def check(out, kw):
        Zt, cache = out
        assert isinstance(cache, np_bn.BatchNormCache)
        same_dtype(Zt, dtype)
        with torch.no_grad():
            expected = th_bn.apply(module, th(Z).T).T
        close(Zt, expected, "Z_tilde", dtype=dtype, scale=max(1.0, np.abs(Zt).max()), rtol=3 * tol(dtype))
        close(kw["running"]["mean"][:, 0], module.running_mean, "running_mean", dtype=dtype, scale=max(1, np.abs(Z).max()))
        close(kw["running"]["var"][:, 0], module.running_var, "running_var", dtype=dtype,
              scale=max(1, np.abs(Z).max() ** 2))
    return make_case(draw, np_bn.batchnorm_forward, valid, {
        "Z": lambda d: spoil_array(d, "Z", Z, pinned=False, also=("gamma", "beta", "running")),
        "gamma": lambda d: spoil_array(d, "gamma", gamma, fixed=(0, 1)),
        "beta": lambda d: spoil_array(d, "beta", beta, fixed=(0, 1)),
        "running": lambda d: _spoil_running(d, running, n),
        "train": lambda d: spoil_flag(d, "train"),
        "unbiased_running_var": lambda d: spoil_flag(d, "unbiased_running_var"),
        "beta_momentum": lambda d: spoil_unit(d, "beta_momentum", closed_low=True, closed_high=False),
        "eps": lambda d: spoil_positive(d, "eps")}, check)


@fuzz("np.batchnorm.batchnorm_backward", 50)
def _np_bn_backward(draw):
    dtype, n, m, train, Z, gamma, beta, running, hp, module = _bn_case(draw)
    _, cache = np_bn.batchnorm_forward(Z, gamma, beta, dict(running), train=train, **hp)
    dout = np_floats(draw, (n, m), dtype, scale=1.0)

    def check(out, kw):
        dZ, dgamma, dbeta = out
        Zt = th(Z).T.requires_grad_()
        outt = th_bn.apply(module, Zt)
        gZ, gg, gb = torch.autograd.grad(outt, (Zt, module.weight, module.bias), th(dout).T)
        s = max(1.0, np.abs(dZ).max(), np.abs(dgamma).max() * m)
        close(dZ, gZ.T, "dZ", dtype=dtype, scale=s, rtol=10 * tol(dtype))
        close(dgamma, gg[:, None] / m, "dgamma", dtype=dtype, scale=s, rtol=10 * tol(dtype))
        close(dbeta, gb[:, None] / m, "dbeta", dtype=dtype, scale=s, rtol=10 * tol(dtype))
    return make_case(draw, np_bn.batchnorm_backward, {"dout": dout, "cache": cache}, {
        "dout": lambda d: spoil_array(d, "dout", dout, fixed=(0, 1)),
        "cache": lambda d: spoil_cache(d, "cache", cache)}, check)


@fuzz("np.batchnorm.init_running", 25)
def _np_init_running(draw):
    def check(out, kw):
        assert set(out) == {"mean", "var"} and out["mean"].shape == (kw["n"], 1)
        assert not out["mean"].any() and (out["var"] == 1).all()
        same_dtype(out["var"], kw["dtype"])
    return make_case(draw, np_bn.init_running, {"n": size(draw), "dtype": draw(st.sampled_from(DTYPES))},
                     {"n": lambda d: spoil_count(d, "n"), "dtype": _spoil_np_dtype}, check)


def _spoil_keep_prob(draw, name="keep_prob"):
    return spoil_unit(draw, name, closed_low=False, closed_high=True)


@fuzz("np.dropout.draw_mask", 30)
def _np_draw_mask(draw):
    shape = (size(draw), size(draw))

    def check(D, kw):
        assert D.shape == shape and np.isin(D, (0, 1)).all()
        same_dtype(D, kw["dtype"])
    return make_case(draw, np_drop.draw_mask, {"shape": shape, "keep_prob": draw(st.sampled_from([0.3, 1.0, 0.99])),
                                               "rng": 1, "dtype": draw(st.sampled_from(DTYPES))},
                     {"keep_prob": _spoil_keep_prob, "rng": lambda d: _spoil_rng(d, none_ok=True),
                      "shape": _spoil_shape, "dtype": _spoil_mask_dtype},
                     check)


def _spoil_mask_dtype(draw, name="dtype") -> Bad:
    """A mask's dtype may also be bool or given as a NumPy dtype ("f8", np.float64): these are not."""
    value = draw(st.sampled_from(["float16", "int64", "complex128", None, "", "nope", 3]))
    return Bad(value, f"dtype={value!r}", (name,))


def _spoil_shape(draw, name="shape") -> Bad:
    return Bad(draw(st.sampled_from([(0, 2), (-1, 2), "ab", None, (2.5, 1), (), (2, 2 ** 70)])), "shape",
               (name, f"{name}[0]", f"{name}[1]"))


@fuzz("np.dropout.dropout_forward", 60)
def _np_dropout_forward(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), (size(draw), size(draw))
    A = np_floats(draw, shape, dtype)
    keep_prob, train = draw(st.sampled_from([0.5, 0.8, 1.0])), draw(st.booleans())
    mask = np_drop.draw_mask(shape, 0.5, rng=draw(st.integers(0, 99)), dtype=draw(st.sampled_from(["bool", dtype])))
    valid = {"A": A, "keep_prob": keep_prob, "mask": mask, "train": train}

    def check(out, kw):
        outA, cache = out
        same_dtype(outA, dtype)
        expected = A * mask.astype(dtype) / dtype_np(dtype)(keep_prob) if train and keep_prob < 1 else A
        close(outA, expected, "out", dtype=dtype)
    return make_case(draw, np_drop.dropout_forward, valid, {
        "A": lambda d: spoil_array(d, "A", A, pinned=False, also=("mask",)),
        "keep_prob": _spoil_keep_prob,
        "train": lambda d: spoil_flag(d, "train"),
        "mask": lambda d: _spoil_mask(d, mask, must_fail=train and keep_prob < 1)}, check)


def dtype_np(dtype):
    return np.dtype(dtype).type


def _spoil_mask(draw, mask, *, must_fail=True, name="mask") -> Bad:
    kind = draw(st.sampled_from(["halves", "shape", "list", "str", "NaN"]))
    bad = {"halves": mask * 0.5, "shape": np.ones((mask.shape[0] + 1, mask.shape[1])), "list": mask.tolist(),
           "str": mask.astype(str), "NaN": np.full(mask.shape, np.nan)}[kind]
    return Bad(bad, f"mask {kind}", (name,), must_fail=must_fail)


@fuzz("np.dropout.dropout_backward", 40)
def _np_dropout_backward(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), (size(draw), size(draw))
    keep_prob = draw(st.sampled_from([0.5, 1.0]))
    _, cache = np_drop.dropout_forward(np.ones(shape, dtype), keep_prob, rng=draw(st.integers(0, 99)))
    dout = np_floats(draw, shape, dtype)

    def check(dA, kw):
        expected = dout if cache.mask is None else dout * cache.mask / keep_prob
        close(dA, expected, "dA", dtype=dtype)
    return make_case(draw, np_drop.dropout_backward, {"dout": dout, "cache": cache}, {
        "dout": lambda d: spoil_array(d, "dout", dout, fixed=(0, 1) if keep_prob < 1 else (),
                                      pinned=keep_prob < 1),
        "cache": lambda d: spoil_cache(d, "cache", cache)}, check)


@fuzz("np.ewa.EWA.update", 50)
def _np_ewa_update(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), tuple(size(draw) for _ in range(draw(st.integers(0, 3))))
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())
    average = np_ewa.EWA(beta, bias_correction=corrected)
    thetas = [np_floats(draw, shape, dtype, layouts=("C",)) for _ in range(size(draw, 1, 3))]
    for theta in thetas[:-1]:
        average.update(theta)
    first = len(thetas) == 1

    def check(out, kw):
        expected = th_ewa.ewa(th(np.stack(thetas)), beta, bias_correction=corrected)[-1]
        close(out, expected, "average", dtype=dtype)
        same_dtype(out, dtype)
    if first:   # any shape goes; the dtype and the values are checked
        def spoil(d):
            return spoil_array(d, "theta", thetas[-1], pinned=False, ndim=len(shape),
                               exclude=("rank-down", "rank-up", "empty", "scalar"))
    else:       # the shape and dtype of the first theta are pinned
        def spoil(d):
            return spoil_array(d, "theta", thetas[-1], fixed=tuple(range(len(shape))), ndim=len(shape),
                               exclude=("scalar",) if not shape else ())
    return make_case(draw, average.update, {"theta": thetas[-1]}, {"theta": spoil}, check)


@fuzz("np.ewa.EWA", 25)
def _np_ewa_ctor(draw):
    return make_case(draw, np_ewa.EWA, {"beta": draw(st.sampled_from([0.0, 0.9, np.float64(0.5)])),
                                        "bias_correction": draw(st.booleans())}, {
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False),
        "bias_correction": lambda d: spoil_flag(d, "bias_correction")},
        lambda out, kw: None)


@fuzz("np.ewa.ewa", 40)
def _np_ewa(draw):
    dtype = draw(st.sampled_from(DTYPES))
    thetas = np_floats(draw, (size(draw, 1, 6), *[size(draw) for _ in range(draw(st.integers(0, 2)))]), dtype)
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())

    def check(out, kw):
        close(out, th_ewa.ewa(th(thetas), beta, bias_correction=corrected), "averages", dtype=dtype)
        same_dtype(out, dtype)
    return make_case(draw, np_ewa.ewa, {"thetas": thetas, "beta": beta, "bias_correction": corrected}, {
        "thetas": lambda d: spoil_array(d, "thetas", thetas, pinned=False, ndim=thetas.ndim,
                                        exclude=("rank-down", "rank-up")),
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False),
        "bias_correction": lambda d: spoil_flag(d, "bias_correction")}, check)


@fuzz("np.ewa.direct_weights", 30)
def _np_direct_weights(draw):
    t, beta, corrected = size(draw, 1, 30), draw(st.sampled_from([0.0, 0.5, 0.9, 0.999])), draw(st.booleans())

    def check(w, kw):
        assert w.shape == (t,) and w.dtype == np.float64 and np.isfinite(w).all()
        if corrected:
            assert abs(w.sum() - 1) < 1e-9
    return make_case(draw, np_ewa.direct_weights, {"t": t, "beta": beta, "bias_correction": corrected}, {
        "t": lambda d: spoil_count(d, "t"),
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False)}, check)


@fuzz("np.ewa.effective_window", 20)
def _np_effective_window(draw):
    beta = draw(st.sampled_from([0.0, 0.5, 0.9, 0.98]))
    return make_case(draw, np_ewa.effective_window, {"beta": beta},
                     {"beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False)},
                     lambda out, kw: abs(out - 1 / (1 - beta)) < 1e-12 or pytest.fail(str(out)))


# =====================================================================================
# NumPy side: mini-batches, optimisers, schedules, the training loop
# =====================================================================================

def _spoil_permutation(draw, permutation, name="permutation", *, short=True) -> Bad:
    kind = draw(st.sampled_from(["repeat", "float", "2-D", "list", "out of range"] + (["short"] if short else [])))
    p = permutation
    bad = {"repeat": np.zeros_like(p) if len(p) > 1 else np.array([1]), "float": p.astype(float), "2-D": p[None],
           "list": p.tolist(), "short": p[:-1] if len(p) > 1 else np.array([], dtype=np.int64),
           "out of range": p + 1}[kind]
    return Bad(bad, f"permutation {kind}", (name,))


@fuzz("np.minibatch.course_permutation", 25)
def _np_course_permutation(draw):
    m = size(draw, 1, 20)

    def check(p, kw):
        assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(m))
    return make_case(draw, np_mb.course_permutation, {"m": m, "seed": draw(st.integers(0, 99))}, {
        "m": lambda d: spoil_count(d, "m"),
        "seed": lambda d: Bad(d(st.sampled_from([-1, 2 ** 32, 1.5, "a", None, True, np.random.default_rng(0)])),
                              "seed", ("seed",))}, check)


@fuzz("np.minibatch.draw_permutations", 25)
def _np_draw_permutations(draw):
    m, epochs = size(draw, 1, 20), size(draw, 1, 3)

    def check(ps, kw):
        assert len(ps) == epochs and all(sorted(p.tolist()) == list(range(m)) for p in ps)
    return make_case(draw, np_mb.draw_permutations, {"m": m, "epochs": epochs, "seed": draw(st.integers(0, 99))},
                     {"m": lambda d: spoil_count(d, "m"), "epochs": lambda d: spoil_count(d, "epochs"),
                      "seed": lambda d: _spoil_rng(d, "seed")}, check)


@fuzz("np.minibatch.partition", 40)
def _np_partition(draw):
    m, batch_size = size(draw, 1, 20), size(draw, 1, 8)
    permutation = np.random.default_rng(draw(st.integers(0, 99))).permutation(m)

    def check(batches, kw):
        assert np.array_equal(np.concatenate(batches), permutation)
        assert all(len(b) == batch_size for b in batches[:-1]) and 0 < len(batches[-1]) <= batch_size
    return make_case(draw, np_mb.partition, {"permutation": permutation, "batch_size": batch_size}, {
        "permutation": lambda d: _spoil_permutation(d, permutation, short=False),   # partition has no m
        "batch_size": lambda d: spoil_count(d, "batch_size")}, check)


@fuzz("np.minibatch.iterations_per_epoch", 25)
def _np_iterations_per_epoch(draw):
    m, batch_size = size(draw, 1, 50), size(draw, 1, 60)
    return make_case(draw, np_mb.iterations_per_epoch, {"m": m, "batch_size": batch_size}, {
        "m": lambda d: spoil_count(d, "m"), "batch_size": lambda d: spoil_count(d, "batch_size")},
        lambda out, kw: out == max(m // batch_size, 1) or pytest.fail(str(out)))


@fuzz("np.minibatch.sample_with_replacement", 30)
def _np_sample_with_replacement(draw):
    m, batch_size, iterations = size(draw, 1, 20), size(draw, 1, 8), size(draw, 1, 3)

    def check(batches, kw):
        assert len(batches) == iterations and all(b.shape == (batch_size,) and b.min() >= 0 and b.max() < m
                                                  for b in batches)
    return make_case(draw, np_mb.sample_with_replacement, {"m": m, "batch_size": batch_size, "iterations": iterations,
                                                           "rng": draw(st.sampled_from([0, 5]))}, {
        "m": lambda d: spoil_count(d, "m"), "batch_size": lambda d: spoil_count(d, "batch_size"),
        "iterations": lambda d: spoil_count(d, "iterations"), "rng": lambda d: _spoil_rng(d, none_ok=True)}, check)


def _columns_case(draw):
    n_x, m = size(draw), size(draw, 1, 12)
    dtype = draw(st.sampled_from(DTYPES))
    return np_floats(draw, (n_x, m), dtype), np_labels(draw, m, 3), m


@fuzz("np.minibatch.mini_batches", 40)
def _np_mini_batches(draw):
    X, Y, m = _columns_case(draw)
    batch_size = size(draw, 1, 6)
    permutation = np.random.default_rng(draw(st.integers(0, 99))).permutation(m)

    def check(batches, kw):
        assert np.array_equal(np.concatenate([b[0] for b in batches], axis=1), X[:, permutation])
        assert np.array_equal(np.concatenate([b[1] for b in batches], axis=1), Y[:, permutation])
    return make_case(draw, np_mb.mini_batches, {"X": X, "Y": Y, "batch_size": batch_size, "permutation": permutation}, {
        "X": lambda d: spoil_array(d, "X", X, kinds=["rank-down", "rank-up", "list", "None"], also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 3, also=("X",), exclude=(
            "label C", "label 2**40", "label -1", "fractional", "NaN", "inf", "1e20", "-1e300", "uint64 2**63",
            "bool", "str", "object", "complex")),  # a selector: any label values are carried along
        "batch_size": lambda d: spoil_count(d, "batch_size"),
        "permutation": lambda d: _spoil_permutation(d, permutation)}, check)


@fuzz("np.minibatch.select", 30)
def _np_select(draw):
    X, Y, m = _columns_case(draw)
    batches = [np.random.default_rng(i).integers(0, m, size(draw, 1, 4)) for i in range(size(draw, 1, 3))]

    def check(out, kw):
        for (Xb, Yb), idx in zip(out, batches):
            assert np.array_equal(Xb, X[:, idx]) and np.array_equal(Yb, Y[:, idx])
    return make_case(draw, np_mb.select, {"X": X, "Y": Y, "index_batches": batches}, {
        "X": lambda d: spoil_array(d, "X", X, kinds=["rank-down", "rank-up", "list", "None"], also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 3, also=("X",), exclude=(
            "label C", "label 2**40", "label -1", "fractional", "NaN", "inf", "1e20", "-1e300", "uint64 2**63",
            "bool", "str", "object", "complex")),
        "index_batches": lambda d: Bad(d(st.sampled_from([[np.array([m])], [np.array([-1])], [np.array([0.5])], [[]],
                                                          None, [[0, [1, 2]]], np.array([[0]]), [[True]]])),
                                       "index_batches", ("index_batches", "index_batches[0]"))}, check)


@fuzz("np.minibatch.epoch_index_batches", 40)
def _np_epoch_index_batches(draw):
    m, epochs, batch_size = size(draw, 1, 12), size(draw, 1, 3), size(draw, 1, 5)
    sampling = draw(st.sampled_from(np_mb.SAMPLING))
    valid = {"m": m, "epochs": epochs, "batch_size": batch_size, "sampling": sampling}
    if sampling == "shuffle" and draw(st.booleans()):
        valid["permutations"] = np_mb.draw_permutations(m, epochs, 3)
    else:
        valid["seed"] = draw(st.integers(0, 99))

    def check(out, kw):
        assert len(out) == epochs
        for batches in out:
            idx = np.concatenate(batches)
            assert idx.min() >= 0 and idx.max() < m
            if sampling == "shuffle":
                assert sorted(idx.tolist()) == list(range(m))
    spoilers = {"m": lambda d: spoil_count(d, "m"), "epochs": lambda d: spoil_count(d, "epochs"),
                "batch_size": lambda d: spoil_count(d, "batch_size"),
                "sampling": lambda d: spoil_choice(d, "sampling", np_mb.SAMPLING)}
    if "seed" in valid:
        spoilers["seed"] = lambda d: _spoil_rng(d, "seed")
    if "permutations" in valid:
        spoilers["permutations"] = lambda d: Bad([np.zeros(m, np.int64) + (m > 1)] * epochs if m > 1 else [[0]] * 0,
                                                 "permutations not permutations", ("permutations", "permutations[0]"))
    return make_case(draw, np_mb.epoch_index_batches, valid, spoilers, check)


OPTIMIZER_HP = {"gd": {}, "momentum": {"beta": (0.0, 0.9)}, "cs231n_momentum": {"mu": (0.0, 0.9)},
                "rmsprop": {"beta": (0.5, 0.99), "eps": (1e-8, 1e-3)},
                "adam": {"beta1": (0.5, 0.9), "beta2": (0.9, 0.999), "eps": (1e-8, 1e-3)}}


def _grads_like(draw, params, dtype):
    return {"d" + k: np_floats(draw, v.shape, dtype, scale=1.0, layouts=("C", "F")) for k, v in params.items()}


def _spoil_grads(draw, grads, *, squared: bool = False) -> Bad:
    """Bad gradients; with ``squared`` (RMSprop, Adam) also finite ones too large to square."""
    kind = draw(st.sampled_from(["entry", "entry", "missing", "not a dict"] + ["extreme"] * squared))
    if kind == "extreme":
        key = draw(st.sampled_from(sorted(grads)))
        return Bad({**grads, key: spoil_extreme(key, grads[key]).value}, f"grads[{key}] +-max/4", (key,))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(grads)))
        bad = spoil_array(draw, key, grads[key], fixed=(0, 1))
        return Bad({**grads, key: bad.value}, f"grads[{key}] {bad.kind}", (key,))
    if kind == "missing":
        key = draw(st.sampled_from(sorted(grads)))
        return Bad({k: v for k, v in grads.items() if k != key}, "grads without " + key, (key, "grads"))
    return Bad(list(grads.values()), kind, ("grads",))


def _optimizer_case(draw):
    """A NumPy optimiser and the torch one on a Network holding the same parameters."""
    dtype = draw(st.sampled_from(DTYPES))
    name = draw(st.sampled_from(sorted(OPTIMIZER_HP)))
    dims = _layer_dims(draw, 2, 3)
    net = np_models.Network(dims, "relu", "sigmoid" if dims[-1] == 1 else "softmax")
    params = net.init_params("he", rng=draw(st.integers(0, 99)), dtype=dtype)
    hp = {k: draw(st.floats(*bounds)) for k, bounds in OPTIMIZER_HP[name].items()}
    if name == "cs231n_momentum":
        hp["nesterov"] = draw(st.booleans())
    hp["lr"] = positive(draw, 1e-3, 0.5)
    if draw(st.booleans()):
        hp["l2_lambda"], hp["m"] = positive(draw, 0.0, 1.0, zero=True), size(draw, 1, 50)
    model = th_models.Network(dims, "relu", net.output, dtype=TH_DTYPES[dtype])
    bridge.params_to_module(params, model)
    return dtype, name, params, hp, model


@fuzz("np.optim.make_optimizer", 50)
def _np_make_optimizer(draw):
    dtype, name, params, hp, model = _optimizer_case(draw)
    valid = {"name": name, "params": params, **hp}

    def check(opt, kw):
        assert isinstance(opt, np_optim.OPTIMIZERS[name]) and opt.t == 0
    spoilers = {"name": lambda d: spoil_choice(d, "name", np_optim.OPTIMIZERS),
                "params": lambda d: _spoil_opt_params(d, params),
                "lr": lambda d: spoil_positive(d, "lr")}
    for k in OPTIMIZER_HP[name]:
        spoilers[k] = (lambda d, k=k: spoil_positive(d, k)) if k == "eps" else \
            (lambda d, k=k: spoil_unit(d, k, closed_low=True, closed_high=False))
    if "l2_lambda" in hp:
        spoilers["l2_lambda"] = lambda d: spoil_positive(d, "l2_lambda", allow_zero=True)
        spoilers["m"] = lambda d: Bad(d(st.sampled_from([0, -1, 2.5, "4"])), "m", ("m",))
    if name == "cs231n_momentum":
        spoilers["nesterov"] = lambda d: spoil_flag(d, "nesterov")
    return make_case(draw, lambda name, params, **kw: np_optim.make_optimizer(name, params, **kw), valid, spoilers,
                     check)


def _spoil_opt_params(draw, params) -> Bad:
    kind = draw(st.sampled_from(["entry", "empty", "not a dict"]))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(params)))
        bad = spoil_array(draw, key, params[key], pinned=False, exclude=("rank-down", "rank-up"))
        return Bad({**params, key: bad.value}, f"params[{key}] {bad.kind}", (key,))
    return Bad({} if kind == "empty" else list(params.values()), f"params {kind}", ("params",))


@fuzz("np.optim.Optimizer.step", 60)
def _np_optimizer_step(draw):
    dtype, name, params, hp, model = _optimizer_case(draw)
    opt = np_optim.make_optimizer(name, params, **hp)
    topt = th_optim.make_optimizer(name, model, **hp)
    steps = [_grads_like(draw, params, dtype) for _ in range(size(draw, 1, 3))]
    for grads in steps[:-1]:
        opt.step(params, grads)
    valid = {"params": params, "grads": steps[-1]}

    def check(out, kw):
        assert out is None and opt.t == len(steps)
        tparams = dict(bridge.course_parameters(model))
        for grads in steps:
            for k, p in tparams.items():
                p.grad = th(grads["d" + k]).reshape(p.shape).to(p.dtype)
            topt.step()
        for k, v in bridge.params_from_module(model).items():
            close(params[k], v, k, dtype=dtype, scale=max(1.0, np.abs(v).max()), rtol=10 * tol(dtype))
            same_dtype(params[k], dtype)
    return make_case(draw, opt.step, valid, {
        "params": lambda d: _spoil_step_params(d, params),
        "grads": lambda d: _spoil_grads(d, steps[-1], squared=opt.squares_gradients)}, check)


def _spoil_step_params(draw, params) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "missing", "not a dict"]))
    if kind == "entry":
        key = draw(st.sampled_from(sorted(params)))
        bad = spoil_array(draw, key, params[key], fixed=(0, 1))
        return Bad({**params, key: bad.value}, f"params[{key}] {bad.kind}", (key,))
    if kind == "missing":
        return Bad({k: v for k, v in list(params.items())[1:]}, "params missing one", ("params",))
    return Bad(list(params.values()), kind, ("params",))


SCHEDULE_HP = {"constant": {}, "inverse_time": {"decay_rate": (0.0, 5.0)}, "exponential": {"base": (0.5, 1.0)},
               "inverse_sqrt_epoch": {"k": (0.1, 3.0)}, "inverse_sqrt_step": {"k": (0.1, 3.0)},
               "staircase": {"decay_rate": (0.0, 5.0), "time_interval": None}}


def _schedule_hp(draw, name):
    hp = {}
    for k, bounds in SCHEDULE_HP[name].items():
        if draw(st.booleans()):
            hp[k] = size(draw, 1, 10) if bounds is None else draw(st.floats(*bounds, exclude_min=k in ("base", "k")))
    return hp


def _spoil_schedule_hp(draw, name, k) -> Bad:
    if k == "time_interval":
        return spoil_count(draw, k)
    if k == "base":
        return spoil_positive(draw, k, upper=1)
    return spoil_positive(draw, k, allow_zero=k == "decay_rate")


@fuzz("np.schedules.make_schedule", 50)
def _np_make_schedule(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    hp = _schedule_hp(draw, name)

    def check(schedule, kw):
        rates = schedule.rates(0.1, 12)
        assert len(rates) == 12 and all(np.isfinite(rates)) and all(r >= 0 for r in rates)
        assert rates == th_sched.learning_rates(name, 0.1, 12, **hp)
    spoilers = {"name": lambda d: Bad(d(st.sampled_from(["nope", "Constant", None, 3])), "schedule", ("schedule",))}
    for k in SCHEDULE_HP[name]:
        spoilers[k] = lambda d, k=k: _spoil_schedule_hp(d, name, k)
    spoilers["unknown"] = lambda d: Bad(1.0, "unknown hyperparameter", ("unknown",))
    return make_case(draw, np_sched.make_schedule, {"name": name, **hp}, spoilers, check)


@fuzz("np.schedules.Schedule.lr", 40)
def _np_schedule_lr(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    schedule = np_sched.make_schedule(name, **_schedule_hp(draw, name))
    alpha0, count = positive(draw, 1e-4, 1.0), draw(st.integers(0, 10 ** 6))

    def check(lr, kw):
        assert isinstance(lr, float) and np.isfinite(lr) and 0 <= lr
    return make_case(draw, schedule.lr, {"alpha0": alpha0, "count": count}, {
        "alpha0": lambda d: spoil_positive(d, "alpha0"), "count": lambda d: spoil_count(d, "count", minimum=0)}, check)


@fuzz("np.schedules.update_lr", 25)
def _np_update_lr(draw):
    valid = {"learning_rate0": positive(draw, 1e-3, 1.0), "epoch_num": draw(st.integers(0, 1000)),
             "decay_rate": positive(draw, 0.0, 3.0, zero=True)}

    def check(lr, kw):
        assert abs(lr - kw["learning_rate0"] / (1 + kw["decay_rate"] * kw["epoch_num"])) <= 1e-12 * kw["learning_rate0"]
    return make_case(draw, np_sched.update_lr, valid, {
        "learning_rate0": lambda d: spoil_positive(d, "learning_rate0"),
        "epoch_num": lambda d: spoil_count(d, "epoch_num", minimum=0),
        "decay_rate": lambda d: spoil_positive(d, "decay_rate", allow_zero=True)}, check)


@fuzz("np.schedules.schedule_lr_decay", 25)
def _np_schedule_lr_decay(draw):
    valid = {"learning_rate0": positive(draw, 1e-3, 1.0), "epoch_num": draw(st.integers(0, 5000)),
             "decay_rate": positive(draw, 0.0, 3.0, zero=True), "time_interval": size(draw, 1, 1000)}

    def check(lr, kw):
        expected = kw["learning_rate0"] / (1 + kw["decay_rate"] * (kw["epoch_num"] // kw["time_interval"]))
        assert abs(lr - expected) <= 1e-12 * kw["learning_rate0"]
    return make_case(draw, np_sched.schedule_lr_decay, valid, {
        "learning_rate0": lambda d: spoil_positive(d, "learning_rate0"),
        "epoch_num": lambda d: spoil_count(d, "epoch_num", minimum=0),
        "decay_rate": lambda d: spoil_positive(d, "decay_rate", allow_zero=True),
        "time_interval": lambda d: spoil_count(d, "time_interval")}, check)


@fuzz("np.schedules.course_loop_rates", 25)
def _np_course_loop_rates(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    schedule = np_sched.make_schedule(name, **_schedule_hp(draw, name))
    valid = {"schedule": schedule, "alpha0": positive(draw, 1e-3, 1.0), "epochs": size(draw, 1, 10)}

    def check(rates, kw):
        assert len(rates) == kw["epochs"] and (rates[0] is kw["alpha0"] or rates[0] == kw["alpha0"])
    return make_case(draw, np_sched.course_loop_rates, valid, {
        "alpha0": lambda d: spoil_positive(d, "alpha0"), "epochs": lambda d: spoil_count(d, "epochs"),
        "schedule": lambda d: Bad(d(st.sampled_from([name, {"name": name}, None, 3])), "schedule", ("schedule",))},
        check)


@fuzz("np.schedules.as_schedule", 25)
def _np_as_schedule(draw):
    name = draw(st.sampled_from(np_sched.NAMES))
    value = draw(st.sampled_from([None, name, {"name": name}, np_sched.make_schedule(name)]))

    def check(out, kw):
        assert out is None if value is None else out.name == name
    return make_case(draw, np_sched.as_schedule, {"schedule": value}, {
        "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3, {"k": 1}, ["constant"], {"name": "nope"}])),
                                  "schedule", ("schedule",))}, check)



def _bn_safe_batch_size(draw, m, bn):
    """A batch size whose batches all hold >= 2 examples when batch norm trains on them."""
    options = [b for b in range(1, m + 1) if not bn or (b >= 2 and m % b != 1)] or [m]
    return draw(st.sampled_from(options))


@fuzz("np.training.train", 30)
def _np_train(draw):
    c = NetCase(draw, train=True, dropout=False)
    if c.kw.get("batch_norm") and c.m < 2:
        c = NetCase(draw, train=True, dropout=False, bn=False)
    name = draw(st.sampled_from(sorted(OPTIMIZER_HP)))
    hp = {k: draw(st.floats(*bounds)) for k, bounds in OPTIMIZER_HP[name].items()}
    hp["lr"] = positive(draw, 1e-3, 0.3)
    optimizer = np_optim.make_optimizer(name, c.params, **hp)
    toptimizer = th_optim.make_optimizer(name, c.model, **hp)
    sampling = draw(st.sampled_from(["shuffle", "replacement"])) if not c.net.batch_norm else "shuffle"
    epochs = size(draw, 1, 2)
    valid = {"network": c.net, "params": c.params, "X": c.X, "Y": c.Y, "optimizer": optimizer, "epochs": epochs,
             "batch_size": _bn_safe_batch_size(draw, c.m, c.net.batch_norm), "sampling": sampling,
             "schedule": draw(st.sampled_from([None, "inverse_time", {"name": "exponential", "base": 0.9},
                                               "inverse_sqrt_step"]))}
    if name == "cs231n_momentum":   # a changing rate rescales cs231n's velocity, not torch's buffer (CONVENTIONS.md)
        valid["schedule"] = None
    if sampling == "shuffle" and draw(st.booleans()):
        valid["permutations"] = np_mb.draw_permutations(c.m, epochs, 1)
    else:
        valid["seed"] = draw(st.integers(0, 99))
    if draw(st.booleans()):
        valid["X_dev"], valid["Y_dev"] = c.X[:, ::-1].copy(), c.Y[:, ::-1].copy()

    def check(history, kw):
        assert isinstance(history, np_train.History) and history.epochs_run == epochs
        finite(history.costs, history.epoch_costs)
        th_hist = th_train.train(c.model, c.Xt, c.yt, toptimizer, epochs=epochs, batch_size=kw["batch_size"],
                                 permutations=kw.get("permutations"), seed=kw.get("seed"), sampling=sampling,
                                 schedule=kw["schedule"], X_dev=None if "X_dev" not in kw else th(kw["X_dev"]).T,
                                 y_dev=None if "Y_dev" not in kw else labels_row(kw["Y_dev"]))
        r = 30 * tol(c.dtype)
        close(history.costs, th_hist.costs, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, history.costs))), rtol=r)
        close(history.learning_rates, th_hist.learning_rates, "learning rates", dtype=c.dtype)
        for k, v in bridge.params_from_module(c.model).items():
            close(kw["params"][k], v, k, dtype=c.dtype, scale=max(1.0, np.abs(v).max()), rtol=r)
    spoilers = {"X": lambda d: spoil_array(d, "X", c.X, fixed=(0,), also=("Y",)),
                "Y": lambda d: spoil_np_labels(d, "Y", c.Y, c.net.num_classes, also=("X",)),
                "epochs": lambda d: spoil_count(d, "epochs"), "batch_size": lambda d: spoil_count(d, "batch_size"),
                "sampling": lambda d: spoil_choice(d, "sampling", np_mb.SAMPLING),
                "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3, {"name": "constant", "k": 1}])), "schedule",
                                          ("schedule", "k")),
                "optimizer": lambda d: Bad(d(st.sampled_from([None, "adam", toptimizer])), "optimizer",
                                           ("optimizer",)),
                "callback": lambda d: Bad("print", "callback not callable", ("callback",)),
                "early_stopping": lambda d: Bad(3, "early_stopping not callable", ("early_stopping",)),
                "network": spoil_network}
    if "X_dev" in valid:
        spoilers["X_dev"] = lambda d: spoil_array(d, "X_dev", valid["X_dev"], fixed=(0,), also=("Y_dev",))
        spoilers["Y_dev"] = lambda d: spoil_np_labels(d, "Y_dev", valid["Y_dev"], c.net.num_classes, also=("X_dev",))
    if "seed" in valid:
        spoilers["seed"] = lambda d: _spoil_rng(d, "seed")
    return make_case(draw, np_train.train, valid, spoilers, check)


# =====================================================================================
# NumPy side: normalisation, splits, augmentation, early stopping, signals, diagnosis, gradcheck
# =====================================================================================

def _norm_data(draw):
    dtype, n_x = draw(st.sampled_from(DTYPES)), size(draw)
    X = np_floats(draw, (n_x, size(draw, 1, 6)), dtype)
    if draw(st.booleans()):   # a constant feature
        X = np.array(X, copy=True)
        X[0] = draw(st.sampled_from([0.0, 3.5]))
    return dtype, n_x, X


@fuzz("np.normalization.fit", 40)
def _np_norm_fit(draw):
    dtype, n_x, X = _norm_data(draw)

    def check(out, kw):
        mu, sigma2 = out
        X = kw["X_train"]   # the valid one, or extreme values of a single example
        tmu, tsigma2 = th_norm.fit(th(X).T)
        close(mu[:, 0], tmu, "mu", dtype=dtype, scale=max(1e-300, np.abs(X).max()))
        close(sigma2[:, 0], tsigma2, "sigma2", dtype=dtype, scale=max(1e-300, min(float(np.abs(X).max()), 1e150) ** 2))
        assert (sigma2 >= 0).all()
    return make_case(draw, np_norm.fit, {"X_train": X}, {
        "X_train": lambda d: spoil_extreme("X_train", X, must_fail=X.shape[1] > 1) if d(st.integers(0, 4)) == 0
        else spoil_array(d, "X_train", X, pinned=False)}, check)


@fuzz("np.normalization.apply", 40)
def _np_norm_apply(draw):
    dtype, n_x, X = _norm_data(draw)
    mu, sigma2 = np_norm.fit(X)
    eps = positive(draw, 0.0, 1e-3, zero=True)

    def check(out, kw):
        same_dtype(out, dtype)
        expected = th_norm.apply(th(X).T, th(mu[:, 0]), th(sigma2[:, 0]), eps).T
        close(out, expected, "X_norm", dtype=dtype, scale=max(1.0, np.abs(expected.numpy()).max()))
    bad_sigma2 = np.array(sigma2, copy=True)
    bad_sigma2[0, 0] = -1
    return make_case(draw, np_norm.apply, {"X": X, "mu": mu, "sigma2": sigma2, "eps": eps}, {
        "X": lambda d: spoil_array(d, "X", X, pinned=False, also=("mu", "sigma2")),
        "mu": lambda d: spoil_array(d, "mu", mu, fixed=(0, 1)),
        "sigma2": lambda d: Bad(bad_sigma2, "negative variance", ("sigma2",)) if d(st.booleans())
        else spoil_array(d, "sigma2", sigma2, fixed=(0, 1)),
        "eps": lambda d: spoil_positive(d, "eps", allow_zero=True)}, check)


@fuzz("np.normalization.normalize_sets", 30)
def _np_normalize_sets(draw):
    dtype, n_x, X = _norm_data(draw)
    other = np_floats(draw, (n_x, size(draw)), dtype)

    def check(out, kw):
        (Xn, On), (mu, sigma2) = out
        tout, _ = th_norm.normalize_sets(th(X).T, th(other).T)
        close(On, tout[1].T, "dev", dtype=dtype, scale=max(1.0, np.abs(tout[1].numpy()).max()))
    return make_case(draw, lambda X_train, others: np_norm.normalize_sets(X_train, *others), {
        "X_train": X, "others": [other]}, {
        "X_train": lambda d: spoil_array(d, "X_train", X, pinned=False, also=("others[0]",)),
        "others": lambda d: Bad([spoil_array(d, "others[0]", other, fixed=(0,)).value], "others[0] bad",
                                ("others[0]",))}, check)


RATIOS = [(0.6, 0.2, 0.2), (0.8, 0.2), (0.5, 0.5), [0.7, 0.15, 0.15], (np.float64(0.9), np.float64(0.1))]


def _spoil_ratios(draw) -> Bad:
    value = draw(st.sampled_from([[0.5, 0.6], [1.0], (0.5, -0.5, 1.0), "0.6", None, [0.6, 0.2, 0.2, 0.0],
                                  np.array([0.6, 0.4]), [NAN, 0.5], [0.5, "0.5"], [True, 0.0], (0.98, 0.01, 0.01)]))
    return Bad(value, f"ratios={value!r}"[:40], ("ratios",))


@fuzz("np.splits.part_sizes", 30)
def _np_part_sizes(draw):
    m, ratios = size(draw, 1, 200), draw(st.sampled_from(RATIOS))

    def check(sizes, kw):
        assert sum(sizes) == m and len(sizes) == len(ratios)
        assert all(abs(s - r * m) < 1 + 1e-9 for s, r in zip(sizes, ratios))
    return make_case(draw, np_splits.part_sizes, {"m": m, "ratios": ratios}, {
        "m": lambda d: spoil_count(d, "m"),
        "ratios": lambda d: Bad(d(st.sampled_from([[0.5, 0.6], "0.6", [NAN, 0.5], None])), "ratios", ("ratios",))},
        check)


@fuzz("np.splits.shuffled", 25)
def _np_shuffled(draw):
    m = size(draw, 1, 30)
    return make_case(draw, np_splits.shuffled, {"m": m, "seed": draw(st.integers(0, 99))}, {
        "m": lambda d: spoil_count(d, "m"), "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None)},
        lambda p, kw: sorted(p.tolist()) == list(range(m)) or pytest.fail(str(p)))


@fuzz("np.splits.split_indices", 40)
def _np_split_indices(draw):
    m, ratios, seed = size(draw, 20, 40), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 99))
    labels = np_labels(draw, m, 2) if draw(st.booleans()) else None

    def check(parts, kw):
        assert sorted(np.concatenate(parts).tolist()) == list(range(m))
        tparts = th_splits.split_indices(torch.from_numpy(np_splits.shuffled(m, seed)), ratios,
                                         None if labels is None else labels_row(labels))
        assert all(np.array_equal(a, b.numpy()) for a, b in zip(parts, tparts))
    spoilers = {"m": lambda d: spoil_count(d, "m"), "ratios": lambda d: _spoil_ratios(d),
                "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None)}
    if labels is not None:
        spoilers["labels"] = lambda d: spoil_np_labels(d, "labels", labels, 2, also=("m",), exclude=(
            "label C", "label 2**40", "None"))   # any number of classes; None: not stratified
    return make_case(draw, np_splits.split_indices, {"m": m, "ratios": ratios, "seed": seed, "labels": labels},
                     spoilers, check)


@fuzz("np.splits.split", 30)
def _np_split(draw):
    m, ratios, seed, stratify = size(draw, 20, 30), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 9)), \
        draw(st.booleans())
    X, Y = np_floats(draw, (size(draw), m), draw(st.sampled_from(DTYPES))), np_labels(draw, m, 2)

    def check(parts, kw):
        tparts = th_splits.split(th(X).T, labels_row(Y), ratios, seed=seed, stratify=stratify)
        for (Xp, Yp), sub in zip(parts, tparts):
            assert np.array_equal(Xp.T, X.T[sub.indices]) and np.array_equal(Yp[0], Y[0][sub.indices])
    return make_case(draw, np_splits.split, {"X": X, "Y": Y, "ratios": ratios, "seed": seed, "stratify": stratify}, {
        "X": lambda d: spoil_array(d, "X", X, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 2, also=("X",), exclude=("label C", "label 2**40")),
        "ratios": lambda d: _spoil_ratios(d), "stratify": lambda d: spoil_flag(d, "stratify")}, check)


def _images(draw, shape):
    dtype = draw(st.sampled_from(["uint8", "float32", "float64"]))
    if dtype == "uint8":
        return seeded_rng(draw).integers(0, 256, size=shape).astype(np.uint8)
    return np_floats(draw, shape, dtype, layouts=("C", "strided", "readonly"))


def _spoil_images(draw, images, name="images") -> Bad:
    kind = draw(st.sampled_from(["dtype", "rank", "empty", "NaN", "list", "None"]))
    if kind == "dtype":
        dtype = draw(st.sampled_from(["int64", "float16", "bool", "object", "int32", "uint16"]))
        return Bad(images.astype(dtype), f"images {dtype}", (name,))
    if kind == "NaN":
        bad = images.astype(np.float64)
        bad.flat[0] = np.nan
        return Bad(bad, "images NaN", (name,))
    bad = {"rank": images[0], "empty": images[:0], "list": images.tolist(), "None": None}[kind]
    return Bad(bad, f"images {kind}", (name,))


def _spoil_offsets(draw, offsets, padding, name="offsets") -> Bad:
    kind = draw(st.sampled_from(["float", "negative", "too far", "shape", "list"]))
    bad = {"float": offsets.astype(float), "negative": offsets - 1 - offsets.max(),
           "too far": offsets + 2 * padding + 1, "shape": offsets[:, :1], "list": offsets.tolist()}[kind]
    return Bad(bad, f"offsets {kind}", (name,))


def _spoil_flip(draw, flip, name="flip") -> Bad:
    kind = draw(st.sampled_from(["int", "length", "list", "None"]))
    bad = {"int": flip.astype(int), "length": np.append(flip, True), "list": flip.tolist(), "None": None}[kind]
    return Bad(bad, f"flip {kind}", (name,))


def _aug_case(draw):
    m, H, W, C = size(draw, 1, 3), size(draw, 1, 5), size(draw, 1, 5), size(draw, 1, 3)
    images = _images(draw, (m, H, W, C))
    padding = draw(st.integers(0, 3))
    draws = np_aug.draw(m, padding, rng=draw(st.integers(0, 99)))
    return images, padding, draws, th_aug.to_channels_first(np.array(images))


@fuzz("np.augmentation.draw", 30)
def _np_aug_draw(draw):
    m, padding = size(draw, 1, 10), draw(st.integers(0, 4))

    def check(draws, kw):
        assert draws.flip.shape == (m,) and draws.flip.dtype == bool and draws.offsets.shape == (m, 2)
        assert draws.offsets.min() >= 0 and draws.offsets.max() <= 2 * padding
    return make_case(draw, np_aug.draw, {"m": m, "padding": padding, "rng": draw(st.integers(0, 9)),
                                         "flip_probability": draw(st.sampled_from([0, 0.5, 1.0]))}, {
        "m": lambda d: spoil_count(d, "m"), "padding": lambda d: spoil_count(d, "padding", minimum=0),
        "rng": _spoil_rng,
        "flip_probability": lambda d: spoil_unit(d, "flip_probability", closed_low=True, closed_high=True)}, check)


@fuzz("np.augmentation.horizontal_flip", 30)
def _np_hflip(draw):
    images, padding, draws, timages = _aug_case(draw)

    def check(out, kw):
        assert out.dtype == images.dtype and out.shape == images.shape
        expected = th_aug.horizontal_flip(timages, draws.flip).permute(0, 2, 3, 1)
        assert np.array_equal(out, expected.numpy())
    return make_case(draw, np_aug.horizontal_flip, {"images": images, "flip": draws.flip}, {
        "images": lambda d: _spoil_images(d, images), "flip": lambda d: _spoil_flip(d, draws.flip)}, check)


@fuzz("np.augmentation.random_crop", 30)
def _np_crop(draw):
    images, padding, draws, timages = _aug_case(draw)

    def check(out, kw):
        assert out.dtype == images.dtype and out.shape == images.shape
        expected = th_aug.random_crop(timages, draws.offsets, padding).permute(0, 2, 3, 1)
        assert np.array_equal(out, expected.numpy())
    return make_case(draw, np_aug.random_crop, {"images": images, "offsets": draws.offsets, "padding": padding}, {
        "images": lambda d: _spoil_images(d, images), "offsets": lambda d: _spoil_offsets(d, draws.offsets, padding),
        "padding": lambda d: Bad(d(st.sampled_from([-1, 1.5, "2", None])), "padding", ("padding",))}, check)


@fuzz("np.augmentation.augment", 25)
def _np_augment(draw):
    images, padding, draws, timages = _aug_case(draw)

    def check(out, kw):
        expected = th_aug.augment(timages, draws, padding).permute(0, 2, 3, 1)
        assert np.array_equal(out, expected.numpy())
    return make_case(draw, np_aug.augment, {"images": images, "draws": draws, "padding": padding}, {
        "images": lambda d: _spoil_images(d, images),
        "draws": lambda d: Bad(d(st.sampled_from([None, tuple(draws), {"flip": draws.flip}])), "draws", ("draws",))},
        check)


@fuzz("np.early_stopping.EarlyStopping", 30)
def _np_early_stopping(draw):
    monitor = draw(st.sampled_from(np_es.MONITORS))
    valid = {"patience": size(draw, 1, 5), "monitor": monitor, "min_delta": positive(draw, 0.0, 0.1, zero=True),
             "restore_best": draw(st.booleans())}
    if monitor == "dev_cost":
        valid["dev_cost"] = lambda params: 0.0
    return make_case(draw, np_es.EarlyStopping, valid, {
        "patience": lambda d: spoil_count(d, "patience"), "monitor": lambda d: spoil_choice(d, "monitor", np_es.MONITORS),
        "min_delta": lambda d: spoil_positive(d, "min_delta", allow_zero=True),
        "restore_best": lambda d: spoil_flag(d, "restore_best"),
        "dev_cost": lambda d: Bad(3 if monitor == "dev_cost" else (lambda p: 0.0), "dev_cost", ("dev_cost",))},
        lambda out, kw: None)


@fuzz("np.early_stopping.dev_cost", 30)
def _np_dev_cost(draw):
    c = NetCase(draw, train=False)

    def check(cost, kw):
        assert np.isfinite(cost)
        close(cost, th_es.dev_cost(c.Xt, c.yt)(c.model), "dev cost", dtype=c.dtype, scale=max(1.0, abs(cost)))
    call = lambda network, X_dev, Y_dev, params: np_es.dev_cost(network, X_dev, Y_dev)(params)  # noqa: E731
    return make_case(draw, call, {"network": c.net, "X_dev": c.X, "Y_dev": c.Y, "params": c.params}, {
        "params": lambda d: _spoil_net_params(d, c.params),
        "X_dev": lambda d: spoil_array(d, "X_dev", c.X, fixed=(0,), also=("Y_dev",)),
        "Y_dev": lambda d: spoil_np_labels(d, "Y_dev", c.Y, c.net.num_classes, also=("X_dev",)),
        "network": spoil_network}, check)


@fuzz("np.signals.identity_params", 30)
def _np_identity_params(draw):
    dims = _layer_dims(draw)
    c = draw(st.sampled_from([1.5, 0.5, 0, -2.0]))

    def check(params, kw):
        for l in range(1, len(dims)):
            assert np.array_equal(params[f"W{l}"], c * np.eye(dims[l], dims[l - 1]))
            same_dtype(params[f"W{l}"], kw["dtype"])
    return make_case(draw, np_sig.identity_params, {"layer_dims": dims, "c": c, "dtype": draw(st.sampled_from(DTYPES))},
                     {"layer_dims": _spoil_layer_dims, "dtype": _spoil_np_dtype,
                      "c": lambda d: Bad(d(st.sampled_from([NAN, float("inf"), "1", None, True, [1.0], HUGE_INT])),
                                         "c", ("c",))}, check)


@fuzz("np.signals.signal_norms", 40)
def _np_signal_norms(draw):
    c = NetCase(draw, train=False, bn=False)

    def check(out, kw):
        expected = th_sig.signal_norms(c.model, c.Xt, c.yt)
        for field_name, a, e in zip(out._fields, out, expected):
            assert a.shape == (c.net.L,)
            close(a, e, field_name, dtype=c.dtype, rtol=10 * tol(c.dtype))
    return make_case(draw, np_sig.signal_norms, {"network": c.net, "params": c.params, "X": c.X, "Y": c.Y},
                     {**c.spoilers(), "network": spoil_network}, check)


def _spoil_error(draw, name) -> Bad:
    value = draw(st.sampled_from([-0.1, 1.5, NAN, "0.1", None, True, 15, HUGE_INT]))
    return Bad(value, f"{name}={value!r}"[:40], (name,))


@fuzz("np.diagnosis.diagnose", 40)
def _np_diagnose(draw):
    errors = {k: draw(st.sampled_from([0.0, 0.01, 0.15, 0.3, 1, np.float64(0.5)]))
              for k in ("train_error", "dev_error", "bayes_error")}

    def check(out, kw):
        assert out.case in np_diag.CASES.values() and out.focus in ("bias", "variance")
        assert out.avoidable_bias == pytest.approx(kw["train_error"] - kw["bayes_error"])
    spoilers = {k: (lambda d, k=k: _spoil_error(d, k)) for k in errors}
    spoilers["threshold"] = lambda d: spoil_positive(d, "threshold", allow_zero=True)
    return make_case(draw, np_diag.diagnose, {**errors, "threshold": 0.02}, spoilers, check)


@fuzz("np.diagnosis.diagnose_network", 30)
def _np_diagnose_network(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        expected = th_diag.diagnose_model(c.model, c.Xt, c.yt, c.Xt, c.yt)
        assert out.case == expected.case
    return make_case(draw, np_diag.diagnose_network, {
        "network": c.net, "params": c.params, "X_train": c.X, "Y_train": c.Y, "X_dev": c.X, "Y_dev": c.Y}, {
        "params": lambda d: _spoil_net_params(d, c.params),
        "X_train": lambda d: spoil_array(d, "X_train", c.X, fixed=(0,), also=("Y_train",)),
        "Y_train": lambda d: spoil_np_labels(d, "Y_train", c.Y, c.net.num_classes, also=("X_train",)),
        "X_dev": lambda d: spoil_array(d, "X_dev", c.X, fixed=(0,), also=("Y_dev",)),
        "Y_dev": lambda d: spoil_np_labels(d, "Y_dev", c.Y, c.net.num_classes, also=("X_dev",)),
        "bayes_error": lambda d: _spoil_error(d, "bayes_error"), "network": spoil_network}, check)


def _gradcheck_case(draw):
    dims, output = _dims(draw, hidden=(0, 1), width=3)
    kw = {"hidden_activation": draw(st.sampled_from(["tanh", "sigmoid", "linear"])), "output": output}
    if draw(st.booleans()):
        kw["l2"] = positive(draw, 0.0, 1.0, zero=True)
    if len(dims) > 2 and draw(st.booleans()):
        kw["batch_norm"] = True
    net = np_models.Network(dims, **kw)
    m = size(draw, 2, 4)
    params = net.init_params("xavier", rng=draw(st.integers(0, 99)))
    X = np_floats(draw, (dims[0], m), "float64", scale=1.0, zeros=False)
    Y = np_labels(draw, m, net.num_classes)
    model = th_models.Network(dims, **kw)
    bridge.params_to_module(params, model)
    return net, params, X, Y, model


def _spoil_gc_params(draw, params) -> Bad:
    kind = draw(st.sampled_from(["float32", "NaN", "not a dict", "empty", "int"]))
    key = next(iter(params))
    bad = {"float32": {**params, key: params[key].astype(np.float32)},
           "NaN": {**params, key: np.full_like(params[key], np.nan)}, "not a dict": list(params.values()),
           "empty": {}, "int": {**params, key: params[key].astype(int)}}[kind]
    return Bad(bad, f"params {kind}", (key, "params"))


@fuzz("np.gradcheck.gradient_check", 25)
def _np_gradient_check(draw):
    net, params, X, Y, model = _gradcheck_case(draw)

    def check(report, kw):
        assert report.difference < 1e-5, str(report)
        assert set(report.per_parameter) == {"d" + k for k in params}
    return make_case(draw, np_gc.gradient_check, {"network_or_loss_fn": net, "params": params, "X": X, "Y": Y}, {
        "params": lambda d: _spoil_gc_params(d, params),
        "X": lambda d: spoil_array(d, "X", X, fixed=(0,), also=("Y",), exclude=("other float",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, net.num_classes),
        "epsilon": lambda d: spoil_positive(d, "epsilon"), "worst": lambda d: spoil_count(d, "worst", minimum=0),
        "l2": lambda d: spoil_positive(d, "l2", allow_zero=True),
        "network_or_loss_fn": lambda d: Bad(d(st.sampled_from([3, None, np_models.Network([2, 3, 1],
                                            keep_probs=0.5)])), "not a loss", ("network_or_loss_fn", "keep_probs"))},
        check)


@fuzz("np.gradcheck.directional_check", 25)
def _np_directional_check(draw):
    net, params, X, Y, model = _gradcheck_case(draw)
    direction = np_gc.random_direction({k: v.shape for k, v in params.items()}, rng=draw(st.integers(0, 9)))

    def check(report, kw):
        assert report.overall.difference < 1e-5, str(report)
        treport = th_gc.directional_check(model, th(X).T, labels_row(Y), direction)
        close(report.overall.analytic, treport.overall.analytic, "slope", rtol=1e-9, scale=max(1, abs(report.overall.analytic)))
    return make_case(draw, np_gc.directional_check, {"network_or_loss_fn": net, "params": params, "X": X, "Y": Y,
                                                     "direction": direction}, {
        "params": lambda d: _spoil_gc_params(d, params),
        "direction": lambda d: Bad({k: v[:, :0] if v.shape[1] > 1 else v.T for k, v in direction.items()}
                                   if d(st.booleans()) else {}, "direction", ("direction",)),
        "epsilon": lambda d: spoil_positive(d, "epsilon")}, check)


@fuzz("np.gradcheck.vector_to_dictionary", 25)
def _np_vector_to_dictionary(draw):
    shapes = {f"W{i}": (size(draw), size(draw)) for i in range(1, size(draw, 1, 3) + 1)}
    n = sum(a * b for a, b in shapes.values())
    theta = np_floats(draw, (n, 1), "float64")

    def check(out, kw):
        assert {k: v.shape for k, v in out.items()} == shapes
        assert np.array_equal(np_gc.dictionary_to_vector(out)[0], theta)
    return make_case(draw, np_gc.vector_to_dictionary, {"theta": theta, "shapes": shapes}, {
        "theta": lambda d: Bad(theta[:-1], "theta too short", ("theta",))}, check)



# =====================================================================================
# torch side: activations, layers, losses, init, logistic regression
# =====================================================================================

def _th_floats(draw, shape, dtype, **kw):
    """(the NumPy array, the same numbers as a tensor in a random torch layout)."""
    a = np_floats(draw, shape, dtype, layouts=("C",), **kw)
    return a, as_tensor(draw, a)


def _spoil_th_dtype(draw, name="dtype") -> Bad:
    value = draw(st.sampled_from(["float64", torch.int64, torch.float16, np.float64, None, torch.bfloat16]))
    return Bad(value, f"dtype={value!r}", (name,))


def _spoil_device(draw, name="device") -> Bad:
    value = draw(st.sampled_from(["gpu", "CPU", "", None, 0, "meta"]))
    return Bad(value, f"device={value!r}", (name,))


@fuzz("th.activations.apply", 80)
def _th_apply(draw):
    dtype, name = draw(st.sampled_from(DTYPES)), draw(st.sampled_from(th_act.NAMES))
    Z, Zt = _th_floats(draw, (size(draw), size(draw)), dtype)
    slope = positive(draw, 0.0, 1.0, zero=True)

    def check(A, kw):
        same_dtype(A, TH_DTYPES[dtype])
        expected = np_act.leaky_relu_forward(Z.T, slope)[0] if name == "leaky_relu" else np_act.FORWARD[name](Z.T)[0]
        close(A, expected.T, name, dtype=dtype)
    return make_case(draw, th_act.apply, {"name": name, "Z": Zt, "leaky_slope": slope}, {
        "name": lambda d: spoil_choice(d, "name", th_act.NAMES),
        "Z": lambda d: spoil_tensor(d, "Z", Zt, pinned=False),
        "leaky_slope": lambda d: named_if(spoil_positive(d, "leaky_slope", allow_zero=True),
                                          must_fail=name == "leaky_relu")}, check)


@fuzz("th.activations.make", 25)
def _th_make(draw):
    name = draw(st.sampled_from(th_act.NAMES))
    return make_case(draw, th_act.make, {"name": name, "leaky_slope": positive(draw, 0.0, 1.0, zero=True)}, {
        "name": lambda d: spoil_choice(d, "name", th_act.NAMES),
        "leaky_slope": lambda d: Bad(d(st.sampled_from([-1.0, NAN, "0.1", None])), "leaky_slope", ("leaky_slope",),
                                     must_fail=name == "leaky_relu")},
        lambda out, kw: isinstance(out, nn.Module) or pytest.fail(repr(out)))


@fuzz("th.layers.linear", 25)
def _th_linear(draw):
    n_prev, n = size(draw), size(draw)

    def check(layer, kw):
        assert layer.weight.shape == (n, n_prev) and layer.weight.dtype == kw["dtype"]
    return make_case(draw, th_layers.linear, {"n_prev": n_prev, "n": n, "dtype": draw(st.sampled_from(
        list(TH_DTYPES.values()))), "device": "cpu"}, {
        "n_prev": lambda d: spoil_count(d, "n_prev"), "n": lambda d: spoil_count(d, "n"),
        "dtype": _spoil_th_dtype, "device": _spoil_device}, check)


@fuzz("th.layers.linear_forward", 60)
def _th_linear_forward(draw):
    dtype = draw(st.sampled_from(DTYPES))
    n, n_prev, m = size(draw), size(draw), size(draw)
    (A, At), (W, Wt), (b, bt) = (_th_floats(draw, s, dtype, scale=1.0) for s in ((m, n_prev), (n, n_prev), (n,)))

    def check(Z, kw):
        same_dtype(Z, TH_DTYPES[dtype])
        close(Z, np_layers.linear_forward(A.T, W, b[:, None])[0].T, "Z", dtype=dtype, scale=10 * n_prev)
    return make_case(draw, th_layers.linear_forward, {"A_prev": At, "W": Wt, "b": bt}, {
        "A_prev": lambda d: spoil_tensor(d, "A_prev", At, fixed=(1,)),
        "W": lambda d: spoil_tensor(d, "W", Wt, fixed=(0, 1), also=("A_prev", "b")),
        "b": lambda d: spoil_tensor(d, "b", bt, fixed=(0,), exclude=("rank-down",) if n == 1 else ())}, check)


def _th_loss_case(draw, name):
    dtype, m = draw(st.sampled_from(DTYPES)), size(draw, 1, 6)
    C = 1 if name.startswith("binary") else size(draw, 1, 5)
    num_classes = 2 if name.startswith("binary") else C
    if name == "binary_cross_entropy":
        x = np.clip(np_floats(draw, (m, 1), dtype, low=0.0, high=1.0), 1e-3, 1 - 1e-3)
    else:
        x = np_floats(draw, (m, C), dtype, zeros=name != "svm_hinge")
    xt, y = as_tensor(draw, x), th_labels(draw, m, num_classes)
    argname = {"binary_cross_entropy": "AL", "binary_cross_entropy_with_logits": "Z"}.get(name, "scores")
    valid = {argname: xt, "y": y}
    binary = name.startswith("binary")
    spoilers = {argname: lambda d: spoil_tensor(d, argname, xt, fixed=(1,) if binary else (), pinned=False,
                                                also=("y",)),
                "y": lambda d: spoil_th_labels(d, "y", y, num_classes, also=(argname,))}
    if name == "binary_cross_entropy":
        bad = xt.detach().clone()
        bad[0, 0] = 1.5
        spoilers["AL"] = lambda d: Bad(bad, "AL outside [0, 1]", ("AL",)) if d(st.booleans()) else \
            spoil_tensor(d, "AL", xt, fixed=(1,), pinned=False, also=("y",))
    if name == "svm_hinge":
        valid["delta"] = positive(draw, 0.0, 2.0, zero=True)
        spoilers["delta"] = lambda d: spoil_positive(d, "delta", allow_zero=True)
    np_fn = getattr(np_losses, name)

    def check(cost, kw):
        assert cost.dim() == 0
        same_dtype(cost, TH_DTYPES[dtype])
        ncost, _ = np_fn(x.T, y.numpy()[None], *([kw["delta"]] if "delta" in kw else []))
        close(cost, ncost, "cost", dtype=dtype, scale=max(1.0, np.abs(x).max()))
    return make_case(draw, getattr(th_losses, name), valid, spoilers, check)


for _loss in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "softmax_cross_entropy", "svm_hinge"):
    fuzz(f"th.losses.{_loss}", 60)(lambda draw, name=_loss: _th_loss_case(draw, name))


def _spoil_weights_list(draw, weights) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "empty", "tensor", "None"]))
    if kind == "entry":
        i = draw(st.integers(0, len(weights) - 1))
        bad = spoil_tensor(draw, f"weights[{i}]", weights[i], pinned=i > 0, exclude=("rank-up",))
        return Bad([*weights[:i], bad.value, *weights[i + 1:]], f"weights[{i}] {bad.kind}",
                   (f"weights[{i}]", f"weights[{i + 1}]"))
    return Bad({"empty": [], "tensor": weights[0], "None": None}[kind], f"weights {kind}", ("weights",))


for _penalty in ("l2_penalty", "l1_penalty"):
    def _th_penalty(draw, penalty=_penalty):
        dtype = draw(st.sampled_from(DTYPES))
        arrays = [np_floats(draw, (size(draw), size(draw)), dtype) for _ in range(size(draw, 1, 3))]
        weights = [as_tensor(draw, a) for a in arrays]
        lambd, m = positive(draw, 0.0, 5.0, zero=True), size(draw, 1, 100)

        def check(cost, kw):
            params = {f"W{i + 1}": a for i, a in enumerate(arrays)}
            close(cost, getattr(np_losses, penalty)(params, kw["lambd"], kw["m"])[0], "cost", dtype=dtype)
        return make_case(draw, getattr(th_losses, penalty), {"weights": weights, "lambd": lambd, "m": m}, {
            "weights": lambda d: _spoil_weights_list(d, weights),
            "lambd": lambda d: spoil_positive(d, "lambd", allow_zero=True),
            "m": lambda d: spoil_count(d, "m")}, check)

    fuzz(f"th.losses.{_penalty}", 40)(_th_penalty)


def _spoil_generator(draw, name="generator") -> Bad:
    value = draw(st.sampled_from([0, "g", np.random.default_rng(0), [1]]))
    return Bad(value, f"generator={type(value).__name__}", (name,))


@fuzz("th.init.initialize_parameters", 40)
def _th_initialize_parameters(draw):
    dims = _layer_dims(draw)

    def check(params, kw):
        for l in range(1, len(dims)):
            assert params[f"W{l}"].shape == (dims[l], dims[l - 1]) and params[f"b{l}"].shape == (dims[l],)
            assert params[f"W{l}"].dtype == kw["dtype"] and not params[f"b{l}"].any()
    return make_case(draw, th_init.initialize_parameters, {
        "layer_dims": dims, "method": draw(st.sampled_from(list(th_init.INITIALIZERS))),
        "generator": torch.Generator().manual_seed(draw(st.integers(0, 9))) if draw(st.booleans()) else None,
        "dtype": draw(st.sampled_from(list(TH_DTYPES.values()))), "device": "cpu"}, {
        "layer_dims": _spoil_layer_dims, "method": lambda d: spoil_choice(d, "method", th_init.INITIALIZERS),
        "generator": _spoil_generator, "dtype": _spoil_th_dtype, "device": _spoil_device}, check)


@fuzz("th.init.init_linear_", 30)
def _th_init_linear(draw):
    layer = nn.Linear(size(draw), size(draw), bias=draw(st.booleans()), dtype=torch.float64)
    return make_case(draw, th_init.init_linear_, {"layer": layer, "method": draw(st.sampled_from(
        list(th_init.INITIALIZERS))), "generator": None}, {
        "layer": lambda d: Bad(d(st.sampled_from([None, nn.ReLU(), "linear"])), "layer", ("layer",)),
        "method": lambda d: spoil_choice(d, "method", th_init.INITIALIZERS), "generator": _spoil_generator},
        lambda out, kw: out is layer or pytest.fail("not the layer"))


@fuzz("th.logistic.LogisticRegression", 25)
def _th_logreg(draw):
    return make_case(draw, th_log.LogisticRegression, {"n_x": size(draw), "dtype": torch.float64, "device": "cpu"}, {
        "n_x": lambda d: spoil_count(d, "n_x"), "dtype": _spoil_th_dtype, "device": _spoil_device},
        lambda model, kw: model.linear.weight.abs().sum() == 0 or pytest.fail("not zero"))


def _th_logistic_case(draw, what):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw, 1, 6)
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    w, b = np_floats(draw, (n_x, 1), dtype, scale=1.0, layouts=("C",)), draw(st.sampled_from([0.0, 0.5]))
    bridge.logistic_to_module(w, b, model)
    X, Xt = _th_floats(draw, (m, n_x), dtype, scale=1.0)
    y = th_labels(draw, m, 2)
    valid = {"model": model, "X": Xt}
    spoilers = {"X": lambda d: spoil_tensor(d, "X", Xt, fixed=(1,), also=("y",)), "model": spoil_model}
    if what != "predict":
        valid["y"] = y
        spoilers["y"] = lambda d: spoil_th_labels(d, "y", y, 2, also=("X",))
    if what == "optimize":
        valid.update(num_iterations=size(draw, 1, 3), learning_rate=positive(draw, 1e-3, 1.0))
        spoilers.update(num_iterations=lambda d: spoil_count(d, "num_iterations"),
                        learning_rate=lambda d: spoil_positive(d, "learning_rate"))

    def check(out, kw):
        if what == "propagate":
            grads, cost = out
            ngrads, ncost = np_log.propagate(w, b, X.T, y.numpy()[None])
            close(cost, ncost, "cost", dtype=dtype)
            close(grads["dw"].T, ngrads["dw"], "dw", dtype=dtype)
        elif what == "optimize":
            nparams, _, ncosts = np_log.optimize(w, b, X.T, y.numpy()[None], kw["num_iterations"], kw["learning_rate"])
            close(out, ncosts, "costs", dtype=dtype, rtol=10 * tol(dtype))
        else:
            assert out.shape == (m,) and out.dtype == torch.int64
            sure = decided(w.astype(np.float64).T @ X.T.astype(np.float64) + b) | ~(w * X.T).any(axis=0)
            np.testing.assert_array_equal(out.numpy()[sure], np_log.predict(w, b, X.T)[0][sure])
    fn = {"propagate": th_log.propagate, "optimize": th_log.optimize, "predict": th_log.predict}[what]
    return make_case(draw, fn, valid, spoilers, check)


for _what in ("propagate", "optimize", "predict"):
    fuzz(f"th.logistic.{_what}", 40)(lambda draw, what=_what: _th_logistic_case(draw, what))



# =====================================================================================
# torch side: the network, batch norm, dropout, EWA
# =====================================================================================

def _th_net_spoilers(c: NetCase, *, y=True, masks=False):
    spoilers = {"X": lambda d: spoil_tensor(d, "X", c.Xt, fixed=(1,), also=("y",) if y else ())}
    if y:
        spoilers["y"] = lambda d: spoil_th_labels(d, "y", c.yt, c.net.num_classes, also=("X",))
    if masks and c.model.training:
        spoilers["masks"] = lambda d: _spoil_th_masks(d, c.th_masks(c.masks))
    return spoilers


def _spoil_th_masks(draw, masks) -> Bad:
    kind = draw(st.sampled_from(["wrong keys", "not a dict", "entry"] if masks else ["wrong keys", "not a dict"]))
    if kind == "wrong keys":
        return Bad({**(masks or {}), "D9": torch.ones(1, 1)}, kind, ("masks",))
    if kind == "not a dict":
        return Bad(list((masks or {"D1": 1}).values()), kind, ("masks",))
    key = draw(st.sampled_from(sorted(masks)))
    value = draw(st.sampled_from(["half", "shape", "numpy"]))
    bad = {"half": masks[key] * 0.5 + 0.25, "shape": torch.ones(masks[key].shape[0], masks[key].shape[1] + 1),
           "numpy": masks[key].numpy()}[value]
    return Bad({**masks, key: bad}, f"masks[{key}] {value}", (key,))


@fuzz("th.models.Network.cost", 60)
def _th_network_cost(draw):
    c = NetCase(draw)
    valid = {"X": c.Xt, "y": c.yt, "masks": c.th_masks(c.masks)}

    def check(cost, kw):
        assert cost.dim() == 0 and torch.isfinite(cost)
        ncost, _ = c.net.loss(c.params, c.X, c.Y, masks=c.masks, train=c.train)
        close(cost, ncost, "cost", dtype=c.dtype, scale=max(1.0, abs(ncost)))
    return make_case(draw, c.model.cost, valid, _th_net_spoilers(c, masks=True), check)


def _th_network_pass(draw, method):
    c = NetCase(draw)
    valid = {"X": c.Xt} if method in ("predict",) else {"X": c.Xt, "masks": c.th_masks(c.masks)}

    def check(out, kw):
        AL, caches = c.net.forward(c.params, c.X, masks=c.masks, train=c.train and method != "predict")
        if method == "predict":
            assert out.shape == (c.m,) and out.dtype == torch.int64
            sure = decided(caches[-1].activation.Z, c.net.output)
            np.testing.assert_array_equal(out.numpy()[sure], c.net.predict(c.params, c.X)[0][sure])
            return
        expected = caches[-1].activation.Z if method == "scores" else AL
        close(out.T, expected, method, dtype=c.dtype, scale=max(1.0, np.abs(expected).max()))
    return make_case(draw, getattr(c.model, method), valid, _th_net_spoilers(c, y=False, masks=method != "predict"),
                     check)


for _method in ("scores", "forward", "predict"):
    fuzz(f"th.models.Network.{_method}", 40)(lambda draw, method=_method: _th_network_pass(draw, method))


@fuzz("th.models.Network.accuracy", 30)
def _th_network_accuracy(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, c.model.accuracy, {"X": c.Xt, "y": c.yt}, _th_net_spoilers(c),
                     lambda out, kw: out == c.net.accuracy(c.params, c.X, c.Y) or pytest.fail(str(out)))


@fuzz("th.models.Network.penalty", 25)
def _th_network_penalty(draw):
    c = NetCase(draw, train=False)

    def check(out, kw):
        expected = sum(np_models.PENALTIES[k](c.params, c.kw[k], kw["m"])[0] for k in ("l2", "l1") if c.kw.get(k))
        close(out, expected, "penalty", dtype=c.dtype)
    return make_case(draw, c.model.penalty, {"m": size(draw, 1, 50)}, {"m": lambda d: spoil_count(d, "m")}, check)


@fuzz("th.models.Network.init_params", 25)
def _th_network_init_params(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, c.model.init_params, {"method": "he", "generator": None}, {
        "method": lambda d: spoil_choice(d, "method", th_init.INITIALIZERS), "generator": _spoil_generator},
        lambda out, kw: out is c.model or pytest.fail("not the model"))


@fuzz("th.models.Network", 50)
def _th_network(draw):
    dims, output = _dims(draw)
    kw, th_kw = _net_options(draw, dims, output)
    valid = {"layer_dims": dims, **th_kw, "dtype": draw(st.sampled_from(list(TH_DTYPES.values()))), "device": "cpu"}
    names = ["layer_dims", "hidden_activation", "output", "leaky_slope", "l2", "l1", "bn_eps", "bn_beta_momentum",
             "batch_norm"] + (["keep_probs"] if len(dims) > 2 else [])
    spoilers = {n: (lambda d, n=n: _spoil_net_kwarg(d, n)) for n in names}
    spoilers.update(dtype=_spoil_th_dtype, device=_spoil_device)

    def check(model, kw):
        assert model.L == len(dims) - 1 and model.dtype == kw["dtype"]
    return make_case(draw, th_models.Network, valid, spoilers, check)


@fuzz("th.models.train_gd", 30)
def _th_train_gd(draw):
    c = NetCase(draw, train=True)
    iterations = size(draw, 1, 3)
    masks = None if c.masks is None else [c.net.draw_masks(c.m, rng=i, dtype=c.dtype) for i in range(iterations)]
    decay = positive(draw, 0.0, 1.0, zero=True) if not c.kw.get("l2") else 0.0
    valid = {"model": c.model, "X": c.Xt, "y": c.yt, "learning_rate": positive(draw, 1e-3, 0.5),
             "num_iterations": iterations, "masks": None if masks is None else [bridge.masks_to_torch(mk) for mk in masks],
             "weight_decay_l2": decay}
    net = np_models.Network(c.dims, **{**c.kw, "l2": c.kw.get("l2", 0.0) + decay})

    def check(costs, kw):
        _, ncosts = np_models.train_gd(net, c.params, c.X, c.Y, kw["learning_rate"], iterations, masks=masks)
        close(costs, ncosts, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, ncosts))), rtol=10 * tol(c.dtype))
    net.state = {k: v.copy() for k, v in c.net.state.items()}
    spoilers = _th_net_spoilers(c)
    spoilers.update(learning_rate=lambda d: spoil_positive(d, "learning_rate"),
                    num_iterations=lambda d: spoil_count(d, "num_iterations"),
                    weight_decay_l2=lambda d: spoil_positive(d, "weight_decay_l2", allow_zero=True),
                    masks=lambda d: Bad(d(st.sampled_from([{}, "masks", [None] * (iterations + 1)])),
                                        "masks not one per iteration", ("masks",)),
                    model=spoil_model)
    return make_case(draw, th_models.train_gd, valid, spoilers, check)


@fuzz("th.batchnorm.batch_norm", 25)
def _th_batch_norm(draw):
    def check(module, kw):
        assert isinstance(module, nn.BatchNorm1d) and module.momentum == pytest.approx(1 - kw["beta_momentum"])
    return make_case(draw, th_bn.batch_norm, {"n": size(draw), "beta_momentum": draw(st.sampled_from([0.0, 0.9])),
                                              "eps": 1e-5, "dtype": draw(st.sampled_from(list(TH_DTYPES.values()))),
                                              "device": "cpu"}, {
        "n": lambda d: spoil_count(d, "n"), "eps": lambda d: spoil_positive(d, "eps"),
        "beta_momentum": lambda d: spoil_unit(d, "beta_momentum", closed_low=True, closed_high=False),
        "dtype": _spoil_th_dtype, "device": _spoil_device}, check)


@fuzz("th.batchnorm.apply", 50)
def _th_bn_apply(draw):
    dtype, n, m, train, Z, gamma, beta, running, hp, module = _bn_case(draw)
    Zt = as_tensor(draw, Z.T.copy())

    def check(out, kw):
        expected, _ = np_bn.batchnorm_forward(Z, gamma, beta, dict(running), train=train, **hp)
        close(out.T, expected, "Z_tilde", dtype=dtype, scale=max(1.0, np.abs(expected).max()), rtol=3 * tol(dtype))
    return make_case(draw, th_bn.apply, {"module": module, "Z": Zt}, {
        "Z": lambda d: spoil_tensor(d, "Z", Zt, fixed=(1,)),
        "module": lambda d: _spoil_bn_module(d, module)}, check)


def _spoil_bn_module(draw, module) -> Bad:
    """Not an nn.BatchNorm1d, or one whose running variance is negative (refused in eval mode, where it is
    used)."""
    if draw(st.booleans()):
        return Bad(draw(st.sampled_from([None, nn.Linear(2, 2), "bn"])), "module", ("module",))
    bad = copy.deepcopy(module)
    with torch.no_grad():
        bad.running_var[0] = -1.0
    return Bad(bad, "a negative running_var", ("running_var",), must_fail=not module.training)


@fuzz("th.dropout.dropout", 50)
def _th_dropout(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), (size(draw), size(draw))
    A, At = _th_floats(draw, shape, dtype)
    keep_prob, train = draw(st.sampled_from([0.5, 0.8, 1.0])), draw(st.booleans())
    D = np_drop.draw_mask(shape, 0.5, rng=draw(st.integers(0, 99)), dtype=dtype)
    use_seed = draw(st.booleans())
    valid = {"A": At, "keep_prob": keep_prob, "train": train}
    if use_seed:
        valid["seed"] = draw(st.integers(0, 99))
    else:
        valid["mask"] = th(D)

    def check(out, kw):
        if not train or keep_prob == 1:
            close(out, A, "out", dtype=dtype)
        elif use_seed:
            mask = th_drop.recover_mask(shape, keep_prob, kw["seed"], dtype=TH_DTYPES[dtype]).numpy()
            close(out, A * mask / dtype_np(dtype)(keep_prob), "out", dtype=dtype)
        else:
            close(out, np_drop.dropout_forward(A, keep_prob, D)[0], "out", dtype=dtype)
    spoilers = {"A": lambda d: spoil_tensor(d, "A", At, pinned=False, also=("mask",)),
                "keep_prob": _spoil_keep_prob, "train": lambda d: spoil_flag(d, "train")}
    if not use_seed:
        spoilers["mask"] = lambda d: Bad(d(st.sampled_from([th(D) * 0.5, th(D).T.contiguous() if shape[0] != shape[1]
                                                            else torch.ones(1), D, "mask"])), "mask", ("mask",),
                                         must_fail=train and keep_prob < 1)
    else:
        spoilers["seed"] = lambda d: named_if(spoil_count(d, "seed", minimum=0, maximum=None),
                                              must_fail=train and keep_prob < 1)
    return make_case(draw, th_drop.dropout, valid, spoilers, check)


@fuzz("th.dropout.recover_mask", 30)
def _th_recover_mask(draw):
    shape = (size(draw), size(draw))

    def check(mask, kw):
        assert tuple(mask.shape) == shape and bool(((mask == 0) | (mask == 1)).all())
    return make_case(draw, th_drop.recover_mask, {"shape": shape, "keep_prob": 0.5, "seed": draw(st.integers(0, 9)),
                                                  "dtype": torch.float64, "device": "cpu"}, {
        "shape": lambda d: Bad(d(st.sampled_from([(0, 2), (-1, 2), "ab", None, (2.5, 1)])), "shape",
                               ("shape", "shape[0]")),
        "keep_prob": _spoil_keep_prob, "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None),
        "dtype": _spoil_th_dtype, "device": _spoil_device}, check)


@fuzz("th.ewa.EWA.update", 40)
def _th_ewa_update(draw):
    dtype, shape = draw(st.sampled_from(DTYPES)), tuple(size(draw) for _ in range(draw(st.integers(0, 3))))
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())
    average = th_ewa.EWA(beta, bias_correction=corrected)
    thetas = [np_floats(draw, shape, dtype, layouts=("C",)) for _ in range(size(draw, 1, 3))]
    for theta in thetas[:-1]:
        average.update(th(theta))
    last = th(thetas[-1])

    def check(out, kw):
        close(out, np_ewa.ewa(np.stack(thetas), beta, bias_correction=corrected)[-1], "average", dtype=dtype)
    first = len(thetas) == 1
    return make_case(draw, average.update, {"theta": last}, {
        "theta": lambda d: spoil_tensor(d, "theta", last, pinned=not first, fixed=() if first else tuple(range(len(shape))),
                                        exclude=("rank-down", "rank-up", "empty", "scalar") if first or not shape else ())},
        check)


@fuzz("th.ewa.ewa", 30)
def _th_ewa(draw):
    dtype = draw(st.sampled_from(DTYPES))
    thetas = np_floats(draw, (size(draw, 1, 6), *[size(draw) for _ in range(draw(st.integers(0, 2)))]), dtype,
                       layouts=("C",))
    beta, corrected = draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.booleans())

    def check(out, kw):
        close(out, np_ewa.ewa(thetas, beta, bias_correction=corrected), "averages", dtype=dtype)
    return make_case(draw, th_ewa.ewa, {"thetas": th(thetas), "beta": beta, "bias_correction": corrected}, {
        "thetas": lambda d: spoil_tensor(d, "thetas", th(thetas), pinned=False, exclude=("rank-down", "rank-up")),
        "beta": lambda d: spoil_unit(d, "beta", closed_low=True, closed_high=False),
        "bias_correction": lambda d: spoil_flag(d, "bias_correction")}, check)


# =====================================================================================
# torch side: mini-batches, optimisers, schedules, the training loop
# =====================================================================================

@fuzz("th.minibatch.PermutationSampler", 25)
def _th_permutation_sampler(draw):
    m = size(draw, 1, 12)
    permutation = np.random.default_rng(draw(st.integers(0, 9))).permutation(m)
    return make_case(draw, th_mb.PermutationSampler, {"permutation": permutation, "m": m}, {
        "permutation": lambda d: _spoil_permutation(d, permutation, "permutation") if d(st.booleans()) else
        Bad(None, "permutation None", ("permutation",)),
        "m": lambda d: Bad(d(st.sampled_from([0, -3, 2.5, "2", True, [2]])), "m", ("m",))},   # None: its own length
        lambda out, kw: list(out) == permutation.tolist() or pytest.fail("order"))


@fuzz("th.minibatch.IndexBatchSampler", 25)
def _th_index_batch_sampler(draw):
    m = size(draw, 1, 12)
    batches = np_mb.sample_with_replacement(m, size(draw, 1, 4), size(draw, 1, 3), 0)
    return make_case(draw, th_mb.IndexBatchSampler, {"batches": batches, "m": m}, {
        "batches": lambda d: Bad(d(st.sampled_from([[np.array([m])], [np.array([-1])], [np.array([0.5])], [[]], None,
                                                    [[0, [1, 2]]], "0"])), "batches", ("batches", "batches[0]")),
        "m": lambda d: spoil_count(d, "m")},
        lambda out, kw: [list(b) for b in out] == [b.tolist() for b in batches] or pytest.fail("batches"))


def _th_data(draw, m=None):
    dtype = draw(st.sampled_from(DTYPES))
    m = m or size(draw, 1, 10)
    X, Xt = _th_floats(draw, (m, size(draw)), dtype)
    return X, Xt, th_labels(draw, m, 3), m


@fuzz("th.minibatch.dataset", 25)
def _th_dataset(draw):
    X, Xt, y, m = _th_data(draw)
    return make_case(draw, th_mb.dataset, {"X": Xt, "y": y}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, pinned=False, kinds=["rank-down", "rank-up", "empty", "dtype", "NaN",
                                                                      "numpy", "None"], also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", y, 3, also=("X",), exclude=("label C", "label 2**40", "label -1"))},
        lambda out, kw: len(out) == m or pytest.fail("length"))


@fuzz("th.minibatch.mini_batch_loader", 25)
def _th_mini_batch_loader(draw):
    X, Xt, y, m = _th_data(draw)
    batch_size = size(draw, 1, 5)
    permutation = np.random.default_rng(draw(st.integers(0, 9))).permutation(m)

    def check(loader, kw):
        batches = list(loader)
        assert torch.equal(torch.cat([b[0] for b in batches]), Xt.detach()[permutation])
        assert torch.equal(torch.cat([b[1] for b in batches]), y[permutation])
    return make_case(draw, th_mb.mini_batch_loader, {"X": Xt, "y": y, "batch_size": batch_size,
                                                    "permutation": permutation}, {
        "batch_size": lambda d: spoil_count(d, "batch_size"),
        "permutation": lambda d: _spoil_permutation(d, permutation),
        "y": lambda d: spoil_th_labels(d, "y", y, 3, also=("X",), exclude=("label C", "label 2**40", "label -1"))},
        check)


@fuzz("th.minibatch.epoch_loader", 25)
def _th_epoch_loader(draw):
    X, Xt, y, m = _th_data(draw)
    sampling, batch_size = draw(st.sampled_from(np_mb.SAMPLING)), size(draw, 1, 4)
    batches = np_mb.epoch_index_batches(m, epochs=1, batch_size=batch_size, seed=1, sampling=sampling)[0]

    def check(loader, kw):
        got = torch.cat([b[1] for b in loader])
        assert torch.equal(got, y[np.concatenate(batches)])
    return make_case(draw, th_mb.epoch_loader, {"X": Xt, "y": y, "batches": batches, "sampling": sampling,
                                               "batch_size": batch_size}, {
        "y": lambda d: spoil_th_labels(d, "y", y, 3, also=("X",), exclude=("label C", "label 2**40", "label -1")),
        "sampling": lambda d: spoil_choice(d, "sampling", np_mb.SAMPLING),
        "batches": lambda d: Bad(d(st.sampled_from([None, [np.array([m])], [np.array([0.5])], [[0, [1, 2]]]]
                                                   + ([batches[:-1]] if sampling == "shuffle" and m > 1 else []))),
                                 "batches", ("batches", "batches[0]"))},
        check)


def _th_optimizer_case(draw):
    dtype, name, params, hp, model = _optimizer_case(draw)
    return dtype, name, params, hp, model


@fuzz("th.optim.make_optimizer", 40)
def _th_make_optimizer(draw):
    dtype, name, params, hp, model = _th_optimizer_case(draw)

    def check(opt, kw):
        assert isinstance(opt, torch.optim.Optimizer)
        assert th_optim.penalty(opt) == pytest.approx(np_optim.make_optimizer(name, params, **hp).penalty(params))
    spoilers = {"name": lambda d: spoil_choice(d, "name", th_optim.HYPERPARAMETERS),
                "lr": lambda d: spoil_positive(d, "lr"),
                "unknown": lambda d: Bad(0.5, "unknown hyperparameter", ("unknown",))}
    for k in OPTIMIZER_HP[name]:
        spoilers[k] = (lambda d, k=k: spoil_positive(d, k)) if k == "eps" else \
            (lambda d, k=k: spoil_unit(d, k, closed_low=True, closed_high=False))
    if "l2_lambda" in hp:
        spoilers["l2_lambda"] = lambda d: spoil_positive(d, "l2_lambda", allow_zero=True)
        spoilers["m"] = lambda d: named_if(Bad(d(st.sampled_from([0, -1, 2.5, "4"])), "m", ("m",)),
                                           must_fail=hp["l2_lambda"] > 0)
    if name == "cs231n_momentum":
        spoilers["nesterov"] = lambda d: spoil_flag(d, "nesterov")
    spoilers["model"] = spoil_model
    return make_case(draw, th_optim.make_optimizer, {"name": name, "model": model, **hp}, spoilers, check)


@fuzz("th.optim.param_groups", 25)
def _th_param_groups(draw):
    dtype, name, params, hp, model = _th_optimizer_case(draw)
    lam, m = positive(draw, 0.0, 1.0, zero=True), size(draw, 1, 50)

    def check(groups, kw):
        assert groups[0]["weight_decay"] == pytest.approx(lam / m if lam else 0.0) and groups[1]["weight_decay"] == 0
    return make_case(draw, lambda l2_lambda, m: th_optim.param_groups(model, l2_lambda, m), {"l2_lambda": lam, "m": m}, {
        "l2_lambda": lambda d: spoil_positive(d, "l2_lambda", allow_zero=True),
        "m": lambda d: named_if(spoil_count(d, "m"), must_fail=lam > 0)}, check)


@fuzz("th.optim.optimizer_state", 25)
def _th_optimizer_state(draw):
    dtype, name, params, hp, model = _th_optimizer_case(draw)
    opt = th_optim.make_optimizer(name, model, **hp)
    nopt = np_optim.make_optimizer(name, params, **hp)
    grads = _grads_like(draw, params, dtype)
    for k, p in bridge.course_parameters(model):
        p.grad = th(grads["d" + k]).reshape(p.shape)
    opt.step()
    nopt.step(params, grads)

    def check(state, kw):
        for key in nopt.state_names:
            for k, v in getattr(nopt, key).items():
                close(state[key][k], v, f"{key}[{k}]", dtype=dtype, scale=max(1.0, np.abs(v).max()))
    return make_case(draw, th_optim.optimizer_state, {"optimizer": opt, "model": model}, {
        "optimizer": lambda d: spoil_model(d, "optimizer"), "model": spoil_model}, check)


@fuzz("th.schedules.learning_rates", 40)
def _th_learning_rates(draw):
    name = draw(st.sampled_from(th_sched.NAMES))
    hp = _schedule_hp(draw, name)
    valid = {"name": name, "alpha0": positive(draw, 1e-3, 1.0), "n": size(draw, 1, 20), **hp}

    def check(rates, kw):
        assert rates == np_sched.make_schedule(name, **hp).rates(kw["alpha0"], kw["n"])
    spoilers = {"name": lambda d: Bad(d(st.sampled_from(["nope", None, 3])), "schedule", ("schedule", "name")),
                "alpha0": lambda d: spoil_positive(d, "alpha0"), "n": lambda d: spoil_count(d, "n")}
    for k in SCHEDULE_HP[name]:
        spoilers[k] = lambda d, k=k: _spoil_schedule_hp(d, name, k)
    return make_case(draw, th_sched.learning_rates, valid, spoilers, check)


@fuzz("th.schedules.make_scheduler", 30)
def _th_make_scheduler(draw):
    name = draw(st.sampled_from(th_sched.NAMES))
    hp = _schedule_hp(draw, name)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    spoilers = {"name": lambda d: Bad(d(st.sampled_from(["nope", None])), "schedule", ("schedule", "name"))}
    for k in SCHEDULE_HP[name]:
        spoilers[k] = lambda d, k=k: _spoil_schedule_hp(d, name, k)
    return make_case(draw, lambda **kw: th_sched.make_scheduler(optimizer, **kw), {"name": name, **hp}, spoilers,
                     lambda out, kw: out.unit in ("epoch", "iteration") or pytest.fail(out.unit))


@fuzz("th.schedules.as_scheduler", 25)
def _th_as_scheduler(draw):
    name = draw(st.sampled_from(th_sched.NAMES))
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    return make_case(draw, th_sched.as_scheduler, {"optimizer": optimizer, "schedule": draw(st.sampled_from(
        [None, name, {"name": name}]))}, {
        "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3, {"k": 1}, ["constant"], {"name": "nope"}])),
                                  "schedule", ("schedule",))}, lambda out, kw: None)


@fuzz("th.training.train", 25)
def _th_train(draw):
    c = NetCase(draw, train=True, dropout=False)
    name = draw(st.sampled_from(sorted(OPTIMIZER_HP)))
    hp = {k: draw(st.floats(*bounds)) for k, bounds in OPTIMIZER_HP[name].items()}
    hp["lr"] = positive(draw, 1e-3, 0.3)
    toptimizer = th_optim.make_optimizer(name, c.model, **hp)
    optimizer = np_optim.make_optimizer(name, c.params, **hp)
    sampling = draw(st.sampled_from(["shuffle", "replacement"])) if not c.net.batch_norm else "shuffle"
    epochs = size(draw, 1, 2)
    valid = {"model": c.model, "X": c.Xt, "y": c.yt, "optimizer": toptimizer, "epochs": epochs,
             "batch_size": _bn_safe_batch_size(draw, c.m, c.net.batch_norm), "sampling": sampling,
             "seed": draw(st.integers(0, 99)),
             "schedule": None if name == "cs231n_momentum" else draw(st.sampled_from([None, "inverse_time"]))}

    def check(history, kw):
        nhist = np_train.train(c.net, c.params, c.X, c.Y, optimizer, epochs=epochs, batch_size=kw["batch_size"],
                               seed=kw["seed"], sampling=sampling, schedule=kw["schedule"])
        close(history.costs, nhist.costs, "costs", dtype=c.dtype, scale=max(1.0, max(map(abs, nhist.costs))),
              rtol=30 * tol(c.dtype))
    return make_case(draw, th_train.train, valid, {
        "X": lambda d: spoil_tensor(d, "X", c.Xt, fixed=(1,), also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", c.yt, c.net.num_classes, also=("X",)),
        "epochs": lambda d: spoil_count(d, "epochs"), "batch_size": lambda d: spoil_count(d, "batch_size"),
        "sampling": lambda d: spoil_choice(d, "sampling", np_mb.SAMPLING),
        "optimizer": lambda d: Bad(d(st.sampled_from([None, "adam", optimizer])), "optimizer", ("optimizer",)),
        "schedule": lambda d: Bad(d(st.sampled_from(["nope", 3])), "schedule", ("schedule",)),
        "model": spoil_model, "seed": lambda d: _spoil_rng(d, "seed")},
        check)


# =====================================================================================
# torch side: normalisation, splits, augmentation, early stopping, signals, diagnosis, gradcheck
# =====================================================================================

@fuzz("th.normalization.fit", 30)
def _th_norm_fit(draw):
    dtype, n_x, X = _norm_data(draw)
    Xt = as_tensor(draw, X.T.copy())

    def check(out, kw):
        X = to_np(kw["X_train"]).T   # the valid one, or extreme values of a single example
        mu, sigma2 = np_norm.fit(X)
        close(out[0], mu[:, 0], "mu", dtype=dtype, scale=max(1e-300, np.abs(X).max()))
        close(out[1], sigma2[:, 0], "sigma2", dtype=dtype, scale=max(1e-300, min(float(np.abs(X).max()), 1e150) ** 2))
    return make_case(draw, th_norm.fit, {"X_train": Xt}, {
        "X_train": lambda d: spoil_extreme("X_train", Xt, must_fail=Xt.shape[0] > 1) if d(st.integers(0, 4)) == 0
        else spoil_tensor(d, "X_train", Xt, pinned=False)}, check)


@fuzz("th.normalization.apply", 30)
def _th_norm_apply(draw):
    dtype, n_x, X = _norm_data(draw)
    mu, sigma2 = np_norm.fit(X)
    Xt, mut, s2t = th(X).T, th(mu[:, 0]), th(sigma2[:, 0])

    def check(out, kw):
        expected = np_norm.apply(X, mu, sigma2)
        close(out.T, expected, "X_norm", dtype=dtype, scale=max(1.0, np.abs(expected).max()))
    return make_case(draw, th_norm.apply, {"X": Xt, "mu": mut, "sigma2": s2t}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, pinned=False, also=("mu", "sigma2")),
        "mu": lambda d: spoil_tensor(d, "mu", mut, fixed=(0,), exclude=("rank-down",) if n_x == 1 else ()),
        "sigma2": lambda d: Bad(-s2t - 1, "negative variance", ("sigma2",)),
        "eps": lambda d: spoil_positive(d, "eps", allow_zero=True)}, check)


@fuzz("th.normalization.normalize_sets", 25)
def _th_normalize_sets(draw):
    dtype, n_x, X = _norm_data(draw)
    other = np_floats(draw, (n_x, size(draw)), dtype)

    def check(out, kw):
        expected, _ = np_norm.normalize_sets(X, other)
        close(out[0][1].T, expected[1], "dev", dtype=dtype, scale=max(1.0, np.abs(expected[1]).max()))
    return make_case(draw, lambda X_train, others: th_norm.normalize_sets(X_train, *others), {
        "X_train": th(X).T, "others": [th(other).T]}, {
        "others": lambda d: Bad([spoil_tensor(d, "others[0]", th(other).T, fixed=(1,)).value], "others[0] bad",
                                ("others[0]",))}, check)


@fuzz("th.splits.split_indices", 30)
def _th_split_indices(draw):
    m, ratios, seed = size(draw, 20, 40), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 99))
    permutation = torch.from_numpy(np_splits.shuffled(m, seed))
    labels = th_labels(draw, m, 2) if draw(st.booleans()) else None

    def check(parts, kw):
        nparts = np_splits.split_indices(m, ratios, seed=seed, labels=None if labels is None else labels.numpy()[None])
        assert all(np.array_equal(a.numpy(), b) for a, b in zip(parts, nparts))
    spoilers = {"ratios": lambda d: _spoil_ratios(d),
                "permutation": lambda d: Bad(d(st.sampled_from([permutation.float(), permutation[None], permutation * 0,
                                                                permutation.numpy()])), "permutation", ("permutation",))}
    if labels is not None:
        spoilers["labels"] = lambda d: spoil_th_labels(d, "labels", labels, 2, also=("m",),
                                                       exclude=("label C", "label 2**40", "None"))   # None: valid
    return make_case(draw, th_splits.split_indices, {"permutation": permutation, "ratios": ratios, "labels": labels},
                     spoilers, check)


@fuzz("th.splits.split", 25)
def _th_split(draw):
    m, ratios, seed = size(draw, 20, 30), draw(st.sampled_from(RATIOS)), draw(st.integers(0, 9))
    X, Xt, y, _ = _th_data(draw, m)
    stratify = draw(st.booleans())

    def check(parts, kw):
        nparts = np_splits.split_indices(m, ratios, seed=seed, labels=y.numpy()[None] if stratify else None)
        assert all(list(sub.indices) == idx.tolist() for sub, idx in zip(parts, nparts))
    return make_case(draw, th_splits.split, {"X": Xt, "y": y, "ratios": ratios, "seed": seed, "stratify": stratify}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, pinned=False, also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", y, 3, also=("X",), exclude=("label C", "label 2**40")),
        "ratios": lambda d: _spoil_ratios(d), "stratify": lambda d: spoil_flag(d, "stratify"),
        "seed": lambda d: spoil_count(d, "seed", minimum=0, maximum=None)}, check)


def _spoil_th_images(draw, timages) -> Bad:
    kind = draw(st.sampled_from(["dtype", "rank", "empty", "NaN", "numpy", "None"]))
    if kind == "dtype":
        dtype = draw(st.sampled_from([torch.int64, torch.float16, torch.bool, torch.int32]))
        return Bad(timages.to(dtype), f"images {dtype}", ("images",))
    if kind == "NaN":
        bad = timages.to(torch.float64)
        bad.view(-1)[0] = NAN
        return Bad(bad, "images NaN", ("images",))
    bad = {"rank": timages[0], "empty": timages[:0], "numpy": timages.numpy(), "None": None}[kind]
    return Bad(bad, f"images {kind}", ("images",))


@fuzz("th.augmentation.horizontal_flip", 25)
def _th_hflip(draw):
    images, padding, draws, timages = _aug_case(draw)
    flip = draws.flip if draw(st.booleans()) else torch.from_numpy(draws.flip)
    return make_case(draw, th_aug.horizontal_flip, {"images": timages, "flip": flip}, {
        "images": lambda d: _spoil_th_images(d, timages), "flip": lambda d: _spoil_flip(d, draws.flip)},
        lambda out, kw: np.array_equal(out.permute(0, 2, 3, 1).numpy(), np_aug.horizontal_flip(images, draws.flip))
        or pytest.fail("flip differs"))


@fuzz("th.augmentation.random_crop", 25)
def _th_crop(draw):
    images, padding, draws, timages = _aug_case(draw)
    return make_case(draw, th_aug.random_crop, {"images": timages, "offsets": draws.offsets, "padding": padding}, {
        "images": lambda d: _spoil_th_images(d, timages),
        "offsets": lambda d: _spoil_offsets(d, draws.offsets, padding),
        "padding": lambda d: Bad(d(st.sampled_from([-1, 1.5, "2", None])), "padding", ("padding",))},
        lambda out, kw: np.array_equal(out.permute(0, 2, 3, 1).numpy(),
                                       np_aug.random_crop(images, draws.offsets, padding)) or pytest.fail("crop"))


@fuzz("th.augmentation.augment", 25)
def _th_augment(draw):
    images, padding, draws, timages = _aug_case(draw)
    return make_case(draw, th_aug.augment, {"images": timages, "draws": draws, "padding": padding}, {
        "images": lambda d: _spoil_th_images(d, timages),
        "draws": lambda d: Bad(d(st.sampled_from([None, tuple(draws)])), "draws", ("draws",))},
        lambda out, kw: np.array_equal(out.permute(0, 2, 3, 1).numpy(), np_aug.augment(images, draws, padding))
        or pytest.fail("augment"))


@fuzz("th.augmentation.to_channels_first", 20)
def _th_to_channels_first(draw):
    images, padding, draws, timages = _aug_case(draw)
    return make_case(draw, th_aug.to_channels_first, {"images": images, "device": "cpu"}, {
        "images": lambda d: _spoil_images(d, images), "device": _spoil_device},
        lambda out, kw: torch.equal(out, timages) or pytest.fail("layout"))


@fuzz("th.early_stopping.EarlyStopping", 25)
def _th_early_stopping(draw):
    return make_case(draw, th_es.EarlyStopping, {"patience": size(draw, 1, 5), "min_delta": 0.0}, {
        "patience": lambda d: spoil_count(d, "patience"), "monitor": lambda d: spoil_choice(d, "monitor", np_es.MONITORS),
        "min_delta": lambda d: spoil_positive(d, "min_delta", allow_zero=True),
        "restore_best": lambda d: spoil_flag(d, "restore_best")}, lambda out, kw: None)


@fuzz("th.early_stopping.dev_cost", 25)
def _th_dev_cost(draw):
    c = NetCase(draw, train=False)

    def check(cost, kw):
        close(cost, np_es.dev_cost(c.net, c.X, c.Y)(c.params), "dev cost", dtype=c.dtype, scale=max(1.0, abs(cost)))
    call = lambda X_dev, y_dev, model: th_es.dev_cost(X_dev, y_dev)(model)  # noqa: E731
    return make_case(draw, call, {"X_dev": c.Xt, "y_dev": c.yt, "model": c.model}, {
        "X_dev": lambda d: spoil_tensor(d, "X_dev", c.Xt, fixed=(1,), also=("y_dev",)),
        "y_dev": lambda d: spoil_th_labels(d, "y_dev", c.yt, c.net.num_classes, also=("X_dev",)),
        "model": spoil_model}, check)


@fuzz("th.signals.signal_norms", 30)
def _th_signal_norms(draw):
    c = NetCase(draw, train=False, bn=False)

    def check(out, kw):
        for field_name, a, e in zip(out._fields, out, np_sig.signal_norms(c.net, c.params, c.X, c.Y)):
            close(a, e, field_name, dtype=c.dtype, rtol=10 * tol(c.dtype))
    return make_case(draw, th_sig.signal_norms, {"model": c.model, "X": c.Xt, "y": c.yt}, {
        "y": lambda d: spoil_th_labels(d, "y", c.yt, c.net.num_classes, also=("X",)),
        "X": lambda d: spoil_tensor(d, "X", c.Xt, fixed=(1,), also=("y",)), "model": spoil_model},
        check)


@fuzz("th.diagnosis.diagnose_model", 25)
def _th_diagnose_model(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, th_diag.diagnose_model, {"model": c.model, "X_train": c.Xt, "y_train": c.yt, "X_dev": c.Xt,
                                                   "y_dev": c.yt}, {
        "X_train": lambda d: spoil_tensor(d, "X_train", c.Xt, fixed=(1,), also=("y_train",)),
        "y_train": lambda d: spoil_th_labels(d, "y_train", c.yt, c.net.num_classes, also=("X_train",)),
        "X_dev": lambda d: spoil_tensor(d, "X_dev", c.Xt, fixed=(1,), also=("y_dev",)),
        "y_dev": lambda d: spoil_th_labels(d, "y_dev", c.yt, c.net.num_classes, also=("X_dev",)),
        "bayes_error": lambda d: _spoil_error(d, "bayes_error"), "model": spoil_model},
        lambda out, kw: out.case == np_diag.diagnose_network(c.net, c.params, c.X, c.Y, c.X, c.Y).case
        or pytest.fail(out.case))


def _th_gradcheck_case(draw):
    net, params, X, Y, model = _gradcheck_case(draw)
    return net, params, model, th(X).T, labels_row(Y)


@fuzz("th.gradcheck.gradient_check", 20)
def _th_gradient_check(draw):
    net, params, model, Xt, yt = _th_gradcheck_case(draw)
    return make_case(draw, th_gc.gradient_check, {"model": model, "X": Xt, "y": yt}, {
        "X": lambda d: spoil_tensor(d, "X", Xt, fixed=(1,), also=("y",)),
        "y": lambda d: spoil_th_labels(d, "y", yt, net.num_classes, also=("X",)),
        "epsilon": lambda d: spoil_positive(d, "epsilon"), "worst": lambda d: spoil_count(d, "worst", minimum=0),
        "model": spoil_model},
        lambda report, kw: report.difference < 1e-5 or pytest.fail(str(report)))


@fuzz("th.gradcheck.directional_check", 20)
def _th_directional_check(draw):
    net, params, model, Xt, yt = _th_gradcheck_case(draw)
    direction = np_gc.random_direction({k: v.shape for k, v in params.items()}, rng=1)
    return make_case(draw, th_gc.directional_check, {"model": model, "X": Xt, "y": yt, "direction": direction}, {
        "direction": lambda d: _spoil_direction(d, direction),
        "epsilon": lambda d: spoil_positive(d, "epsilon"), "model": spoil_model},
        lambda report, kw: report.overall.difference < 1e-5 or pytest.fail(str(report)))


def _spoil_direction(draw, direction) -> Bad:
    """Not a direction dict, or one with a NaN or inf entry (its slopes would be NaN)."""
    if draw(st.booleans()):
        return Bad(draw(st.sampled_from([{}, None, {"W1": 1}])), "direction", ("direction",))
    key = draw(st.sampled_from(sorted(direction)))
    bad = spoil_array(draw, f"direction['{key}']", direction[key], kinds=["NaN", "inf", "-inf", "matrix", "masked"])
    return Bad({**direction, key: bad.value}, f"direction[{key}] {bad.kind}", (key,))


@fuzz("th.gradcheck.autograd_gradcheck", 20)
def _th_autograd_gradcheck(draw):
    net, params, model, Xt, yt = _th_gradcheck_case(draw)
    return make_case(draw, th_gc.autograd_gradcheck, {"model": model, "X": Xt, "y": yt,
                                                     "fast_mode": draw(st.booleans())}, {
        "fast_mode": lambda d: spoil_flag(d, "fast_mode"),
        "y": lambda d: spoil_th_labels(d, "y", yt, net.num_classes, also=("X",)), "model": spoil_model,
        "eps": lambda d: spoil_positive(d, "eps"), "atol": lambda d: spoil_positive(d, "atol", allow_zero=True),
        "rtol": lambda d: spoil_positive(d, "rtol", allow_zero=True)},
        lambda out, kw: out.passed or pytest.fail(out.message))


# =====================================================================================
# The bridge
# =====================================================================================

@fuzz("bridge.resolve_device", 20)
def _bridge_resolve_device(draw):
    return make_case(draw, bridge.resolve_device, {"device": draw(st.sampled_from(["auto", "cpu"]))},
                     {"device": _spoil_device}, lambda out, kw: out.type == "cpu" or pytest.fail(str(out)))


@fuzz("bridge.resolve_dtype", 20)
def _bridge_resolve_dtype(draw):
    return make_case(draw, bridge.resolve_dtype, {"dtype": draw(st.sampled_from(DTYPES))}, {
        "dtype": lambda d: Bad(d(st.sampled_from(["float16", "double", None, torch.float64, ["float64"]])), "dtype",
                               ("dtype",))}, lambda out, kw: out == TH_DTYPES[kw["dtype"]] or pytest.fail(str(out)))


@fuzz("bridge.data_to_torch", 50)
def _bridge_data_to_torch(draw):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw)
    X, Y = np_floats(draw, (n_x, m), dtype), np_labels(draw, m, 3)

    def check(out, kw):
        Xt, yt = out
        assert torch.equal(Xt, th(X).T) and torch.equal(yt, labels_row(Y)) and yt.dtype == torch.int64
    return make_case(draw, bridge.data_to_torch, {"X": X, "Y": Y, "device": "cpu"}, {
        "X": lambda d: spoil_array(d, "X", X, pinned=False, also=("Y",)),
        "Y": lambda d: spoil_np_labels(d, "Y", Y, 3, also=("X",), exclude=("label C", "label 2**40", "None")),
        "device": _spoil_device}, check)


@fuzz("bridge.params_to_module", 50)
def _bridge_params_to_module(draw):
    c = NetCase(draw, train=False)
    model = th_models.Network(c.dims, dtype=TH_DTYPES[c.dtype],
                              **{k: v for k, v in c.kw.items() if k in ("hidden_activation", "output", "batch_norm")})

    def check(out, kw):
        for k, v in bridge.params_from_module(model).items():
            assert np.array_equal(v, c.params[k]), k
    return make_case(draw, bridge.params_to_module, {"params": c.params, "module": model}, {
        "params": lambda d: _spoil_bridge_params(d, c.params),
        "module": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3), "net"])), "module", ("module",))}, check)


def _spoil_bridge_params(draw, params, *, extra=True) -> Bad:
    kind = draw(st.sampled_from(["entry", "entry", "entry", "missing", "extra" if extra else "missing", "not a dict"]))
    keys = list(params)
    if kind == "entry":
        key = draw(st.sampled_from(keys))
        bad = spoil_array(draw, key, params[key], fixed=(0, 1), exclude=("rank-up",))
        return Bad({**params, key: bad.value}, f"params[{key}] {bad.kind}", (key,))
    if kind == "missing":
        key = draw(st.sampled_from(keys))
        return Bad({k: v for k, v in params.items() if k != key}, f"params without {key}", (key, "params"))
    if kind == "extra":
        return Bad({**params, "W9": params[keys[0]]}, "params with W9", ("W9", "params"))
    return Bad(list(params.values()), "params a list", ("params",))


@fuzz("bridge.params_to_linears", 30)
def _bridge_params_to_linears(draw):
    c = NetCase(draw, train=False, bn=False)
    return make_case(draw, bridge.params_to_linears, {"params": c.params, "linears": c.model.linears}, {
        "params": lambda d: _spoil_bridge_params(d, c.params),
        "linears": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3), [nn.ReLU()]])), "linears", ("linears",))},
        lambda out, kw: None)


@fuzz("bridge.params_from_module", 25)
def _bridge_params_from_module(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, bridge.params_from_module, {"module": c.model}, {
        "module": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3)])), "module", ("module",))},
        lambda out, kw: all(np.array_equal(out[k], c.params[k]) for k in c.params) or pytest.fail("differs"))


@fuzz("bridge.grads_from_module", 25)
def _bridge_grads_from_module(draw):
    c = NetCase(draw, train=True)
    backward = draw(st.booleans())
    if backward:
        c.model.cost(c.Xt, c.yt, c.th_masks(c.masks)).backward()
    return make_case(draw, bridge.grads_from_module, {"module": c.model}, {
        "module": lambda d: Bad(d(st.sampled_from([None, nn.Linear(2, 3)])), "module", ("module",))},
        lambda out, kw: sorted(out) == sorted("d" + k for k in c.params) or pytest.fail(sorted(out)),
        p_valid=3) if backward else Case(bridge.grads_from_module, {"module": c.model},
                                          Bad(c.model, "before backward", ("backward",)), "module")


@fuzz("bridge.state_to_module", 25)
def _bridge_state_to_module(draw):
    c = NetCase(draw, train=False, dropout=False)
    state = c.net.state

    def spoil_state(d):
        if not state:
            return Bad(d(st.sampled_from([None, [1]])), "state", ("state",))
        key = d(st.sampled_from(sorted(state)))
        bad = spoil_array(d, key, state[key], fixed=(0, 1), exclude=("rank-up",))
        return Bad({**state, key: bad.value}, f"state[{key}] {bad.kind}", (key,))
    return make_case(draw, bridge.state_to_module, {"state": state, "module": c.model}, {
        "state": spoil_state, "module": lambda d: spoil_model(d, "module")}, lambda out, kw: None)


@fuzz("bridge.masks_to_torch", 25)
def _bridge_masks_to_torch(draw):
    c = NetCase(draw, train=True)
    masks = c.masks or {"D1": np.ones((2, 3))}

    def check(out, kw):
        assert all(torch.equal(out[k], th(v).T) for k, v in masks.items())
    return make_case(draw, bridge.masks_to_torch, {"masks": masks, "device": "cpu"}, {
        "masks": lambda d: Bad(d(st.sampled_from([None, [1], {"D1": np.ones(3)}, {"D1": [[1.0]]}])), "masks",
                               ("masks", "D1")), "device": _spoil_device}, check)


@fuzz("bridge.logistic_to_module", 30)
def _bridge_logistic_to_module(draw):
    dtype, n_x = draw(st.sampled_from(DTYPES)), size(draw)
    w = np_floats(draw, (n_x, 1), dtype, layouts=("C", "F", "strided"))
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])

    def check(out, kw):
        w2, b2 = bridge.logistic_from_module(model)
        assert np.array_equal(w2, w) and b2 == kw["b"]
    return make_case(draw, bridge.logistic_to_module, {"w": w, "b": 0.5, "model": model}, {
        "w": lambda d: spoil_array(d, "w", w, fixed=(0, 1)), "b": _spoil_b,
        "model": lambda d: Bad(d(st.sampled_from([None, nn.Linear(n_x, 1)])), "model", ("model",))}, check)



@fuzz("bridge.to_numpy", 20)
def _bridge_to_numpy(draw):
    a, t = _th_floats(draw, (size(draw), size(draw)), draw(st.sampled_from(DTYPES)))
    return make_case(draw, bridge.to_numpy, {"tensor": t}, {
        "tensor": lambda d: Bad(d(st.sampled_from([a, a.tolist(), None, 1.0])), "tensor", ("tensor",))},
        lambda out, kw: np.array_equal(out, a) or pytest.fail("values"))


@fuzz("bridge.masks_from_torch", 20)
def _bridge_masks_from_torch(draw):
    c = NetCase(draw, train=True)
    masks = c.th_masks(c.masks) or {"D1": torch.ones(3, 2)}
    return make_case(draw, bridge.masks_from_torch, {"masks": masks}, {
        "masks": lambda d: Bad(d(st.sampled_from([None, [1], {"D1": np.ones((3, 2))}, {"D1": torch.ones(3)}])),
                               "masks", ("masks", "D1"))},
        lambda out, kw: all(np.array_equal(out[k], v.numpy().T) for k, v in masks.items()) or pytest.fail("masks"))


@fuzz("bridge.state_from_module", 20)
def _bridge_state_from_module(draw):
    c = NetCase(draw, train=False)
    return make_case(draw, bridge.state_from_module, {"module": c.model}, {
        "module": lambda d: spoil_model(d, "module")},
        lambda out, kw: all(np.allclose(out[k], v) for k, v in c.net.state.items()) or pytest.fail("state"))


@fuzz("bridge.logistic_from_module", 20)
def _bridge_logistic_from_module(draw):
    dtype, n_x = draw(st.sampled_from(DTYPES)), size(draw)
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    w, b = np_floats(draw, (n_x, 1), dtype), draw(st.floats(-10, 10))
    bridge.logistic_to_module(w, b, model)

    def check(out, kw):
        assert np.array_equal(out[0], w) and out[0].dtype == w.dtype and out[1] == float(np.dtype(dtype).type(b))
    return make_case(draw, bridge.logistic_from_module, {"model": model}, {"model": spoil_model}, check)


@fuzz("th.logistic.LogisticRegression.forward", 30)
def _th_logreg_forward(draw):
    dtype, n_x, m = draw(st.sampled_from(DTYPES)), size(draw), size(draw)
    model = th_log.LogisticRegression(n_x, dtype=TH_DTYPES[dtype])
    X, Xt = _th_floats(draw, (m, n_x), dtype)
    return make_case(draw, model, {"X": Xt}, {"X": lambda d: spoil_tensor(d, "X", Xt, fixed=(1,))},
                     lambda out, kw: bool((out == 0.5).all()) or pytest.fail(str(out)))


@fuzz("np.gradcheck.random_direction", 20)
def _np_random_direction(draw):
    shapes = {f"W{i}": (size(draw), size(draw)) for i in range(1, size(draw, 1, 3) + 1)}

    def check(d, kw):
        assert {k: v.shape for k, v in d.items()} == shapes
        assert abs(np.linalg.norm(np_gc.dictionary_to_vector(d)[0]) - 1) < 1e-12
    return make_case(draw, np_gc.random_direction, {"shapes": shapes, "rng": 0}, {"rng": _spoil_rng}, check)


@fuzz("np.gradcheck.relative_difference", 30)
def _np_relative_difference(draw):
    shape = (size(draw, 2, 4), 1)
    a, b = np_floats(draw, shape, "float64"), np_floats(draw, shape, "float64")
    any_rank = ("rank-down", "rank-up", "NaN", "inf", "-inf", "other float")   # accepted: any rank, values
    return make_case(draw, np_gc.relative_difference, {"a": a, "b": b}, {
        "a": lambda d: spoil_array(d, "a", a, fixed=(0, 1), pinned=False, also=("b",), exclude=any_rank),
        "b": lambda d: Bad(a.T.copy(), "(1, n) for (n, 1): broadcastable, not the same shape", ("a", "b"))
        if d(st.booleans()) else spoil_array(d, "b", b, fixed=(0, 1), pinned=False, also=("a",), exclude=any_rank)},
        lambda out, kw: 0 <= out <= 1 or pytest.fail(str(out)))


def _frobenius_case(draw):
    dtype = draw(st.sampled_from(DTYPES))
    x = np_floats(draw, (size(draw), size(draw)), dtype)
    return x, lambda out, kw: close(np.float64(out), np.linalg.norm(x.astype(np.float64)), "||x||", dtype=dtype)


@fuzz("np.signals.frobenius_norm", 25)
def _np_frobenius_norm(draw):
    x, check = _frobenius_case(draw)
    return make_case(draw, np_sig.frobenius_norm, {"x": x}, {
        "x": lambda d: spoil_array(d, "x", x, pinned=False, exclude=("rank-down", "rank-up", "NaN", "inf", "-inf"))},
        check)


@fuzz("th.signals.frobenius_norm", 25)
def _th_frobenius_norm(draw):
    x, check = _frobenius_case(draw)
    xt = as_tensor(draw, x)
    return make_case(draw, th_sig.frobenius_norm, {"x": xt}, {
        "x": lambda d: spoil_tensor(d, "x", xt, pinned=False, exclude=("rank-down", "rank-up", "NaN", "inf", "-inf"))},
        check)


# =====================================================================================
# The tests
# =====================================================================================

@pytest.mark.parametrize("name", list(TARGETS))
def test_fuzz(name):
    target = TARGETS[name]

    @settings(SETTINGS, max_examples=max(1, round(target.examples * SCALE)))
    @given(case=target.strategy)
    def run(case):
        execute(target, case)

    start = time.perf_counter()
    try:
        run()
    finally:
        target.seconds += time.perf_counter() - start


# =====================================================================================
# Library gaps the fuzzing found, all fixed: their minimal inputs stay as regression tests
# =====================================================================================

def fixed(gap_id: str, build, *names):
    """``build()`` must raise ValueError/TypeError naming one of ``names`` (the contract), as it has
    since the gap ``gap_id`` (RELIABILITY.md) was fixed; the fuzz targets draw its spoil kind too."""
    return pytest.param(build, names, id=gap_id)


def _np_net(**kw):
    return np_models.Network([2, 3, 1], "relu", "sigmoid", **kw)


def _xn(n_x=2, m=4):
    return np.random.default_rng(0).standard_normal((n_x, m))


def _yn(m=4):
    return np.array([[0, 1] * (m // 2)])


def _th_net(**kw):
    return th_models.Network([2, 3, 1], "relu", "sigmoid", **kw)


def _xt(m=4):
    return torch.from_numpy(_xn(2, m).T.copy())


def _yt(m=4):
    return torch.tensor([0, 1] * (m // 2))


def _np_train_with_dev(X_dev, Y_dev):
    net = _np_net()
    params = net.init_params()
    return np_train.train(net, params, _xn(), _yn(), np_optim.make_optimizer("gd", params, lr=0.1), epochs=1,
                          batch_size=2, seed=0, X_dev=X_dev, Y_dev=Y_dev)


NOT_A_MODEL = None   # the simplest wrong object; nn.Linear(2, 1) fails the same way


def _matrix(a):
    """``a`` as an np.matrix (without NumPy's PendingDeprecationWarning about the class)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(a)


def _np_stopper():
    """A NumPy EarlyStopping that has recorded one epoch of _np_net()'s parameters."""
    stopper = np_es.EarlyStopping(1, monitor="dev_cost", dev_cost=lambda params: 1.0)
    stopper.callback(0, None, _np_net().init_params())
    return stopper


def _th_stopper():
    stopper = th_es.EarlyStopping(1, monitor="dev_cost", dev_cost=lambda model: 1.0)
    stopper.callback(0, None, _th_net())
    return stopper


def _np_relu_backward(dA):
    _, cache = np_act.relu_forward(_xn())
    return np_act.relu_backward(dA, cache)


def _np_adam_step(scale):
    params = _np_net().init_params()
    grads = {"d" + k: np.full_like(v, scale) for k, v in params.items()}
    return np_optim.make_optimizer("adam", params, lr=0.01).step(params, grads)


def _th_adam_step(scale):
    model = _th_net()
    optimizer = th_optim.make_optimizer("adam", model, lr=0.01)
    for p in model.parameters():
        p.grad = torch.full_like(p, scale)
    return optimizer.step()


def _np_bn_predict_with_var(running_var):
    net = _np_net(batch_norm=True)
    params = net.init_params()   # (and a fresh state)
    net.state["running_var1"] = np.full((3, 1), running_var)
    return net.predict(params, _xn())


def _th_bn_net_with_var(running_var):
    model = _th_net(batch_norm=True).eval()
    model.norms[0].running_var.fill_(running_var)
    return model


def _th_eval_bn(running_var):
    module = th_bn.batch_norm(2).eval()
    module.running_var.fill_(running_var)
    return th_bn.apply(module, _xt())


FIXED_GAPS = [
    # ---------------------------------------------------------------- scratch_numpy
    fixed("draw_masks-dtype", lambda: _np_net(keep_probs=0.5).draw_masks(4, rng=0, dtype="float16"), "dtype"),
    fixed("draw_mask-shape", lambda: np_drop.draw_mask((-1, 2), 0.5, rng=0), "shape"),
    fixed("init_running-dtype", lambda: np_bn.init_running(3, "float16"), "dtype"),
    fixed("ewa-bias_correction", lambda: np_ewa.EWA(0.9, bias_correction="no"), "bias_correction"),
    fixed("course_permutation-seed", lambda: np_mb.course_permutation(4, 1.5), "seed"),
    fixed("draw_permutations-seed", lambda: np_mb.draw_permutations(4, 1, seed=-1), "seed"),
    fixed("epoch_index_batches-seed", lambda: np_mb.epoch_index_batches(4, epochs=1, batch_size=2, seed="a"), "seed"),
    fixed("sample_with_replacement-rng", lambda: np_mb.sample_with_replacement(4, 2, 1, "x"), "rng"),
    fixed("select-index_batches", lambda: np_mb.select(_xn(), _yn(), [np.array([0, 5])]), "index_batches"),
    fixed("course_loop_rates-schedule", lambda: np_sched.course_loop_rates("constant", 0.1, 3), "schedule"),
    fixed("logistic-b-huge", lambda: np_log.predict(np.zeros((2, 1)), 10 ** 400, _xn()), "b"),
    fixed("Network-dropout_rng-name", lambda: _np_net(dropout_rng=-1), "dropout_rng"),
    fixed("course_loop_rates-alpha0",
          lambda: np_sched.course_loop_rates(np_sched.make_schedule("constant"), -1.0, 1), "alpha0"),
    fixed("update_lr-names", lambda: np_sched.update_lr(0, 1, 0.5), "learning_rate0"),
    fixed("dev-data-named-X", lambda: _np_train_with_dev(_xn(3, 4), _yn()), "X_dev"),
    fixed("dev_cost-named-X", lambda: np_es.dev_cost(_np_net(), _xn(), _yn()[:, :3])(_np_net().init_params()), "Y_dev"),
    fixed("diagnose_network-named-X",
          lambda: np_diag.diagnose_network(_np_net(), _np_net().init_params(), _xn(), _yn(), _xn(3, 4), _yn()),
          "X_dev"),
    # ---------------------------------------------------------------- reference_torch
    fixed("th-ewa-bias_correction", lambda: th_ewa.EWA(0.9, bias_correction="no"), "bias_correction"),
    fixed("th-logistic-propagate-model", lambda: th_log.propagate(NOT_A_MODEL, _xt(), _yt()), "model"),
    fixed("th-logistic-optimize-model", lambda: th_log.optimize(NOT_A_MODEL, _xt(), _yt(), 1, 0.1), "model"),
    fixed("th-logistic-predict-model", lambda: th_log.predict(NOT_A_MODEL, _xt()), "model"),
    fixed("th-penalty-weights0", lambda: th_losses.l2_penalty([[1.0]], 0.1, 4), "weights[0]"),
    fixed("th-penalty-m", lambda: _th_net(l2=0.5).penalty(0), "m"),
    fixed("th-train_gd-model", lambda: th_models.train_gd(NOT_A_MODEL, _xt(), _yt(), 0.1, 1), "model"),
    fixed("th-make_optimizer-model", lambda: th_optim.make_optimizer("gd", NOT_A_MODEL, lr=0.1), "model"),
    fixed("th-optimizer_state-args", lambda: th_optim.optimizer_state(NOT_A_MODEL, _th_net()), "optimizer"),
    fixed("th-train-model",
          lambda: th_train.train(NOT_A_MODEL, _xt(), _yt(), torch.optim.SGD(_th_net().parameters(), lr=0.1),
                                 epochs=1, batch_size=2, seed=0), "model"),
    fixed("th-signal_norms-X", lambda: th_sig.signal_norms(_th_net(), _xt().numpy(), _yt()), "X"),
    fixed("th-signal_norms-model", lambda: th_sig.signal_norms(NOT_A_MODEL, _xt(), _yt()), "model"),
    fixed("th-diagnose_model-model", lambda: th_diag.diagnose_model(NOT_A_MODEL, _xt(), _yt(), _xt(), _yt()), "model"),
    fixed("th-gradcheck-model", lambda: th_gc.gradient_check(NOT_A_MODEL, _xt(), _yt()), "model"),
    fixed("th-autograd_gradcheck-eps", lambda: th_gc.autograd_gradcheck(_th_net(), _xt(), _yt(), eps=-1.0), "eps"),
    fixed("th-dev_cost-model", lambda: th_es.dev_cost(_xt(), _yt())(NOT_A_MODEL), "model"),
    fixed("th-dev_cost-named-X", lambda: th_es.dev_cost(_xt(), _yt()[:3])(_th_net()), "y_dev"),
    fixed("th-batch_norm-dtype", lambda: th_bn.batch_norm(3, dtype=torch.int64), "dtype"),
    fixed("th-PermutationSampler-None", lambda: th_mb.PermutationSampler(None), "permutation"),
    fixed("th-IndexBatchSampler-batches", lambda: th_mb.IndexBatchSampler(None, 3), "batches"),
    fixed("th-epoch_loader-sampling",
          lambda: th_mb.epoch_loader(_xt(), _yt(), [np.array([0, 1])], sampling="nope", batch_size=2), "sampling"),
    fixed("th-to_channels_first-images", lambda: th_aug.to_channels_first(np.ones((2, 2, 2))), "images"),
    fixed("bridge-masks_to_torch-device",
          lambda: bridge.masks_to_torch({"D1": np.ones((2, 2))}, device="gpu"), "device"),
    fixed("bridge-params_to_linears-extra",
          lambda: bridge.params_to_linears({**_np_net().init_params(), "W3": np.ones((1, 1)), "b3": np.zeros((1, 1))},
                                           _th_net().linears), "W3"),
    fixed("bridge-state_to_module-module",
          lambda: bridge.state_to_module({"running_mean1": np.zeros((3, 1))}, NOT_A_MODEL), "module"),
    fixed("bridge-to_numpy", lambda: bridge.to_numpy(np.ones(2)), "tensor"),
    # ---------------------------------------------------------------- issue 21, item 4: the classes
    # NumPy subclasses: np.matrix (* is a matrix product) and masked arrays (a NaN under the mask)
    fixed("np.matrix-dA", lambda: _np_relu_backward(_matrix(_xn())), "dA"),
    fixed("np.matrix-l2_penalty", lambda: np_losses.l2_penalty({"W1": _matrix(np.ones((2, 2)))}, 0.1, 4), "W1"),
    fixed("np.matrix-dropout-mask", lambda: np_drop.dropout_forward(_xn(), 0.5, _matrix(np.ones((2, 4)))), "mask"),
    fixed("masked-array-NaN", lambda: np_act.sigmoid_forward(np.ma.masked_invalid([[1.0, np.nan]])), "Z"),
    # wrong objects
    fixed("train_gd-network", lambda: np_models.train_gd(NOT_A_MODEL, _np_net().init_params(), _xn(), _yn(), 0.1, 1),
          "network"),
    fixed("train-network", lambda: np_train.train("net", {}, _xn(), _yn(), np_optim.make_optimizer(
        "gd", _np_net().init_params(), lr=0.1), epochs=1, batch_size=2, seed=0), "network"),
    fixed("dev_cost-network", lambda: np_es.dev_cost(NOT_A_MODEL, _xn(), _yn()), "network"),
    fixed("signal_norms-network", lambda: np_sig.signal_norms(NOT_A_MODEL, {}, _xn(), _yn()), "network"),
    fixed("diagnose_network-network",
          lambda: np_diag.diagnose_network(NOT_A_MODEL, {}, _xn(), _yn(), _xn(), _yn()), "network"),
    fixed("EarlyStopping.restore-missing", lambda: _np_stopper().restore({"W1": np.zeros((3, 2))}), "params"),
    fixed("EarlyStopping.restore-shape",
          lambda: _np_stopper().restore({k: np.zeros((5, 5)) for k in _np_net().init_params()}), "W1"),
    fixed("th-EarlyStopping.restore-other",
          lambda: _th_stopper().restore(th_models.Network([2, 4, 1], "relu", "sigmoid")), "model"),
    fixed("th-EarlyStopping.restore-None-model", lambda: _th_stopper().restore("model"), "model"),
    fixed("bridge-state_to_module-extra",
          lambda: bridge.state_to_module({"running_mean1": np.zeros((3, 1))}, _th_net()), "running_mean1"),
    fixed("th-train-other-optimizer",
          lambda: th_train.train(_th_net(), _xt(), _yt(), torch.optim.SGD(_th_net().parameters(), lr=0.1),
                                 epochs=1, batch_size=2, seed=0), "optimizer"),
    # sizes past the limit (MAX_COUNT = 2**40), empty arrays, shapes that broadcast
    fixed("Network-layer_dims-2**40", lambda: np_models.Network([2 ** 40, 2 ** 40, 1]), "layer_dims"),
    fixed("th-Network-layer_dims-2**40", lambda: th_models.Network([2 ** 40, 2 ** 40, 1]), "layer_dims"),
    fixed("th-batch_norm-n-2**62", lambda: th_bn.batch_norm(2 ** 62), "n"),
    fixed("course_permutation-m-2**62", lambda: np_mb.course_permutation(2 ** 62, 0), "m"),
    fixed("sample_with_replacement-m-2**62", lambda: np_mb.sample_with_replacement(2 ** 62, 2, 1, 0), "m"),
    fixed("frobenius_norm-empty", lambda: np_sig.frobenius_norm(np.zeros((0, 3))), "x"),
    fixed("th-frobenius_norm-empty", lambda: th_sig.frobenius_norm(torch.zeros(0, 3)), "x"),
    fixed("relative_difference-broadcast", lambda: np_gc.relative_difference(np.ones((3, 1)), np.ones((1, 3))), "b"),
    # values
    fixed("batchnorm_forward-negative-var", lambda: np_bn.batchnorm_forward(
        _xn(), np.ones((2, 1)), np.zeros((2, 1)), {"mean": np.zeros((2, 1)), "var": -np.ones((2, 1))}, train=False),
        "running['var']"),
    fixed("th-batchnorm-negative-var", lambda: _th_eval_bn(-1.0), "running_var"),
    fixed("Network-state-negative-var", lambda: _np_bn_predict_with_var(-1.0), "state['running_var1']"),
    fixed("th-Network-negative-var", lambda: _th_bn_net_with_var(-1.0).scores(_xt()), "norms[0].running_var"),
    # torch.manual_seed takes seeds up to 2**64 - 1; past that its overflow message named no argument
    fixed("th-dropout-seed-2**70", lambda: th_drop.recover_mask((2, 3), 0.5, 2**70), "seed"),
    # predict and accuracy switch to eval mode themselves: a model left in training mode is checked too
    fixed("th-Network-negative-var-predict-in-train-mode",
          lambda: _th_bn_net_with_var(-1.0).train().predict(_xt()), "norms[0].running_var"),
    fixed("th-Network-negative-var-accuracy-in-train-mode",
          lambda: _th_bn_net_with_var(-1.0).train().accuracy(_xt(), _yt()), "norms[0].running_var"),
    fixed("bridge-state_to_module-negative-var", lambda: bridge.state_to_module(
        {"running_mean1": np.zeros((3, 1)), "running_var1": -np.ones((3, 1))}, _th_bn_net_with_var(1.0)),
        "running_var1"),
    fixed("th-directional_check-NaN", lambda: th_gc.directional_check(
        _th_net(), _xt(), _yt(), {k: np.full(v.shape, np.nan) for k, v in _np_net().init_params().items()}),
        "direction['W1']"),
    fixed("Schedule.lr-count-10**400", lambda: np_sched.make_schedule("inverse_time").lr(0.1, 10 ** 400), "count"),
    # extremes whose mathematics is finite: refused, with the same reason, on both sides (CONVENTIONS.md)
    fixed("adam-gradient-1e200", lambda: _np_adam_step(1e200), "grads['dW1']"),
    fixed("th-adam-gradient-1e200", lambda: _th_adam_step(1e200), "p.grad"),
    fixed("normalization-fit-1e200", lambda: np_norm.fit(np.array([[1e200, -1e200]])), "X_train"),
    fixed("th-normalization-fit-1e200", lambda: th_norm.fit(torch.tensor([[1e200], [-1e200]])), "X_train"),
]


@pytest.mark.parametrize("build, names", FIXED_GAPS)
def test_fixed_gaps(build, names):
    try:
        out = build()
    except (ValueError, TypeError) as error:
        assert any(re.search(arg(n), str(error)) for n in names), \
            f"{type(error).__name__} {str(error)!r} names none of {names}"
        return
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"unexpected {type(error).__name__}: {error}", pytrace=False)
    pytest.fail(f"accepted silently, returned {type(out).__name__}", pytrace=False)


def _report_lines() -> list[str]:
    ran = [t for t in TARGETS.values() if t.counts["tried"]]
    width = max((len(t.name) for t in ran), default=10)
    lines = [f"{'function':<{width}}  {'tried':>5}  {'answered':>8}  {'rejected':>8}  {'seconds':>7}  "
             "distinct spoils rejected: arguments"]
    for t in ran:
        args = sorted({a for a, _ in t.kinds})
        lines.append(f"{t.name:<{width}}  {t.counts['tried']:>5}  {t.counts['answered']:>8}  "
                     f"{t.counts['rejected']:>8}  {t.seconds:>7.2f}  {len(t.kinds):>3}: {', '.join(args)}"[:200])
    total = sum(t.counts["tried"] for t in ran)
    lines.append(f"{len(ran)} functions, {total} inputs in {sum(t.seconds for t in ran):.1f} s")
    return lines


class _Summary:
    """Prints the table of inputs per function in pytest's terminal summary."""

    def pytest_terminal_summary(self, terminalreporter):
        if any(t.counts["tried"] for t in TARGETS.values()):
            terminalreporter.write_sep("-", "fuzz: inputs tried per function (parity_tests/test_fuzz.py)")
            for line in _report_lines():
                terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def _summary(request):
    plugin = _Summary()
    if not request.config.pluginmanager.is_registered(plugin):
        request.config.pluginmanager.register(plugin, "twinprop-fuzz-summary")
    yield


def test_every_target_was_fuzzed():
    """Runs last: every target whose test ran saw at least MIN_EXAMPLES inputs, valid and spoiled."""
    ran = [t for t in TARGETS.values() if t.counts["tried"]]
    if not ran:
        pytest.skip("run together with test_fuzz")
    few = {t.name: dict(t.counts) for t in ran
           if t.counts["tried"] < MIN_EXAMPLES or not t.counts["answered"]
           or (t.counts["spoiled"] and not t.counts["rejected"])}
    assert not few, f"targets fuzzed too little (or never valid / never spoiled): {few}"
