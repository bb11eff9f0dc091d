"""Data augmentation: flips and padded crops do what they say, and NumPy (m, H, W, C) and torch
(m, C, H, W) give the very same images from the same NumPy draws (bit for bit, uint8 included)."""

import numpy as np
import pytest
import torch

from parity_tests import twins
from reference_torch import augmentation as t_augmentation
from scratch_numpy import augmentation as n_augmentation


def images(dtype="float64", shape=(5, 6, 7, 3), seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(1, 256, shape) if dtype == "uint8" else rng.uniform(1, 2, shape)).astype(dtype)


def test_flip_mirrors_the_chosen_images_only():
    x = images()
    flip = np.array([True, False, True, False, False])
    out = n_augmentation.horizontal_flip(x, flip)
    np.testing.assert_array_equal(out[flip], x[flip][:, :, ::-1, :])
    np.testing.assert_array_equal(out[~flip], x[~flip])
    np.testing.assert_array_equal(n_augmentation.horizontal_flip(out, flip), x)


@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
def test_crop_centre_offset_is_the_identity_and_corner_offset_shifts(dtype):
    x, p = images(dtype), 2
    m, H, W, _ = x.shape
    np.testing.assert_array_equal(n_augmentation.random_crop(x, np.full((m, 2), p), p), x)
    out = n_augmentation.random_crop(x, np.zeros((m, 2), dtype=int), p)   # top-left window: 2 rows/cols of padding
    assert out.dtype == x.dtype and (out[:, :p] == 0).all() and (out[:, :, :p] == 0).all()
    np.testing.assert_array_equal(out[:, p:, p:], x[:, :H - p, :W - p])
    out = n_augmentation.random_crop(x, np.array([[0, 4], [4, 0], [1, 3], [2, 2], [4, 4]]), p)
    np.testing.assert_array_equal(out[4, :H - p, :W - p], x[4, p:, p:])
    np.testing.assert_array_equal(out[2, 1:, :W - 1], x[2, :H - 1, 1:])


def test_draws_are_seeded_and_in_range():
    a, b = n_augmentation.draw(4000, 3, rng=7), n_augmentation.draw(4000, 3, rng=7)
    assert np.array_equal(a.flip, b.flip) and np.array_equal(a.offsets, b.offsets)
    assert a.offsets.min() == 0 and a.offsets.max() == 6 and 0.45 < a.flip.mean() < 0.55
    assert not n_augmentation.draw(10, 0, flip_probability=0).flip.any()


def test_augment_is_crop_then_flip():
    x, draws = images(), n_augmentation.draw(5, 2, rng=1)
    expected = n_augmentation.horizontal_flip(n_augmentation.random_crop(x, draws.offsets, 2), draws.flip)
    np.testing.assert_array_equal(n_augmentation.augment(x, draws, 2), expected)


@pytest.mark.parametrize("operation", ["flip", "crop", "augment"])
@pytest.mark.parametrize("dtype", ["uint8", "float32", "float64"])
def test_parity_bit_for_bit(operation, dtype, device):
    report = twins.augmentation.augmentation(operation, dtype=dtype, device=device, padding=3)
    report.assert_passed()
    assert report.diffs[0].max_abs == 0


def test_parity_on_the_cat_images(data_dir):
    h5py = pytest.importorskip("h5py")
    with h5py.File(data_dir / "train_catvnoncat.h5", "r") as f:
        cats = np.asarray(f["train_set_x"][:32])          # (32, 64, 64, 3) uint8
    draws = n_augmentation.draw(32, 8, rng=0)
    out = n_augmentation.augment(cats, draws, 8)
    out_t = t_augmentation.augment(t_augmentation.to_channels_first(cats), draws, 8)
    assert out.dtype == np.uint8 and out.shape == cats.shape
    np.testing.assert_array_equal(out, out_t.permute(0, 2, 3, 1).numpy())


@pytest.mark.parametrize("call, match", [
    (lambda: n_augmentation.horizontal_flip(images()[0], np.ones(6, bool)), r"shape \(m, H, W, C\)"),
    (lambda: n_augmentation.horizontal_flip(images().astype(np.int32), np.ones(5, bool)), "uint8, float32"),
    (lambda: n_augmentation.horizontal_flip(images(), np.ones(5)), "flip must be a bool array of shape"),
    (lambda: n_augmentation.horizontal_flip(images(), np.ones(4, bool)), r"shape \(5,\)"),
    (lambda: n_augmentation.random_crop(images(), np.full((5, 2), 5), 2), r"offsets must lie in .* = \[0, 4\]"),
    (lambda: n_augmentation.random_crop(images(), np.full((5, 2), 1.0), 2), "integer array"),
    (lambda: n_augmentation.random_crop(images(), np.zeros((5, 2), int), -1), "padding must be"),
    (lambda: n_augmentation.augment(images(), (np.ones(5, bool), np.zeros((5, 2), int)), 2), "Draws"),
    (lambda: n_augmentation.draw(5, 2, flip_probability=1.5), "flip_probability"),
    (lambda: t_augmentation.horizontal_flip(torch.ones(5, 3, 4), np.ones(5, bool)), r"shape \(m, C, H, W\)"),
    (lambda: t_augmentation.random_crop(torch.ones(5, 3, 4, 4, dtype=torch.int32), np.zeros((5, 2), int), 1),
     "uint8, float32"),
    (lambda: t_augmentation.random_crop(torch.ones(5, 3, 4, 4), np.full((5, 2), 3), 1), r"\[0, 2\]"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()
