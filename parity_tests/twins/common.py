"""What every twin module shares: input draws, layout bridges, tolerances, case wrappers.

Conventions bridged by the twins (CONVENTIONS.md): the NumPy side is column-major (examples
are columns) and carries per-example gradients (m * dJ/dinput) below the parameters, while
torch is batch-first and autograd differentiates the mean cost; so torch's input gradients
are multiplied by m before comparing. Upstream gradients are random, never all ones.
"""

from __future__ import annotations

import numpy as np
import torch

from reference_torch import bridge

from ..checker.harness import Tolerance, kink_free

# Index sets, batches, flips and crops are data movement: bit for bit.
EXACT = Tolerance(rtol=0.0, atol_scale=0.0)
# A float32 trajectory accumulates one rounding per step (Adam and RMSprop divide by sqrt(s),
# which amplifies it where s is small): float32's per-step tolerance, widened.
FLOAT32_TRAJECTORY = Tolerance(rtol=1e-4, atol_scale=1e-4)
# Done-criterion for 200 float64 mini-batch steps: parameters within 1e-10 relative.
FLOAT64_TRAJECTORY = Tolerance(rtol=1e-10, atol_scale=1e-12)


def trajectory_tolerance(dtype):
    """A mini-batch training run's tolerance: FLOAT32_TRAJECTORY or FLOAT64_TRAJECTORY."""
    return FLOAT32_TRAJECTORY if dtype == "float32" else FLOAT64_TRAJECTORY


def widened_for_float32(dtype):
    """A full-batch run's tolerance: FLOAT32_TRAJECTORY in float32, the harness default (None) in float64."""
    return FLOAT32_TRAJECTORY if dtype == "float32" else None


def normal(rng, shape, dtype, *, kinks=(0.0,), margin=1e-3):
    """Standard normal entries kept ``margin`` away from ``kinks`` (ReLU's 0; dropout's zeros stay
    recognisable), in ``dtype``."""
    return kink_free(rng.standard_normal(shape), kinks, margin).astype(dtype)


def labels(rng, num_classes, m):
    """Random labels (1, m) in [0, num_classes)."""
    return rng.integers(0, num_classes, size=(1, m))


def batch_first(array, device) -> torch.Tensor:
    """The transpose of a column-layout array as a tensor on ``device``, (n, m) -> (m, n)."""
    return bridge.to_tensor(np.ascontiguousarray(array.T), device)


def leaf(array, device) -> torch.Tensor:
    """``batch_first(array)`` as a leaf tensor that records gradients."""
    return batch_first(array, device).requires_grad_()


def columns(tensor: torch.Tensor) -> np.ndarray:
    """A batch-first tensor as the column layout, (m, n) -> (n, m)."""
    return bridge.to_numpy(tensor).T


def steps_text(steps) -> str:
    """"1 step", "3 steps"."""
    return f"{steps} step" + ("" if steps == 1 else "s")


def case(fn, *args, **kw):
    """A parity-report case: run(dtype, device) -> fn(*args, dtype=dtype, device=device, **kw)."""
    return lambda dtype, device: fn(*args, dtype=dtype, device=device, **kw)
