"""The experiments' command line tells the truth: ``run`` fails, naming the figure, when a published
figure is missed (not for a chaotic figure within its slack or a disputed one); ``run --help`` names
the experiments and the exit statuses; ``list`` shows each variant's hyperparameters and each data
set's fallback; ``report`` names what did not run; scripts/main.sh routes its options.

The results the command reports are planted (``planted``): hand-written in the schema runner saves,
so each verdict is known in advance and no training runs."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import cli, report
from experiments.catalog import EXPERIMENTS
from parity_tests.test_experiments import main

REPO = Path(__file__).resolve().parents[1]
# the catalog, read from its files rather than from EXPERIMENTS
CATALOG = sorted(p.stem for p in (REPO / "experiments" / "catalog").glob("*.py") if p.stem != "__init__")


def planted(experiment: str, variants: dict, *, quick=False, course_data=True, failing_claim=False) -> dict:
    """A result as runner saves it: ``variants`` {name: {"published": {metric: text}, "numpy": {metric:
    value}, "torch": {...}, optionally "chaos", "disputed", "parted_at"}}; one claim, failing or not."""
    rows = [{"variant": name, "published": v.get("published", {}), "chaos": v.get("chaos"),
             "disputed": v.get("disputed", {}), "metrics": {impl: v.get(impl, {}) for impl in ("numpy", "torch")},
             "divergence": {"parted_at": v.get("parted_at")},
             "seconds": {"numpy": 1.0, "torch": 1.0}} for name, v in variants.items()]
    claim = {"text": "a planted claim", "full_budget": False,
             "verdicts": {"numpy": not failing_claim, "torch": not failing_claim}}
    return {"experiment": experiment, "claim": f"{experiment}'s claim", "dataset": "planted",
            "data_source": "planted", "course_data": course_data, "standin": False, "run_dir": f"runs/{experiment}",
            "settings": {"quick": quick, "dtype": "float64", "seed": 0},
            "devices": {"numpy": "cpu", "torch": "cpu"}, "variants": rows, "claims": [claim]}


def he(numpy: float, torch: float, **extra) -> dict:
    """initialisation's He variant with the course's published train accuracy, 99.33 %."""
    return planted("initialisation", {"he": {"published": {"train_accuracy": "99.33 %"},
                                             "numpy": {"train_accuracy": numpy}, "torch": {"train_accuracy": torch},
                                             **extra}})


MISSED = "published figure missed: initialisation: he train_accuracy: published 99.33 %, numpy 98.67 %, torch 99.33 %"
CHAOS = {"reason": "planted", "slack": 1 / 100}
DISPUTED = {"train_accuracy": ("98.67 %", "planted")}


@pytest.mark.parametrize(("result", "cell", "status", "stderr"), [
    (he(0.98667, 0.99333), "NO", 1, [MISSED]),
    (he(0.99333, 0.99333), "yes", 0, []),
    (he(0.98667, 0.99333, chaos=CHAOS, parted_at=70), "chaotic (±1.00 %, parts at 70)", 0, []),
    (he(0.97, 0.99333, chaos=CHAOS), "NO", 1,
     ["published figure missed: initialisation: he train_accuracy: published 99.33 %, numpy 97.00 %, torch 99.33 %"]),
    (he(0.98667, 0.98667, disputed=DISPUTED), "disputed", 0, []),   # what the variant records it gives
    (he(0.5, 0.5, disputed=DISPUTED), "NO", 1,                             # a disputed figure that regressed
     ["published figure missed: initialisation: he train_accuracy: published 99.33 %, numpy 50.00 %, torch 50.00 %"]),
], ids=["missed", "reproduced", "chaotic-within-slack", "chaotic-beyond-slack", "disputed", "disputed-regressed"])
def test_run_fails_and_names_each_missed_figure(tmp_path, monkeypatch, result, cell, status, stderr):
    """The report's match cell, the exit status and stderr of ``run`` for a planted result (in place of
    parallel.run_experiments' results): 1 with one line per missed figure (experiment, variant, metric,
    published, NumPy, torch); 0 otherwise."""
    monkeypatch.setattr(cli, "run_experiments", lambda *args: [result])
    code, out, err = main("run", "initialisation", "--logdir", tmp_path)
    assert (code, err.splitlines()) == (status, stderr)
    assert re.search(rf"^  he +train_accuracy +99\.33 % +\S+ % +\S+ % +{re.escape(cell)}(  |$)", out, re.MULTILINE), out


def test_run_fails_and_names_a_failed_claim(tmp_path, monkeypatch):
    result = planted("initialisation", {"he": {}}, failing_claim=True)
    monkeypatch.setattr(cli, "run_experiments", lambda *args: [result])
    code, out, err = main("run", "initialisation", "--logdir", tmp_path)
    assert (code, err) == (1, "claim failed: initialisation: a planted claim\n") and "[FAILS] a planted claim" in out


@pytest.mark.parametrize(("quick", "course_data"), [(True, True), (False, False)], ids=["quick", "not-course-data"])
def test_figures_are_not_judged_off_the_courses_run(tmp_path, monkeypatch, quick, course_data):
    """A quick budget or data that is not the course's: a figure far off is n/a, not a miss."""
    result = he(0.5, 0.5)
    result["course_data"], result["settings"]["quick"] = course_data, quick
    monkeypatch.setattr(cli, "run_experiments", lambda *args: [result])
    code, out, err = main("run", "initialisation", "--logdir", tmp_path)
    assert (code, err) == (0, "") and re.search(r"train_accuracy\s+99\.33 %\s+50\.00 %\s+50\.00 %\s+\S*\s+n/a", out)


def test_a_resumed_run_fails_on_a_missed_figure(monkeypatch, capsys):
    monkeypatch.setattr(cli, "resume_experiment", lambda plan: he(0.98667, 0.99333))
    assert cli.resume(plan=None) == 1
    assert capsys.readouterr().err.splitlines() == [MISSED]


def test_run_help_names_every_experiment_and_the_exit_statuses(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.build_parser().parse_args(["run", "--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0
    names = text.split("experiments (python -m experiments list", 1)[1].split("exit status:", 1)[0]
    assert sorted(re.findall(r"\w+", names.split("):\n", 1)[1])) == CATALOG
    statuses = dict(re.findall(r"^  (\d+) +(.+)$", text.split("exit status:", 1)[1], re.MULTILINE))
    assert set(statuses) == {"0", "1", "2", "130"}
    assert "published figure is missed" in statuses["1"] and "Ctrl-C" in statuses["130"]


# --- list ----------------------------------------------------------------------------------------


def _blocks(text: str) -> dict:
    """{experiment: {field: text}} of the list: "data", "fallback", "shared", "variants" ({variant: row})."""
    blocks = {}
    for block in text.split("\n\n")[1:]:
        head, *lines = block.splitlines()
        fields, variants = {}, {}
        for line in lines:
            key, value = line[:13].strip().rstrip(":"), line[13:]
            if key and key != "variants":
                fields[key] = value
            else:
                name, _, row = value.partition("  ")
                variants[name] = row.strip()
        blocks[head.split(":", 1)[0]] = {**fields, "variants": variants}
    return blocks


# from experiments/datasets.py: the cat files and regularization_2d have generated stand-ins; the other
# 2-D sets of course_toy_sets.h5 are generated by code as the very same points; the rest never read a file
STANDIN = {"deep_cat", "logistic_cat", "vectorisation", "regularisation"}
COURSE_POINTS = {"batch_size", "gradient_checking", "hyperparameter_search", "initialisation", "lr_decay",
                 "optimisers", "shallow_flower", "vanishing_exploding"}
GENERATED = {"batchnorm", "bias_variance", "early_stopping", "input_normalisation", "softmax_svm"}


def test_list_shows_each_data_sets_fallback():
    status, out, _ = main("list")
    blocks = _blocks(out)
    assert status == 0 and sorted(blocks) == CATALOG
    for name, block in blocks.items():
        assert f"\n{name}: {EXPERIMENTS[name].claim}\n" in f"\n{out}\n"
        assert block["data"] == EXPERIMENTS[name].dataset
        fallback = block.get("fallback", "")
        assert ("stand-in" in fallback) == (name in STANDIN), (name, fallback)
        assert ("the course's own points" in fallback) == (name in COURSE_POINTS), (name, fallback)
        assert ("no file read" in fallback) == (name in GENERATED), (name, fallback)
    assert "fallback" not in blocks["autograd_basics"]   # no data set at all


def test_list_shows_what_sets_each_variant_apart():
    """The course's optimisers: every variant at lr 0.0007 on batches of 64; Adam with its betas and eps,
    momentum with its beta, GD with neither; the quick budget shortens the epochs only."""
    full, quick = (_blocks(main("list", *flags)[1]) for flags in ((), ("--quick",)))
    optimisers = full["optimisers"]
    assert optimisers["shared"] == "lr 0.0007, batch_size 64"
    assert optimisers["variants"]["adam"] == "optimizer adam, epochs 10000, beta1 0.9, beta2 0.999, eps 1e-08"
    assert optimisers["variants"]["momentum"] == "optimizer momentum, epochs 10000, beta 0.9"
    assert optimisers["variants"]["gd"] == "optimizer gd, epochs 10000"
    assert full["initialisation"]["variants"] == {"zeros": "init zeros", "large": "init large", "he": "init he"}
    assert quick["optimisers"]["variants"]["gd"].startswith("optimizer gd, epochs ")
    assert quick["optimisers"]["variants"]["gd"] != optimisers["variants"]["gd"]
    assert quick["optimisers"]["shared"] == optimisers["shared"]
    assert full["softmax_svm"]["variants"]["score-example"] == "(no hyperparameters)"


def test_list_gives_every_hyperparameter_of_every_variant_once():
    """Each variant's hyperparameters are its row's plus the shared line, no more, no less."""
    blocks = _blocks(main("list")[1])

    def keys(text: str) -> list:   # "lr 0.3, layers [2, 20, 3, 1]" -> ["lr", "layers"]
        return [pair.split(" ", 1)[0] for pair in re.split(r", (?=[A-Za-z_]\w* )", text)] if text else []

    for name, experiment in EXPERIMENTS.items():
        shared = keys(blocks[name].get("shared", ""))
        for variant in experiment.variants(cli.Settings()):
            row = blocks[name]["variants"][variant.name]
            given = shared + keys(row) if variant.hparams else []
            assert sorted(given) == sorted(variant.hparams), (name, variant.name, row)


# --- report ----------------------------------------------------------------------------------------


def test_report_names_the_experiments_and_variants_that_did_not_run(tmp_path):
    """A results.json that an interrupted run left: initialisation complete, optimisers with gd only,
    every other experiment absent."""
    results = {"initialisation": planted("initialisation", {v: {} for v in ("zeros", "large", "he")}),
               "optimisers": planted("optimisers", {"gd": {}})}
    (tmp_path / "results.json").write_text(json.dumps(results))
    status, out, err = main("report", "--logdir", tmp_path)
    assert (status, err) == (0, "")
    assert out.startswith("initialisation: initialisation's claim\n")
    absent = [n for n in CATALOG if n not in results]
    missing = report.not_run(results)
    assert missing == [f"experiments: {', '.join(n for n in EXPERIMENTS if n in absent)}",
                       ("optimisers: 1 of 6 variants ran (gd); not run: momentum, adam, gd-5000, momentum-5000, "
                        "adam-5000")]
    assert sorted(missing[0].split(": ", 1)[1].split(", ")) == absent
    shown = out.split("\n\ndid not run:\n", 1)[1]
    assert " ".join(shown.split()) == " ".join(missing) and max(map(len, shown.splitlines())) <= 100


def test_a_complete_set_of_results_has_nothing_missing():
    results = {name: planted(name, {v.name: {} for v in e.variants(cli.Settings(quick=True))}, quick=True)
               for name, e in EXPERIMENTS.items()}
    assert report.not_run(results) == []
    assert "did not run" not in report.format_results(results)


# --- scripts/main.sh ---------------------------------------------------------------------------------


@pytest.fixture
def main_sh(tmp_path):
    """scripts/main.sh in a tree whose setup is a no-op and whose .venv/bin/python logs its arguments
    (one JSON list per call) and exits with $PARITY_STATUS for the parity table: (status, stderr, calls)."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "main.sh").write_text((REPO / "scripts" / "main.sh").read_text())
    (tmp_path / "scripts" / "setup.sh").write_text("")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                      "with open(os.path.join(os.path.dirname(__file__), 'calls'), 'a') as log:\n"
                      "    log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
                      "sys.exit(int(os.environ['PARITY_STATUS']) if sys.argv[2] == 'parity_tests.report' else 0)\n")
    python.chmod(0o755)

    def call(*args, parity_status=0):
        python.with_name("calls").unlink(missing_ok=True)
        done = subprocess.run(["bash", str(tmp_path / "scripts" / "main.sh"), *args], capture_output=True,
                              text=True, env={**os.environ, "PARITY_STATUS": str(parity_status)}, timeout=60,
                              check=False)
        calls = python.with_name("calls")
        return done.returncode, done.stderr, [json.loads(line) for line in calls.read_text().splitlines()] \
            if calls.exists() else []
    return call


def test_main_sh_passes_its_options_to_the_experiments_too(main_sh):
    parity, experiments = ["-m", "parity_tests.report"], ["-m", "experiments", "run", "all", "--quick"]
    assert main_sh() == (0, "", [parity, experiments])
    status, _, calls = main_sh("--device", "cpu", "--seed", "3", "--verbose", "--dtype=float32", "--logdir", "/x y")
    assert status == 0 and calls == [
        [*parity, "--device", "cpu", "--verbose", "--dtype=float32"],
        [*experiments, "--device", "cpu", "--seed", "3", "--dtype=float32", "--logdir", "/x y"]]


def test_main_sh_stops_on_a_failing_parity_table_and_on_a_missing_value(main_sh):
    assert main_sh(parity_status=1) == (1, "", [["-m", "parity_tests.report"]])
    status, err, calls = main_sh("--device")
    assert (status, calls) == (2, []) and err == "error: --device needs a value\n"
