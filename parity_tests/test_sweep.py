"""``python -m experiments sweep`` on Ray Tune (experiments.sweep, experiments.sweep_trial).

Sweeps of hyperparameter_search --quick (5 epochs a side), each through the real command in a
subprocess with a time bound, every Ray process stopped at the end:

    embedded   4 random trials on an embedded Ray with 2 workers (RAY_TMPDIR: its session in a
               temporary directory of its own, removed after, not one more in /tmp/ray)
    head       a Ray head started with `ray start` (its own short --temp-dir: Ray's socket paths
               have a ~107 character limit; its processes, those naming that directory, ended in a
               finally: `ray stop` would end every Ray of the machine),
               joined with --address (joining costs far less than starting an embedded Ray):
               8 random trials under ASHA; then the 4 trials of the embedded sweep, interrupted
               by SIGINT once a trial has finished, then resumed (--resume): the resumed sweep
               completes the rest and never reruns a trial Tune had recorded as finished

The facts checked come from outside the code under test where they can: TensorBoard's own
reader (EventAccumulator) for the epochs each run logged and the hparams it wrote, Ray's
ExperimentAnalysis for the trials Tune recorded as finished, the files' modification times for
what a resumed sweep wrote, the declared ranges of the course's advice for the draws. About 75 s
on 2 cores (most of it Ray starting: an embedded ray.init takes ~3.5 s, `ray start` ~8 s).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

from parity_tests.checker.comparison import TOLERANCES
from parity_tests.conftest import REPO

EXPERIMENT = "hyperparameter_search"
RAY = Path(sys.executable).with_name("ray")
TRIALS, ASHA_TRIALS = 4, 8


def sweep_command(*args) -> list:
    return [sys.executable, "-m", "experiments", "sweep", *map(str, args)]


def root_of(logdir: Path) -> Path:
    return logdir / "sweeps" / EXPERIMENT


def trial_dirs(root: Path) -> list:
    return sorted(d for d in root.iterdir() if d.name.startswith("trial-"))


def events(run_dir: Path) -> ea.EventAccumulator:
    acc = ea.EventAccumulator(str(run_dir), size_guidance={ea.SCALARS: 0})
    acc.Reload()
    return acc


def logged_epochs(run_dir: Path) -> int:
    """The epochs a run logged: the steps of its accuracy/train/epoch scalar (one per epoch)."""
    acc = events(run_dir)
    [tag] = [t for t in acc.Tags()["scalars"] if t.endswith("/accuracy/train/epoch")]
    return len({event.step for event in acc.Scalars(tag)})


def run_metric(run_dir: Path, metric: str) -> float:
    """The value of ``metric`` a run logged in its HParams summary (<experiment>/hparams/<metric>/run)."""
    acc = events(run_dir)
    [tag] = [t for t in acc.Tags()["scalars"] if t.endswith(f"/hparams/{metric}/run")]
    return acc.Scalars(tag)[-1].value


def session_hparams(run_dir: Path) -> dict:
    """The HParams session a run wrote: {hparam: value}."""
    content = events(run_dir).PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    return {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in start.hparams.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_env(temp: str) -> dict:
    """This environment with Ray's temporary files under ``temp`` (RAY_TMPDIR: an embedded Ray's
    sessions, a driver's lock files), not in the shared /tmp/ray, where each run left a session."""
    return {**os.environ, "RAY_TMPDIR": temp}


def _names(proc: Path, mark: str) -> bool:
    if mark.encode() in (proc / "cmdline").read_bytes():
        return True
    # Ray's agents rename themselves (ray::DashboardAgent): their open log files still name it
    return any(os.readlink(fd).startswith(mark) for fd in (proc / "fd").iterdir())


def processes_naming(temp: str) -> list:
    """The ids of the processes whose command line or open files name the directory ``temp``:
    those of a Ray cluster whose temporary directory it is (each logs in its session there)."""
    mark = temp.rstrip("/") + "/"
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and int(proc.name) != os.getpid() and _names(proc, mark):
                pids.append(int(proc.name))
        except OSError:   # it ended meanwhile, or is not ours to read
            pass
    return pids


def stop_ray_under(temp: str) -> list:
    """End the Ray processes of the cluster in ``temp`` (SIGTERM, then SIGKILL after 2 s: Ray's
    agents ignore SIGTERM, so a longer grace only waits), and only those: `ray stop` ends every Ray
    process of the machine, a developer's own sweep or cluster included. Returns those still there
    (none, unless they could not be ended)."""
    for sig, grace in ((signal.SIGTERM, 2), (signal.SIGKILL, 10)):
        for pid in processes_naming(temp):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + grace
        while processes_naming(temp) and time.monotonic() < deadline:
            time.sleep(0.1)
    return processes_naming(temp)


def interrupted_and_resumed(logdir: Path, address: str, env: dict) -> tuple:
    """A 4-trial random sweep on ``address``, interrupted by SIGINT once a trial has written its
    row, then resumed: ((status, stderr) of the interrupted command, the trials Ray's
    ExperimentAnalysis records as finished then, their checkpoints' os.stat then, the resume's
    CompletedProcess)."""
    from ray.tune import ExperimentAnalysis

    root = root_of(logdir)
    proc = subprocess.Popen(sweep_command(EXPERIMENT, "--trials", TRIALS, "--quick", "--address", address, "--logdir",
                                          logdir), cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(root.glob("trial-*/row.json")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    finished = {Path(trial.path).name for trial in ExperimentAnalysis(str(root / "tune")).trials
                if trial.status == "TERMINATED"}
    before = {name: [os.stat(p) for p in sorted((root / name).glob("*/checkpoint.h5"))] for name in finished}
    done = subprocess.run(sweep_command("--resume", root, "--address", address), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=90)
    return (proc.returncode, err), finished, before, done


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A 4-trial random sweep on an embedded Ray of 2 workers: (CompletedProcess, root). Its Ray
    keeps its session in a temporary directory of its own, removed at the end with any process of
    that Ray still there (a sweep killed by its time bound leaves them)."""
    logdir = tmp_path_factory.mktemp("embedded")
    temp = tempfile.mkdtemp(prefix="r", dir="/tmp")   # short: Ray's socket paths live under it
    try:
        done = subprocess.run(sweep_command(EXPERIMENT, "--trials", TRIALS, "--quick", "--workers", 2, "--logdir",
                                            logdir), cwd=REPO, env=ray_env(temp), capture_output=True, text=True,
                              timeout=90)
        sessions = list(Path(temp).glob("ray/session_*"))
    finally:
        left = stop_ray_under(temp)
        shutil.rmtree(temp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sessions, "the embedded Ray kept its session in its own temporary directory"
    assert not left, f"processes of the embedded Ray left running: {left}"
    return done, root_of(logdir)


@pytest.fixture(scope="module")
def head(tmp_path_factory):
    """A Ray head of 2 CPUs started with `ray start` (not from the checkout, no PYTHONPATH: the
    trials import the project through the sweep's runtime environment), and on it an ASHA sweep
    of 8 trials, then interrupted_and_resumed: {"asha": (CompletedProcess, root), "resume":
    (interrupted_and_resumed's tuple, root)}."""
    temp = tempfile.mkdtemp(prefix="r", dir="/tmp")   # short: Ray's socket paths live under it
    port = free_port()
    address = f"127.0.0.1:{port}"   # Ray takes 127.0.0.1 as this machine's address, where the head listens
    env = {k: v for k, v in ray_env(temp).items() if k != "PYTHONPATH"}
    asha, resume = tmp_path_factory.mktemp("asha"), tmp_path_factory.mktemp("resume")
    try:
        subprocess.run([RAY, "start", "--head", "--port", str(port), "--num-cpus", "2", "--include-dashboard",
                        "false", "--disable-usage-stats", "--temp-dir", temp], cwd=temp, env=env, check=True,
                       capture_output=True, timeout=60)
        done = subprocess.run(sweep_command(EXPERIMENT, "--trials", ASHA_TRIALS, "--quick", "--scheduler", "asha",
                                            "--address", address, "--logdir", asha),
                              cwd=REPO, env=ray_env(temp), capture_output=True, text=True, timeout=120)
        resumed = interrupted_and_resumed(resume, address, ray_env(temp))
    finally:
        left = stop_ray_under(temp)   # this head's processes, not every Ray of the machine (`ray stop`)
        shutil.rmtree(temp, ignore_errors=True)
    assert not left, f"processes of the head left running: {left}"
    assert done.returncode == 0, done.stderr[-3000:]
    return {"asha": (done, root_of(asha)), "resume": (resumed, root_of(resume))}


def test_an_interrupted_sweep_resumes_without_rerunning_finished_trials(head):
    ((rc, err), finished, before, done), root = head["resume"]
    assert rc == 130, err[-2000:]
    assert f"--resume {root}" in err
    assert 1 <= len(finished) < TRIALS, "the interrupt must leave some trials done and some not"
    assert done.returncode == 0, done.stderr[-3000:]
    for name, stats in before.items():   # written once: the resumed sweep left them as they were
        assert len(stats) == 2
        after = [os.stat(p) for p in sorted((root / name).glob("*/checkpoint.h5"))]
        assert [(s.st_ino, s.st_mtime_ns) for s in after] == [(s.st_ino, s.st_mtime_ns) for s in stats]
    summary = json.loads((root / "sweep.json").read_text())
    assert [t["status"] for t in summary["trials"]] == ["finished"] * TRIALS


def test_each_trial_runs_both_sides_and_they_agree(embedded):
    done, root = embedded
    summary = json.loads((root / "sweep.json").read_text())
    dirs = trial_dirs(root)
    assert len(dirs) == TRIALS == len(summary["trials"])
    tol = TOLERANCES["float64"].rtol
    for trial in dirs:
        numpy_, torch_ = session_hparams(trial / "numpy"), session_hparams(trial / "torch")
        assert (numpy_["impl"], torch_["impl"]) == ("numpy", "torch")
        assert {k: v for k, v in numpy_.items() if k != "impl"} == {k: v for k, v in torch_.items() if k != "impl"}
        # the course's advice: lr = 10^U(-4, 0), beta = 1 - 10^U(-3, -1)
        assert -4 <= math.log10(numpy_["lr"]) <= 0 and -3 <= math.log10(1 - numpy_["beta"]) <= -1
        assert numpy_["hidden_units"] in range(2, 21)   # an integer axis: the first hidden layer's width
        assert json.loads((trial / "row.json").read_text())["hparams"]["hidden_units"] == numpy_["hidden_units"]
        assert logged_epochs(trial / "numpy") == logged_epochs(trial / "torch") == numpy_["epochs"]
        row = json.loads((trial / "row.json").read_text())   # the runner's own pair row of the trial
        a, b = row["metrics"]["numpy"]["dev_cost"], row["metrics"]["torch"]["dev_cost"]
        assert abs(a - b) <= tol * abs(a)
    by_name = {t["trial"]: t for t in summary["trials"]}
    costs = {d.name: json.loads((d / "row.json").read_text())["metrics"]["numpy"]["dev_cost"] for d in dirs}
    assert {name: by_name[name]["numpy"] for name in costs} == costs
    # each column is its side's own run, as TensorBoard read it (float32 scalars)
    for trial in dirs:
        for impl in ("numpy", "torch"):
            assert by_name[trial.name][impl] == pytest.approx(run_metric(trial / impl, "dev_cost"), rel=1e-6)
    assert summary["best"]["trial"] == min(costs, key=costs.get)
    assert "best: " + min(costs, key=costs.get) in done.stdout
    # the custom-scalars layout charts the trials (cost, divergence) and nothing else: no chart for tune/
    for trial in dirs:
        config = events(trial / "torch").Tensors("custom_scalars__config__")[-1].tensor_proto.string_val[0]
        charts = layout_pb2.Layout.FromString(config).category[0].chart
        assert sorted({c.title.split(":")[0] for c in charts}) == [d.name for d in dirs] and len(charts) == 2 * TRIALS


def test_asha_stops_trials_early_and_counts_the_epochs_they_logged(head):
    done, root = head["asha"]
    dirs = trial_dirs(root)
    assert len(dirs) == ASHA_TRIALS
    finished = [d for d in dirs if (d / "torch").is_dir()]
    stopped = [d for d in dirs if not (d / "torch").is_dir()]
    assert finished and stopped, "ASHA stops some trials (the torch side of a stopped trial never runs)"
    budget_epochs = logged_epochs(finished[0] / "numpy")   # a finished run logs its whole budget
    logged = sum(logged_epochs(d / impl) for d in dirs for impl in ("numpy", "torch") if (d / impl).is_dir())
    assert all(logged_epochs(d / "numpy") < budget_epochs for d in stopped)
    budget = 2 * budget_epochs * ASHA_TRIALS
    saved = round(100 * (1 - logged / budget))
    assert f"ASHA ran {logged} of {budget} epochs ({saved} % of the budget saved)" in done.stdout
    summary = json.loads((root / "sweep.json").read_text())
    statuses = {t["trial"]: t["status"] for t in summary["trials"]}
    assert {d.name for d in stopped} == {n for n, s in statuses.items() if s == "stopped by ASHA"}
    # the table: finished trials first, by the metric
    costs = [t["numpy"] for t in summary["trials"] if t["status"] == "finished"]
    assert costs == sorted(costs)


def test_the_same_seed_draws_the_same_trials(embedded, head):
    """Random search is seeded from --seed: the same command draws the same trials, on an embedded
    Ray or a cluster, interrupted or not; and the ASHA sweep's first 4 are those too."""
    def draws(root):
        return {d.name: (session_hparams(d / "numpy")["lr"], session_hparams(d / "numpy")["beta"])
                for d in trial_dirs(root)}
    first = draws(embedded[1])
    assert draws(head["resume"][1]) == first
    assert {name: draws(head["asha"][1])[name] for name in first} == first


# --- the search spaces as Tune sees them ------------------------------------------------------------------

def _plan(search: str, trials: int):
    from experiments import sweep
    return sweep.Plan(EXPERIMENT, trials, search, "none", 0, "float64", True, "/tmp", None, "/tmp/none")


def test_grid_is_log_even_per_axis_and_takes_k_to_the_d_trials():
    from experiments import sweep
    space, _ = sweep.tuner_parts(_plan("grid", 27))   # 3 axes: lr, 1 - beta, hidden units
    assert space["lr"]["grid_search"] == pytest.approx([1e-4, 1e-2, 1.0])
    assert space["one_minus_beta"]["grid_search"] == pytest.approx([1e-3, 1e-2, 1e-1])
    assert space["hidden_units"]["grid_search"] == [2, 11, 20]
    with pytest.raises(ValueError, match=r"--trials 8, 27, 64"):
        sweep.tuner_parts(_plan("grid", 9))


def test_tpe_suggests_configurations_in_the_declared_ranges():
    from experiments import sweep
    space, config = sweep.tuner_parts(_plan("tpe", 3))
    searcher = config.search_alg
    assert searcher.set_search_properties("dev_cost", "min", space)
    for k in range(3):
        suggested = searcher.suggest(f"t{k}")
        assert 1e-4 <= suggested["lr"] <= 1 and 1e-3 <= suggested["one_minus_beta"] <= 1e-1


# --- bad input, and Ray kept out of the other commands ----------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (["nope", "--trials", "2"], "'nope' has no search space"),
    (["initialisation", "--trials", "2"], "the experiments that have one: ['hyperparameter_search'"),
    ([EXPERIMENT, "--trials", "0"], "--trials must be an integer >= 1"),
    ([EXPERIMENT], "--trials N is required"),
    ([], "required: NAME"),
    ([EXPERIMENT, "--trials", "2", "--search", "bayes"], "--search must be one of random, grid, tpe"),
    ([EXPERIMENT, "--trials", "2", "--scheduler", "hyperband"], "--scheduler must be one of none, asha"),
    ([EXPERIMENT, "--trials", "5", "--search", "grid"], "--search grid runs k^3 trials"),
    ([EXPERIMENT, "--trials", "2", "--address", "auto", "--workers", "2"], "--workers is for the embedded Ray"),
    ([EXPERIMENT, "--trials", "2", "--workers", "0"], "--workers must be an integer >= 1"),
])
def test_bad_input_is_one_error_line_and_status_2(args, says, capsys, tmp_path):
    from experiments import cli
    assert cli.main(["sweep", *args, "--logdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "sweeps").exists()   # nothing claimed before the checks


def test_resume_of_a_directory_that_is_not_a_sweep_is_status_2(capsys, tmp_path):
    from experiments import cli
    assert cli.main(["sweep", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume") and "not a sweep directory" in err and err.count("\n") == 1


def test_list_and_run_do_not_import_ray(tmp_path):
    code = ("import sys; from experiments import cli; assert cli.main(['list']) == 0; "
            f"assert cli.main(['run', 'autograd_basics', '--quick', '--logdir', {str(tmp_path)!r}]) == 0; "
            "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray was imported'")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    from experiments import cli
    assert re.search(r"^ *sweep ", cli.build_parser().format_help(), re.M)   # what --help prints


# --- fixes: checks made before a sweep claims its root or starts Ray, and the summary's arithmetic ---------

def _no_ray(monkeypatch):
    """experiments.sweep with ray.init replaced by a failure: a check must come before Ray starts."""
    from experiments import sweep

    def start_ray(workers, address):
        raise AssertionError("Ray started before the input was checked")
    monkeypatch.setattr(sweep, "start_ray", start_ray)
    return sweep


@pytest.mark.parametrize("axis, says", [("int", "an integer grid over 1..2 takes 2 to 2 values, got 3"),
                                        ("choice", "a grid over the choice")])
def test_a_grid_an_axis_cannot_take_is_bad_input_before_ray_starts(axis, says, monkeypatch, capsys, tmp_path):
    """k^d is not enough: an IntRange narrower than k, or a Choice of another size than k, cannot
    take a k-point grid (was: the root claimed, Ray started, then a traceback from tuner_parts)."""
    import dataclasses

    from experiments import search
    sweep = _no_ray(monkeypatch)
    base = sweep.EXPERIMENTS[EXPERIMENT]
    other = search.IntRange(1, 2) if axis == "int" else search.Choice(("a", "b"))
    space = dataclasses.replace(base.space, axes={"lr": search.LogUniform(-4, 0), "other": other})
    monkeypatch.setitem(sweep.EXPERIMENTS, "fake", dataclasses.replace(base, name="fake", space=space))
    assert sweep.main(["fake", "--trials", "9", "--search", "grid", "--logdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --search grid") and err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize("args, says", [
    (["--address", "", "--trials", "2"], "--address must be auto or HOST:PORT"),
    (["--address", "127.0.0.1", "--trials", "2"], "--address must be auto or HOST:PORT"),
    (["--address", "host:99999", "--trials", "2"], "--address must be auto or HOST:PORT"),
    # nobody listens there (was: ray.init retried it for minutes, after the root was claimed)
    (["--address", f"127.0.0.1:{free_port()}", "--trials", "2"], "no Ray head answers there"),
])
def test_a_malformed_address_is_bad_input_before_ray_starts(args, says, monkeypatch, capsys, tmp_path):
    sweep = _no_ray(monkeypatch)
    assert sweep.main([EXPERIMENT, *args, "--logdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and says in err, err
    assert not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize("option", [["--scheduler", "asha"], ["--search", "tpe"], ["--seed", "3"], ["--quick"],
                                    ["--logdir", "elsewhere"], ["--dtype", "float32"]])
def test_resume_refuses_the_options_it_would_ignore(option, monkeypatch, capsys, tmp_path):
    """A resumed sweep runs its saved plan: an option that would change it is refused, not ignored."""
    sweep = _no_ray(monkeypatch)
    assert sweep.main(["--resume", str(tmp_path), *option]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --resume") and f"drop {option[0]}" in err and err.count("\n") == 1, err


class _Result:
    """What summarise reads of a Tune result."""

    def __init__(self, path, config, metrics, error=None):
        self.path, self.config, self.metrics, self.error = str(path), config, metrics, error


def _summary_of(tmp_path, trials: dict, mode="min"):
    """summarise over fake results {name: dev_cost, "stopped:<epochs>:<cost>" or "error"} of a
    hyperparameter_search --quick plan (E = 5 epochs a side)."""
    import dataclasses

    from experiments import sweep
    root = tmp_path / "root"
    grid = []
    for k, (name, outcome) in enumerate(trials.items()):
        config = {"lr": 10.0 ** -(k + 1), "one_minus_beta": 0.01, "hidden_units": 10}
        (root / name / "numpy").mkdir(parents=True)
        if outcome == "error":
            grid.append(_Result(root / name, config, {}, error=RuntimeError("boom")))
        elif isinstance(outcome, str):
            _, epochs, cost = outcome.split(":")
            grid.append(_Result(root / name, config, {"epoch": int(epochs), "dev_cost": float(cost)}))
        else:
            hparams = {"lr": config["lr"], "beta": 0.99, "hidden_units": 10}
            (root / name / "torch").mkdir()
            parted = {"parted_at": 40} if name == "trial-parts" else {}   # the runner's pair row of a chaotic trial
            (root / name / "row.json").write_text(json.dumps(
                {"variant": name, "hparams": hparams, "published": {}, "chaos": None, "disputed": {},
                 "metrics": {"numpy": {"dev_cost": outcome}, "torch": {"dev_cost": outcome}}, "divergence": parted}))
            grid.append(_Result(root / name, config, {"epoch": 6, "dev_cost": outcome, "numpy": outcome,
                                                      "torch": outcome, "difference": 0.0, "finished": True}))
    plan = sweep.Plan(EXPERIMENT, len(trials), "random", "asha", 0, "float64", True, str(tmp_path), None, str(root))
    if mode == "max":
        experiment = sweep.EXPERIMENTS[EXPERIMENT]
        space = dataclasses.replace(experiment.space, mode="max")
        plan = dataclasses.replace(plan, experiment="fake")
        sweep.EXPERIMENTS["fake"] = dataclasses.replace(experiment, name="fake", space=space)
        try:
            return sweep.summarise(plan, grid)
        finally:
            del sweep.EXPERIMENTS["fake"]
    return sweep.summarise(plan, grid)


def test_an_errored_trial_is_not_budget_saved(tmp_path):
    """ASHA's saving is of the trials it stopped: a trial that raised is out of the budget (was:
    its 2 E epochs counted as saved, 50 % here where nothing was saved)."""
    summary = _summary_of(tmp_path, {"trial-0": 0.5, "trial-1": "error"})
    assert summary["epochs"] == {"run": 10, "budget": 10, "saved": 0.0}
    summary = _summary_of(tmp_path / "b", {"trial-0": 0.5, "trial-1": "stopped:2:0.9", "trial-2": "error"})
    assert summary["epochs"] == {"run": 12, "budget": 20, "saved": 1 - 12 / 20}


@pytest.mark.parametrize("mode, best", [("min", "trial-2"), ("max", "trial-1")])
def test_the_best_trial_is_never_a_diverged_one(mode, best, tmp_path):
    """A NaN metric (a diverged trial) sorts last: NaN compares false both ways, so sorting by it
    left the NaN trial first and chose it as the best."""
    summary = _summary_of(tmp_path, {"trial-0": math.nan, "trial-1": 0.5, "trial-2": 0.3}, mode)
    assert summary["best"]["trial"] == best
    assert [t["trial"] for t in summary["trials"]][-1] == "trial-0"


def test_a_trial_whose_sides_part_is_said_so(tmp_path):
    """A finished trial whose pair row says its costs part (chaotic at its hyperparameters) shows
    the iteration under "parts at", and a line names it; a trial whose sides agree shows "-"."""
    from experiments import sweep
    summary = _summary_of(tmp_path, {"trial-0": 0.5, "trial-parts": 0.7})
    assert {r["trial"]: r["parted_at"] for r in summary["trials"]} == {"trial-0": None, "trial-parts": 40}
    plan = sweep.Plan(EXPERIMENT, 2, "random", "asha", 0, "float64", True, str(tmp_path), None, str(tmp_path))
    text = sweep.table(plan, summary)
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("trial-")}
    head = next(line for line in text.splitlines() if line.startswith("trial "))
    column = re.split(r"\s{2,}", head.strip()).index("parts at")
    assert rows["trial-parts"][column] == "40" and rows["trial-0"][column] == "-"
    assert "NumPy and torch part in 1 of 2 trials (trial-parts): their costs differ by more than 1e-06" in text
