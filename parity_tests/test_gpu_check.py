"""scripts/gpu_check.sh, the prepared check for a lent GPU machine, on a machine without one: it
must say so, write its summary and pass, and the parts it would run there must be well formed.

No test here has "cuda" in its name: the script selects its tests with ``-k`` on that word, and on
a GPU machine it must not run itself.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from experiments import bench, cli, ddp
from parity_tests import report

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_check.sh"


def script_text() -> str:
    return SCRIPT.read_text()


def selection() -> str:
    """The -k expression of the script's pytest part."""
    return re.search(r"^CUDA_TESTS='([^']+)'$", script_text(), re.M)[1]


def parts() -> dict:
    """{name: (cap in seconds, module, arguments)} for each `part NAME CAP "$PY" -m MODULE ARGS...`
    line of the script (continued lines joined), its variables left as written."""
    found = {}
    for line in script_text().replace("\\\n", " ").splitlines():
        if line.startswith("part "):
            _, name, cap, python, dash_m, module, *args = shlex.split(line)
            assert (python, dash_m) == ("$PY", "-m"), line
            found[name] = (int(cap), module, args)
    return found


def test_bash_syntax():
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the check would run every part")
def test_without_a_gpu_it_says_so_writes_the_summary_and_passes(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}   # its own choice of interpreter
    done = subprocess.run(["bash", str(SCRIPT)], env={**env, "OUT": str(tmp_path)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^no CUDA device: torch\.cuda\.is_available\(\) is False", done.stdout, re.M), done.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "no CUDA device" and summary["parts"] == []
    environment = summary["environment"]
    assert environment["cuda_available"] is False and environment["device"] is None
    assert {"python", "numpy", "torch", "cuda_version"} <= set(environment)


def test_the_pytest_part_selects_the_device_cases_and_not_the_slow_experiment_run():
    """A rename of the `device` fixture's ids, or of a CUDA-only test, would leave the GPU machine
    running almost nothing; a selected test that needs conftest.quick_all would cost it minutes."""
    assert parts()["pytest_cuda"][2][-2:] == ["-k", "$CUDA_TESTS"]
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "--fixtures-per-test", "-q",
                           "-p", "no:cacheprovider", "-k", selection()], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    ids = [line for line in done.stdout.splitlines() if line.startswith("parity_tests/") and "::" in line]
    device_cases = [i for i in ids if re.search(r"\[(.*-)?cuda(-.*)?\]$", i)]
    assert len(device_cases) > 300, f"{len(device_cases)} of {len(ids)} selected tests take device='cuda'"
    assert re.search(rf"^{len(ids)}/\d+ tests collected", done.stdout, re.M), done.stdout[-500:]
    assert "parity_tests/contract/test_models.py::test_torch_network_rejects_data_on_another_device" in ids
    assert not [i for i in ids if i.startswith("parity_tests/test_gpu_check.py")]
    assert "quick_all --" not in done.stdout


def test_the_other_parts_parse(monkeypatch):
    """Each command's arguments pass its own parser (nothing runs: the report's cases are stubbed)."""
    found = parts()
    assert set(found) == {"pytest_cuda", "report_float64", "report_float32", "experiments", "ddp_nccl", "bench"}
    # the parts share DEADLINE_S; the last 30 s of the 8 minutes are timeout's grace and the summary
    assert int(re.search(r"^DEADLINE_S=(\d+)$", script_text(), re.M)[1]) <= 8 * 60 - 30
    monkeypatch.setattr(report, "resolve_device", lambda device: device)
    monkeypatch.setattr(report, "run", lambda device, dtypes: [])
    for name in ("report_float64", "report_float32"):
        _, module, args = found[name]
        assert module == "parity_tests.report" and args == ["--device", "cuda", "--dtype", name.split("_")[1]]
        assert report.main(args) == 0
    _, module, args = found["experiments"]
    parsed = cli.build_parser().parse_args(args)
    assert module == "experiments" and (parsed.command, parsed.names, parsed.quick, parsed.device) == \
        ("run", ["all"], True, "cuda")
    assert parsed.logdir == "$OUT/runs"   # where the summary reads results.json
    _, module, args = found["ddp_nccl"]
    assert module == "torch.distributed.run" and args[:3] == ["--standalone", "--nproc-per-node", "$GPUS"]
    assert args[3:5] == ["-m", "experiments.ddp"]
    parsed = ddp.build_parser().parse_args(args[5:])
    assert (parsed.name, parsed.variant, parsed.quick, parsed.device, parsed.check) == \
        ("optimisers", ["adam"], True, "cuda", True)
    assert parsed.name in ddp.MINI_BATCH and parsed.logdir == "$OUT/runs_ddp"
    _, module, args = found["bench"]
    assert module == "experiments" and args[0] == "bench"
    assert bench.build_parser().parse_args(args[1:]).out == "$OUT/bench.json"
