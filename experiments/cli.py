"""python -m experiments: list, run and report the experiments.

    python -m experiments list [--quick]
    python -m experiments run NAME [NAME ...] | all  [--impl numpy|torch|both] [--device auto|cpu|cuda]
                              [--dtype float64|float32] [--logdir runs] [--data-dir DIR] [--seed N]
                              [--quick] [--variant V ...] [--checkpoint-every N] [--keep-states] [--jobs N]
    python -m experiments run --resume RUN_DIR [--data-dir DIR]
    python -m experiments run NAME --ddp K [...] | --resume RUN_DIR --ddp K   (experiments.ddp under torchrun)
    python -m experiments report [--logdir runs]
    python -m experiments diverge RUN_A RUN_B [--dtype float64|float32]
    python -m experiments fidelity [NAME ...] [--data-dir DIR] [--logdir runs/fidelity] [--device ...] [--jobs N]
    python -m experiments bench [--quick | --smoke] [...]   (experiments.bench: its options, its exit codes)
    python -m experiments sweep NAME --trials N [...]   (experiments.sweep: a hyperparameter sweep on Ray Tune)
    python -m experiments view NAME [--logdir runs] [--port N]   (experiments.view: TensorBoard on NAME's newest runs)

``run`` logs to TensorBoard under <logdir>/<experiment>/<variant>/<impl>, prints
the report of what it ran, and exits FAILED (1) when a claim fails or a published figure is
missed, naming each on stderr (report.failures; a chaotic figure within its slack and a disputed
one are not misses); ``run --help`` lists the experiments and the exit statuses. It reads every
experiment's data before the first one runs, so bad input (a ValueError) and a bad data file
(datasets.DataError) are one "error:" line with exit status 2 before any work; a data file that
is absent is a stand-in, and the report says so. ``list`` shows each experiment's claim, data set
and fallback (the data without the course's files), and its variants with their hyperparameters;
``report`` the last results and what did not run (report.not_run). ``fidelity``
(experiments.fidelity) runs every configuration with a published figure at the full budget and
prints published / NumPy / torch per figure.

Checkpoints (experiments.checkpoint): a run of the mini-batch trainer (optimisers, batch_size,
lr_decay, ...; not with early stopping) saves <run dir>/checkpoint.h5 every N epochs (--checkpoint-every;
default about 10 per run; 0: none) and after its last epoch; a full-batch run (initialisation,
regularisation, deep_cat, ...) every N iterations, at the end of the chunk of iterations that
reaches them. Ctrl-C finishes the epoch (or chunk), saves, and exits with status 130, printing
the checkpoint and the command that resumes it; ``--resume RUN_DIR`` continues that run
directory's trial from its checkpoint with the settings saved in it.

Kept states: with --keep-states every checkpoint is also kept as <run dir>/states/<step>.h5
(--checkpoint-every 1 keeps one per epoch; a full-batch run one per chunk of iterations), and
the report then says where the two sides part ("n-50: NumPy and torch agree to 3.1e-14 until
step 93; at step 94 W2[24, 22] parts: ..."). ``diverge RUN_A RUN_B`` locates that step in any
two run directories (e.g. <logdir>/<experiment>/<variant>/numpy and .../torch) by bisection
over their kept states (parity_tests.checker.divergence: its tolerance, rtol(k) = rtol_1
sqrt(k), and its assumptions) and prints the record: exit status 0 when they never part, 1
when they part, 2 on bad input (a missing directory, no kept states, a damaged state file,
states that do not match).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap

from scratch_numpy.validation import check_choice

from . import fidelity, report, view
from .catalog import EXPERIMENTS
from .checkpoint import Interrupted, sigint_saves
from .datasets import DataError
from .parallel import check_jobs, run_experiments
from .pairing import locate_divergence
from .runner import load_data, load_results, prepare_resume, resume_experiment
from .settings import CheckedParser, Settings, make_settings
from .tblog import check_writable

FAILED = 1          # run's status when a claim fails or a published figure is missed
BAD_INPUT = 2       # bad command-line input, a bad data file or checkpoint: one "error:" line
INTERRUPTED = 130   # the shell's status for a process stopped by SIGINT (128 + 2)
# run options that --resume takes from the checkpoint instead: (dest, default)
SAVED_OPTIONS = (("impl", "both"), ("device", "auto"), ("dtype", "float64"), ("logdir", "runs"), ("seed", "0"),
                 ("quick", False), ("variant", None), ("checkpoint_every", None), ("keep_states", False))
JOBS_HELP = ("run the trials in N worker processes, one thread each (default: one per core; 1: one after another "
             "in this process)")
PARTED = 1   # diverge's exit status when the two runs part (0: they never do)


def build_parser() -> argparse.ArgumentParser:
    parser = CheckedParser(prog="python -m experiments",
                           description="Twinprop's experiments, NumPy and torch side by side.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=CheckedParser)
    listing = commands.add_parser("list", help="every experiment: claim, data set and its fallback, variants and "
                                  "their hyperparameters")
    listing.add_argument("--quick", action="store_true", help="the hyperparameters of run --quick (default: the "
                         "full budget's)")
    run = commands.add_parser("run", help="run experiments (names or 'all') and print their report",
                              epilog=run_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("names", nargs="*", metavar="NAME", help="experiment names, or 'all'")
    run.add_argument("--impl", default="both", help="numpy, torch or both (default both)")
    run.add_argument("--device", default="auto", help="the torch side's device: auto, cpu or cuda (default auto)")
    run.add_argument("--dtype", default="float64", help="float64 or float32 (default float64)")
    run.add_argument("--logdir", default="runs", help="TensorBoard root (default runs/)")
    run.add_argument("--data-dir", default=None, help="folder of the course's HDF5 files "
                     "(default $TWINPROP_DATA_DIR, else the shipped experiments/data)")
    run.add_argument("--seed", default="0", help="seed for what the course does not fix (default 0)")
    run.add_argument("--quick", action="store_true", help="small budgets (tests, CI)")
    run.add_argument("--variant", action="append", default=None, help="run only this variant (repeatable; "
                     "one experiment only)")
    run.add_argument("--checkpoint-every", default=None, metavar="N", help="save a checkpoint every N epochs "
                     "(full-batch runs: iterations; default: about 10 per run; 0: none)")
    run.add_argument("--keep-states", action="store_true", help="keep every checkpoint as "
                     "<run dir>/states/<step>.h5, for diverge and the report's first divergence")
    run.add_argument("--jobs", default=None, metavar="N", help=JOBS_HELP)
    run.add_argument("--ddp", default=None, metavar="K", help="train NAME's torch side data-parallel on K processes "
                     "(torchrun, experiments.ddp: mini-batch experiments; runs in <logdir>/<experiment>/<variant>/"
                     "torch-ddpK)")
    run.add_argument("--resume", default=None, metavar="RUN_DIR", help="continue the run in RUN_DIR "
                     "(<logdir>/<experiment>/<variant>/<impl>) from its checkpoint.h5")
    show = commands.add_parser("report", help="the last results in <logdir>/results.json")
    show.add_argument("--logdir", default="runs")
    diverge = commands.add_parser("diverge", help="where two runs' kept states part (exit 0: never, 1: they part)")
    diverge.add_argument("run_a", metavar="RUN_A", help="a run directory with kept states (--keep-states)")
    diverge.add_argument("run_b", metavar="RUN_B", help="the run directory to compare it with")
    diverge.add_argument("--dtype", default=None, help="float64 or float32 (default: the states' own)")
    figures = commands.add_parser("fidelity", help="every published figure of the course, full budget, both sides")
    figures.add_argument("names", nargs="*", metavar="NAME", help="only these experiments (default: all with figures)")
    figures.add_argument("--data-dir", default=None, help="folder of the course's HDF5 files "
                         "(default $TWINPROP_DATA_DIR, else the shipped experiments/data)")
    figures.add_argument("--logdir", default="runs/fidelity", help="TensorBoard root (default runs/fidelity)")
    figures.add_argument("--device", default="auto", help="the torch side's device: auto, cpu or cuda")
    figures.add_argument("--jobs", default=None, metavar="N", help=JOBS_HELP)
    viewer = commands.add_parser("view", help="TensorBoard on an experiment's newest runs (127.0.0.1, a free port; "
                                 "Ctrl-C stops it)")
    viewer.add_argument("name", metavar="NAME", help="an experiment (its newest runs), or <experiment>-K (its root "
                        "<experiment>-K; -1: the first, <experiment>)")
    viewer.add_argument("--logdir", default="runs", help="TensorBoard root the runs were written to (default runs/)")
    viewer.add_argument("--port", default=None, metavar="N", help="serve on this port (default: a free one)")
    # listed for --help only: main hands "bench" ("sweep") and everything after it to experiments.bench (.sweep)
    commands.add_parser("bench", add_help=False, help="the performance benchmark, NumPy vs torch "
                        "(python -m experiments bench --help for its options)")
    commands.add_parser("sweep", add_help=False, help="a hyperparameter sweep on Ray Tune, both sides per trial "
                        "(python -m experiments sweep --help for its options)")
    return parser


def run_epilog() -> str:
    """The end of ``run --help``: the experiments' names and run's exit statuses."""
    names = textwrap.fill(", ".join(EXPERIMENTS), width=78, initial_indent="  ", subsequent_indent="  ")
    return (f"experiments (python -m experiments list: variants, hyperparameters, data):\n{names}\n\n"
            "exit status:\n"
            "  0    every claim holds and no published figure is missed\n"
            f"  {FAILED}    a claim fails or a published figure is missed, each named on stderr\n"
            "       (a figure by experiment, variant and metric, with the published, NumPy\n"
            "       and torch values); figures are judged at the full budget in float64 on\n"
            "       the course's data, and a chaotic figure within its declared slack or a\n"
            "       disputed one is shown, not missed\n"
            f"  {BAD_INPUT}    bad input, a bad data file or a bad checkpoint: one \"error:\" line\n"
            f"  {INTERRUPTED}  interrupted (Ctrl-C), after saving a checkpoint where the run takes them")


def experiment_names(names: list) -> list:
    """'all' or known names (no repeats) -> the experiments' names, in order."""
    if names == ["all"]:
        return list(EXPERIMENTS)
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        hint = " ('all' cannot be combined with names)" if "all" in unknown else ""
        raise ValueError(f"unknown experiment {unknown}{hint}; choose from {list(EXPERIMENTS)} or 'all'")
    return list(dict.fromkeys(names))


def _seed(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"--seed must be an integer >= 0, got {text!r}")
    return int(text)


def _every(text) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise ValueError(f"--checkpoint-every must be an integer >= 0, got {text!r}")
    return int(text)


def _hparams(hparams: dict) -> str:
    """"lr 0.0007, batch_size 64": floats to 4 significant digits."""
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in hparams.items())


def fallback(experiment, settings) -> str | None:
    """What the experiment's data is when the course's files are absent, found by loading it without
    a data directory (datasets: a generated stand-in, the course's own points generated by code, or
    data that is always generated); None when it has no data set."""
    data = load_data(experiment, dataclasses.replace(settings, data_dir=None))
    if data is None:
        return None
    if getattr(data, "standin", False):
        return "without the course's file: a generated stand-in (published figures not comparable)"
    if getattr(data, "course_data", False):
        return "without the course's file: the course's own points, generated by code"
    return "none needed: generated by code, no file read"


def list_experiments(quick: bool = False) -> str:
    """One block per experiment: its claim, data set and fallback (the data without the course's
    files), the hyperparameters all its variants share, then each variant with those that set it
    apart (at the full budget, or --quick's)."""
    settings = Settings(quick=quick)
    blocks = ["hyperparameters at the quick budget (those of run --quick)" if quick
              else "hyperparameters at the full budget (list --quick: those of run --quick)"]
    for e in EXPERIMENTS.values():
        variants = e.variants(settings)
        shared = {k: v for k, v in variants[0].hparams.items() if all(k in w.hparams and w.hparams[k] == v
                                                                        for w in variants)}
        width = max(len(v.name) for v in variants)
        rows = [f"{v.name:<{width}}  " + (_hparams({k: x for k, x in v.hparams.items() if k not in shared})
                                          if v.hparams else "(no hyperparameters)") for v in variants]
        where = fallback(e, settings)
        lines = [f"{e.name}: {e.claim}", f"  data:      {e.dataset}",
                 *([f"  fallback:  {where}"] if where else []),
                 *([f"  shared:    {_hparams(shared)}"] if shared else []),
                 *(f"  {'variants:' if i == 0 else '':<11}{row}".rstrip() for i, row in enumerate(rows))]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def prepare(args) -> tuple:
    """The checked (names, settings) of a ``run`` command, the log directory probed; bad input
    is a ValueError."""
    if not args.names:
        raise ValueError("the following arguments are required: NAME (or --resume RUN_DIR)")
    names = experiment_names(args.names)
    if args.variant and len(names) != 1:
        raise ValueError("--variant needs exactly one experiment name")
    settings = make_settings(impl=args.impl, device=args.device, dtype=args.dtype, logdir=args.logdir,
                             data_dir=args.data_dir, seed=_seed(args.seed), quick=args.quick,
                             checkpoint_every=_every(args.checkpoint_every), keep_states=args.keep_states)
    for name in names:
        EXPERIMENTS[name].select(settings, args.variant)   # bad variant names fail before any run
    check_writable(settings.logdir)                        # an unwritable or full disk fails before any run
    return names, settings


def check_resume_args(args) -> None:
    """--resume takes the run's settings from its checkpoint: only --data-dir may accompany it."""
    given = [f"--{dest.replace('_', '-')}" for dest, default in SAVED_OPTIONS if getattr(args, dest) != default]
    if args.names:
        given.insert(0, "NAME")
    if given:
        raise ValueError(f"--resume takes the run's settings from its checkpoint; drop {', '.join(given)}")


def ddp_arguments(args) -> tuple:
    """``run ... --ddp K``: (experiments.ddp's arguments, K). The data-parallel run is the torch
    side of one experiment in one torchrun, so --impl numpy, --jobs and several names are refused
    (ValueError); experiments.ddp.launch checks the rest before it starts a process."""
    if not (args.ddp.isdigit() and int(args.ddp) >= 1):
        raise ValueError(f"--ddp must be an integer >= 1 (the number of processes), got {args.ddp!r}")
    if args.impl not in ("both", "torch"):
        raise ValueError("--ddp trains the torch side: drop --impl numpy")
    if args.jobs is not None:
        raise ValueError("--ddp runs one torchrun of K processes: drop --jobs")
    if args.resume is not None:
        check_resume_args(args)   # the settings are the checkpoint's
        return ["--resume", args.resume, *(["--data-dir", args.data_dir] if args.data_dir else [])], int(args.ddp)
    if len(args.names) != 1 or args.names == ["all"]:
        raise ValueError(f"--ddp runs one experiment: give one NAME, got {args.names}")
    flags = [*(f for v in args.variant or [] for f in ("--variant", v)), "--logdir", args.logdir, "--seed", args.seed,
             "--dtype", args.dtype, "--device", args.device,
             *(["--data-dir", args.data_dir] if args.data_dir else []),
             *(["--checkpoint-every", args.checkpoint_every] if args.checkpoint_every is not None else []),
             *(["--quick"] if args.quick else []), *(["--keep-states"] if args.keep_states else [])]
    return [args.names[0], *flags], int(args.ddp)


def run(names: list, settings, variants, jobs: int) -> int:
    """Run and report each experiment (every one's data read first) on ``jobs`` processes
    (experiments.parallel); 1 when a claim fails or a published figure is missed."""
    plans = [(EXPERIMENTS[name], variants, load_data(EXPERIMENTS[name], settings)) for name in names]
    failed = []
    for result in run_experiments(plans, settings, jobs):
        print(report.format_result(result), end="\n\n", flush=True)
        failed += report.failures(result)
    print(f"results: {settings.logdir / 'results.json'}; curves: tensorboard --logdir {settings.logdir}")
    return _status(failed)


def _status(failures: list) -> int:
    """Print each failure (report.failures) on stderr; FAILED when there is one, else 0."""
    for line in failures:
        print(line, file=sys.stderr)
    return FAILED if failures else 0


def resume(plan) -> int:
    """Continue one run directory's trial (runner.prepare_resume) and report it; 1 when a claim fails
    or a published figure is missed."""
    result = resume_experiment(plan)
    print(report.format_result(result), end="\n\n", flush=True)
    return _status(report.failures(result))


def diverge(run_a, run_b, dtype) -> int:
    """Print where the two run directories' kept states part (pairing.locate_divergence); PARTED
    when they do, 0 when they never do."""
    if dtype is not None:
        check_choice("--dtype", dtype, ("float64", "float32"))
    record = locate_divergence(run_a, run_b, dtype)
    print(f"{run_a} vs {run_b}: {record}")
    return PARTED if record.parted else 0


def _error(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return BAD_INPUT


def _interrupted(error: Interrupted) -> int:
    for stopped in (error, *error.also):   # a parallel run (--jobs) stops every trial it was running
        print(f"interrupted: checkpoint saved to {stopped.path} after {stopped.unit} {stopped.epoch} of "
              f"{stopped.epochs}\nresume with: python -m experiments run --resume {stopped.path.parent}  (that "
              "trial; variants and implementations the command had not reached need their own run)", file=sys.stderr)
    return INTERRUPTED


def main(argv=None) -> int:
    """Bad command-line input, bad data files and bad checkpoints are one "error:" line and status 2;
    Ctrl-C is status 130 (after saving a checkpoint where the run takes them); any other exception
    during a run is a bug and keeps its traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from . import bench   # imported on demand: the other commands never load it
        return bench.main(argv[1:])
    if argv[:1] == ["sweep"]:
        from . import sweep   # imported on demand: Ray loads for sweeps only
        return sweep.main(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            print(list_experiments(args.quick))
            return 0
        if args.command == "view":
            return view.serve(args.logdir, args.name, args.port, EXPERIMENTS)
        if args.command == "report":
            print(report.format_results(load_results(args.logdir)))
            return 0
        if args.command == "diverge":
            return diverge(args.run_a, args.run_b, args.dtype)
        if args.command == "fidelity":
            settings, chosen = fidelity.prepare(args.names, args.data_dir, args.logdir, args.device)
            jobs = check_jobs(args.jobs)
            job = lambda: fidelity.run(settings, chosen, jobs)   # noqa: E731
        elif args.ddp is not None:
            from . import ddp   # the torchrun launcher, on demand
            return ddp.launch(*ddp_arguments(args))
        elif args.resume is not None:
            check_resume_args(args)
            plan = prepare_resume(EXPERIMENTS, args.resume, args.data_dir)
            job = lambda: resume(plan)   # noqa: E731
        else:
            names, settings = prepare(args)
            jobs = check_jobs(args.jobs)
            job = lambda: run(names, settings, args.variant, jobs)   # noqa: E731
    except ValueError as error:
        return _error(error)
    try:
        with sigint_saves():
            return job()
    except DataError as error:
        return _error(error)
    except Interrupted as error:
        return _interrupted(error)
    except KeyboardInterrupt:
        print("interrupted outside a checkpointed epoch or chunk (a run that takes no checkpoints, a second "
              "Ctrl-C, or after the last epoch): nothing more was saved", file=sys.stderr)
        return INTERRUPTED
