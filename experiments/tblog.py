"""TensorBoard logging: one SummaryWriter per run directory runs/<experiment>/<variant>/<impl>.

The NumPy and torch runs of a variant sit side by side, so TensorBoard draws
their curves in one chart. Tags (a run logs those that apply to it):

    cost, learning_rate                 scalars per iteration (at most SCALAR_POINTS points)
    accuracy/train, accuracy/test       per epoch (mini-batch runs: at most SCALAR_POINTS points) or
                                        per evaluation (full-batch runs: at most EVALUATIONS points)
    grad_norm/W1, ...                   ||dJ/dW_l||_F on the whole training set (EVALUATIONS points)
    divergence/cost                     torch run of a pair: |cost - NumPy's| / NumPy's, per iteration
    divergence/params                   ... and the final parameters' relative divergence (runner)
    weights/W1, ..., gradients/dW1, ... histograms of the weights and of their gradients on the whole
                                        training set (HISTOGRAMS points)
    cost_curve, decision_boundary       figures at the end, in the variant's last run (torch when both
                                        ran): both implementations' cost curves, the torch model's regions
    config                              text: settings, seed, hyperparameters, data, device
    <run>/hparams                       an add_hparams sub-run, for experiments that sweep

Experiments that train nothing log their own scalars (vectorisation/..., w, score_example/...).

Scalars are stored as float32 (add_scalar's default). A run directory is never
reused: ``claim_root`` gives each run of an experiment a fresh root
(<experiment>, then <experiment>-2, -3, ...), and RunLogger refuses a
directory that already exists, except to resume a run from its checkpoint: the resumed part
goes into a new event file beside the old ones (SummaryWriter's file names carry the time, host
and process id), so nothing already logged is overwritten. ``claim_file`` gives other result
files the same treatment (name, then name-2, -3, ...). ``check_writable`` probes a log directory
before anything runs, so an unwritable or full disk is a clear error, not a crash mid-run.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import numpy as np
from torch.utils.tensorboard import SummaryWriter

SCALAR_POINTS = 500   # per-iteration and per-epoch scalars
EVALUATIONS = 50      # whole-training-set evaluations: accuracies of full-batch runs, gradient norms
HISTOGRAMS = 5


class Cadence:
    """Log step s of 0, ..., total - 1 when s is a multiple of ``every`` or the last one,
    with every = ceil(total / points): about ``points`` points whatever the run's length."""

    def __init__(self, total: int, points: int):
        self.total, self.every = total, max(1, math.ceil(total / points))

    def __call__(self, step: int) -> bool:
        return step % self.every == 0 or step == self.total - 1


def claim_root(logdir, experiment: str) -> Path:
    """Create and return logdir/<experiment>, or the first free <experiment>-2, -3, ...;
    creation is atomic (mkdir), so two runs never share a root."""
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        root = logdir / (experiment if n == 1 else f"{experiment}-{n}")
        try:
            root.mkdir()
            return root
        except FileExistsError:
            continue
    raise FileExistsError(f"{logdir}: no free run directory for {experiment!r} (tried {experiment}-2 .. -9999)")


def claim_file(path) -> Path:
    """Create and return ``path``, or the first free <stem>-2<suffix>, -3, ... beside it (empty;
    O_EXCL creation, so an existing file is never overwritten, even by a concurrent writer)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        try:
            os.close(os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"{path}: no free name (tried {path.stem}-2{path.suffix} .. -9999)")


def check_writable(logdir) -> Path:
    """Create ``logdir`` if needed and write, fsync and remove a small probe file in it; a
    ValueError naming the directory and the reason (permission, a file in the way, a full
    disk) when that fails."""
    logdir = Path(logdir)
    probe = logdir / f".write-probe.{os.getpid()}"
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        try:
            os.write(fd, b"twinprop write probe\n" * 200)   # a few kB: a full disk fails here or at fsync
            os.fsync(fd)
        finally:
            os.close(fd)
            probe.unlink(missing_ok=True)
    except OSError as error:
        reason = "the disk is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else error.strerror or str(error)
        raise ValueError(f"log directory {str(logdir)!r} is not writable ({reason}); choose another "
                         "with --logdir") from None
    return logdir


class RunLogger:
    """Writes one run's event file in ``run_dir``, which must not exist yet (``resume``: which
    must exist; a new event file is added beside the old ones)."""

    def __init__(self, run_dir, resume: bool = False):
        run_dir = Path(run_dir)
        if resume and not run_dir.is_dir():
            raise FileNotFoundError(f"{run_dir} does not exist; nothing to resume")
        if not resume and run_dir.exists():
            raise FileExistsError(f"{run_dir} already exists; a run directory is never overwritten")
        self.run_dir = run_dir
        self.writer = SummaryWriter(log_dir=str(run_dir))

    def scalar(self, tag: str, value: float, step: int) -> None:
        self.writer.add_scalar(tag, float(value), step)

    def scalars(self, tag: str, values, start: int, cadence: Cadence) -> None:
        """values[i] as step start + i, for the steps the cadence picks."""
        for i, value in enumerate(values):
            if cadence(start + i):
                self.writer.add_scalar(tag, float(value), start + i)

    def histograms(self, params: dict, step: int, grads: dict | None = None) -> None:
        """A histogram of every weight matrix (keys starting with W or w) of ``params`` and, when
        given, of its gradient in ``grads`` (dW1, ...)."""
        for key, value in params.items():
            if key[0] in "Ww":
                self.writer.add_histogram(f"weights/{key}", np.asarray(value), step)
                if grads is not None and f"d{key}" in grads:
                    self.writer.add_histogram(f"gradients/d{key}", np.asarray(grads[f"d{key}"]), step)

    def figure(self, tag: str, figure, step: int) -> None:
        self.writer.add_figure(tag, figure, step, close=True)

    def text(self, tag: str, markdown: str) -> None:
        self.writer.add_text(tag, markdown, 0)

    def hparams(self, hparams: dict, metrics: dict) -> None:
        """An add_hparams entry in the sub-run <run_dir>/hparams; metrics become hparam/<name>."""
        plain = {k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in hparams.items()}
        self.writer.add_hparams(plain, {f"hparam/{k}": float(v) for k, v in metrics.items()}, run_name="hparams")

    def close(self) -> None:
        self.writer.close()
