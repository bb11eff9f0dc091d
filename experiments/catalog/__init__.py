"""The experiments: one module each, declaring ``EXPERIMENT`` (an experiments.runner.Experiment)
whose name is the module's name. Adding an experiment is adding a module here; it is found by
``discover`` and listed by ``python -m experiments list``."""

from __future__ import annotations

import importlib
import pkgutil


def discover() -> dict:
    """{name: Experiment} of every module of this package, by name."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        experiment = importlib.import_module(f"{__name__}.{info.name}").EXPERIMENT
        if experiment.name != info.name:
            raise ValueError(f"experiments/catalog/{info.name}.py declares the name {experiment.name!r}; "
                             "an experiment is named after its module")
        found[experiment.name] = experiment
    return found


EXPERIMENTS = discover()
