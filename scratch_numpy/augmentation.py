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


import numpy as np

from .contract import check_flip, check_images, check_offsets
from .records import Draws
from .validation import as_rng, check_count


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
