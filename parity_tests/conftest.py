"""Shared fixtures: the devices the torch side is checked on, and the course data."""

import os
from pathlib import Path

import pytest
import torch

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


@pytest.fixture(scope="session")
def data_dir():
    """The course's HDF5 files: $TWINPROP_DATA_DIR, else ../shared/data beside the repo."""
    path = Path(os.environ.get("TWINPROP_DATA_DIR", REPO.parent / "shared" / "data"))
    if not (path / "train_catvnoncat.h5").is_file():
        pytest.skip(f"course data not found in {path} (set TWINPROP_DATA_DIR)")
    return path
