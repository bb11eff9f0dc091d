"""Mutation proof of the parity report: every row must fail when a realistic bug is planted on
either side.

    python -m parity_tests.mutants [--dtype float64|float32] [--device auto|cpu|cuda]

For every row of the parity report (parity_tests.report) and every mutant its concept module
declares for it (``MUTANTS``, parity_tests.twins.mutant), the row is run with the mutant planted:
the mutant is killed when the report fails (or, marked "raised", when the run raises). Prints
one line per (row, mutant) and "N rows, M mutants, K killed"; exits 1 if a mutant survives or a
row lacks a mutant on either side.
"""

from __future__ import annotations

import sys
import time
from typing import NamedTuple

import numpy as np
import torch

from reference_torch.bridge import resolve_device

from .report import DTYPES, run_options, text_table
from .twins import CONCEPTS
from .twins.mutant import Mutant, applies, planted

SIDES = ("numpy", "torch")


class Outcome(NamedTuple):
    label: str
    dtype: str
    mutant: Mutant
    killed: bool
    how: str   # "fails", "raised <Error>" or "passes"


def rows():
    """[(label, case, [Mutant, ...])] in the parity report's order, each row's mutants from its own module."""
    return [(label, run, [m for key, ms in concept.MUTANTS.items() if applies(key, label) for m in ms])
            for concept in CONCEPTS for label, run in concept.CASES]


def missing_sides(mutants) -> list[str]:
    """The sides with no mutant among ``mutants``."""
    return [side for side in SIDES if not any(m.side == side for m in mutants)]


def attack(label, case, mutant, dtype, device="cpu") -> Outcome:
    """Run ``case`` with ``mutant`` planted; killed if the report fails or the run raises. A mutant whose
    target no longer exists (renamed in scratch_numpy/ or reference_torch/) survives, as "not planted"."""
    try:
        # a planted bug may overflow or divide by zero on its way to wrong numbers: expected, not news
        with planted(mutant), np.errstate(all="ignore"):
            try:
                passed = case(dtype, device).passed
            except Exception as error:   # a crash also fails the row; reported as such
                return Outcome(label, dtype, mutant, True, f"raised {type(error).__name__}")
    except AttributeError as error:
        return Outcome(label, dtype, mutant, False, f"not planted ({error})")
    return Outcome(label, dtype, mutant, not passed, "passes" if passed else "fails")


def run(device: str = "cpu", dtypes=DTYPES) -> list[Outcome]:
    """Every (row, dtype, mutant) outcome."""
    return [attack(label, case, mutant, dtype, device)
            for label, case, mutants in rows() for dtype in dtypes for mutant in mutants]


def format_table(outcomes) -> str:
    header = ("row", "dtype", "side", "mutant", "killed")
    lines = [(o.label, o.dtype, o.mutant.side, o.mutant.description,
              "yes" if o.how == "fails" else ("yes, " + o.how if o.killed else "NO" + (
                  "" if o.how == "passes" else ", " + o.how))) for o in outcomes]
    return text_table(header, lines)


def main(argv=None) -> int:
    args = run_options("python -m parity_tests.mutants", __doc__.split("\n")[0]).parse_args(argv)
    dtypes = (args.dtype,) if args.dtype else DTYPES
    torch.set_num_threads(1)  # tiny tensors: a thread team costs more than it saves
    start = time.perf_counter()
    outcomes = run(str(resolve_device(args.device)), dtypes)
    print(f"Twinprop mutation proof: {len(outcomes)} mutant runs in {time.perf_counter() - start:.1f} s\n")
    print(format_table(outcomes))
    uncovered = [(label, side) for label, _, mutants in rows() for side in missing_sides(mutants)]
    for label, side in uncovered:
        print(f"row {label!r} has no {side} mutant")
    killed = sum(o.killed for o in outcomes)
    print(f"\n{len(rows()) * len(dtypes)} rows, {len(outcomes)} mutants, {killed} killed")
    return 1 if killed < len(outcomes) or uncovered else 0


if __name__ == "__main__":
    sys.exit(main())
