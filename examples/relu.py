"""ReLU, A = max(Z, 0), and the mask bug that only shows at Z = 0 exactly.

ReLU's derivative at 0 is a convention. The course (``dZ[Z <= 0] = 0``) and ``torch.relu`` take 0; a mask
written ``dZ[Z < 0] = 0`` passes the gradient there. Random inputs are never exactly 0, so only the kink
probe (``probe_kinks=True``; on by default in ``python -m parity_tests.checker``) sees the difference.

    python -m parity_tests.checker examples/relu.py:forward,backward_strict_mask --inputs Z=4x6 \\
        --against "torch.relu(Z)"
"""

import numpy as np
import torch

from examples.cases import Case


def forward(Z):
    """A = max(Z, 0); the cache is Z. Shapes: Z, A (n, m)."""
    return np.maximum(Z, 0), Z


def backward(dA, Z):
    """dZ = dA where Z > 0, else 0 (0 at Z = 0, as torch.relu)."""
    dZ = dA.copy()
    dZ[Z <= 0] = 0
    return dZ


def backward_strict_mask(dA, Z):
    """Bug: dZ[Z < 0] = 0 lets the gradient through at Z = 0 exactly."""
    dZ = dA.copy()
    dZ[Z < 0] = 0
    return dZ


def torch_relu(Z):
    return torch.relu(Z)


CHECK = dict(oracle=torch_relu, inputs={"Z": (4, 6)}, probe_kinks=True)

CASES = [
    Case("relu", forward, backward, CHECK),
    Case("relu: < instead of <= in the mask", forward, backward_strict_mask, CHECK, ("dZ (at kinks)",),
         "exactly at a kink"),
]
