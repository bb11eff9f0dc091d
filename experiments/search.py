"""Hyperparameter samplers (course 2, week 3): log-scale random search, grids, coarse to fine.

The course's advice: sample at random rather than on a grid, on the scale the hyperparameter
acts on, and zoom in on the region of the best trials.

    log_uniform(rng, a, b, n)        x = 10^u, u ~ U(a, b)        e.g. the learning rate, 10^U(-4, 0)
    one_minus_log(rng, a, b, n)      beta = 1 - 10^u, u ~ U(a, b) e.g. momentum, 1 - 10^U(-3, -1):
                                     0.9 .. 0.999, as much room for 0.99 .. 0.999 as for 0.9 .. 0.99
    log_grid(a, b, k)                10^linspace(a, b, k): k values evenly spaced in log10
    grid(xs, ys)                     the k_x k_y pairs (x, y), x-major
    zoom(best, a, b, factor)         the box of width (b - a) / factor around ``best`` in log10,
                                     shifted to stay inside [a, b]: the next, finer stage

A search space declared by an experiment, for ``python -m experiments sweep`` (experiments.sweep
maps it to Ray Tune; this module never imports Ray):

    Space(axes={hparam: axis}, base=settings -> hparams, metric=, mode=, progress=)
    LogUniform(a, b)       the hyperparameter is 10^u, u ~ U(a, b)
    OneMinusLog(a, b)      the hyperparameter is 1 - 10^u, u ~ U(a, b) (what is sampled is 1 - beta)
    IntRange(low, high)    an integer in low..high (both included), uniform
    Choice(values)         one of ``values``, uniform

An axis samples one quantity (``key``: the hyperparameter's name, or one_minus_<name>) and
``value`` turns a sample into the hyperparameter; ``grid(k)`` is a k-point grid of the sampled
quantity on the axis's own scale (log10 for the log axes).

Laws a test can check: under log_uniform, log10(x) is U(a, b), so its CDF is (t - a) / (b - a)
(``ks_uniform`` measures the largest gap to it, ``ks_pvalue`` its significance); a k x k grid
tries only k distinct values of each hyperparameter where k^2 random trials try k^2 (almost
surely distinct: continuous draws). Everything random draws from the numpy Generator it is given,
so drawing once and sharing the draws gives both implementations the very same trials.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def _check_range(a: float, b: float) -> None:
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise ValueError(f"the exponent range needs finite a < b, got a = {a!r}, b = {b!r}")


def log_uniform(rng: np.random.Generator, a: float, b: float, n: int) -> np.ndarray:
    """(n,) values 10^u with u ~ U(a, b) i.i.d.: log10 of each is uniform on [a, b)."""
    _check_range(a, b)
    return 10.0 ** rng.uniform(a, b, n)


def one_minus_log(rng: np.random.Generator, a: float, b: float, n: int) -> np.ndarray:
    """(n,) values beta = 1 - 10^u with u ~ U(a, b) i.i.d.: log10(1 - beta) is uniform on [a, b)."""
    return 1.0 - log_uniform(rng, a, b, n)


def log_grid(a: float, b: float, k: int) -> np.ndarray:
    """(k,) values 10^(a + i (b - a) / (k - 1)), i = 0..k-1 (k >= 2): both ends included."""
    _check_range(a, b)
    if k < 2:
        raise ValueError(f"a grid needs k >= 2 values per axis, got {k!r}")
    return 10.0 ** np.linspace(a, b, k)


def grid(xs, ys) -> list:
    """The len(xs) * len(ys) pairs (x, y), x-major: [(x0, y0), (x0, y1), ..., (x1, y0), ...]."""
    return [(float(x), float(y)) for x in xs for y in ys]


def zoom(best: float, a: float, b: float, factor: float) -> tuple:
    """(a', b'): the exponent range of width (b - a) / factor centred on ``best`` (an exponent in
    [a, b]), shifted back inside [a, b] where it would stick out."""
    _check_range(a, b)
    if not a <= best <= b or factor < 1:
        raise ValueError(f"zoom needs a <= best <= b and factor >= 1, got best {best!r} in [{a}, {b}], "
                         f"factor {factor!r}")
    half = (b - a) / factor / 2
    low = min(max(best - half, a), b - 2 * half)
    return low, low + 2 * half


def ks_uniform(samples, a: float, b: float) -> float:
    """The Kolmogorov-Smirnov statistic D = sup_t |F_n(t) - (t - a) / (b - a)| of (n,) samples
    against U(a, b): with s the sorted samples mapped to [0, 1],
    D = max_i max(i / n - s_i, s_i - (i - 1) / n), i = 1..n."""
    _check_range(a, b)
    s = np.sort((np.asarray(samples, dtype=np.float64) - a) / (b - a))
    n = s.size
    if n == 0:
        raise ValueError("ks_uniform needs at least one sample")
    i = np.arange(1, n + 1)
    return float(max((i / n - s).max(), (s - (i - 1) / n).max()))


def ks_pvalue(d: float, n: int, terms: int = 100) -> float:
    """P(D_n >= d) under the null, by Kolmogorov's limit law with Stephens' small-n correction:
    t = (sqrt(n) + 0.12 + 0.11 / sqrt(n)) d,  P = 2 sum_{j>=1} (-1)^(j-1) exp(-2 j^2 t^2),
    clipped to [0, 1] (the series is 1 - the Kolmogorov CDF; it is 0.05 at t = 1.358)."""
    t = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    if t < 0.2:   # the series converges slowly there and the answer is 1 to 10 digits
        return 1.0
    p = 2 * sum((-1) ** (j - 1) * math.exp(-2 * j * j * t * t) for j in range(1, terms + 1))
    return float(min(max(p, 0.0), 1.0))


@dataclass(frozen=True)
class LogUniform:
    """The hyperparameter x = 10^u, u ~ U(a, b) (a, b: log10 exponents), e.g. the learning rate,
    a = -4, b = 0. What is sampled is x itself (``key`` is the hyperparameter's name)."""

    a: float
    b: float

    def __post_init__(self):
        _check_range(self.a, self.b)

    def key(self, name: str) -> str:
        return name

    def value(self, sample):
        return float(sample)

    def grid(self, k: int) -> list:
        """(k,) samples 10^linspace(a, b, k) (log_grid)."""
        return [float(x) for x in log_grid(self.a, self.b, k)]


@dataclass(frozen=True)
class OneMinusLog(LogUniform):
    """The hyperparameter beta = 1 - 10^u, u ~ U(a, b), e.g. a momentum, a = -3, b = -1 (0.9 ..
    0.999). What is sampled is 1 - beta, log-uniform (``key``: one_minus_<name>); ``grid`` gives
    1 - beta."""

    def key(self, name: str) -> str:
        return f"one_minus_{name}"

    def value(self, sample):
        return 1.0 - float(sample)


@dataclass(frozen=True)
class IntRange:
    """An integer hyperparameter in low..high (both included), uniform."""

    low: int
    high: int

    def __post_init__(self):
        if not (isinstance(self.low, int) and isinstance(self.high, int) and self.low < self.high):
            raise ValueError(f"an integer range needs integers low < high, got {self.low!r}, {self.high!r}")

    def key(self, name: str) -> str:
        return name

    def value(self, sample):
        return int(sample)

    def grid(self, k: int) -> list:
        """(k,) distinct integers evenly spread over low..high, both ends included (k at most
        high - low + 1, else a ValueError)."""
        if not 2 <= k <= self.high - self.low + 1:
            raise ValueError(f"an integer grid over {self.low}..{self.high} takes 2 to {self.high - self.low + 1} "
                             f"values, got {k}")
        return [int(round(x)) for x in np.linspace(self.low, self.high, k)]


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (a tuple of plain values: str, int, float, bool), uniform."""

    values: tuple

    def __post_init__(self):
        if len(self.values) < 2:
            raise ValueError(f"a choice needs at least 2 values, got {self.values!r}")

    def key(self, name: str) -> str:
        return name

    def value(self, sample):
        return sample

    def grid(self, k: int) -> list:
        """All the values: a grid of a choice takes each once (k must be their number)."""
        if k != len(self.values):
            raise ValueError(f"a grid over the choice {self.values} takes its {len(self.values)} values, not {k}")
        return list(self.values)


@dataclass(frozen=True)
class Space:
    """What a sweep of an experiment searches: ``axes`` {hyperparameter: LogUniform, OneMinusLog,
    IntRange or Choice}; ``base(settings)``: the hparams every trial shares (the trial's variant
    has base + its sampled hyperparameters; ``epochs`` among them: the trial's budget);
    ``metric``: the name of the Outcome metric to optimise, ``mode`` "min" or "max";
    ``progress(history, side)``: that metric after an epoch of the mini-batch trainer (history: the
    loop's History so far; side: the Side at its current parameters), equal to the final metric
    after the last epoch, reported per epoch so that a scheduler can stop a poor trial early."""

    axes: dict
    base: Callable
    metric: str
    progress: Callable
    mode: str = "min"

    def __post_init__(self):
        if self.mode not in ("min", "max"):
            raise ValueError(f"a space's mode is 'min' or 'max', got {self.mode!r}")
        if not self.axes:
            raise ValueError("a space needs at least one axis")

    def hparams(self, samples: dict) -> dict:
        """{hyperparameter: value} from {axis key: sample} (a sweep trial's config)."""
        return {name: axis.value(samples[axis.key(name)]) for name, axis in self.axes.items()}
