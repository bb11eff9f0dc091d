"""The training step of the benchmark's MLP on both sides, and its matrix products alone.

The MLP is 784-256-128-10 (ReLU, softmax cross-entropy). One step is what the training loops
do per mini-batch:

    NumPy   cost, grads = network.loss(params, X, Y); optimizer.step(params, grads)
    torch   optimizer.zero_grad(); model.cost(X, y).backward(); optimizer.step()

(each step callable returns its cost, as computed before the update, and has ``parameters()``,
the current parameters in the course's layout, for the tests)

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

Two peers time the same step written by others (the same parameters, data, rule and learning
rate; parity_tests/test_bench.py checks that one step of each gives the project's loss and updated
parameters to float64 rounding): peer_numpy, the textbook NumPy form (CS231n's affine/ReLU
forward-backward pairs with caches, softmax_loss, its sgd/adam config-dict update rules, examples
in rows), and peer_torch, a plain nn.Sequential with F.cross_entropy and torch.optim's SGD or
fused Adam (TORCH_IMPLEMENTATION's settings) without the project's validation and parameter groups.

The physical limit is the step's GEMM FLOPs (step_flops: 2 m n n_prev for each forward product,
each weight gradient and the input gradients of layers 2 to L) divided by the machine's measured
GEMM throughput (peak_gemm: a large square product in NumPy and in torch, in the same worker
process and so with the same thread count, the faster library's best): the time the step would
take if all it did were its matrix products at the best rate this machine reaches.
"""

from __future__ import annotations

import contextlib
import functools
import time

import numpy as np
import torch

from reference_torch import bridge
from reference_torch import models as t_models
from reference_torch import optim as t_optim
from scratch_numpy import models as n_models
from scratch_numpy import optim as n_optim

from . import peer_numpy, peer_torch
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
        cost, grads = network.loss(params, X, Y)
        opt.step(params, grads)
        return cost

    def reset():
        nonlocal opt
        for key, value in params.items():
            np.copyto(value, initial[key])
        opt = n_optim.make_optimizer(name, params, lr=lr)
    reset()
    step.reset = reset
    step.parameters = lambda: {key: np.array(value) for key, value in params.items()}
    return step


def numpy_peer_step(batch: int, dtype: str, optimizer: str, layers=LAYERS):
    """numpy_step's problem trained by the textbook NumPy peer (peer_numpy: CS231n's layers,
    softmax_loss and update rules, examples in rows): the same parameters transposed, the same
    data, the same rule and learning rate. ``parameters()`` gives them in the course's layout."""
    _, params, X, Y = problem(batch, dtype, layers=layers)
    initial = {key: np.ascontiguousarray(value.T if key.startswith("W") else value[:, 0])
               for key, value in params.items()}
    X_rows, y = np.ascontiguousarray(X.T), Y[0].copy()
    lr = OPTIMIZERS[optimizer][1]
    model = peer_numpy.FullyConnectedNet(initial)
    solver = None

    def step():
        return solver.step(X_rows, y)

    def reset():
        nonlocal solver
        model.params = {key: value.copy() for key, value in initial.items()}
        solver = peer_numpy.Solver(model, optimizer, {"learning_rate": lr})
    reset()
    step.reset = reset
    step.parameters = lambda: {key: np.array(value.T if key.startswith("W") else value[:, None])
                               for key, value in model.params.items()}
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
        return cost

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
    step.parameters = lambda: {key: np.array(value) for key, value in bridge.params_from_module(model).items()}
    return step


def torch_peer_step(batch: int, dtype: str, optimizer: str, device="cpu", layers=LAYERS):
    """torch_step's problem trained by the plain torch peer (peer_torch: nn.Sequential,
    F.cross_entropy, torch.optim's SGD or fused Adam): the same parameters, data, rule and
    learning rate. ``parameters()`` gives them in the course's layout."""
    _, params, X, Y = problem(batch, dtype, layers=layers)
    model = peer_torch.sequential(layers, bridge.resolve_dtype(dtype), device)
    linears = [module for module in model if isinstance(module, torch.nn.Linear)]
    initial = [(torch.tensor(params[f"W{l}"]), torch.tensor(params[f"b{l}"][:, 0]))
               for l in range(1, len(linears) + 1)]
    Xt, yt = bridge.data_to_torch(X, Y, device)
    lr = OPTIMIZERS[optimizer][1]
    opt = None

    def step():
        return peer_torch.train_step(model, opt, Xt, yt)

    def reset():
        nonlocal opt
        with torch.no_grad():
            for linear, (W, b) in zip(linears, initial):
                linear.weight.copy_(W)
                linear.bias.copy_(b)
        opt = peer_torch.optimizer(optimizer, model, lr)
    reset()
    step.reset = reset
    step.parameters = lambda: {key: value for l, linear in enumerate(linears, start=1) for key, value in (
        (f"W{l}", linear.weight.detach().cpu().numpy().copy()),
        (f"b{l}", linear.bias.detach().cpu().numpy()[:, None].copy()))}
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


def peak_gemm(size: int, repeats: int, dtypes) -> dict:
    """{dtype: {size, repeats, numpy_gflops, torch_gflops, gflops}}: the machine's measured GEMM
    throughput, a ``size``^3 square product C = A B into a preallocated C, in NumPy (np.matmul) and in
    torch (torch.mm), with this process's thread settings; each library's best of ``repeats`` timed
    products (after one untimed), the two alternating; ``gflops`` is the faster library's."""
    flops = 2 * size ** 3
    result = {}
    for dtype in dtypes:
        rng = np.random.default_rng(0)
        A, B = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
        C = np.empty((size, size), dtype)
        At, Bt = torch.tensor(A), torch.tensor(B)
        Ct = torch.empty_like(At)
        products = {"numpy": lambda: np.matmul(A, B, out=C), "torch": lambda: torch.mm(At, Bt, out=Ct)}
        best = {}
        for name, product in products.items():
            product()
            best[name] = float("inf")
        for r in range(repeats):
            for name in (("numpy", "torch") if r % 2 == 0 else ("torch", "numpy")):
                start = time.perf_counter()
                products[name]()
                best[name] = min(best[name], time.perf_counter() - start)
        rates = {name: flops / seconds / 1e9 for name, seconds in best.items()}
        result[dtype] = {"size": size, "repeats": repeats, "numpy_gflops": rates["numpy"],
                         "torch_gflops": rates["torch"], "gflops": max(rates.values())}
    return result


CONTENDERS = {"numpy": numpy_step, "numpy_peer": numpy_peer_step, "torch": torch_step, "torch_peer": torch_peer_step}


def measure_steps(batches, dtypes, *, repeats: int, min_time: float, peak: dict) -> list:
    """One row per dtype x batch x optimiser: the four steps' times (CONTENDERS: the project's
    NumPy and torch, the NumPy and torch peers), the ratios NumPy/torch ("ratio"), NumPy/NumPy peer
    and torch/torch peer, each project side's matrix products alone and their share of its step,
    the FLOP rate of each step, and the physical limit: the step's GEMM FLOPs at ``peak``
    (peak_gemm's result for this process) and each project side's step time over it. The ten
    contenders of a dtype and batch (four steps per optimiser and both sides' GEMMs) are timed
    interleaved."""
    rows = []
    for dtype in dtypes:
        for batch in batches:
            contenders = {"numpy gemm": numpy_gemms(batch, dtype),
                          "torch gemm": torch_gemms(batch, bridge.resolve_dtype(dtype))}
            for optimizer in OPTIMIZERS:
                for side, make in CONTENDERS.items():
                    contenders[f"{side} {optimizer}"] = make(batch, dtype, optimizer)
            timings = interleaved(contenders, repeats=repeats, min_time=min_time)
            gemm = {side: timings[f"{side} gemm"].seconds for side in ("numpy", "torch")}
            flops, peak_gflops = step_flops(batch), peak[dtype]["gflops"]
            limit = flops / (peak_gflops * 1e9)
            for optimizer in OPTIMIZERS:
                step = {side: timings[f"{side} {optimizer}"].seconds for side in CONTENDERS}
                row = {"dtype": dtype, "batch": batch, "optimizer": optimizer, "ratio": step["numpy"] / step["torch"],
                       "numpy_peer_ratio": step["numpy"] / step["numpy_peer"],
                       "torch_peer_ratio": step["torch"] / step["torch_peer"],
                       "flops": flops, "peak_gflops": peak_gflops, "limit_s": limit}
                for side in CONTENDERS:
                    row.update({f"{side}_s": step[side], f"{side}_samples": timings[f"{side} {optimizer}"].samples})
                for side in ("numpy", "torch"):
                    row.update({f"{side}_gemm_s": gemm[side], f"{side}_gemm_share": gemm[side] / step[side],
                                f"{side}_gflops": flops / step[side] / 1e9, f"{side}_limit_ratio": step[side] / limit})
                rows.append(row)
    return rows
