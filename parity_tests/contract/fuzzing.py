"""The fuzzing harness of the input contract, shared by the test_*.py files of this package.

The contract, for any input: either the right answer, or a ``ValueError``/``TypeError`` whose
message names the argument that is wrong -- never an IndexError, a broadcast error, a
RuntimeWarning or an AttributeError from inside NumPy/torch, never a silently wrong shape.

Each concept's test file registers its targets with ``@fuzz(name, examples)``: a hypothesis
strategy that draws a *case*: valid arguments of random sizes, dtypes (float32/float64, int/float
labels) and memory layouts (C, Fortran, strided, read-only; contiguous, non-contiguous,
requires_grad), and with probability 2/3 one argument spoiled by a spoiler of
``strategies.py`` (rank-1/rank-3, empty, mismatched size, int/bool/float16/complex/object/str
dtype, float32 mixed with float64, NaN/inf, labels out of range, fractional, huge or of the wrong
dtype, zero/negative/NaN/huge hyperparameters, unknown choices, non-bool flags, bad seeds and index
batches, a wrong model or network, lists, None; since issue 21: np.matrix and masked arrays, counts
and layer sizes past MAX_COUNT, negative running variances, non-finite directions, extreme scales).
``execute`` then holds the call to the contract:

* no spoiled argument: the call must succeed, and ``check`` compares the answer with the other
  side (NumPy vs torch, through the bridge's layouts) or with the closed form: shapes, dtypes,
  values, finiteness;
* a spoiled argument: ``ValueError``/``TypeError`` naming it (or, for a mismatch, its partner);
  ``Bad.must_fail=False`` marks the few spoils whose right answer is also acceptable.

Each test file runs its own targets (``test_fuzz``, over ``targets_of(__name__)``) and keeps the
minimal inputs of the library gaps the fuzzing found there (``test_fixed_gaps``, through
``fixed``/``assert_fixed``; RELIABILITY.md lists them). The registry ``TARGETS`` gathers the
targets of every file that was imported.

CI budget: ``derandomize=True`` (the same examples on every run), ``deadline=None``, no example
database, and per-target ``max_examples`` chosen so that all targets run in well under a minute on
2 cores. ``test_cross_cutting.py::test_every_target_was_fuzzed`` (moved to the end of the run by
conftest.py) asserts each target saw at least its minimum number of examples, and conftest.py
prints a table of the counts at the end of the session (the terminal summary).

The helpers below the harness are the ones several concepts' targets share: comparisons with the
other side, the spoilers of models, networks, caches and masks, the network cases (``NetCase``) and
the small networks and data of the fixed gaps.
"""

from __future__ import annotations

import collections
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

from parity_tests.contract.strategies import (
    Bad, HUGE_INT, NAN, arg, as_tensor, np_floats, np_labels, positive, seeded_rng, size, spoil_array, spoil_flag,
    spoil_np_labels, spoil_tensor, spoil_th_labels, th_labels,
)
from reference_torch import bridge
from reference_torch import models as th_models
from scratch_numpy import models as np_models


DTYPES = ("float64", "float32")
TH_DTYPES = {"float64": torch.float64, "float32": torch.float32}
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")


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
    module: str = ""                           # the test file that registered it


TARGETS: dict[str, Target] = {}
DEFAULT_EXAMPLES = 40
MIN_EXAMPLES = 15  # every target must have been run on at least this many inputs


# CI runs the counts below; TWINPROP_FUZZ_SCALE=10 runs ten times as many (still derandomized) for a deep local run
SCALE = float(os.environ.get("TWINPROP_FUZZ_SCALE", "1"))


def fuzz(name: str, examples: int = DEFAULT_EXAMPLES):
    """Register a composite strategy ``fn(draw) -> Case`` as the fuzz target ``name`` of the calling
    test file."""
    def register(fn):
        assert name not in TARGETS, name
        TARGETS[name] = Target(name, st.composite(fn)(), examples, module=fn.__module__)
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


def draw_layer_dims(draw, lo=2, hi=4, width=4):
    return [size(draw, 1, width) for _ in range(draw(st.integers(lo, hi)))]


def spoil_layer_dims(draw, name="layer_dims") -> Bad:
    value = draw(st.sampled_from([[], [3], [2, 0, 1], [2, -1], [2, 1.5], [2.0, 3], "23", None, 3, [2, None],
                                  [2, True], np.array([[2, 3]]), [2, "3"], [2, 2 ** 70], [2 ** 40, 2 ** 40, 1],
                                  [2, 2 ** 21, 2 ** 21]]))
    return Bad(value, f"layer_dims={value!r}"[:40], (name,))


def spoil_rng(draw, name="rng", *, none_ok=False) -> Bad:
    value = draw(st.sampled_from([-1, "0", 1.5, True, [0]] + ([] if none_ok else [None])))
    return Bad(value, f"rng={value!r}", (name,))


def spoil_np_dtype(draw, name="dtype") -> Bad:
    value = draw(st.sampled_from(["float16", "int64", "double", np.float64, None, "f8", ""]))
    return Bad(value, f"dtype={value!r}", (name,))


def draw_dims(draw, *, output=None, hidden=(0, 2), width=4):
    output = output or draw(st.sampled_from(sorted(np_models.OUTPUTS)))
    last = 1 if output == "sigmoid" else size(draw, 2, width)
    return [size(draw, 1, width)] + [size(draw, 1, width) for _ in range(draw(st.integers(*hidden)))] + [last], output


def spoil_b(draw, name="b") -> Bad:
    value = draw(st.sampled_from([NAN, float("inf"), "0", None, True, [0.0], np.array([1.0, 2.0]), 1 + 0j, HUGE_INT]))
    return Bad(value, f"b={value!r}"[:40], (name,))


def net_options(draw, dims, output):
    """(NumPy Network kwargs, torch Network kwargs) for a random valid configuration."""
    L = len(dims) - 1
    kw = {"hidden_activation": draw(st.sampled_from(HIDDEN_ACTIVATIONS)), "output": output}
    if draw(st.booleans()):
        kw["leaky_slope"] = positive(draw, 0.0, 0.5, zero=True)
    if draw(st.booleans()):
        kw["l2_lambda"], kw["l1_lambda"] = positive(draw, 0.0, 1.0, zero=True), positive(draw, 0.0, 1.0, zero=True)
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


def spoil_net_params(draw, params, *, also=()) -> Bad:
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


def spoil_masks(draw, masks, dims) -> Bad:
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
        self.dims, output = draw_dims(draw, hidden=hidden)
        self.kw, th_kw = net_options(draw, self.dims, output)
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
        spoilers = {"params": lambda d: spoil_net_params(d, self.params),
                    "X": lambda d: spoil_array(d, "X", self.X, fixed=(0,), also=("Y",) if Y else ())}
        if Y:
            spoilers["Y"] = lambda d: spoil_np_labels(d, "Y", self.Y, self.net.num_classes, also=("X",))
        if masks and self.train:
            spoilers["masks"] = lambda d: spoil_masks(d, self.masks, self.dims)
        if flag:
            spoilers[flag] = lambda d: spoil_flag(d, flag)
        return spoilers

    def torch_cost_and_grads(self):
        cost = self.model.cost(self.Xt, self.yt, self.th_masks(self.masks))
        cost.backward()
        return cost, bridge.grads_from_module(self.model)

    def scale(self, grads):
        return max(1.0, *(np.abs(g).max() for g in grads.values()))


OPTIMIZER_HP = {"gd": {}, "momentum": {"beta": (0.0, 0.9)}, "cs231n_momentum": {"mu": (0.0, 0.9)},
                "rmsprop": {"beta": (0.5, 0.99), "eps": (1e-8, 1e-3)},
                "adam": {"beta1": (0.5, 0.9), "beta2": (0.9, 0.999), "eps": (1e-8, 1e-3)}}


def th_floats(draw, shape, dtype, **kw):
    """(the NumPy array, the same numbers as a tensor in a random torch layout)."""
    a = np_floats(draw, shape, dtype, layouts=("C",), **kw)
    return a, as_tensor(draw, a)


def spoil_th_dtype(draw, name="dtype") -> Bad:
    value = draw(st.sampled_from(["float64", torch.int64, torch.float16, np.float64, None, torch.bfloat16]))
    return Bad(value, f"dtype={value!r}", (name,))


def spoil_device(draw, name="device") -> Bad:
    value = draw(st.sampled_from(["gpu", "CPU", "", None, 0, "meta"]))
    return Bad(value, f"device={value!r}", (name,))


def spoil_generator(draw, name="generator") -> Bad:
    value = draw(st.sampled_from([0, "g", np.random.default_rng(0), [1]]))
    return Bad(value, f"generator={type(value).__name__}", (name,))


def th_net_spoilers(c: NetCase, *, y=True, masks=False):
    spoilers = {"X": lambda d: spoil_tensor(d, "X", c.Xt, fixed=(1,), also=("y",) if y else ())}
    if y:
        spoilers["y"] = lambda d: spoil_th_labels(d, "y", c.yt, c.net.num_classes, also=("X",))
    if masks and c.model.training:
        spoilers["masks"] = lambda d: spoil_th_masks(d, c.th_masks(c.masks))
    return spoilers


def spoil_th_masks(draw, masks) -> Bad:
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


def draw_th_data(draw, m=None):
    dtype = draw(st.sampled_from(DTYPES))
    m = m or size(draw, 1, 10)
    X, Xt = th_floats(draw, (m, size(draw)), dtype)
    return X, Xt, th_labels(draw, m, 3), m


def fixed(gap_id: str, build, *names):
    """``build()`` must raise ValueError/TypeError naming one of ``names`` (the contract), as it has
    since the gap ``gap_id`` (RELIABILITY.md) was fixed; the fuzz targets draw its spoil kind too."""
    return pytest.param(build, names, id=gap_id)


def tiny_np_net(**kw):
    return np_models.Network([2, 3, 1], "relu", "sigmoid", **kw)


def tiny_xn(n_x=2, m=4):
    return np.random.default_rng(0).standard_normal((n_x, m))


def tiny_yn(m=4):
    return np.array([[0, 1] * (m // 2)])


def tiny_th_net(**kw):
    return th_models.Network([2, 3, 1], "relu", "sigmoid", **kw)


def tiny_xt(m=4):
    return torch.from_numpy(tiny_xn(2, m).T.copy())


def tiny_yt(m=4):
    return torch.tensor([0, 1] * (m // 2))


NOT_A_MODEL = None   # the simplest wrong object; nn.Linear(2, 1) fails the same way


def matrix(a):
    """``a`` as an np.matrix (without NumPy's PendingDeprecationWarning about the class)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(a)


def th_bn_net_with_var(running_var):
    model = tiny_th_net(batch_norm=True).eval()
    model.norms[0].running_var.fill_(running_var)
    return model


def targets_of(module: str) -> list[str]:
    """The names of the targets registered by ``module`` (a test file's ``__name__``)."""
    return [name for name, target in TARGETS.items() if target.module == module]


def run_target(name: str) -> None:
    """Fuzz the target ``name`` with its number of examples (times SCALE), timing it."""
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


def assert_fixed(build, names) -> None:
    """``build()`` raises ValueError/TypeError naming one of ``names`` (a fixed gap's contract)."""
    try:
        out = build()
    except (ValueError, TypeError) as error:
        assert any(re.search(arg(n), str(error)) for n in names), \
            f"{type(error).__name__} {str(error)!r} names none of {names}"
        return
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"unexpected {type(error).__name__}: {error}", pytrace=False)
    pytest.fail(f"accepted silently, returned {type(out).__name__}", pytrace=False)


def report_lines() -> list[str]:
    """The table of inputs tried per function, for the targets that ran (conftest.py prints it)."""
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


def fixed_gaps_test(gaps):
    """A concept file's ``test_fixed_gaps``: each of its fixed gaps (``fixed(...)`` rows) still refused.
    Bound by name in the file: ``test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)``."""
    @pytest.mark.parametrize("build, names", gaps)
    def test_fixed_gaps(build, names):
        assert_fixed(build, names)
    return test_fixed_gaps


def fuzz_test(module: str):
    """A concept file's ``test_fuzz``: every target the file registered above this line, one test each.
    Bound by name in the file: ``test_fuzz = fuzz_test(__name__)``."""
    @pytest.mark.parametrize("name", targets_of(module))
    def test_fuzz(name):
        run_target(name)
    return test_fuzz
