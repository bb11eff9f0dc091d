"""The training step on a GPU: time, samples/s, achieved TFLOP/s and the share outside matrix products.

For each batch size and precision, the benchmark's MLP (step) trains on the device with the
project's reference_torch model and optimiser:

    float32   float32 throughout, TF32 matrix products off
    tf32      float32 tensors, torch.backends.cuda.matmul.allow_tf32 = True
    bf16      float32 parameters, forward pass and cost under torch.autocast(bfloat16)

The loop validates X and y once, before it starts, and then calls ``model.cost(X, y, check=False)``:
nothing inside it reads a value back to the host (no .item(), no float(cost), no checks), so the
device is synchronised only around a block of ``steps`` steps, and a sample is the block's time
per step. The matrix products alone (step.torch_gemms: the same shapes, in the precision the
step's products run in) give the device's throughput for those shapes; the step's achieved FLOP/s
over that throughput is the share of the step spent in matrix products.

Written for CUDA; ``measure`` also runs on the CPU (device="cpu", where synchronising is a no-op
and TF32 has no effect), which is how the tests exercise it without a GPU.
"""

from __future__ import annotations

import contextlib
import statistics
import time

import torch

from .step import step_flops, torch_gemms, torch_step

PRECISIONS = ("float32", "tf32", "bf16")


def synchronize(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def tf32(enabled: bool):
    """TF32 matrix products on or off, restored afterwards: through fp32_precision where torch has
    it (>= 2.9, as settings.configure_torch; mixing it with the legacy allow_tf32 in one process
    is an error there), else allow_tf32."""
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        name, value = "fp32_precision", "tf32" if enabled else "ieee"
    else:
        name, value = "allow_tf32", enabled
    saved = getattr(matmul, name)
    setattr(matmul, name, value)
    try:
        yield
    finally:
        setattr(matmul, name, saved)


def _per_step(fn, device, steps: int, repeats: int) -> float:
    """Median over ``repeats`` blocks of ``steps`` calls of the seconds per call; the device is
    synchronised before and after each block only."""
    for _ in range(2):
        fn()
    samples = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            fn()
        synchronize(device)
        samples.append((time.perf_counter() - start) / steps)
    return statistics.median(samples)


def measure(batch: int, precision: str, optimizer: str, *, device="cuda", steps: int = 20, repeats: int = 5) -> dict:
    """One row: step and matrix-product times, samples/s, TFLOP/s and the share of the step
    spent outside matrix products, for ``precision`` in PRECISIONS."""
    autocast = torch.bfloat16 if precision == "bf16" else None
    with tf32(precision == "tf32"):
        step = torch_step(batch, "float32", optimizer, device, check=False, autocast=autocast)
        gemms = torch_gemms(batch, autocast or torch.float32, device)
        step_s = _per_step(step, device, steps, repeats)
        gemm_s = _per_step(gemms, device, steps, repeats)
    flops = step_flops(batch)
    return {"batch": batch, "precision": precision, "optimizer": optimizer, "step_s": step_s,
            "samples_per_s": batch / step_s, "tflops": flops / step_s / 1e12,
            "gemm_tflops": flops / gemm_s / 1e12, "gemm_s": gemm_s, "outside_gemm": 1 - gemm_s / step_s}


def cuda_section(batches, optimizers, cpu_steps: dict, *, steps: int, repeats: int) -> dict:
    """Every batch x precision x optimiser on CUDA, plus the CPU-to-GPU speed-up of the float32
    step at each batch the CPU section also measured (``cpu_steps`` {(batch, optimizer): seconds},
    torch on the CPU). {"available": False} without a CUDA device."""
    if not torch.cuda.is_available():
        return {"available": False}
    rows = [measure(batch, precision, optimizer, steps=steps, repeats=repeats)
            for batch in batches for precision in PRECISIONS for optimizer in optimizers]
    for row in rows:
        cpu = cpu_steps.get((row["batch"], row["optimizer"]))
        if row["precision"] == "float32" and cpu is not None:
            row["speedup_vs_cpu"] = cpu / row["step_s"]
    return {"available": True, "device": torch.cuda.get_device_name(0), "rows": rows}
