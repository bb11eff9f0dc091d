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
from torch.utils.flop_counter import FlopCounterMode

from experiments import bench, cli
from experiments.bench import cuda as bench_cuda, peer_numpy as bench_peer_numpy, peer_torch as bench_peer_torch
from experiments.bench import step as bench_step
from experiments.bench import timing as bench_timing
from scratch_numpy import optim as n_optim

REPO = Path(__file__).resolve().parents[1]

STEP_KEYS = {"dtype", "batch", "optimizer", "threads", "ratio", "numpy_s", "torch_s", "numpy_gemm_s", "torch_gemm_s",
             "numpy_gemm_share", "torch_gemm_share", "numpy_gflops", "torch_gflops", "numpy_samples", "torch_samples",
             # the peers and the physical limit
             "numpy_peer_s", "torch_peer_s", "numpy_peer_samples", "torch_peer_samples", "numpy_peer_ratio",
             "torch_peer_ratio", "flops", "peak_gflops", "limit_s", "numpy_limit_ratio", "torch_limit_ratio"}
PEAK_KEYS = {"threads", "dtype", "size", "repeats", "numpy_gflops", "torch_gflops", "gflops"}


def mlp_flops(m):
    """The GEMM FLOPs of one training step of the 784-256-128-10 MLP on m examples, counted by hand:
    a product of an (a, b) and a (b, c) matrix is 2abc FLOPs; each layer has a forward product
    (2 m n_out n_in) and a weight gradient (the same), layers 2 and 3 an input gradient (the same)."""
    layer1, layer2, layer3 = 2 * m * 784 * 256, 2 * m * 256 * 128, 2 * m * 128 * 10
    return 2 * (layer1 + layer2 + layer3) + (layer2 + layer3)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """(printed report, JSON results) of one smoke run at one and two threads (a worker each), started as
    a user would, through the experiments command line: ``python -m experiments bench --smoke``."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    command = [sys.executable, "-m", "experiments", "bench", "--smoke", "--threads", "1,2", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout, json.loads(out.read_text())


def test_smoke_run_prints_every_section(smoke):
    printed, _ = smoke
    for heading in ("training step, MLP 784-256-128-10, 1 thread(s)", "training step, MLP 784-256-128-10, 2 thread(s)",
                    "vectorisation:", "gradient checking",
                    "TensorBoard logging", "GPU:", "targets (smoke sizes: not judged)"):
        assert heading in printed
    table = printed.split("training step, MLP", 1)[1].split("\n\n", 1)[0]
    for column in ("numpy ms", "numpy peer ms", "torch ms", "torch peer ms", "numpy/torch", "numpy/peer", "torch/peer",
                   "limit ms", "numpy/limit", "torch/limit", "numpy GEMM share"):
        assert column in table
    for target in ("NumPy/torch step time <= 1.0 in every row at one and at two threads",
                   "NumPy step within 1.25x of its own GEMM time at batch >= 1024"):
        assert target in printed
    assert printed.rstrip().endswith("bench.json")


def test_each_thread_counts_table_states_its_own_peak(smoke):
    printed, results = smoke
    for threads in (1, 2):
        header = printed.split(f"training step, MLP 784-256-128-10, {threads} thread(s)", 1)[1].split("\n", 1)[0]
        for peak in (p for p in results["peak_gemm"] if p["threads"] == threads):
            assert (f"{peak['dtype']} numpy {peak['numpy_gflops']:.3g}, torch {peak['torch_gflops']:.3g} GFLOP/s"
                    in header)


def test_smoke_json_has_the_expected_keys(smoke):
    _, results = smoke
    assert set(results) == {"mode", "settings", "threads", "machine", "peak_gemm", "steps", "vectorisation",
                            "gradient_checking", "logging", "cuda", "suite", "load_average", "seconds", "targets"}
    assert results["mode"] == "smoke" and results["threads"] == [1, 2] and results["suite"] is None
    mode = bench.MODES["smoke"]
    per_worker = len(mode.batches) * len(mode.dtypes) * len(bench_step.OPTIMIZERS)
    assert [row["threads"] for row in results["steps"]] == [1] * per_worker + [2] * per_worker
    assert all(set(row) == STEP_KEYS for row in results["steps"])
    assert {"loop_s", "per_example_s", "vectorised_s", "loop_speedup", "loop_difference"} <= set(results["vectorisation"])
    assert results["vectorisation"]["loop_difference"] < 1e-12          # the loops compute the same gradient
    assert set(results["gradient_checking"]) == {"elementwise", "directional", "autograd_fast_small",
                                                 "autograd_fast_large"}
    assert results["gradient_checking"]["elementwise"]["verdict"] == "good"
    assert set(results["logging"]) == {"numpy", "torch"}
    for r in results["logging"].values():
        assert {"overhead", "end_to_end", "logging_s"} <= set(r) and r["logging_s"] > 0
    assert set(results["seconds"]["first worker"]) == {"peak_gemm", "steps", "vectorisation", "gradient_checking",
                                                       "logging", "cuda"}
    assert {"cpu", "cores", "numpy_blas", "torch"} <= set(results["machine"])
    assert [set(t) for t in results["targets"]] == [{"target", "measured", "passed"}] * 9
    assert all(t["passed"] is None for t in results["targets"])        # smoke sizes are never judged


def test_smoke_rows_have_the_peer_and_limit_columns(smoke):
    """Each row's peers, ratios and physical limit, consistent with its own figures and with the peak
    GEMM throughput measured in the same worker, at the row's thread count (each worker measures its own)."""
    _, results = smoke
    peaks = {(p["threads"], p["dtype"]): p for p in results["peak_gemm"]}
    mode = bench.MODES["smoke"]
    assert len(peaks) == len(results["peak_gemm"]) and set(peaks) == {(t, d) for t in (1, 2) for d in mode.dtypes}
    for peak in peaks.values():
        assert set(peak) == PEAK_KEYS and (peak["size"], peak["repeats"]) == mode.peak_gemm
        assert peak["gflops"] == max(peak["numpy_gflops"], peak["torch_gflops"]) > 0
    for row in results["steps"]:
        assert row["flops"] == mlp_flops(row["batch"])
        assert row["peak_gflops"] == peaks[row["threads"], row["dtype"]]["gflops"]
        assert row["limit_s"] == pytest.approx(row["flops"] / (row["peak_gflops"] * 1e9))
        for side in ("numpy", "numpy_peer", "torch", "torch_peer"):
            assert row[f"{side}_s"] > 0 and len(row[f"{side}_samples"]) == mode.repeats
        assert row["numpy_peer_ratio"] == pytest.approx(row["numpy_s"] / row["numpy_peer_s"])
        assert row["torch_peer_ratio"] == pytest.approx(row["torch_s"] / row["torch_peer_s"])
        for side in ("numpy", "torch"):
            assert row[f"{side}_limit_ratio"] == pytest.approx(row[f"{side}_s"] / row["limit_s"])


def test_the_step_targets_are_judged_from_the_benchmarks_rows():
    """One and two threads both needed for the step-time verdict; the GEMM-time verdict from the
    rows at batch >= 1024 only."""
    def row(threads, batch, ratio, bound):
        return {"threads": threads, "batch": batch, "dtype": "float32", "optimizer": "adam", "ratio": ratio,
                "numpy_s": bound, "numpy_gemm_s": 1.0, "numpy_gemm_share": 1 / bound, "torch_gemm_share": 0.8}

    def verdicts(steps):
        results = {"mode": "full", "steps": steps, "vectorisation": {"loop_speedup": 1, "per_example_speedup": 1},
                   "gradient_checking": {"directional": {"seconds": 1, "parameters": 1},
                                         "elementwise": {"seconds": 1, "parameters": 1}},
                   "logging": {}, "suite": None, "cuda": {}}
        return [t["passed"] for t in bench.cli.targets(results)[:2]]

    assert verdicts([row(1, 1024, 0.9, 1.2), row(2, 64, 1.0, 2.0)]) == [True, True]
    assert verdicts([row(1, 1024, 0.9, 1.3), row(2, 64, 1.1, 2.0)]) == [False, False]
    assert verdicts([row(2, 256, 0.9, 1.3)]) == [None, None]            # no one-thread rows, no batch >= 1024
    assert verdicts([row(2, 4096, 1.2, 1.0)]) == [False, True]          # a miss at two threads is a miss


def test_step_flops_match_the_hand_count_for_the_benchmark_mlp():
    for m in (1, 16, 64, 1024, 4096):
        assert bench_step.step_flops(m) == mlp_flops(m)
    assert mlp_flops(1) == 1_007_104


@pytest.mark.parametrize("optimizer", sorted(bench_step.OPTIMIZERS))
def test_one_step_of_each_peer_is_the_projects_step(optimizer):
    """The same loss and the same updated parameters, float64, from every contender of a row (the
    project's NumPy and torch steps, the textbook NumPy peer, the nn.Sequential peer): the peers
    time the same computation. The tolerance is float64 rounding of the gradients: measured, the
    parameters differ by at most 1.6e-13 (Adam, whose v_hat / sqrt(s_hat) scales up the rounding of
    a small gradient), the costs by 1.4e-16 relative."""
    steps = {side: make(64, "float64", optimizer) for side, make in bench_step.CONTENDERS.items()}
    reference = bench_step.numpy_step(64, "float64", optimizer)
    initial = reference.parameters()
    cost = float(reference())
    after = reference.parameters()
    assert all(not np.array_equal(initial[key], after[key]) for key in initial if key.startswith("W"))
    for side, step in steps.items():
        assert set(step.parameters()) == set(initial)
        for key, value in step.parameters().items():            # the same starting point
            np.testing.assert_array_equal(value, initial[key], err_msg=f"{side} {key}")
        assert float(step().detach() if side.startswith("torch") else step()) == pytest.approx(cost, rel=1e-14)
        for key, value in step.parameters().items():
            assert value.dtype == np.float64 and value.shape == after[key].shape
            np.testing.assert_allclose(value, after[key], rtol=1e-12, atol=1e-12, err_msg=f"{side} {key}")
        step.reset()                                              # and back to the start
        for key, value in step.parameters().items():
            np.testing.assert_array_equal(value, initial[key], err_msg=f"{side} {key}")


@pytest.mark.parametrize("optimizer", sorted(bench_step.OPTIMIZERS))
def test_the_peers_keep_float32(optimizer):
    """A float32 row times float32 arithmetic on every side (nothing promoted to float64)."""
    for side, make in bench_step.CONTENDERS.items():
        step = make(16, "float32", optimizer, layers=(6, 5, 3))
        step()
        step()
        assert {value.dtype for value in step.parameters().values()} == {np.dtype(np.float32)}, side


def test_the_torch_peer_uses_the_torch_sides_implementation():
    """peer_torch's optimisers are TORCH_IMPLEMENTATION's: fused Adam, SGD with torch's default."""
    for optimizer, settings in bench_step.TORCH_IMPLEMENTATION.items():
        model = bench_peer_torch.sequential((6, 5, 3))
        opt = bench_peer_torch.optimizer(optimizer, model, bench_step.OPTIMIZERS[optimizer][1])
        assert type(opt) is type(bench_step.torch_optimizer(optimizer, bench_step.torch_model(4, "float32", "cpu",
                                                                                             (6, 5, 3))[0]))
        for key, value in settings.items():
            assert all(group[key] == value for group in opt.param_groups), (optimizer, key)


def test_every_contender_does_the_steps_matrix_products_and_no_more(monkeypatch):
    """The same GEMM FLOPs in every contender (mlp_flops, counted by hand): no input gradient for X,
    nothing else. torch's sides counted by torch's own FLOP counter (forward and autograd's backward);
    the NumPy peer's from the shapes of every affine product it forms (forward x w; backward dw and,
    when it returns one, dx)."""
    expected = mlp_flops(64)
    for side in ("torch", "torch_peer"):
        for optimizer in bench_step.OPTIMIZERS:
            step = bench_step.CONTENDERS[side](64, "float64", optimizer)
            with FlopCounterMode(display=False) as counter:
                step()
            assert counter.get_total_flops() == expected, (side, optimizer)
    flops, forward, backward = [], bench_peer_numpy.affine_forward, bench_peer_numpy.affine_backward

    def counted_forward(x, w, b):
        flops.append(2 * x.shape[0] * w.size)
        return forward(x, w, b)

    def counted_backward(dout, cache, input_grad=True):
        dx, dw, db = backward(dout, cache, input_grad)
        flops.append(2 * dout.shape[0] * dw.size * (2 if dx is not None else 1))
        return dx, dw, db

    monkeypatch.setattr(bench_peer_numpy, "affine_forward", counted_forward)
    monkeypatch.setattr(bench_peer_numpy, "affine_backward", counted_backward)
    for optimizer in bench_step.OPTIMIZERS:
        flops.clear()
        bench_step.numpy_peer_step(64, "float64", optimizer)()
        assert len(flops) == 6 and sum(flops) == expected, optimizer


def test_peak_gemm_counts_2_n_cubed_flops_per_timed_product(monkeypatch):
    """On a clock that advances 0.25 s per reading, every timed product takes 0.25 s: the rate is
    2 n^3 / 0.25 s, whichever library (the FLOP count of an n x n by n x n product is 2 n^3)."""
    ticks = iter(range(10_000))
    monkeypatch.setattr(bench_step.time, "perf_counter", lambda: 0.25 * next(ticks))
    peak = bench_step.peak_gemm(48, 3, ("float32",))["float32"]
    rate = 2 * 48 ** 3 / 0.25 / 1e9
    assert (peak["numpy_gflops"], peak["torch_gflops"], peak["gflops"]) == pytest.approx((rate, rate, rate))


def test_peak_gemm_reports_both_libraries_and_the_faster():
    peak = bench_step.peak_gemm(32, 2, ("float32", "float64"))
    assert set(peak) == {"float32", "float64"}
    for figures in peak.values():
        assert set(figures) == PEAK_KEYS - {"threads", "dtype"}
        assert figures["gflops"] == max(figures["numpy_gflops"], figures["torch_gflops"]) > 0


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
    for side, make in bench_step.CONTENDERS.items():
        step = make(8, "float64", "adam", layers=(6, 5, 3))
        before = step.parameters()
        step()
        assert not all(np.array_equal(before[key], value) for key, value in step.parameters().items()), side
        step.reset()
        assert all(np.array_equal(before[key], value) for key, value in step.parameters().items()), side


@pytest.mark.parametrize("name", n_optim.OPTIMIZERS)
def test_blocked_updates_equal_whole_array_updates(name):
    """optim runs its update in cache-sized blocks (BLOCK_BYTES) over C-contiguous memory: a large
    C-contiguous gradient is read where it lies, block by block, and a Fortran-ordered one, which
    cannot be cut into flat blocks in place, is not (copied into the optimiser's buffer first, or
    updated whole). Elementwise arithmetic makes the two paths bit-for-bit equal, parameters and state."""
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
