"""Twin runs for the practical tools: normalisation, splits, augmentation, early stopping,
gradient checking, signal norms and the bias/variance diagnosis.

Each function draws its inputs once with NumPy (seeded), runs the NumPy side and the torch side
on copies, and returns a ``ParityReport``. Names: outputs never start with "d"; gradients and
slopes start with "d"; parameters after training contain " after ". ``CASES`` lists one row per
concept for the parity report: (label, run(dtype, device) -> ParityReport).

Bridged conventions: torch is batch-first, so X (n_x, m) is compared with X_t.T, images
(m, H, W, C) with (m, C, H, W) permuted back, statistics (n_x, 1) with (n_x,)[:, None]; autograd's
input gradients are the NumPy side's per-example ones divided by m (reference_torch.signals
multiplies back). Index sets, flips and crops are data movement: they must agree bit for bit.
Gradient checking runs in float64 only (its step is lost to rounding in float32): in float32 its
row compares the float32 gradients, and the two-sided gradients of the same parameters in float64.
"""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import augmentation as t_augmentation
from reference_torch import bridge
from reference_torch import diagnosis as t_diagnosis
from reference_torch import early_stopping as t_early_stopping
from reference_torch import gradcheck as t_gradcheck
from reference_torch import models as t_models
from reference_torch import normalization as t_normalization
from reference_torch import optim as t_optim
from reference_torch import signals as t_signals
from reference_torch import splits as t_splits
from reference_torch import training as t_training
from scratch_numpy import augmentation as n_augmentation
from scratch_numpy import diagnosis as n_diagnosis
from scratch_numpy import early_stopping as n_early_stopping
from scratch_numpy import gradcheck as n_gradcheck
from scratch_numpy import models as n_models
from scratch_numpy import normalization as n_normalization
from scratch_numpy import optim as n_optim
from scratch_numpy import signals as n_signals
from scratch_numpy import splits as n_splits
from scratch_numpy import training as n_training

from .checker.harness import FINITE_DIFFERENCE_TOLERANCE, compare
from .twins_optim import EXACT, FLOAT32_TRAJECTORY, FLOAT64_TRAJECTORY

REFERENCE_NET = ((4, 5, 3, 1), "relu", "sigmoid")  # the course's gradient-checking network


# ----------------------------------------------------------------------------- normalisation

def normalization(*, dtype="float64", device="cpu", n_x=5, m=30, m_dev=12, eps=0.0, seed=0):
    """mu and sigma^2 fitted on a training set (one feature constant, the others shifted and
    scaled), and the training and dev sets normalised with them."""
    rng = np.random.default_rng(seed)
    scale, shift = rng.uniform(0.1, 10, (n_x, 1)), rng.uniform(-5, 5, (n_x, 1))
    X, X_dev = (shift + scale * rng.standard_normal((n_x, k)) for k in (m, m_dev))
    X[1], X_dev[1] = 0.1, 0.3   # constant on train, not on dev
    X, X_dev = X.astype(dtype), X_dev.astype(dtype)
    (Xn, Xn_dev), (mu, sigma2) = n_normalization.normalize_sets(X, X_dev, eps=eps)
    Xt, Xt_dev = (bridge.data_to_torch(x, device=device) for x in (X, X_dev))
    (Xtn, Xtn_dev), (mu_t, sigma2_t) = t_normalization.normalize_sets(Xt, Xt_dev, eps=eps)
    return compare({"mu": mu, "sigma2": sigma2, "X_train normalised": Xn, "X_dev normalised": Xn_dev},
                   {"mu": mu_t[:, None], "sigma2": sigma2_t[:, None], "X_train normalised": Xtn.T,
                    "X_dev normalised": Xtn_dev.T},
                   label=f"input normalisation, eps={eps:g}")


# ----------------------------------------------------------------------------- splits

def splits(ratios=(0.6, 0.2, 0.2), *, dtype="float64", device="cpu", m=50, num_classes=3, stratify=False, seed=0):
    """Index sets of every part and the examples they select: NumPy columns vs the torch Subsets."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2, m)).astype(dtype)
    Y = rng.integers(0, num_classes, size=(1, m))
    parts = n_splits.split_indices(m, ratios, seed=seed, labels=Y if stratify else None)
    pairs = n_splits.split(X, Y, ratios, seed=seed, stratify=stratify)
    Xt, yt = bridge.data_to_torch(X, Y, device)
    subsets = t_splits.split(Xt, yt, ratios, seed=seed, stratify=stratify)
    numpy_rows, torch_rows = {}, {}
    for name, idx, (X_k, Y_k), subset in zip(n_splits.PART_NAMES, parts, pairs, subsets):
        X_s, y_s = (torch.stack(column) for column in zip(*subset))   # through Subset.__getitem__
        numpy_rows.update({f"indices ({name})": idx, f"X_{name}": X_k, f"Y_{name}": Y_k})
        torch_rows.update({f"indices ({name})": np.asarray(subset.indices, dtype=np.int64), f"X_{name}": X_s.T,
                           f"Y_{name}": y_s[None, :]})
    what = "/".join(f"{100 * r:g}" for r in ratios)
    return compare(numpy_rows, torch_rows, tolerance=EXACT,
                   label=f"split {what}{', stratified' if stratify else ''} (m={m})")


# ----------------------------------------------------------------------------- augmentation

def augmentation(operation="augment", *, dtype="float64", device="cpu", shape=(6, 8, 10, 3), padding=2, seed=0):
    """``operation`` ("flip", "crop" or "augment") on random images (m, H, W, C) in ``dtype``
    (float32, float64 or uint8), with the same NumPy draws on both sides."""
    rng = np.random.default_rng(seed)
    images = (rng.integers(0, 256, shape) if dtype == "uint8" else rng.standard_normal(shape)).astype(dtype)
    draws = n_augmentation.draw(shape[0], padding, rng)
    images_t = t_augmentation.to_channels_first(images, device)
    run = {"flip": lambda side, x: side.horizontal_flip(x, draws.flip),   # side: either module, same names
           "crop": lambda side, x: side.random_crop(x, draws.offsets, padding),
           "augment": lambda side, x: side.augment(x, draws, padding)}[operation]
    out, out_t = run(n_augmentation, images), run(t_augmentation, images_t)
    return compare({f"images ({operation})": out}, {f"images ({operation})": out_t.permute(0, 2, 3, 1)},
                   tolerance=EXACT, label=f"augmentation {operation} (padding {padding})")


# ----------------------------------------------------------------------------- early stopping

def rising_dev_error_data(seed=1, m=40, m_dev=200, noise=0.3):
    """A set-up where dev error rises: the label is x1 + x2 > 0 on [-1, 1]^2; 30 % of the 40
    training labels are flipped, the 200 dev labels are clean. A [2, 32, 32, 1] ReLU net trained
    by full-batch Adam (lr 0.003) first learns the line (dev error 7 % at epoch 12), then fits
    the flipped labels and the dev error climbs (about 48 % after 150 epochs)."""
    rng = np.random.default_rng(seed)

    def draw(k, flip_fraction):
        X = rng.uniform(-1, 1, (2, k))
        Y = (X[0] + X[1] > 0).astype(np.int64)[None]
        flipped = rng.random(k) < flip_fraction
        Y[0, flipped] = 1 - Y[0, flipped]
        return X, Y
    X, Y = draw(m, noise)
    X_dev, Y_dev = draw(m_dev, 0.0)
    return X, Y, X_dev, Y_dev, rng


def _rising_pair(dtype, device, seed):
    """The [2, 32, 32, 1] ReLU net on ``rising_dev_error_data`` on both sides, from the same He draw:
    (net, params, (X, Y, X_dev, Y_dev), model, (Xt, yt, Xt_dev, yt_dev))."""
    X, Y, X_dev, Y_dev, rng = rising_dev_error_data(seed)
    X, X_dev = X.astype(dtype), X_dev.astype(dtype)
    net = n_models.Network((2, 32, 32, 1), "relu", "sigmoid")
    params = net.init_params("he", rng, dtype)
    model = t_models.Network((2, 32, 32, 1), "relu", "sigmoid", dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return (net, params, (X, Y, X_dev, Y_dev), model,
            (*bridge.data_to_torch(X, Y, device), *bridge.data_to_torch(X_dev, Y_dev, device)))


def early_stopping_pair(monitor="dev_error", *, dtype="float64", device="cpu", patience=10, epochs=150, seed=1):
    """Both training loops with the same EarlyStopping policy on ``rising_dev_error_data``.
    Returns (numpy rows, torch rows, numpy stopper, torch stopper)."""
    net, params, (X, Y, X_dev, Y_dev), model, (Xt, yt, Xt_dev, yt_dev) = _rising_pair(dtype, device, seed)
    permutations = [np.arange(X.shape[1])] * epochs  # full batch, the same order every epoch

    dev = {"dev_cost": n_early_stopping.dev_cost(net, X_dev, Y_dev)} if monitor == "dev_cost" else {}
    stopper = n_early_stopping.EarlyStopping(patience, monitor=monitor, **dev)
    history = n_training.train(net, params, X, Y, n_optim.make_optimizer("adam", params, lr=0.003), epochs=epochs,
                               batch_size=X.shape[1], permutations=permutations, X_dev=X_dev, Y_dev=Y_dev,
                               callback=stopper.callback, early_stopping=stopper)
    dev_t = {"dev_cost": t_early_stopping.dev_cost(Xt_dev, yt_dev)} if monitor == "dev_cost" else {}
    stopper_t = t_early_stopping.EarlyStopping(patience, monitor=monitor, **dev_t)
    history_t = t_training.train(model, Xt, yt, t_optim.make_optimizer("adam", model, lr=0.003), epochs=epochs,
                                 batch_size=X.shape[1], permutations=permutations, X_dev=Xt_dev,
                                 y_dev=yt_dev, callback=stopper_t.callback, early_stopping=stopper_t)

    def rows(h, s, final):
        return {f"monitored {monitor}": np.asarray(s.values, dtype), "epoch costs": np.asarray(h.epoch_costs, dtype),
                "best epoch, epochs run": np.asarray([s.best_epoch, h.epochs_run]),
                **{f"{k} after early stopping": v for k, v in final.items()}}
    return (rows(history, stopper, params), rows(history_t, stopper_t, bridge.params_from_module(model)),
            stopper, stopper_t)


def trajectory_tolerance(dtype):
    """Training runs accumulate one rounding per step: twins_optim's trajectory tolerances."""
    return FLOAT32_TRAJECTORY if dtype == "float32" else FLOAT64_TRAJECTORY


def early_stopping(monitor="dev_error", *, dtype="float64", device="cpu", **kw):
    numpy_rows, torch_rows, _, _ = early_stopping_pair(monitor, dtype=dtype, device=device, **kw)
    return compare(numpy_rows, torch_rows, tolerance=trajectory_tolerance(dtype),
                   label=f"early stopping on {monitor}, restored best parameters")


# ----------------------------------------------------------------------------- gradient checking

def _reference_pair(dtype, device, seed=0, m=3, layer_dims=REFERENCE_NET[0]):
    """The reference network on both sides from the same parameters, with X (4, m) and Y (1, m)."""
    rng = np.random.default_rng(seed)
    net = n_models.Network(layer_dims, *REFERENCE_NET[1:])
    params = net.init_params("he", rng, dtype)
    X = rng.standard_normal((layer_dims[0], m)).astype(dtype)
    Y = rng.integers(0, 2, (1, m))
    model = t_models.Network(layer_dims, *REFERENCE_NET[1:], dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return net, params, X, Y, model, *bridge.data_to_torch(X, Y, device)


def gradcheck(*, dtype="float64", device="cpu", seed=0):
    """The reference network's gradient checks on both sides:

    * backprop vs autograd, "dW1" ... (in ``dtype``);
    * the two-sided gradients, "dW1 (two-sided)" (the 1e-7 step turns the costs' last-bit
      differences into ~1e-9: finite-difference tolerance);
    * slopes along one random unit direction drawn with NumPy, "d slope, analytic/numerical",
      overall and along each tensor ("dW1 slope, ...").

    The last two always run in float64 (in float32 the step is lost to rounding)."""
    net, params, X, Y, model, Xt, yt = _reference_pair(dtype, device, seed)
    model.cost(Xt, yt).backward()
    report = compare(net.loss(params, X, Y)[1], bridge.grads_from_module(model),
                     label="gradient checks of the reference net [4,5,3,1]")
    net, params, X, Y, model, Xt, yt = _reference_pair("float64", device, seed)
    numerical = n_gradcheck.gradient_check(net, params, X, Y).numerical
    numerical_t = t_gradcheck.gradient_check(model, Xt, yt).numerical
    direction = n_gradcheck.random_direction({k: v.shape for k, v in params.items()}, seed)
    slopes = _slope_rows(n_gradcheck.directional_check(net, params, X, Y, direction=direction))
    slopes_t = _slope_rows(t_gradcheck.directional_check(model, Xt, yt, direction))
    report.extend(compare({**{f"{k} (two-sided)": v for k, v in numerical.items()}, **slopes},
                          {**{f"{k} (two-sided)": v for k, v in numerical_t.items()}, **slopes_t},
                          tolerance=FINITE_DIFFERENCE_TOLERANCE))
    return report


def _slope_rows(report) -> dict:
    along = {"d": report.overall, **{f"{k}": s for k, s in report.per_parameter.items()}}
    return {f"{name} slope, {kind}": np.asarray(getattr(s, kind)) for name, s in along.items()
            for kind in ("analytic", "numerical")}


# ----------------------------------------------------------------------------- signals

SIGNAL_SETUPS = {
    # name: (hidden activation, weights: c for W = c I, or an init method)
    "W = 1.5 I, linear": ("linear", 1.5),
    "W = 0.5 I, relu": ("relu", 0.5),
    "He init, relu": ("relu", "he"),
    "Xavier init, tanh": ("tanh", "xavier"),
}


def signals_pair(setup="W = 1.5 I, linear", *, dtype="float64", device="cpu", width=16, depth=20, m=8, seed=0):
    """Per-layer norms (scratch_numpy.signals.Signals) of a ``depth``-layer net of ``width`` units
    and a sigmoid output, on both sides: (numpy Signals, torch Signals)."""
    hidden, weights = SIGNAL_SETUPS[setup]
    dims = (width,) * depth + (1,)
    rng = np.random.default_rng(seed)
    net = n_models.Network(dims, hidden, "sigmoid")
    params = net.init_params(weights, rng, dtype) if isinstance(weights, str) \
        else n_signals.identity_params(dims, weights, dtype)
    X = np.abs(rng.standard_normal((width, m))).astype(dtype)  # positive, so ReLU passes c I's signal on whole
    Y = rng.integers(0, 2, (1, m))
    model = t_models.Network(dims, hidden, "sigmoid", dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    return n_signals.signal_norms(net, params, X, Y), t_signals.signal_norms(model, *bridge.data_to_torch(X, Y, device))


def signals(setup="W = 1.5 I, linear", *, dtype="float64", device="cpu", **kw):
    numpy_signals, torch_signals = signals_pair(setup, dtype=dtype, device=device, **kw)

    def rows(s):
        return {"||A_l|| per layer": s.activations, "dA_l norms per layer": s.gradients,
                "dW_l norms per layer": s.weight_gradients}
    return compare(rows(numpy_signals), rows(torch_signals), label=f"signal norms, {setup}")


# ----------------------------------------------------------------------------- diagnosis

def diagnosis(*, dtype="float64", device="cpu", seed=1, epochs=40):
    """Train/dev error, avoidable bias and variance of the early-stopping set-up's network after
    ``epochs`` steps of NumPy gradient descent (lr 0.5), measured by each side (Bayes error 0)."""
    net, params, data, model, data_t = _rising_pair(dtype, device, seed)
    params, _ = n_models.train_gd(net, params, *data[:2], 0.5, epochs)
    bridge.params_to_module(params, model)
    found = n_diagnosis.diagnose_network(net, params, *data)
    found_t = t_diagnosis.diagnose_model(model, *data_t)

    def rows(d):   # no name starts with "d" (that would file it under gradients)
        return {"error (train)": np.asarray(d.train_error), "error (dev)": np.asarray(d.dev_error),
                "avoidable bias": np.asarray(d.avoidable_bias), "variance": np.asarray(d.variance)}
    return compare(rows(found), rows(found_t), tolerance=EXACT, label=f"bias/variance diagnosis: {found.case}")


def _case(fn, *args, **kw):
    return lambda dtype, device: fn(*args, dtype=dtype, device=device, **kw)


CASES = [
    ("input normalisation: mu, sigma^2 from train, on dev", _case(normalization)),
    ("input normalisation with eps = 1e-8", _case(normalization, eps=1e-8)),
    ("split 60/20/20 from a shared permutation", _case(splits, (0.6, 0.2, 0.2))),
    ("split 98/1/1 (m = 1000)", _case(splits, (0.98, 0.01, 0.01), m=1000)),
    ("split 60/20/20 stratified", _case(splits, (0.6, 0.2, 0.2), stratify=True)),
    ("split 80/20 (train/dev)", _case(splits, (0.8, 0.2))),
    ("augmentation: horizontal flip", _case(augmentation, "flip")),
    ("augmentation: random crop, padding 2", _case(augmentation, "crop")),
    ("augmentation: crop (padding 4) then flip", _case(augmentation, "augment", padding=4)),
    ("early stopping on dev error (rises), best restored", _case(early_stopping, "dev_error")),
    ("early stopping on dev cost, best restored", _case(early_stopping, "dev_cost")),
    ("gradient checking: two-sided and directional", _case(gradcheck)),
    *[(f"signal norms: {setup}, 20 layers", _case(signals, setup)) for setup in SIGNAL_SETUPS],
    ("bias/variance diagnosis of a trained net", _case(diagnosis)),
]
