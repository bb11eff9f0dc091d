"""TensorBoard logging: runs at <logdir>/<experiment>/<variant>/<impl>, read back with
EventAccumulator (size_guidance 0 = keep everything): the tag scheme
<experiment>/<variant>/<quantity>/<unit> (experiments.tblog), both implementations log the same
tags and agree, the torch run adds the log10 divergence, each run carries its custom-scalars
layout, its HParams summary and (the variant's last run) the result card; run directories are
never reused; and a real `tensorboard` serves the runs and the layout."""

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

from experiments import tblog
from experiments.catalog import EXPERIMENTS
from experiments.runner import run_experiment
from experiments.settings import make_settings

KEEP_ALL = {ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0, ea.TENSORS: 0, ea.COMPRESSED_HISTOGRAMS: 0}
ADAM = "optimisers/adam"
TRAINING_TAGS = {f"{ADAM}/{t}" for t in ("cost/iteration", "learning_rate/iteration", "accuracy/train/epoch",
                                          "grad_norm/W1/epoch", "grad_norm/W2/epoch", "grad_norm/W3/epoch")}
VARIANTS = {("optimisers", "adam"), ("shallow_flower", "tanh-4"), ("shallow_flower", "logistic")}
TORCH_ONLY = re.compile(r"/divergence/|/log10_(cost|params)_divergence/")


def events(run_dir: Path) -> ea.EventAccumulator:
    accumulator = ea.EventAccumulator(str(run_dir), size_guidance=KEEP_ALL)
    accumulator.Reload()
    return accumulator


def values(accumulator, tag):
    return np.array([e.value for e in accumulator.Scalars(tag)]), [e.step for e in accumulator.Scalars(tag)]


def text(accumulator, tag) -> str:
    return accumulator.Tensors(f"{tag}/text_summary")[0].tensor_proto.string_val[0].decode()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """optimisers' Adam (mini-batch loop) and two shallow_flower variants (full-batch, a sweep)."""
    logdir = tmp_path_factory.mktemp("runs")
    settings = make_settings(logdir=logdir, quick=True, device="cpu")
    run_experiment(EXPERIMENTS["optimisers"], settings, ["adam"])
    run_experiment(EXPERIMENTS["shallow_flower"], settings, ["tanh-4", "logistic"])
    return logdir


@pytest.fixture(scope="module")
def runs(logdir) -> dict:
    """{(experiment, variant, impl): its EventAccumulator} for every run of the fixture."""
    return {(e, v, impl): events(logdir / e / v / impl) for e, v in VARIANTS for impl in ("numpy", "torch")}


def test_every_scalar_tag_names_its_experiment_variant_quantity_and_unit(runs):
    for (experiment, variant, impl), run in runs.items():
        tags = run.Tags()["scalars"]
        assert tags, (experiment, variant, impl)
        for tag in tags:
            parts = tag.split("/")
            assert len(parts) >= 4 and parts[-1] in tblog.UNITS, tag
            assert parts[0] == experiment and parts[1] in (variant, tblog.HPARAMS), (tag, variant)
            if parts[1] == tblog.HPARAMS:
                assert len(parts) == 4 and parts[-1] == "run", tag
        assert f"{experiment}/{variant}/cost/iteration" in tags


def test_the_two_runs_of_a_variant_share_their_tags(runs):
    """Every tag but the divergence (torch run of a pair only) is in both runs of a variant, and a
    variant's own tags are in no other variant's runs: a tag's chart holds that variant's two runs."""
    for experiment, variant in VARIANTS:
        numpy_tags, torch_tags = (set(runs[experiment, variant, impl].Tags()["scalars"]) for impl in ("numpy", "torch"))
        assert numpy_tags == {t for t in torch_tags if not TORCH_ONLY.search(t)}
        assert {f"{experiment}/{variant}/divergence/log10_cost/iteration",
                f"{experiment}/hparams/log10_params_divergence/run"} <= torch_tags
        assert not any(TORCH_ONLY.search(t) for t in numpy_tags)
        for (e, v, _), run in runs.items():
            if (e, v) != (experiment, variant):
                assert not {t for t in run.Tags()["scalars"] if t.startswith(f"{experiment}/{variant}/")}


@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_both_implementations_log_the_training_tags(logdir, impl):
    run = events(logdir / "optimisers" / "adam" / impl)
    tags = run.Tags()
    assert TRAINING_TAGS <= set(tags["scalars"])
    assert {f"{ADAM}/weights/W{l}" for l in (1, 2, 3)} <= set(tags["histograms"])
    assert {f"{ADAM}/gradients/dW{l}" for l in (1, 2, 3)} <= set(tags["histograms"])
    config = text(run, f"{ADAM}/config")
    assert f"**implementation**: {impl}" in config and "**seed**: 0" in config
    assert "**hparam optimizer**: adam" in config
    costs, steps = values(run, f"{ADAM}/cost/iteration")
    assert len(steps) <= tblog.SCALAR_POINTS + 1 and steps[0] == 0 and steps == sorted(steps)
    assert len(run.Histograms(f"{ADAM}/weights/W1")) <= tblog.HISTOGRAMS + 2


def test_both_sides_log_the_same_gradient_histograms(logdir):
    """The last histogram of each dW_l: same count, min, max, sum and sum of squares on both sides
    (float32 event values; the gradients themselves agree to ~1e-12)."""
    runs = [events(logdir / "optimisers" / "adam" / impl) for impl in ("numpy", "torch")]
    for tag in (f"{ADAM}/gradients/dW{l}" for l in (1, 2, 3)):
        numpy_h, torch_h = (run.Histograms(tag)[-1] for run in runs)
        assert numpy_h.step == torch_h.step
        a, b = numpy_h.histogram_value, torch_h.histogram_value
        assert a.num == b.num > 0 and a.max > a.min
        np.testing.assert_allclose([a.min, a.max, a.sum, a.sum_squares], [b.min, b.max, b.sum, b.sum_squares],
                                   rtol=1e-5, atol=1e-6 * max(abs(a.min), abs(a.max)))


def test_the_torch_run_carries_the_log10_divergence_within_its_axis(logdir):
    torch_run = events(logdir / "optimisers" / "adam" / "torch")
    divergence, steps = values(torch_run, f"{ADAM}/divergence/log10_cost/iteration")
    assert steps == values(torch_run, f"{ADAM}/cost/iteration")[1]
    assert (divergence >= tblog.LOG10_FLOOR).all() and divergence.max() < -12   # rounding: 1e-16 .. 1e-14
    assert (divergence == tblog.LOG10_FLOOR).any()   # exact agreement is on the axis, at the floor
    params, _ = values(torch_run, "optimisers/hparams/log10_params_divergence/run")
    assert tblog.LOG10_FLOOR <= params[0] < -12


@pytest.mark.parametrize(("divergence", "log10"), [(0.0, -17.0), (1e-20, -17.0), (1e-3, -3.0), (float("nan"), 3.0),
                                                   (float("inf"), 3.0), (1e9, 3.0)])
def test_log10_divergence_stays_within_floor_and_ceiling(divergence, log10):
    assert tblog.log10_divergence(divergence) == pytest.approx(log10)


def test_log10_cost_divergence_reads_equal_costs_as_exact():
    assert tblog.log10_cost_divergence(2.0, 2.0) == tblog.log10_cost_divergence(np.inf, np.inf) == tblog.LOG10_FLOOR
    assert tblog.log10_cost_divergence(1.0 + 1e-6, 1.0) == pytest.approx(-6, abs=1e-6)
    assert tblog.log10_cost_divergence(np.nan, 1.0) == tblog.LOG10_CEILING


@pytest.mark.parametrize("tag", ["cost/iteration", "accuracy/train/epoch", "grad_norm/W1/epoch",
                                 "learning_rate/iteration"])
def test_numpy_and_torch_curves_agree(logdir, tag):
    (a, steps_a), (b, steps_b) = (values(events(logdir / "optimisers" / "adam" / impl), f"{ADAM}/{tag}")
                                  for impl in ("numpy", "torch"))
    assert steps_a == steps_b
    np.testing.assert_allclose(a, b, rtol=1e-6)   # add_scalar stores float32


def layout(run) -> layout_pb2.Layout:
    content = run.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0]
    return layout_pb2.Layout.FromString(content)


def test_every_run_carries_its_variant_layout_whose_charts_match_exactly_its_tags(runs):
    """One category per experiment, the same in each of its runs; per variant that ran, in order,
    a chart of its cost curves, then one of its divergence; each chart's regexes match exactly that
    variant's cost (divergence) tags among all the fixture's tags, so a chart holds the two runs of
    one variant."""
    every_tag = {tag for run in runs.values() for tag in run.Tags()["scalars"]}
    ran = {"optimisers": ["adam"], "shallow_flower": ["tanh-4", "logistic"]}
    for (experiment, variant, impl), run in runs.items():
        categories = layout(run).category
        assert [c.title for c in categories] == [experiment]
        charts = categories[0].chart
        assert len(charts) == 2 * len(ran[experiment])
        k = ran[experiment].index(variant)
        assert all(c.title.startswith(f"{variant}: ") for c in charts[2 * k: 2 * k + 2])
        for chart, quantity in zip(charts[2 * k: 2 * k + 2], ("cost", "divergence")):
            regexes = list(chart.multiline.tag)
            matched = {t for t in every_tag if any(re.search(r, t) for r in regexes)}
            own = {t for t in every_tag if t.startswith(f"{experiment}/{variant}/{quantity}/")}
            assert matched == own and own, (experiment, variant, quantity, matched)


def session_start(run):
    content = run.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"} <= set(content)
    return plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info


def test_hparams_are_in_the_run_itself_with_impl_experiment_and_variant(logdir, runs):
    for (experiment, variant, impl), run in runs.items():
        assert not (logdir / experiment / variant / impl / "hparams").exists()
        hparams = session_start(run).hparams
        assert (hparams["impl"].string_value, hparams["experiment"].string_value, hparams["variant"].string_value) \
            == (impl, experiment, variant)
        metric = f"{experiment}/hparams/train_accuracy/run"
        assert metric in run.Tags()["scalars"]
    assert session_start(runs["optimisers", "adam", "torch"]).hparams["optimizer"].string_value == "adam"
    sweep = [session_start(runs["shallow_flower", v, "numpy"]).hparams for v in ("tanh-4", "logistic")]
    assert [h["model"].string_value for h in sweep] == ["tanh-4", "logistic"]
    accuracy, _ = values(runs["shallow_flower", "tanh-4", "torch"], "shallow_flower/tanh-4/accuracy/train/iteration")
    assert accuracy[-1] > 0.85


def test_the_result_card_is_in_the_variants_last_run(runs, logdir):
    results = json.loads((logdir / "results.json").read_text())
    for experiment, variant in VARIANTS:
        assert f"{experiment}/{variant}/result/text_summary" not in runs[experiment, variant, "numpy"].Tags()["tensors"]
        card = text(runs[experiment, variant, "torch"], f"{experiment}/{variant}/result")
        row = next(r for r in results[experiment]["variants"] if r["variant"] == variant)
        assert f"**{experiment} / {variant}**" in card and "divergence NumPy vs torch" in card
        assert "final parameters 10^" in card
        for metric, figure in row["published"].items():
            assert f"| {metric} | {figure} |" in card
    card = text(runs["optimisers", "adam", "torch"], f"{ADAM}/result")
    assert "| claim | verdict |" in card and "| train_accuracy | 94 % |" in card


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
    assert {"autograd_basics/plain/w/iteration", "autograd_basics/plain/cost/iteration"} <= \
        set(events(tmp_path / "autograd_basics-2" / "plain" / "torch").Tags()["scalars"])
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


def post_json(url: str, body: dict, timeout: float = 5):
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def test_tensorboard_serves_both_implementations(logdir):
    """`tensorboard --logdir` on a free localhost port lists every run and its scalar tags, the
    custom-scalars layout (a category per experiment, two charts per variant) and the HParams rows."""
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
        layout = get_json(f"http://127.0.0.1:{port}/data/plugin/custom_scalars/layout")
        categories = {c["title"]: [chart["title"] for chart in c["chart"]] for c in layout["category"]}
        assert set(categories) == {"optimisers", "shallow_flower"}
        assert len(categories["optimisers"]) == 2 and len(categories["shallow_flower"]) == 4, categories
        # the HParams table: one row per run, named by the full run directory, impl an hparam
        query = {"experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
                 "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]}
        groups, deadline = [], time.monotonic() + 60
        while time.monotonic() < deadline and len(groups) < 2 * len(VARIANTS):   # the runs still loading
            groups = post_json(f"http://127.0.0.1:{port}/data/plugin/hparams/session_groups", query)["sessionGroups"]
            time.sleep(0.5)
        assert {g["name"]: g["hparams"]["impl"] for g in groups} == \
            {f"{e}/{v}/{impl}": impl for e, v in VARIANTS for impl in ("numpy", "torch")}
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        server.stderr.close()
