"""First divergence: the first saved step, tensor and element where two training trajectories part.

A trajectory is any object with

    steps                  the saved steps, increasing ints (e.g. the number of updates done)
    state_at(step)         {name: array} at that step, loaded when asked (never all at once)

(``Recorded`` is one held in memory; experiments.checkpoint.KeptStates reads a run directory's
kept checkpoints). ``first_divergence(a, b, dtype=...)`` compares the two at their common steps
with ``comparison.compare`` and a tolerance that grows with the step k (``GROWTH``):

    |a - b| <= rtol(k) * (G + |b|)   elementwise, rtol(k) = rtol_1 * sqrt(k)

where G is the largest magnitude of either state at step k, over all its tensors (the absolute
term of comparison's rule, taken relative to the whole state rather than to the one tensor: a
small tensor that passes near zero, such as a one-unit output bias, carries the rounding of the
sums that built it, not of its present value). Rounding differences between two correct
implementations accumulate roughly like a random walk, so the band grows as sqrt(k), not as k;
a real parting (a bug, or chaotic amplification) grows faster and leaves the band. rtol_1 is
1e-6 for float32 (8.4 ulps at step 1) and 2e-15 for float64 (9 ulps); linear growth would be
too loose to catch a 1e-4 slip late in a run, a constant band too tight late: the rounding does
grow (Adam's, below, 30-fold from the first 10 steps to the last 100 of 1000, faster than sqrt(k):
about k^0.7 from step 100 on, which the band's head start of 8 ulps absorbs through step 1000).
Measured, NumPy vs torch on the project's adam (lr 0.01 and 0.003), momentum and gd, [2, 8, 8, 1]
networks (tanh and relu, 3 seeds) on 200 moons points, full batch, 1000 steps: where the sides
did not part, the rounding stayed within 0.31 of the band in float32 and 0.24 in float64 at every
step; parity_tests/test_divergence.py asserts it on one configuration in each dtype (below 0.1;
measured 0.022 adam, 0.011 gd, 0.005 momentum in float32, 0.021, 0.022, 0.010 in float64), and
that the state's largest element changed by 1e-4 relative leaves the band at its step, up to
step 1000 (where rtol = 3.2e-5). The band is relative to G: an element of size c G leaves it
when changed by more than rtol(k) (1 + c) / c relative (2 rtol(k) for the largest, 11 rtol(k) at
c = 0.1), so a slip in a small element is seen once training carries it into larger ones. Where the
sides do part (3 of those 24 runs, in float64 as in float32: Adam's step v / sqrt(s) on an
element whose moments are rounding noise), the difference grows by orders of magnitude within
tens of steps.

Search: bisection over the common saved steps (a step saved by one trajectory only is not
compared), which assumes agreement is monotone: once out of tolerance, the trajectories stay
out. Rounding growth and chaos behave so; a contracting run (gradient descent on a convex
problem) can pull a perturbed trajectory back into the band, and a run back in the band at its
last saved step reads as never parting. Both ends of the bracket are checked first: the last
saved step (within tolerance: they never part, one load per side), then the first (out: they
part at or before it); a run that parts costs about 2 + log2(n) loads per side of its n saved
states. A trajectory that leaves the band and comes back between two saved steps is not seen.
With states saved every N steps the step is named to within N; ``replay(lo, hi)`` (optional)
refines it: it returns two trajectories that hold every step from lo to hi (replayed from the
saved state at lo; steps outside the bracket may be there too), and the search runs again on
them, so the exact step is named. A replay that does not reproduce the bracket (within
tolerance at lo, out at hi, the parting between) is a ValueError: its record would contradict
the saved states'.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .comparison import ParityReport, Tolerance, compare


@dataclass(frozen=True)
class Growth:
    """rtol(k) = rtol_1 * sqrt(k) (k >= 1, the steps done; step 0 counts as 1): the band the
    rounding of two correct implementations stays in after k steps (module docstring). ``rtol_1``
    must be a finite number > 0 (else TypeError or ValueError)."""

    rtol_1: float

    def __post_init__(self):
        if isinstance(self.rtol_1, bool) or not isinstance(self.rtol_1, (int, float, np.floating, np.integer)):
            raise TypeError(f"rtol_1 must be a number, got {type(self.rtol_1).__name__}")
        if not 0 < self.rtol_1 < math.inf:
            raise ValueError(f"rtol_1 must be a finite number > 0, got {self.rtol_1!r}")

    def at(self, step: int) -> Tolerance:
        """The comparison.Tolerance at ``step``: rtol and atol_scale both rtol(k)."""
        rtol = self.rtol_1 * math.sqrt(max(step, 1))
        return Tolerance(rtol=rtol, atol_scale=rtol)


GROWTH = {"float64": Growth(2e-15), "float32": Growth(1e-6)}


class Trajectory(Protocol):
    """Saved states of one training run: ``steps`` increasing, ``state_at(step)`` {name: array}."""

    steps: Sequence[int]

    def state_at(self, step: int) -> Mapping: ...


@dataclass
class Recorded:
    """A trajectory held in memory: {step: {name: array}}."""

    states: dict

    @property
    def steps(self) -> list:
        return sorted(self.states)

    def state_at(self, step: int) -> Mapping:
        return self.states[step]


@dataclass(frozen=True)
class Divergence:
    """Where trajectories ``a`` and ``b`` part (first_divergence).

    ``last_within``: the last saved step within tolerance (None: even the first was out);
    ``first_out``: the first saved step out of it (None: they never part at a saved step);
    ``agreement``: at ``last_within``, the largest |a - b| relative to the state's largest
    magnitude (0 when none was within); ``tensor``, ``index``, ``value_a``, ``value_b``,
    ``relative`` (|a - b| / max(|a|, |b|)): the element that parts at ``first_out``, the one
    furthest outside its tolerance; ``rtol``: the tolerance rtol(k) at ``first_out`` (else at
    the last step); ``loaded``: the steps whose states were read, in order."""

    dtype: str
    last_within: int | None
    first_out: int | None
    agreement: float
    tensor: str | None = None
    index: tuple | None = None
    value_a: float | None = None
    value_b: float | None = None
    relative: float | None = None
    rtol: float = 0.0
    loaded: tuple = field(default_factory=tuple)

    @property
    def parted(self) -> bool:
        return self.first_out is not None

    @property
    def exact(self) -> bool:
        """The parting step is named exactly: the step before it was saved and within tolerance."""
        return self.parted and self.last_within == self.first_out - 1

    @property
    def element(self) -> str:
        """e.g. "W3[2, 7]"; a 0-d tensor's name alone, "b"; "" when they never part."""
        if not self.parted:
            return ""
        return f"{self.tensor}[{', '.join(map(str, self.index))}]" if self.index else self.tensor

    def __str__(self) -> str:
        """e.g. "agree to 3.1e-15 until step 240; at step 241 W2[3, 7] parts: 0.52 vs 0.51 (...)"."""
        if not self.parted:
            return (f"never part: agree to {self.agreement:.1e} through step {self.last_within}, the last saved "
                    f"({self.dtype}, rtol {self.rtol:.1e} there)")
        if self.last_within is None:
            where = f"out of tolerance at step {self.first_out}, the first saved:"
        elif self.exact:
            where = f"agree to {self.agreement:.1e} until step {self.last_within}; at step {self.first_out}"
        else:
            where = (f"agree to {self.agreement:.1e} until step {self.last_within}; by step {self.first_out}, "
                     "the next saved,")
        return (f"{where} {self.element} parts: {self.value_a!r} vs {self.value_b!r} "
                f"(relative {self.relative:.1e}; {self.dtype}, rtol {self.rtol:.1e} there)")

    def as_dict(self) -> dict:
        """JSON-able fields (and ``text``: str(self)), for results files."""
        return {"dtype": self.dtype, "last_within": self.last_within, "first_out": self.first_out,
                "agreement": self.agreement, "element": self.element, "tensor": self.tensor,
                "index": None if self.index is None else list(self.index), "value_a": self.value_a,
                "value_b": self.value_b, "relative": self.relative, "rtol": self.rtol, "exact": self.exact,
                "text": str(self)}


def first_divergence(a: Trajectory, b: Trajectory, *, dtype: str, growth: Growth | None = None,
                     replay: Callable[[int, int], tuple] | None = None) -> Divergence:
    """The first saved step where ``a`` and ``b`` (trajectories, module docstring) part.

    ``dtype``: "float64" or "float32" (both states must hold it: comparison never mixes them);
    ``growth``: the tolerance law (default GROWTH[dtype]); ``replay(lo, hi) -> (a', b')``:
    optional, trajectories holding every step of the bracket [lo, hi] when the saved states
    leave a gap there, searched again so the step is exact (a ValueError when their record does
    not part within the bracket). Compared at the steps both hold; states must have the same
    names and shapes (else ValueError)."""
    if growth is not None and not isinstance(growth, Growth):
        raise TypeError(f"growth must be a Growth (or None: GROWTH[dtype]), got {type(growth).__name__}")
    if growth is None:
        if dtype not in GROWTH:
            raise ValueError(f"dtype must be one of {sorted(GROWTH)} (or pass growth=), got {dtype!r}")
        growth = GROWTH[dtype]
    steps = sorted(set(a.steps) & set(b.steps))
    if not steps:
        raise ValueError(f"the trajectories share no saved step (a has {len(a.steps)}, b {len(b.steps)})")
    loaded = []

    def judge(i: int) -> _Judged:
        loaded.append(steps[i])
        return _judge(steps[i], a.state_at(steps[i]), b.state_at(steps[i]), growth, dtype)

    # the bracket's ends first: the last step within tolerance ends a run that never parts
    last = judge(len(steps) - 1)
    if last.report.passed:
        return _record(dtype, last, None, loaded)
    first = judge(0) if len(steps) > 1 else last
    if not first.report.passed:
        return _record(dtype, None, first, loaded)
    i, j, lo, hi = 0, len(steps) - 1, first, last   # steps[i] within tolerance, steps[j] out
    while j - i > 1:   # agreement assumed monotone in between
        mid = (i + j) // 2
        judged = judge(mid)
        if judged.report.passed:
            i, lo = mid, judged
        else:
            j, hi = mid, judged
    if replay is not None and hi.step - lo.step > 1:
        finer = first_divergence(*replay(lo.step, hi.step), dtype=dtype, growth=growth)
        if not (finer.parted and finer.last_within is not None and lo.step <= finer.last_within
                and finer.first_out <= hi.step):
            raise ValueError(f"replay({lo.step}, {hi.step}) does not reproduce the saved states (within "
                             f"tolerance at {lo.step}, out at {hi.step}); its trajectories: {finer}")
        return dataclasses.replace(finer, loaded=tuple(loaded) + finer.loaded)
    return _record(dtype, lo, hi, loaded)


@dataclass(frozen=True)
class _Judged:
    """One step compared: the step, compare's report and G, the state's largest magnitude."""

    step: int
    report: ParityReport
    scale: float
    rtol: float


def _judge(step: int, state_a: Mapping, state_b: Mapping, growth: Growth, dtype: str) -> _Judged:
    """comparison.compare of one step's states at rtol(step), the absolute term relative to G; states
    of other shapes are other models, a ValueError (not a parting)."""
    for name, value in state_a.items():
        if name in state_b and np.shape(value) != np.shape(state_b[name]):
            raise ValueError(f"step {step}: {name} is {np.shape(value)} in one trajectory, "
                             f"{np.shape(state_b[name])} in the other: not the same model")
    arrays = [np.abs(np.asarray(x, dtype=np.float64)) for state in (state_a, state_b) for x in state.values()]
    scale = max((float(x.max(initial=0.0, where=np.isfinite(x))) for x in arrays), default=0.0)
    tolerance = growth.at(step)
    report = compare(state_a, state_b, tolerance=tolerance, scales=dict.fromkeys(state_a, scale),
                     label=f"step {step}")
    if report.dtype != dtype:
        raise ValueError(f"step {step}: the states hold {report.dtype}, dtype={dtype!r} was asked for")
    return _Judged(step, report, scale, tolerance.rtol)


def _record(dtype: str, good: _Judged | None, bad: _Judged | None, loaded: list) -> Divergence:
    """The Divergence from the judged ends of the bracket (``good`` within, ``bad`` out)."""
    agreement = 0.0 if good is None else (max((d.max_abs for d in good.report.diffs), default=0.0)
                                          / (good.scale or 1.0))
    last_within = None if good is None else good.step
    if bad is None:
        return Divergence(dtype, last_within, None, agreement, rtol=good.rtol, loaded=tuple(loaded))

    def excess(d):   # the worst element's distance outside the shared rule, |a - b| / (G + |b|)
        if not (np.isfinite(d.actual_value) and np.isfinite(d.expected_value)):
            return math.inf   # NaN or inf parts before any finite difference
        return abs(d.actual_value - d.expected_value) / (bad.scale + abs(d.expected_value))

    worst = max(bad.report.failures, key=excess)
    pair = (worst.actual_value, worst.expected_value)
    size = max(map(abs, pair))
    relative = abs(pair[0] - pair[1]) / size if np.isfinite(pair).all() and size > 0 else math.inf
    return Divergence(dtype, last_within, bad.step, agreement, worst.tensor, worst.worst_index,
                      worst.actual_value, worst.expected_value, relative, bad.rtol, tuple(loaded))
