"""The input-validation contract, on both sides of Twinprop.

Every public function and model checks its inputs: a wrong shape (a rank-1
array where a column (n, 1) or a row (1, m) is meant included), a mismatched
m between X and Y, labels outside [0, C), NaN/inf, integer arrays where floats
are needed, float32 mixed with float64, an empty batch, a bad hyperparameter,
an unknown activation/output/init method, bad layer_dims and unknown
device/dtype strings are a ``ValueError`` whose message names the argument
(and the expected shape or range) -- never an IndexError, a broadcast error or
a RuntimeError from inside NumPy/torch, and never a silently broadcast result.

Layout: scratch_numpy takes examples in columns (X (n_x, m), Y (1, m));
reference_torch is batch-first (X (m, n_x), y (m,) int64).

Every bad-input table row is ``case(description, match, build)``: ``build()``
must raise ``ValueError`` whose message matches ``match`` (the argument's
name). Rows marked ``gap=...`` document an input the library does not reject
yet: they are strict xfails, so fixing the library turns them into failures
that ask for the mark to be removed.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from reference_torch import activations as th_act
from reference_torch import bridge
from reference_torch import init as th_init
from reference_torch import layers as th_layers
from reference_torch import logistic as th_logistic
from reference_torch import losses as th_losses
from reference_torch import models as th_models
from reference_torch import validation as th_val
from scratch_numpy import activations as np_act
from scratch_numpy import init as np_init
from scratch_numpy import layers as np_layers
from scratch_numpy import logistic as np_logistic
from scratch_numpy import losses as np_losses
from scratch_numpy import models as np_models
from scratch_numpy import validation as np_val

REPO = Path(__file__).resolve().parents[1]
SCRATCH_DIR = REPO / "scratch_numpy"

NAN, INF = float("nan"), float("inf")
N_X, HIDDEN, M, C = 2, 3, 4, 3  # features, hidden units, examples, classes (multiclass nets)
LABELS2 = (0, 1, 1, 0)  # binary labels for the m = 4 examples
LABELS3 = (0, 1, 2, 1)  # C = 3 class labels


# =====================================================================================
# Helpers: table rows, the assertion, and fresh data for every call
# =====================================================================================

# A row's ``gap`` is the reason of a strict xfail documenting a library gap not closed yet (none open now).

def case(desc: str, match: str, build, gap: str | None = None):
    """A table row: ``build()`` must raise ValueError matching ``match``."""
    marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
    return pytest.param(build, match, id=desc, marks=marks)


def arg(name: str) -> str:
    """Regex for an argument's name as a whole word (``X`` does not match ``AX``)."""
    return rf"(?<!\w){re.escape(name)}(?!\w)"


def expect_value_error(build, match):
    """Assert ``build()`` raises ValueError matching ``match``. Failures are reported without
    a traceback (``pytrace=False``): the many strict xfails stay cheap and the report says
    what was raised, and where, instead."""
    try:
        result = build()
    except ValueError as exc:
        if not re.search(match, str(exc)):
            pytest.fail(f"ValueError {str(exc)!r} does not match {match!r}", pytrace=False)
        return
    except Exception as exc:  # noqa: BLE001  (anything else breaks the contract)
        where = traceback.extract_tb(exc.__traceback__)[-1]
        pytest.fail(f"expected ValueError matching {match!r}, got {type(exc).__name__}: {exc} "
                    f"(raised at {Path(where.filename).name}:{where.lineno})", pytrace=False)
    pytest.fail(f"expected ValueError matching {match!r}, nothing was raised "
                f"(returned {type(result).__name__})", pytrace=False)


def xn(n_x: int = N_X, m: int = M, dtype=np.float64) -> np.ndarray:
    """Fresh NumPy features (n_x, m), examples in columns, the same numbers every call."""
    return np.random.default_rng(7).standard_normal((n_x, m)).astype(dtype)


def yn(labels=LABELS2, dtype=np.int64) -> np.ndarray:
    """Fresh NumPy labels (1, m)."""
    return np.array([labels], dtype=dtype)


def xt(n_x: int = N_X, m: int = M, dtype=torch.float64) -> torch.Tensor:
    """Fresh batch-first torch features (m, n_x), the transpose of ``xn``."""
    return torch.from_numpy(xn(n_x, m).T.copy()).to(dtype)


def yt(labels=LABELS2) -> torch.Tensor:
    """Fresh torch labels (m,) int64."""
    return torch.tensor(labels, dtype=torch.int64)


def poke(a, value, index: int = 1):
    """A copy of ``a`` with one entry replaced (NaN, inf, an out-of-range value)."""
    if isinstance(a, torch.Tensor):
        a = a.clone()
        a.view(-1)[index] = value
        return a
    a = a.copy()
    a.flat[index] = value
    return a


NP_NETS = {  # output -> (layer_dims, hidden activation, valid labels)
    "sigmoid": ([N_X, HIDDEN, 1], "relu", LABELS2),
    "softmax": ([N_X, HIDDEN, C], "tanh", LABELS3),
    "linear": ([N_X, HIDDEN, C], "leaky_relu", LABELS3),
}


def np_net(output: str = "sigmoid") -> np_models.Network:
    dims, hidden, _ = NP_NETS[output]
    return np_models.Network(dims, hidden, output)


def np_params(net: np_models.Network, dtype: str = "float64") -> dict:
    return net.init_params("he", rng=0, dtype=dtype)


def th_net(output: str = "sigmoid", dtype=torch.float64) -> th_models.Network:
    dims, hidden, _ = NP_NETS[output]
    net = th_models.Network(dims, hidden, output, dtype=dtype)
    return net.init_params("he", torch.Generator().manual_seed(0))


def th_logreg(dtype=torch.float64) -> th_logistic.LogisticRegression:
    return th_logistic.LogisticRegression(N_X, dtype=dtype)


def w0(n_x: int = N_X, dtype=np.float64) -> np.ndarray:
    return np.zeros((n_x, 1), dtype=dtype)


@pytest.fixture
def np_data():
    """(X (2, 4), Y (1, 4)) for the NumPy side."""
    return xn(), yn()


@pytest.fixture
def th_data():
    """(X (4, 2), y (4,)) for the torch side, the same examples batch-first."""
    return xt(), yt()


# =====================================================================================
# 1. scratch_numpy never imports torch
# =====================================================================================

def _scratch_modules() -> list[str]:
    return sorted(p.stem for p in SCRATCH_DIR.glob("*.py") if p.stem != "__init__")


def _torch_imports(tree: ast.AST) -> list[int]:
    """Line numbers of every import of torch, at any depth (functions, classes, try blocks),
    including ``__import__("torch")`` and ``importlib.import_module("torch...")``."""
    def is_torch(name):
        return isinstance(name, str) and (name == "torch" or name.startswith("torch."))

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(is_torch(a.name) for a in node.names):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and is_torch(node.module):
            lines.append(node.lineno)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in ("__import__", "import_module") and is_torch(node.args[0].value):
                lines.append(node.lineno)
    return lines


def test_torch_import_detector_is_not_vacuous():
    src = "import os\ndef f():\n    from torch import nn\n    import torch.nn.functional as F\n" \
          "class K:\n    def g(self):\n        __import__('torch')\n"
    assert _torch_imports(ast.parse(src)) == [3, 4, 7]
    assert _torch_imports(ast.parse("from . import torchlike\nimport torchvision_not\n")) == []


def test_scratch_numpy_never_imports_torch():
    files = sorted(SCRATCH_DIR.glob("*.py"))
    modules = _scratch_modules()
    assert {"activations", "init", "layers", "logistic", "losses", "models", "validation"} <= set(modules)

    # (a) statically: no import of torch anywhere in the source, at any depth
    offenders = {f.name: lines for f in files
                 if (lines := _torch_imports(ast.parse(f.read_text(), filename=str(f))))}
    assert offenders == {}, f"scratch_numpy imports torch: {offenders}"

    # (b) dynamically: importing every module in a fresh interpreter never loads torch
    imports = ", ".join(["scratch_numpy"] + [f"scratch_numpy.{m}" for m in modules])
    code = f"import sys; import {imports}; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# =====================================================================================
# 2. Bad inputs, NumPy side
# =====================================================================================

# ----------------------------------------------------------------- shared X / Y tables

# (description, make X, make Y): every X is bad for an (n_x = 2, m = 4) entry point.
NP_BAD_X = [
    ("X rank-1 (n_x,)", lambda: xn()[:, 0].copy(), yn),
    ("X rank-1 (m,)", lambda: xn()[0].copy(), yn),
    ("X rank-3", lambda: xn()[None], yn),
    ("X batch-first (m, n_x)", lambda: xn().T.copy(), yn),
    ("X wrong n_x", lambda: xn(n_x=N_X + 1), yn),
    ("X int64", lambda: np.ones((N_X, M), dtype=np.int64), yn),
    ("X bool", lambda: xn() > 0, yn),
    ("X float16", lambda: xn(dtype=np.float16), yn),
    ("X float32 with float64 params", lambda: xn(dtype=np.float32), yn),
    ("X list", lambda: xn().tolist(), yn),
    ("X scalar", lambda: 1.0, yn),
    ("X NaN", lambda: poke(xn(), NAN), yn),
    ("X +inf", lambda: poke(xn(), INF), yn),
    ("X -inf", lambda: poke(xn(), -INF), yn),
    ("X empty batch m=0", lambda: xn(m=0), lambda: yn(())),
]


def _np_net_method(method: str, output: str = "sigmoid"):
    def call(X, Y):
        net = np_net(output)
        params = np_params(net)
        if method in ("forward", "predict"):
            return getattr(net, method)(params, X)
        if method == "train_gd":
            return np_models.train_gd(net, params, X, Y, 0.1, 2)
        return getattr(net, method)(params, X, Y)
    return call


NP_X_ENTRIES = {
    "Network.forward": _np_net_method("forward"),
    "Network.loss": _np_net_method("loss"),
    "Network.cost": _np_net_method("cost"),
    "Network.predict": _np_net_method("predict"),
    "Network.accuracy": _np_net_method("accuracy"),
    "Network[softmax].loss": _np_net_method("loss", "softmax"),
    "train_gd": _np_net_method("train_gd"),
    "logistic.propagate": lambda X, Y: np_logistic.propagate(w0(), 0.0, X, Y),
    "logistic.optimize": lambda X, Y: np_logistic.optimize(w0(), 0.0, X, Y, 2, 0.1),
    "logistic.predict": lambda X, Y: np_logistic.predict(w0(), 0.0, X),
}


def _np_bad_y(num_classes: int, labels):
    """(description, make Y): every Y is bad for an m = 4, ``num_classes`` entry point."""
    head = tuple(labels[:-1])
    return [
        ("Y rank-1 (m,)", lambda: yn(labels)[0].copy()),
        ("Y column (m, 1)", lambda: yn(labels).T.copy()),
        ("Y two rows (2, m)", lambda: np.vstack([yn(labels), yn(labels)])),
        ("Y m - 1 labels", lambda: yn(head)),
        ("Y m + 1 labels", lambda: yn(tuple(labels) + (0,))),
        (f"Y label {num_classes} out of range", lambda: yn(head + (num_classes,))),
        ("Y label -1", lambda: yn(head + (-1,))),
        ("Y fractional label", lambda: yn(head + (0.5,), np.float64)),
        ("Y NaN label", lambda: yn(head + (NAN,), np.float64)),
        ("Y inf label", lambda: yn(head + (INF,), np.float64)),
        ("Y bool", lambda: yn(labels) > 0),
        ("Y strings", lambda: yn(labels).astype(str)),
        ("Y list", lambda: yn(labels).tolist()),
        ("Y None", lambda: None),
    ]


NP_Y_ENTRIES = {  # name -> (call(Y), num_classes, valid labels)
    "Network.loss": (lambda Y: _np_net_method("loss")(xn(), Y), 2, LABELS2),
    "Network.cost": (lambda Y: _np_net_method("cost")(xn(), Y), 2, LABELS2),
    "Network.accuracy": (lambda Y: _np_net_method("accuracy")(xn(), Y), 2, LABELS2),
    "Network[softmax].loss": (lambda Y: _np_net_method("loss", "softmax")(xn(), Y), C, LABELS3),
    "Network[linear].cost": (lambda Y: _np_net_method("cost", "linear")(xn(), Y), C, LABELS3),
    "train_gd": (lambda Y: _np_net_method("train_gd")(xn(), Y), 2, LABELS2),
    "logistic.propagate": (lambda Y: np_logistic.propagate(w0(), 0.0, xn(), Y), 2, LABELS2),
    "logistic.optimize": (lambda Y: np_logistic.optimize(w0(), 0.0, xn(), Y, 2, 0.1), 2, LABELS2),
    "losses.binary_cross_entropy": (
        lambda Y: np_losses.binary_cross_entropy(np.full((1, M), 0.5), Y), 2, LABELS2),
    "losses.binary_cross_entropy_with_logits": (
        lambda Y: np_losses.binary_cross_entropy_with_logits(xn(1), Y), 2, LABELS2),
    "losses.softmax_cross_entropy": (lambda Y: np_losses.softmax_cross_entropy(xn(C), Y), C, LABELS3),
    "losses.svm_hinge": (lambda Y: np_losses.svm_hinge(xn(C), Y), C, LABELS3),
}


def _xy_case(entry_name, entry, desc, make_x, make_y, match):
    return case(f"{entry_name} | {desc}", match, lambda: entry(make_x(), make_y()))


def _y_case(entry_name, entry, desc, make_y, match):
    row = f"{entry_name} | {desc}"
    return case(row, match, lambda: entry(make_y()))


NP_X_CASES = [_xy_case(name, entry, desc, mx, my, arg("X"))
              for name, entry in NP_X_ENTRIES.items() for desc, mx, my in NP_BAD_X]
NP_Y_CASES = [_y_case(name, entry, desc, my, arg("Y"))
              for name, (entry, k, labels) in NP_Y_ENTRIES.items() for desc, my in _np_bad_y(k, labels)]


@pytest.mark.parametrize("build, match", NP_X_CASES)
def test_numpy_bad_X(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", NP_Y_CASES)
def test_numpy_bad_Y(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- hyperparameters

LR_BAD = [(0, "0"), (0.0, "0.0"), (-0.1, "negative"), (NAN, "NaN"), (INF, "inf"),
          ("0.1", "str"), (None, "None"), (True, "bool"), ([0.1], "list")]
ITER_BAD = [(0, "0"), (-3, "negative"), (2.5, "fractional"), (3.0, "float 3.0"),
            ("10", "str"), (None, "None"), (True, "bool"), (np.float64(3), "np.float64")]

NP_TRAINERS = {  # name -> call(learning_rate, num_iterations)
    "train_gd": lambda lr, it: np_models.train_gd(np_net(), np_params(np_net()), xn(), yn(), lr, it),
    "logistic.optimize": lambda lr, it: np_logistic.optimize(w0(), 0.0, xn(), yn(), it, lr),
}


def _hyper_cases(trainers):
    rows = []
    for name, train in trainers.items():
        for value, desc in LR_BAD:
            rows.append(case(f"{name} | learning_rate {desc}", arg("learning_rate"),
                             lambda train=train, value=value: train(value, 2)))
        for value, desc in ITER_BAD:
            rows.append(case(f"{name} | num_iterations {desc}", arg("num_iterations"),
                             lambda train=train, value=value: train(0.1, value)))
    return rows


@pytest.mark.parametrize("build, match", _hyper_cases(NP_TRAINERS))
def test_numpy_bad_hyperparameters(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- models.Network

# (description, constructor kwargs, match, gap); the defaults are [2, 3, 1], relu, sigmoid.
NET_CTOR_BAD = [
    ("layer_dims too short", dict(layer_dims=[2]), arg("layer_dims"), None),
    ("layer_dims empty", dict(layer_dims=[]), arg("layer_dims"), None),
    ("layer_dims zero width", dict(layer_dims=[2, 0, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims negative", dict(layer_dims=[2, -3, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims fractional", dict(layer_dims=[2, 1.5, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims float 2.0", dict(layer_dims=[2.0, 3, 1]), re.escape("layer_dims[0]"), None),
    ("layer_dims str entry", dict(layer_dims=[2, "3", 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims bool entry", dict(layer_dims=[2, True, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims None entry", dict(layer_dims=[2, None, 1]), re.escape("layer_dims[1]"), None),
    ("layer_dims an int", dict(layer_dims=3), arg("layer_dims"), None),
    ("layer_dims None", dict(layer_dims=None), arg("layer_dims"), None),
    ("hidden_activation unknown", dict(hidden_activation="softplus"), arg("hidden_activation"), None),
    ("hidden_activation wrong case", dict(hidden_activation="ReLU"), arg("hidden_activation"), None),
    ("hidden_activation softmax", dict(hidden_activation="softmax"), arg("hidden_activation"), None),
    ("hidden_activation hardmax", dict(hidden_activation="hardmax"), arg("hidden_activation"), None),
    ("hidden_activation None", dict(hidden_activation=None), arg("hidden_activation"), None),
    ("hidden_activation list", dict(hidden_activation=["relu"]), arg("hidden_activation"), None),
    ("output unknown", dict(output="hinge"), arg("output"), None),
    ("output hardmax", dict(output="hardmax"), arg("output"), None),
    ("output None", dict(output=None), arg("output"), None),
    ("output list", dict(output=["sigmoid"]), arg("output"), None),
    ("sigmoid output with 3 units", dict(layer_dims=[2, 3, 3], output="sigmoid"),
     re.escape("layer_dims[-1]"), None),
    ("softmax output with 1 unit", dict(layer_dims=[2, 3, 1], output="softmax"),
     re.escape("layer_dims[-1]"), None),
    ("linear output with 1 unit", dict(layer_dims=[2, 3, 1], output="linear"),
     re.escape("layer_dims[-1]"), None),
    ("leaky_slope negative", dict(leaky_slope=-0.1), arg("leaky_slope"), None),
    ("leaky_slope NaN", dict(leaky_slope=NAN), arg("leaky_slope"), None),
    ("leaky_slope str", dict(leaky_slope="0.01"), arg("leaky_slope"), None),
    ("leaky_slope None", dict(leaky_slope=None), arg("leaky_slope"), None),
]
NET_DEFAULTS = dict(layer_dims=[N_X, HIDDEN, 1], hidden_activation="relu", output="sigmoid")


def _ctor_case(cls, desc, kwargs, match, gap):
    full = {**NET_DEFAULTS, **kwargs}
    return case(desc, match, lambda: cls(full.pop("layer_dims"), **full), gap)


@pytest.mark.parametrize("build, match", [
    _ctor_case(np_models.Network, *row) for row in NET_CTOR_BAD])
def test_numpy_network_constructor(build, match):
    expect_value_error(build, match)


def _np_params_variant(change):
    params = np_params(np_net())
    change(params)
    return params


def _set(key, make):
    return lambda params: params.__setitem__(key, make(params))


NP_BAD_PARAMS = [  # (description, change to a valid params dict, match)
    ("W2 missing", lambda p: p.pop("W2"), arg("W2")),
    ("b1 missing", lambda p: p.pop("b1"), arg("b1")),
    ("unexpected key W3", _set("W3", lambda p: np.ones((1, 1))), arg("W3")),
    ("unexpected key dW1", _set("dW1", lambda p: p["W1"]), arg("dW1")),
    ("W1 transposed", _set("W1", lambda p: p["W1"].T.copy()), re.escape("params['W1']")),
    ("W1 rank-1", _set("W1", lambda p: p["W1"][:, 0].copy()), re.escape("params['W1']")),
    ("W1 int", _set("W1", lambda p: np.ones_like(p["W1"], dtype=np.int64)), re.escape("params['W1']")),
    ("W1 NaN", _set("W1", lambda p: poke(p["W1"], NAN)), re.escape("params['W1']")),
    ("W2 inf", _set("W2", lambda p: poke(p["W2"], INF, 0)), re.escape("params['W2']")),
    ("W1 list", _set("W1", lambda p: p["W1"].tolist()), re.escape("params['W1']")),
    ("b1 rank-1 (n,)", _set("b1", lambda p: p["b1"][:, 0].copy()), re.escape("params['b1']")),
    ("b1 row (1, n)", _set("b1", lambda p: p["b1"].T.copy()), re.escape("params['b1']")),
    ("b2 scalar", _set("b2", lambda p: 0.0), re.escape("params['b2']")),
    ("b1 float32 among float64", _set("b1", lambda p: p["b1"].astype(np.float32)), re.escape("params['b1']")),
    ("W2 float32 among float64", _set("W2", lambda p: p["W2"].astype(np.float32)), re.escape("params['W2']")),
]


def _np_net_call(method: str, params):
    """Network.<method> (or train_gd) on the valid X, Y with the given params."""
    net = np_net()
    if method in ("forward", "predict"):
        return getattr(net, method)(params, xn())
    if method == "train_gd":
        return np_models.train_gd(net, params, xn(), yn(), 0.1, 1)
    return getattr(net, method)(params, xn(), yn())


def _np_params_cases():
    rows = []
    for method in ("forward", "loss", "cost", "predict", "accuracy", "train_gd"):
        for desc, change, match in NP_BAD_PARAMS:
            rows.append(case(f"Network.{method} | params {desc}", match,
                             lambda method=method, change=change: _np_net_call(method, _np_params_variant(change))))
        for bad, desc in ((None, "None"), ([np.ones((3, 2))], "list")):
            rows.append(case(f"Network.{method} | params {desc}", arg("params"),
                             lambda method=method, bad=bad: _np_net_call(method, bad)))
    return rows


@pytest.mark.parametrize("build, match", _np_params_cases())
def test_numpy_network_bad_params(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    case("init_params method unknown", arg("method"), lambda: np_net().init_params("kaiming")),
    case("init_params method None", arg("method"), lambda: np_net().init_params(None)),
    case("init_params dtype float16", arg("dtype"), lambda: np_net().init_params(dtype="float16")),
    case("init_params dtype int64", arg("dtype"), lambda: np_net().init_params(dtype="int64")),
    case("init_params rng negative", arg("rng"), lambda: np_net().init_params(rng=-1)),
    case("init_params rng str", arg("rng"), lambda: np_net().init_params(rng="0")),
])
def test_numpy_network_init_params(build, match):
    expect_value_error(build, match)


def test_numpy_train_gd_rejects_before_training():
    """train_gd validates data and hyperparameters before touching the loop."""
    params = np_params(np_net())
    before = {k: v.copy() for k, v in params.items()}
    with pytest.raises(ValueError, match=arg("learning_rate")):
        np_models.train_gd(np_net(), params, xn(), yn(), -1.0, 5)
    assert all(np.array_equal(params[k], before[k]) for k in params)


# ----------------------------------------------------------------- validation helpers

@pytest.mark.parametrize("build, match", [
    case("check_float_array list", arg("A"), lambda: np_val.check_float_array("A", [[1.0]])),
    case("check_float_array None", arg("A"), lambda: np_val.check_float_array("A", None)),
    case("check_float_array int", arg("A"), lambda: np_val.check_float_array("A", np.ones((2, 2), int))),
    case("check_float_array float16", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2), np.float16))),
    case("check_float_array complex", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2), complex))),
    case("check_float_array dtype pin", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2), np.float32), dtype=np.float64)),
    case("check_float_array rank-1", "rank-1", lambda: np_val.check_float_array("A", np.ones(2))),
    case("check_float_array rank-3", arg("A"), lambda: np_val.check_float_array("A", np.ones((1, 2, 2)))),
    case("check_float_array ndim=1 given 2-D", arg("A"),
         lambda: np_val.check_float_array("A", np.ones((2, 2)), ndim=1)),
    case("check_float_array shape", re.escape("(3, *)"),
         lambda: np_val.check_float_array("A", np.ones((2, 2)), shape=(3, None))),
    case("check_float_array empty", arg("A"), lambda: np_val.check_float_array("A", np.ones((2, 0)))),
    case("check_float_array NaN", arg("A"), lambda: np_val.check_float_array("A", poke(np.ones((2, 2)), NAN))),
    case("check_float_array -inf", arg("A"),
         lambda: np_val.check_float_array("A", poke(np.ones((2, 2)), -INF))),
    case("check_same_shape", arg("dA"),
         lambda: np_val.check_same_shape("dA", np.ones((2, 3)), "Z", np.ones((3, 2)))),
    case("check_labels not array", arg("Y"), lambda: np_val.check_labels("Y", [[0, 1]], m=2, num_classes=2)),
    case("check_labels rank-1", arg("Y"), lambda: np_val.check_labels("Y", np.array([0, 1]), m=2, num_classes=2)),
    case("check_labels m", arg("Y"), lambda: np_val.check_labels("Y", yn(), m=3, num_classes=2)),
    case("check_labels range", arg("Y"), lambda: np_val.check_labels("Y", yn(LABELS3), m=4, num_classes=2)),
    case("check_labels negative", arg("Y"), lambda: np_val.check_labels("Y", yn((0, -1)), m=2, num_classes=2)),
    case("check_labels fractional", arg("Y"),
         lambda: np_val.check_labels("Y", yn((0, 0.5), np.float64), m=2, num_classes=2)),
    case("check_labels NaN", arg("Y"),
         lambda: np_val.check_labels("Y", yn((0, NAN), np.float64), m=2, num_classes=2)),
    case("check_labels bool", arg("Y"),
         lambda: np_val.check_labels("Y", np.array([[True, False]]), m=2, num_classes=2)),
    case("check_labels strings", arg("Y"),
         lambda: np_val.check_labels("Y", np.array([["0", "1"]]), m=2, num_classes=2)),
    case("check_labels empty", arg("Y"),
         lambda: np_val.check_labels("Y", yn(()), m=0, num_classes=2), None),
    case("check_positive 0", arg("lr"), lambda: np_val.check_positive("lr", 0)),
    case("check_positive negative, allow_zero", arg("lr"), lambda: np_val.check_positive("lr", -1e-9, allow_zero=True)),
    case("check_positive NaN", arg("lr"), lambda: np_val.check_positive("lr", NAN)),
    case("check_positive inf", arg("lr"), lambda: np_val.check_positive("lr", INF)),
    case("check_positive str", arg("lr"), lambda: np_val.check_positive("lr", "1")),
    case("check_positive None", arg("lr"), lambda: np_val.check_positive("lr", None)),
    case("check_positive bool", arg("lr"), lambda: np_val.check_positive("lr", True)),
    case("check_positive complex", arg("lr"), lambda: np_val.check_positive("lr", 1 + 0j)),
    case("check_count 0", arg("n"), lambda: np_val.check_count("n", 0)),
    case("check_count float", arg("n"), lambda: np_val.check_count("n", 2.0)),
    case("check_count bool", arg("n"), lambda: np_val.check_count("n", True)),
    case("check_count str", arg("n"), lambda: np_val.check_count("n", "2")),
    case("check_count below minimum", arg("n"), lambda: np_val.check_count("n", 1, minimum=2)),
    case("check_choice unknown", arg("method"), lambda: np_val.check_choice("method", "x", ("a", "b"))),
    case("check_choice None", arg("method"), lambda: np_val.check_choice("method", None, {"a": 1})),
    case("check_choice list, tuple choices", arg("method"),
         lambda: np_val.check_choice("method", ["a"], ("a", "b"))),
    case("check_choice list, dict choices", arg("method"),
         lambda: np_val.check_choice("method", ["a"], {"a": 1}), None),
    case("check_params not a mapping", arg("params"), lambda: np_val.check_params("params", [1], keys=("W1",))),
    case("check_params missing", arg("params"),
         lambda: np_val.check_params("params", {"W1": np.ones((1, 1))}, keys=("W1", "b1"))),
])
def test_numpy_validation_helpers(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- activations

def _np_bad_Z():
    return [
        ("Z list", lambda: xn().tolist()),
        ("Z None", lambda: None),
        ("Z int", lambda: np.ones((N_X, M), np.int64)),
        ("Z bool", lambda: xn() > 0),
        ("Z rank-1", lambda: xn()[0].copy()),
        ("Z rank-3", lambda: xn()[None]),
        ("Z empty", lambda: xn(m=0)),
        ("Z NaN", lambda: poke(xn(), NAN)),
        ("Z inf", lambda: poke(xn(), INF)),
    ]


def _np_bad_dA():
    return [  # the cache comes from a float64 (2, 4) Z
        ("dA transposed", lambda: xn().T.copy()),
        ("dA wrong m", lambda: xn(m=M + 1)),
        ("dA rank-1", lambda: xn()[0].copy()),
        ("dA float32", lambda: xn(dtype=np.float32)),
        ("dA int", lambda: np.ones((N_X, M), np.int64)),
        ("dA NaN", lambda: poke(xn(), NAN)),
        ("dA list", lambda: xn().tolist()),
    ]


def _np_activation_cases():
    rows = []
    for name in np_act.NAMES:
        fwd, bwd = np_act.FORWARD[name], np_act.BACKWARD[name]
        for desc, make in _np_bad_Z():
            rows.append(case(f"{name}_forward | {desc}", arg("Z"), lambda fwd=fwd, make=make: fwd(make())))
        for desc, make in _np_bad_dA():
            rows.append(case(f"{name}_backward | {desc}", arg("dA"),
                             lambda fwd=fwd, bwd=bwd, make=make: bwd(make(), fwd(xn())[1])))
    for slope, desc in ((-0.1, "negative"), (NAN, "NaN"), ("0.01", "str"), (None, "None")):
        rows.append(case(f"leaky_relu_forward | slope {desc}", arg("slope"),
                         lambda slope=slope: np_act.leaky_relu_forward(xn(), slope)))
    rows.append(case("relu_backward | cache a plain (Z, A) tuple", arg("cache"),
                     lambda: np_act.relu_backward(xn(), (xn(), xn())), None))
    return rows


@pytest.mark.parametrize("build, match", _np_activation_cases())
def test_numpy_activations(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- layers

def _lin_fwd(A_prev=None, W=None, b=None):
    """layers.linear_forward with n_prev = 2, n = 3, m = 4; None means the valid argument."""
    A_prev = xn() if A_prev is None else A_prev()
    W = xn(HIDDEN, N_X) if W is None else W()
    b = np.zeros((HIDDEN, 1)) if b is None else b()
    return np_layers.linear_forward(A_prev, W, b)


_VALID = object()


def _lin_bwd(dZ, cache=_VALID):
    """layers.linear_backward with the cache of a valid _lin_fwd() unless ``cache`` is given."""
    return np_layers.linear_backward(dZ(), _lin_fwd()[1] if cache is _VALID else cache)


@pytest.mark.parametrize("build, match", [
    case("linear_forward | W list", arg("W"), lambda: _lin_fwd(W=lambda: xn(HIDDEN, N_X).tolist())),
    case("linear_forward | W int", arg("W"), lambda: _lin_fwd(W=lambda: np.ones((HIDDEN, N_X), int))),
    case("linear_forward | W rank-1", arg("W"), lambda: _lin_fwd(W=lambda: np.ones(N_X))),
    case("linear_forward | W rank-3", arg("W"), lambda: _lin_fwd(W=lambda: np.ones((1, HIDDEN, N_X)))),
    case("linear_forward | W empty", arg("W"), lambda: _lin_fwd(W=lambda: np.ones((0, N_X)))),
    case("linear_forward | W NaN", arg("W"), lambda: _lin_fwd(W=lambda: poke(xn(HIDDEN, N_X), NAN))),
    case("linear_forward | W transposed", arg("A_prev"), lambda: _lin_fwd(W=lambda: xn(N_X, HIDDEN))),
    case("linear_forward | A_prev wrong n_prev", arg("A_prev"), lambda: _lin_fwd(A_prev=lambda: xn(N_X + 1))),
    case("linear_forward | A_prev batch-first", arg("A_prev"), lambda: _lin_fwd(A_prev=lambda: xn().T.copy())),
    case("linear_forward | A_prev rank-1", arg("A_prev"), lambda: _lin_fwd(A_prev=lambda: xn()[:, 0].copy())),
    case("linear_forward | A_prev float32", arg("A_prev"), lambda: _lin_fwd(A_prev=lambda: xn(dtype=np.float32))),
    case("linear_forward | A_prev int", arg("A_prev"),
         lambda: _lin_fwd(A_prev=lambda: np.ones((N_X, M), np.int64))),
    case("linear_forward | A_prev NaN", arg("A_prev"), lambda: _lin_fwd(A_prev=lambda: poke(xn(), NAN))),
    case("linear_forward | A_prev empty m=0", arg("A_prev"), lambda: _lin_fwd(A_prev=lambda: xn(m=0))),
    case("linear_forward | A_prev list", arg("A_prev"), lambda: _lin_fwd(A_prev=lambda: xn().tolist())),
    case("linear_forward | b rank-1 (n,)", arg("b"), lambda: _lin_fwd(b=lambda: np.zeros(HIDDEN))),
    case("linear_forward | b row (1, n)", arg("b"), lambda: _lin_fwd(b=lambda: np.zeros((1, HIDDEN)))),
    case("linear_forward | b (n, m)", arg("b"), lambda: _lin_fwd(b=lambda: np.zeros((HIDDEN, M)))),
    case("linear_forward | b (n + 1, 1)", arg("b"), lambda: _lin_fwd(b=lambda: np.zeros((HIDDEN + 1, 1)))),
    case("linear_forward | b (1, 1)", arg("b"), lambda: _lin_fwd(b=lambda: np.zeros((1, 1)))),
    case("linear_forward | b scalar", arg("b"), lambda: _lin_fwd(b=lambda: 0.0)),
    case("linear_forward | b float32", arg("b"), lambda: _lin_fwd(b=lambda: np.zeros((HIDDEN, 1), np.float32))),
    case("linear_forward | b int", arg("b"), lambda: _lin_fwd(b=lambda: np.zeros((HIDDEN, 1), int))),
    case("linear_forward | b NaN", arg("b"), lambda: _lin_fwd(b=lambda: poke(np.zeros((HIDDEN, 1)), NAN))),
    case("linear_backward | dZ wrong n", arg("dZ"), lambda: _lin_bwd(lambda: xn(HIDDEN + 1))),
    case("linear_backward | dZ wrong m", arg("dZ"), lambda: _lin_bwd(lambda: xn(HIDDEN, M + 1))),
    case("linear_backward | dZ transposed", arg("dZ"), lambda: _lin_bwd(lambda: xn(M, HIDDEN))),
    case("linear_backward | dZ rank-1", arg("dZ"), lambda: _lin_bwd(lambda: xn(HIDDEN)[:, 0].copy())),
    case("linear_backward | dZ float32", arg("dZ"), lambda: _lin_bwd(lambda: xn(HIDDEN, dtype=np.float32))),
    case("linear_backward | dZ int", arg("dZ"), lambda: _lin_bwd(lambda: np.ones((HIDDEN, M), int))),
    case("linear_backward | dZ NaN", arg("dZ"), lambda: _lin_bwd(lambda: poke(xn(HIDDEN), NAN))),
    case("linear_backward | dZ list", arg("dZ"), lambda: _lin_bwd(lambda: xn(HIDDEN).tolist())),
    case("linear_backward | cache None", arg("cache"), lambda: _lin_bwd(lambda: xn(HIDDEN), cache=None), None),
])
def test_numpy_layers(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- losses

def _np_first_arg_cases():
    P = lambda shape, v=0.5: np.full(shape, v)  # noqa: E731  (probabilities)
    tables = {  # name -> (call(first, Y), argument name, make valid Y for m=0, bad firsts)
        "binary_cross_entropy": (np_losses.binary_cross_entropy, "AL", [
            ("rank-1", lambda: P(M)), ("column (m, 1)", lambda: P((M, 1))), ("(2, m)", lambda: P((2, M))),
            ("int", lambda: np.ones((1, M), int)), ("NaN", lambda: poke(P((1, M)), NAN)),
            ("above 1", lambda: poke(P((1, M)), 1.5)), ("below 0", lambda: poke(P((1, M)), -0.1)),
            ("float16", lambda: P((1, M)).astype(np.float16)), ("list", lambda: P((1, M)).tolist())]),
        "binary_cross_entropy_with_logits": (np_losses.binary_cross_entropy_with_logits, "Z", [
            ("rank-1", lambda: xn(1)[0].copy()), ("column (m, 1)", lambda: xn(1).T.copy()),
            ("(2, m)", lambda: xn(2)), ("int", lambda: np.ones((1, M), int)),
            ("NaN", lambda: poke(xn(1), NAN)), ("inf", lambda: poke(xn(1), INF)),
            ("list", lambda: xn(1).tolist())]),
        "softmax_cross_entropy": (np_losses.softmax_cross_entropy, "scores", [
            ("rank-1", lambda: xn(C)[:, 0].copy()), ("rank-3", lambda: xn(C)[None]),
            ("int", lambda: np.ones((C, M), int)), ("NaN", lambda: poke(xn(C), NAN)),
            ("inf", lambda: poke(xn(C), INF)), ("list", lambda: xn(C).tolist())]),
        "svm_hinge": (np_losses.svm_hinge, "scores", [
            ("rank-1", lambda: xn(C)[:, 0].copy()), ("rank-3", lambda: xn(C)[None]),
            ("int", lambda: np.ones((C, M), int)), ("NaN", lambda: poke(xn(C), NAN)),
            ("-inf", lambda: poke(xn(C), -INF)), ("list", lambda: xn(C).tolist())]),
    }
    rows = []
    for name, (fn, argname, bads) in tables.items():
        labels = LABELS3 if argname == "scores" else LABELS2
        for desc, make in bads:
            rows.append(case(f"losses.{name} | {argname} {desc}", arg(argname),
                             lambda fn=fn, make=make, labels=labels: fn(make(), yn(labels))))
        rows.append(case(f"losses.{name} | empty batch m=0", arg(argname),
                         lambda fn=fn, argname=argname: fn(
                             np.full((C if argname == "scores" else 1, 0), 0.5), yn(()))))
    for delta, desc in ((-1.0, "negative"), (NAN, "NaN"), (INF, "inf"), ("1", "str"), (None, "None")):
        rows.append(case(f"losses.svm_hinge | delta {desc}", arg("delta"),
                         lambda delta=delta: np_losses.svm_hinge(xn(C), yn(LABELS3), delta)))
    return rows


@pytest.mark.parametrize("build, match", _np_first_arg_cases())
def test_numpy_losses_bad_inputs(build, match):
    expect_value_error(build, match)


def _np_penalty_cases():
    good = lambda: {"W1": xn(HIDDEN, N_X), "b1": np.zeros((HIDDEN, 1)), "W2": xn(1, HIDDEN)}  # noqa: E731
    rows = []
    for fn in (np_losses.l2_penalty, np_losses.l1_penalty):
        n = fn.__name__
        for lambd, desc in ((-0.1, "negative"), (NAN, "NaN"), (INF, "inf"), ("0.1", "str"),
                            (None, "None"), (True, "bool")):
            rows.append(case(f"{n} | lambd {desc}", arg("lambd"), lambda fn=fn, lambd=lambd: fn(good(), lambd, M)))
        for m, desc in ((0, "0"), (-4, "negative"), (NAN, "NaN"), ("4", "str"), (None, "None")):
            rows.append(case(f"{n} | m {desc}", arg("m"), lambda fn=fn, m=m: fn(good(), 0.1, m)))
        rows.append(case(f"{n} | m fractional", arg("m"), lambda fn=fn: fn(good(), 0.1, 2.5), None))
        for params, desc in ((None, "None"), ([xn()], "list"), ({}, "empty dict"),
                             ({"b1": np.zeros((2, 1))}, "no weights")):
            rows.append(case(f"{n} | params {desc}", arg("params"), lambda fn=fn, params=params: fn(params, 0.1, M)))
        for desc, change in (
                ("int", lambda p: p.__setitem__("W1", np.ones((HIDDEN, N_X), int))),
                ("NaN", lambda p: p.__setitem__("W1", poke(p["W1"], NAN))),
                ("rank-1", lambda p: p.__setitem__("W1", p["W1"][0].copy())),
                ("list", lambda p: p.__setitem__("W1", p["W1"].tolist())),
                ("float32 beside float64", lambda p: p.__setitem__("W2", p["W2"].astype(np.float32))),
                ("key 'Wx'", lambda p: p.__setitem__("Wx", p.pop("W2")))):
            def build(fn=fn, change=change):
                params = good()
                change(params)
                return fn(params, 0.1, M)
            rows.append(case(f"{n} | weight {desc}", r"(?<!\w)(params|W\w*)", build, None))
    return rows


@pytest.mark.parametrize("build, match", _np_penalty_cases())
def test_numpy_penalties_bad_inputs(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- init

NP_RNG_BAD = [(-1, "negative"), (1.5, "float"), ("0", "str"), (None, "None"), (True, "bool"),
              ([0], "list"), (np.random, "the np.random module")]


@pytest.mark.parametrize("build, match", [
    *[case(f"as_rng | {desc}", arg("rng"), lambda r=r: np_init.as_rng(r)) for r, desc in NP_RNG_BAD],
    *[case(f"initialize_parameters | rng {desc}", arg("rng"),
           lambda r=r: np_init.initialize_parameters([2, 1], rng=r)) for r, desc in NP_RNG_BAD],
    case("initialize_parameters | method unknown", arg("method"),
         lambda: np_init.initialize_parameters([2, 1], "kaiming")),
    case("initialize_parameters | method wrong case", arg("method"),
         lambda: np_init.initialize_parameters([2, 1], "He")),
    case("initialize_parameters | method None", arg("method"), lambda: np_init.initialize_parameters([2, 1], None)),
    case("initialize_parameters | method list", arg("method"),
         lambda: np_init.initialize_parameters([2, 1], ["he"]), None),
    case("initialize_parameters | dtype float16", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype="float16")),
    case("initialize_parameters | dtype int64", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype="int64")),
    case("initialize_parameters | dtype np.float32 type", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype=np.float32)),
    case("initialize_parameters | dtype None", arg("dtype"),
         lambda: np_init.initialize_parameters([2, 1], dtype=None)),
    case("initialize_parameters | layer_dims [3]", arg("layer_dims"), lambda: np_init.initialize_parameters([3])),
    case("initialize_parameters | layer_dims []", arg("layer_dims"), lambda: np_init.initialize_parameters([])),
    case("initialize_parameters | layer_dims zero", re.escape("layer_dims[1]"),
         lambda: np_init.initialize_parameters([3, 0])),
    case("initialize_parameters | layer_dims negative", re.escape("layer_dims[1]"),
         lambda: np_init.initialize_parameters([3, -1])),
    case("initialize_parameters | layer_dims float", re.escape("layer_dims[1]"),
         lambda: np_init.initialize_parameters([3, 2.0])),
    case("initialize_parameters | layer_dims int", arg("layer_dims"),
         lambda: np_init.initialize_parameters(3), None),
])
def test_numpy_init(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- logistic

def _np_logistic_wb_cases():
    W_BAD = [("rank-1 (n_x,)", lambda: np.zeros(N_X)), ("row (1, n_x)", lambda: np.zeros((1, N_X))),
             ("(n_x, 2)", lambda: np.zeros((N_X, 2))), ("int", lambda: np.zeros((N_X, 1), int)),
             ("NaN", lambda: poke(w0(), NAN)), ("list", lambda: w0().tolist()),
             ("float16", lambda: w0(dtype=np.float16)), ("empty (0, 1)", lambda: np.zeros((0, 1))),
             ("None", lambda: None)]
    B_BAD = [("str", "0"), ("None", None), ("NaN", NAN), ("inf", INF), ("-inf", -INF),
             ("0-d array", np.array(0.0)), ("(1, 1) array", np.zeros((1, 1))), ("list", [0.0]),
             ("bool", True), ("complex", 1 + 0j)]
    calls = {
        "propagate": lambda w, b: np_logistic.propagate(w, b, xn(), yn()),
        "optimize": lambda w, b: np_logistic.optimize(w, b, xn(), yn(), 2, 0.1),
        "predict": lambda w, b: np_logistic.predict(w, b, xn()),
    }
    rows = []
    for name, call in calls.items():
        for desc, make in W_BAD:
            rows.append(case(f"logistic.{name} | w {desc}", arg("w"), lambda call=call, make=make: call(make(), 0.0)))
        for desc, b in B_BAD:
            rows.append(case(f"logistic.{name} | b {desc}", arg("b"), lambda call=call, b=b: call(w0(), b)))
        rows.append(case(f"logistic.{name} | w (n_x + 1, 1) vs X (n_x, m)", arg("X"),
                         lambda call=call: call(w0(N_X + 1), 0.0)))
    return rows


@pytest.mark.parametrize("build, match", [
    *_np_logistic_wb_cases(),
    *[case(f"initialize_with_zeros | n_x {desc}", arg("n_x"), lambda n=n: np_logistic.initialize_with_zeros(n))
      for n, desc in ((0, "0"), (-1, "negative"), (2.0, "float"), (True, "bool"), ("3", "str"), (None, "None"))],
    case("initialize_with_zeros | dtype int64", arg("dtype"),
         lambda: np_logistic.initialize_with_zeros(3, dtype="int64"), None),
    case("initialize_with_zeros | dtype unknown", arg("dtype"),
         lambda: np_logistic.initialize_with_zeros(3, dtype="foo"), None),
])
def test_numpy_logistic(build, match):
    expect_value_error(build, match)


# =====================================================================================
# 2. Bad inputs, torch side
# =====================================================================================

# ----------------------------------------------------------------- shared X / y tables

TH_BAD_X = [  # (description, make X, make y) for an (m = 4, n_x = 2) float64 entry point
    ("X rank-1 (n_x,)", lambda: xt()[0].clone(), yt),
    ("X rank-1 (m,)", lambda: xt()[:, 0].clone(), yt),
    ("X rank-3", lambda: xt()[None], yt),
    ("X columns layout (n_x, m)", lambda: xt().T.contiguous(), yt),
    ("X wrong n_x", lambda: xt(n_x=N_X + 1), yt),
    ("X int64", lambda: torch.ones(M, N_X, dtype=torch.int64), yt),
    ("X bool", lambda: xt() > 0, yt),
    ("X float16", lambda: xt(dtype=torch.float16), yt),
    ("X float32 into a float64 model", lambda: xt(dtype=torch.float32), yt),
    ("X numpy array", lambda: xn().T.copy(), yt),
    ("X list", lambda: xt().tolist(), yt),
    ("X NaN", lambda: poke(xt(), NAN), yt),
    ("X +inf", lambda: poke(xt(), INF), yt),
    ("X -inf", lambda: poke(xt(), -INF), yt),
    ("X empty batch m=0", lambda: xt(m=0), lambda: yt(())),
]


def _th_net_method(method: str, output: str = "sigmoid"):
    def call(X, y):
        net = th_net(output)
        if method in ("scores", "forward", "predict"):
            return getattr(net, method)(X)
        if method == "train_gd":
            return th_models.train_gd(net, X, y, 0.1, 2)
        return getattr(net, method)(X, y)
    return call


TH_X_ENTRIES = {
    "Network.scores": _th_net_method("scores"),
    "Network.forward": _th_net_method("forward"),
    "Network.cost": _th_net_method("cost"),
    "Network.predict": _th_net_method("predict"),
    "Network.accuracy": _th_net_method("accuracy"),
    "Network[softmax].forward": _th_net_method("forward", "softmax"),
    "Network[linear].cost": _th_net_method("cost", "linear"),
    "train_gd": _th_net_method("train_gd"),
    "LogisticRegression.forward": lambda X, y: th_logreg()(X),
    "logistic.propagate": lambda X, y: th_logistic.propagate(th_logreg(), X, y),
    "logistic.optimize": lambda X, y: th_logistic.optimize(th_logreg(), X, y, 2, 0.1),
    "logistic.predict": lambda X, y: th_logistic.predict(th_logreg(), X),
}


def _th_bad_y(num_classes: int, labels):
    head = tuple(labels[:-1])
    return [
        ("y column (m, 1)", lambda: yt(labels)[:, None]),
        ("y row (1, m)", lambda: yt(labels)[None]),
        ("y 0-d", lambda: torch.tensor(0)),
        ("y m - 1 labels", lambda: yt(head)),
        ("y m + 1 labels", lambda: yt(tuple(labels) + (0,))),
        (f"y label {num_classes} out of range", lambda: yt(head + (num_classes,))),
        ("y label -1", lambda: yt(head + (-1,))),
        ("y float64", lambda: yt(labels).double()),
        ("y int32", lambda: yt(labels).int()),
        ("y bool", lambda: yt(labels) > 0),
        ("y numpy array", lambda: np.array(labels)),
        ("y list", lambda: list(labels)),
        ("y None", lambda: None),
    ]


TH_Y_ENTRIES = {  # name -> (call(y), num_classes, valid labels)
    "Network.cost": (lambda y: _th_net_method("cost")(xt(), y), 2, LABELS2),
    "Network.accuracy": (lambda y: _th_net_method("accuracy")(xt(), y), 2, LABELS2),
    "Network[softmax].cost": (lambda y: _th_net_method("cost", "softmax")(xt(), y), C, LABELS3),
    "Network[linear].accuracy": (lambda y: _th_net_method("accuracy", "linear")(xt(), y), C, LABELS3),
    "train_gd": (lambda y: _th_net_method("train_gd")(xt(), y), 2, LABELS2),
    "logistic.propagate": (lambda y: th_logistic.propagate(th_logreg(), xt(), y), 2, LABELS2),
    "logistic.optimize": (lambda y: th_logistic.optimize(th_logreg(), xt(), y, 2, 0.1), 2, LABELS2),
    "losses.binary_cross_entropy": (
        lambda y: th_losses.binary_cross_entropy(torch.full((M, 1), 0.5, dtype=torch.float64), y), 2, LABELS2),
    "losses.binary_cross_entropy_with_logits": (
        lambda y: th_losses.binary_cross_entropy_with_logits(xt(1), y), 2, LABELS2),
    "losses.softmax_cross_entropy": (lambda y: th_losses.softmax_cross_entropy(xt(C), y), C, LABELS3),
    "losses.svm_hinge": (lambda y: th_losses.svm_hinge(xt(C), y), C, LABELS3),
}

TH_X_CASES = [_xy_case(name, entry, desc, mx, my, arg("X"))
              for name, entry in TH_X_ENTRIES.items() for desc, mx, my in TH_BAD_X]
TH_Y_CASES = [_y_case(name, entry, desc, my, arg("y"))
              for name, (entry, k, labels) in TH_Y_ENTRIES.items() for desc, my in _th_bad_y(k, labels)]


@pytest.mark.parametrize("build, match", TH_X_CASES)
def test_torch_bad_X(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", TH_Y_CASES)
def test_torch_bad_y(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- hyperparameters

TH_TRAINERS = {
    "train_gd": lambda lr, it: th_models.train_gd(th_net(), xt(), yt(), lr, it),
    "logistic.optimize": lambda lr, it: th_logistic.optimize(th_logreg(), xt(), yt(), it, lr),
}


@pytest.mark.parametrize("build, match", _hyper_cases(TH_TRAINERS))
def test_torch_bad_hyperparameters(build, match):
    expect_value_error(build, match)


def test_torch_train_gd_rejects_before_training():
    """A rejected call leaves the model's parameters untouched."""
    net = th_net()
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ValueError, match=arg("y")):
        th_models.train_gd(net, xt(), yt(LABELS3), 0.1, 5)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


# ----------------------------------------------------------------- models.Network

TH_NET_CTOR_EXTRA = [
    ("dtype a string", dict(dtype="float64"), arg("dtype"), None),
    ("dtype int64", dict(dtype=torch.int64), arg("dtype"), None),
    ("dtype float16", dict(dtype=torch.float16), arg("dtype"), None),
    ("device unknown 'gpu'", dict(device="gpu"), arg("device"), None),
]


@pytest.mark.parametrize("build, match", [
    _ctor_case(th_models.Network, *row) for row in NET_CTOR_BAD + TH_NET_CTOR_EXTRA])
def test_torch_network_constructor(build, match):
    expect_value_error(build, match)


@pytest.mark.parametrize("build, match", [
    case("init_params method unknown", arg("method"), lambda: th_net().init_params("kaiming")),
    case("init_params method None", arg("method"), lambda: th_net().init_params(None)),
    case("init_params generator int", arg("generator"), lambda: th_net().init_params("he", 0), None),
])
def test_torch_network_init_params(build, match):
    expect_value_error(build, match)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_torch_network_rejects_data_on_another_device():
    with pytest.raises(ValueError, match=arg("X")):
        th_net().forward(xt().cuda())


# ----------------------------------------------------------------- validation helpers

@pytest.mark.parametrize("build, match", [
    case("check_tensor numpy", arg("A"), lambda: th_val.check_tensor("A", np.ones((2, 2)))),
    case("check_tensor list", arg("A"), lambda: th_val.check_tensor("A", [[1.0]])),
    case("check_tensor int64", arg("A"), lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.int64))),
    case("check_tensor float16", arg("A"), lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.float16))),
    case("check_tensor dtype pin", arg("A"),
         lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.float32), dtype=torch.float64)),
    case("check_tensor rank-1", arg("A"), lambda: th_val.check_tensor("A", torch.ones(2, dtype=torch.float64))),
    case("check_tensor rank-3", arg("A"), lambda: th_val.check_tensor("A", torch.ones(1, 2, 2, dtype=torch.float64))),
    case("check_tensor shape", re.escape("(*, 3)"),
         lambda: th_val.check_tensor("A", torch.ones(2, 2, dtype=torch.float64), shape=(None, 3))),
    case("check_tensor empty", arg("A"), lambda: th_val.check_tensor("A", torch.ones(0, 2, dtype=torch.float64))),
    case("check_tensor NaN", arg("A"),
         lambda: th_val.check_tensor("A", poke(torch.ones(2, 2, dtype=torch.float64), NAN))),
    case("check_labels numpy", arg("y"), lambda: th_val.check_labels("y", np.array(LABELS2), m=M, num_classes=2)),
    case("check_labels int32", arg("y"), lambda: th_val.check_labels("y", yt().int(), m=M, num_classes=2)),
    case("check_labels float", arg("y"), lambda: th_val.check_labels("y", yt().double(), m=M, num_classes=2)),
    case("check_labels (m, 1)", arg("y"), lambda: th_val.check_labels("y", yt()[:, None], m=M, num_classes=2)),
    case("check_labels m", arg("y"), lambda: th_val.check_labels("y", yt(), m=M + 1, num_classes=2)),
    case("check_labels range", arg("y"), lambda: th_val.check_labels("y", yt(LABELS3), m=M, num_classes=2)),
    case("check_labels negative", arg("y"), lambda: th_val.check_labels("y", yt((0, -1)), m=2, num_classes=2)),
    case("check_labels empty", arg("y"), lambda: th_val.check_labels("y", yt(()), m=0, num_classes=2), None),
])
def test_torch_validation_helpers(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- activations

def _th_bad_Z():
    return [
        ("Z numpy", lambda: xn()),
        ("Z list", lambda: xt().tolist()),
        ("Z int", lambda: torch.ones(M, N_X, dtype=torch.int64)),
        ("Z bool", lambda: xt() > 0),
        ("Z float16", lambda: xt(dtype=torch.float16)),
        ("Z rank-1", lambda: xt()[0].clone()),
        ("Z rank-3", lambda: xt()[None]),
        ("Z empty", lambda: xt(m=0)),
        ("Z NaN", lambda: poke(xt(), NAN)),
        ("Z -inf", lambda: poke(xt(), -INF)),
    ]


def _th_activation_cases():
    rows = []
    for name in th_act.NAMES:
        for desc, make in _th_bad_Z():
            rows.append(case(f"apply({name!r}) | {desc}", arg("Z"), lambda name=name, make=make: th_act.apply(name, make())))
    for bad, desc in (("softplus", "unknown"), ("ReLU", "wrong case"), (None, "None"), ("", "empty")):
        rows.append(case(f"make | name {desc}", arg("name"), lambda bad=bad: th_act.make(bad)))
        rows.append(case(f"apply | name {desc}", arg("name"), lambda bad=bad: th_act.apply(bad, xt())))
    rows.append(case("make | name list", arg("name"), lambda: th_act.make(["relu"]), None))
    rows.append(case("make('hardmax') module | Z NaN", arg("Z"),
                     lambda: th_act.make("hardmax")(poke(xt(), NAN))))
    for slope, desc in ((-0.1, "negative"), (NAN, "NaN"), ("0.01", "str"), (None, "None")):
        rows.append(case(f"make | leaky_slope {desc}", arg("leaky_slope"),
                         lambda slope=slope: th_act.make("leaky_relu", leaky_slope=slope)))
        rows.append(case(f"apply | leaky_slope {desc}", arg("leaky_slope"),
                         lambda slope=slope: th_act.apply("leaky_relu", xt(), leaky_slope=slope)))
    return rows


@pytest.mark.parametrize("build, match", _th_activation_cases())
def test_torch_activations(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- layers

def _th_lin_fwd(A_prev=None, W=None, b=None):
    """layers.linear_forward with n_prev = 2, n = 3, m = 4, batch-first."""
    A_prev = xt() if A_prev is None else A_prev()
    W = xt(N_X, HIDDEN) if W is None else W()  # (3, 2)
    b = torch.zeros(HIDDEN, dtype=torch.float64) if b is None else b()
    return th_layers.linear_forward(A_prev, W, b)


@pytest.mark.parametrize("build, match", [
    case("linear_forward | W numpy", arg("W"), lambda: _th_lin_fwd(W=lambda: xn(HIDDEN, N_X))),
    case("linear_forward | W int", arg("W"), lambda: _th_lin_fwd(W=lambda: torch.ones(HIDDEN, N_X, dtype=torch.int64))),
    case("linear_forward | W rank-1", arg("W"), lambda: _th_lin_fwd(W=lambda: torch.ones(N_X, dtype=torch.float64))),
    case("linear_forward | W empty", arg("W"), lambda: _th_lin_fwd(W=lambda: torch.ones(0, N_X, dtype=torch.float64))),
    case("linear_forward | W NaN", arg("W"), lambda: _th_lin_fwd(W=lambda: poke(xt(N_X, HIDDEN), NAN))),
    case("linear_forward | W transposed", arg("A_prev"), lambda: _th_lin_fwd(W=lambda: xt(HIDDEN, N_X))),
    case("linear_forward | A_prev wrong n_prev", arg("A_prev"), lambda: _th_lin_fwd(A_prev=lambda: xt(N_X + 1))),
    case("linear_forward | A_prev columns layout", arg("A_prev"),
         lambda: _th_lin_fwd(A_prev=lambda: xt().T.contiguous())),
    case("linear_forward | A_prev rank-1", arg("A_prev"), lambda: _th_lin_fwd(A_prev=lambda: xt()[0].clone())),
    case("linear_forward | A_prev float32", arg("A_prev"), lambda: _th_lin_fwd(A_prev=lambda: xt(dtype=torch.float32))),
    case("linear_forward | A_prev int", arg("A_prev"),
         lambda: _th_lin_fwd(A_prev=lambda: torch.ones(M, N_X, dtype=torch.int64))),
    case("linear_forward | A_prev NaN", arg("A_prev"), lambda: _th_lin_fwd(A_prev=lambda: poke(xt(), NAN))),
    case("linear_forward | A_prev empty", arg("A_prev"), lambda: _th_lin_fwd(A_prev=lambda: xt(m=0))),
    case("linear_forward | A_prev numpy", arg("A_prev"), lambda: _th_lin_fwd(A_prev=lambda: xn().T.copy())),
    case("linear_forward | b (n, 1)", arg("b"), lambda: _th_lin_fwd(b=lambda: torch.zeros(HIDDEN, 1, dtype=torch.float64))),
    case("linear_forward | b (n + 1,)", arg("b"), lambda: _th_lin_fwd(b=lambda: torch.zeros(HIDDEN + 1, dtype=torch.float64))),
    case("linear_forward | b (1,)", arg("b"), lambda: _th_lin_fwd(b=lambda: torch.zeros(1, dtype=torch.float64))),
    case("linear_forward | b 0-d", arg("b"), lambda: _th_lin_fwd(b=lambda: torch.tensor(0.0, dtype=torch.float64))),
    case("linear_forward | b float32", arg("b"), lambda: _th_lin_fwd(b=lambda: torch.zeros(HIDDEN))),
    case("linear_forward | b int", arg("b"), lambda: _th_lin_fwd(b=lambda: torch.zeros(HIDDEN, dtype=torch.int64))),
    case("linear_forward | b NaN", arg("b"),
         lambda: _th_lin_fwd(b=lambda: poke(torch.zeros(HIDDEN, dtype=torch.float64), NAN))),
    case("linear_forward | b numpy", arg("b"), lambda: _th_lin_fwd(b=lambda: np.zeros(HIDDEN))),
    *[case(f"linear | {name} {desc}", arg(name),
           lambda name=name, v=v: th_layers.linear(**{"n_prev": 2, "n": 3, name: v}))
      for name in ("n_prev", "n") for v, desc in ((0, "0"), (-1, "negative"), (1.5, "float"),
                                                 (True, "bool"), ("3", "str"), (None, "None"))],
    case("linear | dtype a string", arg("dtype"), lambda: th_layers.linear(2, 3, dtype="float64"),
         None),
    case("linear | dtype int64", arg("dtype"), lambda: th_layers.linear(2, 3, dtype=torch.int64),
         None),
    case("linear | device 'gpu'", arg("device"), lambda: th_layers.linear(2, 3, device="gpu"),
         None),
])
def test_torch_layers(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- losses

def _th_first_arg_cases():
    def P(*shape, v=0.5):
        return torch.full(shape, v, dtype=torch.float64)

    tables = {
        "binary_cross_entropy": (th_losses.binary_cross_entropy, "AL", [
            ("rank-1 (m,)", lambda: P(M)), ("row (1, m)", lambda: P(1, M)), ("(m, 2)", lambda: P(M, 2)),
            ("int", lambda: torch.ones(M, 1, dtype=torch.int64)), ("NaN", lambda: poke(P(M, 1), NAN)),
            ("above 1", lambda: poke(P(M, 1), 1.5)), ("below 0", lambda: poke(P(M, 1), -0.1)),
            ("float16", lambda: P(M, 1).half()), ("numpy", lambda: np.full((M, 1), 0.5))]),
        "binary_cross_entropy_with_logits": (th_losses.binary_cross_entropy_with_logits, "Z", [
            ("rank-1 (m,)", lambda: xt(1)[:, 0].clone()), ("row (1, m)", lambda: xt(1).T.contiguous()),
            ("(m, 2)", lambda: xt(2)), ("int", lambda: torch.ones(M, 1, dtype=torch.int64)),
            ("NaN", lambda: poke(xt(1), NAN)), ("inf", lambda: poke(xt(1), INF)),
            ("numpy", lambda: xn(1).T.copy())]),
        "softmax_cross_entropy": (th_losses.softmax_cross_entropy, "scores", [
            ("rank-1", lambda: xt(C)[0].clone()), ("rank-3", lambda: xt(C)[None]),
            ("int", lambda: torch.ones(M, C, dtype=torch.int64)), ("NaN", lambda: poke(xt(C), NAN)),
            ("inf", lambda: poke(xt(C), INF)), ("numpy", lambda: xn(C).T.copy())]),
        "svm_hinge": (th_losses.svm_hinge, "scores", [
            ("rank-1", lambda: xt(C)[0].clone()), ("rank-3", lambda: xt(C)[None]),
            ("int", lambda: torch.ones(M, C, dtype=torch.int64)), ("NaN", lambda: poke(xt(C), NAN)),
            ("-inf", lambda: poke(xt(C), -INF)), ("numpy", lambda: xn(C).T.copy())]),
    }
    rows = []
    for name, (fn, argname, bads) in tables.items():
        labels = LABELS3 if argname == "scores" else LABELS2
        for desc, make in bads:
            rows.append(case(f"losses.{name} | {argname} {desc}", arg(argname),
                             lambda fn=fn, make=make, labels=labels: fn(make(), yt(labels))))
        rows.append(case(f"losses.{name} | empty batch m=0", arg(argname),
                         lambda fn=fn, argname=argname: fn(P(0, C if argname == "scores" else 1), yt(()))))
    for delta, desc in ((-1.0, "negative"), (NAN, "NaN"), (INF, "inf"), ("1", "str"), (None, "None")):
        rows.append(case(f"losses.svm_hinge | delta {desc}", arg("delta"),
                         lambda delta=delta: th_losses.svm_hinge(xt(C), yt(LABELS3), delta)))
    return rows


@pytest.mark.parametrize("build, match", _th_first_arg_cases())
def test_torch_losses_bad_inputs(build, match):
    expect_value_error(build, match)


def _th_penalty_cases():
    def good():
        return [xt(N_X, HIDDEN), xt(HIDDEN, 1)]  # W1 (3, 2), W2 (1, 3)

    rows = []
    for fn in (th_losses.l2_penalty, th_losses.l1_penalty):
        n = fn.__name__
        for lambd, desc in ((-0.1, "negative"), (NAN, "NaN"), (INF, "inf"), ("0.1", "str"),
                            (None, "None"), (True, "bool")):
            rows.append(case(f"{n} | lambd {desc}", arg("lambd"), lambda fn=fn, lambd=lambd: fn(good(), lambd, M)))
        for m, desc in ((0, "0"), (-4, "negative"), (NAN, "NaN"), ("4", "str"), (None, "None")):
            rows.append(case(f"{n} | m {desc}", arg("m"), lambda fn=fn, m=m: fn(good(), 0.1, m)))
        rows.append(case(f"{n} | m fractional", arg("m"), lambda fn=fn: fn(good(), 0.1, 2.5), None))
        for desc, make, match, gap in (
                ("empty list", lambda: [], arg("weights"), None),
                ("numpy arrays", lambda: [xn(HIDDEN, N_X)], re.escape("weights[0]"), None),
                ("int tensor", lambda: [torch.ones(3, 2, dtype=torch.int64)], re.escape("weights[0]"), None),
                ("NaN", lambda: [poke(xt(N_X, HIDDEN), NAN)], re.escape("weights[0]"), None),
                ("rank-1 tensor", lambda: [torch.ones(3, dtype=torch.float64)], re.escape("weights[0]"), None),
                ("float32 beside float64", lambda: [xt(N_X, HIDDEN), xt(HIDDEN, 1, dtype=torch.float32)],
                 re.escape("weights[1]"), None),
                ("None", lambda: None, arg("weights"), None),
                ("one 2-D tensor, not a list", lambda: xt(N_X, HIDDEN), r"weights must", None)):
            rows.append(case(f"{n} | weights {desc}", match, lambda fn=fn, make=make: fn(make(), 0.1, M), gap))
    return rows


@pytest.mark.parametrize("build, match", _th_penalty_cases())
def test_torch_penalties_bad_inputs(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- init

@pytest.mark.parametrize("build, match", [
    *[case(f"init_linear_ | method {desc}", arg("method"), lambda m=m: th_init.init_linear_(nn.Linear(2, 3), m))
      for m, desc in (("kaiming", "unknown"), ("He", "wrong case"), (None, "None"))],
    case("init_linear_ | layer not nn.Linear", arg("layer"), lambda: th_init.init_linear_(nn.ReLU()), None),
    case("init_linear_ | generator int", arg("generator"), lambda: th_init.init_linear_(nn.Linear(2, 3), "he", 0), None),
    *[case(f"initialize_parameters | method {desc}", arg("method"),
           lambda m=m: th_init.initialize_parameters([2, 1], m))
      for m, desc in (("kaiming", "unknown"), ("He", "wrong case"), (None, "None"))],
    case("initialize_parameters | method list", arg("method"),
         lambda: th_init.initialize_parameters([2, 1], ["he"]), None),
    case("initialize_parameters | layer_dims [3]", arg("layer_dims"), lambda: th_init.initialize_parameters([3])),
    case("initialize_parameters | layer_dims zero", re.escape("layer_dims[1]"),
         lambda: th_init.initialize_parameters([3, 0])),
    case("initialize_parameters | layer_dims float", re.escape("layer_dims[1]"),
         lambda: th_init.initialize_parameters([3, 1.5])),
    case("initialize_parameters | layer_dims int", arg("layer_dims"),
         lambda: th_init.initialize_parameters(3), None),
    case("initialize_parameters | dtype a string", arg("dtype"),
         lambda: th_init.initialize_parameters([2, 1], dtype="float64"), None),
    case("initialize_parameters | dtype int64", arg("dtype"),
         lambda: th_init.initialize_parameters([2, 1], dtype=torch.int64), None),
    case("initialize_parameters | device 'gpu'", arg("device"),
         lambda: th_init.initialize_parameters([2, 1], device="gpu"), None),
    case("initialize_parameters | generator int", arg("generator"),
         lambda: th_init.initialize_parameters([2, 1], generator=0), None),
])
def test_torch_init(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- logistic

@pytest.mark.parametrize("build, match", [
    *[case(f"LogisticRegression | n_x {desc}", arg("n_x"), lambda n=n: th_logistic.LogisticRegression(n))
      for n, desc in ((0, "0"), (-1, "negative"), (2.5, "float"), (True, "bool"), ("2", "str"), (None, "None"))],
    case("LogisticRegression | dtype a string", arg("dtype"),
         lambda: th_logistic.LogisticRegression(2, dtype="float64"), None),
    case("LogisticRegression | device 'gpu'", arg("device"),
         lambda: th_logistic.LogisticRegression(2, device="gpu"), None),
    case("logistic.predict | X float32 into float64 model", arg("X"),
         lambda: th_logistic.predict(th_logreg(), xt(dtype=torch.float32))),
])
def test_torch_logistic(build, match):
    expect_value_error(build, match)


# ----------------------------------------------------------------- bridge

def _np_params_2_3_1(dtype=np.float64):
    return np_params(np_net(), "float32" if dtype == np.float32 else "float64")


def _p2m(change=None, module=None):
    params = _np_params_2_3_1()
    if change:
        change(params)
    return bridge.params_to_module(params, th_net() if module is None else module)


@pytest.mark.parametrize("build, match", [
    *[case(f"resolve_device | {desc}", arg("device"), lambda d=d: bridge.resolve_device(d))
      for d, desc in (("gpu", "'gpu'"), ("CPU", "'CPU'"), ("", "empty"), (None, "None"), ("cuda:0", "'cuda:0'"),
                      (0, "int 0"))],
    *[case(f"resolve_dtype | {desc}", arg("dtype"), lambda d=d: bridge.resolve_dtype(d))
      for d, desc in (("float16", "'float16'"), ("double", "'double'"), ("int64", "'int64'"), (None, "None"),
                      (torch.float64, "torch.float64"), (np.float64, "np.float64"))],
    case("resolve_dtype | list", arg("dtype"), lambda: bridge.resolve_dtype(["float64"]), None),
    # data_to_torch: X (n_x, m) and Y (1, m), NumPy layout in
    *[case(f"data_to_torch | {desc}", arg("X"), lambda mx=mx: bridge.data_to_torch(mx()))
      for desc, mx, _ in NP_BAD_X if desc not in ("X batch-first (m, n_x)", "X wrong n_x",
                                                  "X float32 with float64 params")],
    case("data_to_torch | X empty with empty Y", arg("X"), lambda: bridge.data_to_torch(xn(m=0), yn(()))),
    *[case(f"data_to_torch | {desc}", arg("Y"), lambda my=my: bridge.data_to_torch(xn(), my()))
      for desc, my in (("Y rank-1", lambda: yn()[0].copy()), ("Y column (m, 1)", lambda: yn().T.copy()),
                       ("Y m - 1", lambda: yn(LABELS2[:-1])), ("Y list", lambda: yn().tolist()))],
    case("data_to_torch | Y fractional", arg("Y"),
         lambda: bridge.data_to_torch(xn(), yn((0, 0.5, 1, 1), np.float64)), None),
    case("data_to_torch | Y NaN", arg("Y"),
         lambda: bridge.data_to_torch(xn(), yn((0, NAN, 1, 1), np.float64)), None),
    case("data_to_torch | Y label -1", arg("Y"), lambda: bridge.data_to_torch(xn(), yn((0, -1, 1, 1))), None),
    case("data_to_torch | Y strings", arg("Y"), lambda: bridge.data_to_torch(xn(), yn().astype(str)), None),
    case("data_to_torch | device 'gpu'", arg("device"), lambda: bridge.data_to_torch(xn(), device="gpu"), None),
    # params_to_module: NumPy {W1, b1, ...} into a float64 [2, 3, 1] Network
    case("params_to_module | W2 missing", arg("W2"), lambda: _p2m(lambda p: p.pop("W2"))),
    case("params_to_module | b1 missing", arg("b1"), lambda: _p2m(lambda p: p.pop("b1"))),
    case("params_to_module | float32 into float64", arg("W1"),
         lambda: bridge.params_to_module(_np_params_2_3_1(np.float32), th_net())),
    case("params_to_module | float64 into float32", arg("W1"),
         lambda: bridge.params_to_module(_np_params_2_3_1(), th_net(dtype=torch.float32))),
    case("params_to_module | W1 int", arg("W1"), lambda: _p2m(_set("W1", lambda p: p["W1"].astype(np.int64)))),
    case("params_to_module | W1 transposed", arg("W1"), lambda: _p2m(_set("W1", lambda p: p["W1"].T.copy()))),
    case("params_to_module | W1 rank-1", arg("W1"), lambda: _p2m(_set("W1", lambda p: p["W1"][0].copy()))),
    case("params_to_module | b1 (n + 1, 1)", arg("b1"), lambda: _p2m(_set("b1", lambda p: np.zeros((HIDDEN + 1, 1))))),
    case("params_to_module | b1 rank-1 (n,)", arg("b1"), lambda: _p2m(_set("b1", lambda p: p["b1"][:, 0].copy())), None),
    case("params_to_module | b1 (n, 2)", arg("b1"), lambda: _p2m(_set("b1", lambda p: np.zeros((HIDDEN, 2)))), None),
    case("params_to_module | W1 NaN", arg("W1"), lambda: _p2m(_set("W1", lambda p: poke(p["W1"], NAN))), None),
    case("params_to_module | W1 list", arg("W1"), lambda: _p2m(_set("W1", lambda p: p["W1"].tolist())), None),
    case("params_to_module | W1 a torch tensor", r"W1.*(numpy|ndarray)",
         lambda: _p2m(_set("W1", lambda p: torch.from_numpy(p["W1"]))), None),
    case("params_to_module | params None", arg("params"), lambda: bridge.params_to_module(None, th_net()), None),
    case("params_to_module | extra layer W3, b3", arg("W3"),
         lambda: _p2m(lambda p: p.update(W3=np.ones((1, 1)), b3=np.zeros((1, 1)))), None),
    case("params_to_module | module an nn.Linear", arg("module"), lambda: _p2m(module=nn.Linear(2, 3)), None),
    case("params_to_linears | float32 into float64", arg("W1"),
         lambda: bridge.params_to_linears(_np_params_2_3_1(np.float32), th_net().linears)),
    case("params_to_linears | b1 rank-1 (n,)", arg("b1"), lambda: bridge.params_to_linears(
        {**_np_params_2_3_1(), "b1": np.zeros(HIDDEN)}, th_net().linears), None),
    case("params_to_linears | linears one nn.Linear", arg("linears"), lambda: bridge.params_to_linears(
        _np_params_2_3_1(), nn.Linear(2, 3)), None),
    case("params_from_module | module an nn.Linear", arg("module"),
         lambda: bridge.params_from_module(nn.Linear(2, 3)), None),
    case("grads_from_module | before backward", r"backward", lambda: bridge.grads_from_module(th_net())),
    case("grads_from_module | module an nn.Linear", arg("module"),
         lambda: bridge.grads_from_module(nn.Linear(2, 3)), None),
    # logistic_to_module: the course's w (n_x, 1), scalar b into LogisticRegression(n_x = 2)
    case("logistic_to_module | w wrong n_x", arg("w"), lambda: bridge.logistic_to_module(w0(3), 0.0, th_logreg())),
    case("logistic_to_module | w float32", arg("w"),
         lambda: bridge.logistic_to_module(w0(dtype=np.float32), 0.0, th_logreg())),
    case("logistic_to_module | w int", arg("w"),
         lambda: bridge.logistic_to_module(w0().astype(int), 0.0, th_logreg())),
    case("logistic_to_module | w rank-1", arg("w"), lambda: bridge.logistic_to_module(np.zeros(N_X), 0.0, th_logreg())),
    case("logistic_to_module | w row (1, n_x): message in the course's layout", re.escape("w must have shape (2, 1)"),
         lambda: bridge.logistic_to_module(np.zeros((1, N_X)), 0.0, th_logreg()), None),
    case("logistic_to_module | w NaN", arg("w"), lambda: bridge.logistic_to_module(poke(w0(), NAN), 0.0, th_logreg()), None),
    case("logistic_to_module | b NaN", arg("b"), lambda: bridge.logistic_to_module(w0(), NAN, th_logreg()), None),
    case("logistic_to_module | b str", arg("b"), lambda: bridge.logistic_to_module(w0(), "x", th_logreg()), None),
    case("logistic_to_module | b array", arg("b"),
         lambda: bridge.logistic_to_module(w0(), np.array([1.0, 2.0]), th_logreg()), None),
    case("logistic_to_module | model a Network", arg("model"),
         lambda: bridge.logistic_to_module(w0(), 0.0, th_net()), None),
])
def test_bridge(build, match):
    expect_value_error(build, match)


@pytest.mark.skipif(torch.cuda.is_available(), reason="only meaningful without CUDA")
def test_bridge_resolve_device_cuda_without_cuda():
    with pytest.raises(ValueError, match=r"cuda"):
        bridge.resolve_device("cuda")


# =====================================================================================
# Positive controls: valid inputs pass (so the tables above are not vacuous)
# =====================================================================================

def _valid_calls():
    """(description, call): each must succeed; the same valid data the tables perturb."""
    def np_bwd(name):
        out, cache = np_act.FORWARD[name](xn())
        return np_act.BACKWARD[name](np.ones_like(out), cache)

    return [
        *[(f"numpy Network.{m}", lambda m=m: _np_net_method(m)(xn(), yn()))
          for m in ("forward", "loss", "cost", "predict", "accuracy", "train_gd")],
        ("numpy Network[softmax].loss", lambda: _np_net_method("loss", "softmax")(xn(), yn(LABELS3))),
        ("numpy Network[linear].cost", lambda: _np_net_method("cost", "linear")(xn(), yn(LABELS3))),
        ("numpy float labels 0./1.", lambda: _np_net_method("cost")(xn(), yn(dtype=np.float64))),
        ("numpy float32 softmax Network.loss", lambda: np_net("softmax").loss(
            np_params(np_net("softmax"), "float32"), xn(dtype=np.float32), yn(LABELS3))),
        ("numpy float32 linear Network.loss", lambda: np_net("linear").loss(
            np_params(np_net("linear"), "float32"), xn(dtype=np.float32), yn(LABELS3))),
        ("numpy float32 sigmoid Network.loss", lambda: np_net().loss(
            np_params(np_net(), "float32"), xn(dtype=np.float32), yn())),
        ("numpy float32 sigmoid train_gd", lambda: np_models.train_gd(
            np_net(), np_params(np_net(), "float32"), xn(dtype=np.float32), yn(dtype=np.float32), 0.1, 1)),
        ("numpy float32 logistic.propagate keeps float32", lambda: _assert_dtype(np_logistic.propagate(
            w0(dtype=np.float32), 0.0, xn(dtype=np.float32), yn())[0]["dw"], np.float32)),
        ("numpy single example m=1", lambda: _np_net_method("loss")(xn(m=1), yn((1,)))),
        ("numpy Network(leaky_slope=0)", lambda: np_models.Network([2, 3, 1], "leaky_relu", leaky_slope=0)),
        ("numpy layer_dims numpy ints", lambda: np_models.Network(np.array([2, 3, 1]))),
        *[(f"numpy {n}_forward/backward", lambda n=n: np_bwd(n)) for n in np_act.NAMES],
        ("numpy linear_forward/backward", lambda: _lin_bwd(lambda: xn(HIDDEN))),
        ("numpy logistic", lambda: np_logistic.optimize(*np_logistic.initialize_with_zeros(N_X), xn(), yn(), 2, 0.1)),
        ("numpy logistic np.float32 b", lambda: np_logistic.predict(w0(), np.float32(0.5), xn())),
        ("numpy losses", lambda: (np_losses.binary_cross_entropy(np.full((1, M), 0.5), yn()),
                                  np_losses.softmax_cross_entropy(xn(C), yn(LABELS3)),
                                  np_losses.svm_hinge(xn(C), yn(LABELS3), 0.0))),
        ("numpy penalties lambd=0", lambda: np_losses.l2_penalty(np_params(np_net()), 0, M)),
        ("numpy init every method", lambda: [np_init.initialize_parameters([3, 2, 1], mt, rng)
                                             for mt in np_init.METHODS
                                             for rng in (0, np.random.default_rng(0), np.random.RandomState(1))]),
        ("numpy check_float_array finite=False", lambda: np_val.check_float_array("A", poke(xn(), NAN), finite=False)),
        *[(f"torch Network.{m}", lambda m=m: _th_net_method(m)(xt(), yt()))
          for m in ("scores", "forward", "cost", "predict", "accuracy", "train_gd")],
        ("torch Network[softmax].cost", lambda: _th_net_method("cost", "softmax")(xt(), yt(LABELS3))),
        ("torch Network[linear].cost", lambda: _th_net_method("cost", "linear")(xt(), yt(LABELS3))),
        ("torch float32 throughout", lambda: th_net(dtype=torch.float32).cost(xt(dtype=torch.float32), yt())),
        *[(f"torch apply({n!r})", lambda n=n: th_act.apply(n, xt())) for n in th_act.NAMES],
        ("torch linear_forward", lambda: _th_lin_fwd()),
        ("torch logistic", lambda: th_logistic.optimize(th_logreg(), xt(), yt(), 2, 0.1)),
        ("torch losses", lambda: (th_losses.binary_cross_entropy(torch.full((M, 1), 0.5, dtype=torch.float64), yt()),
                                  th_losses.svm_hinge(xt(C), yt(LABELS3), 0.0),
                                  th_losses.l1_penalty([xt(N_X, HIDDEN)], 0, M))),
        ("torch init every method", lambda: [th_init.initialize_parameters([3, 2, 1], mt)
                                             for mt in th_init.INITIALIZERS]),
        ("bridge resolve", lambda: (bridge.resolve_device("auto"), bridge.resolve_device("cpu"),
                                    bridge.resolve_dtype("float32"), bridge.resolve_dtype("float64"))),
        ("bridge data_to_torch", lambda: bridge.data_to_torch(xn(), yn(dtype=np.float64))),
        ("bridge params round trip", _bridge_round_trip),
        ("bridge logistic_to_module", lambda: bridge.logistic_to_module(w0(), 0.5, th_logreg())),
    ]


VALID_GAPS: dict[str, str] = {}  # valid inputs the library wrongly rejects (none known)


def _assert_dtype(array, dtype):
    assert array.dtype == dtype, f"dtype {array.dtype}, expected {np.dtype(dtype)}"


def _bridge_round_trip():
    params, module = _np_params_2_3_1(), th_net()
    bridge.params_to_module(params, module)
    back = bridge.params_from_module(module)
    assert back.keys() == params.keys() and all(np.array_equal(back[k], params[k]) for k in params)


@pytest.mark.parametrize("call", [
    pytest.param(c, id=d, marks=[pytest.mark.xfail(strict=True, reason=VALID_GAPS[d])] if d in VALID_GAPS else [])
    for d, c in _valid_calls()])
def test_valid_inputs_pass(call):
    call()


def test_valid_outputs_have_the_documented_shapes(np_data, th_data):
    X, Y = np_data
    net, params = np_net(), np_params(np_net())
    AL, caches = net.forward(params, X)
    assert AL.shape == (1, M) and len(caches) == 2
    assert net.predict(params, X).shape == (1, M) and net.predict(params, X).dtype == np.int64
    cost, grads = net.loss(params, X, Y)
    assert np.isfinite(cost) and {k: g.shape for k, g in grads.items()} == {
        "d" + k: v.shape for k, v in params.items()}

    Xt, yt_ = th_data
    model = th_net()
    assert model(Xt).shape == (M, 1) and model.predict(Xt).shape == (M,)
    assert model.cost(Xt, yt_).dim() == 0
    Xb, yb = bridge.data_to_torch(X, Y)
    assert torch.equal(Xb, Xt) and torch.equal(yb, yt_)

    bridge.params_to_module(params, model)
    assert all(np.array_equal(params[k], v) for k, v in bridge.params_from_module(model).items())


# =====================================================================================
# 3. Messages name the argument and the expected shape or range
# =====================================================================================

def _message(build) -> str:
    with pytest.raises(ValueError) as info:
        build()
    return str(info.value)


@pytest.mark.parametrize("build, must_contain", [
    pytest.param(lambda: np_net().forward(np_params(np_net()), np.ones(N_X)), ["X", "rank-1"],
                 id="numpy rank-1 X: 'rank-1' hint"),
    pytest.param(lambda: np_net().forward(np_params(np_net()), xn(N_X + 1)), ["X", "(2, *)", "(3, 4)"],
                 id="numpy X wrong n_x: expected (2, *) and got"),
    pytest.param(lambda: np_net().forward(np_params(np_net()), xn().T.copy()), ["X", "(2, *)", "(4, 2)"],
                 id="numpy batch-first X: expected (2, *)"),
    pytest.param(lambda: np_net().loss(np_params(np_net()), xn(), yn()[0].copy()), ["Y", "(1, m)"],
                 id="numpy rank-1 Y: expected (1, m)"),
    pytest.param(lambda: np_net().loss(np_params(np_net()), xn(), yn(LABELS2[:-1])), ["Y", "3", "m = 4"],
                 id="numpy Y m mismatch: both counts"),
    pytest.param(lambda: np_net().loss(np_params(np_net()), xn(), yn((0, 1, 2, 0))), ["Y", "[0, 1]", "2"],
                 id="numpy binary label out of range: [0, 1]"),
    pytest.param(lambda: np_net("softmax").loss(np_params(np_net("softmax")), xn(), yn((0, 1, 3, 0))),
                 ["Y", "[0, 2]", "3"], id="numpy 3-class label out of range: [0, 2]"),
    pytest.param(lambda: np_net().forward({**np_params(np_net()), "b1": np.zeros(HIDDEN)}, xn()),
                 ["b1", ("(3, 1)", "rank-1")], id="numpy rank-1 b1: expected (3, 1) or rank-1 hint"),
    pytest.param(lambda: np_layers.linear_forward(xn(), xn(HIDDEN, N_X), np.zeros(HIDDEN)),
                 ["b", ("(3, 1)", "rank-1")], id="numpy layers rank-1 b: expected (3, 1) or rank-1 hint"),
    pytest.param(lambda: np_layers.linear_forward(xn(), xn(HIDDEN, N_X), np.zeros((1, HIDDEN))),
                 ["b", "(3, 1)", "(1, 3)"], id="numpy layers row b: expected (3, 1) and got"),
    pytest.param(lambda: np_models.train_gd(np_net(), np_params(np_net()), xn(), yn(), 0, 5),
                 ["learning_rate", "> 0", "0"], id="numpy learning_rate range"),
    pytest.param(lambda: np_logistic.optimize(w0(), 0.0, xn(), yn(), 0, 0.1),
                 ["num_iterations", ">= 1"], id="numpy num_iterations range"),
    pytest.param(lambda: np_models.Network([2, 1], "softplus"), ["hidden_activation", "relu", "softplus"],
                 id="numpy unknown activation lists the choices"),
    pytest.param(lambda: np_init.initialize_parameters([2, 1], "kaiming"), ["method", "xavier", "kaiming"],
                 id="numpy unknown init method lists the choices"),
    pytest.param(lambda: np_losses.l2_penalty({"W1": xn()}, -1, M), ["lambd", ">= 0"],
                 id="numpy negative lambd: >= 0"),
    pytest.param(lambda: th_net().forward(xt(N_X + 1)), ["X", "(*, 2)", "(4, 3)"],
                 id="torch X wrong n_x: expected (*, 2) and got"),
    pytest.param(lambda: th_net().forward(xt().T.contiguous()), ["X", "(*, 2)", "(2, 4)"],
                 id="torch columns-layout X: expected (*, 2)"),
    pytest.param(lambda: th_net().forward(torch.ones(N_X, dtype=torch.float64)), ["X", ("(*, 2)", "rank-1")],
                 id="torch rank-1 X: expected (*, 2) or rank-1 hint"),
    pytest.param(lambda: th_net().cost(xt(), yt()[:, None]), ["y", "(4,)", "(4, 1)"],
                 id="torch column y: expected (4,)"),
    pytest.param(lambda: th_net().cost(xt(), yt((0, 1, 2, 0))), ["y", "[0, 1]", "2"],
                 id="torch binary label out of range: [0, 1]"),
    pytest.param(lambda: th_net("softmax").cost(xt(), yt((0, -1, 2, 0))), ["y", "[0, 2]", "-1"],
                 id="torch 3-class label -1: [0, 2]"),
    pytest.param(lambda: th_layers.linear_forward(xt(), xt(N_X, HIDDEN), torch.zeros(HIDDEN, 1, dtype=torch.float64)),
                 ["b", "1-D"], id="torch layers (n, 1) b: 1-D"),
    pytest.param(lambda: th_models.train_gd(th_net(), xt(), yt(), -0.5, 5), ["learning_rate", "> 0", "-0.5"],
                 id="torch learning_rate range"),
    pytest.param(lambda: bridge.resolve_device("gpu"), ["device", "cpu", "cuda", "gpu"],
                 id="bridge unknown device lists the choices"),
    pytest.param(lambda: bridge.resolve_dtype("float16"), ["dtype", "float32", "float64", "float16"],
                 id="bridge unknown dtype lists the choices"),
])
def test_messages_name_argument_and_expected(build, must_contain):
    """Each entry of ``must_contain`` must occur in the message; a tuple means any one of them."""
    msg = _message(build)
    missing = [s for s in must_contain
               if not any(alt in msg for alt in (s if isinstance(s, tuple) else (s,)))]
    assert not missing, f"message {msg!r} lacks {missing}"


# =====================================================================================
# 4. float32 is never mixed with float64
# =====================================================================================

def test_numpy_float32_params_with_float64_X_rejected(np_data):
    X, Y = np_data
    net = np_net()
    params32 = np_params(net, "float32")
    for build in (lambda: net.forward(params32, X), lambda: net.loss(params32, X, Y),
                  lambda: net.predict(params32, X), lambda: net.accuracy(params32, X, Y),
                  lambda: np_models.train_gd(net, params32, X, Y, 0.1, 1)):
        msg = _message(build)
        assert re.search(arg("X"), msg) and "float32" in msg and "float64" in msg, msg
    # mixed inside params: the first dtype wins, the odd one out is named
    mixed = {**np_params(net), "W2": np_params(net)["W2"].astype(np.float32)}
    assert "params['W2']" in _message(lambda: net.forward(mixed, X))
    # the layer and logistic regression pin the dtype too
    assert re.search(arg("A_prev"), _message(lambda: np_layers.linear_forward(
        X, params32["W1"], params32["b1"])))
    assert re.search(arg("X"), _message(lambda: np_logistic.propagate(w0(dtype=np.float32), 0.0, X, Y)))
    # and float32 throughout is fine
    assert net.forward(params32, X.astype(np.float32))[0].dtype == np.float32


def test_torch_float32_model_with_float64_X_rejected(th_data):
    X, y = th_data
    net32 = th_net(dtype=torch.float32)
    for build in (lambda: net32(X), lambda: net32.scores(X), lambda: net32.cost(X, y),
                  lambda: net32.predict(X), lambda: net32.accuracy(X, y),
                  lambda: th_models.train_gd(net32, X, y, 0.1, 1),
                  lambda: th_logistic.propagate(th_logreg(torch.float32), X, y)):
        msg = _message(build)
        assert re.search(arg("X"), msg) and "float32" in msg and "float64" in msg, msg
    W32 = xt(N_X, HIDDEN, dtype=torch.float32)
    assert re.search(arg("A_prev"), _message(lambda: th_layers.linear_forward(X, W32, torch.zeros(HIDDEN))))
    assert re.search(arg("b"), _message(lambda: th_layers.linear_forward(
        X, xt(N_X, HIDDEN), torch.zeros(HIDDEN, dtype=torch.float32))))
    assert "weights[1]" in _message(lambda: th_losses.l2_penalty([X, X.float()], 0.1, M))
    assert net32(X.float()).dtype == torch.float32


def test_bridge_refuses_float32_params_into_float64_module():
    params32 = _np_params_2_3_1(np.float32)
    module = th_net()
    before = [p.detach().clone() for p in module.parameters()]
    msg = _message(lambda: bridge.params_to_module(params32, module))
    assert re.search(arg("W1"), msg) and "float32" in msg and "float64" in msg, msg
    assert all(torch.equal(a, b) for a, b in zip(before, module.parameters())), "module changed"
    # and the converse; an explicit conversion is accepted
    assert "float32" in _message(lambda: bridge.params_to_module(_np_params_2_3_1(), th_net(dtype=torch.float32)))
    bridge.params_to_module({k: v.astype(np.float64) for k, v in params32.items()}, module)
    msg = _message(lambda: bridge.logistic_to_module(w0(dtype=np.float32), 0.0, th_logreg()))
    assert re.search(arg("w"), msg) and "float32" in msg


def test_bridge_copies_read_only_arrays_before_torch_sees_them(monkeypatch):
    """torch.from_numpy warns (once per process, so a warning filter cannot pin it) that it cannot
    write to a read-only array (np.broadcast_to, a memory-mapped file): the bridge copies it first."""
    writeable, from_numpy = [], torch.from_numpy
    monkeypatch.setattr(torch, "from_numpy", lambda a: writeable.append(a.flags.writeable) or from_numpy(a))
    params = _np_params_2_3_1()
    for value in params.values():
        value.flags.writeable = False
    module = th_net()
    bridge.params_to_module(params, module)
    assert writeable and all(writeable)
    assert all(np.array_equal(v, params[k]) for k, v in bridge.params_from_module(module).items())
