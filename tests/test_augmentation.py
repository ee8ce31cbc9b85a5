"""Image augmentation layers against Keras 3, a row per layer: inference outputs, configs and `.keras` files
both ways; deterministic settings (zero-width ranges, certain probabilities) equal to Keras's training
outputs; per-sample statistics, value ranges, seeds and the seed state in `state_dict` in training."""

import json
import math

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.saving.serialization import layer_config

RNG = np.random.default_rng(0)
IMAGES = RNG.random((4, 9, 11, 3)).astype("float32")
PIXELS = (RNG.random((2, 16, 16, 3)) * 255).astype("float32")  # 0-255 images, Keras's default value_range
CF = "channels_first"


@pytest.fixture(autouse=True)
def _fixed_global_rng():
    """Unseeded layers draw from torch's global RNG: fix it so the statistical checks never flake."""
    torch.manual_seed(0)


def _keras(layer, x, training):
    out = layer(x, training=training)
    return np.asarray(out.detach().cpu() if hasattr(out, "detach") else out)


# One row per Keras augmentation layer: its constructor arguments for the inference, config and file checks.
LAYERS = [
    ("RandomFlip", dict(mode="horizontal", seed=3)),
    ("RandomRotation", dict(factor=0.2, fill_mode="constant")),
    ("RandomZoom", dict(height_factor=0.3, width_factor=(-0.1, 0.2))),
    ("RandomTranslation", dict(height_factor=0.2, width_factor=(0.0, 0.3), fill_mode="nearest")),
    ("RandomCrop", dict(height=8, width=6)),
    ("RandomContrast", dict(factor=0.5)),
    ("RandomBrightness", dict(factor=0.3, value_range=(0, 255))),
    ("RandomHue", dict(factor=0.3, seed=1)),
    ("RandomSaturation", dict(factor=(0.2, 0.8))),
    ("RandomGrayscale", dict(factor=0.4)),
    ("RandomSharpness", dict(factor=0.5)),
    ("RandomShear", dict(x_factor=0.3, y_factor=(0.1, 0.2), fill_mode="constant")),
    ("RandomPerspective", dict(factor=0.7, scale=0.5)),
    ("RandomErasing", dict(factor=0.5, scale=(0.1, 0.3), fill_value=7.0)),
    ("RandomGaussianBlur", dict(factor=0.5, kernel_size=5, sigma=(0.3, 0.9))),
    ("RandomInvert", dict(factor=0.5)),
    ("RandomPosterization", dict(factor=(2, 6))),
    ("Solarization", dict(addition_factor=0.2, threshold_factor=(0.3, 0.6))),
    ("AutoContrast", dict()),
    ("Equalization", dict(bins=128)),
    ("ContrastLimitedAdaptiveHistogramEqualization", dict(clip_limit=4.0, tile_grid_size=(2, 2))),
    ("RandomColorJitter", dict(brightness_factor=0.2, contrast_factor=0.3, saturation_factor=(0.4, 0.6),
                               hue_factor=0.1)),
    ("RandomColorDegeneration", dict(factor=0.4)),
    ("RandAugment", dict(num_ops=2, factor=0.4)),
    ("AugMix", dict(num_chains=2, chain_depth=2, all_ops=False)),
    ("CutMix", dict(factor=0.8)),
    ("MixUp", dict(alpha=0.4)),
    ("RandomElasticTransform", dict(factor=0.5, scale=0.5)),
]
LAYER_IDS = [name for name, _ in LAYERS]


def test_every_keras_augmentation_layer_has_a_row():
    package = "keras.src.layers.preprocessing.image_preprocessing"
    names = {name for name in dir(keras.layers) if getattr(getattr(keras.layers, name), "__module__", "").startswith(package)}
    # Resizing/CenterCrop are preprocessing layers and MaxNumBoundingBoxes only pads boxes (all tested elsewhere).
    assert names - {"Resizing", "CenterCrop", "MaxNumBoundingBoxes"} == set(LAYER_IDS)
    assert all(hasattr(kt.layers, name) for name in LAYER_IDS)


def test_constructor_arguments_and_defaults_are_keras_s():
    import inspect

    for name in LAYER_IDS:
        def arguments(cls):
            return [(p.name, p.default) for p in inspect.signature(cls.__init__).parameters.values()
                    if p.name not in ("self", "kwargs", "name", "data_format")]

        assert arguments(getattr(kt.layers, name)) == arguments(getattr(keras.layers, name)), name


@pytest.mark.parametrize("name,kwargs", [row for row in LAYERS if row[0] != "RandomCrop"], ids=[
    name for name in LAYER_IDS if name != "RandomCrop"])
def test_inference_equals_keras(name, kwargs):
    # Identity for every random layer; AutoContrast and CLAHE apply at inference, as in Keras.
    ours = getattr(kt.layers, name)(**kwargs)
    output = ours(torch.tensor(PIXELS)).numpy()
    np.testing.assert_allclose(output, _keras(getattr(keras.layers, name)(**kwargs), PIXELS, False), atol=1e-4)
    if name not in ("AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization"):
        np.testing.assert_array_equal(output, PIXELS)


def _json(config):
    return json.loads(json.dumps(config))


@pytest.mark.parametrize("name,kwargs", LAYERS, ids=LAYER_IDS)
def test_config_round_trip_and_keras_configs_both_ways(name, kwargs):
    ours, theirs = getattr(kt.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    clone = type(ours).from_config(ours.get_config())
    assert layer_config(clone) == layer_config(ours)
    to_keras = keras.layers.deserialize(_json(kt.layers.serialize(ours)))
    assert type(to_keras) is type(theirs)
    ignored = {"name": None, "seed": None}  # Keras's RandomCrop invents a seed when none is given
    if name != "RandomShear":  # Keras cannot read back its own RandomShear config (it writes (-f, f))
        assert _json(to_keras.get_config()) | ignored == _json(theirs.get_config()) | ignored
    from_keras = kt.layers.deserialize(_json(keras.layers.serialize(theirs)))
    assert type(from_keras) is type(ours)
    if name == "RandomShear":  # Keras's config holds the range (-f, f) where ours holds f: the same shears
        assert (from_keras._x_range, from_keras._y_range) == (ours._x_range, ours._y_range)
    else:
        assert _json(layer_config(from_keras)) | ignored == _json(layer_config(ours)) | ignored


@pytest.mark.parametrize("name,kwargs", LAYERS, ids=LAYER_IDS)
def test_keras_files_both_ways(tmp_path, name, kwargs):
    """A model holding the layer, saved by each library and loaded by the other, predicts the same."""
    def model(lib):
        return lib.Sequential([lib.Input((16, 16, 3)), getattr(lib.layers, name)(**kwargs)])

    ours = model(kt)
    expected = ours.predict(PIXELS, verbose=0)
    ours.save(tmp_path / "t.keras")
    np.testing.assert_allclose(kt.saving.load_model(tmp_path / "t.keras").predict(PIXELS, verbose=0), expected,
                               atol=1e-4)
    if name == "Equalization":  # Keras's Equalization cannot sit in a Keras model ("part of a cycle")
        return
    theirs = model(keras)
    if name != "RandomCrop":  # Keras's eager inference returns the input; ours the documented window
        np.testing.assert_allclose(theirs.predict(PIXELS, verbose=0), expected, atol=1e-4)
    theirs.save(tmp_path / "k.keras")
    loaded = kt.saving.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(loaded.predict(PIXELS, verbose=0), expected, atol=1e-4)
    if name == "RandomShear":  # Keras cannot load its own RandomShear files; ours carries the factor as given
        assert kt.saving.load_model(tmp_path / "t.keras").layers[0].get_config()["x_factor"] == kwargs["x_factor"]
    again = keras.models.load_model(tmp_path / "t.keras")
    assert type(again.layers[0]).__name__ == name
    np.testing.assert_allclose(again.predict(PIXELS, verbose=0), theirs.predict(PIXELS, verbose=0), atol=1e-4)


# Settings whose training-mode output is fixed: zero-width factor ranges, probabilities 0 or 1, the
# hue's half turn (+-0.5 is the same shift), RandomCrop's centered window.
UNIT = dict(value_range=(0, 1))
DETERMINISTIC = [
    ("RandomRotation", dict(factor=(0.25, 0.25))),
    ("RandomRotation", dict(factor=(-0.1, -0.1), fill_mode="constant", fill_value=0.5, interpolation="nearest")),
    ("RandomRotation", dict(factor=(0.125, 0.125), fill_mode="wrap", data_format=CF)),
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
    ("RandomCrop", dict(height=4, width=11, data_format=CF)),
    ("RandomHue", dict(factor=(1.0, 1.0), **UNIT)),
    ("RandomHue", dict(factor=0.0, value_range=(0, 2), data_format=CF)),
    ("RandomSaturation", dict(factor=(0.5, 0.5), **UNIT)),
    ("RandomSaturation", dict(factor=(0.8, 0.8), **UNIT)),
    ("RandomSaturation", dict(factor=(0.0, 0.0), value_range=(0, 1), data_format=CF)),
    ("RandomGrayscale", dict(factor=1.0)),
    ("RandomGrayscale", dict(factor=1.0, data_format=CF)),
    ("RandomGrayscale", dict(factor=0.0)),
    ("RandomSharpness", dict(factor=(0.1, 0.1), **UNIT)),
    ("RandomSharpness", dict(factor=(0.9, 0.9), value_range=(0, 1), data_format=CF)),
    ("RandomColorDegeneration", dict(factor=(0.3, 0.3), **UNIT)),
    ("RandomColorDegeneration", dict(factor=(-0.6, -0.6), value_range=(0, 1), data_format=CF)),
    ("RandomGaussianBlur", dict(factor=(1.0, 1.0), sigma=(0.5, 0.5), **UNIT)),
    ("RandomGaussianBlur", dict(factor=(1.0, 1.0), kernel_size=5, sigma=(0.8, 0.8), value_range=(0, 1), data_format=CF)),
    ("RandomGaussianBlur", dict(factor=0.0, **UNIT)),
    ("RandomInvert", dict(factor=(1.0, 1.0), **UNIT)),
    ("RandomInvert", dict(factor=0.0, value_range=(0, 2))),
    ("RandomPosterization", dict(factor=(3, 3), **UNIT)),
    ("RandomPosterization", dict(factor=(6, 6), value_range=(0, 1), data_format=CF)),
    ("Solarization", dict(**UNIT)),
    ("Solarization", dict(addition_factor=0.0, threshold_factor=(0.0, 0.0), value_range=(0, 2))),
    ("AutoContrast", dict(**UNIT)),
    ("AutoContrast", dict(value_range=(0, 2))),
    ("RandomErasing", dict(factor=(1.0, 1.0), scale=(1.0, 1.0), fill_value=0.25, **UNIT)),
    ("RandomErasing", dict(factor=(1.0, 1.0), scale=(1.0, 1.0), fill_value=[0.1, 0.5, 0.9], **UNIT)),
    ("RandomErasing", dict(factor=0.0, **UNIT)),
    ("RandomPerspective", dict(factor=(1.0, 1.0), scale=0.0)),
    ("RandomElasticTransform", dict(scale=0.0, **UNIT)),
    ("RandomColorJitter", dict(brightness_factor=(0.1, 0.1), contrast_factor=0.0, saturation_factor=(0.6, 0.6),
                               hue_factor=(1.0, 1.0), **UNIT)),
    ("RandAugment", dict(num_ops=0, **UNIT)),
    ("MixUp", dict(alpha=0.3)),  # on a single image there is nothing to mix with
    ("CutMix", dict()),
]


def _inputs(kwargs):
    return IMAGES.transpose(0, 3, 1, 2).copy() if kwargs.get("data_format") == CF else IMAGES


@pytest.mark.parametrize("name,kwargs", DETERMINISTIC, ids=[f"{n}-{i}" for i, (n, _) in enumerate(DETERMINISTIC)])
def test_deterministic_settings_equal_keras(name, kwargs):
    x = _inputs(kwargs)
    if name in ("MixUp", "CutMix"):
        x = x[:1]
    ours = getattr(kt.layers, name)(**kwargs)(torch.tensor(x), training=True).numpy()
    theirs = _keras(getattr(keras.layers, name)(**kwargs), x, True)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("name,kwargs,shape", [
    ("Equalization", dict(), (1, 16, 16, 3)),
    ("Equalization", dict(bins=64, value_range=(0, 1), data_format=CF), (1, 3, 12, 10)),
    ("ContrastLimitedAdaptiveHistogramEqualization", dict(tile_grid_size=(2, 2)), (2, 16, 16, 3)),
    ("ContrastLimitedAdaptiveHistogramEqualization", dict(clip_limit=0, tile_grid_size=(3, 2), data_format=CF),
     (2, 3, 14, 11)),
    ("ContrastLimitedAdaptiveHistogramEqualization", dict(clip_limit=2.0, tile_grid_size=(2, 1), value_range=(0, 1)),
     (1, 16, 16, 1)),
])
def test_histogram_layers_equal_keras(name, kwargs, shape):
    # Equalization per image (Keras pools the batch; one image agrees). CLAHE with clip limits that are whole
    # bin counts and at most one row/column of padding: Keras on torch truncates the limit to an integer and
    # pads by repeating the edge, where its TensorFlow/JAX backends (and this layer) keep the limit and pad
    # symmetrically.
    scale = 1.0 if kwargs.get("value_range") == (0, 1) else 255.0
    x = (np.random.default_rng(1).random(shape) * scale).astype("float32")
    x[..., :2, :2] = 0.0  # some repeated values
    ours = getattr(kt.layers, name)(**kwargs)(torch.tensor(x), training=True).numpy()
    np.testing.assert_allclose(ours, _keras(getattr(keras.layers, name)(**kwargs), x, True), atol=1e-3)


def test_equalization_is_per_image():
    x = torch.tensor(PIXELS)
    batch = kt.layers.Equalization()(x, training=True)
    for i in range(2):
        torch.testing.assert_close(batch[i], kt.layers.Equalization()(x[i:i + 1], training=True)[0])


@pytest.mark.parametrize("name,kwargs", [("RandomShear", dict(x_factor=0.4, y_factor=0.3)),
                                         ("RandomShear", dict(x_factor=(0.1, 0.5), fill_mode="constant",
                                                              interpolation="nearest", data_format=CF)),
                                         ("RandomPerspective", dict(factor=0.6, scale=0.8, fill_value=0.3)),
                                         ("RandomPerspective", dict(interpolation="nearest", data_format=CF))])
def test_random_warps_equal_keras_for_keras_drawn_parameters(name, kwargs):
    """Keras's drawn shears and corner offsets, applied by our layer, give Keras's images."""
    x = torch.tensor(_inputs(kwargs))
    theirs = getattr(keras.layers, name)(seed=5, **kwargs)
    params = theirs.get_random_transformation(x, training=True)
    expected = np.asarray(theirs.transform_images(x, params, training=True))
    ours = getattr(kt.layers, name)(**kwargs)
    if name == "RandomShear":
        sx, sy = torch.as_tensor(params["shear_factor"]).unbind(1)
        one, zero = torch.ones_like(sx), torch.zeros_like(sx)
        ours_params = torch.stack([one, sx, zero, sy, one, zero, zero, zero], dim=1)
    else:
        from kerastorch.layers.augmentation.geometric import _homography

        ours_params = (torch.as_tensor(params["apply_perspective"]),
                       _homography(torch.as_tensor(params["start_points"]), torch.as_tensor(params["end_points"])))
    np.testing.assert_allclose(ours._transform(x, ours_params, ours.interpolation).numpy(), expected, atol=1e-4)


def _t(value):
    return torch.as_tensor(np.asarray(value.detach().cpu() if hasattr(value, "detach") else value))


# Keras's drawn parameters (its `get_random_transformation`) in our layers' own form.
KERAS_DRAWS = [
    ("RandomHue", dict(factor=0.4, value_range=(0, 1)), lambda p: _t(p["factor"])),
    ("RandomSaturation", dict(factor=(0.1, 0.9), value_range=(0, 1)), lambda p: _t(p["factor"])),
    ("RandomSharpness", dict(factor=0.9, value_range=(0, 1), data_format=CF), lambda p: _t(p["factor"]).view(-1, 1, 1, 1) * 2),
    ("RandomGrayscale", dict(factor=0.5), lambda p: _t(p).view(-1)),
    ("RandomColorDegeneration", dict(factor=0.8, value_range=(0, 1)), lambda p: _t(p["factor"])),
    ("RandomInvert", dict(factor=0.7, value_range=(0, 1)), lambda p: _t(p["apply_inversion"])),
    ("RandomPosterization", dict(factor=(2, 7), value_range=(0, 1)), lambda p: _t(p["shift_factor"])),
    ("Solarization", dict(addition_factor=0.3, threshold_factor=(0.2, 0.9), value_range=(0, 1)),
     lambda p: (_t(p["additions"]), _t(p["thresholds"]))),
    ("RandomGaussianBlur", dict(factor=0.7, kernel_size=5, sigma=(0.2, 1.0), value_range=(0, 1)),
     lambda p: (_t(p["should_apply_blur"]), _t(p["blur_factor"]).view(1, 2).expand(len(IMAGES), 2))),
    ("RandomErasing", dict(scale=(0.1, 0.5), value_range=(0, 1)),
     lambda p: (_t(p["batch_masks"]) & _t(p["apply_erasing"]).view(-1, 1, 1, 1), _t(p["fill_value"]))),
    ("CutMix", dict(), lambda p: (_t(p["batch_masks"]), _t(p["mix_weight"]), _t(p["permutation_order"]).long())),
    ("MixUp", dict(alpha=0.5), lambda p: (_t(p["mix_weight"]), _t(p["permutation_order"]))),
]


@pytest.mark.parametrize("name,kwargs,convert", KERAS_DRAWS, ids=[row[0] for row in KERAS_DRAWS])
def test_transforms_equal_keras_for_keras_drawn_parameters(name, kwargs, convert):
    """Keras's random parameters, applied by our layer, give Keras's images (and labels where mixed)."""
    x = torch.tensor(_inputs(kwargs))
    theirs = getattr(keras.layers, name)(seed=11, **kwargs)
    params = theirs.get_random_transformation(x, training=True)
    ours = getattr(kt.layers, name)(**kwargs)
    ours_params = convert(params)
    expected = np.asarray(theirs.transform_images(x, params, training=True))
    np.testing.assert_allclose(ours._transform(x, ours_params, "bilinear").numpy(), expected, atol=1e-5)
    if name in ("CutMix", "MixUp"):
        labels = torch.nn.functional.one_hot(torch.arange(len(x)), len(x)).float()
        expected = np.asarray(theirs.transform_labels(labels, params, training=True))
        np.testing.assert_allclose(ours._transform_labels(labels, ours_params).numpy(), expected, atol=1e-6)


# ------------------------------------------------------------------------------ training statistics

def _changed(out, x):
    return (out - x).abs().flatten(1).amax(1) > 1e-4


@pytest.mark.parametrize("name,kwargs,rate", [
    ("RandomGrayscale", dict(factor=0.3), 0.3), ("RandomInvert", dict(factor=(0.5, 0.5)), 0.5),
    ("RandomInvert", dict(factor=0.6), 0.3), ("RandomGaussianBlur", dict(factor=(0.7, 0.7)), 0.7),
    ("RandomErasing", dict(factor=(0.4, 0.4), fill_value=0.0), 0.4),
    ("RandomPerspective", dict(factor=(0.5, 0.5), scale=0.6), 0.5),
    ("RandomElasticTransform", dict(factor=(0.25, 0.25)), 0.25),
])
def test_application_rates_per_sample(name, kwargs, rate):
    x = 20.0 + 200.0 * torch.rand(400, 8, 8, 3)
    out = getattr(kt.layers, name)(**kwargs)(x, training=True)
    assert abs(float(_changed(out, x).float().mean()) - rate) < 0.08
    assert float(out.min()) >= 0.0 and float(out.max()) <= 255.0


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


def test_hue_saturation_and_degeneration_per_sample():
    from kerastorch.ops.image import rgb_to_hsv

    x = 0.1 + 0.8 * torch.rand(200, 5, 5, 3)
    hue_in, sat_in, val_in = rgb_to_hsv(x).unbind(-1)
    hue_out, sat_out, val_out = rgb_to_hsv(kt.layers.RandomHue(0.4, value_range=(0, 1))(x, training=True)).unbind(-1)
    shift = torch.remainder(hue_out - hue_in + 0.5, 1.0) - 0.5  # signed shift on the circle
    per_image = shift.flatten(1).median(1).values
    assert float(per_image.abs().max()) <= 0.2 + 1e-3 and float(per_image.min()) < -0.1 and float(per_image.max()) > 0.1
    torch.testing.assert_close(val_out, val_in, atol=1e-5, rtol=1e-5)  # hue alone changes
    saturated = kt.layers.RandomSaturation((0.3, 0.6), value_range=(0, 1))(x, training=True)
    ratio = (rgb_to_hsv(saturated)[..., 1] / sat_in).flatten(1).median(1).values
    assert float(ratio.min()) >= 0.3 / 0.7 - 1e-3 and float(ratio.max()) <= 1.5 + 1e-3 and float(ratio.std()) > 0.1
    degenerate = kt.layers.RandomColorDegeneration((0.0, 1.0), value_range=(0, 1))(x, training=True)
    spread = lambda images: (images.amax(-1) - images.amin(-1)).flatten(1).mean(1)  # noqa: E731
    fraction = 1.0 - spread(degenerate) / spread(x)
    assert float(fraction.min()) >= -1e-4 and float(fraction.max()) <= 1.0 + 1e-4 and float(fraction.std()) > 0.2


def test_posterization_and_solarization_per_sample():
    x = torch.randint(0, 256, (300, 6, 6, 3)).float()
    out = kt.layers.RandomPosterization((2, 5))(x, training=True)
    dropped = sum((out.flatten(1) % 2 ** bits == 0).all(1).long() for bits in range(1, 8))  # low zero bits
    assert set((8 - dropped).tolist()) == {2, 3, 4}  # bits kept per image, drawn in [2, 5)
    solarized = kt.layers.Solarization(threshold_factor=(0.5, 0.5))(x, training=True)  # thresholds in [0.5, 127.5]
    inverted = solarized == 255 - x
    assert bool(((x >= 128) <= inverted).all())  # every value above the highest threshold is inverted
    assert float(inverted.float().flatten(1).mean(1).std()) > 0.05  # a different threshold per image


def test_sharpness_and_blur_per_sample():
    x = torch.rand(200, 10, 10, 3)
    blurred = kt.layers.RandomGaussianBlur((1.0, 1.0), sigma=(0.2, 1.0), value_range=(0, 1))(x, training=True)
    roughness = lambda images: (images[:, 1:] - images[:, :-1]).abs().flatten(1).mean(1)  # noqa: E731
    assert bool((roughness(blurred) < roughness(x)).all()) and float(roughness(blurred).std()) > 0.02
    sharp = kt.layers.RandomSharpness((0.8, 1.0), value_range=(-5, 5))(x, training=True)
    assert bool((roughness(sharp) > roughness(x)).all())  # factors above 0.5 sharpen, below soften
    soft = kt.layers.RandomSharpness((0.0, 0.3), value_range=(-5, 5))(x, training=True)
    assert bool((roughness(soft) < roughness(x)).all()) and float(roughness(soft).std()) > 0.01


def test_shear_perspective_and_elastic_warps_per_sample():
    x = torch.rand(64, 12, 12, 1)
    for layer in (kt.layers.RandomShear(0.3, 0.3, fill_mode="constant"), kt.layers.RandomPerspective(scale=0.5),
                  kt.layers.RandomElasticTransform(value_range=(0, 1))):
        out = layer(x, training=True)
        assert out.shape == x.shape and float(out.min()) >= -1e-6 and float(out.max()) <= 1 + 1e-6
        differences = (out - x).flatten(1).abs().mean(1)
        assert float(differences.std()) > 1e-3  # a different warp per image
    # A shear moves a bright column by y * shear: the top row stays, lower rows shift by different amounts.
    column = torch.zeros(200, 21, 21, 1)
    column[:, :, 10] = 1.0
    sheared = kt.layers.RandomShear(x_factor=(0.2, 0.2), fill_mode="constant", interpolation="nearest")(
        column, training=True)[..., 0]
    assert bool((sheared[:, 0].argmax(1) == 10).all())
    offsets = sheared[:, 20].argmax(1) - 10
    assert set(offsets.tolist()) == {-4, 4}  # +-0.2 * 20 rows, the sign drawn per image


def test_cutmix_and_mixup_mix_images_and_labels_consistently():
    n = 64
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 40, 48, 3).contiguous()
    labels = torch.nn.functional.one_hot(torch.arange(n), n).float()
    out = kt.layers.CutMix(seed=1)({"images": x, "labels": labels, "segmentation_masks": x[..., :1]}, training=True)
    images, mixed = out["images"], out["labels"]
    source = images[..., 0].flatten(1)
    own = (source == torch.arange(n).view(-1, 1).float()).float().mean(1)
    torch.testing.assert_close(mixed[torch.arange(n), torch.arange(n)], own, atol=0.08, rtol=0)  # label share = area kept
    assert bool((mixed.sum(1) - 1).abs().lt(1e-5).all()) and float(own.std()) > 0.05
    torch.testing.assert_close(out["segmentation_masks"][..., 0], images[..., 0])
    out = kt.layers.MixUp(alpha=0.5, seed=2)({"images": x, "labels": labels}, training=True)
    weight = out["labels"][torch.arange(n), torch.arange(n)]
    partner = out["labels"].clone()
    partner[torch.arange(n), torch.arange(n)] = 0
    other = partner.argmax(1).float()
    expected = weight * torch.arange(n) + (1 - weight) * other
    expected = torch.where(weight > 0.999, torch.arange(n).float(), expected)  # mixed with itself
    torch.testing.assert_close(out["images"][:, 0, 0, 0], expected, atol=1e-3, rtol=1e-4)
    assert 0.3 < float(weight.std()) < 0.5 and 0.0 < float(weight.mean()) < 1.0  # Beta(0.5, 0.5) weights
    single = kt.layers.CutMix()(x[0], training=True)
    assert torch.equal(single, x[0])


def test_policies_stay_in_range_and_differ_per_image():
    x = 255.0 * torch.rand(32, 12, 12, 3)
    for layer in (kt.layers.RandAugment(seed=4), kt.layers.AugMix(seed=4), kt.layers.RandomColorJitter(
            brightness_factor=0.3, contrast_factor=0.3, saturation_factor=0.5, hue_factor=0.3, seed=4)):
        out = layer(x, training=True)
        assert out.shape == x.shape and float(out.min()) >= -1e-3 and float(out.max()) <= 255.0 + 1e-3
        assert bool(_changed(out, x).all()) and float((out - x).abs().flatten(1).mean(1).std()) > 0.5
    # RandAugment picks its operations per image: 16 copies of one image come out in several ways.
    same = x[:1].expand(16, -1, -1, -1)
    out = kt.layers.RandAugment(num_ops=1, factor=(0.0, 0.0), seed=0)(same, training=True)
    assert len({tuple(row.tolist()) for row in out.flatten(1)[:, :20].round(decimals=3)}) > 3
    masks = torch.rand(8, 12, 12, 1)
    data = kt.layers.RandAugment(num_ops=2, seed=3)({"images": masks * 255, "segmentation_masks": masks}, training=True)
    assert data["segmentation_masks"].shape == masks.shape


def test_flip_is_per_sample_with_rate_one_half():
    x = torch.rand(400, 5, 6, 2)
    for mode, axes in (("horizontal", (2,)), ("vertical", (1,)), ("horizontal_and_vertical", (1, 2))):
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


def test_rotation_and_translation_per_sample_within_range():
    dx, dy = _lit_pixel_positions(kt.layers.RandomRotation(0.1, fill_mode="constant", seed=3))
    angles = torch.rad2deg(torch.atan2(dy, dx))
    assert float(angles.abs().max()) <= 36 + 6  # factor 0.1 is +-36 degrees; +-6 for rounding to pixels
    assert float(angles.min()) < -20 and float(angles.max()) > 20 and angles.unique().numel() > 10
    dx, dy = _lit_pixel_positions(kt.layers.RandomTranslation((-0.2, 0.2), (0.0, 0.3), fill_mode="constant"),
                                  at=(15, 15))
    assert float(dy.abs().max()) <= 0.2 * 31 + 1 and float(dx.min()) >= -1 and float(dx.max()) <= 0.3 * 31 + 1
    assert float(dy.min()) < -3 and float(dy.max()) > 3 and float(dx.max()) > 5


def test_random_crop_windows_per_sample_and_center_window_at_inference():
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
    # Keras documents (and declares as its output shape) the largest centered window of the target aspect
    # ratio, resized to the target; its eager inference call returns the input instead. Keras's Resizing
    # with crop_to_aspect_ratio computes exactly the documented output.
    for height, width in ((9, 5), (12, 5), (5, 6)):
        ours = kt.layers.RandomCrop(height, width)(torch.tensor(IMAGES)).numpy()
        reference = _keras(keras.layers.Resizing(height, width, crop_to_aspect_ratio=True), IMAGES, False)
        np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert tuple(kt.layers.RandomCrop(24, 20)(kt.Input((32, 32, 3))).shape) == (None, 24, 20, 3)


# ------------------------------------------------------------------------------ seeds and their state

RANDOM_ROWS = [row for row in LAYERS if row[0] not in ("AutoContrast", "Equalization",
                                                       "ContrastLimitedAdaptiveHistogramEqualization")]


@pytest.mark.parametrize("name,kwargs", RANDOM_ROWS, ids=[row[0] for row in RANDOM_ROWS])
def test_seeds_reproduce_the_sequence_of_draws_and_live_in_state_dict(name, kwargs):
    x = torch.tensor(RNG.random((6, 16, 16, 3)).astype("float32") * 255)
    kwargs = dict(kwargs, seed=7)
    first, second, other = (getattr(kt.layers, name)(**dict(kwargs, seed=s)) for s in (7, 7, 8))
    a1 = first(x, training=True)
    saved = {key: value.clone() for key, value in first.state_dict().items()}  # a snapshot, as torch.save takes
    assert list(saved) == ["seed_generator_state"] and first.weights == []  # state, not a weight (as in Keras)
    a2 = first(x, training=True)
    torch.testing.assert_close(second(x, training=True), a1)
    torch.testing.assert_close(second(x, training=True), a2)
    assert not torch.equal(a1, a2) and not torch.equal(other(x, training=True), a1)
    resumed = getattr(kt.layers, name)(**kwargs)
    resumed.load_state_dict(saved)  # a checkpoint taken after the first call continues the sequence
    torch.testing.assert_close(resumed(x, training=True), a2)


def test_seed_state_travels_in_model_state_dicts_and_files(tmp_path):
    def model():
        return kt.Sequential([kt.Input((16, 16, 3)), kt.layers.RandomRotation(0.2, seed=1), kt.layers.Dense(2)])

    trained = model().train()
    trained(torch.tensor(PIXELS))
    fresh = model()
    fresh.load_state_dict(trained.state_dict())
    torch.testing.assert_close(fresh.train()(torch.tensor(PIXELS)), trained(torch.tensor(PIXELS)))
    unseeded = kt.layers.RandomRotation(0.2)
    assert unseeded.state_dict() == {}
    state = torch.get_rng_state()
    kt.layers.MixUp(seed=3)(torch.tensor(PIXELS), training=True)  # seeded gamma draws leave torch's RNG alone
    assert torch.equal(torch.get_rng_state(), state)
    with pytest.raises(RuntimeError, match="seed_generator_state"):
        kt.layers.RandomRotation(0.2, seed=1).load_state_dict({})
    for path in (tmp_path / "w.safetensors", tmp_path / "w.pt"):  # weight files of torch layouts carry it too
        trained.save_weights(path)
        loaded = model()
        loaded.load_weights(path)
        torch.testing.assert_close(loaded.train()(torch.tensor(PIXELS)), trained(torch.tensor(PIXELS)))


# ------------------------------------------------------------------------------ inputs and arguments

def test_dict_inputs_masks_follow_images_and_labels_pass():
    x = torch.rand(16, 8, 8, 1)
    data = {"images": x, "segmentation_masks": x.clone(), "labels": torch.arange(16)}
    out = kt.layers.RandomRotation(0.5, interpolation="nearest", seed=1)(data, training=True)
    torch.testing.assert_close(out["segmentation_masks"], out["images"])
    assert torch.equal(out["labels"], data["labels"])
    out = kt.layers.RandomHue(0.5, seed=1)({"images": x.expand(-1, -1, -1, 3), "segmentation_masks": x}, training=True)
    assert torch.equal(out["segmentation_masks"], x)
    single = kt.layers.RandomFlip("vertical", seed=0)(x[0], training=True)
    assert single.shape == (8, 8, 1)


def test_identity_at_inference_and_switched_on_by_the_module_mode():
    x = torch.tensor(IMAGES).repeat(8, 1, 1, 1)
    layer = kt.layers.RandomFlip()
    assert torch.equal(layer(x), x)  # a fresh layer is in inference mode
    layer.train()
    assert not torch.equal(layer(x), x)  # the module's training mode switches it on


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
    (lambda: kt.layers.RandomHue(1.5), ValueError),
    (lambda: kt.layers.RandomSaturation(0.5, value_range=(0, 1, 2)), ValueError),
    (lambda: kt.layers.RandomGrayscale(2.0), ValueError),
    (lambda: kt.layers.RandomShear(x_factor=1.5), ValueError),
    (lambda: kt.layers.RandomPerspective(scale=2.0), ValueError),
    (lambda: kt.layers.RandomErasing(fill_value=[1, 2]), ValueError),
    (lambda: kt.layers.RandomGaussianBlur(kernel_size=4), ValueError),
    (lambda: kt.layers.RandomPosterization(9), ValueError),
    (lambda: kt.layers.Solarization(threshold_factor=-0.1), ValueError),
    (lambda: kt.layers.Equalization(bins=0), ValueError),
    (lambda: kt.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(0, 2)), ValueError),
    (lambda: kt.layers.RandAugment(num_ops=-1), ValueError),
    (lambda: kt.layers.AugMix(alpha=0.0), ValueError),
    (lambda: kt.layers.MixUp(alpha=-1.0), ValueError),
    (lambda: kt.layers.RandomElasticTransform(fill_mode="edge"), ValueError),
    (lambda: kt.layers.CutMix(factor=2.0), ValueError),
])
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


def test_bounding_boxes_are_refused_by_name():
    with pytest.raises(NotImplementedError, match="bounding boxes"):
        kt.layers.RandomShear(0.2)({"images": torch.zeros(1, 4, 4, 3), "bounding_boxes": {}})


@pytest.mark.parametrize("fill_mode,fill_value", [("reflect", 0.0), ("nearest", 0.0), ("constant", 0.0),
                                                   ("constant", -2.0)])
@pytest.mark.parametrize("data_format", ["channels_last", CF])
def test_fused_bilinear_warp_equals_affine_transform(fill_mode, fill_value, data_format):
    # The grid_sample path must give ops.image.affine_transform's numbers (Keras's fill modes) for any
    # affine or projective matrices, including coordinates far outside the image.
    from kerastorch.layers.augmentation.geometric import _bilinear_warp
    from kerastorch.ops.image import affine_transform

    generator = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 13, 17, generator=generator)
    images = images if data_format == CF else images.permute(0, 2, 3, 1)
    matrix = torch.cat([torch.randn(6, 6, generator=generator) * torch.tensor([1.5, 1.5, 20, 1.5, 1.5, 20]),
                        torch.zeros(6, 2)], dim=1)
    torch.testing.assert_close(
        _bilinear_warp(images, matrix, fill_mode, fill_value, data_format),
        affine_transform(images, matrix, "bilinear", fill_mode, fill_value, data_format), atol=1e-4, rtol=1e-4)
    matrix[:, 6:] = torch.randn(6, 2, generator=generator) * 0.01
    torch.testing.assert_close(
        _bilinear_warp(images, matrix, fill_mode, fill_value, data_format, projective=True),
        affine_transform(images, matrix, "bilinear", fill_mode, fill_value, data_format), atol=1e-4, rtol=1e-4)


def test_rotation_matrix_matches_keras_angle_convention():
    # factor 0.25 is +90 degrees: Keras rotates counter-clockwise in the (x right, y down) pixel frame.
    x = torch.zeros(1, 5, 5, 1)
    x[0, 2, 4] = 1.0
    out = kt.layers.RandomRotation((0.25, 0.25), fill_mode="constant")(x, training=True)[0, ..., 0]
    assert math.isclose(float(out[0, 2]), 1.0, abs_tol=1e-5)
