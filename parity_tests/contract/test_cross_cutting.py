"""The contract across concepts: what no single module's file can hold.

* scratch_numpy never imports torch (statically and in a fresh interpreter);
* positive controls: the valid inputs every table perturbs pass, with the documented shapes;
* messages name the argument and the expected shape or range;
* float32 is never mixed with float64, on either side;
* ``test_every_target_was_fuzzed``: run last (conftest.py), it checks every fuzz target of every
  file of this package that ran saw enough inputs, valid and spoiled.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from parity_tests.contract.bad_input import (
    C, HIDDEN, LABELS2, LABELS3, M, N_X, error_message, lin_bwd, np_net, np_net_method, np_params, np_params_2_3_1,
    poke, th_lin_fwd, th_logreg, th_net, th_net_method, w0, xn, xt, yn, yt,
)
from parity_tests.contract.fuzzing import MIN_EXAMPLES, TARGETS
from parity_tests.contract.strategies import NAN, arg
from reference_torch import activations as th_act
from reference_torch import bridge
from reference_torch import init as th_init
from reference_torch import layers as th_layers
from reference_torch import logistic as th_logistic
from reference_torch import losses as th_losses
from reference_torch import models as th_models
from scratch_numpy import activations as np_act
from scratch_numpy import init as np_init
from scratch_numpy import layers as np_layers
from scratch_numpy import logistic as np_logistic
from scratch_numpy import losses as np_losses
from scratch_numpy import models as np_models
from scratch_numpy import validation as np_val


REPO = Path(__file__).resolve().parents[2]
SCRATCH_DIR = REPO / "scratch_numpy"


@pytest.fixture
def np_data():
    """(X (2, 4), Y (1, 4)) for the NumPy side."""
    return xn(), yn()


@pytest.fixture
def th_data():
    """(X (4, 2), y (4,)) for the torch side, the same examples batch-first."""
    return xt(), yt()


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


def _valid_calls():
    """(description, call): each must succeed; the same valid data the tables perturb."""
    def np_bwd(name):
        out, cache = np_act.FORWARD[name](xn())
        return np_act.BACKWARD[name](np.ones_like(out), cache)

    return [
        *[(f"numpy Network.{m}", lambda m=m: np_net_method(m)(xn(), yn()))
          for m in ("forward", "loss", "cost", "predict", "accuracy", "train_gd")],
        ("numpy Network[softmax].loss", lambda: np_net_method("loss", "softmax")(xn(), yn(LABELS3))),
        ("numpy Network[linear].cost", lambda: np_net_method("cost", "linear")(xn(), yn(LABELS3))),
        ("numpy float labels 0./1.", lambda: np_net_method("cost")(xn(), yn(dtype=np.float64))),
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
        ("numpy single example m=1", lambda: np_net_method("loss")(xn(m=1), yn((1,)))),
        ("numpy Network(leaky_slope=0)", lambda: np_models.Network([2, 3, 1], "leaky_relu", leaky_slope=0)),
        ("numpy layer_dims numpy ints", lambda: np_models.Network(np.array([2, 3, 1]))),
        *[(f"numpy {n}_forward/backward", lambda n=n: np_bwd(n)) for n in np_act.NAMES],
        ("numpy linear_forward/backward", lambda: lin_bwd(lambda: xn(HIDDEN))),
        ("numpy logistic", lambda: np_logistic.optimize(*np_logistic.initialize_with_zeros(N_X), xn(), yn(), 2, 0.1)),
        ("numpy logistic np.float32 b", lambda: np_logistic.predict(w0(), np.float32(0.5), xn())),
        ("numpy losses", lambda: (np_losses.binary_cross_entropy(np.full((1, M), 0.5), yn()),
                                  np_losses.softmax_cross_entropy(xn(C), yn(LABELS3)),
                                  np_losses.svm_hinge(xn(C), yn(LABELS3), 0.0))),
        ("numpy penalties l2_lambda=0", lambda: np_losses.l2_penalty(np_params(np_net()), 0, M)),
        ("numpy init every method", lambda: [np_init.initialize_parameters([3, 2, 1], mt, rng)
                                             for mt in np_init.METHODS
                                             for rng in (0, np.random.default_rng(0), np.random.RandomState(1))]),
        ("numpy check_float_array finite=False", lambda: np_val.check_float_array("A", poke(xn(), NAN), finite=False)),
        *[(f"torch Network.{m}", lambda m=m: th_net_method(m)(xt(), yt()))
          for m in ("scores", "forward", "cost", "predict", "accuracy", "train_gd")],
        ("torch Network[softmax].cost", lambda: th_net_method("cost", "softmax")(xt(), yt(LABELS3))),
        ("torch Network[linear].cost", lambda: th_net_method("cost", "linear")(xt(), yt(LABELS3))),
        ("torch float32 throughout", lambda: th_net(dtype=torch.float32).cost(xt(dtype=torch.float32), yt())),
        *[(f"torch apply({n!r})", lambda n=n: th_act.apply(n, xt())) for n in th_act.NAMES],
        ("torch linear_forward", lambda: th_lin_fwd()),
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
    params, module = np_params_2_3_1(), th_net()
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


@pytest.mark.parametrize("build, must_contain", [
    pytest.param(lambda: np_net().forward(np_params(np_net()), np.ones(N_X)), ["X", "rank-1"],
                 id="numpy rank-1 X: 'rank-1' hint"),
    pytest.param(lambda: np_net().forward(np_params(np_net()), xn(N_X + 1)), ["X", "(2, *)", "(3, 4)"],
                 id="numpy X wrong n_x: expected (2, *) and got"),
    pytest.param(lambda: np_net().forward(np_params(np_net()), xn().T.copy()), ["X", "(2, *)", "(4, 2)"],
                 id="numpy batch-first X: expected (2, *)"),
    pytest.param(lambda: np_net().loss(np_params(np_net()), xn(), yn()[0, :-1].copy()),
                 ["Y", "(1, m)", "Y.reshape(1, -1)"], id="numpy rank-1 Y of another length: expected (1, m)"),
    pytest.param(lambda: np_net().loss(np_params(np_net()), xn(), yn().T.copy()), ["Y", "(1, m)", "Y.reshape(1, -1)"],
                 id="numpy column Y: expected (1, m), the fix"),
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
    pytest.param(lambda: np_losses.l2_penalty({"W1": xn()}, -1, M), ["l2_lambda", ">= 0"],
                 id="numpy negative l2_lambda: >= 0"),
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
    msg = error_message(build)
    missing = [s for s in must_contain
               if not any(alt in msg for alt in (s if isinstance(s, tuple) else (s,)))]
    assert not missing, f"message {msg!r} lacks {missing}"


def test_numpy_float32_params_with_float64_X_rejected(np_data):
    X, Y = np_data
    net = np_net()
    params32 = np_params(net, "float32")
    for build in (lambda: net.forward(params32, X), lambda: net.loss(params32, X, Y),
                  lambda: net.predict(params32, X), lambda: net.accuracy(params32, X, Y),
                  lambda: np_models.train_gd(net, params32, X, Y, 0.1, 1)):
        msg = error_message(build)
        assert re.search(arg("X"), msg) and "float32" in msg and "float64" in msg, msg
    # mixed inside params: the first dtype wins, the odd one out is named
    mixed = {**np_params(net), "W2": np_params(net)["W2"].astype(np.float32)}
    assert "params['W2']" in error_message(lambda: net.forward(mixed, X))
    # the layer and logistic regression pin the dtype too
    assert re.search(arg("A_prev"), error_message(lambda: np_layers.linear_forward(
        X, params32["W1"], params32["b1"])))
    assert re.search(arg("X"), error_message(lambda: np_logistic.propagate(w0(dtype=np.float32), 0.0, X, Y)))
    # and float32 throughout is fine
    assert net.forward(params32, X.astype(np.float32))[0].dtype == np.float32


def test_torch_float32_model_with_float64_X_rejected(th_data):
    X, y = th_data
    net32 = th_net(dtype=torch.float32)
    for build in (lambda: net32(X), lambda: net32.scores(X), lambda: net32.cost(X, y),
                  lambda: net32.predict(X), lambda: net32.accuracy(X, y),
                  lambda: th_models.train_gd(net32, X, y, 0.1, 1),
                  lambda: th_logistic.propagate(th_logreg(torch.float32), X, y)):
        msg = error_message(build)
        assert re.search(arg("X"), msg) and "float32" in msg and "float64" in msg, msg
    W32 = xt(N_X, HIDDEN, dtype=torch.float32)
    assert re.search(arg("A_prev"), error_message(lambda: th_layers.linear_forward(X, W32, torch.zeros(HIDDEN))))
    assert re.search(arg("b"), error_message(lambda: th_layers.linear_forward(
        X, xt(N_X, HIDDEN), torch.zeros(HIDDEN, dtype=torch.float32))))
    assert "weights[1]" in error_message(lambda: th_losses.l2_penalty([X, X.float()], 0.1, M))
    assert net32(X.float()).dtype == torch.float32


def test_every_target_was_fuzzed():
    """Runs last (conftest.py): every target whose test ran saw at least MIN_EXAMPLES inputs, valid and spoiled."""
    ran = [t for t in TARGETS.values() if t.counts["tried"]]
    if not ran:
        pytest.skip("run together with test_fuzz")
    few = {t.name: dict(t.counts) for t in ran
           if t.counts["tried"] < MIN_EXAMPLES or not t.counts["answered"]
           or (t.counts["spoiled"] and not t.counts["rejected"])}
    assert not few, f"targets fuzzed too little (or never valid / never spoiled): {few}"
