"""Image augmentation layers against Keras 3: identity at inference, deterministic settings equal to
Keras's outputs, and per-sample statistics, value ranges and seeds in training."""

import math

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt

RNG = np.random.default_rng(0)
IMAGES = RNG.random((4, 9, 11, 3)).astype("float32")


def _keras(layer, x, training):
    out = layer(x, training=training)
    return np.asarray(out.detach().cpu() if hasattr(out, "detach") else out)


# Settings whose training-mode output is fixed: zero-width factor ranges, and RandomCrop's centered window.
DETERMINISTIC = [
    ("RandomRotation", dict(factor=(0.25, 0.25))),
    ("RandomRotation", dict(factor=(-0.1, -0.1), fill_mode="constant", fill_value=0.5, interpolation="nearest")),
    ("RandomRotation", dict(factor=(0.125, 0.125), fill_mode="wrap", data_format="channels_first")),
    ("RandomZoom", dict(height_factor=(0.3, 0.3), width_factor=(-0.2, -0.2), fill_mode="wrap")),
    ("RandomZoom", dict(height_factor=(-0.4, -0.4), fill_mode="nearest")),
    ("RandomZoom", dict(height_factor=(0.6, 0.6), width_factor=(0.2, 0.2), fill_mode="constant", fill_value=0.5)),
    ("RandomZoom", dict(height_factor=(-0.3, -0.3), fill_mode="reflect", interpolation="nearest")),
    ("RandomRotation", dict(factor=(0.3, 0.3), fill_mode="constant")),
    ("RandomTranslation", dict(height_factor=(0.2, 0.2), width_factor=(-0.3, -0.3), fill_mode="nearest")),
    ("RandomTranslation", dict(height_factor=(-0.25, -0.25), width_factor=(0.1, 0.1), fill_mode="constant",
                               fill_value=1.0, interpolation="nearest")),
    ("RandomContrast", dict(factor=0.0, value_range=(0.2, 0.8))),
    ("RandomBrightness", dict(factor=(0.2, 0.2), value_range=(0, 1))),
    ("RandomBrightness", dict(factor=(-0.5, -0.5), value_range=(0, 1))),
    ("RandomCrop", dict(height=9, width=5)),
    ("RandomCrop", dict(height=12, width=5)),
    ("RandomCrop", dict(height=4, width=11, data_format="channels_first")),
]
RANDOM = [
    ("RandomFlip", dict()), ("RandomFlip", dict(mode="horizontal")), ("RandomRotation", dict(factor=0.2)),
    ("RandomZoom", dict(height_factor=0.3)), ("RandomTranslation", dict(height_factor=0.2, width_factor=0.2)),
    ("RandomContrast", dict(factor=0.5)), ("RandomBrightness", dict(factor=0.3)),
]


def _inputs(kwargs):
    return IMAGES.transpose(0, 3, 1, 2).copy() if kwargs.get("data_format") == "channels_first" else IMAGES


@pytest.mark.parametrize("name,kwargs", DETERMINISTIC, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DETERMINISTIC)])
def test_deterministic_settings_equal_keras(name, kwargs):
    x = _inputs(kwargs)
    ours = getattr(kt.layers, name)(**kwargs)(torch.tensor(x), training=True).numpy()
    theirs = _keras(getattr(keras.layers, name)(**kwargs), x, True)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("name,kwargs", RANDOM + DETERMINISTIC[:3])
def test_identity_at_inference_like_keras(name, kwargs):
    x = _inputs(kwargs)
    layer = getattr(kt.layers, name)(**kwargs)
    ours = layer(torch.tensor(x)).numpy()  # a fresh layer is in inference mode, as in Keras
    np.testing.assert_array_equal(ours, _keras(getattr(keras.layers, name)(**kwargs), x, False))
    np.testing.assert_array_equal(ours, x)
    layer.train()
    assert not np.array_equal(layer(torch.tensor(x)).numpy(), x)  # the module's training mode switches it on


def test_random_crop_at_inference_is_the_documented_center_window():
    # Keras documents (and declares as its output shape) the largest centered window of the target aspect
    # ratio, resized to the target; its eager inference call returns the input instead. Keras's Resizing
    # with crop_to_aspect_ratio computes exactly the documented output.
    x = torch.tensor(IMAGES)
    for height, width in ((9, 5), (12, 5), (5, 6)):
        ours = kt.layers.RandomCrop(height, width)(x).numpy()
        reference = _keras(keras.layers.Resizing(height, width, crop_to_aspect_ratio=True), IMAGES, False)
        np.testing.assert_allclose(ours, reference, atol=1e-5)
    symbolic = kt.layers.RandomCrop(24, 20)(kt.Input((32, 32, 3)))
    assert tuple(symbolic.shape) == (None, 24, 20, 3)


@pytest.mark.parametrize("mode,axes", [("horizontal", (2,)), ("vertical", (1,)), ("horizontal_and_vertical", (1, 2))])
def test_flip_is_per_sample_with_rate_one_half(mode, axes):
    x = torch.rand(400, 5, 6, 2)
    out = kt.layers.RandomFlip(mode)(x, training=True)
    flipped = (out == x.flip(axes)).flatten(1).all(1)
    kept = (out == x).flatten(1).all(1)
    assert bool((flipped ^ kept).all())  # every image is either flipped or untouched
    assert 0.4 < flipped.float().mean().item() < 0.6


def _lit_pixel_positions(layer, batch=100, size=31, at=(15, 25)):
    """Where a single lit pixel lands in each image of a batch, relative to the center (x right, y down)."""
    x = torch.zeros(batch, size, size, 1)
    x[:, at[0], at[1]] = 1.0
    out = layer(x, training=True)[..., 0].flatten(1)
    assert bool((out.max(1).values > 0.2).all())  # bilinear spreads the pixel; its peak stays
    position = out.argmax(1)
    return (position % size - size // 2).float(), (position // size - size // 2).float()


def test_rotation_angles_per_sample_within_range():
    layer = kt.layers.RandomRotation(0.1, fill_mode="constant", seed=3)
    dx, dy = _lit_pixel_positions(layer)
    angles = torch.rad2deg(torch.atan2(dy, dx))
    assert float(angles.abs().max()) <= 36 + 6  # factor 0.1 is +-36 degrees; +-6 for rounding to pixels
    assert float(angles.min()) < -20 and float(angles.max()) > 20 and angles.unique().numel() > 10


def test_translation_per_sample_within_range():
    layer = kt.layers.RandomTranslation((-0.2, 0.2), (0.0, 0.3), fill_mode="constant")
    dx, dy = _lit_pixel_positions(layer, at=(15, 15))
    assert float(dy.abs().max()) <= 0.2 * 31 + 1 and float(dx.min()) >= -1 and float(dx.max()) <= 0.3 * 31 + 1
    assert float(dy.min()) < -3 and float(dy.max()) > 3 and float(dx.max()) > 5


def test_color_layers_ranges_per_sample():
    x = 0.3 + 0.4 * torch.rand(300, 6, 7, 3)  # in [0.3, 0.7]: no clipping for the brightness check below
    delta = kt.layers.RandomBrightness(0.2, value_range=(0, 1))(x, training=True) - x
    per_image = delta.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-6)  # one offset per image
    assert float(per_image.abs().max()) <= 0.2 + 1e-6 and float(per_image[:, 0].std()) > 0.05
    out = kt.layers.RandomContrast((0.5, 0.5), value_range=(0.25, 0.75))(x, training=True)
    assert float(out.min()) >= 0.25 and float(out.max()) <= 0.75
    unclipped = kt.layers.RandomContrast((0.5, 0.5), value_range=(-9, 9))(x, training=True)
    mean = x.mean((1, 2), keepdim=True)
    scale = ((unclipped - mean) / (x - mean)).flatten(1)
    assert float(scale.min()) >= 0.5 - 1e-3 and float(scale.max()) <= 1.5 + 1e-3
    assert float(scale.median(1).values.std()) > 0.1  # a different factor per image


def test_random_crop_windows_per_sample():
    x = torch.arange(64 * 12 * 10, dtype=torch.float32).reshape(64, 12, 10, 1)
    out = kt.layers.RandomCrop(5, 4)(x, training=True)
    assert out.shape == (64, 5, 4, 1)
    flat = x[0, :, :, 0]
    top_left = out[:, 0, 0, 0] - torch.arange(64) * 120
    rows, cols = (top_left // 10).long(), (top_left % 10).long()
    assert bool((rows <= 7).all()) and bool((cols <= 6).all()) and rows.unique().numel() > 3
    expected = torch.stack([flat[r:r + 5, c:c + 4] for r, c in zip(rows.tolist(), cols.tolist())]) + (
        torch.arange(64)[:, None, None] * 120)
    torch.testing.assert_close(out[..., 0], expected)


def test_seeds_reproduce_the_sequence_of_draws():
    x = torch.tensor(IMAGES)
    first, second, other = (kt.layers.RandomRotation(0.3, seed=seed) for seed in (7, 7, 8))
    a1, a2 = first(x, training=True), first(x, training=True)
    torch.testing.assert_close(second(x, training=True), a1)
    torch.testing.assert_close(second(x, training=True), a2)
    assert not torch.equal(a1, a2) and not torch.equal(other(x, training=True), a1)


def test_dict_inputs_masks_follow_images_and_labels_pass():
    x = torch.rand(16, 8, 8, 1)
    data = {"images": x, "segmentation_masks": x.clone(), "labels": torch.arange(16)}
    out = kt.layers.RandomRotation(0.5, interpolation="nearest", seed=1)(data, training=True)
    torch.testing.assert_close(out["segmentation_masks"], out["images"])
    assert torch.equal(out["labels"], data["labels"])
    single = kt.layers.RandomFlip("vertical", seed=0)(x[0], training=True)
    assert single.shape == (8, 8, 1)


@pytest.mark.parametrize("make,error", [
    (lambda: kt.layers.RandomRotation(1.5), ValueError),
    (lambda: kt.layers.RandomZoom(-1.0), ValueError),
    (lambda: kt.layers.RandomTranslation((0.1, 0.2, 0.3), 0.1), ValueError),
    (lambda: kt.layers.RandomRotation(0.1, fill_mode="mirror"), ValueError),
    (lambda: kt.layers.RandomZoom(0.1, interpolation="bicubic"), ValueError),
    (lambda: kt.layers.RandomFlip("diagonal"), ValueError),
    (lambda: kt.layers.RandomContrast(-0.5), ValueError),
    (lambda: kt.layers.RandomBrightness(0.1, value_range=1), ValueError),
    (lambda: kt.layers.RandomFlip(seed="1"), TypeError),
    (lambda: kt.layers.RandomFlip()(torch.zeros(2, 3)), ValueError),
    (lambda: kt.layers.RandomFlip()({"images": torch.zeros(1, 2, 2, 3), "boxes": 1}), ValueError),
])
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


@pytest.mark.parametrize("fill_mode,fill_value", [("reflect", 0.0), ("nearest", 0.0), ("constant", 0.0),
                                                   ("constant", -2.0)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_fused_bilinear_warp_equals_affine_transform(fill_mode, fill_value, data_format):
    # The grid_sample path must give ops.image.affine_transform's numbers (Keras's fill modes) for any
    # affine matrices, including coordinates far outside the image.
    from kerastorch.layers.augmentation import _bilinear_warp
    from kerastorch.ops.image import affine_transform

    generator = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 13, 17, generator=generator)
    images = images if data_format == "channels_first" else images.permute(0, 2, 3, 1)
    matrix = torch.cat([torch.randn(6, 6, generator=generator) * torch.tensor([1.5, 1.5, 20, 1.5, 1.5, 20]),
                        torch.zeros(6, 2)], dim=1)
    torch.testing.assert_close(
        _bilinear_warp(images, matrix, fill_mode, fill_value, data_format),
        affine_transform(images, matrix, "bilinear", fill_mode, fill_value, data_format), atol=1e-4, rtol=1e-4)


def test_rotation_matrix_matches_keras_angle_convention():
    # factor 0.25 is +90 degrees: Keras rotates counter-clockwise in the (x right, y down) pixel frame.
    x = torch.zeros(1, 5, 5, 1)
    x[0, 2, 4] = 1.0
    out = kt.layers.RandomRotation((0.25, 0.25), fill_mode="constant")(x, training=True)[0, ..., 0]
    assert math.isclose(float(out[0, 2]), 1.0, abs_tol=1e-5)
