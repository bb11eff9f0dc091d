"""The course's published figures: how a printed figure is judged (experiments.published), how a
report row is judged (report.figure_match: reproduced, within a chaotic variant's slack,
disputed, missed), where two trajectories part (pairing.parted_at), that ``run`` fails on a missed figure,
and the ``fidelity`` command on the course's data (one experiment at the full budget here; the
whole command, minutes long, is the README's and the note's figure)."""

import dataclasses
import json
import re

import numpy as np
import pytest

from experiments import published, report
from experiments.catalog import EXPERIMENTS
from experiments.pairing import parted_at
from experiments.runner import Variant
from parity_tests.conftest import course_data_dir
from parity_tests.test_experiments import cli_run, main

# --- one printed figure --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ours", "reproduced"), [
    ("99.04 %", 0.99043, True), ("99.04 %", 0.99035, True), ("99.04 %", 0.99056, False),
    ("70 %", 0.70, True), ("70 %", 0.72, False), ("47 %", 0.4725, True),
    ("0.584508", 0.5845076, True), ("0.584508", 0.5845086, False),
    ("0.7166666666666667", 215 / 300, True), ("0.7166666666666667", 216 / 300, False),
    ("0.6930497356599888", 0.6930497356599888 * (1 + 1e-12), True),   # the last digits differ between CPUs
    ("0.6930497356599888", 0.6930497356599888 * (1 + 1e-9), False),
    (">94.6 %", 0.94666, True), (">94.6 %", 0.946, True), (">94.6 %", 0.9433, False), (">94.6 %", 0.9470, False),
    ("-1.5", -1.5, True),
])
def test_a_figure_is_judged_at_its_printed_precision(text, ours, reproduced):
    assert published.parse(text).reproduced_by(ours) is reproduced


def test_a_slack_widens_the_printed_precision_by_that_much():
    flower = published.parse("90.75 %")
    assert not flower.reproduced_by(0.9050) and flower.reproduced_by(0.9050, 1 / 400)
    assert not flower.reproduced_by(0.9025, 1 / 400)
    assert published.parse(">94.6 %").reproduced_by(0.9433, 0.004) and not published.parse(">94.6 %").reproduced_by(0.9433)


@pytest.mark.parametrize(("text", "ours", "shown"), [
    ("99.04 %", 0.990431, "99.04 %"), ("70 %", 0.72, "72 %"), ("0.584508", 0.58450763, "0.584508"),
    (">94.6 %", 0.9433333, "94.33 %"), ("0.7166666666666667", 215 / 300, "0.7166666666666667"),
])
def test_ours_is_shown_at_the_figures_precision(text, ours, shown):
    assert published.parse(text).show(ours) == shown and published.parse(text).show(None) == ""


@pytest.mark.parametrize("text", ["about 90 %", "90.75%", "", "1e-3", "> 94 %", True, None])
def test_a_figure_in_no_known_form_is_an_error(text):
    with pytest.raises(ValueError, match="published figure"):
        published.parse(text)


def test_variants_declare_judgeable_figures_and_dispute_only_published_ones():
    with pytest.raises(ValueError, match="published figure 'ninety'"):
        Variant("v", published={"train_accuracy": "ninety"})
    with pytest.raises(ValueError, match="disputed .* must be published figures"):
        Variant("v", published={"train_accuracy": "90 %"}, disputed={"test_accuracy": ("90 %", "why")})
    for experiment in EXPERIMENTS.values():   # the catalog's figures all parse (Variant checks at creation)
        experiment.variants(dataclasses.replace(_settings(), quick=False))


def _settings():
    from experiments.settings import Settings
    return Settings()


# --- where two runs part -------------------------------------------------------------------------


def test_parted_at_is_the_first_cost_beyond_rounding():
    a = np.linspace(1.0, 0.1, 100)
    b = a * (1 + 1e-13)
    assert parted_at(a, b) is None                       # rounding-level differences never part
    b[40:] *= 1 + 1e-5
    assert parted_at(a, b) == 40
    assert parted_at([np.inf, 1.0], [np.inf, 1.0]) is None   # overflowed on both sides: not parted
    assert parted_at([], []) is None


# --- a report row --------------------------------------------------------------------------------


def _result(numpy, torch, *, chaos=None, disputed=None, parted=None, quick=False, course=True, dtype="float64"):
    row = {"variant": "v", "published": {"train_accuracy": "90.75 %"}, "chaos": chaos,
           "disputed": disputed or {}, "divergence": {"parted_at": parted},
           "metrics": {"numpy": {"train_accuracy": numpy}, "torch": {"train_accuracy": torch}}}
    return {"settings": {"quick": quick, "dtype": dtype}, "course_data": course, "variants": [row]}, row


ONE_OF_400 = {"reason": "rate 1.2", "slack": 1 / 400}


@pytest.mark.parametrize(("kwargs", "cell", "missed"), [
    ({"numpy": 0.9075, "torch": 0.9075}, "yes", False),
    ({"numpy": 0.9075, "torch": 0.9050}, "NO", True),                                   # torch misses, no reason
    ({"numpy": 0.9075, "torch": 0.9050, "chaos": ONE_OF_400, "parted": 7741}, "chaotic (±0.25 %, parts at 7741)", False),
    ({"numpy": 0.9050, "torch": 0.9050, "chaos": ONE_OF_400}, "chaotic (±0.25 %)", False),   # one side on two CPUs
    ({"numpy": 0.9075, "torch": 0.9025, "chaos": ONE_OF_400, "parted": 7741}, "NO", True),   # beyond the slack
    ({"numpy": 0.9050, "torch": 0.9050, "disputed": {"train_accuracy": ("90.50 %", "why")}}, "disputed", False),
    ({"numpy": 0.8000, "torch": 0.9050, "disputed": {"train_accuracy": ("90.50 %", "why")}}, "NO", True),   # regressed
    ({"numpy": 0.5, "torch": 0.5, "quick": True}, "n/a", False),
    ({"numpy": 0.5, "torch": 0.5, "course": False}, "n/a", False),
    ({"numpy": 0.5, "torch": 0.5, "dtype": "float32"}, "n/a", False),
])
def test_a_report_row_is_reproduced_chaotic_disputed_or_missed(kwargs, cell, missed):
    result, row = _result(**kwargs)
    assert report.figure_match(result, row, "train_accuracy") == (cell, missed)
    assert bool(report.missed_figures(result)) is missed
    assert report.figure_match(result, row, "test_accuracy") == ("", False)


def test_run_exits_1_when_a_published_figure_is_missed(tmp_path, monkeypatch):
    """A variant of the real catalog whose published figure is not what the run gives: the report says
    NO and the command fails (the run at the full budget, its data declared the course's)."""
    fake = dataclasses.replace(EXPERIMENTS["autograd_basics"], claims=(), load=lambda settings: _course_points())
    wrong = [dataclasses.replace(v, published={"final_cost": "1.0"}) for v in fake.variants(_settings())][:1]
    monkeypatch.setitem(EXPERIMENTS, "autograd_basics", dataclasses.replace(fake, variants=lambda s: wrong))
    status, out, err = main("run", "autograd_basics", "--logdir", tmp_path, "--device", "cpu")
    assert status == 1
    assert "published figure missed: autograd_basics: plain final_cost: published 1.0, numpy " in err
    assert re.search(r"final_cost +1.0 +\S+ +\S+ +\S+ +NO\b", out), out


def _course_points():
    """A stand-in 'course data set' for the fake experiment above: it has no data of its own, and
    figures are only judged on course data."""
    return type("Data", (), {"source": "test", "course_data": True})()


# --- the command ---------------------------------------------------------------------------------


def test_fidelity_needs_the_course_files_before_any_work(tmp_path):
    (tmp_path / "course_toy_sets.h5").write_bytes(b"")
    status, out, err = main("fidelity", "--data-dir", tmp_path, "--logdir", tmp_path / "runs")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith(f"error: {tmp_path}: train_catvnoncat.h5, test_catvnoncat.h5 not found")
    assert not (tmp_path / "runs").exists()
    status, _, err = main("fidelity", "softmax_svm", "--logdir", tmp_path / "runs")
    assert status == 2 and "no published figures in ['softmax_svm']" in err


def test_fidelity_reproduces_the_logistic_regression_figures(tmp_path):
    """The cat-image logistic regression at its full budget (2000 iterations), both sides: the costs
    the course prints for iterations 0 and 100 and its train/test accuracies."""
    course_data_dir()
    status, out, err = cli_run("fidelity", "logistic_cat", "--logdir", tmp_path, "--device", "cpu")
    assert status == 0, err
    rows = {line.split()[2]: line.split() for line in out.splitlines() if line.strip().startswith("logistic_cat")}
    assert set(rows) == {"cost_epoch_0", "cost_epoch_100", "train_accuracy", "test_accuracy"}
    assert rows["cost_epoch_100"][3:] == ["0.584508", "0.584508", "0.584508", "reproduced"]
    assert rows["train_accuracy"][3:] == ["99.04", "%", "99.04", "%", "99.04", "%", "reproduced"]
    assert "4 published figures, 1 experiments" in out and "4 reproduced on both sides" in out and "0 missed" in out
    result = json.loads((tmp_path / "results.json").read_text())["logistic_cat"]
    assert [row["variant"] for row in result["variants"]] == ["lr0.005"] and not result["settings"]["quick"]
