"""Input checks shared by every public entry point of ``scratch_numpy``.

Each check raises ``ValueError`` naming the argument, what was expected and
what was given. Nothing is broadcast, cast or reshaped behind the caller's
back: a rank-1 array where a column is meant, an integer array where floats
are needed or a NaN in the data is an error, not a guess.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# The library's limit on any count (examples, units, epochs, steps) and on the entries of any array it
# allocates: 2**40 (8 TiB of float64). Past it NumPy fails with "array is too big", torch with "Storage size
# calculation overflowed" (or float(count) overflows): neither names the argument.
MAX_COUNT = 2 ** 40


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"[:120]


def check_plain_array(name: str, x):
    """``x`` (whatever it is) is not an ``np.matrix`` or a masked array:
    ``*`` is a matrix product for a matrix and every reduction skips a masked array's hidden
    entries (a NaN under the mask included), so either would give silently wrong numbers. They are
    refused with a TypeError rather than converted, since which conversion is meant (``np.asarray``
    keeps the masked values, ``x.filled(v)`` replaces them) is the caller's choice."""
    if isinstance(x, np.matrix):
        raise TypeError(f"{name} must be a plain numpy array, got np.matrix of shape {x.shape} "
                        f"(* is a matrix product for it): pass np.asarray({name})")
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(f"{name} must be a plain numpy array, got a masked array of shape {x.shape} "
                        f"(its masked entries would be used or skipped silently): pass {name}.filled(value)")
    return x


def check_float_array(name: str, x, *, ndim: int | None = 2, shape=None, dtype=None,
                      finite: bool = True, minimum: float | None = None) -> np.ndarray:
    """Return ``x`` unchanged after checking it is a float32/float64 ndarray (not a matrix or a
    masked array: ``check_plain_array``).

    ``ndim`` None: any rank. ``shape`` may hold ``None`` for a free dimension, e.g. ``(3, None)``.
    ``dtype`` pins the dtype (so float32 is never mixed with float64). ``minimum``: every entry must be
    at least this (a variance >= 0).
    """
    check_plain_array(name, x)
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {_describe(x)}")
    if x.dtype not in FLOAT_DTYPES:
        raise ValueError(f"{name} must have dtype float32 or float64, got {x.dtype}")
    if dtype is not None and x.dtype != np.dtype(dtype):
        raise ValueError(f"{name} must have dtype {np.dtype(dtype)} like the other operands, "
                         f"got {x.dtype} (float32 and float64 are never mixed)")
    if ndim is not None and x.ndim != ndim:
        hint = " (a rank-1 array is not a column: use shape (n, 1) or (1, m))" if x.ndim == 1 else ""
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}{hint}")
    if shape is not None:
        _check_shape(name, x.shape, shape)
    if x.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {x.shape}")
    if finite and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values")
    if minimum is not None and x.min() < minimum:
        raise ValueError(f"{name} must hold values >= {minimum}, got {x.min()}")
    return x


def unchecked(fn):
    """The unchecked kernel behind a public checked function (its ``.unchecked``), for callers
    that validated their inputs at their own boundary (models.Network, optim.Optimizer); ``fn``
    itself when it has none (e.g. a replacement planted by a test)."""
    return getattr(fn, "unchecked", fn)


def _check_shape(name: str, got: tuple, expected: tuple) -> None:
    ok = len(got) == len(expected) and all(e is None or g == e for g, e in zip(got, expected))
    if not ok:
        shown = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name} must have shape {shown}, got {got}")


def check_same_shape(name: str, x: np.ndarray, like_name: str, like: np.ndarray) -> None:
    if x.shape != like.shape:
        raise ValueError(f"{name} must have the shape of {like_name} {like.shape}, got {x.shape}")


ANY_CLASSES = np.iinfo(np.int64).max   # the "any number of classes" of splits and the bridge


def check_labels(name: str, Y, *, m: int, num_classes: int, relaxed: bool | None = None) -> np.ndarray:
    """Class labels as a (1, m) row of integers in [0, num_classes); the result is int64, a new
    array (the caller's is never modified).

    Integer or float arrays holding whole numbers are accepted (the course stores binary labels
    as floats and as int64). Where the labels feed a computation with a known number of classes
    (``relaxed``, by default: ``num_classes`` below ANY_CLASSES, i.e. every loss, model and
    logistic regression; not splits or the bridge, which return or convert the caller's row) two
    course habits are accepted too, with exactly the result of the int (1, m) row:

    * a boolean row (the course's test cases build labels as ``np.random.randn(1, m) > 0``),
      as 0/1, for binary outputs (``num_classes`` 2) only;
    * a rank-1 (m,) vector of exactly m labels, as the row (1, m).

    Any other shape (a column (m, 1), a rank-1 vector of another length) is refused with the
    exact fix, "pass Y as shape (1, m), e.g. Y.reshape(1, -1)".
    """
    check_plain_array(name, Y)
    if not isinstance(Y, np.ndarray):
        raise ValueError(f"{name} must be a numpy array of labels, got {_describe(Y)}")
    relaxed = num_classes < ANY_CLASSES if relaxed is None else relaxed
    fix = f"pass {name} as shape (1, m), e.g. {name}.reshape(1, -1)"
    if Y.ndim == 1 and relaxed and Y.shape[0] == m and m > 0:
        Y = Y.reshape(1, m)   # a view: the cast below copies
    if Y.ndim != 2 or Y.shape[0] != 1:
        raise ValueError(f"{name} must have shape (1, m) with one label per example (column), "
                         f"got {Y.shape}: {fix}")
    if Y.size == 0:
        raise ValueError(f"{name} must hold at least one label, got shape {Y.shape}")
    if Y.shape[1] != m:
        raise ValueError(f"{name} has {Y.shape[1]} examples but the input has m = {m}")
    if Y.dtype == np.bool_:
        if relaxed and num_classes == 2:
            return Y.astype(np.int64)   # False/True -> 0/1, a copy
        raise ValueError(f"{name} must hold integer class labels, got dtype bool (booleans are accepted "
                         f"as 0/1 for binary outputs only): pass {name}.astype(np.int64)")
    if Y.dtype.kind not in "iuf" or (Y.dtype.kind == "f" and not np.isfinite(Y).all()):
        raise ValueError(f"{name} must hold finite integer labels, got dtype {Y.dtype}")
    if Y.dtype.kind == "f" and (np.floor(Y) != Y).any():
        raise ValueError(f"{name} must hold whole-number labels, got fractional values")
    # the range is checked on the values as given (Python numbers, exact), before the cast to
    # int64, which would wrap a uint64 above 2**63 and overflow (with a RuntimeWarning) on 1e20
    low, high = Y.min().item(), Y.max().item()
    if low < 0 or high >= num_classes:
        raise ValueError(f"{name} labels must lie in [0, {num_classes - 1}], "
                         f"got values from {_label(low)} to {_label(high)}")
    return Y.astype(np.int64)


def _label(value) -> str:
    """A label as the message shows it: whole floats without their ``.0`` (2.0 -> 2)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
        return str(int(value))
    return str(value)


def check_positive(name: str, value, *, allow_zero: bool = False) -> float:
    number = finite_float(value)
    if number is None or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}"[:200])
    return number


def check_finite_number(name: str, value) -> float:
    """A finite real scalar (a Python or NumPy int or float, not a bool), as a float."""
    number = finite_float(value)
    if number is None:
        raise ValueError(f"{name} must be a finite Python or NumPy float scalar, got {value!r}"[:200])
    return number


def finite_float(value) -> float | None:
    """``value`` as a float if it is a real number (a Python or NumPy int or float, not a bool) with a
    finite float value, else None: the test every hyperparameter check starts from (np.isfinite on
    an int too large for a float, 10**400, is NumPy's TypeError naming nothing)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        return None
    number = _as_float(value)
    return number if number is not None and np.isfinite(number) else None


def _as_float(value) -> float | None:
    """``float(value)``, or None for an integer too large for any float (10**400)."""
    try:
        return float(value)
    except OverflowError:
        return None


def check_count(name: str, value, *, minimum: int = 1, maximum: int | None = MAX_COUNT) -> int:
    """An integer (not a bool) >= ``minimum`` and, unless ``maximum`` is None (seeds), at most
    ``maximum`` (MAX_COUNT: no size, count of examples, epochs or steps is larger)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}"[:200])
    if maximum is not None and value > maximum:
        why = " (2**40, the library's limit on any size or count)" if maximum == MAX_COUNT else ""
        raise ValueError(f"{name} must be at most {maximum}{why}, got {value}"[:200])
    return int(value)


def check_flag(name: str, value) -> bool:
    """A switch must be True or False itself (1, 0, "yes" or None are mistakes, not switches)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def check_shape(name: str, shape) -> tuple[int, ...]:
    """An array shape: a tuple or list of sizes >= 1 with at most MAX_COUNT entries in all."""
    sizes = _sizes(name, shape)
    check_entries(name, sizes)
    return sizes


def _sizes(name: str, shape) -> tuple[int, ...]:
    if not isinstance(shape, (tuple, list)) or not shape:
        raise ValueError(f"{name} must be a tuple of sizes such as (n, m), got {shape!r}"[:200])
    return tuple(check_count(f"{name}[{i}]", s) for i, s in enumerate(shape))


def check_entries(name: str, sizes: tuple) -> None:
    """An array of shape ``sizes`` would hold at most MAX_COUNT entries."""
    if math.prod(sizes) > MAX_COUNT:
        raise ValueError(f"{name} asks for an array of shape {sizes}, {math.prod(sizes)} entries: at most "
                         f"{MAX_COUNT} (2**40, the library's limit on any array) are allowed")


def check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_float_dtype(name: str, dtype) -> str:
    """The name "float32" or "float64", or the NumPy dtype of an operand; returned as the name."""
    if not isinstance(dtype, (str, np.dtype)) or str(dtype) not in ("float32", "float64"):
        raise ValueError(f"{name} must be one of ['float32', 'float64'], got {dtype!r}"[:200])
    return str(dtype)


def check_layer_dims(layer_dims) -> tuple[int, ...]:
    """Layer sizes [n_x, n_1, ..., n_L]: a list, tuple or 1-D array of at least two positive ints, each
    W_l (n_l, n_{l-1}) within MAX_COUNT entries."""
    is_row = isinstance(layer_dims, (list, tuple)) or (isinstance(layer_dims, np.ndarray) and layer_dims.ndim == 1)
    if not is_row or len(layer_dims) < 2:
        raise ValueError(f"layer_dims must be a list of at least two sizes [n_x, ..., n_L], got {layer_dims!r}")
    sizes = _sizes("layer_dims", list(layer_dims))
    for l in range(1, len(sizes)):
        check_entries(f"layer_dims (W{l})", (sizes[l], sizes[l - 1]))
    return sizes


def check_params(name: str, params, *, keys) -> Mapping[str, np.ndarray]:
    """Check a parameter dict holds exactly ``keys`` (e.g. W1, b1, W2, b2)."""
    if not isinstance(params, Mapping):
        raise ValueError(f"{name} must be a dict of arrays, got {_describe(params)}")
    missing = [k for k in keys if k not in params]
    if missing:
        raise ValueError(f"{name} is missing {missing}; expected keys {list(keys)}")
    return params


def check_model(name: str, model, cls):
    """``model`` is an instance of ``cls`` (a class or a tuple of classes): None, a string or
    any other object in its place is a TypeError naming the argument and the expected type, not an
    AttributeError from deep inside."""
    if not isinstance(model, cls):
        expected = " or ".join(_class_name(c) for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise TypeError(f"{name} must be a {expected}, got {type(model).__name__}")
    return model


def _class_name(cls) -> str:
    """The shortest public path of a class: torch.optim.SGD rather than torch.optim.sgd.SGD."""
    parts = cls.__module__.split(".")
    while len(parts) > 1 and getattr(sys.modules.get(".".join(parts[:-1])), cls.__name__, None) is cls:
        parts.pop()
    return ".".join(parts + [cls.__qualname__])


def sum_of_squares(arrays) -> float:
    """sum over ``arrays`` of sum(a**2), one BLAS dot per array that writes nothing: the fast proof that
    every entry is finite (a finite sum <= max float) and of bounded magnitude; inf or NaN when an entry
    is not finite or the sum overflows (then an exact check finds the array at fault)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return sum(float(np.dot(flat, flat)) for flat in (a.reshape(-1) for a in arrays))


def squarable_limit(dtype) -> float:
    """The largest gradient magnitude RMSprop and Adam accept in ``dtype``: sqrt(max float) / 2."""
    return float(np.sqrt(np.finfo(dtype).max)) / 2


def check_squarable(name: str, largest, dtype) -> None:
    """RMSprop and Adam square the gradient: one whose largest magnitude ``largest`` exceeds
    sqrt(max float) / 2 (6.7e153 in float64, 9.2e18 in float32) is refused, on both sides
    (reference_torch.optim.make_optimizer), rather than overflowing s to inf -- NumPy's overflow
    warning and a step of 0, torch's silent step of 0 -- although Adam's ideal step, invariant to the
    gradient's scale, is about lr (CONVENTIONS.md)."""
    limit, largest = squarable_limit(dtype), float(largest)
    if largest != largest:   # NaN: no comparison below would catch it
        raise ValueError(f"{name} has NaN entries")
    if largest > limit:
        raise ValueError(f"{name} has entries of magnitude up to {largest:.3g}: RMSprop and Adam square "
                         f"the gradient, which overflows {np.dtype(dtype)} past {limit:.3g}; rescale the cost "
                         "or clip the gradients")


def too_spread_message(name: str, dtype) -> str:
    """Why a variance past the largest float is refused (both sides' normalisation)."""
    return (f"{name} has a feature whose variance exceeds the largest {dtype} ({np.finfo(dtype).max:.3g}): "
            "rescale the data (e.g. divide by its largest magnitude) before normalising")


def as_rng(rng, name: str = "rng"):
    """An int seed becomes a fresh ``default_rng``; Generators and RandomStates pass through.
    ``name``: the argument the message names (seed, dropout_rng, ...)."""
    if isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"{name} must be a non-negative int seed, a numpy Generator or a RandomState, got {rng!r}"[:200])
