"""The experiments (python -m experiments): the command line, each experiment's claim in quick
mode on both implementations, and the course's published figures at the full budget on the
course's own data (skipped, with the reason, when it is absent).

The long runs go through the real command in a subprocess (``cli_run``): that is the path users
take, and it gives NumPy its one BLAS thread (experiments/__main__.py), which pytest's process,
having imported NumPy already, cannot."""

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from experiments import cli, datasets, published, report
from experiments.catalog import EXPERIMENTS
from experiments.runner import load_data, run_experiment
from experiments.settings import make_settings
from parity_tests.conftest import course_data_dir

REPO = Path(__file__).resolve().parents[1]
BUILT = {"autograd_basics", "batch_size", "deep_cat", "initialisation", "logistic_cat", "lr_decay", "optimisers",
         "shallow_flower", "softmax_svm", "vectorisation"}


def main(*argv) -> tuple:
    """(exit status, stdout, stderr) of python -m experiments ARGV, in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def cli_run(*argv, timeout: float = 900) -> tuple:
    """(exit status, stdout, stderr) of python -m experiments ARGV in a subprocess."""
    done = subprocess.run([sys.executable, "-m", "experiments", *map(str, argv)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def metrics(result: dict, variant: str, impl: str = "numpy") -> dict:
    return next(r for r in result["variants"] if r["variant"] == variant)["metrics"][impl]


# --- the command line ------------------------------------------------------------------------


def test_the_catalog_has_every_built_experiment():
    assert BUILT <= set(EXPERIMENTS)   # list's blocks: test_experiments_cli.py


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "nope"], r"unknown experiment \['nope'\]"),
    (["run", "all", "initialisation"], "'all' cannot be combined with names"),
    (["run", "initialisation", "--impl", "jax"], "--impl must be one of"),
    (["run", "initialisation", "--dtype", "float16"], "--dtype must be one of"),
    (["run", "initialisation", "--seed", "-1"], "--seed must be an integer >= 0, got '-1'"),
    (["run", "initialisation", "--seed", "x"], "--seed must be an integer >= 0"),
    (["run", "initialisation", "--device", "tpu"], "device must be one of"),
    (["run", "initialisation", "optimisers", "--variant", "he"], "--variant needs exactly one experiment"),
    (["run", "initialisation", "--variant", "xavier"], r"initialisation has no variant \['xavier'\]"),
    (["run", "initialisation", "--data-dir", "/no/such/dir"], "--data-dir '/no/such/dir' is not a directory"),
    (["run"], "the following arguments are required: NAME"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
])
def test_bad_input_is_one_error_line(tmp_path, argv, message):
    status, out, err = main(*argv, *(["--logdir", tmp_path / "runs"] if argv[:1] == ["run"] else []))
    assert status == 2 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err), err
    assert not (tmp_path / "runs").exists()   # nothing ran, nothing was logged


def test_a_bad_data_file_is_one_error_line(tmp_path):
    (tmp_path / "train_catvnoncat.h5").write_bytes(b"not hdf5")
    (tmp_path / "test_catvnoncat.h5").write_bytes(b"not hdf5")
    status, out, err = main("run", "deep_cat", "--data-dir", tmp_path, "--logdir", tmp_path / "runs")
    assert status == 2 and out == ""
    assert err.startswith(f"error: {tmp_path / 'train_catvnoncat.h5'}: not a readable HDF5 file (")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs" / "deep_cat").exists()


def test_every_data_file_is_read_before_the_first_experiment_runs(tmp_path):
    """run all with a corrupt course_toy_sets.h5: one error line before any experiment ran (the first
    ones, autograd_basics among them, read no data), not a stop in the middle of the command."""
    (tmp_path / datasets.TOY_FILE).write_bytes(b"not hdf5")
    status, out, err = main("run", "all", "--quick", "--data-dir", tmp_path, "--logdir", tmp_path / "runs")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / datasets.TOY_FILE}: not a readable HDF5 file (")
    assert not list((tmp_path / "runs").glob("*/"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_a_gpu_is_an_error(tmp_path):
    status, _, err = main("run", "autograd_basics", "--device", "cuda", "--logdir", tmp_path)
    assert status == 2 and "torch.cuda.is_available() is False" in err


def test_report_without_results(tmp_path):
    status, _, err = main("report", "--logdir", tmp_path)
    assert status == 2 and "no results in" in err and "run an experiment first" in err


def test_settings_are_checked_one_by_one():
    with pytest.raises(ValueError, match="--seed must be an integer >= 0"):
        make_settings(seed=1.5)
    assert make_settings(impl="torch", device="cpu").impls == ("torch",)


# --- run all --quick: every claim on both implementations ------------------------------------


@pytest.fixture(scope="module")
def quick(quick_all):
    """run all --quick once (conftest.quick_all): (exit status, stdout, stderr, results.json, logdir)."""
    return quick_all


def test_run_all_quick_passes_and_reports(quick):
    status, out, err, results, logdir = quick
    assert status == 0, err
    assert set(results) == set(EXPERIMENTS)
    for name, result in results.items():
        assert result["devices"] == {"numpy": "cpu", "torch": "cpu"} and result["settings"]["quick"]
        assert f"{name}: {result['claim']}" in out
        for claim in result["claims"]:
            expected = {None} if claim["full_budget"] else {True}
            assert set(claim["verdicts"].values()) == expected, (name, claim)
        for row in result["variants"]:
            for impl in ("numpy", "torch"):
                assert list((logdir / name / row["variant"] / impl).glob("events.out.tfevents.*"))
    status, report, _ = main("report", "--logdir", logdir)
    assert status == 0 and all(f"{name}: " in report for name in EXPERIMENTS)
    assert "[FAILS]" not in report and "[needs the full budget]" in report


def test_quick_pairs_agree(quick):
    """NumPy and torch from the same weights: every metric and cost trajectory agree (float64),
    except the chaotic large-initialisation run and the timings."""
    for name, result in quick[3].items():
        for row in result["variants"]:
            if (name, row["variant"]) == ("initialisation", "large"):
                continue
            assert row["divergence"].get("cost", 0) < 1e-9, (name, row["variant"], row["divergence"])
            assert row["divergence"].get("params", 0) < 1e-9, (name, row["variant"], row["divergence"])
            for metric, diff in row["divergence"]["metrics"].items():
                # gradient_checking's per-tensor differences (difference_dW1, ...) are each side's own
                # finite-difference rounding (about eps |J| / h of a small tensor): they differ at 1e-8
                if "seconds" not in metric and metric != "speedup" and not metric.startswith("difference_"):
                    assert diff < 1e-9, (name, row["variant"], metric, diff)


def test_initialisation_zeros_keep_units_identical(quick):
    result = quick[3]["initialisation"]
    for impl in ("numpy", "torch"):
        zeros, he = metrics(result, "zeros", impl), metrics(result, "he", impl)
        assert zeros["hidden_units_spread"] == 0 and he["hidden_units_spread"] > 0.1
        assert zeros["train_accuracy"] == zeros["test_accuracy"] == 0.5
        assert math.isclose(zeros["final_cost"], math.log(2), rel_tol=1e-12)   # only b3 moves, and not off ln 2
        assert he["train_accuracy"] > 0.85 and metrics(result, "large", impl)["initial_cost"] > 1000


def test_optimisers_adam_beats_gd(quick):
    result = quick[3]["optimisers"]
    gd, momentum, adam = (metrics(result, v, "torch") for v in ("gd", "momentum", "adam"))
    assert adam["final_cost"] < 0.6 * min(gd["final_cost"], momentum["final_cost"])
    assert adam["train_accuracy"] > gd["train_accuracy"] + 0.2


def test_batch_size_and_decay(quick):
    batch = quick[3]["batch_size"]
    assert metrics(batch, "stochastic")["final_cost"] < metrics(batch, "batch")["final_cost"] - 0.005
    assert metrics(batch, "stochastic")["cost_jitter"] > 100 * metrics(batch, "batch")["cost_jitter"]
    decay = quick[3]["lr_decay"]
    assert metrics(decay, "inverse_time")["final_cost"] > metrics(decay, "staircase")["final_cost"] + 0.2


def test_flower_hidden_layer_and_linear_collapse(quick):
    result = quick[3]["shallow_flower"]
    for impl in ("numpy", "torch"):
        assert metrics(result, "tanh-4", impl)["train_accuracy"] > 0.85
        assert metrics(result, "logistic", impl)["train_accuracy"] < 0.55
        linear = metrics(result, "linear-4", impl)
        assert linear["collapse_residual"] < 1e-12
        assert abs(linear["train_accuracy"] - metrics(result, "logistic", impl)["train_accuracy"]) < 0.03


def test_cat_runs_start_from_the_course_weights(quick):
    """The course's iteration-0 costs, whatever the budget: its weights and data are ours."""
    deep, logistic = quick[3]["deep_cat"], quick[3]["logistic_cat"]
    if not deep["course_data"]:
        pytest.skip(f"the course's cat images are needed; the quick run used {deep['data_source']}")
    for impl in ("numpy", "torch"):
        assert math.isclose(metrics(deep, "2-layer", impl)["initial_cost"], 0.6930497356599888, rel_tol=1e-10)
        assert math.isclose(metrics(deep, "4-layer", impl)["initial_cost"], 0.7717493284237686, rel_tol=1e-10)
        assert math.isclose(metrics(logistic, "lr0.005", impl)["initial_cost"], math.log(2), rel_tol=1e-12)
    assert deep["course_data"] and "train_catvnoncat.h5" in deep["data_source"]


def test_spirals_svm_softmax_and_scores(quick):
    result = quick[3]["softmax_svm"]
    for impl in ("numpy", "torch"):
        assert metrics(result, "linear-softmax", impl)["train_accuracy"] < 0.6
        assert metrics(result, "net-softmax", impl)["train_accuracy"] > 0.9
        scores = metrics(result, "score-example", impl)
        assert scores["hinge_10_9_9"] == scores["hinge_10_-100_-100"] == 0
        assert math.isclose(scores["softmax_10_9_9"], math.log(1 + 2 / math.e), rel_tol=1e-12)


def test_vectorisation_and_autograd(quick):
    vector, autograd = quick[3]["vectorisation"], quick[3]["autograd_basics"]
    for impl in ("numpy", "torch"):
        assert metrics(vector, "logistic-gradient", impl)["loop_vs_vectorised"] < 1e-12
        assert metrics(vector, "logistic-gradient", impl)["speedup"] > 10
        for form in ("plain", "coefficients"):
            assert abs(metrics(autograd, form, impl)["w"] - 5) < 1e-8


# --- other settings ----------------------------------------------------------------------------


def test_one_implementation_only(tmp_path):
    status, out, _ = main("run", "autograd_basics", "--impl", "torch", "--logdir", tmp_path)
    result = json.loads((tmp_path / "results.json").read_text())["autograd_basics"]
    assert status == 0 and list(result["devices"]) == ["torch"]
    assert not list(tmp_path.rglob("numpy")) and list((tmp_path / "autograd_basics" / "plain" / "torch").iterdir())
    assert all(row["divergence"] == {} for row in result["variants"])
    header = next(line.split() for line in out.splitlines() if line.strip().startswith("variant"))
    assert "torch" in header and "numpy" not in header


def test_float32_runs(tmp_path):
    """In float32 the claims hold; smooth runs agree to float32 precision, while runs through many
    kinks (ReLU, hinge) at rate 1 drift apart in their last digits and end merely close."""
    settings = make_settings(logdir=tmp_path, quick=True, dtype="float32", device="cpu")
    smooth = [run_experiment(EXPERIMENTS[name], settings, variants)
              for name, variants in (("autograd_basics", None), ("initialisation", ["zeros"]))]
    kinks = run_experiment(EXPERIMENTS["softmax_svm"], settings, ["net-softmax", "net-svm", "score-example"])
    for result in (*smooth, kinks):
        assert all(v is not False for c in result["claims"] for v in c["verdicts"].values())
    for row in (row for result in smooth for row in result["variants"]):
        assert row["divergence"]["cost"] < 1e-6 and row["divergence"]["params"] < 1e-6, row["divergence"]
    for variant in ("net-softmax", "net-svm"):
        accuracies = [metrics(kinks, variant, impl)["train_accuracy"] for impl in ("numpy", "torch")]
        assert min(accuracies) > 0.9 and abs(accuracies[0] - accuracies[1]) < 0.02


def test_generated_stand_in_is_announced(tmp_path):
    status, out, _ = cli_run("run", "logistic_cat", "--variant", "lr0.005", "--quick", "--data-dir", tmp_path,
                             "--logdir", tmp_path / "runs")
    result = json.loads((tmp_path / "runs" / "results.json").read_text())["logistic_cat"]
    assert status == 0 and not result["course_data"] and result["standin"]
    assert f"generated {datasets.STANDIN}" in out
    assert f"train_catvnoncat.h5 and test_catvnoncat.h5 not found in {tmp_path}" in out
    assert metrics(result, "lr0.005")["train_accuracy"] > 0.6


# the experiments that read a course file with no generator for its points (cat images, the
# regularisation set): on a folder without the files they run on stand-ins
READ_COURSE_FILES = {"logistic_cat", "deep_cat", "vectorisation", "regularisation"}


def test_an_empty_data_dir_runs_stand_ins_and_the_course_points_generated(tmp_path):
    """A --data-dir without the course's files: the experiments that read a course file run on
    stand-ins (exit 0), say "stand-in, published figures not comparable" and judge no figure;
    every other experiment loads the course's own 2-D points generated by code (bit for bit the
    file's: test_datasets.py::test_generators_reproduce_the_course_points_bit_for_bit) or data that
    is always generated, so its run is the file run that test_run_all_quick_passes_and_reports
    makes, and only its loading is checked here."""
    empty = tmp_path / "empty"
    empty.mkdir()
    status, out, err = cli_run("run", *sorted(READ_COURSE_FILES), "--quick", "--data-dir", empty, "--logdir",
                               tmp_path / "runs", "--device", "cpu", timeout=1800)
    assert status == 0, err
    results = json.loads((tmp_path / "runs" / "results.json").read_text())
    assert set(results) == READ_COURSE_FILES
    for name, result in results.items():
        assert result["standin"] and not result["course_data"], name
        assert f"not found in {empty}" in result["data_source"] and datasets.STANDIN in result["data_source"]
        assert f"data: {result['data_source']}" in out
        assert all(report.figure_match(result, row, m)[0] in ("", "n/a")
                   for row in result["variants"] for m in row["published"])
    settings = make_settings(data_dir=empty, quick=True)
    for name in sorted(set(EXPERIMENTS) - READ_COURSE_FILES):
        data = load_data(EXPERIMENTS[name], settings)
        if data is not None and ".h5" in EXPERIMENTS[name].dataset:
            assert data.course_data and not getattr(data, "standin", False), name
            assert f"not found in {empty}" in data.source, name


def test_quick_run_on_each_device(tmp_path, device):
    settings = make_settings(logdir=tmp_path, quick=True, device=device)
    result = run_experiment(EXPERIMENTS["optimisers"], settings, ["adam"])
    assert result["devices"]["numpy"] == "cpu" and result["devices"]["torch"].startswith(device)
    assert result["variants"][0]["divergence"]["cost"] < 1e-9


# --- the course's published figures at the full budget. The torch side runs where its trajectory
# is chaotic and so not implied by the NumPy one (the flower at rate 1.2, randn * 10 weights); the
# others follow NumPy's to ~1e-15 over the whole run (the quick runs above check the same pairs).


@pytest.mark.parametrize(("name", "impl", "variants"), [
    ("logistic_cat", "numpy", ["lr0.005"]),
    ("shallow_flower", "both", ["tanh-4", "logistic"]),
    ("initialisation", "numpy", []),
    ("initialisation", "torch", ["large"]),
    ("deep_cat", "numpy", []),
])
def test_course_figures_at_the_full_budget(tmp_path, name, impl, variants):
    status, _, err = cli_run("run", name, "--impl", impl, "--logdir", tmp_path, "--data-dir", course_data_dir(),
                             "--device", "cpu", *(a for v in variants for a in ("--variant", v)))
    result = json.loads((tmp_path / "results.json").read_text())[name]
    assert status == 0, err
    assert result["course_data"] and not result["settings"]["quick"]
    for row in result["variants"]:
        slack = row["chaos"]["slack"] if row["chaos"] else 0.0   # a chaotic run ends within its slack
        for metric, text in row["published"].items():
            for side, values in row["metrics"].items():
                assert published.parse(text).reproduced_by(values[metric], slack), \
                    (row["variant"], side, metric, text, values[metric], row["divergence"])
    assert all(v for c in result["claims"] for v in c["verdicts"].values() if v is not None)


class _AnyMetric(dict):
    """A variant's metrics where every name reads 0.5: enough for a claim's predicate to run."""

    def __missing__(self, key):
        return 0.5


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_each_claim_reads_only_the_variants_it_needs(name):
    """A claim is checked when the variants in ``needs`` ran (``run --variant`` may run fewer): its predicate
    must not read another (early_stopping's second claim read no-stopping without naming it: a KeyError after
    `run early_stopping --variant patience-20`)."""
    for claim in EXPERIMENTS[name].claims:
        claim.holds({variant: _AnyMetric() for variant in claim.needs})
