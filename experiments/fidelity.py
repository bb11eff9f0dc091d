"""python -m experiments fidelity: every figure the course publishes, reproduced on both sides.

    python -m experiments fidelity [NAME ...] [--data-dir DIR] [--logdir runs/fidelity] [--device auto|cpu|cuda]
                                   [--jobs N]

Runs every variant of the catalog that declares published figures (Variant.published, as the
course prints them: experiments.published), at the full budget, float64, NumPy and torch, on the
course's own files (the shipped experiments/data by default; a folder without all three is one
error before any work), and prints one row per figure: the published text, NumPy's and torch's
values at its precision, and the verdict (report.figure_match):

    reproduced          every side prints as the course does
    chaotic (±s, parts at N)
                        a chaotic configuration (runner.Chaos, README): every side ends within the
                        slack s of the figure; the sides' costs part at iteration N: not a miss
    disputed            the course's own code does not give the figure (Variant.disputed, README):
                        shown, not a miss
    MISSED              anything else

Then the counts and the wall time. Exit status 0 when nothing is missed, 1 otherwise, 2 for bad
input or missing data. The runs are logged like ``run``'s, under <logdir>/<experiment>.
"""

from __future__ import annotations

import sys
import time

from . import report
from .catalog import EXPERIMENTS
from .datasets import require_course_files
from .published import parse
from .parallel import run_experiments
from .runner import load_data
from .settings import make_settings


def published_variants(settings) -> dict:
    """{experiment name: [names of its variants with published figures]}, catalog order."""
    chosen = {name: [v.name for v in e.variants(settings) if v.published] for name, e in EXPERIMENTS.items()}
    return {name: variants for name, variants in chosen.items() if variants}


def _verdict(cell: str, missed: bool) -> str:
    if missed:
        return "MISSED"
    return {"yes": "reproduced"}.get(cell, cell)


def rows(result: dict) -> list:
    """[experiment, variant, figure, published, numpy, torch, verdict, missed] per published figure."""
    out = []
    for row in result["variants"]:
        for metric, text in row["published"].items():
            figure = parse(text)
            cell, missed = report.figure_match(result, row, metric)
            ours = [figure.show(row["metrics"].get(impl, {}).get(metric)) for impl in ("numpy", "torch")]
            out.append([result["experiment"], row["variant"], metric, text, *ours, _verdict(cell, missed), missed])
    return out


def prepare(names: list, data_dir, logdir, device: str) -> tuple:
    """(settings, {experiment: variants}) checked before any work: the course's files present,
    the names known and publishing figures; ValueError / DataError otherwise."""
    settings = make_settings(impl="both", device=device, dtype="float64", logdir=logdir, data_dir=data_dir,
                             checkpoint_every=0)
    require_course_files(settings.data_dir)
    chosen = published_variants(settings)
    unknown = [n for n in names if n not in chosen]
    if unknown:
        raise ValueError(f"no published figures in {unknown}; choose from {list(chosen)}")
    return settings, {n: chosen[n] for n in names} if names else chosen


def run(settings, chosen: dict, jobs: int) -> int:
    """Run ``chosen`` ({experiment: variants}) on ``jobs`` processes (experiments.parallel) and
    print the figures; 1 when one is missed."""
    start, table = time.perf_counter(), []
    plans = [(EXPERIMENTS[name], variants, load_data(EXPERIMENTS[name], settings))   # a bad file fails before any run
             for name, variants in chosen.items()]
    for (name, variants), result in zip(chosen.items(), run_experiments(plans, settings, jobs)):
        print(f"fidelity: {name} ({', '.join(variants)}) done", file=sys.stderr, flush=True)
        table += rows(result)
    header = ["experiment", "variant", "figure", "published", "numpy", "torch", "verdict"]
    print("\n".join(report.table([header, *(r[:-1] for r in table)])))
    verdicts = [r[6] for r in table]
    missed = sum(r[7] for r in table)
    chaotic = sum(v.startswith("chaotic") for v in verdicts)
    print(f"\n{len(table)} published figures, {len(chosen)} experiments, {time.perf_counter() - start:.0f} s: "
          f"{verdicts.count('reproduced')} reproduced on both sides, {chaotic} chaotic (within its slack), "
          f"{verdicts.count('disputed')} disputed, {missed} missed")
    return 1 if missed else 0
