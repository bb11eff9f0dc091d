"""The report: the last result of each experiment as a table, published figures beside ours.

Per variant and metric: the course's published figure (when there is one),
the NumPy and torch values, |NumPy - torch|, and once per variant the
divergence of the two runs (cost trajectory and final parameters, relative).
``match`` compares both implementations with the published figure (within
MATCH_TOLERANCE); it reads n/a for a quick budget or data that is not the
course's. Then each claim with its verdict per implementation. Results that record their
environment (runner: seed, library versions, devices, determinism settings) show it on one line,
and a resumed run says from which checkpoint.
"""

from __future__ import annotations

MATCH_TOLERANCE = 0.001   # accuracies are fractions; the course prints them to 0.01 %-1 %


def _value(metric: str, value) -> str:
    if value is None:
        return ""
    if metric.endswith("accuracy"):
        return f"{100 * value:.2f} %"
    return f"{value + 0.0:.4g}"   # + 0.0: no "-0"


def _divergence(value) -> str:
    return "" if value is None else f"{value:.1e}"


def _match(result: dict, row: dict, metric: str) -> str:
    published = row["published"].get(metric)
    if published is None:
        return ""
    if result["settings"]["quick"] or not result["course_data"]:
        return "n/a"
    ours = [m[metric] for m in row["metrics"].values() if metric in m]
    return "yes" if ours and all(abs(v - published) <= MATCH_TOLERANCE for v in ours) else "NO"


def _seconds(result: dict, impl: str) -> float:
    return sum(row["seconds"][impl] for row in result["variants"])


def _table(rows: list) -> list:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def _verdict(claim: dict, quick: bool) -> str:
    verdicts = claim["verdicts"]
    skipped = "needs the full budget" if claim["full_budget"] and quick else "variant not run"
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
        names = list(dict.fromkeys(k for m in row["metrics"].values() for k in m))
        div = row["divergence"]
        for i, metric in enumerate(names):
            values = [row["metrics"][impl].get(metric) for impl in impls]
            rows.append([row["variant"] if i == 0 else "", metric, _value(metric, row["published"].get(metric)),
                         *(_value(metric, v) for v in values),
                         _divergence(div.get("metrics", {}).get(metric)), _match(result, row, metric),
                         _divergence(div.get("cost")) if i == 0 else "",
                         _divergence(div.get("params")) if i == 0 else ""])
    lines += _table(rows)
    lines += ["  claims:"] + [f"    [{_verdict(c, settings['quick'])}] {c['text']}" for c in result["claims"]]
    return "\n".join(lines)


def format_results(results: dict) -> str:
    """Every experiment's last result, in name order."""
    return "\n\n".join(format_result(results[name]) for name in sorted(results))


def failed_claims(result: dict) -> list:
    """The texts of the claims that fail on some implementation."""
    return [c["text"] for c in result["claims"] if False in c["verdicts"].values()]
