"""The benchmark (experiments.bench) in its smallest mode: it runs end to end, prints its tables and
writes JSON with the expected keys. No timing is ever asserted: the targets are the benchmark's own
verdicts, printed by it, and a test that timed things would fail on a busy machine."""

import contextlib
import io
import json

import pytest

from experiments import bench, bench_cuda, bench_step

STEP_KEYS = {"dtype", "batch", "optimizer", "threads", "ratio", "numpy_s", "torch_s", "numpy_gemm_s", "torch_gemm_s",
             "numpy_gemm_share", "torch_gemm_share", "numpy_gflops", "torch_gflops", "numpy_samples", "torch_samples"}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """(printed report, JSON results) of one smoke run with one thread."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    printed = io.StringIO()   # capsys is function-scoped; the run is shared by the tests below
    with contextlib.redirect_stdout(printed):
        status = bench.main(["--smoke", "--threads", "1", "--out", str(out)])
    assert status == 0
    return printed.getvalue(), json.loads(out.read_text())


def test_smoke_run_prints_every_section(smoke):
    printed, _ = smoke
    for heading in ("training step, MLP 784-256-128-10, 1 thread(s)", "vectorisation:", "gradient checking",
                    "TensorBoard logging", "GPU:", "targets (smoke sizes: not judged)"):
        assert heading in printed
    assert printed.rstrip().endswith("bench.json")


def test_smoke_json_has_the_expected_keys(smoke):
    _, results = smoke
    assert set(results) == {"mode", "settings", "threads", "machine", "steps", "vectorisation", "gradient_checking",
                            "logging", "cuda", "suite", "load_average", "targets"}
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
