#!/usr/bin/env bash
# The prepared GPU check: one command for a lent CUDA machine, run from anywhere.
#
#   bash scripts/gpu_check.sh        (OUT=folder to choose where it writes; PYTHON=interpreter)
#
# It runs everything in the project that has a CUDA side, each part under its own timeout so
# that the whole check ends within 8 minutes, each part's output in its own log:
#   pytest_cuda      the parity tests' CUDA cases (pytest -k "$CUDA_TESTS")
#   report_float64   python -m parity_tests.report --device cuda --dtype float64
#   report_float32   the same in float32
#   experiments      python -m experiments run all --quick --device cuda
#   ddp_nccl         torchrun -m experiments.ddp optimisers --variant adam --quick --device cuda --check:
#                    DDP on NCCL, one rank per GPU (at most 2; world size 1 on one GPU), its parameters
#                    against the one-process torch and NumPy runs (exit 1 beyond the bound)
#   bench            python -m experiments bench --quick (its GPU section runs when CUDA is there)
# and writes under $OUT (else gpu_check_out/<timestamp>/ in the repository): environment.json,
# logs/<part>.log, runs/ (the experiments' TensorBoard runs and results.json), bench.json and
# summary.json (device, versions, each part's command, exit status, seconds and key figures;
# rewritten after every part, so a check cut short still leaves one).
# Without a CUDA device it prints "no CUDA device: ...", writes the summary and exits 0.
# Exit status: 0 when every part passed (or there is no CUDA device), 1 otherwise.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

# Part (a)'s selection. Every case of conftest's `device` fixture has its device in its id
# ("test_x[cuda-float32]"), and the tests written for CUDA alone have "cuda" in their names,
# except test_torch_network_rejects_data_on_another_device, named here. It selects no test that
# needs conftest.quick_all (a `run all --quick` on the CPU: minutes); test_gpu_check.py checks that.
CUDA_TESTS='cuda or rejects_data_on_another_device'

# The parts share DEADLINE_S seconds from the start of the script: each runs under the smaller of
# its own cap (on its `part` line) and what is left, and the 30 s past the deadline cover
# timeout's 5 s grace and the summary, so the check ends within 8 minutes even when every part
# hangs. The caps come from the CPU equivalents on the 2-core development machine, busy: 25 s for
# the same tests with device "cpu", 7 s per report dtype, 72 s for run all --quick (52 s of it
# torch's side) and 130 to 300 s for bench --quick at 2 threads (70 to 80 % of it the CPU-only
# TensorBoard logging section). Tiny CUDA kernels are no faster than the CPU and every comparison
# waits for the device, so the CUDA parts get 2x (experiments) to 6x (tests, report: CUDA's
# start-up is a larger share) those times; the bench's CPU sections shrink on 16 idle cores,
# hence 180 s. It comes last, where a squeeze costs only timings.
DEADLINE_S=450

# The GPU machine's own python3 has torch; here (no torch outside the project's .venv) fall back.
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif ! python3 -c 'import torch' >/dev/null 2>&1 && [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
else
  PY=python3
fi

if [ -z "${OUT:-}" ]; then
  OUT=gpu_check_out/$(date +%Y%m%d-%H%M%S)   # git-ignored
fi
mkdir -p "$OUT/logs" || exit 1
OUT=$(cd "$OUT" && pwd)

# The parity tensors are tiny: one OpenBLAS thread, as scripts/test.sh (the bench sets its own).
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

# summarise [final]: (re)write summary.json from environment.json, parts.tsv and the logs.
summarise() {
  "$PY" - "$OUT" "${1:-}" <<'EOF' || echo '{"status": "failed", "error": "the summary could not be written"}' > "$OUT/summary.json"
import json, re, sys
from pathlib import Path

out, final = Path(sys.argv[1]), sys.argv[2] == "final"


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def pytest_figures(log):
    """The counts on pytest's closing line ("5 passed, 420 skipped, 3299 deselected in 6.2s") and
    the tests that failed or errored (-rfE's short summary)."""
    closing = [line for line in log.splitlines() if re.search(r"\d+ (passed|failed|skipped|errors?)\b", line)]
    figures = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", closing[-1])} if closing else {}
    failures = re.findall(r"^(?:FAILED|ERROR) (\S+)", log, re.M)
    return {**figures, "failures": failures} if failures else figures


def report_figures(log):
    """Rows and failures from the report's first and last lines."""
    figures = {}
    if head := re.search(r"vs torch \((.+?)\), (\d+) rows", log):
        figures.update(torch_device=head[1], rows=int(head[2]))
    if tail := re.search(r"^(\d+) passed, (\d+) failed$", log, re.M):
        figures.update(passed=int(tail[1]), failed=int(tail[2]))
    return figures


def experiments_figures(results):
    """Experiments run, where torch ran, and the claims by verdict (None: not judged at --quick)."""
    if not isinstance(results, dict):
        return {}
    verdicts = [v for r in results.values() for c in r.get("claims", []) for v in c.get("verdicts", {}).values()]
    return {"experiments": len(results),
            "torch_devices": sorted({str(r.get("devices", {}).get("torch")) for r in results.values()}),
            "claim_verdicts": {"hold": verdicts.count(True), "fail": verdicts.count(False),
                               "not_judged": verdicts.count(None)}}


def bench_figures(bench):
    """The GPU section's rows and the benchmark's GPU target."""
    if not isinstance(bench, dict):
        return {}
    cuda = bench.get("cuda", {})
    keys = ("batch", "precision", "optimizer", "samples_per_s", "tflops", "gemm_tflops", "outside_gemm",
            "speedup_vs_cpu")
    return {"cuda_available": cuda.get("available"), "cuda_device": cuda.get("device"),
            "cuda_rows": [{k: row[k] for k in keys if k in row} for row in cuda.get("rows", [])],
            "gpu_targets": [t for t in bench.get("targets", []) if t.get("target", "").startswith("GPU")]}


def ddp_figures(log):
    """The world size and backend, and each --check gap: {"vs_torch": ..., "vs_numpy": ...}."""
    figures = {}
    if head := re.search(r"on (\d+) processes \((\w+)\)", log):
        figures.update(world_size=int(head[1]), backend=head[2])
    for impl, gap in re.findall(r"parameters vs one-process (\w+): (\S+) relative", log):
        figures[f"vs_{impl}"] = float(gap)
    return figures


def figures(name, log):
    if name == "ddp_nccl":
        return ddp_figures(log)
    if name == "pytest_cuda":
        return pytest_figures(log)
    if name.startswith("report_"):
        return report_figures(log)
    if name == "experiments":
        return experiments_figures(read_json(out / "runs" / "results.json"))
    return bench_figures(read_json(out / "bench.json"))


parts = []
tsv = out / "parts.tsv"
for line in tsv.read_text().splitlines() if tsv.is_file() else []:
    name, status, start, end, limit, command = line.split("\t")
    log = out / "logs" / f"{name}.log"
    parts.append({"name": name, "command": command.strip(), "exit_status": int(status),
                  "timed_out": int(status) in (124, 137), "seconds": round(float(end) - float(start), 1),
                  "timeout_s": int(limit), "log": str(log.relative_to(out)),
                  "figures": figures(name, log.read_text(errors="replace"))})

environment = read_json(out / "environment.json") or {}
if not environment.get("cuda_available"):
    status = "no CUDA device" if environment else "failed"
elif any(p["exit_status"] for p in parts):
    status = "failed"
else:
    status = "passed" if final else "running"
summary = {"status": status, "environment": environment, "parts": parts}
if not environment:   # the interpreter could not load torch and numpy: its error
    summary["error"] = (out / "logs" / "environment.log").read_text(errors="replace")[-2000:]
(out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
EOF
}

# part NAME CAP COMMAND...: run COMMAND under min(CAP, what is left of DEADLINE_S) seconds, its
# output to logs/NAME.log, and add NAME, exit status, start, end, limit, command to parts.tsv.
part() {
  local name=$1 cap=$2 start end status limit
  shift 2
  limit=$(( DEADLINE_S - SECONDS ))
  (( cap < limit )) && limit=$cap
  start=$(date +%s.%N)
  if (( limit < 10 )); then   # not worth starting: counted as timed out
    echo "not started: the check's ${DEADLINE_S} s were spent" > "$OUT/logs/$name.log"
    status=124
  else
    timeout -k 5 "$limit" "$@" > "$OUT/logs/$name.log" 2>&1
    status=$?
  fi
  end=$(date +%s.%N)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$start" "$end" "$limit" "$(printf '%q ' "$@")" \
    >> "$OUT/parts.tsv"
  awk -v n="$name" -v s="$status" -v a="$start" -v b="$end" -v l="$limit" -v f="$OUT/logs/$name.log" \
    'BEGIN { printf "%-15s exit %3s  %6.1f s  (limit %s s)  %s\n", n, s, b - a, l, f }'
  if (( status != 0 )); then
    tail -n 20 "$OUT/logs/$name.log" | awk '{ print "    | " $0 }'   # awk ends a cut-off last line
  fi
  summarise
}

# The device line, and environment.json for the summary (a minute at most: a sick driver can hang).
if ! timeout -k 5 60 "$PY" - "$OUT/environment.json" 2> "$OUT/logs/environment.log" <<'EOF'
import json, platform, sys
import numpy, torch
cuda = torch.cuda.is_available()
env = {"python": platform.python_version(), "executable": sys.executable, "numpy": numpy.__version__,
       "torch": torch.__version__, "cuda_version": torch.version.cuda, "cuda_available": cuda,
       "device": torch.cuda.get_device_name(0) if cuda else None, "device_count": torch.cuda.device_count()}
with open(sys.argv[1], "w") as f:
    json.dump(env, f, indent=1)
if cuda:
    print(f"device: {env['device']}, torch {env['torch']}, CUDA {env['cuda_version']}, python {env['python']}")
else:
    print(f"no CUDA device: torch.cuda.is_available() is False (torch {env['torch']}, "
          f"built for CUDA {env['cuda_version']}, python {env['python']})")
EOF
then
  echo "error: $PY cannot load torch and numpy:" >&2
  tail -n 5 "$OUT/logs/environment.log" >&2
  summarise final
  exit 1
fi

if ! grep -q '"cuda_available": true' "$OUT/environment.json"; then
  summarise final
  echo "summary: $OUT/summary.json"
  exit 0
fi

part pytest_cuda 150 "$PY" -m pytest -p no:cacheprovider -q -rfEs -k "$CUDA_TESTS"
part report_float64 45 "$PY" -m parity_tests.report --device cuda --dtype float64
part report_float32 45 "$PY" -m parity_tests.report --device cuda --dtype float32
part experiments 150 "$PY" -m experiments run all --quick --device cuda --logdir "$OUT/runs"
# one rank per GPU, at most 2: NCCL needs a device of its own for each rank
GPUS=$("$PY" -c 'import json, sys; print(max(1, min(2, json.load(open(sys.argv[1]))["device_count"])))' \
  "$OUT/environment.json")
part ddp_nccl 90 "$PY" -m torch.distributed.run --standalone --nproc-per-node "$GPUS" -m experiments.ddp optimisers \
  --variant adam --quick --device cuda --check --logdir "$OUT/runs_ddp"
part bench 180 "$PY" -m experiments bench --quick --out "$OUT/bench.json"

summarise final
echo "summary: $OUT/summary.json"
grep -q '"status": "passed"' "$OUT/summary.json"
