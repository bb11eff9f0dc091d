"""Data augmentation with torch tensor ops (no torchvision), torch's image layout (m, C, H, W).

The same operations as scratch_numpy.augmentation, on the draws made there with NumPy
(flip (m,) bool, offsets (m, 2) (top, left)):

    horizontal flip    torch.where(flip, images.flip(-1), images)
    crop with padding  F.pad by p zeros on H and W, then one advanced-indexing gather of each
                       image's H x W window at (top, left)
    augment            crop first, then flip

uint8, float32 and float64 images keep their dtype; the draws may be NumPy arrays or tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from scratch_numpy.contract import check_flip, check_images as check_numpy_images, check_offsets
from scratch_numpy.records import Draws
from scratch_numpy.validation import check_count

from .validation import check_device

IMAGE_DTYPES = (torch.uint8, torch.float32, torch.float64)


def check_images(name: str, images) -> torch.Tensor:
    """A non-empty (m, C, H, W) tensor of uint8, float32 or float64 (finite)."""
    if not isinstance(images, torch.Tensor) or images.dtype not in IMAGE_DTYPES:
        got = images.dtype if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"{name} must be a torch.Tensor of uint8, float32 or float64, got {got}")
    if images.dim() != 4 or images.numel() == 0:
        raise ValueError(f"{name} must have shape (m, C, H, W) with no empty axis, got {tuple(images.shape)}")
    if images.is_floating_point() and not bool(torch.isfinite(images).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return images


def _as_numpy(x):
    """Draws may come as tensors; they are checked with the NumPy side's rules."""
    return x.cpu().numpy() if isinstance(x, torch.Tensor) else x


def horizontal_flip(images, flip) -> torch.Tensor:
    """Mirror the images with flip[i] along W. Shapes: images (m, C, H, W), flip (m,) bool."""
    images = check_images("images", images)
    flip = torch.from_numpy(check_flip(_as_numpy(flip), images.shape[0])).to(images.device)
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_crop(images, offsets, padding: int) -> torch.Tensor:
    """Zero-pad by ``padding`` (F.pad) and gather each image's H x W window at offsets[i] = (top, left)."""
    images = check_images("images", images)
    m, C, H, W = images.shape
    padding = check_count("padding", padding, minimum=0)
    offsets = torch.from_numpy(check_offsets(_as_numpy(offsets), m, padding)).to(images.device)
    padded = F.pad(images, (padding, padding, padding, padding))
    rows = offsets[:, 0, None] + torch.arange(H, device=images.device)        # (m, H)
    cols = offsets[:, 1, None] + torch.arange(W, device=images.device)        # (m, W)
    batch = torch.arange(m, device=images.device)[:, None, None, None]
    channel = torch.arange(C, device=images.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def augment(images, draws: Draws, padding: int) -> torch.Tensor:
    """``random_crop`` with draws.offsets, then ``horizontal_flip`` with draws.flip."""
    if not isinstance(draws, Draws):
        raise ValueError(f"draws must be the Draws returned by scratch_numpy.augmentation.draw, "
                         f"got {type(draws).__name__}")
    return horizontal_flip(random_crop(images, draws.offsets, padding), draws.flip)


def to_channels_first(images: np.ndarray, device="cpu") -> torch.Tensor:
    """The course's (m, H, W, C) array as torch's (m, C, H, W) tensor (a copy, same dtype)."""
    images, device = check_numpy_images("images", images), check_device(device)
    return torch.tensor(np.ascontiguousarray(images.transpose(0, 3, 1, 2)), device=device)
