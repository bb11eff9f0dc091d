"""Run an experiment's torch side data-parallel: K processes under torchrun, one rank each.

    python -m torch.distributed.run --standalone --nproc-per-node K -m experiments.ddp NAME
        [--variant V ...] [--quick] [--logdir runs] [--seed N] [--dtype float64|float32]
        [--device auto|cpu|cuda] [--data-dir DIR] [--checkpoint-every N] [--keep-states] [--check]
    python -m torch.distributed.run --standalone --nproc-per-node K -m experiments.ddp --resume RUN_DIR

Every rank runs the experiment's own code (experiment.run -> sides.network -> TorchNet.fit), which
trains through reference_torch.ddp.train because the process group is initialised: the strided
shards of the one-process batches, DDP's all-reduce, the weighting that makes its average the
global batch mean. So the run ends with the parameters of the one-process torch run (float64: to
rounding). Backend gloo on the CPU, NCCL on CUDA (rank r on cuda:LOCAL_RANK).

Rank 0 alone writes: TensorBoard (the run's summary and hparams record the world size and the
backend) and the checkpoint in <logdir>/<experiment>[-N]/<variant>/torch-ddp<K>; the other ranks
log to a NullLogger and restore from the checkpoint (``--resume``) without saving. The checkpoint
records the world size: a resume with another K is refused, naming both. Rank 0 prints each
variant's metrics and, with ``--check``, trains the same variant in one process on the torch and
the NumPy side (after the group is gone) and prints the final parameters' relative differences,
max over tensors, each within its bound (exit status 0) or not (PARTED, 1): CHECK_RTOL of the dtype, or
ROUNDING_ROOM times the two one-process runs' own gap where a long run carries rounding further.

Only experiments that train through the mini-batch loop run data-parallel (MINI_BATCH); another
NAME, an unknown variant or option is one "error:" line and status 2 (under torchrun every rank
prints it and torchrun itself exits 1; ``launch`` checks the arguments before it starts any process,
so its caller gets 2).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm import tqdm

from . import checkpoint
from .catalog import EXPERIMENTS
from .pairing import relative_divergence
from .runner import (Trial, _config, _summary, data_parallel_dir, load_data, make_settings, resumed_trial,
                     run_trial)
from .settings import CheckedParser, Settings, configure_torch
from .tblog import RunLogger, check_writable, claim_root

BAD_INPUT = 2
PARTED = 1   # --check's exit status when the data-parallel parameters leave their bound (report)
# --check's bound on max |a - b| / max |a| per tensor: float64 rounding (measured 1e-16 .. 3e-13 after up to
# 100 epochs, CONVENTIONS.md section 12) and float32's, each with room for a long run's accumulation; a run
# that amplifies rounding further gets ROUNDING_ROOM times its own one-process sides' gap (the torch and the
# NumPy run differ only in rounding): bias_variance n-50's one-process sides differ by 3.8e-13 (--quick, 100
# epochs of Adam on 50 hidden units) and 2.0e-9 (300 epochs), its 2-rank run parts from them by 1.5e-12 and 8.8e-9
CHECK_RTOL = {"float64": 1e-12, "float32": 1e-4}
ROUNDING_ROOM = 100
CHECK_CAP = {"float64": 1e-6, "float32": 1e-2}   # however far the one-process sides part (inf: no bound else)
MINI_BATCH = ("batch_size", "bias_variance", "early_stopping", "hyperparameter_search", "lr_decay", "optimisers")


class NullLogger:
    """A RunLogger that writes nothing: the logger of every rank but 0."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def build_parser() -> argparse.ArgumentParser:
    parser = CheckedParser(prog="python -m torch.distributed.run --nproc-per-node K -m experiments.ddp",
                     description="Run an experiment's torch side data-parallel (see experiments/ddp.py).")
    parser.add_argument("name", nargs="?", help=f"the experiment, one of {', '.join(MINI_BATCH)}")
    parser.add_argument("--variant", action="append", help="a variant to run (repeatable; default all)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--logdir", default="runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir")
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument("--keep-states", action="store_true")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue <logdir>/<experiment>/<variant>/torch-ddpK")
    parser.add_argument("--check", action="store_true",
                        help="rank 0 also trains each variant in one process (torch, NumPy) and compares")
    return parser


@dataclass(frozen=True)
class Plan:
    """What every rank runs: ``variants`` of ``experiment`` with ``settings`` (device resolved, not
    yet this rank's CUDA device) on ``world_size`` processes; ``resume``: (run dir, Snapshot) or None."""

    experiment: object
    variants: list
    settings: Settings
    world_size: int
    resume: tuple | None
    check: bool

    @property
    def backend(self) -> str:
        return "nccl" if self.settings.device.startswith("cuda") else "gloo"


def prepare(argv: list, world_size: int, local_world_size: int | None = None) -> Plan:
    """Parse and check ``argv`` for ``world_size`` processes, ``local_world_size`` of them on this
    machine (None: all), before any process group exists: a ValueError (one "error:" line) for bad
    input, a checkpoint of another world size included, and on CUDA more local processes than GPUs
    (NCCL gives each rank a GPU of its own, cuda:LOCAL_RANK)."""
    if isinstance(world_size, bool) or not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"nproc must be an integer >= 1, got {world_size!r}")
    plan = _prepare(argv, world_size)
    local = world_size if local_world_size is None else local_world_size
    if plan.backend == "nccl" and local > torch.cuda.device_count():
        raise ValueError(f"{local} data-parallel processes on CUDA need {local} GPUs (NCCL: one per rank), "
                         f"this machine has {torch.cuda.device_count()}")
    return plan


def _prepare(argv: list, world_size: int) -> Plan:
    args = build_parser().parse_args(argv)
    if args.resume is not None:
        if args.name or args.variant or args.check:
            raise ValueError("--resume continues the run of its checkpoint: give NAME (with --variant, --check) "
                             "or --resume, not both")
        return _prepare_resume(Path(args.resume), world_size, args.data_dir)
    if args.name not in MINI_BATCH:
        raise ValueError(f"experiment {args.name!r} does not train through the mini-batch loop; data-parallel runs "
                         f"are for {', '.join(MINI_BATCH)}")
    settings = make_settings(impl="torch", device=args.device, dtype=args.dtype, logdir=args.logdir,
                             data_dir=args.data_dir, seed=args.seed, quick=args.quick,
                             checkpoint_every=args.checkpoint_every, keep_states=args.keep_states)
    experiment = EXPERIMENTS[args.name]
    check_writable(settings.logdir)
    return Plan(experiment, experiment.select(settings, args.variant), settings, world_size, None, args.check)


def _prepare_resume(run_dir: Path, world_size: int, data_dir) -> Plan:
    """The plan that continues ``run_dir`` (<logdir>/<experiment>/<variant>/torch-ddpK) from its
    checkpoint, with the saved settings; its world size must be ``world_size``."""
    run_dir = run_dir.resolve()
    snapshot = checkpoint.load(run_dir / checkpoint.FILE_NAME)
    if snapshot.config.get("experiment") not in MINI_BATCH:
        raise checkpoint.CheckpointError(f"{snapshot.source}: cannot resume: not a data-parallel experiment's "
                                         "checkpoint")
    experiment, variant, settings = resumed_trial(EXPERIMENTS, run_dir, snapshot, data_dir, world_size)
    return Plan(experiment, [variant], settings, world_size, (run_dir, snapshot), False)


def run(plan: Plan, rank: int, local_rank: int) -> list:
    """This rank's part of ``plan`` in an initialised process group: each variant's Outcome."""
    settings = plan.settings
    if plan.backend == "nccl":
        torch.cuda.set_device(local_rank)
        settings = replace(settings, device=f"cuda:{local_rank}")
    configure_torch(settings.device)
    torch.set_num_threads(1)   # the runner's choice (experiments.runner.configured)
    data = load_data(plan.experiment, settings)
    first = rank == 0
    root = None
    if plan.resume is not None:
        root = plan.resume[0].parents[1]
    elif first:
        root = claim_root(settings.logdir, plan.experiment.name)
    outcomes, shared = [], {}   # shared: the variants' Trial.context where the experiment shares one (runner._run)
    for variant in plan.variants:
        run_dir = root / variant.name / data_parallel_dir(plan.world_size) if first else None
        logger = RunLogger(run_dir, resume=plan.resume is not None, experiment=plan.experiment.name) if first \
            else NullLogger()
        # every rank restores from a resumed run's checkpoint; rank 0 alone saves (the others' path is never written)
        ckpt = None if settings.checkpoint_every == 0 else checkpoint.Checkpointer(
            (run_dir or Path(os.devnull)) / checkpoint.FILE_NAME, every=settings.checkpoint_every,
            epochs=variant.hparams.get("epochs"), config=_config(plan.experiment, variant, "torch", plan.settings),
            resume_from=plan.resume and plan.resume[1], keep_states=settings.keep_states,
            world_size=plan.world_size, writes=first)
        try:
            with tqdm(desc=f"{plan.experiment.name}/{variant.name}/{data_parallel_dir(plan.world_size)}",
                      disable=None if first else True, leave=False, unit="it", dynamic_ncols=True) as bar:
                trial = Trial(settings, variant, "torch", data, logger, bar, checkpoint=ckpt,
                              context=shared if plan.experiment.shares_context else {})
                outcome = run_trial(plan.experiment, trial)
            outcome.metrics = {k: float(v) for k, v in outcome.metrics.items()}
            ddp = {"world_size": plan.world_size, "backend": plan.backend}
            logger.text("config", _summary(plan.experiment, variant, settings, "torch",
                                           getattr(data, "source", "none"), trial)
                        + "".join(f"\n- **{k}**: {v}" for k, v in ddp.items()))
            logger.hparams({**variant.hparams, **ddp}, outcome.metrics)
        finally:
            if ckpt is not None:
                ckpt.close()
            logger.close()
        outcomes.append(outcome)
    return outcomes


def one_process(plan: Plan, variant, impl: str, context: dict):
    """``variant`` trained in this process alone on ``impl`` (no logging, no checkpoint), with
    ``context`` as its Trial.context: --check's reference. Call it with no process group (or
    TorchNet.fit would train data-parallel)."""
    settings = replace(plan.settings, impls=(impl,))
    with tqdm(disable=True) as bar:
        return run_trial(plan.experiment, Trial(settings, variant, impl, load_data(plan.experiment, settings),
                                                NullLogger(), bar, context=context))


def report(plan: Plan, outcomes: list) -> tuple:
    """Rank 0's lines and whether every check held: each variant's metrics and, with --check, the
    parameters' relative differences to the one-process torch and NumPy runs (max over tensors),
    each against the larger of CHECK_RTOL of the run's dtype and ROUNDING_ROOM times the gap between
    the two one-process runs (which differ by rounding alone: how far this run carries it), at most
    CHECK_CAP."""
    lines = [f"{plan.experiment.name} on {plan.world_size} processes ({plan.backend}):"]
    contexts = {"torch": {}, "numpy": {}}   # each side's variants share one where the experiment does (runner._run)
    held = True
    for variant, outcome in zip(plan.variants, outcomes):
        lines.append(f"  {variant.name}: " + ", ".join(f"{k}={v:.6g}" for k, v in outcome.metrics.items()))
        if plan.check:
            references = {impl: one_process(plan, variant, impl,
                                            contexts[impl] if plan.experiment.shares_context else {}).params
                          for impl in ("torch", "numpy")}
            sides = max(relative_divergence(references["torch"][k], references["numpy"][k])
                        for k in references["torch"])
            dtype = plan.settings.dtype
            bound = min(max(CHECK_RTOL[dtype], ROUNDING_ROOM * sides), CHECK_CAP[dtype])
            for impl, reference in references.items():
                gap = max(relative_divergence(reference[k], outcome.params[k]) for k in reference)
                held &= gap <= bound
                lines.append(f"    parameters vs one-process {impl}: {gap:.2e} relative (max over tensors; "
                             f"{'within' if gap <= bound else 'PARTS: beyond'} {bound:.0e})")
            lines.append(f"    one-process torch vs numpy: {sides:.2e} relative")
    return "\n".join(lines), held


def main(argv=None) -> int:
    """One rank's run (torchrun sets RANK, LOCAL_RANK, WORLD_SIZE); bad input is one "error:" line and
    status 2."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if "WORLD_SIZE" not in os.environ:
            raise ValueError("experiments.ddp runs under torchrun: python -m torch.distributed.run --standalone "
                             "--nproc-per-node K -m experiments.ddp ...")
        plan = prepare(argv, int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_WORLD_SIZE",
                                                                              os.environ["WORLD_SIZE"])))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", 0))
    dist.init_process_group(plan.backend)
    try:
        outcomes = run(plan, rank, local_rank)
    except ValueError as error:   # e.g. a checkpoint that does not fit the run: every rank finds it
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    finally:
        dist.destroy_process_group()
    if rank != 0:
        return 0
    text, held = report(plan, outcomes)
    print(text)
    return 0 if held else PARTED


def launch(argv: list, nproc: int) -> int:
    """``python -m torch.distributed.run --standalone --nproc-per-node nproc -m experiments.ddp argv``
    (``sys.executable``); its exit status. ``argv`` is checked here first: bad input is one
    "error:" line and status 2, before any process starts."""
    try:
        prepare(list(argv), nproc)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    return subprocess.call([sys.executable, "-m", "torch.distributed.run", "--standalone",
                            f"--nproc-per-node={nproc}", "-m", "experiments.ddp", *argv])


if __name__ == "__main__":
    sys.exit(main())
