"""The input contract of each concept: which arguments are accepted, with the message that names
a refused one. Shared by both sides (reference_torch imports these), so a bad input is refused
the same way whichever side is called; the generic checks (arrays, counts, choices) are in
``validation``.
"""

from __future__ import annotations

import copy

import numpy as np

from .records import History, Resume
from .validation import (as_rng, check_choice, check_count, check_float_array, check_plain_array, check_positive,
                         finite_float)


def check_keep_prob(name: str, value) -> float:
    """A keep probability in (0, 1]: 1 keeps every unit (dropout off); 0 would keep none."""
    number = finite_float(value)
    if number is None or not 0 < number <= 1:
        raise ValueError(f"{name} must be a number in (0, 1] (1 = no dropout), got {value!r}"[:200])
    return number


def check_keep_probs(keep_probs, num_hidden: int) -> tuple[float, ...]:
    """keep_prob per hidden layer: None (1.0 everywhere, no dropout), one number for every
    hidden layer, or a list/tuple of ``num_hidden`` numbers in (0, 1]."""
    if keep_probs is None:
        return (1.0,) * num_hidden
    if isinstance(keep_probs, (list, tuple)):
        if len(keep_probs) != num_hidden:
            raise ValueError(f"keep_probs must give one keep_prob per hidden layer ({num_hidden}), "
                             f"got {len(keep_probs)}: {list(keep_probs)}")
        return tuple(check_keep_prob(f"keep_probs[{i}]", p) for i, p in enumerate(keep_probs))
    return (check_keep_prob("keep_probs", keep_probs),) * num_hidden


def check_beta(name: str, value) -> float:
    """A decay rate beta in [0, 1) (1 would never move, above 1 diverges)."""
    number = finite_float(value)
    if number is None or not 0 <= number < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}"[:200])
    return number


PART_NAMES = ("train", "dev", "test")


def check_ratios(ratios) -> tuple[float, ...]:
    """2 or 3 ratios (train, dev[, test]), each > 0, adding up to 1."""
    if not isinstance(ratios, (list, tuple)) or len(ratios) not in (2, 3):
        raise ValueError(f"ratios must be a list of 2 or 3 numbers (train, dev[, test]), got {ratios!r}")
    for name, r in zip(PART_NAMES, ratios):
        if finite_float(r) is None or not 0 < r < 1:
            raise ValueError(f"ratios: the {name} ratio must be a number in (0, 1), got {r!r}")
    if abs(sum(ratios) - 1) > 1e-9:
        raise ValueError(f"ratios must add up to 1, got {ratios!r} (sum {sum(ratios)!r})")
    return tuple(float(r) for r in ratios)


SAMPLING = ("shuffle", "replacement")


def check_batch_size(batch_size) -> int:
    """A batch size is an integer >= 1 (a size above m gives one batch of all m examples)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1 (1: stochastic, m: batch gradient descent), "
                         f"got {batch_size!r}")
    return check_count("batch_size", batch_size)   # and at most MAX_COUNT, as every count


def check_permutation(permutation, m: int | None, name: str = "permutation") -> np.ndarray:
    """A 1-D integer array holding each of 0, ..., m - 1 exactly once (m None: its own length);
    returned as int64."""
    check_plain_array(name, permutation)
    if not isinstance(permutation, np.ndarray) or permutation.ndim != 1 or permutation.dtype.kind not in "iu":
        got = (f"array of shape {permutation.shape} and dtype {permutation.dtype}"
               if isinstance(permutation, np.ndarray) else type(permutation).__name__)
        raise ValueError(f"{name} must be a 1-D integer numpy array (a permutation of "
                         f"0..{'m - 1' if m is None else m - 1}), got {got}")
    m = permutation.shape[0] if m is None else m
    if permutation.shape[0] != m or not np.array_equal(np.sort(permutation), np.arange(m)):
        raise ValueError(f"{name} must hold each of 0..{m - 1} exactly once (m = {m} examples)")
    return permutation.astype(np.int64)


def check_index_batches(batches, m: int, name: str = "index_batches") -> list[np.ndarray]:
    """A list (or tuple) of index batches, each a non-empty 1-D integer array (or list) of
    example indices in [0, m); returned as arrays."""
    if not isinstance(batches, (list, tuple)):
        raise ValueError(f"{name} must be a list of 1-D index arrays, got {type(batches).__name__}")
    checked = []
    for k, batch in enumerate(batches):
        try:
            batch = np.asarray(batch)
        except ValueError:   # a ragged nesting such as [0, [1, 2]]
            batch = None
        if (batch is None or batch.ndim != 1 or batch.size == 0 or batch.dtype.kind not in "iu"
                or batch.min() < 0 or batch.max() >= m):
            raise ValueError(f"{name}[{k}] must be a non-empty 1-D list of indices in [0, {m - 1}]")
        checked.append(batch)
    return checked


IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.float64))


def check_images(name: str, images) -> np.ndarray:
    """A non-empty (m, H, W, C) array of uint8, float32 or float64 (finite)."""
    check_plain_array(name, images)
    if not isinstance(images, np.ndarray) or images.dtype not in IMAGE_DTYPES:
        got = f"dtype {images.dtype}" if isinstance(images, np.ndarray) else type(images).__name__
        raise ValueError(f"{name} must be a numpy array of uint8, float32 or float64, got {got}")
    if images.ndim != 4 or images.size == 0:
        raise ValueError(f"{name} must have shape (m, H, W, C) with no empty axis, got {images.shape}")
    if images.dtype.kind == "f" and not np.isfinite(images).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return images


def check_flip(flip, m: int) -> np.ndarray:
    check_plain_array("flip", flip)
    if not isinstance(flip, np.ndarray) or flip.dtype != bool or flip.shape != (m,):
        got = f"{flip.dtype} array of shape {flip.shape}" if isinstance(flip, np.ndarray) else type(flip).__name__
        raise ValueError(f"flip must be a bool array of shape ({m},), one flag per image, got {got}")
    return flip


def check_offsets(offsets, m: int, padding: int) -> np.ndarray:
    check_plain_array("offsets", offsets)
    if not isinstance(offsets, np.ndarray) or offsets.dtype.kind not in "iu" or offsets.shape != (m, 2):
        got = f"{offsets.dtype} array of shape {offsets.shape}" if isinstance(offsets, np.ndarray) \
            else type(offsets).__name__
        raise ValueError(f"offsets must be an integer array of shape ({m}, 2), (top, left) per image, got {got}")
    if offsets.min() < 0 or offsets.max() > 2 * padding:
        raise ValueError(f"offsets must lie in [0, 2 * padding] = [0, {2 * padding}], "
                         f"got values from {offsets.min()} to {offsets.max()}")
    return offsets.astype(np.int64)


def check_resume(resume, epochs: int, has_dev: bool, has_scheduler: bool, early_stopping=None) -> History:
    """A copy of ``resume.history`` after checking that it fits this run (ValueError otherwise).
    An early_stopping hook is refused: its memory (best epoch, patience count) is not in a Resume,
    so a resumed run would decide differently."""
    if not isinstance(resume, Resume) or not isinstance(resume.history, History):
        raise ValueError(f"resume must be a training.Resume holding a History, got {type(resume).__name__}")
    if early_stopping is not None:
        raise ValueError("resume cannot be combined with early_stopping: the hook's memory is not in a Resume")
    h = resume.history
    if not 0 <= h.epochs_run <= epochs:
        raise ValueError(f"resume: the history has run {h.epochs_run} epochs, this run has {epochs}")
    per_epoch = {"epoch_costs": h.epochs_run, "train_accuracy": h.epochs_run,
                 "dev_accuracy": h.epochs_run if has_dev else 0, "learning_rates": len(h.costs)}
    for name, expected in per_epoch.items():
        if len(getattr(h, name)) != expected:
            raise ValueError(f"resume: history.{name} holds {len(getattr(h, name))} entries, expected {expected}")
    if (resume.scheduler is not None) != has_scheduler:
        raise ValueError("resume: the scheduler state must be given exactly when the run has a torch schedule "
                         f"(schedule {'given' if has_scheduler else 'none'}, state "
                         f"{'none' if resume.scheduler is None else 'given'})")
    return copy.deepcopy(h)   # the caller's record stays as it was


def check_loop_arguments(epochs, batch_size, callback, early_stopping, dev_pair, checkpoint=None):
    """Checks shared by both training loops; returns (epochs, batch_size)."""
    epochs = check_count("epochs", epochs)
    batch_size = check_batch_size(batch_size)
    for name, fn in (("callback", callback), ("early_stopping", early_stopping), ("checkpoint", checkpoint)):
        if fn is not None and not callable(fn):
            raise ValueError(f"{name} must be callable or None, got {fn!r}")
    if (dev_pair[0] is None) != (dev_pair[1] is None):
        raise ValueError("give both dev inputs X_dev and dev labels Y_dev (y_dev on the torch side), or neither")
    return epochs, batch_size


MONITORS = ("dev_error", "dev_cost")


def check_error(name: str, value) -> float:
    """An error rate: a finite number in [0, 1]."""
    number = finite_float(value)
    if number is None or not 0 <= number <= 1:
        raise ValueError(f"{name} must be an error rate in [0, 1] (0.15 for 15 %), got {value!r}"[:200])
    return number


def _check_base(base) -> float:
    base = check_positive("base", base)
    if base > 1:
        raise ValueError(f"base must lie in (0, 1] (a decay), got {base!r}")
    return base


# schedule name: {hyperparameter: (default, check)} (the formulas are each side's: scratch_numpy.schedules)
SCHEDULE_HYPERPARAMETERS = {
    "constant": {},
    "inverse_time": {"decay_rate": (1.0, lambda v: check_positive("decay_rate", v, allow_zero=True))},
    "exponential": {"base": (0.95, _check_base)},
    "inverse_sqrt_epoch": {"k": (1.0, lambda v: check_positive("k", v))},
    "inverse_sqrt_step": {"k": (1.0, lambda v: check_positive("k", v))},
    "staircase": {"decay_rate": (1.0, lambda v: check_positive("decay_rate", v, allow_zero=True)),
                  "time_interval": (1000, lambda v: check_count("time_interval", v))},
}


def check_schedule(name, delay, hyperparameters: dict) -> tuple[int, dict]:
    """(delay, {hyperparameter: checked value, defaults filled in}) for schedule ``name``."""
    check_choice("schedule", name, SCHEDULE_HYPERPARAMETERS)
    delay = check_count("delay", delay, minimum=0)
    spec = SCHEDULE_HYPERPARAMETERS[name]
    unknown = set(hyperparameters) - set(spec)
    if unknown:
        raise ValueError(f"schedule {name!r} takes {sorted(spec) or 'no hyperparameters'}, "
                         f"got unexpected {sorted(unknown)}")
    return delay, {k: check(hyperparameters.get(k, default)) for k, (default, check) in spec.items()}


def check_batch_order(m, epochs, batch_size, permutations, seed, sampling: str):
    """The arguments that give a training run's batches: (m, epochs, batch_size, rng, permutations).

    sampling "shuffle": exactly one of ``permutations`` (at least one per epoch, each of 0..m-1;
    returned checked, cut to ``epochs``) and ``seed`` (rng, to draw them). "replacement": ``seed``
    only. ``rng`` is None without a seed."""
    m, epochs = check_count("m", m), check_count("epochs", epochs)
    batch_size = check_batch_size(batch_size)
    check_choice("sampling", sampling, SAMPLING)
    rng = None if seed is None else as_rng(seed, "seed")
    if (permutations is None) == (seed is None) and sampling == "shuffle":
        raise ValueError("give exactly one of permutations (one per epoch) and seed (to draw them)")
    if sampling == "replacement":
        if permutations is not None or seed is None:
            raise ValueError("sampling='replacement' draws its batches from seed: give seed, not permutations")
        return m, epochs, batch_size, rng, None
    if permutations is not None:
        if len(permutations) < epochs:
            raise ValueError(f"permutations holds {len(permutations)} permutations for {epochs} epochs")
        permutations = [check_permutation(p, m, f"permutations[{e}]") for e, p in enumerate(permutations[:epochs])]
    return m, epochs, batch_size, rng, permutations


STATE_DOCS = {"v": "the first moment / velocity", "s": "the second moment (running mean of dW^2)"}


def check_optimizer_state(state, names, shapes) -> dict:
    """An optimiser's initial state, in the course's names and shapes (what ``Optimizer.state`` and
    reference_torch.optim.optimizer_state return): {"t": t, "v": {"dW1": ..., "db1": ...}, "s": {...}}.

    ``names``: the state dicts the optimiser keeps (("v", "s") for Adam, () for gradient descent),
    each required, holding exactly one array per parameter ("d" + key), of that parameter's shape and
    dtype, finite; s (a running mean of squares) >= 0. "t" (optional, default 0): the number of steps
    already taken, an integer >= 0 (the next step is t + 1: the course's
    ``update_parameters_with_adam(..., t=2)`` on fresh v, s is ``state={"t": 1, ...}``). Returned as a
    new dict of copies. Shared by both sides (scratch_numpy.optim.Optimizer, reference_torch.optim.make_optimizer)."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be a dict {{'t': t, {', '.join(repr(n) + ': {...}' for n in names)}}} "
                         f"in the course's names, got {type(state).__name__}"[:300])
    allowed = ("t", *names)
    unknown = [k for k in state if k not in allowed]
    if unknown:
        raise ValueError(f"state has unexpected keys {unknown!r}: this optimiser keeps {list(allowed)}"[:300])
    missing = [n for n in names if n not in state]
    if missing:
        raise ValueError(f"state is missing {missing} ({', '.join(STATE_DOCS[n] for n in missing)}): "
                         f"give every one of {list(names)}, e.g. zeros of each parameter's shape")
    checked = {"t": check_count("state['t']", state.get("t", 0), minimum=0)}
    expected = ["d" + key for key in shapes]
    for name in names:
        arrays = state[name]
        if not isinstance(arrays, dict) or sorted(arrays) != sorted(expected):
            got = sorted(arrays) if isinstance(arrays, dict) else type(arrays).__name__
            raise ValueError(f"state[{name!r}] must be a dict holding exactly {expected} "
                             f"(one array per parameter, the gradients' names), got {got}"[:300])
        checked[name] = {}
        for key, (shape, dtype) in shapes.items():
            label = f"state[{name!r}]['d{key}']"
            value = check_float_array(label, arrays["d" + key], ndim=len(shape), shape=shape, dtype=dtype,
                                      minimum=0.0 if name == "s" else None)
            checked[name]["d" + key] = np.array(value, copy=True)
    return checked
