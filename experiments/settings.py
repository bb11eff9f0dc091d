"""What the command line chooses, checked (Settings, make_settings), and the torch set-up and
the description of the device each implementation runs on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from reference_torch import bridge
from scratch_numpy.validation import check_choice

from .datasets import resolve_data_dir

IMPLS = ("numpy", "torch")


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

    def budget(self, full: int, quick: int) -> int:
        """The number of iterations or epochs: ``quick`` with --quick, else the full budget."""
        return quick if self.quick else full


def make_settings(*, impl: str = "both", device: str = "auto", dtype: str = "float64", logdir="runs",
                  data_dir=None, seed: int = 0, quick: bool = False) -> Settings:
    """Settings from the command line's values, each checked (ValueError naming the option)."""
    check_choice("--impl", impl, ("numpy", "torch", "both"))
    check_choice("--dtype", dtype, ("float64", "float32"))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {seed!r}")
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise ValueError(f"--logdir {str(logdir)!r} exists and is not a directory")
    return Settings(impls=IMPLS if impl == "both" else (impl,), device=str(bridge.resolve_device(device)),
                    dtype=dtype, logdir=logdir, data_dir=resolve_data_dir(data_dir), seed=seed, quick=quick)


def configure_torch(device: str) -> None:
    """On CUDA, parity settings: no TF32 in matmuls and convolutions, deterministic cuDNN."""
    if not device.startswith("cuda"):
        return
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
