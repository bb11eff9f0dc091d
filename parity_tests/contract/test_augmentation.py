"""The bad-input contract of augmentation: data augmentation (``draw``, ``horizontal_flip``,
``random_crop``, ``augment``, ``to_channels_first``).

For both ``scratch_numpy/augmentation.py`` and ``reference_torch/augmentation.py``:

* ``test_fuzz``: its fuzz targets, NumPy and torch side by side (contract in fuzzing.py);
* ``test_fixed_gaps``: the minimal inputs of the gaps the fuzzing found in it, all fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import strategies as st

from parity_tests.contract.fuzzing import fixed, fixed_gaps_test, fuzz, fuzz_test, make_case, spoil_device, spoil_rng
from parity_tests.contract.strategies import Bad, NAN, np_floats, seeded_rng, size, spoil_count, spoil_unit
from reference_torch import augmentation as th_aug
from scratch_numpy import augmentation as np_aug


def _images(draw, shape):
    dtype = draw(st.sampled_from(["uint8", "float32", "float64"]))
    if dtype == "uint8":
        return seeded_rng(draw).integers(0, 256, size=shape).astype(np.uint8)
    return np_floats(draw, shape, dtype, layouts=("C", "strided", "readonly"))


def _spoil_images(draw, images, name="images") -> Bad:
    kind = draw(st.sampled_from(["dtype", "rank", "empty", "NaN", "list", "None"]))
    if kind == "dtype":
        dtype = draw(st.sampled_from(["int64", "float16", "bool", "object", "int32", "uint16"]))
        return Bad(images.astype(dtype), f"images {dtype}", (name,))
    if kind == "NaN":
        bad = images.astype(np.float64)
        bad.flat[0] = np.nan
        return Bad(bad, "images NaN", (name,))
    bad = {"rank": images[0], "empty": images[:0], "list": images.tolist(), "None": None}[kind]
    return Bad(bad, f"images {kind}", (name,))


def _spoil_offsets(draw, offsets, padding, name="offsets") -> Bad:
    kind = draw(st.sampled_from(["float", "negative", "too far", "shape", "list"]))
    bad = {"float": offsets.astype(float), "negative": offsets - 1 - offsets.max(),
           "too far": offsets + 2 * padding + 1, "shape": offsets[:, :1], "list": offsets.tolist()}[kind]
    return Bad(bad, f"offsets {kind}", (name,))


def _spoil_flip(draw, flip, name="flip") -> Bad:
    kind = draw(st.sampled_from(["int", "length", "list", "None"]))
    bad = {"int": flip.astype(int), "length": np.append(flip, True), "list": flip.tolist(), "None": None}[kind]
    return Bad(bad, f"flip {kind}", (name,))


def _aug_case(draw):
    m, H, W, C = size(draw, 1, 3), size(draw, 1, 5), size(draw, 1, 5), size(draw, 1, 3)
    images = _images(draw, (m, H, W, C))
    padding = draw(st.integers(0, 3))
    draws = np_aug.draw(m, padding, rng=draw(st.integers(0, 99)))
    return images, padding, draws, th_aug.to_channels_first(np.array(images))


@fuzz("np.augmentation.draw", 30)
def _np_aug_draw(draw):
    m, padding = size(draw, 1, 10), draw(st.integers(0, 4))

    def check(draws, kw):
        assert draws.flip.shape == (m,) and draws.flip.dtype == bool and draws.offsets.shape == (m, 2)
        assert draws.offsets.min() >= 0 and draws.offsets.max() <= 2 * padding
    return make_case(draw, np_aug.draw, {"m": m, "padding": padding, "rng": draw(st.integers(0, 9)),
                                         "flip_probability": draw(st.sampled_from([0, 0.5, 1.0]))}, {
        "m": lambda d: spoil_count(d, "m"), "padding": lambda d: spoil_count(d, "padding", minimum=0),
        "rng": spoil_rng,
        "flip_probability": lambda d: spoil_unit(d, "flip_probability", closed_low=True, closed_high=True)}, check)


@fuzz("np.augmentation.horizontal_flip", 30)
def _np_hflip(draw):
    images, padding, draws, timages = _aug_case(draw)

    def check(out, kw):
        assert out.dtype == images.dtype and out.shape == images.shape
        expected = th_aug.horizontal_flip(timages, draws.flip).permute(0, 2, 3, 1)
        assert np.array_equal(out, expected.numpy())
    return make_case(draw, np_aug.horizontal_flip, {"images": images, "flip": draws.flip}, {
        "images": lambda d: _spoil_images(d, images), "flip": lambda d: _spoil_flip(d, draws.flip)}, check)


@fuzz("np.augmentation.random_crop", 30)
def _np_crop(draw):
    images, padding, draws, timages = _aug_case(draw)

    def check(out, kw):
        assert out.dtype == images.dtype and out.shape == images.shape
        expected = th_aug.random_crop(timages, draws.offsets, padding).permute(0, 2, 3, 1)
        assert np.array_equal(out, expected.numpy())
    return make_case(draw, np_aug.random_crop, {"images": images, "offsets": draws.offsets, "padding": padding}, {
        "images": lambda d: _spoil_images(d, images), "offsets": lambda d: _spoil_offsets(d, draws.offsets, padding),
        "padding": lambda d: Bad(d(st.sampled_from([-1, 1.5, "2", None])), "padding", ("padding",))}, check)


@fuzz("np.augmentation.augment", 25)
def _np_augment(draw):
    images, padding, draws, timages = _aug_case(draw)

    def check(out, kw):
        expected = th_aug.augment(timages, draws, padding).permute(0, 2, 3, 1)
        assert np.array_equal(out, expected.numpy())
    return make_case(draw, np_aug.augment, {"images": images, "draws": draws, "padding": padding}, {
        "images": lambda d: _spoil_images(d, images),
        "draws": lambda d: Bad(d(st.sampled_from([None, tuple(draws), {"flip": draws.flip}])), "draws", ("draws",))},
        check)


def _spoil_th_images(draw, timages) -> Bad:
    kind = draw(st.sampled_from(["dtype", "rank", "empty", "NaN", "numpy", "None"]))
    if kind == "dtype":
        dtype = draw(st.sampled_from([torch.int64, torch.float16, torch.bool, torch.int32]))
        return Bad(timages.to(dtype), f"images {dtype}", ("images",))
    if kind == "NaN":
        bad = timages.to(torch.float64)
        bad.view(-1)[0] = NAN
        return Bad(bad, "images NaN", ("images",))
    bad = {"rank": timages[0], "empty": timages[:0], "numpy": timages.numpy(), "None": None}[kind]
    return Bad(bad, f"images {kind}", ("images",))


@fuzz("th.augmentation.horizontal_flip", 25)
def _th_hflip(draw):
    images, padding, draws, timages = _aug_case(draw)
    flip = draws.flip if draw(st.booleans()) else torch.from_numpy(draws.flip)
    return make_case(draw, th_aug.horizontal_flip, {"images": timages, "flip": flip}, {
        "images": lambda d: _spoil_th_images(d, timages), "flip": lambda d: _spoil_flip(d, draws.flip)},
        lambda out, kw: np.array_equal(out.permute(0, 2, 3, 1).numpy(), np_aug.horizontal_flip(images, draws.flip))
        or pytest.fail("flip differs"))


@fuzz("th.augmentation.random_crop", 25)
def _th_crop(draw):
    images, padding, draws, timages = _aug_case(draw)
    return make_case(draw, th_aug.random_crop, {"images": timages, "offsets": draws.offsets, "padding": padding}, {
        "images": lambda d: _spoil_th_images(d, timages),
        "offsets": lambda d: _spoil_offsets(d, draws.offsets, padding),
        "padding": lambda d: Bad(d(st.sampled_from([-1, 1.5, "2", None])), "padding", ("padding",))},
        lambda out, kw: np.array_equal(out.permute(0, 2, 3, 1).numpy(),
                                       np_aug.random_crop(images, draws.offsets, padding)) or pytest.fail("crop"))


@fuzz("th.augmentation.augment", 25)
def _th_augment(draw):
    images, padding, draws, timages = _aug_case(draw)
    return make_case(draw, th_aug.augment, {"images": timages, "draws": draws, "padding": padding}, {
        "images": lambda d: _spoil_th_images(d, timages),
        "draws": lambda d: Bad(d(st.sampled_from([None, tuple(draws)])), "draws", ("draws",))},
        lambda out, kw: np.array_equal(out.permute(0, 2, 3, 1).numpy(), np_aug.augment(images, draws, padding))
        or pytest.fail("augment"))


@fuzz("th.augmentation.to_channels_first", 20)
def _th_to_channels_first(draw):
    images, padding, draws, timages = _aug_case(draw)
    return make_case(draw, th_aug.to_channels_first, {"images": images, "device": "cpu"}, {
        "images": lambda d: _spoil_images(d, images), "device": spoil_device},
        lambda out, kw: torch.equal(out, timages) or pytest.fail("layout"))


FIXED_GAPS = [
    fixed("th-to_channels_first-images", lambda: th_aug.to_channels_first(np.ones((2, 2, 2))), "images"),
]


test_fixed_gaps = fixed_gaps_test(FIXED_GAPS)


test_fuzz = fuzz_test(__name__)
