"""The training step of the benchmark's MLP on both sides, and its matrix products alone.

The MLP is 784-256-128-10 (ReLU, softmax cross-entropy). One step is what the training loops
do per mini-batch:

    NumPy   cost, grads = network.loss(params, X, Y); optimizer.step(params, grads)
    torch   optimizer.zero_grad(); model.cost(X, y).backward(); optimizer.step()

with the project's own classes (scratch_numpy.models.Network and optim, reference_torch.models
.Network and optim.make_optimizer), both validating their inputs once per call, from the same
parameters (He initialisation drawn by NumPy, copied by the bridge) and the same data (standard
normal features, uniform labels), NumPy's in columns and torch's batch-first. "sgd" is plain
gradient descent (lr 0.01), "adam" Adam (lr 0.001).

The torch side runs make_optimizer's rule, hyperparameters and parameter groups with torch's
fastest standard implementation (TORCH_IMPLEMENTATION) rather than the foreach=False loop the
project pins for parity: Adam fused=True (one kernel per tensor instead of about ten; one thread,
float32, it took 1.4 / 3.5 / 11.3 ms a step at batch 64 / 256 / 1024 against foreach=True's
1.9 / 3.6 / 12.9 and the loop's 2.0 / 3.9 / 16.3), SGD torch's own default (the loop on the CPU,
foreach on CUDA), as fast as either alternative.

Every step starts a timing sample from the same place: ``reset`` (called by timing
.interleaved before each sample, untimed) puts the initial parameters back and builds a fresh
optimiser. Without it each contender kept training on its one fixed batch for as many steps as
its own speed allowed, so the two sides were timed in different numerical regimes (a network
fitting its batch ever closer; after about 700 Adam steps some first moments were subnormal).

The GEMM bound is the time of the step's matrix products alone, with the same shapes and layouts,
in the same library, into preallocated outputs: the forward products W_l A_{l-1}, the weight
gradients and the input gradients of layers 2 and 3 (neither side forms one for X). Its share of
the step time says how close each implementation is to its own limit.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim

from .timing import interleaved

LAYERS = (784, 256, 128, 10)
OPTIMIZERS = {"sgd": ("gd", 0.01), "adam": ("adam", 0.001)}   # name -> (project name, learning rate)
TORCH_IMPLEMENTATION = {"sgd": {"foreach": None}, "adam": {"foreach": None, "fused": True}}


def step_flops(batch: int, layers=LAYERS) -> int:
    """Floating-point operations of one step's matrix products (2 m n n_prev each)."""
    return 2 * batch * sum(n * n_prev for _, n, n_prev in _products(layers))


def problem(batch: int, dtype: str, seed: int = 0, layers=LAYERS):
    """(network, params, X (n_x, m), Y (1, m)): the NumPy side's network and data."""
    rng = np.random.default_rng(seed)
    network = n_models.Network(layers, "relu", "softmax")
    params = network.init_params("he", rng, dtype)
    X = rng.standard_normal((layers[0], batch)).astype(dtype)
    Y = rng.integers(0, layers[-1], size=(1, batch))
    return network, params, X, Y


def numpy_step(batch: int, dtype: str, optimizer: str, layers=LAYERS):
    """A zero-argument callable running one NumPy training step (its parameters change), with
    ``reset()`` restoring the initial parameters and a fresh optimiser."""
    network, params, X, Y = problem(batch, dtype, layers=layers)
    initial = {key: value.copy() for key, value in params.items()}
    name, lr = OPTIMIZERS[optimizer]
    opt = None

    def step():
        _, grads = network.loss(params, X, Y)
        opt.step(params, grads)

    def reset():
        nonlocal opt
        for key, value in params.items():
            np.copyto(value, initial[key])
        opt = n_optim.make_optimizer(name, params, lr=lr)
    reset()
    step.reset = reset
    return step


def torch_model(batch: int, dtype: str, device, layers=LAYERS):
    """(model, X (m, n_x), y (m,)) on ``device``: the NumPy problem's parameters and data."""
    _, params, X, Y = problem(batch, dtype, layers=layers)
    model = t_models.Network(layers, "relu", "softmax", dtype=bridge.resolve_dtype(dtype), device=device)
    bridge.params_to_module(params, model)
    Xt, yt = bridge.data_to_torch(X, Y, device)
    return model, Xt, yt


def torch_step(batch: int, dtype: str, optimizer: str, device="cpu", *, check: bool = True, autocast=None,
               layers=LAYERS):
    """A zero-argument callable running one torch training step. ``check=False`` skips the cost's
    input validation and reads no gradient magnitude per step (its reductions still run; each read is a host
    synchronisation on a GPU; a training loop reads them once per epoch); ``autocast`` (a dtype)
    runs the forward pass and the cost under torch.autocast."""
    model, X, y = torch_model(batch, dtype, device, layers)
    initial = [p.detach().clone() for p in model.parameters()]
    opt = None
    if autocast is None:
        precision = contextlib.nullcontext
    else:
        precision = functools.partial(torch.autocast, torch.device(device).type, dtype=autocast)

    def step():
        opt.zero_grad()
        with precision():
            cost = model.cost(X, y, check=check)
        cost.backward()
        opt.step()

    def reset():
        nonlocal opt
        with torch.no_grad():
            for p, start in zip(model.parameters(), initial):
                p.copy_(start)
        opt = torch_optimizer(optimizer, model)
        if not check and hasattr(opt, "squarable_deferred"):
            # as inside training.train (t_optim.defer_squarable_check): the step hook records the
            # largest gradient on the device (its reductions still run) instead of reading it
            opt.squarable_deferred = True
    reset()
    step.reset = reset
    return step


def torch_optimizer(optimizer: str, model) -> torch.optim.Optimizer:
    """make_optimizer's optimiser for ``optimizer`` with TORCH_IMPLEMENTATION's settings in its
    parameter groups (torch reads them at every step)."""
    name, lr = OPTIMIZERS[optimizer]
    opt = t_optim.make_optimizer(name, model, lr=lr)
    for group in opt.param_groups:
        group.update(TORCH_IMPLEMENTATION[optimizer])
    return opt


def _products(layers):
    """(kind, n, n_prev) for every matrix product of a step, layer by layer."""
    for l, (n_prev, n) in enumerate(zip(layers[:-1], layers[1:]), start=1):
        yield "forward", n, n_prev
        yield "weight gradient", n, n_prev
        if l > 1:
            yield "input gradient", n, n_prev


def numpy_gemms(batch: int, dtype: str, layers=LAYERS):
    """A callable running the NumPy step's matrix products (as models.Network lays them out:
    W (n, n_prev), activations (n, m), C order) into preallocated outputs."""
    rng = np.random.default_rng(0)
    new = lambda *shape: rng.standard_normal(shape).astype(dtype)   # noqa: E731
    products = []
    for kind, n, n_prev in _products(layers):
        W, A, dZ = new(n, n_prev), new(n_prev, batch), new(n, batch)
        if kind == "forward":
            products.append((W, A, np.empty((n, batch), dtype)))                 # W A_prev
        elif kind == "weight gradient":
            products.append((dZ, A.T, np.empty((n, n_prev), dtype)))             # dZ A_prev^T
        else:
            products.append((W.T, dZ, np.empty((n_prev, batch), dtype)))         # W^T dZ

    def run():
        for a, b, out in products:
            np.matmul(a, b, out=out)
    return run


def torch_gemms(batch: int, dtype, device="cpu", layers=LAYERS):
    """A callable running the torch step's matrix products (as nn.Linear and its autograd lay
    them out: X (m, n_prev), weight (n, n_prev), X W^T forward, dZ^T X and dZ W backward)."""
    generator = torch.Generator(device="cpu").manual_seed(0)
    new = lambda *shape: torch.randn(*shape, generator=generator).to(device=device, dtype=dtype)  # noqa: E731
    products = []
    for kind, n, n_prev in _products(layers):
        W, A, dZ = new(n, n_prev), new(batch, n_prev), new(batch, n)
        if kind == "forward":
            products.append((A, W.t(), torch.empty(batch, n, device=device, dtype=dtype)))
        elif kind == "weight gradient":
            products.append((dZ.t(), A, torch.empty(n, n_prev, device=device, dtype=dtype)))
        else:
            products.append((dZ, W, torch.empty(batch, n_prev, device=device, dtype=dtype)))

    def run():
        for a, b, out in products:
            torch.mm(a, b, out=out)
    return run


def measure_steps(batches, dtypes, *, repeats: int, min_time: float) -> list:
    """One row per dtype x batch x optimiser: both sides' step times, their ratio, each side's matrix
    products alone and their share of its step, and the FLOP rate of each step. The six contenders
    of a dtype and batch (two optimisers and the GEMMs, both sides) are timed interleaved."""
    rows = []
    for dtype in dtypes:
        for batch in batches:
            contenders = {"numpy gemm": numpy_gemms(batch, dtype),
                          "torch gemm": torch_gemms(batch, bridge.resolve_dtype(dtype))}
            for optimizer in OPTIMIZERS:
                contenders[f"numpy {optimizer}"] = numpy_step(batch, dtype, optimizer)
                contenders[f"torch {optimizer}"] = torch_step(batch, dtype, optimizer)
            timings = interleaved(contenders, repeats=repeats, min_time=min_time)
            gemm = {side: timings[f"{side} gemm"].seconds for side in ("numpy", "torch")}
            for optimizer in OPTIMIZERS:
                step = {side: timings[f"{side} {optimizer}"].seconds for side in ("numpy", "torch")}
                row = {"dtype": dtype, "batch": batch, "optimizer": optimizer, "ratio": step["numpy"] / step["torch"]}
                for side in ("numpy", "torch"):
                    row.update({f"{side}_s": step[side], f"{side}_gemm_s": gemm[side],
                                f"{side}_gemm_share": gemm[side] / step[side],
                                f"{side}_gflops": step_flops(batch) / step[side] / 1e9,
                                f"{side}_samples": timings[f"{side} {optimizer}"].samples})
                rows.append(row)
    return rows
