"""experiments.sides: both implementations keep the interface the trainers and the catalog are
written against, the Protocols Side (every model) and NetworkSide (networks). Every member of a
Protocol is present on each class, a method with a signature that accepts every call the Protocol
allows (inspect.signature), a property as a property, and a data member on a built instance."""

import inspect
from typing import Protocol

import numpy as np
import pytest

from experiments import datasets, generators, sides

SIDES = {sides.NetworkSide: (sides.NumpyNet, sides.TorchNet), sides.Side: (sides.NumpyLogistic, sides.TorchLogistic)}


def members(protocol) -> dict:
    """{name: the Protocol's declaration (a function, a property, or None for an annotated data
    member)} over ``protocol`` and the Protocols it extends."""
    found = {}
    for cls in reversed(protocol.__mro__):
        if cls is Protocol or not getattr(cls, "_is_protocol", False):
            continue
        found.update(dict.fromkeys(getattr(cls, "__annotations__", {})))
        found.update({name: value for name, value in vars(cls).items()
                      if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))})
    return found


def incompatibilities(declared, implemented) -> list:
    """Why ``implemented`` cannot stand in for ``declared`` (both functions taking self first): a
    declared parameter missing or of another kind, positional ones out of order, a default
    dropped or changed, or an extra parameter without a default."""
    want = list(inspect.signature(declared).parameters.values())[1:]
    have = list(inspect.signature(implemented).parameters.values())[1:]
    by_name = {p.name: p for p in have}
    problems = []
    for kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
        if any(p.kind == kind for p in want) and not any(p.kind == kind for p in have):
            problems.append(f"no {kind.description} parameter")
    named = [p for p in want if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    for p in named:
        q = by_name.get(p.name)
        if q is None:
            problems.append(f"no parameter {p.name}")
        elif q.kind != p.kind:
            problems.append(f"{p.name} is {q.kind.description}, declared {p.kind.description}")
        elif p.default is not inspect.Parameter.empty and q.default != p.default:
            problems.append(f"{p.name} defaults to {q.default!r}, declared {p.default!r}")
    positional = [p.name for p in named if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD]
    if positional != [p.name for p in have if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD][:len(positional)]:
        problems.append(f"positional parameters not in the order {positional}")
    declared_names = {p.name for p in named}
    problems += [f"extra parameter {q.name} has no default" for q in have
                 if q.name not in declared_names and q.default is inspect.Parameter.empty
                 and q.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    return problems


def build(cls):
    """A small instance of a side class (float64, on the CPU), on two splits of moons."""
    X, Y = generators.make_moons(30, 0.2, seed=0)
    data = datasets.generated("moons", (X[:, :20], Y[:, :20]), (X[:, 20:], Y[:, 20:]), seed=0)
    device = ("cpu",) if cls.impl == "torch" else ()
    if issubclass(cls, (sides.NumpyNet, sides.TorchNet)):
        spec = sides.NetSpec((2, 4, 1))
        return cls(spec, spec.init_params("he", np.random.RandomState(0), "float64"), data, "float64", *device)
    return cls(data, "float64", *device)


@pytest.mark.parametrize("protocol, cls", [(p, c) for p, classes in SIDES.items() for c in classes],
                         ids=lambda x: x.__name__)
def test_each_side_implements_its_protocol(protocol, cls):
    side = build(cls)
    assert isinstance(side, protocol)
    for name, declared in members(protocol).items():
        assert hasattr(side, name), f"{cls.__name__} has no {name}"
        if isinstance(declared, property):
            assert isinstance(inspect.getattr_static(cls, name), property), f"{cls.__name__}.{name} is no property"
        elif inspect.isfunction(declared):
            assert incompatibilities(declared, getattr(cls, name)) == [], f"{cls.__name__}.{name}"


def test_the_protocols_declare_what_the_catalog_calls():
    """The members the trainers and experiments use, each with its contract in a docstring."""
    side, network = members(sides.Side), members(sides.NetworkSide)
    assert {"impl", "dtype", "splits", "resumable", "train", "gd", "params", "state", "load_state", "grads",
            "accuracy", "predict"} == set(side)
    assert set(network) - set(side) == {"EarlyStopping", "live", "fit", "scores", "signal_norms", "cost_function",
                                        "cost"}
    for name, declared in network.items():
        if declared is not None:
            assert inspect.getdoc(declared), f"{name} has no contract"
    assert not isinstance(build(sides.NumpyLogistic), sides.NetworkSide)


def test_the_signature_check_catches_a_mismatch():
    """The check itself: a renamed parameter, a dropped default and a missing **loop are caught."""
    class Wrong:
        def fit(self, optimiser, lr, hyperparameters, callback, checkpoint):
            """Not NetworkSide.fit."""

    problems = incompatibilities(sides.NetworkSide.fit, Wrong.fit)
    assert "no parameter optimizer" in problems and "no variadic keyword parameter" in problems
    assert any(p.startswith("checkpoint defaults to") for p in problems)
