"""Shared fixtures: the devices the torch side is checked on, the course data, and one
``run all --quick`` of the experiments that every experiment test file reads."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from experiments import datasets

REPO = Path(__file__).resolve().parents[1]

# Parity tensors are tiny: with more threads every reduction hands work to an
# OpenMP team, which on a busy 2-core machine costs milliseconds per call.
torch.set_num_threads(1)

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """Every parity test that takes ``device`` runs on the CPU and, when present, on CUDA."""
    return request.param


def course_data_dir() -> Path:
    """The folder of the course's HDF5 files the experiments read by default ($TWINPROP_DATA_DIR,
    else the shipped experiments/data); the calling test skips, with the reason, when a file is
    missing there."""
    try:
        return datasets.require_course_files(datasets.resolve_data_dir())
    except (datasets.DataError, ValueError) as missing:
        pytest.skip(f"the course's data is needed: {missing}")


@pytest.fixture(scope="session")
def data_dir():
    """The course's HDF5 files (course_data_dir)."""
    return course_data_dir()


@pytest.fixture(scope="session")
def quick_all(tmp_path_factory):
    """``python -m experiments run all --quick`` once for the session, through the real command in
    a subprocess (the path users take; it gives NumPy its one BLAS thread), RuntimeWarnings as
    errors: (exit status, stdout, stderr, results.json, logdir)."""
    logdir = tmp_path_factory.mktemp("quick")
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "experiments", "run", "all", "--quick",
                           "--device", "cpu", "--logdir", str(logdir)], cwd=REPO, capture_output=True, text=True,
                          timeout=1800)
    if not (logdir / "results.json").is_file():
        pytest.fail(f"run all --quick wrote no results (status {done.returncode}):\n{done.stderr[-3000:]}")
    return done.returncode, done.stdout, done.stderr, json.loads((logdir / "results.json").read_text()), logdir
