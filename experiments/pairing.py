"""A variant's pair of trials, NumPy and torch, side by side: its row of the result (pair_row)
and how far the two sides are apart (divergence).

    relative_divergence(a, b)      max |a - b| / max |a|, of costs, parameters or any array pair
    parted_at(a, b)                the first iteration whose costs differ by more than PARTED
                                   relative: where two trajectories part, far beyond rounding
    locate_divergence(A, B)        where two run directories' kept states part (bisection,
                                   parity_tests.checker.divergence.first_divergence)
    divergence(reference, other)   all of these for one pair of Outcomes
    pair_row(variant, ran, ...)    the variant's row of results.json: metrics, seconds, divergence
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from parity_tests.checker.divergence import Divergence, first_divergence

from . import checkpoint

if TYPE_CHECKING:   # annotations only: runner imports this module
    from .runner import Outcome, Variant
    from .settings import Settings

PARTED = 1e-6   # costs this far apart (relative) have parted: rounding alone stays near 1e-15


def relative_divergence(a, b) -> float:
    """max |a - b| / max |a|: relative to the reference ``a``'s largest magnitude, absolute where
    ``a`` is all zeros (zero-initialised weights that stay zero); inf on a shape mismatch."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    scale = np.abs(a).max(initial=0.0)
    return float(np.abs(a - b).max(initial=0.0) / (scale if scale > 0 else 1.0))


def parted_at(a, b) -> int | None:
    """The first iteration whose costs differ by more than PARTED relative to the larger: where
    two trajectories part, far beyond rounding (None: they never do, or they have no costs)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    n = min(a.size, b.size)
    with np.errstate(invalid="ignore"):   # inf - inf: costs that overflowed on both sides are not "parted"
        apart = np.abs(a[:n] - b[:n]) > PARTED * np.maximum(np.abs(a[:n]), np.abs(b[:n]))
    where = np.flatnonzero(apart)
    return int(where[0]) if where.size else None


def locate_divergence(run_a, run_b, dtype: str | None = None) -> Divergence:
    """Where two run directories' kept states (checkpoint.KeptStates) part: first_divergence at
    ``dtype`` (default: the dtype of ``run_a``'s first kept state). A missing directory, no kept
    states or a damaged state file is a checkpoint.CheckpointError, other parameters a ValueError."""
    a, b = checkpoint.KeptStates(run_a), checkpoint.KeptStates(run_b)
    if dtype is None:
        dtype = next(iter(a.state_at(a.steps[0]).values())).dtype.name
    return first_divergence(a, b, dtype=dtype)


def divergence(reference: Outcome, other: Outcome, kept: dict | None = None, dtype: str = "float64") -> dict:
    """The pair's divergence: of the cost trajectories and of the final parameters (max over
    tensors), each relative_divergence; the iteration where the costs part (parted_at); and
    |difference| of each metric. ``kept``, when the run keeps states: {impl: its run directory,
    or None where its trial saved no checkpoint}; with both, also ``first``, where their
    parameters part (locate_divergence at ``dtype``, as_dict), else ``unkept``, the
    implementations that kept no states."""
    out = {}
    if kept is not None:
        unkept = [impl for impl in ("numpy", "torch") if kept.get(impl) is None]
        if unkept:
            out["unkept"] = unkept
        else:
            out["first"] = locate_divergence(kept["numpy"], kept["torch"], dtype).as_dict()
    if reference.costs and other.costs:
        out["cost"] = relative_divergence(reference.costs, other.costs)
        out["parted_at"] = parted_at(reference.costs, other.costs)
    if reference.params and other.params:
        out["params"] = max(relative_divergence(reference.params[k], other.params[k]) for k in reference.params)
    out["metrics"] = {k: abs(v - other.metrics[k]) for k, v in reference.metrics.items() if k in other.metrics}
    return out


def pair_row(variant: Variant, ran: dict, settings: Settings) -> dict:
    """A variant's row of the result from its trials ``ran`` {impl: Ran}, in settings.impls order:
    metrics, seconds and, when both sides ran, their divergence."""
    outcomes = {impl: r.outcome for impl, r in ran.items()}
    kept = {impl: r.kept for impl, r in ran.items()} if settings.keep_states else None
    return {"variant": variant.name, "hparams": variant.hparams, "published": variant.published,
            "chaos": variant.chaos and asdict(variant.chaos), "disputed": variant.disputed,
            "metrics": {impl: o.metrics for impl, o in outcomes.items()},
            "seconds": {impl: r.seconds for impl, r in ran.items()},
            "divergence": divergence(outcomes["numpy"], outcomes["torch"], kept, settings.dtype)
            if len(outcomes) == 2 else {}}
