"""Data augmentation: flips and crops of random images with the same NumPy draws on both sides."""

from __future__ import annotations

import numpy as np

from reference_torch import augmentation as t_augmentation
from scratch_numpy import augmentation as n_augmentation

from ..checker.harness import compare
from .common import EXACT, case
from .mutant import Mutant


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


CASES = [
    ("augmentation: horizontal flip", case(augmentation, "flip")),
    ("augmentation: random crop, padding 2", case(augmentation, "crop")),
    ("augmentation: crop (padding 4) then flip", case(augmentation, "augment", padding=4)),
]

NUMPY_VERTICAL = Mutant("numpy", "scratch_numpy.augmentation.horizontal_flip", "flips the H axis (vertical)",
                        lambda original: lambda images, flip: np.where(flip[:, None, None, None],
                                                                       images[:, ::-1], images))
NUMPY_SWAPPED = Mutant("numpy", "scratch_numpy.augmentation.random_crop", "offsets read as (left, top)",
                       lambda original: lambda images, offsets, padding: original(images, offsets[:, ::-1], padding))
TORCH_INVERTED = Mutant("torch", "reference_torch.augmentation.horizontal_flip", "flips the images not drawn",
                        lambda original: lambda images, flip: original(images, ~flip))
TORCH_TOP_ONLY = Mutant("torch", "reference_torch.augmentation.random_crop", "the top offset used for both axes",
                        lambda original: lambda images, offsets, padding: original(images, offsets[:, [0, 0]],
                                                                                    padding))

MUTANTS = {
    "augmentation: horizontal flip": [NUMPY_VERTICAL, TORCH_INVERTED],
    "augmentation: random crop, padding 2": [NUMPY_SWAPPED, TORCH_TOP_ONLY],
    "augmentation: crop (padding 4) then flip": [NUMPY_VERTICAL, NUMPY_SWAPPED, TORCH_INVERTED, TORCH_TOP_ONLY],
}
