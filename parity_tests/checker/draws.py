"""What the check draws: the arrays it differentiates (``Domain``), the randomness it gives to both sides
(``Mask``, ``Noise``, or a ``Domain`` such as integer labels), and the moves around kinks.

Every draw has ``shape`` and ``draw(rng, dtype)``; the check calls them in a fixed order on one seeded
generator, so a report is reproducible from its seed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

KINK_FRACTION = 0.25  # of each input's entries set exactly at a kink by the probe


def kink_free(x: np.ndarray, kinks: Sequence[float] = (0.0,), margin: float = 1e-3) -> np.ndarray:
    """A copy of ``x`` whose entries within ``margin`` of a kink are moved to ``kink +/- margin``, on their own
    side (an entry exactly at the kink goes above it). At a kink (ReLU's 0, a hinge's margin) the derivative is
    undefined and one-sided differences disagree, so parity is only meaningful away from it. Kinks should be
    more than ``2 * margin`` apart."""
    x = np.array(x, copy=True)
    for kink in kinks:
        near = np.abs(x - kink) < margin
        x[near] = kink + np.where(x[near] >= kink, margin, -margin)
    return x


@dataclass(frozen=True)
class Mask:
    """A dropout mask drawn by the check: D = 1 with probability ``keep_prob``, else 0, in the check's dtype.
    The same D reaches the NumPy forward (an array) and the oracle (a tensor): the two libraries' generators
    never agree, so neither side draws its own."""

    shape: tuple
    keep_prob: float

    def __post_init__(self):
        if not 0 < self.keep_prob <= 1:
            raise ValueError(f"keep_prob must be in (0, 1], not {self.keep_prob!r}")

    def draw(self, rng: np.random.Generator, dtype: str) -> np.ndarray:
        return (rng.random(self.shape) < self.keep_prob).astype(dtype)


@dataclass(frozen=True)
class Noise:
    """Gaussian noise N(0, std^2) drawn by the check and given to both sides, like ``Mask``."""

    shape: tuple
    std: float = 1.0

    def draw(self, rng: np.random.Generator, dtype: str) -> np.ndarray:
        return (self.std * rng.standard_normal(self.shape)).astype(dtype)


def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _positive(rng, shape, dtype):
    return np.exp(rng.standard_normal(shape)).astype(dtype)


def _unit(rng, shape, dtype):
    return rng.uniform(0.05, 0.95, shape).astype(dtype)


def _integers(rng, shape, dtype, low, high):
    return rng.integers(low, high, shape)  # labels stay int64 whatever the check's dtype


@dataclass(frozen=True)
class Domain:
    """Where an array's entries are drawn: ``sampler(rng, shape, dtype)`` returns them, all inside the open
    interval (``low``, ``high``). A kink is avoided (and probed) only inside that interval: a log's input
    drawn positive is neither moved off nor set at the kink 0. Build one with a constructor:

    * ``Domain.normal(shape)``: N(0, 1), what a bare shape means;
    * ``Domain.positive(shape)``: log-normal, exp(N(0, 1)), for a log, a sqrt, a variance;
    * ``Domain.unit(shape)``: uniform on [0.05, 0.95], for probabilities (kept off 0 and 1, where a log loss
      is infinite);
    * ``Domain.integers(shape, low, high)``: int64 in [low, high), e.g. class labels; not differentiable, so
      only in ``random=``;
    * ``Domain.custom(shape, sampler, low=-inf, high=inf)``: your own sampler.
    """

    shape: tuple
    sampler: Callable[[np.random.Generator, tuple, str], np.ndarray]
    low: float = -math.inf
    high: float = math.inf
    kind: str = "custom"

    @classmethod
    def normal(cls, shape: tuple) -> Domain:
        return cls(tuple(shape), _normal, kind="normal")

    @classmethod
    def positive(cls, shape: tuple) -> Domain:
        return cls(tuple(shape), _positive, 0.0, kind="positive")

    @classmethod
    def unit(cls, shape: tuple) -> Domain:
        return cls(tuple(shape), _unit, 0.0, 1.0, kind="unit")

    @classmethod
    def integers(cls, shape: tuple, low: int, high: int) -> Domain:
        if not low < high:
            raise ValueError(f"integers need low < high, not [{low}, {high})")
        return cls(tuple(shape), functools.partial(_integers, low=low, high=high), low - 1, high, kind="integers")

    @classmethod
    def custom(cls, shape: tuple, sampler: Callable, low: float = -math.inf, high: float = math.inf) -> Domain:
        return cls(tuple(shape), sampler, low, high)

    @property
    def differentiable(self) -> bool:
        return self.kind != "integers"

    def draw(self, rng: np.random.Generator, dtype: str) -> np.ndarray:
        x = np.asarray(self.sampler(rng, self.shape, dtype))
        if x.shape != self.shape:
            raise ValueError(f"the {self.kind} sampler returned shape {x.shape}, not {self.shape}")
        return x

    def kinks_inside(self, kinks: Sequence[float]) -> list[float]:
        """The kinks an entry of this domain can sit at."""
        return [k for k in kinks if self.low < k < self.high]


def as_domain(spec: tuple | Domain) -> Domain:
    """An ``inputs``/``params`` entry (a shape, or a Domain) as a Domain."""
    return spec if isinstance(spec, Domain) else Domain.normal(spec)


def set_at_kinks(arrays: Mapping[str, np.ndarray], kinks: Mapping[str, Sequence[float]],
                 seed: int) -> dict[str, np.ndarray]:
    """A copy of ``arrays`` with about KINK_FRACTION of the entries of each array named in ``kinks`` (at least
    one) set exactly at its kinks, cycling through them."""
    rng = np.random.default_rng([seed, 1])  # its own stream: the main pass's draws do not depend on probing
    probed = dict(arrays)
    for name, points in kinks.items():
        x = arrays[name].copy()
        if x.size:
            chosen = rng.random(x.shape) < KINK_FRACTION
            chosen.flat[rng.integers(x.size)] = True
            x[chosen] = np.resize(np.asarray(points, dtype=x.dtype), int(chosen.sum()))
        probed[name] = x
    return probed
