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

Laws a test can check: under log_uniform, log10(x) is U(a, b), so its CDF is (t - a) / (b - a)
(``ks_uniform`` measures the largest gap to it, ``ks_pvalue`` its significance); a k x k grid
tries only k distinct values of each hyperparameter where k^2 random trials try k^2 (almost
surely distinct: continuous draws). Everything random draws from the numpy Generator it is given,
so drawing once and sharing the draws gives both implementations the very same trials.
"""

from __future__ import annotations

import math

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
