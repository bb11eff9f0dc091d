"""The checker as a pytest plugin: check a NumPy layer's backward pass from your own test suite.

``pip install .`` (or from a git URL) registers it with pytest (entry point ``pytest11``, name
``twinprop``), so any test can ask for the fixture ``check_layer``, in three lines:

    def test_my_relu(check_layer):
        check_layer(my_forward, my_backward, inputs={"Z": (4, 6)}, against="torch.relu(Z)")

``check_layer`` runs ``harness.check_backward`` and fails the test with the checker's per-tensor report
(and its hints) as the assertion message. Without the package installed, load it with
``pytest -p parity_tests.checker.pytest_plugin`` or ``pytest_plugins = ["parity_tests.checker.pytest_plugin"]``
in a conftest.py.

Several layers, one test each (``parametrize_layers`` and ``layer_case``):

    from parity_tests.checker.pytest_plugin import layer_case, parametrize_layers

    @parametrize_layers(
        layer_case(relu_forward, relu_backward, inputs={"Z": (4, 6)}, against="torch.relu(Z)"),
        layer_case("mylayers.py:sigmoid_forward,sigmoid_backward", inputs={"Z": "4x6"},
                   against="torch.sigmoid(Z)"),
    )
    def test_layers(check_layer, layer):
        check_layer(layer)

The arguments are those of the command line (``python -m parity_tests.checker``), as Python values:
a target is the two functions or the CLI's ``"FILE.py:FORWARD,BACKWARD"`` / ``"module:FORWARD,BACKWARD"``
(loaded by ``cli.load_target``); shapes are tuples or the CLI's ``"4x6"``; ``against`` is the CLI's torch
expression (it sees ``torch``, ``F`` and every array by name; evaluated by the CLI's own code), a callable
``oracle(**tensors)``, or None for finite differences alone. The kink probe is on, as in the CLI, whenever
there are an expression and ``inputs``. Every other keyword goes to ``check_backward`` unchanged (``params``,
``fixed``, ``random``, ``state``, ``mode``, ``dtype``, ``grad_convention``, ``kinks``, ``finite_differences``,
...). The torch side runs on ``--twinprop-device`` (cpu, the default; auto; cuda) unless ``device=`` is given.

Update rules (optimizer.py): the fixture ``check_update_rule`` runs ``optimizer.check_optimizer`` and fails
the test with its report (every parameter and piece of state after 1, 3 and 200 steps, and the convention
hints):

    def test_my_adam(check_update_rule):
        check_update_rule(my_adam_update, "adam", lr=0.01)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from reference_torch.bridge import resolve_device

from . import cli
from .cli import expression_oracle, load_target, probe_possible
from .comparison import ParityReport
from .harness import check_backward
from .optimizer import OptimizerReport, check_optimizer

__all__ = ["LayerCase", "check_layer", "check_update_rule", "layer_case", "parametrize_layers", "run_check"]

DEVICE_OPTION = "--twinprop-device"


@dataclass(frozen=True)
class LayerCase:
    """One layer to check: its pair (or a CLI target string), the check's options and the test's id."""

    forward: Callable | str
    backward: Callable | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None

    def test_id(self) -> str:
        if self.id:
            return self.id
        if isinstance(self.forward, str):
            return self.forward.rpartition(":")[2].replace(",", "-")
        return getattr(self.forward, "__name__", "layer")


def layer_case(forward: Callable | str, backward: Callable | None = None, *, id: str | None = None,
               **options: Any) -> LayerCase:
    """A case for ``parametrize_layers``: the arguments of ``check_layer``, kept for later."""
    return LayerCase(forward, backward, options, id)


def parametrize_layers(*cases: LayerCase, argname: str = "layer"):
    """``pytest.mark.parametrize`` over ``cases`` (``layer_case(...)``), one test per case named by its id
    (the forward's name unless ``id=`` is given); the test receives each case as ``argname``."""
    if not cases:
        raise ValueError("parametrize_layers needs at least one layer_case(...)")
    return pytest.mark.parametrize(argname, [pytest.param(case, id=case.test_id()) for case in cases])


def run_check(forward: Callable | str | LayerCase, backward: Callable | None = None, *,
              against: str | Callable | None = None, inputs: Mapping[str, Any] | None = None,
              params: Mapping[str, Any] | None = None, device: str | None = None,
              **options: Any) -> ParityReport:
    """The report of ``check_backward`` for a pair given as ``check_layer`` takes it (see the module's
    docstring), without asserting."""
    if isinstance(forward, LayerCase):
        if backward is not None or against is not None or inputs or params or device or options:
            raise TypeError("check_layer(case) takes the case alone: its options are in layer_case(...)")
        return run_check(forward.forward, forward.backward, **forward.options)
    if isinstance(forward, str):
        if backward is not None:
            raise TypeError("give a target string 'FILE.py:FORWARD,BACKWARD' or the two functions, not both")
        label = options.pop("label", forward)
        forward, backward = load_target(forward)
        options["label"] = label
    if not callable(forward) or not callable(backward):
        raise TypeError("check_layer needs a forward and a backward function (or a 'FILE.py:F,B' target)")
    inputs, params = _shapes(inputs), _shapes(params)
    if not inputs and not params:
        raise ValueError("give the arrays to differentiate: inputs={NAME: SHAPE} (and/or params=)")
    oracle = expression_oracle(against) if isinstance(against, str) else against
    options.setdefault("probe_kinks", oracle is not None and probe_possible(inputs, options.get("values", {}),
                                                                             options.get("kinks", (0.0,))))
    options.setdefault("label", getattr(forward, "__qualname__", ""))
    return check_backward(forward, backward, oracle, inputs=inputs, params=params,
                          device=resolve_device(device or "cpu"), **options)


def _shapes(named: Mapping[str, Any] | None) -> dict[str, Any]:
    """{name: (4, 6)} from tuples or lists; a string ("4x6", "4x6:unit") is read by the CLI's own reader."""
    return {name: cli.domain(dims) if isinstance(dims, str) else dims if hasattr(dims, "shape") else tuple(dims)
            for name, dims in (named or {}).items()}


def pytest_addoption(parser):
    parser.getgroup("twinprop").addoption(
        DEVICE_OPTION, choices=("auto", "cpu", "cuda"), default="cpu",
        help="where check_layer runs the torch side (default cpu; auto: CUDA when available)")


@pytest.fixture
def check_layer(request):
    """``check_layer(forward, backward, inputs=..., against=..., **options)`` checks the pair and fails the
    test with the checker's per-tensor report; returns the report when everything agrees. Also takes a
    target string or a ``layer_case(...)``."""
    default_device = request.config.getoption(DEVICE_OPTION, default="cpu")

    def check(forward, backward=None, **options) -> ParityReport:
        __tracebackhide__ = True
        if not isinstance(forward, LayerCase):
            options.setdefault("device", default_device)
        elif "device" not in forward.options:
            forward = LayerCase(forward.forward, forward.backward, {**forward.options, "device": default_device},
                                forward.id)
        report = run_check(forward, backward, **options)
        try:
            report.assert_passed()
        except AssertionError as failure:  # raised here, so that the traceback stops at the test's own line
            raise AssertionError(str(failure)) from None
        return report

    return check


@pytest.fixture
def check_update_rule():
    """``check_update_rule(rule, name, lr=..., **options)`` checks a NumPy update rule against the project's
    rule ``name`` (``optimizer.check_optimizer``'s arguments) and fails the test with the report; returns the
    report when everything agrees."""

    def check(rule, name: str, **options) -> OptimizerReport:
        __tracebackhide__ = True
        # Only a mismatch becomes this failure, raised here so that its traceback stops at the test's own line;
        # an exception of the rule itself (an assert inside it included) propagates with the rule's frames.
        report = check_optimizer(rule, name, **options)
        if not report.passed:
            raise AssertionError(str(report))
        return report

    return check
