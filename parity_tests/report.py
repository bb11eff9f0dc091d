"""The parity report: every concept run both ways on random inputs, one row each.

    python -m parity_tests.report [--device auto|cpu|cuda] [--dtype float64|float32] [--verbose]

Columns: the largest absolute and relative difference between the NumPy and
the torch side over the concept's outputs, its gradients and its parameters
after an update; then the verdict under the dtype's tolerance (see
harness.TOLERANCES). Exits 1 if any row fails, printing that row's full
per-tensor table.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from reference_torch.bridge import resolve_device

from .checker.harness import KINDS, tensor_kind
from .twins import CASES

DTYPES = ("float64", "float32")


def run(device: str = "cpu", dtypes=DTYPES):
    """[(label, dtype, ParityReport)] for every registered case."""
    return [(label, dtype, case(dtype, device)) for label, case in CASES for dtype in dtypes]


def format_table(results) -> str:
    header = ["concept", "dtype"] + [f"{kind} {stat}" for kind in KINDS for stat in ("abs", "rel")] + ["result"]
    rows = []
    for label, dtype, report in results:
        cells = [label, dtype]
        for kind in KINDS:
            has = any(tensor_kind(d.name) == kind for d in report.diffs)
            cells += [f"{v:.1e}" for v in report.worst(kind)] if has else ["-", "-"]
        rows.append(cells + ["pass" if report.passed else "FAIL"])
    return text_table(header, rows)


def text_table(header, rows) -> str:
    """Columns padded to their widest cell, a rule under the header (the parity and mutation tables)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run_options(prog: str, description: str) -> argparse.ArgumentParser:
    """The options every table over the report's rows takes: --device and --dtype."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"),
                        help="where the torch side runs (the NumPy side is always on the CPU)")
    parser.add_argument("--dtype", choices=DTYPES, help="only this dtype (default: both)")
    return parser


def main(argv=None) -> int:
    parser = run_options("python -m parity_tests.report", __doc__.split("\n")[0])
    parser.add_argument("--verbose", action="store_true", help="print every per-tensor table")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    torch.set_num_threads(1)  # tiny tensors: a thread team costs more than it saves
    start = time.perf_counter()
    results = run(str(device), (args.dtype,) if args.dtype else DTYPES)
    print(f"Twinprop parity report: NumPy (CPU) vs torch ({device}), "
          f"{len(results)} rows in {time.perf_counter() - start:.1f} s\n")
    print(format_table(results))
    failed = [(label, dtype, r) for label, dtype, r in results if not r.passed or args.verbose]
    for label, dtype, report in failed:
        print(f"\n{report}")
    bad = sum(not r.passed for _, _, r in results)
    print(f"\n{len(results) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
