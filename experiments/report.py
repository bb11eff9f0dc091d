"""The report: the last result of each experiment as a table, published figures beside ours.

Per variant and metric: the course's published figure (when there is one, as the course prints
it), the NumPy and torch values (at the figure's precision), |NumPy - torch|, and once per
variant the divergence of the two runs (cost trajectory and final parameters, relative; "parts
at N" when the costs part at iteration N; where both sides kept their states, a line under the
table says where their parameters part instead, from pairing.locate_divergence: "n-50: NumPy and
torch agree to 3.1e-14 until step 93; at step 94 W2[24, 22] parts: ...", or that a side kept
none). ``match`` (figure_match) says whether each implementation reproduces the published figure
at its printed precision (experiments.published); it reads n/a for a quick budget or data that
is not the course's. Then each claim with its verdict per implementation. Results that record their
environment (runner: seed, library versions, devices, determinism settings) show it on one line,
and a resumed run says from which checkpoint. ``format_results`` ends with what the catalog has and
the results do not (``not_run``): experiments without a result (never run, or stopped before their
end, as in an interrupted ``run all``) and variants that did not run (--variant, a resumed trial).
"""

from __future__ import annotations

import textwrap

from . import published
from .catalog import EXPERIMENTS
from .settings import Settings


def _value(row: dict, metric: str, value) -> str:
    """``value`` at the published figure's precision when there is one; else accuracies in %."""
    if value is None:
        return ""
    if metric in row["published"]:
        return published.parse(row["published"][metric]).show(value)
    if metric.endswith("accuracy"):
        return f"{100 * value:.2f} %"
    return f"{value + 0.0:.4g}"   # + 0.0: no "-0"


def _divergence(value) -> str:
    return "" if value is None else f"{value:.1e}"


def figure_match(result: dict, row: dict, metric: str) -> tuple[str, bool]:
    """(the match cell, whether it is a miss) for one published figure of a variant's row:
    "yes" when every implementation that ran reproduces it at its printed precision; on a chaotic
    variant (row "chaos", runner.Chaos) "chaotic (±slack)" when every side ends within the slack,
    with "parts at N" when the two sides' costs measurably parted (README: not a miss);
    "disputed" for a figure the variant declares disputed (the course's own code does not give
    it; README: shown, not counted as a miss) when every side gives the value the variant records
    for it; else "NO", a miss. "n/a" (not judged) for a quick
    budget, a float32 run or data that is not the course's; "" without a figure."""
    text = row["published"].get(metric)
    if text is None:
        return "", False
    if result["settings"]["quick"] or not result["course_data"] or result["settings"].get("dtype") == "float32":
        return "n/a", False   # the course computes in float64: a float32 run is not its run
    figure = published.parse(text)
    ours = [m.get(metric) for m in row["metrics"].values()]
    if ours and all(v is not None and figure.reproduced_by(v) for v in ours):
        return "yes", False
    chaos = row.get("chaos")
    if chaos and ours and all(v is not None and figure.reproduced_by(v, chaos["slack"]) for v in ours):
        parted = row["divergence"].get("parted_at")
        return f"chaotic (±{figure.show(chaos['slack'])}" + (f", parts at {parted})" if parted is not None
                                                             else ")"), False
    if metric in row.get("disputed", {}):
        recorded = published.parse(row["disputed"][metric][0])
        if ours and all(v is not None and recorded.reproduced_by(v) for v in ours):
            return "disputed", False
    return "NO", True


def missed_figures(result: dict) -> list:
    """"variant metric: published ..., numpy ..., torch ..." for each published figure missed."""
    missed = []
    for row in result["variants"]:
        for metric, text in row["published"].items():
            if figure_match(result, row, metric)[1]:
                ours = ", ".join(f"{impl} {_value(row, metric, m.get(metric)) or 'none'}"
                                 for impl, m in row["metrics"].items())
                missed.append(f"{row['variant']} {metric}: published {text}, {ours}")
    return missed


def _seconds(result: dict, impl: str) -> float:
    return sum(row["seconds"][impl] for row in result["variants"])


def table(rows: list) -> list:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def _verdict(claim: dict, result: dict) -> str:
    verdicts = claim["verdicts"]
    if claim["full_budget"] and result["settings"]["quick"]:
        skipped = "needs the full budget"
    elif claim.get("course_data") and result.get("standin"):
        skipped = "needs the course's data"
    else:
        skipped = "variant not run"
    words = {True: "holds", False: "FAILS", None: skipped}
    if len(set(verdicts.values())) == 1:
        return words[next(iter(verdicts.values()))]
    return ", ".join(f"{impl}: {words[v]}" for impl, v in verdicts.items())


def _environment(result: dict) -> list:
    """The environment line (and the resumption line), for results that record them."""
    env = result.get("environment")
    lines = []
    if env:
        versions = ", ".join(f"{k} {v}" for k, v in env["libraries"].items())
        flags = ", ".join(f"{k}={v}" for k, v in env["determinism"].items())
        lines.append(f"  environment: seed {env['seed']}; {versions}; {flags}")
    if "resumed_from" in result:
        resumed = result["resumed_from"]
        lines.append(f"  resumed from epoch {resumed['epoch']} of {resumed['checkpoint']}")
    return lines


def first_divergence(row: dict) -> str | None:
    """The line that says where a variant's two sides part, from their kept states (pairing.divergence's
    ``first``, parity_tests.checker.divergence's record, values NumPy's then torch's, so NumPy is
    named first), or why it is not known (``unkept``: the sides whose trial kept no states), or None
    (no states kept were asked for)."""
    div = row["divergence"]
    if "unkept" in div:
        return (f"{row['variant']}: where NumPy and torch part is not located: no states kept by "
                f"{' and '.join(div['unkept'])} (no checkpoint saved)")
    first = div.get("first")
    return None if first is None else f"{row['variant']}: NumPy and torch {first['text']}"


def format_result(result: dict) -> str:
    settings = result["settings"]
    impls = list(result["devices"])
    lines = [f"{result['experiment']}: {result['claim']}",
             f"  data: {result['data_source']}",
             f"  runs: {result['run_dir']}; "
             + ", ".join(f"{impl} {_seconds(result, impl):.1f} s on {device}"
                         for impl, device in result["devices"].items())
             + f"; {settings['dtype']}, {'quick' if settings['quick'] else 'full'} budget, seed {settings['seed']}",
             *_environment(result)]
    rows = [["variant", "metric", "published", *impls, "|diff|", "match", "cost div", "param div"]]
    for row in result["variants"]:
        names = list(dict.fromkeys([*(k for m in row["metrics"].values() for k in m), *row["published"]]))
        div = row["divergence"]
        parted = (f" (parts at {div['parted_at']})" if div.get("parted_at") is not None and "first" not in div
                  else "")   # with kept states, the line under the table says where
        for i, metric in enumerate(names):
            values = [row["metrics"][impl].get(metric) for impl in impls]
            rows.append([row["variant"] if i == 0 else "", metric, row["published"].get(metric, ""),
                         *(_value(row, metric, v) for v in values),
                         _divergence(div.get("metrics", {}).get(metric)), figure_match(result, row, metric)[0],
                         _divergence(div.get("cost")) + parted if i == 0 else "",
                         _divergence(div.get("params")) if i == 0 else ""])
    lines += table(rows)
    lines += [f"  {line}" for line in map(first_divergence, result["variants"]) if line]
    lines += ["  claims:"] + [f"    [{_verdict(c, result)}] {c['text']}" for c in result["claims"]]
    return "\n".join(lines)


def not_run(results: dict) -> list:
    """What the catalog has and ``results`` lack, one line each: the experiments without a result
    (a result is saved when its experiment finishes, so an interrupted run leaves none), then each
    experiment whose result lacks some of its variants (at the result's budget), naming them."""
    absent = [name for name in EXPERIMENTS if name not in results]
    lines = [f"experiments: {', '.join(absent)}"] if absent else []
    for name, result in sorted(results.items()):
        if name in EXPERIMENTS:   # one the catalog no longer has is shown as it is
            ran = [row["variant"] for row in result["variants"]]
            variants = [v.name for v in EXPERIMENTS[name].variants(Settings(quick=result["settings"]["quick"]))]
            missing = [v for v in variants if v not in ran]
            if missing:
                lines.append(f"{name}: {len(ran)} of {len(variants)} variants ran ({', '.join(ran)}); "
                             f"not run: {', '.join(missing)}")
    return lines


def format_results(results: dict) -> str:
    """Every experiment's last result, in name order, then what did not run (not_run)."""
    blocks = [format_result(results[name]) for name in sorted(results)]
    missing = not_run(results)
    if missing:
        lines = [textwrap.fill(line, 100, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False)
                 for line in missing]
        blocks.append("\n".join(["did not run:", *lines]))
    return "\n\n".join(blocks)


def failed_claims(result: dict) -> list:
    """The texts of the claims that fail on some implementation."""
    return [c["text"] for c in result["claims"] if False in c["verdicts"].values()]


def failures(result: dict) -> list:
    """What makes a run of ``result`` fail, one stderr line each: every claim that fails and every
    published figure missed (figure_match: a chaotic figure within its slack and a disputed one are
    not misses), named by experiment, variant and metric with the published, NumPy and torch values."""
    name = result["experiment"]
    return ([f"claim failed: {name}: {text}" for text in failed_claims(result)]
            + [f"published figure missed: {name}: {text}" for text in missed_figures(result)])
