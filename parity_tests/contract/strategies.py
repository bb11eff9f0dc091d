"""Hypothesis strategies for the fuzz targets of parity_tests/contract/ (fuzzing.py).

Two halves:

* **valid inputs** of random sizes, scales and memory layouts: float arrays and tensors
  (``np_floats``, ``as_tensor``), class labels (``np_labels``, ``th_labels``) and
  hyperparameters; each is what the library must accept and answer correctly;
* **spoilers**: each turns one valid argument into a bad one of a known kind (rank-1, empty,
  mismatched, int/bool/float16/object dtype, NaN/inf, out-of-range label, zero or negative
  hyperparameter, a count past the library's limit (MAX_COUNT), a string for a flag, not an
  array at all, an np.matrix or a masked array hiding a NaN, extreme scales, a negative
  variance, ...) and says which argument names the error message
  may mention (``Bad.names``).

Values are drawn from a seeded NumPy generator (the seed, the scale and the layout come from
hypothesis), which keeps every example cheap and, under ``derandomize=True``, deterministic.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from hypothesis import strategies as st

from scratch_numpy.validation import MAX_COUNT

SCALES = (1e-3, 1.0, 10.0, 1e3)        # magnitudes of fuzzed float entries (extremes: test_extremes.py)
LAYOUTS = ("C", "F", "strided", "readonly")
NAN, INF = float("nan"), float("inf")
HUGE_INT = 10 ** 400                   # a Python int no float can hold


def arg(name: str) -> str:
    """Regex for an argument's name as a whole word (``X`` does not match ``AX``; ``W1`` matches
    inside ``params['W1']``)."""
    return rf"(?<!\w){re.escape(name)}(?!\w)"


@dataclass
class Bad:
    """A spoiled argument: the value, what kind of spoiling it is, and the names the error message
    may mention. ``must_fail=False`` when the right answer is an acceptable outcome too."""

    value: object
    kind: str
    names: tuple
    must_fail: bool = True


# =====================================================================================
# Valid inputs
# =====================================================================================

def seeded_rng(draw) -> np.random.Generator:
    return np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))


def size(draw, lo: int = 1, hi: int = 5) -> int:
    return draw(st.integers(lo, hi))


def np_floats(draw, shape, dtype="float64", *, scale=None, zeros: bool = True, layouts=LAYOUTS,
              low=None, high=None) -> np.ndarray:
    """A finite float array of ``shape``: N(0, scale^2) entries (scale from SCALES unless given),
    some exact zeros (the kinks) when ``zeros``, or uniform on [low, high) when given; in one of
    ``layouts``: C order, Fortran order, a strided view of a larger array, or read-only."""
    rng = seeded_rng(draw)
    if low is not None:
        a = np.asarray(rng.uniform(low, high, size=shape))
    else:
        a = np.asarray(rng.standard_normal(shape) * (draw(st.sampled_from(SCALES)) if scale is None else scale))
        if zeros and a.size and draw(st.booleans()):
            a[rng.random(shape) < 0.3] = 0.0
    a = a.astype(dtype)
    layout = draw(st.sampled_from(layouts))
    if layout == "F":
        a = np.asfortranarray(a)
    elif layout == "strided" and a.ndim >= 1:
        big = np.zeros(tuple(2 * s for s in a.shape), dtype=a.dtype)
        big[tuple(slice(None, None, 2) for _ in a.shape)] = a
        a = big[tuple(slice(None, None, 2) for _ in a.shape)]
    elif layout == "readonly":
        a.setflags(write=False)
    return a


def np_labels(draw, m: int, num_classes: int) -> np.ndarray:
    """Labels (1, m) in [0, num_classes): int64 mostly, also int32, uint8 and whole-number floats
    (the course stores binary labels as floats), all accepted by check_labels."""
    rng = seeded_rng(draw)
    labels = rng.integers(0, num_classes, size=(1, m))
    dtype = draw(st.sampled_from(["int64", "int64", "int32", "uint8", "float64", "float32"]))
    return labels.astype(dtype)


def as_tensor(draw, a: np.ndarray, *, layouts=("contiguous", "transposed-copy", "requires_grad")) -> torch.Tensor:
    """The same numbers as a tensor: contiguous, non-contiguous (a transposed copy viewed back), or a
    leaf that requires grad."""
    layout = draw(st.sampled_from(layouts))
    if layout == "transposed-copy" and a.ndim == 2:
        return torch.tensor(np.ascontiguousarray(a.T)).T
    t = torch.tensor(np.ascontiguousarray(a))
    if layout == "requires_grad":
        t.requires_grad_()
    return t


def th_labels(draw, m: int, num_classes: int) -> torch.Tensor:
    return torch.from_numpy(seeded_rng(draw).integers(0, num_classes, size=m).astype(np.int64))


def positive(draw, lo: float = 1e-3, hi: float = 1.0, *, zero: bool = False):
    """A valid positive hyperparameter: a Python float, int-valued or a np.float64 (a float subclass)."""
    value = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    if zero and draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from([0, 0.0]))
    return draw(st.sampled_from([float, np.float64]))(value)


# =====================================================================================
# Spoilers
# =====================================================================================

_NP_BAD_DTYPES = ("int64", "int32", "uint8", "bool", "float16", "complex128", "object", "str")


def spoil_array(draw, name: str, a: np.ndarray, *, fixed=(), pinned: bool = True, also=(), ndim: int = 2,
                kinds=None, exclude=()) -> Bad:
    """``a`` (a valid float array named ``name``) made bad.

    ``fixed``: the axes whose size the other arguments fix (a wrong size there is an error);
    ``pinned``: the dtype is fixed by another operand (float32 vs float64 is an error);
    ``also``: other argument names the message may name instead (a mismatch names either side).
    """
    names = (name, *also)
    options = ["rank-down", "rank-up", "empty", "dtype", "NaN", "inf", "-inf", "list", "None", "scalar",
               "tensor", "masked"]
    if a.ndim == 2:
        options.append("matrix")
    if fixed:
        options.append("wrong size")
    if pinned:
        options.append("other float")
    if a.ndim == 0:
        exclude = (*exclude, "rank-down", "empty")
    options = [k for k in (kinds or options) if k not in exclude]
    kind = draw(st.sampled_from(options))
    if kind == "rank-down":
        bad = a.reshape(-1) if ndim >= 2 else np.asarray(a.reshape(-1)[0])
        kind = f"rank {bad.ndim}"
    elif kind == "rank-up":
        bad = np.asarray(a)[None]
        kind = f"rank {bad.ndim}"
    elif kind == "empty":
        shape = list(a.shape)
        shape[draw(st.integers(0, a.ndim - 1))] = 0
        bad = np.zeros(shape, dtype=a.dtype)
        kind = f"empty {tuple(shape)}"
    elif kind == "wrong size":
        axis = draw(st.sampled_from(list(fixed)))
        shape = list(a.shape)
        shape[axis] = shape[axis] + 1 if shape[axis] == 1 or draw(st.booleans()) else shape[axis] - 1
        bad = np.ones(shape, dtype=a.dtype)
        kind = f"shape {tuple(shape)} for {a.shape}"
    elif kind == "dtype":
        dtype = draw(st.sampled_from(_NP_BAD_DTYPES))
        bad = np.ones(a.shape, dtype=dtype) if dtype != "str" else np.full(a.shape, "1.0")
        if dtype == "object":
            bad = np.array(a, dtype=object)
        kind = f"dtype {dtype}"
    elif kind == "other float":
        bad = a.astype("float32" if a.dtype == np.float64 else "float64")
        kind = f"{bad.dtype} among {a.dtype}"
    elif kind in ("NaN", "inf", "-inf"):
        bad = np.array(a, copy=True)
        bad.flat[draw(st.integers(0, a.size - 1))] = {"NaN": NAN, "inf": INF, "-inf": -INF}[kind]
    elif kind == "list":
        bad = np.asarray(a).tolist()
    elif kind == "None":
        bad = None
    elif kind == "scalar":
        bad = 1.0
    elif kind == "tensor":
        bad = torch.tensor(np.ascontiguousarray(a))
    elif kind == "matrix":       # the same numbers, but * is a matrix product
        with warnings.catch_warnings():   # NumPy's PendingDeprecationWarning for np.matrix
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            bad = np.asmatrix(a)
    elif kind == "masked":       # a NaN hidden under the mask
        mask = np.zeros(a.shape, dtype=bool)
        mask.flat[draw(st.integers(0, a.size - 1))] = True
        bad = np.ma.masked_array(np.where(mask, NAN, a).astype(a.dtype), mask=mask)
    else:
        raise AssertionError(kind)
    return Bad(bad, kind, names)


_TH_BAD_DTYPES = (torch.int64, torch.int32, torch.uint8, torch.bool, torch.float16, torch.bfloat16, torch.complex64)


def spoil_tensor(draw, name: str, t: torch.Tensor, *, fixed=(), pinned: bool = True, also=(), kinds=None,
                 exclude=()) -> Bad:
    """The torch twin of ``spoil_array`` (batch-first tensors)."""
    names = (name, *also)
    t = t.detach()
    options = ["rank-down", "rank-up", "empty", "dtype", "NaN", "inf", "-inf", "numpy", "list", "None", "scalar"]
    if fixed:
        options.append("wrong size")
    if pinned:
        options.append("other float")
    if t.dim() == 0:
        exclude = (*exclude, "rank-down", "empty")
    options = [k for k in (kinds or options) if k not in exclude]
    kind = draw(st.sampled_from(options))
    if kind == "rank-down":
        bad = t.reshape(-1) if t.dim() >= 2 else t.reshape(-1)[0].clone()
        kind = f"rank {bad.dim()}"
    elif kind == "rank-up":
        bad = t[None].clone()
        kind = f"rank {bad.dim()}"
    elif kind == "empty":
        shape = list(t.shape)
        shape[draw(st.integers(0, t.dim() - 1))] = 0
        bad = torch.zeros(shape, dtype=t.dtype)
        kind = f"empty {tuple(shape)}"
    elif kind == "wrong size":
        axis = draw(st.sampled_from(list(fixed)))
        shape = list(t.shape)
        shape[axis] = shape[axis] + 1 if shape[axis] == 1 or draw(st.booleans()) else shape[axis] - 1
        bad = torch.ones(shape, dtype=t.dtype)
        kind = f"shape {tuple(shape)} for {tuple(t.shape)}"
    elif kind == "dtype":
        dtype = draw(st.sampled_from(_TH_BAD_DTYPES))
        bad = torch.ones(t.shape, dtype=dtype)
        kind = f"dtype {dtype}"
    elif kind == "other float":
        bad = t.to(torch.float32 if t.dtype == torch.float64 else torch.float64)
        kind = f"{bad.dtype} among {t.dtype}"
    elif kind in ("NaN", "inf", "-inf"):
        bad = t.contiguous().clone()
        bad.view(-1)[draw(st.integers(0, t.numel() - 1))] = {"NaN": NAN, "inf": INF, "-inf": -INF}[kind]
    elif kind == "numpy":
        bad = t.numpy().copy()
    elif kind == "list":
        bad = t.tolist()
    elif kind == "None":
        bad = None
    elif kind == "scalar":
        bad = 1.0
    else:
        raise AssertionError(kind)
    return Bad(bad, kind, names)


def spoil_np_labels(draw, name: str, Y: np.ndarray, num_classes: int, *, also=("X",), exclude=(),
                    relaxed: bool = True) -> Bad:
    """Bad (1, m) labels for ``num_classes`` classes; a wrong m may be named on either side (``also``).
    ``relaxed``: the entry point accepts a rank-1 (m,) Y and, for 2 classes, a boolean Y (the course's
    habits, scratch_numpy.validation.check_labels), so those are not drawn; False (splits, the
    bridge): they are bad too."""
    m = Y.shape[1]
    if relaxed:
        exclude = (*exclude, "rank 1", *(("bool",) if num_classes == 2 else ()))
    good = np.asarray(Y, dtype=np.int64)
    options = [k for k in ("rank 1", "column", "two rows", "m - 1", "m + 1", "label C", "label 2**40", "label -1",
                           "fractional", "NaN", "inf", "1e20", "-1e300", "uint64 2**63", "bool", "str", "object",
                           "complex", "list", "None", "empty") if k not in exclude]
    kind = draw(st.sampled_from(options))
    names = (name,)
    pos = draw(st.integers(0, m - 1))

    def poked(value, dtype):
        bad = good.astype(dtype)
        bad[0, pos] = value
        return bad

    if kind == "rank 1":
        bad = good[0].copy()
    elif kind == "column":
        bad = good.T.copy()
        if m == 1:   # (1, 1) is a valid row: make it (2, 1)
            bad = np.vstack([good, good])
    elif kind == "two rows":
        bad = np.vstack([good, good])
    elif kind in ("m - 1", "m + 1"):
        bad = good[:, :m - 1] if kind == "m - 1" else np.hstack([good, good[:, :1]])
        names = (name, *also)
        if bad.size == 0:
            kind = "empty"
    elif kind == "label C":
        bad = poked(num_classes, np.int64)
    elif kind == "label 2**40":
        bad = poked(2 ** 40, np.int64)
    elif kind == "label -1":
        bad = poked(-1, np.int64)
    elif kind == "fractional":
        bad = poked(0.5, np.float64)
    elif kind == "NaN":
        bad = poked(NAN, np.float64)
    elif kind == "inf":
        bad = poked(INF, np.float64)
    elif kind == "1e20":
        bad = poked(1e20, np.float64)
    elif kind == "-1e300":
        bad = poked(-1e300, np.float64)
    elif kind == "uint64 2**63":
        bad = poked(2 ** 63, np.uint64)
    elif kind == "bool":
        bad = good.astype(bool)
    elif kind == "str":
        bad = good.astype(str)
    elif kind == "object":
        bad = good.astype(object)
    elif kind == "complex":
        bad = good.astype(complex)
    elif kind == "list":
        bad = good.tolist()
    elif kind == "None":
        bad = None
    elif kind == "empty":
        bad = np.zeros((1, 0), dtype=np.int64)
    else:
        raise AssertionError(kind)
    if kind == "empty":
        names = (name, *also)
    return Bad(bad, kind, names)


def spoil_th_labels(draw, name: str, y: torch.Tensor, num_classes: int, *, also=("X",), exclude=(),
                    relaxed: bool = True) -> Bad:
    """Bad (m,) int64 labels for ``num_classes`` classes. ``relaxed``: the entry point accepts a
    boolean y for 2 classes (reference_torch.validation.check_labels), so it is not drawn then."""
    m = y.shape[0]
    if relaxed and num_classes == 2:
        exclude = (*exclude, "bool")
    options = [k for k in ("int32", "float64", "bool", "uint8", "column", "m - 1", "m + 1", "label C",
                           "label 2**40", "label -1", "numpy", "list", "None", "empty") if k not in exclude]
    kind = draw(st.sampled_from(options))
    names = (name,)
    pos = draw(st.integers(0, m - 1))

    def poked(value):
        bad = y.clone()
        bad[pos] = value
        return bad

    if kind in ("int32", "float64", "bool", "uint8"):
        bad = y.to(getattr(torch, kind))
    elif kind == "column":
        bad = y[:, None].clone()
    elif kind in ("m - 1", "m + 1"):
        bad = y[:m - 1].clone() if kind == "m - 1" else torch.cat([y, y[:1]])
        names = (name, *also)
    elif kind == "label C":
        bad = poked(num_classes)
    elif kind == "label 2**40":
        bad = poked(2 ** 40)
    elif kind == "label -1":
        bad = poked(-1)
    elif kind == "numpy":
        bad = y.numpy().copy()
    elif kind == "list":
        bad = y.tolist()
    elif kind == "None":
        bad = None
    elif kind == "empty":
        bad = torch.zeros(0, dtype=torch.int64)
        names = (name, *also)
    else:
        raise AssertionError(kind)
    if isinstance(bad, torch.Tensor) and bad.numel() == 0:
        names = (name, *also)
    return Bad(bad, kind, names)


def spoil_positive(draw, name: str, *, allow_zero: bool = False, upper=None) -> Bad:
    """A bad value for a finite hyperparameter > 0 (>= 0 with ``allow_zero``; < ``upper`` if given)."""
    options = [-1e-3, -1, -0.5, NAN, INF, -INF, "0.1", None, True, [0.1], 1 + 0j, HUGE_INT, -HUGE_INT]
    if not allow_zero:
        options += [0, 0.0]
    if upper is not None:
        options += [upper + 1]
    value = draw(st.sampled_from(options))
    return Bad(value, f"{name}={value!r}"[:40], (name,))


def spoil_count(draw, name: str, *, minimum: int = 1, maximum: int | None = MAX_COUNT) -> Bad:
    """A bad value for an integer >= ``minimum`` (and <= ``maximum``, the library's limit on any count,
    unless None: seeds)."""
    options = [minimum - 1, -3, 2.5, 3.0, "2", None, True, np.float64(2), [2], NAN]
    if maximum is not None:
        options += [maximum + 1, 2 ** 62, HUGE_INT]
    value = draw(st.sampled_from(options))
    return Bad(value, f"{name}={value!r}"[:40], (name,))


def spoil_unit(draw, name: str, *, closed_low: bool, closed_high: bool) -> Bad:
    """A bad value for a number in the unit interval with the given closed ends (keep_prob (0, 1],
    beta [0, 1))."""
    options = [-0.1, 1.5, NAN, INF, "0.5", None, True, [0.5], HUGE_INT]
    options += [] if closed_low else [0, 0.0]
    options += [] if closed_high else [1, 1.0]
    value = draw(st.sampled_from(options))
    return Bad(value, f"{name}={value!r}"[:40], (name,))


def spoil_choice(draw, name: str, choices) -> Bad:
    value = draw(st.sampled_from(["nope", str(sorted(choices)[0]).upper(), None, [sorted(choices)[0]], 3, ""]))
    return Bad(value, f"{name}={value!r}"[:40], (name,))


def spoil_flag(draw, name: str) -> Bad:
    value = draw(st.sampled_from([1, 0, "yes", "no", "False", None, 1.0, np.bool_(True)]))
    return Bad(value, f"{name}={value!r}", (name,))


def spoil_extreme(name: str, a, *, must_fail: bool = True) -> Bad:
    """``a`` (an array or a tensor) with finite entries of magnitude max float / 4, their signs
    alternating along every axis (a checkerboard): their squares overflow, and so does any variance
    of them (refused where a function squares its argument: feature normalisation, RMSprop's and
    Adam's second moment). ``must_fail=False`` where the answer is also right (one example: a
    constant feature)."""
    dtype = np.dtype(str(a.dtype).removeprefix("torch."))
    signs = np.where(np.indices(tuple(a.shape)).sum(axis=0) % 2 == 0, 1.0, -1.0)
    values = (signs * (np.finfo(dtype).max / 4)).astype(dtype)
    bad = torch.from_numpy(values) if isinstance(a, torch.Tensor) else values
    return Bad(bad, "entries of +-max/4", (name,), must_fail)


def spoil_negative(name: str, a: np.ndarray) -> Bad:
    """``a`` (a variance) with one negative entry."""
    bad = np.array(a, copy=True)
    bad.flat[0] = -1.0
    return Bad(bad, "a negative variance", (name,))
