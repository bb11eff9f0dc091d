"""The shared runner: the Experiment an experiment module declares, and running it.

An experiment module declares one ``EXPERIMENT = Experiment(...)``: its claim,
its data, its variants (with the course's published figures where there are
some), ``run(trial) -> Outcome`` for one variant on one implementation, and
the checks of its claim. The runner does the rest, the same way for all:

    data = experiment.load(settings)                    (once)
    root = <logdir>/<experiment>[-N]                    (a fresh directory, tblog.claim_root)
    for each variant, for impl in numpy, torch:
        trial  = Trial(settings, variant, impl, data, logger for root/<variant>/<impl>,
                       reference = the NumPy outcome when this is the torch run of a pair)
        outcome = experiment.run(trial)                 (metrics, cost trajectory, final parameters)
    divergence of each pair; the claims checked on each implementation's metrics;
    the result saved in <logdir>/results.json for ``python -m experiments report``.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .settings import Settings, configure_torch, device_label
from .tblog import RunLogger, claim_root

RESULTS_FILE = "results.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Variant:
    """One configuration of an experiment. ``name`` is its run directory; ``hparams`` are logged
    (text, and hparams for sweeps); ``published``: {metric: the course's figure}."""

    name: str
    hparams: dict = field(default_factory=dict)
    published: dict = field(default_factory=dict)

    def __post_init__(self):
        if not NAME.match(self.name):
            raise ValueError(f"variant name {self.name!r} must be letters, digits, '.', '_' or '-'")


@dataclass
class Outcome:
    """One variant on one implementation: its metrics, its cost per iteration and its final
    parameters in the NumPy layout (both optional; they give the pair's divergence), and the
    seconds spent training (without the final figures)."""

    metrics: dict
    costs: list = field(default_factory=list)
    params: dict | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Claim:
    """A statement checked on one implementation's metrics {variant: {metric: value}};
    ``needs`` the variants it reads. Not checked (verdict None) when one of them did not run,
    or, for a ``full_budget`` claim (one about the course's final figures), under --quick."""

    text: str
    needs: tuple
    holds: Callable[[dict], bool]
    full_budget: bool = False


@dataclass
class Trial:
    """What ``Experiment.run`` gets for one variant on one implementation."""

    settings: Settings
    variant: Variant
    impl: str
    data: object
    logger: RunLogger
    progress: tqdm
    reference: Outcome | None = None

    @property
    def device(self) -> str:
        return "cpu" if self.impl == "numpy" else self.settings.device

    @property
    def last_of_variant(self) -> bool:
        """The variant's last run (torch when both run): where the pair's figures go."""
        return self.impl == self.settings.impls[-1]

    @property
    def hp(self) -> dict:
        return self.variant.hparams


@dataclass(frozen=True)
class Experiment:
    """An experiment module's declaration (see the module docstring).

    ``load(settings)`` returns its data (with a ``source``) or None; ``variants(settings)``
    its variants (budgets may depend on settings.quick); ``sweep``: log hparams."""

    name: str
    claim: str
    dataset: str
    variants: Callable[[Settings], list]
    run: Callable[[Trial], Outcome]
    claims: tuple = ()
    load: Callable[[Settings], object] | None = None
    sweep: bool = False

    def select(self, settings: Settings, names=None) -> list:
        variants = self.variants(settings)
        if not names:
            return variants
        known = [v.name for v in variants]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{self.name} has no variant {unknown}; its variants are {known}")
        return [v for v in variants if v.name in names]


def relative_divergence(a, b) -> float:
    """max |a - b| / max |a|: relative to the reference ``a``'s largest magnitude, absolute where
    ``a`` is all zeros (zero-initialised weights that stay zero); inf on a shape mismatch."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    scale = np.abs(a).max(initial=0.0)
    return float(np.abs(a - b).max(initial=0.0) / (scale if scale > 0 else 1.0))


def divergence(reference: Outcome, other: Outcome) -> dict:
    """The pair's divergence: of the cost trajectories and of the final parameters (max over
    tensors), each relative_divergence; and |difference| of each metric."""
    out = {}
    if reference.costs and other.costs:
        out["cost"] = relative_divergence(reference.costs, other.costs)
    if reference.params and other.params:
        out["params"] = max(relative_divergence(reference.params[k], other.params[k]) for k in reference.params)
    out["metrics"] = {k: abs(v - other.metrics[k]) for k, v in reference.metrics.items() if k in other.metrics}
    return out


def _summary(experiment: Experiment, variant: Variant, settings: Settings, impl: str, source: str) -> str:
    rows = [("experiment", experiment.name), ("claim", experiment.claim), ("variant", variant.name),
            ("implementation", impl), ("device", device_label(settings, impl)), ("dtype", settings.dtype),
            ("seed", settings.seed), ("budget", "quick" if settings.quick else "full"), ("data", source),
            *((f"hparam {k}", v) for k, v in variant.hparams.items())]
    return "\n".join(f"- **{k}**: {v}" for k, v in rows)


def _check_claims(experiment: Experiment, metrics: dict, quick: bool) -> list:
    """[{text, full_budget, verdicts: {impl: True/False/None}}]; None: not checked."""
    checked = []
    for claim in experiment.claims:
        verdicts = {}
        for impl, by_variant in metrics.items():
            ran = all(v in by_variant for v in claim.needs) and not (claim.full_budget and quick)
            verdicts[impl] = bool(claim.holds(by_variant)) if ran else None
        checked.append({"text": claim.text, "full_budget": claim.full_budget, "verdicts": verdicts})
    return checked


def run_experiment(experiment: Experiment, settings: Settings, variants=None) -> dict:
    """Run ``variants`` (names; default all) of ``experiment`` on ``settings.impls``; log each
    run to TensorBoard; save and return the result (the dict ``report`` reads)."""
    selected = experiment.select(settings, variants)
    configure_torch(settings.device)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # measured on 2 cores: faster for every experiment here (10x on the 2-D sets)
    try:
        return _run(experiment, settings, selected)
    finally:
        torch.set_num_threads(threads)


def _run(experiment: Experiment, settings: Settings, selected: list) -> dict:
    data = experiment.load(settings) if experiment.load else None
    source = getattr(data, "source", "none (no data set)")
    root = claim_root(settings.logdir, experiment.name)
    started = time.time()
    rows = [_run_variant(experiment, settings, variant, data, source, root) for variant in selected]
    metrics = {impl: {row["variant"]: row["metrics"][impl] for row in rows} for impl in settings.impls}
    result = {"experiment": experiment.name, "claim": experiment.claim, "dataset": experiment.dataset,
              "data_source": source, "course_data": getattr(data, "course_data", False), "run_dir": str(root),
              "settings": {**asdict(settings), "logdir": str(settings.logdir),
                           "data_dir": settings.data_dir and str(settings.data_dir)},
              "devices": {impl: device_label(settings, impl) for impl in settings.impls},
              "seconds": time.time() - started, "variants": rows,
              "claims": _check_claims(experiment, metrics, settings.quick)}
    save_result(settings.logdir, result)
    return result


def _run_variant(experiment: Experiment, settings: Settings, variant: Variant, data, source: str, root: Path) -> dict:
    """One variant on each implementation (NumPy first: it is the torch run's reference)."""
    outcomes, seconds = {}, {}
    for impl in settings.impls:
        logger = RunLogger(root / variant.name / impl)
        try:
            with tqdm(desc=f"{experiment.name}/{variant.name}/{impl}", disable=None, leave=False,
                      unit="it", dynamic_ncols=True) as progress:
                trial = Trial(settings, variant, impl, data, logger, progress, reference=outcomes.get("numpy"))
                t0 = time.perf_counter()
                outcome = experiment.run(trial)
                seconds[impl] = time.perf_counter() - t0
            outcome.metrics = {k: float(v) for k, v in outcome.metrics.items()}   # NumPy scalars -> JSON
            logger.text("config", _summary(experiment, variant, settings, impl, source))
            if experiment.sweep:
                logger.hparams(variant.hparams, outcome.metrics)
        finally:
            logger.close()
        outcomes[impl] = outcome
    return {"variant": variant.name, "hparams": variant.hparams, "published": variant.published,
            "metrics": {impl: o.metrics for impl, o in outcomes.items()}, "seconds": seconds,
            "divergence": divergence(outcomes["numpy"], outcomes["torch"]) if len(outcomes) == 2 else {}}


def save_result(logdir, result: dict) -> None:
    """Merge ``result`` into <logdir>/results.json (the last result of each experiment)."""
    path = Path(logdir) / RESULTS_FILE
    results = load_results(logdir) if path.is_file() else {}
    results[result["experiment"]] = result
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(results, indent=1))
    os.replace(tmp, path)


def load_results(logdir) -> dict:
    """{experiment: result} from <logdir>/results.json; a ValueError when there is none."""
    path = Path(logdir) / RESULTS_FILE
    if not path.is_file():
        raise ValueError(f"no results in {path}: run an experiment first (python -m experiments run ...)")
    return json.loads(path.read_text())
