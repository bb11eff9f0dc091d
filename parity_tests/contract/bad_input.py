"""Helpers of the input-validation tables shared by the test_*.py files of this package.

Every public function and model checks its inputs: a wrong shape (a rank-1 array where a column
(n, 1) or a row (1, m) is meant included), a mismatched m between X and Y, labels outside [0, C),
NaN/inf, integer arrays where floats are needed, float32 mixed with float64, an empty batch, a bad
hyperparameter, an unknown activation/output/init method, bad layer_dims and unknown device/dtype
strings are a ``ValueError`` whose message names the argument (and the expected shape or range) --
never an IndexError, a broadcast error or a RuntimeError from inside NumPy/torch, and never a
silently broadcast result.

Layout: scratch_numpy takes examples in columns (X (n_x, m), Y (1, m)); reference_torch is
batch-first (X (m, n_x), y (m,) int64).

Every bad-input table row is ``case(description, match, build)``: ``build()`` must raise
``ValueError`` whose message matches ``match`` (the argument's name; ``strategies.arg``). Rows
marked ``gap=...`` document an input the library does not reject yet: they are strict xfails, so
fixing the library turns them into failures that ask for the mark to be removed.

Here: the row builder and its assertion, fresh data for every call (``xn``/``yn``, ``xt``/``yt``),
the small networks both sides are checked on, and the bad X / Y / hyperparameter tables that every
entry point taking them shares (``bad_x_cases``, ``bad_y_cases``, ``hyper_cases``).
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

from parity_tests.contract.strategies import INF, NAN, arg
from reference_torch import layers as th_layers
from reference_torch import logistic as th_logistic
from reference_torch import models as th_models
from scratch_numpy import layers as np_layers
from scratch_numpy import models as np_models


N_X, HIDDEN, M, C = 2, 3, 4, 3  # features, hidden units, examples, classes (multiclass nets)
LABELS2 = (0, 1, 1, 0)  # binary labels for the m = 4 examples
LABELS3 = (0, 1, 2, 1)  # C = 3 class labels


def case(desc: str, match: str, build, gap: str | None = None):
    """A table row: ``build()`` must raise ValueError matching ``match``."""
    marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
    return pytest.param(build, match, id=desc, marks=marks)


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


def np_net_method(method: str, output: str = "sigmoid"):
    def call(X, Y):
        net = np_net(output)
        params = np_params(net)
        if method in ("forward", "predict"):
            return getattr(net, method)(params, X)
        if method == "train_gd":
            return np_models.train_gd(net, params, X, Y, 0.1, 2)
        return getattr(net, method)(params, X, Y)
    return call


def np_bad_y(num_classes: int, labels):
    """(description, make Y): every Y is bad for an m = 4, ``num_classes`` entry point. A rank-1 (m,)
    Y and, for binary outputs, a boolean Y are accepted (scratch_numpy.validation.check_labels;
    parity_tests/test_course_habits.py): a rank-1 Y of another length and booleans for more classes
    are not."""
    head = tuple(labels[:-1])
    return [
        ("Y rank-1 (m + 1,)", lambda: yn(tuple(labels) + (0,))[0].copy()),
        ("Y column (m, 1)", lambda: yn(labels).T.copy()),
        ("Y two rows (2, m)", lambda: np.vstack([yn(labels), yn(labels)])),
        ("Y m - 1 labels", lambda: yn(head)),
        ("Y m + 1 labels", lambda: yn(tuple(labels) + (0,))),
        (f"Y label {num_classes} out of range", lambda: yn(head + (num_classes,))),
        ("Y label -1", lambda: yn(head + (-1,))),
        ("Y fractional label", lambda: yn(head + (0.5,), np.float64)),
        ("Y NaN label", lambda: yn(head + (NAN,), np.float64)),
        ("Y inf label", lambda: yn(head + (INF,), np.float64)),
        *([("Y bool for C > 2", lambda: yn(labels) > 0)] if num_classes != 2 else []),
        ("Y strings", lambda: yn(labels).astype(str)),
        ("Y list", lambda: yn(labels).tolist()),
        ("Y None", lambda: None),
    ]


def xy_case(entry_name, entry, desc, make_x, make_y, match):
    return case(f"{entry_name} | {desc}", match, lambda: entry(make_x(), make_y()))


def y_case(entry_name, entry, desc, make_y, match):
    row = f"{entry_name} | {desc}"
    return case(row, match, lambda: entry(make_y()))


def bad_x_cases(entries: dict, bad_x: list, match: str) -> list:
    """Every bad X of ``bad_x`` ((description, make X, make Y)) fed to every entry point of ``entries``
    ({name: call(X, Y)}): rows whose ValueError must match ``match``."""
    return [xy_case(name, entry, desc, mx, my, match) for name, entry in entries.items() for desc, mx, my in bad_x]


def bad_y_cases(entries: dict, bad_y, match: str) -> list:
    """Every bad label array ``bad_y(num_classes, labels)`` gives, fed to every entry point of ``entries``
    ({name: (call(Y), num_classes, valid labels)}): rows whose ValueError must match ``match``."""
    return [y_case(name, entry, desc, my, match)
            for name, (entry, k, labels) in entries.items() for desc, my in bad_y(k, labels)]


LR_BAD = [(0, "0"), (0.0, "0.0"), (-0.1, "negative"), (NAN, "NaN"), (INF, "inf"),
          ("0.1", "str"), (None, "None"), (True, "bool"), ([0.1], "list")]


ITER_BAD = [(0, "0"), (-3, "negative"), (2.5, "fractional"), (3.0, "float 3.0"),
            ("10", "str"), (None, "None"), (True, "bool"), (np.float64(3), "np.float64")]


def hyper_cases(trainers):
    rows = []
    for name, train in trainers.items():
        for value, desc in LR_BAD:
            rows.append(case(f"{name} | learning_rate {desc}", arg("learning_rate"),
                             lambda train=train, value=value: train(value, 2)))
        for value, desc in ITER_BAD:
            rows.append(case(f"{name} | num_iterations {desc}", arg("num_iterations"),
                             lambda train=train, value=value: train(0.1, value)))
    return rows


def set_key(key, make):
    return lambda params: params.__setitem__(key, make(params))


def lin_fwd(A_prev=None, W=None, b=None):
    """layers.linear_forward with n_prev = 2, n = 3, m = 4; None means the valid argument."""
    A_prev = xn() if A_prev is None else A_prev()
    W = xn(HIDDEN, N_X) if W is None else W()
    b = np.zeros((HIDDEN, 1)) if b is None else b()
    return np_layers.linear_forward(A_prev, W, b)


VALID = object()


def lin_bwd(dZ, cache=VALID):
    """layers.linear_backward with the cache of a valid _lin_fwd() unless ``cache`` is given."""
    return np_layers.linear_backward(dZ(), lin_fwd()[1] if cache is VALID else cache)


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


def th_net_method(method: str, output: str = "sigmoid"):
    def call(X, y):
        net = th_net(output)
        if method in ("scores", "forward", "predict"):
            return getattr(net, method)(X)
        if method == "train_gd":
            return th_models.train_gd(net, X, y, 0.1, 2)
        return getattr(net, method)(X, y)
    return call


def th_bad_y(num_classes: int, labels):
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
        *([("y bool for C > 2", lambda: yt(labels) > 0)] if num_classes != 2 else []),   # binary: accepted
        ("y numpy array", lambda: np.array(labels)),
        ("y list", lambda: list(labels)),
        ("y None", lambda: None),
    ]


def th_lin_fwd(A_prev=None, W=None, b=None):
    """layers.linear_forward with n_prev = 2, n = 3, m = 4, batch-first."""
    A_prev = xt() if A_prev is None else A_prev()
    W = xt(N_X, HIDDEN) if W is None else W()  # (3, 2)
    b = torch.zeros(HIDDEN, dtype=torch.float64) if b is None else b()
    return th_layers.linear_forward(A_prev, W, b)


def np_params_2_3_1(dtype=np.float64):
    return np_params(np_net(), "float32" if dtype == np.float32 else "float64")


def error_message(build) -> str:
    with pytest.raises(ValueError) as info:
        build()
    return str(info.value)
