"""The ``twinprop`` command (installed by ``pip install .``): one name for the project's command lines.

    twinprop check TARGET --inputs NAME=SHAPE ... [--against EXPR] ...   = python -m parity_tests.checker
    twinprop check-optimizer FILE.py:NAME --rule R --lr X ...            = python -m parity_tests.checker.optimizer_cli
    twinprop report [--device ...] [--dtype ...] [--verbose]             = python -m parity_tests.report
    twinprop mutants [--device ...] [--dtype ...]                        = python -m parity_tests.mutants
    twinprop experiments list | run | report | fidelity | bench | diverge | view = python -m experiments
    twinprop examples                                                    = python -m examples

Everything after the subcommand goes to that command line unchanged (``twinprop check --help`` is the
checker's own help), and the exit status is that command's. The ``python -m`` forms keep working.
"""

from __future__ import annotations

import importlib
import os
import sys

# name: (module whose main(argv) runs it, what it does). Imported only when chosen: `twinprop --help`
# loads neither torch nor NumPy.
COMMANDS = {
    "check": ("parity_tests.checker.cli", "check a NumPy forward/backward pair against autograd (the checker)"),
    "check-optimizer": ("parity_tests.checker.optimizer_cli",
                        "check a NumPy update rule against the project's rules and torch.optim over K steps"),
    "report": ("parity_tests.report", "the parity table: every concept run both ways, one row each"),
    "mutants": ("parity_tests.mutants", "the mutation proof: every parity row fails with a planted bug"),
    "experiments": ("experiments.cli", "list, run and report the experiments (list, run, report, fidelity, "
                                       "bench, diverge, view)"),
    "examples": ("examples.__main__", "what the checker says about each example layer, correct and buggy"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    return ("usage: twinprop COMMAND [ARGS ...]\n\n"
            "Twinprop: neural-network training written twice, NumPy from scratch and PyTorch, and the tools\n"
            "that prove the two agree.\n\ncommands:\n" + "\n".join(lines) +
            "\n\n`twinprop COMMAND --help` shows that command's options; each is also `python -m MODULE`\n"
            "(parity_tests.checker, parity_tests.checker.optimizer_cli, parity_tests.report, parity_tests.mutants,\n"
            "experiments, examples).\nIn pytest: the fixtures `check_layer` and `check_update_rule` "
            "(parity_tests.checker.pytest_plugin).")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        from importlib.metadata import PackageNotFoundError, version
        try:
            print(f"twinprop {version('twinprop')}")
        except PackageNotFoundError:
            print("twinprop (not installed: running from a source tree)")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"twinprop: unknown command {name!r}; choose from {', '.join(COMMANDS)}\n\n{usage()}",
              file=sys.stderr)
        return 2
    if name == "experiments":
        # As python -m experiments does, before NumPy is imported: one BLAS thread (experiments/__main__.py).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if name == "examples":
        if rest:
            print("twinprop examples takes no arguments", file=sys.stderr)
            return 2
        return importlib.import_module(COMMANDS[name][0]).main()
    try:
        return importlib.import_module(COMMANDS[name][0]).main(rest)
    except SystemExit as done:  # argparse's --help (0) and usage errors (2) end the command, not the caller
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
