"""Planted bugs for the mutation proof (parity_tests.mutants): each concept module declares
``MUTANTS = {row key: [Mutant, ...]}`` next to its ``CASES``.

A row key is a parity-report label, or a prefix ending in "*" that covers every row of the
module starting with it. A mutant replaces one function (or method, or lookup table) of
scratch_numpy/ or reference_torch/ by a realistic wrong version; the row must then fail.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from typing import Callable, NamedTuple


class Mutant(NamedTuple):
    """``side`` ("numpy" or "torch"); ``targets``: the dotted path where the twin looks the object
    up, or several paths of one function (its public name and its ``.unchecked`` alias);
    ``factory(original) -> replacement``."""

    side: str
    targets: str | tuple[str, ...]
    description: str
    factory: Callable


def _owner(target: str):
    """(object holding the last attribute of ``target``, that attribute's name): the longest
    importable module prefix, then attribute lookups (a class, a function's ``.unchecked``)."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:-1]:
            owner = getattr(owner, name)
        return owner, parts[-1]
    raise ValueError(f"no importable module in {target!r}")


@contextlib.contextmanager
def planted(mutant: Mutant):
    """Within the block every target of ``mutant`` holds ``factory(original)``; restored after."""
    targets = (mutant.targets,) if isinstance(mutant.targets, str) else mutant.targets
    saved = []
    try:
        for target in targets:
            owner, name = _owner(target)
            original = getattr(owner, name)
            saved.append((owner, name, original))
            setattr(owner, name, mutant.factory(original))
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def returning(transform):
    """A factory: the original function with ``transform`` applied to its result."""
    def factory(original):
        @functools.wraps(original)
        def mutated(*args, **kwargs):
            return transform(original(*args, **kwargs))
        return mutated
    return factory


def calling(adjust):
    """A factory: the original function called with ``adjust(args, kwargs) -> (args, kwargs)``."""
    def factory(original):
        @functools.wraps(original)
        def mutated(*args, **kwargs):
            args, kwargs = adjust(args, kwargs)
            return original(*args, **kwargs)
        return mutated
    return factory


def replacing(key, value):
    """A factory for a lookup table: a copy of the original dict with ``key`` mapped to ``value``."""
    return lambda original: {**original, key: value}


def applies(key: str, label: str) -> bool:
    """Whether MUTANTS key ``key`` covers the row ``label`` (equal, or a prefix ending in "*")."""
    return label.startswith(key[:-1]) if key.endswith("*") else label == key
