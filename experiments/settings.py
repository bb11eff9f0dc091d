"""What the command line chooses, checked (Settings, make_settings), and the torch set-up and
the description of the device each implementation runs on: configure_torch's deterministic
settings for CUDA parity runs, and what a run records about its environment (library versions,
device, determinism).

CUDA and determinism: the NumPy side and torch on the CPU (one intra-op thread, the runner's
choice) give the same bits for the same seed, run after run. On CUDA, cuBLAS may split a matrix
product differently from run to run (its workspace and stream scheduling), cuDNN picks
algorithms by benchmarking, some kernels accumulate with atomic adds (index_add, scatter_add,
the backward of some gathers), and TF32 rounds float32 products to 10-bit mantissas. For parity
runs configure_torch turns off TF32 and cuDNN's benchmarking, makes cuDNN deterministic, asks
torch for deterministic algorithms (warn_only: an operation without one warns instead of failing)
and sets CUBLAS_WORKSPACE_CONFIG=:4096:8, which cuBLAS reads when CUDA first creates its handle
(so before the first product on the device). Even so, results on CUDA are reproducible on the
same GPU, driver and library versions only, not across GPUs; the summary of every run records
the versions, the device and these settings.
"""

from __future__ import annotations

import argparse
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from reference_torch import bridge
from scratch_numpy.validation import check_choice

from .datasets import resolve_data_dir

IMPLS = ("numpy", "torch")


class CheckedParser(argparse.ArgumentParser):
    """argparse that raises a ValueError instead of exiting: every command line of the experiments
    (run, sweep, bench, the torchrun entry) turns it into one "error:" line and status 2, and
    experiments.ddp.launch checks its arguments before it starts a process."""

    def error(self, message):
        raise ValueError(message)


@dataclass(frozen=True)
class Settings:
    """What the command line chooses. ``device`` is the torch side's (resolved: never 'auto');
    the NumPy side always runs on the CPU. ``seed`` draws whatever the course does not fix
    (variants on the course's data keep the course's seeds, so its figures are reproducible)."""

    impls: tuple = IMPLS
    device: str = "cpu"
    dtype: str = "float64"
    logdir: Path = Path("runs")
    data_dir: Path | None = None
    seed: int = 0
    quick: bool = False
    checkpoint_every: int | None = None   # epochs between checkpoints (0: none; None: a default cadence)
    keep_states: bool = False   # keep every checkpoint as <run dir>/states/<step>.h5 (experiments.checkpoint)

    def budget(self, full: int, quick: int) -> int:
        """The number of iterations or epochs: ``quick`` with --quick, else the full budget."""
        return quick if self.quick else full


def make_settings(*, impl: str = "both", device: str = "auto", dtype: str = "float64", logdir="runs",
                  data_dir=None, seed: int = 0, quick: bool = False, checkpoint_every: int | None = None,
                  keep_states: bool = False) -> Settings:
    """Settings from the command line's values, each checked (ValueError naming the option)."""
    check_choice("--impl", impl, ("numpy", "torch", "both"))
    check_choice("--dtype", dtype, ("float64", "float32"))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {seed!r}")
    if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int)
                                         or checkpoint_every < 0):
        raise ValueError(f"--checkpoint-every must be an integer >= 0, got {checkpoint_every!r}")
    for option, value in (("--quick", quick), ("--keep-states", keep_states)):
        if not isinstance(value, bool):
            raise ValueError(f"{option} must be True or False, got {value!r}")
    if keep_states and checkpoint_every == 0:
        raise ValueError("--keep-states keeps the checkpoints, and --checkpoint-every 0 takes none")
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise ValueError(f"--logdir {str(logdir)!r} exists and is not a directory")
    return Settings(impls=IMPLS if impl == "both" else (impl,), device=str(bridge.resolve_device(device)),
                    dtype=dtype, logdir=logdir, data_dir=resolve_data_dir(data_dir), seed=seed, quick=quick,
                    checkpoint_every=checkpoint_every, keep_states=keep_states)


def configure_torch(device: str) -> None:
    """On CUDA, parity settings (module docstring): no TF32 in matmuls and convolutions,
    deterministic cuDNN without benchmarking, deterministic algorithms (warn only) and cuBLAS's
    fixed workspace. The CPU needs none of them."""
    if not device.startswith("cuda"):
        return
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # read when cuBLAS starts: before any product
    torch.use_deterministic_algorithms(True, warn_only=True)
    if hasattr(torch.backends.cuda.matmul, "fp32_precision"):   # torch >= 2.9
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.conv.fp32_precision = "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def device_label(settings: Settings, impl: str) -> str:
    if impl == "numpy" or settings.device == "cpu":
        return "cpu"
    return f"{settings.device} ({torch.cuda.get_device_name(torch.device(settings.device))})"


def library_versions() -> dict:
    """{python, numpy, torch, h5py}: the versions a run and a checkpoint record."""
    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "h5py": h5py.__version__}


def determinism() -> dict:
    """The torch settings that decide whether a CUDA run repeats bit for bit (configure_torch)."""
    matmul = torch.backends.cuda.matmul
    tf32 = (f"fp32_precision={matmul.fp32_precision}" if hasattr(matmul, "fp32_precision")
            else f"allow_tf32={matmul.allow_tf32}")
    return {"deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "cudnn.deterministic": torch.backends.cudnn.deterministic,
            "cudnn.benchmark": torch.backends.cudnn.benchmark,
            "cuda.matmul": tf32,
            "CUBLAS_WORKSPACE_CONFIG": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
            "torch_threads": torch.get_num_threads()}


def environment(settings: Settings) -> dict:
    """What a result records about where it ran: seed, library versions, each implementation's
    device, and the determinism settings in force."""
    return {"seed": settings.seed, "libraries": library_versions(),
            "devices": {impl: device_label(settings, impl) for impl in settings.impls},
            "determinism": determinism()}
