"""The shared runner: the Experiment an experiment module declares, and running it.

An experiment module declares one ``EXPERIMENT = Experiment(...)``: its claim,
its data, its variants (with the course's published figures where there are
some), ``run(trial) -> Outcome`` for one variant on one implementation, and
the checks of its claim. The runner does the rest, the same way for all:

    data = experiment.load(settings)                    (once)
    root = <logdir>/<experiment>[-N]                    (a fresh directory, tblog.claim_root)
    for each variant, for impl in numpy, torch:         (run_one)
        trial  = Trial(settings, variant, impl, data, logger for root/<variant>/<impl>,
                       reference = the NumPy outcome when this is the torch run of a pair,
                       context = this run's dict for impl, shared by its variants in turn
                                 when the experiment declares shares_context, else a fresh one)
        outcome = experiment.run(trial)                 (metrics, cost trajectory, final parameters)
    divergence of each pair (pairing.pair_row); the claims checked on each implementation's metrics;
    the result saved in <logdir>/results.json for ``python -m experiments report`` (finish).

experiments.parallel runs the same trials (run_one) in worker processes (``--jobs``), then
pairing.pair_row and finish here, in the parent.

Before anything runs, the log directory is probed (tblog.check_writable). Each trial gets a
checkpoint.Checkpointer for root/<variant>/<impl>/checkpoint.h5 (unless checkpoint_every is 0),
which both trainers save through (mini-batch: per epoch; full-batch: per chunk of iterations;
with settings.keep_states each save is also kept as root/<variant>/<impl>/states/<step>.h5, and
the pair's divergence then locates where the two sides part: pairing.locate_divergence);
``resume_experiment`` continues one trial from it (results.json then holds that trial's variant
and implementation). results.json is merged under a lock and replaced atomically; a corrupt one
is kept under a new name, never overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

from . import checkpoint, figures, published
from .pairing import pair_row
from .search import Space
from .settings import Settings, configure_torch, device_label, environment, make_settings
from .tblog import RunLogger, check_writable, claim_file, claim_root, write_summaries

RESULTS_FILE = "results.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NO_DATA = "none (no data set)"   # the data source of an experiment that loads none


@dataclass(frozen=True)
class Chaos:
    """Why a configuration's training is chaotic (a last-bit difference in the arithmetic grows
    until two runs part: NumPy and torch, or one side on two CPUs), and ``slack``: how far from a
    published figure its runs may then end, absolute, in the metric's units (an accuracy on m
    points: one example is 1 / m). The run measures where the two sides part (divergence
    "parted_at")."""

    reason: str
    slack: float


@dataclass(frozen=True)
class Variant:
    """One configuration of an experiment. ``name`` is its run directory; ``hparams`` are logged
    (as text and as HParams); ``published``: {metric: the course's figure as it prints it}
    (experiments.published; ``cost_epoch_N`` is the cost the course prints for epoch or iteration
    N); ``chaos``: a Chaos when the configuration is chaotic (its figures are judged within the
    slack, README), None when the sides must agree; ``disputed``: {metric: (what our runs give, as
    printed, why the course's own code does not give that published figure)}, for figures a
    report shows as missed but documented (README), never for a figure we could match; each side
    must still give the value recorded, so a regression is a miss."""

    name: str
    hparams: dict = field(default_factory=dict)
    published: dict = field(default_factory=dict)
    chaos: Chaos | None = None
    disputed: dict = field(default_factory=dict)

    def __post_init__(self):
        if not NAME.match(self.name):
            raise ValueError(f"variant name {self.name!r} must be letters, digits, '.', '_' or '-'")
        for text in self.published.values():
            published.parse(text)   # a figure in a form the report cannot judge fails at declaration
        if not set(self.disputed) <= set(self.published):
            raise ValueError(f"variant {self.name}: disputed {sorted(self.disputed)} must be published figures")
        for ours, _ in self.disputed.values():
            published.parse(ours)


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
    or, for a ``full_budget`` claim (one about the course's final figures), under --quick, or,
    for a ``course_data`` claim (one that holds on the course's own points, not on any data of
    the schema), on a stand-in."""

    text: str
    needs: tuple
    holds: Callable[[dict], bool]
    full_budget: bool = False
    course_data: bool = False


@dataclass
class Trial:
    """What ``Experiment.run`` gets for one variant on one implementation. ``context``: in an
    experiment that declares ``shares_context``, the one dict the variants of this run of the
    experiment share on this implementation, in the order they run (empty for the first; a
    resumed trial's starts empty): where a variant leaves what a later one reads, so that nothing
    outlives the run in module-level state; otherwise a fresh dict per trial. ``report``: None, or
    ``report(trial, epoch, history, side)``, called by the mini-batch trainer after each epoch's
    logging (epoch 0-based; history: the loop's History so far; side: the trainer's Side, at its
    parameters after that epoch); experiments.sweep reports to Ray Tune through it."""

    settings: Settings
    variant: Variant
    impl: str
    data: object
    logger: RunLogger
    progress: tqdm
    reference: Outcome | None = None
    checkpoint: checkpoint.Checkpointer | None = None
    context: dict = field(default_factory=dict)
    report: Callable | None = None

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
    its variants (budgets may depend on settings.quick; every run logs its hparams:
    tblog.write_summaries); ``shares_context``: its variants read what earlier ones leave in Trial.context (each
    implementation's variants then run in order, also under --jobs; without it every trial's
    context starts empty)."""

    name: str
    claim: str
    dataset: str
    variants: Callable[[Settings], list]
    run: Callable[[Trial], Outcome]
    claims: tuple = ()
    load: Callable[[Settings], object] | None = None
    shares_context: bool = False
    space: Space | None = None

    def select(self, settings: Settings, names=None) -> list:
        variants = self.variants(settings)
        if not names:
            return variants
        known = [v.name for v in variants]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{self.name} has no variant {unknown}; its variants are {known}")
        return [v for v in variants if v.name in names]


def _summary(experiment: Experiment, variant: Variant, settings: Settings, impl: str, source: str,
             trial: Trial) -> str:
    """The run's TensorBoard text: what ran, on what, with which seed, versions and settings."""
    env = environment(settings)
    ckpt = trial.checkpoint
    rows = [("experiment", experiment.name), ("claim", experiment.claim), ("variant", variant.name),
            ("implementation", impl), ("device", device_label(settings, impl)), ("dtype", settings.dtype),
            ("seed", settings.seed), ("budget", "quick" if settings.quick else "full"), ("data", source),
            ("libraries", ", ".join(f"{k} {v}" for k, v in env["libraries"].items())),
            ("determinism", ", ".join(f"{k}={v}" for k, v in env["determinism"].items())),
            ("checkpoint", "none" if ckpt is None or ckpt.saved is None
             else f"{ckpt.saved} (every {ckpt.every} {ckpt.unit}s)"),
            *([("resumed from", f"epoch {ckpt.resume_from.epoch} of {ckpt.resume_from.source}")]
              if ckpt is not None and ckpt.resume_from else []),
            *((f"hparam {k}", v) for k, v in variant.hparams.items())]
    return "\n".join(f"- **{k}**: {v}" for k, v in rows)


def _check_claims(experiment: Experiment, metrics: dict, quick: bool, standin: bool) -> list:
    """[{text, full_budget, course_data, verdicts: {impl: True/False/None}}]; None: not checked."""
    checked = []
    for claim in experiment.claims:
        verdicts = {}
        for impl, by_variant in metrics.items():
            ran = (all(v in by_variant for v in claim.needs) and not (claim.full_budget and quick)
                   and not (claim.course_data and standin))
            verdicts[impl] = bool(claim.holds(by_variant)) if ran else None
        checked.append({"text": claim.text, "full_budget": claim.full_budget, "course_data": claim.course_data,
                        "verdicts": verdicts})
    return checked


def load_data(experiment: Experiment, settings: Settings):
    """The experiment's data (``experiment.load``), or None when it declares none."""
    return experiment.load(settings) if experiment.load else None


def run_experiment(experiment: Experiment, settings: Settings, variants=None, data=None) -> dict:
    """Run ``variants`` (names; default all) of ``experiment`` on ``settings.impls``, on ``data``
    (default: load_data, now); log each run to TensorBoard; save and return the result (the
    dict ``report`` reads)."""
    selected = experiment.select(settings, variants)
    check_writable(settings.logdir)
    data = load_data(experiment, settings) if data is None else data
    return configured(settings, lambda: _run(experiment, settings, selected, data))


def configured(settings: Settings, run):
    """``run()`` under configure_torch's parity settings, with one torch thread."""
    configure_torch(settings.device)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # measured on 2 cores: faster for every experiment here (10x on the 2-D sets)
    try:
        return run()
    finally:
        torch.set_num_threads(threads)


def _run(experiment: Experiment, settings: Settings, selected: list, data, resume=None) -> dict:
    """Run ``selected`` variants (all in a fresh root), or, with ``resume`` = (run_dir, Snapshot),
    the one trial of that run directory from its checkpoint."""
    root = claim_root(settings.logdir, experiment.name) if resume is None else resume[0].parents[1]
    started = time.time()
    contexts = {impl: {} for impl in settings.impls}
    rows = []
    for variant in selected:   # NumPy first: it is the torch run's reference
        ran = {}
        for impl in settings.impls:
            ran[impl] = run_one(experiment, settings, variant, impl, data, root, ran.get("numpy"),
                                contexts[impl] if experiment.shares_context else {}, resume)
        rows.append(pair_row(variant, ran, settings))
    return finish(experiment, settings, data, root, rows, started, resume)


def finish(experiment: Experiment, settings: Settings, data, root: Path, rows: list, started: float,
           resume=None) -> dict:
    """The result of a run of ``experiment`` (its variants' pair_rows, begun at ``started``, a
    time.time()), its claims checked; saved in results.json and returned."""
    source = getattr(data, "source", NO_DATA)
    metrics = {impl: {row["variant"]: row["metrics"][impl] for row in rows} for impl in settings.impls}
    result = {"experiment": experiment.name, "claim": experiment.claim, "dataset": experiment.dataset,
              "data_source": source, "course_data": getattr(data, "course_data", False),
              "standin": getattr(data, "standin", False), "run_dir": str(root),
              "settings": {**asdict(settings), "logdir": str(settings.logdir),
                           "data_dir": settings.data_dir and str(settings.data_dir)},
              "devices": {impl: device_label(settings, impl) for impl in settings.impls},
              "environment": environment(settings),
              **({"resumed_from": {"checkpoint": str(resume[1].source), "epoch": resume[1].epoch}} if resume else {}),
              "seconds": time.time() - started, "variants": rows,
              "claims": _check_claims(experiment, metrics, settings.quick, getattr(data, "standin", False))}
    write_summaries(experiment, root, result)   # each run's hparams, each variant's result card
    save_result(settings.logdir, result)
    return result


def _config(experiment: Experiment, variant: Variant, impl: str, settings: Settings) -> dict:
    """A trial's configuration as a checkpoint records it (JSON: paths as absolute strings)."""
    plain = {**asdict(settings), "logdir": str(Path(settings.logdir).resolve()),
             "data_dir": settings.data_dir and str(Path(settings.data_dir).resolve())}
    return {"experiment": experiment.name, "variant": variant.name, "hparams": variant.hparams, "impl": impl,
            "settings": plain}


def run_trial(experiment: Experiment, trial: Trial) -> Outcome:
    """``experiment.run(trial)``, on the torch side after seeding torch's generators (CPU and CUDA)
    from the run's seed: building a module draws from them before the shared weights are copied
    in, and dropout or a model's own draws use them, so without it the run's generator state (saved
    in its checkpoints) would differ from process to process, whatever the experiment builds."""
    if trial.impl == "torch":
        torch.manual_seed(trial.settings.seed)
    return experiment.run(trial)


def _checkpointer(experiment, variant, impl, settings, run_dir: Path, resume,
                  rehearsal: bool = False) -> checkpoint.Checkpointer | None:
    if settings.checkpoint_every == 0:
        return None
    return checkpoint.Checkpointer(run_dir / checkpoint.FILE_NAME, every=settings.checkpoint_every,
                                   epochs=variant.hparams.get("epochs"),
                                   config=_config(experiment, variant, impl, settings),
                                   resume_from=resume and resume[1], rehearsal=rehearsal,
                                   keep_states=settings.keep_states)


@dataclass
class Ran:
    """One trial done (run_one): its Outcome, its seconds of training, its run directory when
    it kept states (settings.keep_states and a checkpoint saved; else None), and its context
    as the trial left it."""

    outcome: Outcome
    seconds: float
    kept: Path | None
    context: dict


def run_one(experiment: Experiment, settings: Settings, variant: Variant, impl: str, data, root: Path,
            reference: Ran | None, context: dict, resume=None, progress: bool = True,
            report: Callable | None = None) -> Ran:
    """``variant`` of ``experiment`` on ``impl``, logged in root/<variant>/<impl>: the torch trial
    of a pair gets the NumPy trial's outcome as ``reference``; ``context`` is its Trial.context;
    ``progress``: a progress bar (on a terminal); ``report``: its Trial.report hook."""
    run_dir = root / variant.name / impl
    logger = RunLogger(run_dir, resume=resume is not None, experiment=experiment.name)
    ckpt = _checkpointer(experiment, variant, impl, settings, run_dir, resume)
    try:
        with tqdm(desc=f"{experiment.name}/{variant.name}/{impl}", disable=None if progress else True, leave=False,
                  unit="it", dynamic_ncols=True) as bar:
            trial = Trial(settings, variant, impl, data, logger, bar, reference=reference and reference.outcome,
                          checkpoint=ckpt, context=context, report=report)
            t0 = time.perf_counter()
            outcome = run_trial(experiment, trial)
            seconds = time.perf_counter() - t0
        outcome.metrics = {k: float(v) for k, v in outcome.metrics.items()}   # NumPy scalars -> JSON
        if trial.last_of_variant:   # the pair's figures, with the final metrics (experiments.figures)
            figures.pair_figures(logger, experiment.name, variant.name, impl, outcome, trial.reference)
        logger.text("config", _summary(experiment, variant, settings, impl, getattr(data, "source", NO_DATA), trial))
    finally:
        if ckpt is not None:
            ckpt.close()
        logger.close()
    kept = run_dir if settings.keep_states and ckpt is not None and ckpt.saved is not None else None
    return Ran(outcome, seconds, kept, context)


@dataclass(frozen=True)
class Resumption:
    """A checked plan to continue one trial: from ``snapshot`` (the checkpoint in ``run_dir``), on
    ``data`` (the experiment's, read once)."""

    experiment: Experiment
    variant: Variant
    settings: Settings
    run_dir: Path
    snapshot: checkpoint.Snapshot
    data: object


def prepare_resume(experiments: dict, run_dir, data_dir=None) -> Resumption:
    """Everything checked before a trial is resumed, nothing written to the run directory: the
    checkpoint in ``run_dir`` (<logdir>/<experiment root>/<variant>/<impl>; the whole file, its
    checksums), its configuration against the catalog ``experiments`` and the run directory, the
    log directory (writable), the data (read now), and the restore itself, rehearsed on throwaway
    objects (_rehearse). The settings are the saved ones (``data_dir``: where the data is now, if it
    moved). A missing, corrupt or incompatible checkpoint is a checkpoint.CheckpointError and bad
    data a datasets.DataError (both ValueErrors: the command line's one "error:" line)."""
    run_dir = Path(run_dir).resolve()
    if len(run_dir.parents) < 3:
        raise checkpoint.CheckpointError(f"{run_dir}: not a run directory <logdir>/<experiment>/<variant>/<impl>")
    snapshot = checkpoint.load(run_dir / checkpoint.FILE_NAME)
    experiment, variant, settings = resumed_trial(experiments, run_dir, snapshot, data_dir)
    check_writable(settings.logdir)
    plan = Resumption(experiment, variant, settings, run_dir, snapshot, load_data(experiment, settings))
    _rehearse(plan)
    return plan


def _rehearse(plan: Resumption) -> None:
    """Run ``plan``'s trial up to its restore, into a throwaway run directory: every check of
    restore_numpy/restore_torch/restore_full_batch against the objects the run builds (names,
    shapes, dtypes, optimiser, rate) fails here, before the real run writes anything."""
    impl = plan.snapshot.config["impl"]
    with tempfile.TemporaryDirectory(prefix="twinprop-rehearsal-") as scratch, \
            tqdm(disable=True) as progress:
        logger = RunLogger(Path(scratch) / "run")
        ckpt = _checkpointer(plan.experiment, plan.variant, impl, plan.settings, Path(scratch),
                             (plan.run_dir, plan.snapshot), rehearsal=True)
        try:
            configured(plan.settings, lambda: run_trial(
                plan.experiment, Trial(plan.settings, plan.variant, impl, plan.data, logger, progress, checkpoint=ckpt)))
        except checkpoint.Rehearsed:
            return
        finally:
            ckpt.close()
            logger.close()
    raise checkpoint.CheckpointError(f"{plan.snapshot.source}: cannot resume: this run does not restore a checkpoint")


def resume_experiment(plan: Resumption) -> dict:
    """Continue ``plan``'s trial from its checkpoint, logging into the same run directory (a new
    event file); save and return the result (that variant and implementation only)."""
    return configured(plan.settings, lambda: _run(plan.experiment, plan.settings, [plan.variant], plan.data,
                                                  (plan.run_dir, plan.snapshot)))


def data_parallel_dir(world_size: int) -> str:
    """The implementation directory of a data-parallel run of ``world_size`` processes (experiments.ddp)."""
    return f"torch-ddp{world_size}"


def resumed_trial(experiments: dict, run_dir: Path, snapshot, data_dir, world_size: int | None = None) -> tuple:
    """(experiment, variant, settings) of a checkpoint's config, checked against the catalog and
    the run directory (<logdir>/<experiment>/<variant>/<impl>, or torch-ddp<K> for a data-parallel
    run of ``world_size`` K: experiments.ddp); the log directory is the one that holds the run
    directory."""
    config, where = snapshot.config, snapshot.source
    checkpoint.check_world_size(snapshot, world_size)   # a data-parallel run's checkpoint resumes under run --ddp K

    def fail(problem):
        raise checkpoint.CheckpointError(f"{where}: cannot resume: {problem}")

    saved = config.get("settings")
    if config.get("experiment") not in experiments or not isinstance(saved, dict):
        fail(f"unknown experiment {config.get('experiment')!r:.100}")
    experiment = experiments[config["experiment"]]
    try:
        settings = make_settings(impl=config.get("impl"), device=saved.get("device"), dtype=saved.get("dtype"),
                                 logdir=run_dir.parents[2], data_dir=data_dir or saved.get("data_dir"),
                                 seed=saved.get("seed"), quick=saved.get("quick"),
                                 checkpoint_every=saved.get("checkpoint_every"),
                                 keep_states=saved.get("keep_states", False))   # absent from older checkpoints
    except (ValueError, TypeError) as error:
        fail(f"its settings are not valid here ({error})")
    if data_dir is None and saved.get("data_dir") is None:   # the run used generated data: keep it so
        settings = replace(settings, data_dir=None)
    if settings.checkpoint_every == 0:
        fail("its settings take no checkpoints (checkpoint_every 0)")
    variants = {v.name: v for v in experiment.variants(settings)}
    variant = variants.get(config.get("variant"))
    if variant is None:
        fail(f"{experiment.name} has no variant {config.get('variant')!r:.100}")
    if json.loads(json.dumps(variant.hparams)) != config.get("hparams"):
        fail(f"the variant's hyperparameters changed: {config.get('hparams')} then, {variant.hparams} now")
    impl_dir = config["impl"] if world_size is None else data_parallel_dir(world_size)
    if (run_dir.parent.name, run_dir.name) != (variant.name, impl_dir):
        fail(f"it belongs to {variant.name}/{impl_dir}, not to the run directory {run_dir}")
    return experiment, variant, settings


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock on <path>.lock: two runs merging results.json at once both land."""
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def save_result(logdir, result: dict) -> None:
    """Merge ``result`` into <logdir>/results.json (the last result of each experiment): under a
    lock, written to a temporary file, fsynced and renamed over the old one. A results.json that
    is not valid JSON is kept as results.corrupt[-N].json (announced on stderr), not overwritten."""
    path = Path(logdir) / RESULTS_FILE
    with _locked(path):
        try:
            results = load_results(logdir) if path.is_file() else {}
        except ValueError as error:
            kept = claim_file(path.with_name("results.corrupt.json"))
            os.replace(path, kept)
            print(f"warning: {error}; kept it as {kept} and started a new {path.name}", file=sys.stderr)
            results = {}
        results[result["experiment"]] = result
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        with open(tmp, "w") as handle:
            handle.write(json.dumps(results, indent=1))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)


def load_results(logdir) -> dict:
    """{experiment: result} from <logdir>/results.json; a ValueError when there is none or it is
    not a JSON object."""
    path = Path(logdir) / RESULTS_FILE
    if not path.is_file():
        raise ValueError(f"no results in {path}: run an experiment first (python -m experiments run ...)")
    try:
        results = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(results, dict):
        raise ValueError(f"{path} must hold a JSON object {{experiment: result}}, got {type(results).__name__}")
    return results
