"""The benchmark (experiments.bench) in its smallest mode: it runs end to end, prints its tables and
writes JSON with the expected keys. No timing is ever asserted: the targets are the benchmark's own
verdicts, printed by it, and a test that timed things would fail on a busy machine."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from experiments import bench, cli
from experiments.bench import cuda as bench_cuda, step as bench_step, timing as bench_timing
from scratch_numpy import optim as n_optim

REPO = Path(__file__).resolve().parents[1]

STEP_KEYS = {"dtype", "batch", "optimizer", "threads", "ratio", "numpy_s", "torch_s", "numpy_gemm_s", "torch_gemm_s",
             "numpy_gemm_share", "torch_gemm_share", "numpy_gflops", "torch_gflops", "numpy_samples", "torch_samples"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """(printed report, JSON results) of one smoke run with one thread, started as a user would,
    through the experiments command line: ``python -m experiments bench --smoke``."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run([sys.executable, "-m", "experiments", "bench", "--smoke", "--threads", "1", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(out.read_text())


def test_smoke_run_prints_every_section(smoke):
    printed, _ = smoke
    for heading in ("training step, MLP 784-256-128-10, 1 thread(s)", "vectorisation:", "gradient checking",
                    "TensorBoard logging", "GPU:", "targets (smoke sizes: not judged)"):
        assert heading in printed
    assert printed.rstrip().endswith("bench.json")


def test_smoke_json_has_the_expected_keys(smoke):
    _, results = smoke
    assert set(results) == {"mode", "settings", "threads", "machine", "steps", "vectorisation", "gradient_checking",
                            "logging", "cuda", "suite", "load_average", "seconds", "targets"}
    assert results["mode"] == "smoke" and results["threads"] == [1] and results["suite"] is None
    mode = bench.MODES["smoke"]
    assert len(results["steps"]) == len(mode.batches) * len(mode.dtypes) * len(bench_step.OPTIMIZERS)
    assert all(set(row) == STEP_KEYS and row["threads"] == 1 for row in results["steps"])
    assert {"loop_s", "per_example_s", "vectorised_s", "loop_speedup", "loop_difference"} <= set(results["vectorisation"])
    assert results["vectorisation"]["loop_difference"] < 1e-12          # the loops compute the same gradient
    assert set(results["gradient_checking"]) == {"elementwise", "directional", "autograd_fast_small",
                                                 "autograd_fast_large"}
    assert results["gradient_checking"]["elementwise"]["verdict"] == "good"
    assert set(results["logging"]) == {"numpy", "torch"}
    for r in results["logging"].values():
        assert {"overhead", "end_to_end", "logging_s"} <= set(r) and r["logging_s"] > 0
    assert set(results["seconds"]["first worker"]) == {"steps", "vectorisation", "gradient_checking", "logging", "cuda"}
    assert {"cpu", "cores", "numpy_blas", "torch"} <= set(results["machine"])
    assert [set(t) for t in results["targets"]] == [{"target", "measured", "passed"}] * 8
    assert all(t["passed"] is None for t in results["targets"])        # smoke sizes are never judged


def test_gpu_rows_are_computed_the_same_way_on_the_cpu():
    """The GPU section's code, run on the CPU (where synchronising is a no-op): every precision."""
    for precision in bench_cuda.PRECISIONS:
        row = bench_cuda.measure(8, precision, "adam", device="cpu", steps=1, repeats=1)
        assert row["precision"] == precision and row["samples_per_s"] > 0 and row["gemm_tflops"] > 0
        assert row["outside_gemm"] == pytest.approx(1 - row["gemm_s"] / row["step_s"])


def test_step_flops_count_every_product_of_the_step():
    # forward and weight gradient of each layer, input gradient of layers 2 and 3 (none for X)
    assert bench_step.step_flops(1, (4, 3, 2)) == 2 * (2 * (12 + 6) + 6)


@pytest.mark.parametrize("argv, message", [
    (["--threads", "0"], "--threads"),
    (["--threads", "two"], "--threads"),
    (["--quick", "--smoke"], "not allowed"),
])
def test_bad_arguments_exit_with_status_2(argv, message, capsys):
    assert bench.main(argv) == 2
    assert message in capsys.readouterr().err


def test_the_command_line_hands_bench_and_its_arguments_to_the_benchmark(capsys):
    assert cli.main(["bench", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bench", "--help"])
    assert exit_.value.code == 0 and "python -m experiments bench" in capsys.readouterr().out


def test_interleaved_resets_a_contender_before_each_sample_outside_the_timing():
    calls = []

    def step():
        calls.append("step")
    step.reset = lambda: calls.append("reset")
    timing = bench_timing.interleaved({"step": step}, repeats=3, min_time=0.0)["step"]
    assert timing.number == 1 and len(timing.samples) == 3
    # warm-up (reset, step), calibration (step), then each sample (reset, step)
    assert calls == ["reset", "step", "step"] + ["reset", "step"] * 3


def test_a_training_step_starts_again_from_the_same_parameters_after_reset():
    for side in (bench_step.numpy_step, bench_step.torch_step):
        step = side(8, "float64", "adam", layers=(6, 5, 3))
        before = _parameters(step)
        step()
        assert not all(np.array_equal(a, b) for a, b in zip(before, _parameters(step)))
        step.reset()
        assert all(np.array_equal(a, b) for a, b in zip(before, _parameters(step)))


def _parameters(step) -> list:
    """The parameters a step closure trains (NumPy arrays, copied)."""
    cells = dict(zip(step.__code__.co_freevars, (c.cell_contents for c in step.__closure__)))
    if "params" in cells:
        return [value.copy() for value in cells["params"].values()]
    return [p.detach().numpy().copy() for p in cells["model"].parameters()]


@pytest.mark.parametrize("name", n_optim.OPTIMIZERS)
def test_blocked_updates_equal_whole_array_updates(name):
    """optim updates a large C-contiguous parameter block by block (cache-sized) and any other
    whole: elementwise arithmetic makes the two bit-for-bit equal, and nothing is lost on a
    Fortran-ordered parameter, which is never cut into (copied) flat blocks."""
    rng = np.random.default_rng(0)
    shape = (300, 301)                                 # 722 kB in float64: three blocks
    assert np.prod(shape) * 8 > 2 * n_optim.BLOCK_BYTES
    params = {"W1": rng.standard_normal(shape)}
    fortran = {"W1": np.asfortranarray(params["W1"])}
    grads = [{"dW1": rng.standard_normal(shape)} for _ in range(3)]
    blocked, whole = (n_optim.make_optimizer(name, p, lr=0.01) for p in (params, fortran))
    for g in grads:
        blocked.step(params, g)
        whole.step(fortran, {"dW1": np.asfortranarray(g["dW1"])})
    assert np.array_equal(params["W1"], fortran["W1"])
    for state in blocked.state_names:
        assert np.array_equal(getattr(blocked, state)["dW1"], getattr(whole, state)["dW1"])


def test_tf32_switch_uses_the_api_the_parity_settings_use_and_restores_it():
    """torch >= 2.9 refuses a process that mixes fp32_precision (settings.configure_torch) with the
    legacy allow_tf32: the benchmark's TF32 rows switch through the same API and put it back."""
    matmul = torch.backends.cuda.matmul
    name = "fp32_precision" if hasattr(matmul, "fp32_precision") else "allow_tf32"
    before = getattr(matmul, name)
    with bench_cuda.tf32(True):
        assert getattr(matmul, name) in ("tf32", True)
        with bench_cuda.tf32(False):
            assert getattr(matmul, name) in ("ieee", False)
    assert getattr(matmul, name) == before
