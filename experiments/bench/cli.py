"""The benchmark's command, ``python -m experiments bench``: its arguments and modes, one worker
process per thread count (experiments.bench.worker), the targets' verdicts and the printed report
(the package docstring says what each section measures).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..settings import CheckedParser
from ..tblog import claim_file
from .timing import available_cores, load_average, thread_env

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mode:
    """Sizes and repeats of one mode: steps (batches, dtypes, repeats, seconds per sample); the
    peak GEMM throughput (square size, best of how many products); vectorisation (features,
    examples, examples the loops run); gradient checking (small and large layer sizes, batch);
    logging (examples, batch, epochs, repeats); GPU batches and steps per timed block; whether the
    test suite runs by default."""

    batches: tuple
    dtypes: tuple
    repeats: int
    min_time: float
    peak_gemm: tuple
    vectorisation: tuple
    gradient_checking: tuple
    logging: tuple
    cuda_batches: tuple
    cuda_steps: int
    suite: bool


MLP_10K, MLP_1M = (64, 100, 32, 10), (784, 1024, 192, 10)   # 10,062 and 1,002,570 parameters
MODES = {
    "full": Mode((64, 256, 1024, 4096), ("float32", "float64"), 15, 0.05, (2048, 5), (12288, 209, 209),
                 (MLP_10K, MLP_1M, 32), (8192, 64, 8, 3), (4096, 65536), 20, True),
    "quick": Mode((64, 256, 1024, 4096), ("float32", "float64"), 5, 0.02, (2048, 3), (12288, 209, 12),
                  (MLP_10K, MLP_1M, 32), (8192, 64, 8, 2), (4096, 65536), 10, False),
    "smoke": Mode((16,), ("float32", "float64"), 2, 0.0, (64, 2), (256, 16, 16),
                  ((6, 5, 3), (32, 16, 3), 8), (64, 32, 1, 1), (64,), 2, False),
}
STEP_SECTIONS = ("peak_gemm", "steps")
OTHER_SECTIONS = ("vectorisation", "gradient_checking", "logging", "cuda")


def build_parser() -> argparse.ArgumentParser:
    parser = CheckedParser(prog="python -m experiments bench", description="NumPy vs torch: the performance benchmark.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="fewer repeats, shorter loops (CI)")
    size.add_argument("--smoke", action="store_true", help="toy sizes, every code path, seconds (tests)")
    parser.add_argument("--threads", default=str(available_cores()),
                        help="thread counts, comma-separated (default: every available core)")
    parser.add_argument("--out", default="runs/bench.json", help="the JSON results (default runs/bench.json; "
                        "when it exists: bench-2.json, -3, ...)")
    suite = parser.add_mutually_exclusive_group()
    suite.add_argument("--suite", dest="suite", action="store_true", default=None,
                       help="time the test suite (the default in full mode)")
    suite.add_argument("--no-suite", dest="suite", action="store_false")
    return parser


def thread_counts(text: str) -> list:
    counts = [part.strip() for part in text.split(",")]
    if not all(c.isdigit() and int(c) > 0 for c in counts):
        raise ValueError(f"--threads must be positive integers separated by commas, got {text!r}")
    return list(dict.fromkeys(int(c) for c in counts))


def run_worker(mode: str, threads: int, sections) -> dict:
    """The sections' results from a worker process limited to ``threads`` threads."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        spec = json.dumps({"mode": mode, "threads": threads, "sections": list(sections)})
        done = subprocess.run([sys.executable, "-m", "experiments.bench.worker", spec, str(out)], cwd=REPO,
                              env=thread_env(threads))
        if done.returncode != 0:
            raise RuntimeError(f"the benchmark worker ({threads} threads) failed with exit status {done.returncode}")
        return json.loads(out.read_text())


def run_suite() -> dict:
    """Wall time of the whole test suite (pytest in a subprocess) and its summary line."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=REPO,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return {"seconds": seconds, "returncode": done.returncode, "summary": lines[-1] if lines else ""}


def measure(mode: str, threads: list, suite: bool) -> dict:
    """Every section: the first thread count's worker runs them all, the others the peak GEMM
    throughput and the training step."""
    load_before, start = load_average(), time.perf_counter()
    workers = [run_worker(mode, t, STEP_SECTIONS + (OTHER_SECTIONS if i == 0 else ())) for i, t in enumerate(threads)]
    first = workers[0]
    results = {"mode": mode, "settings": asdict(MODES[mode]), "threads": threads, "machine": first["machine"],
               "peak_gemm": [dict(peak, dtype=dtype, threads=w["threads"])
                             for w in workers for dtype, peak in w["peak_gemm"].items()],
               "steps": [dict(row, threads=w["threads"]) for w in workers for row in w["steps"]],
               **{section: first[section] for section in OTHER_SECTIONS},
               "suite": run_suite() if suite else None}
    results["load_average"] = {"before": load_before, "after": load_average()}
    results["seconds"] = {"total": time.perf_counter() - start, "first worker": first["section_seconds"]}
    results["targets"] = targets(results)
    return results


# ------------------------------------------------------------------------------ targets

def _target(text: str, measured: str, passed) -> dict:
    return {"target": text, "measured": measured, "passed": passed}


def _where(row: dict) -> str:
    return f"{row['dtype']}, batch {row['batch']}, {row['optimizer']}, {row['threads']} thr"


TARGET_THREADS = (1, 2)   # the step-time target is judged at each of these thread counts


def targets(results: dict) -> list:
    """Each target of the issue with what was measured and whether it passes (None: not measured
    here; in smoke mode every verdict is None, the sizes being toys)."""
    steps, out = results["steps"], []
    measured, missing, failed = [], False, False
    for threads in sorted(set(TARGET_THREADS) | {r["threads"] for r in steps}):
        rows = [r for r in steps if r["threads"] == threads]
        if not rows:
            measured.append(f"{threads} thr: not run (--threads {','.join(map(str, TARGET_THREADS))})")
            missing = True
            continue
        worst, passing = max(rows, key=lambda r: r["ratio"]), sum(r["ratio"] <= 1 for r in rows)
        measured.append(f"{threads} thr: {passing}/{len(rows)} rows pass, worst {worst['ratio']:.2f} "
                        f"({worst['dtype']}, batch {worst['batch']}, {worst['optimizer']})"
                        + ("" if threads in TARGET_THREADS else " (not judged)"))
        failed = failed or (threads in TARGET_THREADS and passing < len(rows))
    out.append(_target("NumPy/torch step time <= 1.0 in every row at one and at two threads (CPU)",
                       "; ".join(measured), False if failed else None if missing else True))
    large = [r for r in steps if r["batch"] >= 1024]
    bound = lambda r: r["numpy_s"] / r["numpy_gemm_s"]   # noqa: E731
    if large:
        worst = max(large, key=bound)
        out.append(_target("NumPy step within 1.25x of its own GEMM time at batch >= 1024",
                           f"worst {bound(worst):.2f}x ({_where(worst)}); "
                           f"{sum(bound(r) <= 1.25 for r in large)}/{len(large)} rows pass",
                           all(bound(r) <= 1.25 for r in large)))
    else:
        out.append(_target("NumPy step within 1.25x of its own GEMM time at batch >= 1024", "no batch >= 1024", None))
    large = [r for r in steps if r["batch"] >= 256]
    if large:
        lows = {side: min(large, key=lambda r: r[f"{side}_gemm_share"]) for side in ("numpy", "torch")}
        out.append(_target("matrix products >= 75 % of each side's step at batch >= 256",
                           "; ".join(f"{side} worst {r[f'{side}_gemm_share']:.0%} ({_where(r)})"
                                     for side, r in lows.items()),
                           all(r[f"{side}_gemm_share"] >= 0.75 for side, r in lows.items())))
    else:
        out.append(_target("matrix products >= 75 % of each side's step at batch >= 256", "no batch >= 256", None))
    v = results["vectorisation"]
    out.append(_target("vectorised logistic regression >= 300x faster than the per-example loop",
                       f"{v['loop_speedup']:.0f}x (loop over examples and features); {v['per_example_speedup']:.0f}x "
                       "with each example's features vectorised", v["loop_speedup"] >= 300))
    checks = results["gradient_checking"]
    out.append(_target("directional gradient check of a 1M-parameter network < 2 s",
                       f"{checks['directional']['seconds']:.2f} s ({checks['directional']['parameters']:,} parameters)",
                       checks["directional"]["seconds"] < 2))
    out.append(_target("elementwise gradient check of 10k parameters < 20 s",
                       f"{checks['elementwise']['seconds']:.1f} s ({checks['elementwise']['parameters']:,} parameters)",
                       checks["elementwise"]["seconds"] < 20))
    logs = results["logging"]
    out.append(_target("TensorBoard logging overhead <= 5 % at the default cadence",
                       "; ".join(f"{side} {r['overhead']:+.1%} (end to end {r['end_to_end']:+.1%})"
                                 for side, r in logs.items()),
                       all(r["overhead"] <= 0.05 for r in logs.values())))
    suite = results["suite"]
    out.append(_target("whole test suite < 10 minutes",
                       f"{suite['seconds'] / 60:.1f} min ({suite['summary']})" if suite else "not run (--suite)",
                       suite["seconds"] < 600 if suite else None))
    cuda = results["cuda"]
    big = [r for r in cuda.get("rows", []) if r["precision"] == "float32" and r["batch"] == 65536]
    out.append(_target("GPU: float32 step at batch 65536 >= 50 % of the measured matmul throughput",
                       "; ".join(f"{r['optimizer']} {r['tflops'] / r['gemm_tflops']:.0%}" for r in big)
                       if big else "no CUDA device", all(r["tflops"] >= 0.5 * r["gemm_tflops"] for r in big) if big else None))
    if results["mode"] == "smoke":
        for target in out:
            target["passed"] = None
    return out


# ------------------------------------------------------------------------------ printing

def format_table(headers, rows) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths)] + lines[1:])


def _verdict(passed) -> str:
    return "-" if passed is None else "pass" if passed else "miss"


BUSY_LOAD = 0.5   # a 1-minute load average above this before the run: something else was running


def report(results: dict) -> str:
    machine, load = results["machine"], results["load_average"]
    sections = ", ".join(f"{k} {v:.0f} s" for k, v in results["seconds"]["first worker"].items())
    parts = [f"Twinprop benchmark ({results['mode']} mode) on {machine['cpu']}, {machine['cores']} cores; "
             f"numpy {machine['numpy']} ({machine['numpy_blas']}), torch {machine['torch']} ({machine['torch_blas']}); "
             f"load average {load['before']} before, {load['after']} after; "
             f"{results['seconds']['total']:.0f} s in all ({sections})"]
    if load["before"] and load["before"][0] > BUSY_LOAD:
        parts[0] += (f"\nwarning: the machine was busy (load average {load['before'][0]} > {BUSY_LOAD} before the run): "
                     "other processes share the cores, multi-threaded timings can be many times too slow and the "
                     "ratios are noise; rerun on an idle machine, or compare at --threads 1")
    for threads in results["threads"]:
        rows = [r for r in results["steps"] if r["threads"] == threads]
        peaks = [p for p in results["peak_gemm"] if p["threads"] == threads]
        peak_text = "; ".join(f"{p['dtype']} numpy {p['numpy_gflops']:.3g}, torch {p['torch_gflops']:.3g} GFLOP/s"
                              for p in peaks)
        size = f"{peaks[0]['size']}^3, best of {peaks[0]['repeats']}" if peaks else "-"
        parts.append(f"training step, MLP 784-256-128-10, {threads} thread(s) per side, median of "
                     f"{results['settings']['repeats']} interleaved samples; peers: NumPy textbook (CS231n) and "
                     f"torch nn.Sequential; limit = the step's GEMM FLOPs at the peak GEMM rate "
                     f"({size}: {peak_text})\n" + format_table(
                         ["dtype", "batch", "optimizer", "numpy ms", "numpy peer ms", "torch ms", "torch peer ms",
                          "numpy/torch", "numpy/peer", "torch/peer", "limit ms", "numpy/limit", "torch/limit",
                          "numpy GEMM share", "torch GEMM share", "GEMMs alone numpy/torch"],
                         [[r["dtype"], r["batch"], r["optimizer"], *(f"{r[f'{side}_s'] * 1e3:.2f}" for side in
                                                                       ("numpy", "numpy_peer", "torch", "torch_peer")),
                           f"{r['ratio']:.2f}", f"{r['numpy_peer_ratio']:.2f}", f"{r['torch_peer_ratio']:.2f}",
                           f"{r['limit_s'] * 1e3:.3g}", f"{r['numpy_limit_ratio']:.2f}",
                           f"{r['torch_limit_ratio']:.2f}",
                           f"{r['numpy_gemm_share']:.0%}", f"{r['torch_gemm_share']:.0%}",
                           f"{r['numpy_gemm_s'] / r['torch_gemm_s']:.2f}"] for r in rows]))
    v = results["vectorisation"]
    scaled = "" if v["loop_examples"] == v["examples"] else f" (loops timed on {v['loop_examples']} examples, scaled)"
    parts.append(f"vectorisation: logistic-regression gradient, {v['features']} features x {v['examples']} "
                 f"examples{scaled}\n" + format_table(
                     ["implementation", "seconds", "vectorised speed-up", "max rel. difference"],
                     [["loop over examples and features", f"{v['loop_s']:.3f}", f"{v['loop_speedup']:.0f}x",
                       f"{v['loop_difference']:.1e}"],
                      ["loop over examples", f"{v['per_example_s']:.3f}", f"{v['per_example_speedup']:.0f}x",
                       f"{v['per_example_difference']:.1e}"],
                      ["vectorised (logistic.propagate)", f"{v['vectorised_s']:.4f}", "1x", "-"]]))
    checks = results["gradient_checking"]
    parts.append("gradient checking, float64\n" + format_table(
        ["check", "parameters", "seconds", "result"],
        [["NumPy elementwise two-sided", f"{checks['elementwise']['parameters']:,}",
          f"{checks['elementwise']['seconds']:.2f}", checks["elementwise"]["verdict"]],
         ["torch.autograd.gradcheck, fast mode", f"{checks['autograd_fast_small']['parameters']:,}",
          f"{checks['autograd_fast_small']['seconds']:.2f}", "pass" if checks["autograd_fast_small"]["passed"] else "fail"],
         ["NumPy directional", f"{checks['directional']['parameters']:,}", f"{checks['directional']['seconds']:.2f}",
          checks["directional"]["verdict"]],
         ["torch.autograd.gradcheck, fast mode", f"{checks['autograd_fast_large']['parameters']:,}",
          f"{checks['autograd_fast_large']['seconds']:.2f}", "pass" if checks["autograd_fast_large"]["passed"] else "fail"]]))
    logs = results["logging"]
    parts.append("TensorBoard logging at the default cadence (training.train, Adam, float32; medians of "
                 "alternated runs; overhead = time inside the logging / run without it)\n" + format_table(
        ["side", "examples", "batch", "epochs", "runs", "no logging s", "with logging s", "inside logging s",
         "overhead", "end to end"],
        [[side, r["examples"], r["batch"], r["epochs"], r["repeats"], f"{r['plain_s']:.2f}", f"{r['logged_s']:.2f}",
          f"{r['logging_s']:.3f}", f"{r['overhead']:+.1%}", f"{r['end_to_end']:+.1%}"] for side, r in logs.items()]))
    if results["suite"]:
        parts.append(f"test suite: {results['suite']['seconds']:.0f} s wall ({results['suite']['summary']})")
    cuda = results["cuda"]
    if cuda.get("available"):
        parts.append(f"GPU: {cuda['device']}\n" + format_table(
            ["batch", "precision", "optimizer", "step ms", "samples/s", "TFLOP/s", "matmul TFLOP/s",
             "outside matmul", "speed-up vs CPU torch"],
            [[r["batch"], r["precision"], r["optimizer"], f"{r['step_s'] * 1e3:.3f}", f"{r['samples_per_s']:.3g}",
              f"{r['tflops']:.1f}", f"{r['gemm_tflops']:.1f}", f"{r['outside_gemm']:.0%}",
              f"{r['speedup_vs_cpu']:.0f}x" if "speedup_vs_cpu" in r else "-"] for r in cuda["rows"]]))
    else:
        parts.append("GPU: no CUDA device, section skipped")
    parts.append("targets" + (" (smoke sizes: not judged)" if results["mode"] == "smoke" else "") + "\n" + format_table(
        ["target", "measured", "verdict"],
        [[t["target"], t["measured"], _verdict(t["passed"])] for t in results["targets"]]))
    return "\n\n".join(parts)


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        mode = "quick" if args.quick else "smoke" if args.smoke else "full"
        threads = thread_counts(args.threads)
        suite = MODES[mode].suite if args.suite is None else args.suite
        results = measure(mode, threads, suite)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report(results))
    out = claim_file(args.out)   # an existing file is kept: a new name, as the run directories get
    out.write_text(json.dumps(results, indent=1))
    print(f"\nresults: {out}")
    return 0
