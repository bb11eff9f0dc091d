"""Vectorisation (course 1, week 2): the per-example loop and the vectorised logistic-regression
gradient give the same dw and db, and the vectorised one is orders of magnitude faster.

On the cat images with a small random w (randn * 0.01 from --seed) and b = 0, one gradient
dw = (1/m) X (sigmoid(w^T X + b) - Y)^T, db = (1/m) sum(a - y), three ways:

    NumPy looped       the lecture's pseudo-code: for each example i, z = w^T x_i + b, then
                       for each feature j, dw_j += x_ij dz_i (two Python loops)
    torch looped       for each example, its own forward and backward pass, autograd summing
                       the gradients into .grad
    vectorised         scratch_numpy.logistic.propagate / reference_torch.logistic.propagate

The quick budget loops over the first 1024 features (the vectorised gradient uses the same
ones); the full budget over all 12288. Times are the best of a few repetitions.
"""

import time

import numpy as np
import torch

from experiments import datasets
from experiments.runner import Claim, Experiment, Outcome, Variant
from reference_torch import bridge
from reference_torch import logistic as t_logistic
from reference_torch import losses as t_losses
from scratch_numpy import logistic as n_logistic
from scratch_numpy.activations import sigmoid

REPEATS = 3


def variants(settings):
    return [Variant("logistic-gradient", {"features": settings.budget(12288, 1024), "w_seed": settings.seed})]


def best_time(fn, repeats: int = REPEATS, device: str = "cpu"):
    """(fn's result, the smallest of ``repeats`` wall-clock times); on CUDA each time ends
    when the queued kernels have finished."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return result, min(times)


def numpy_looped(w, b, X, Y):
    """The lecture's two loops; returns {"dw", "db"} as propagate does."""
    n_x, m = X.shape
    dw, db = np.zeros((n_x, 1), dtype=X.dtype), 0.0
    for i in range(m):
        z = float(w[:, 0] @ X[:, i]) + b
        dz = float(sigmoid(np.array(z))) - Y[0, i]
        for j in range(n_x):
            dw[j, 0] += X[j, i] * dz
        db += dz
    return {"dw": dw / m, "db": db / m}


def torch_looped(model, X, y):
    """One forward and backward pass per example; .grad accumulates (1/m) sum of the gradients."""
    model.zero_grad()
    m = X.shape[0]
    for i in range(m):
        (t_losses.binary_cross_entropy_with_logits(model.logits(X[i:i + 1]), y[i:i + 1]) / m).backward()
    return {"dw": model.linear.weight.grad.clone(), "db": model.linear.bias.grad.clone()}


def gradients(trial, w, X, Y):
    """(looped, vectorised) as NumPy {"dw" (n_x, 1), "db" float}, and their times."""
    if trial.impl == "numpy":
        looped, loop_seconds = best_time(lambda: numpy_looped(w, 0.0, X, Y), 1)
        (vectorised, _), vector_seconds = best_time(lambda: n_logistic.propagate(w, 0.0, X, Y))
        return looped, vectorised, loop_seconds, vector_seconds
    model = t_logistic.LogisticRegression(X.shape[0], dtype=bridge.resolve_dtype(trial.settings.dtype),
                                          device=trial.device)
    bridge.logistic_to_module(w, 0.0, model)
    Xt, yt = bridge.data_to_torch(X, Y, trial.device)
    looped, loop_seconds = best_time(lambda: torch_looped(model, Xt, yt), 1, trial.device)
    (vectorised, _), vector_seconds = best_time(lambda: t_logistic.propagate(model, Xt, yt), device=trial.device)
    as_numpy = [{"dw": bridge.to_numpy(g["dw"]).T, "db": float(g["db"][0])} for g in (looped, vectorised)]
    return *as_numpy, loop_seconds, vector_seconds


def run(trial):
    features = trial.hp["features"]
    X = np.ascontiguousarray(trial.data.train.X[:features]).astype(trial.settings.dtype)
    Y = trial.data.train.Y
    w = (np.random.RandomState(trial.hp["w_seed"]).randn(features, 1) * 0.01).astype(trial.settings.dtype)
    looped, vectorised, loop_seconds, vector_seconds = gradients(trial, w, X, Y)
    difference = max(float(np.abs(looped["dw"] - vectorised["dw"]).max() / np.abs(vectorised["dw"]).max()),
                     abs(looped["db"] - vectorised["db"]) / abs(vectorised["db"]))
    metrics = {"loop_seconds": loop_seconds, "vectorised_seconds": vector_seconds,
               "speedup": loop_seconds / vector_seconds, "loop_vs_vectorised": difference}
    trial.logger.histograms({"dw": vectorised["dw"]}, 0)
    return Outcome(metrics, params={"dw": vectorised["dw"], "db": np.array([[vectorised["db"]]])})


EXPERIMENT = Experiment(
    name="vectorisation",
    claim="the looped and vectorised logistic-regression gradients agree; vectorised is orders of magnitude faster",
    dataset="cat images (train_catvnoncat.h5)",
    variants=variants,
    run=run,
    load=lambda settings: datasets.cat_images(settings.data_dir, settings.seed),
    claims=(
        Claim("looped and vectorised gradients agree (relative difference < 1e-5)", ("logistic-gradient",),
              lambda m: m["logistic-gradient"]["loop_vs_vectorised"] < 1e-5),
        Claim("the vectorised gradient is over 10x faster", ("logistic-gradient",),
              lambda m: m["logistic-gradient"]["speedup"] > 10),
    ),
)
