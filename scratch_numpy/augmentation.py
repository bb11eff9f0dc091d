"""Data augmentation for image batches (course 3's flips and random crops; cs231n's mirroring and
cropping), as whole-batch array operations.

Layout: images (m, H, W, C), the course's HDF5 layout (train_set_x is (209, 64, 64, 3) uint8);
uint8, float32 or float64, and the output keeps the dtype. reference_torch.augmentation works on
torch's (m, C, H, W).

    horizontal flip    out[i] = images[i, :, ::-1, :]  where flip[i], else images[i]
    crop with padding  pad H and W by p zeros on each side, (H + 2p, W + 2p), then keep the H x W
                       window whose top-left corner is offsets[i] = (top, left), 0 <= top, left <= 2p;
                       (p, p) gives the image back unchanged
    augment            crop first, then flip (the usual RandomCrop -> RandomHorizontalFlip order)

The random draws are made once, with NumPy (``draw``), and handed to both sides: torch's
generator never draws NumPy's numbers, so the two can only agree on given draws.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .init import as_rng
from .validation import check_count, check_plain_array

IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.float64))


class Draws(NamedTuple):
    """One batch's random choices: flip (m,) bool, offsets (m, 2) int64 (top, left) in [0, 2 padding]."""

    flip: np.ndarray
    offsets: np.ndarray


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


def draw(m: int, padding: int, rng=0, flip_probability: float = 0.5) -> Draws:
    """Flip each image with probability ``flip_probability``; crop offsets uniform on [0, 2 padding]^2.

    ``rng``: an int seed, a numpy Generator or a RandomState (scratch_numpy.init.as_rng).
    """
    m, padding = check_count("m", m), check_count("padding", padding, minimum=0)
    if isinstance(flip_probability, bool) or not isinstance(flip_probability, (int, float)) \
            or not 0 <= flip_probability <= 1:
        raise ValueError(f"flip_probability must be a number in [0, 1], got {flip_probability!r}")
    rng = as_rng(rng)
    flip = rng.random(m) < flip_probability
    return Draws(flip, rng.integers(0, 2 * padding + 1, size=(m, 2)).astype(np.int64))


def horizontal_flip(images, flip) -> np.ndarray:
    """Mirror the images with flip[i] left to right (the W axis). Shapes: (m, H, W, C), flip (m,)."""
    images = check_images("images", images)
    flip = check_flip(flip, images.shape[0])
    return np.where(flip[:, None, None, None], images[:, :, ::-1, :], images)


def random_crop(images, offsets, padding: int) -> np.ndarray:
    """Zero-pad by ``padding`` and cut each image's H x W window at offsets[i] = (top, left).

    Shapes: images (m, H, W, C), offsets (m, 2) -> (m, H, W, C). One gather for the batch:
    row index top_i + r and column index left_i + c for r < H, c < W.
    """
    images = check_images("images", images)
    m, H, W, _ = images.shape
    padding = check_count("padding", padding, minimum=0)
    offsets = check_offsets(offsets, m, padding)
    padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    rows = offsets[:, 0, None] + np.arange(H)               # (m, H)
    cols = offsets[:, 1, None] + np.arange(W)               # (m, W)
    return padded[np.arange(m)[:, None, None], rows[:, :, None], cols[:, None, :]]


def augment(images, draws: Draws, padding: int) -> np.ndarray:
    """``random_crop`` with draws.offsets, then ``horizontal_flip`` with draws.flip."""
    if not isinstance(draws, Draws):
        raise ValueError(f"draws must be the Draws returned by draw(), got {type(draws).__name__}")
    return horizontal_flip(random_crop(images, draws.offsets, padding), draws.flip)
