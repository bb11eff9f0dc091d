"""Parallel runs (experiments.parallel, ``run --jobs N``): the same bits as the sequential run,
a clean Ctrl-C, --jobs checked.

- ``run logistic_cat regularisation bias_variance --quick`` at --jobs 1 (the sequential run, in
  one process) and the session's ``run all --quick`` (conftest.quick_all: every core, two spawned
  workers on this machine; shared so the suite runs these experiments once more, not twice): every
  TensorBoard scalar and histogram of every run directory, every final checkpoint's parameters and
  optimiser state, and results.json (metrics, divergences, claims; all but the seconds and the
  paths) are bitwise equal. The three
  cover the 25 MB cat images sent to the workers, dropout's seeded masks and an experiment whose
  variants share Trial.context (bias_variance's table, in variant order);
- Ctrl-C on a run of two long trials at --jobs 2: each worker finishes its epoch, saves, and the
  command exits with 130 naming both checkpoints and their --resume commands, no traceback, no
  worker left running.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea

from experiments import checkpoint, cli, parallel
from experiments.catalog import EXPERIMENTS

REPO = Path(__file__).resolve().parents[1]
RUN = ("logistic_cat", "regularisation", "bias_variance")
VARYING = ("seconds", "run_dir")   # result keys that differ between any two runs (timings, where they ran)


def _cli(*argv) -> list:
    return [sys.executable, "-m", "experiments", *map(str, argv)]


def _run(logdir: Path, jobs: int) -> None:
    """RUN at --quick as conftest.quick_all runs every experiment (--device cpu), at ``jobs``."""
    done = subprocess.run(_cli("run", *RUN, "--quick", "--device", "cpu", "--logdir", logdir, "--jobs", jobs),
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _plain(value):
    """A result without what varies from run to run (VARYING, the log directory in the settings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in VARYING and k != "logdir"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _bits(values) -> bytes:
    return np.asarray(values, dtype=np.float64).tobytes()


def _events(run_dir: Path) -> dict:
    """{(kind, tag): bytes of its steps and values} of every scalar and histogram in ``run_dir``."""
    acc = ea.EventAccumulator(str(run_dir), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0})
    acc.Reload()
    out = {("scalar", tag): _bits([(e.step, e.value) for e in acc.Scalars(tag)]) for tag in acc.Tags()[ea.SCALARS]}
    for tag in acc.Tags()[ea.HISTOGRAMS]:
        out["histogram", tag] = b"".join(_bits([e.step, *e.histogram_value.bucket_limit, *e.histogram_value.bucket])
                                         for e in acc.Histograms(tag))
    return out


def _checkpoint(path: Path) -> dict:
    snapshot = checkpoint.load(path)
    arrays = {**{f"params/{k}": v for k, v in snapshot.params.items()},
              **{f"optimizer/{k}": v for k, v in snapshot.optimizer["state"].items()},
              "costs": snapshot.resume.history.costs}
    return {k: (np.asarray(v).dtype.str, np.asarray(v).tobytes()) for k, v in arrays.items()}


def test_two_jobs_give_the_bits_of_the_sequential_run(tmp_path, quick_all):
    assert parallel.check_jobs(None) >= 2, "quick_all must have run in parallel workers"
    sequential, parallel_ = tmp_path / "jobs1", quick_all[4]
    _run(sequential, 1)
    together = json.loads((parallel_ / "results.json").read_text())
    assert _plain({name: together[name] for name in RUN}) == _plain(json.loads((sequential / "results.json").read_text()))
    runs = sorted(p.relative_to(sequential) for p in sequential.glob("*/*/*") if p.is_dir() and p.name in
                  ("numpy", "torch"))
    assert len(runs) == 2 * (4 + 3 + 7)
    assert runs == sorted(p.relative_to(parallel_) for name in RUN for p in parallel_.glob(f"{name}/*/*")
                          if p.is_dir() and p.name in ("numpy", "torch"))
    for run in runs:
        events = _events(sequential / run)
        assert events and _events(parallel_ / run) == events, run
        saved = sequential / run / checkpoint.FILE_NAME
        if saved.exists():
            assert _checkpoint(parallel_ / run / checkpoint.FILE_NAME) == _checkpoint(saved), run


@pytest.mark.parametrize("jobs", ["0", "-2", "two"])
def test_jobs_must_be_a_positive_integer(tmp_path, capsys, jobs):
    assert cli.main(["run", "logistic_cat", "--quick", "--logdir", str(tmp_path), f"--jobs={jobs}"]) == 2
    assert f"--jobs must be an integer >= 1, got '{jobs}'" in capsys.readouterr().err
    assert not (tmp_path / "logistic_cat").exists()


def test_jobs_default_to_the_cores_this_process_may_use():
    assert parallel.check_jobs(None) == len(os.sched_getaffinity(0))


def test_a_stand_in_for_a_catalog_experiment_runs_in_this_process():
    real = EXPERIMENTS["logistic_cat"]
    assert parallel._declared(real) and not parallel._declared(dataclasses.replace(real, claims=()))


def _children(pid: int) -> list:
    """The process ids whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_ctrl_c_saves_every_running_trial_and_leaves_no_worker(tmp_path):
    proc = subprocess.Popen(_cli("run", "optimisers", "--variant", "gd", "--variant", "adam", "--impl", "numpy",
                                 "--jobs", "2", "--checkpoint-every", "1", "--logdir", tmp_path),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    paths = [tmp_path / "optimisers" / v / "numpy" / checkpoint.FILE_NAME for v in ("gd", "adam")]
    try:
        deadline = time.monotonic() + 120
        while not all(p.exists() for p in paths):
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended or stalled before saving"
            time.sleep(0.05)
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    for path in paths:
        assert f"checkpoint saved to {path}" in err and f"python -m experiments run --resume {path.parent}" in err
        assert 1 <= checkpoint.load(path).epoch
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert workers and not any(Path(f"/proc/{pid}").exists() for pid in workers)
