"""TensorBoard logging: runs at <logdir>/<experiment>/<variant>/<impl>, read back with
EventAccumulator (size_guidance 0 = keep everything): both implementations log the expected
tags and agree; run directories are never reused; and a real `tensorboard` serves the runs."""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea

from experiments import tblog
from experiments.catalog import EXPERIMENTS
from experiments.runner import run_experiment
from experiments.settings import make_settings

KEEP_ALL = {ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0, ea.TENSORS: 0, ea.COMPRESSED_HISTOGRAMS: 0}
TRAINING_TAGS = {"cost", "learning_rate", "accuracy/train", "grad_norm/W1", "grad_norm/W2", "grad_norm/W3"}


def events(run_dir: Path) -> ea.EventAccumulator:
    accumulator = ea.EventAccumulator(str(run_dir), size_guidance=KEEP_ALL)
    accumulator.Reload()
    return accumulator


def values(accumulator, tag):
    return np.array([e.value for e in accumulator.Scalars(tag)]), [e.step for e in accumulator.Scalars(tag)]


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """optimisers' Adam (mini-batch loop) and two shallow_flower variants (full-batch, a sweep)."""
    logdir = tmp_path_factory.mktemp("runs")
    settings = make_settings(logdir=logdir, quick=True, device="cpu")
    run_experiment(EXPERIMENTS["optimisers"], settings, ["adam"])
    run_experiment(EXPERIMENTS["shallow_flower"], settings, ["tanh-4", "logistic"])
    return logdir


@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_both_implementations_log_the_training_tags(logdir, impl):
    run = events(logdir / "optimisers" / "adam" / impl)
    tags = run.Tags()
    assert TRAINING_TAGS <= set(tags["scalars"])
    assert {"weights/W1", "weights/W2", "weights/W3"} <= set(tags["histograms"])
    assert {"gradients/dW1", "gradients/dW2", "gradients/dW3"} <= set(tags["histograms"])
    assert "config/text_summary" in tags["tensors"]
    text = run.Tensors("config/text_summary")[0].tensor_proto.string_val[0].decode()
    assert f"**implementation**: {impl}" in text and "**seed**: 0" in text and "**hparam optimizer**: adam" in text
    costs, steps = values(run, "cost")
    assert len(steps) <= tblog.SCALAR_POINTS + 1 and steps[0] == 0 and steps == sorted(steps)
    assert len(run.Histograms("weights/W1")) <= tblog.HISTOGRAMS + 2


def test_both_sides_log_the_same_gradient_histograms(logdir):
    """The last histogram of each dW_l: same count, min, max, sum and sum of squares on both sides
    (float32 event values; the gradients themselves agree to ~1e-12)."""
    runs = [events(logdir / "optimisers" / "adam" / impl) for impl in ("numpy", "torch")]
    for tag in ("gradients/dW1", "gradients/dW2", "gradients/dW3"):
        numpy_h, torch_h = (run.Histograms(tag)[-1] for run in runs)
        assert numpy_h.step == torch_h.step
        a, b = numpy_h.histogram_value, torch_h.histogram_value
        assert a.num == b.num > 0 and a.max > a.min
        np.testing.assert_allclose([a.min, a.max, a.sum, a.sum_squares], [b.min, b.max, b.sum, b.sum_squares],
                                   rtol=1e-5, atol=1e-6 * max(abs(a.min), abs(a.max)))


def test_the_torch_run_carries_the_divergence_and_the_figures(logdir):
    numpy_run, torch_run = (events(logdir / "optimisers" / "adam" / impl) for impl in ("numpy", "torch"))
    assert {"divergence/cost", "divergence/params"} <= set(torch_run.Tags()["scalars"])
    assert not {"divergence/cost", "divergence/params"} & set(numpy_run.Tags()["scalars"])
    assert "cost_curve" in torch_run.Tags()["images"] and "decision_boundary" in torch_run.Tags()["images"]
    divergence, _ = values(torch_run, "divergence/cost")
    assert divergence.max() < 1e-10


@pytest.mark.parametrize("tag", ["cost", "accuracy/train", "grad_norm/W1", "learning_rate"])
def test_numpy_and_torch_curves_agree(logdir, tag):
    (a, steps_a), (b, steps_b) = (values(events(logdir / "optimisers" / "adam" / impl), tag)
                                  for impl in ("numpy", "torch"))
    assert steps_a == steps_b
    np.testing.assert_allclose(a, b, rtol=1e-6)   # add_scalar stores float32


def test_full_batch_runs_log_train_accuracy_and_the_sweep_logs_hparams(logdir):
    for variant in ("tanh-4", "logistic"):
        for impl in ("numpy", "torch"):
            run = events(logdir / "shallow_flower" / variant / impl)
            assert {"cost", "learning_rate", "accuracy/train"} <= set(run.Tags()["scalars"])
            hparams = events(logdir / "shallow_flower" / variant / impl / "hparams")
            assert "hparam/train_accuracy" in hparams.Tags()["scalars"]
            assert "_hparams_/session_start_info" in hparams.PluginTagToContent("hparams")
    accuracy, _ = values(events(logdir / "shallow_flower" / "tanh-4" / "torch"), "accuracy/train")
    assert accuracy[-1] > 0.85


def test_results_file_records_the_runs(logdir):
    results = json.loads((logdir / "results.json").read_text())
    assert set(results) == {"optimisers", "shallow_flower"}
    assert results["optimisers"]["run_dir"] == str(logdir / "optimisers")


def test_a_run_directory_is_never_reused(tmp_path):
    settings = make_settings(logdir=tmp_path, quick=True, device="cpu")
    first = run_experiment(EXPERIMENTS["autograd_basics"], settings)
    stamp = sorted(p.stat().st_mtime_ns for p in (tmp_path / "autograd_basics").rglob("events.out.*"))
    second = run_experiment(EXPERIMENTS["autograd_basics"], settings)
    assert (first["run_dir"], second["run_dir"]) == (str(tmp_path / "autograd_basics"),
                                                     str(tmp_path / "autograd_basics-2"))
    assert sorted(p.stat().st_mtime_ns for p in (tmp_path / "autograd_basics").rglob("events.out.*")) == stamp
    assert {"w", "cost"} <= set(events(tmp_path / "autograd_basics-2" / "plain" / "torch").Tags()["scalars"])
    with pytest.raises(FileExistsError, match="never overwritten"):
        tblog.RunLogger(tmp_path / "autograd_basics" / "plain" / "numpy")


def test_claim_root_takes_the_first_free_suffix(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x-2").mkdir()
    assert tblog.claim_root(tmp_path, "x") == tmp_path / "x-3"
    assert tblog.claim_root(tmp_path, "y") == tmp_path / "y"


@pytest.mark.parametrize(("total", "points", "logged"), [
    (10, 500, list(range(10))),
    (1000, 4, [0, 250, 500, 750, 999]),
    (7, 3, [0, 3, 6]),
])
def test_cadence_logs_about_points_steps_and_the_last(total, points, logged):
    cadence = tblog.Cadence(total, points)
    assert [s for s in range(total) if cadence(s)] == logged


# --- a real TensorBoard ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def test_tensorboard_serves_both_implementations(logdir):
    """`tensorboard --logdir` on a free localhost port lists every run and its scalar tags."""
    port = free_port()
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir), "--host", "127.0.0.1",
               "--port", str(port), "--load_fast", "false"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        runs, deadline = None, time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                runs = get_json(f"http://127.0.0.1:{port}/data/runs")
                if "optimisers/adam/torch" in runs:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert server.poll() is None, f"tensorboard exited: {server.stderr.read().decode()[-2000:]}"
        assert runs is not None and {"optimisers/adam/numpy", "optimisers/adam/torch",
                                     "shallow_flower/tanh-4/numpy"} <= set(runs), runs
        tags = get_json(f"http://127.0.0.1:{port}/data/plugin/scalars/tags")
        for impl in ("numpy", "torch"):
            assert TRAINING_TAGS <= set(tags[f"optimisers/adam/{impl}"])
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        server.stderr.close()
