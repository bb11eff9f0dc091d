"""python -m experiments: list, run and report the experiments.

    python -m experiments list
    python -m experiments run NAME [NAME ...] | all  [--impl numpy|torch|both] [--device auto|cpu|cuda]
                              [--dtype float64|float32] [--logdir runs] [--data-dir DIR] [--seed N]
                              [--quick] [--variant V ...]
    python -m experiments report [--logdir runs]

``run`` logs to TensorBoard under <logdir>/<experiment>/<variant>/<impl>, prints
the report of what it ran, and exits 1 when a claim fails. Bad input (a ValueError)
and a bad data file (datasets.DataError) are one "error:" line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from . import report
from .catalog import EXPERIMENTS
from .datasets import DataError
from .runner import load_results, run_experiment
from .settings import Settings, make_settings


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise ValueError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m experiments", description="Twinprop's experiments, NumPy and torch side by side.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="every experiment: name, data set, claim")
    run = commands.add_parser("run", help="run experiments (names or 'all') and print their report")
    run.add_argument("names", nargs="+", metavar="NAME", help="experiment names, or 'all'")
    run.add_argument("--impl", default="both", help="numpy, torch or both (default both)")
    run.add_argument("--device", default="auto", help="the torch side's device: auto, cpu or cuda (default auto)")
    run.add_argument("--dtype", default="float64", help="float64 or float32 (default float64)")
    run.add_argument("--logdir", default="runs", help="TensorBoard root (default runs/)")
    run.add_argument("--data-dir", default=None, help="folder of the course's HDF5 files "
                     "(default $TWINPROP_DATA_DIR, else ../shared/data)")
    run.add_argument("--seed", default="0", help="seed for what the course does not fix (default 0)")
    run.add_argument("--quick", action="store_true", help="small budgets (tests, CI)")
    run.add_argument("--variant", action="append", default=None, help="run only this variant (repeatable; "
                     "one experiment only)")
    show = commands.add_parser("report", help="the last results in <logdir>/results.json")
    show.add_argument("--logdir", default="runs")
    return parser


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


def list_experiments() -> str:
    """One line per experiment (name, data set, claim), then its variants."""
    experiments = EXPERIMENTS.values()
    w0, w1 = max(len("name"), *map(len, EXPERIMENTS)), max(len("data set"), *(len(e.dataset) for e in experiments))
    lines = [f"{'name':<{w0}}  {'data set':<{w1}}  claim"]
    for e in experiments:
        lines.append(f"{e.name:<{w0}}  {e.dataset:<{w1}}  {e.claim}")
        lines.append(f"{'':<{w0}}  variants: " + ", ".join(v.name for v in e.variants(Settings())))
    return "\n".join(lines)


def prepare(args) -> tuple:
    """The checked (names, settings) of a ``run`` command; bad input is a ValueError."""
    names = experiment_names(args.names)
    if args.variant and len(names) != 1:
        raise ValueError("--variant needs exactly one experiment name")
    settings = make_settings(impl=args.impl, device=args.device, dtype=args.dtype, logdir=args.logdir,
                             data_dir=args.data_dir, seed=_seed(args.seed), quick=args.quick)
    for name in names:
        EXPERIMENTS[name].select(settings, args.variant)   # bad variant names fail before any run
    return names, settings


def run(names: list, settings, variants) -> int:
    """Run and report each experiment; 1 when a claim fails."""
    failed = []
    for name in names:
        result = run_experiment(EXPERIMENTS[name], settings, variants)
        print(report.format_result(result), end="\n\n", flush=True)
        failed += [f"{name}: {text}" for text in report.failed_claims(result)]
    print(f"results: {settings.logdir / 'results.json'}; curves: tensorboard --logdir {settings.logdir}")
    for line in failed:
        print(f"claim failed: {line}", file=sys.stderr)
    return 1 if failed else 0


def _error(error: Exception) -> int:
    print(f"error: {error}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    """Bad command-line input and bad data files are one "error:" line and status 2; any other
    exception during a run is a bug and keeps its traceback."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "list":
            print(list_experiments())
            return 0
        if args.command == "report":
            print(report.format_results(load_results(args.logdir)))
            return 0
        names, settings = prepare(args)
    except ValueError as error:
        return _error(error)
    try:
        return run(names, settings, args.variant)
    except DataError as error:
        return _error(error)
