"""The layer catalogue against Keras 3, one row per layer: build both on the same input, copy Keras's
weights into ours, then outputs, output shapes, parameter counts, weight shapes and configs must agree;
configs cross both ways through `layers.serialize`/`deserialize`, and a few rows go through `.keras`
files saved by one library and loaded by the other."""

import json

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.saving.serialization import layer_config

# Keras's own Pipeline warns that it has no build() of its own when Keras builds it.
pytestmark = pytest.mark.filterwarnings("ignore:`build\\(\\)` was called on layer:UserWarning")

CF = "channels_first"
RANDOM = {"module": "keras.initializers", "class_name": "RandomNormal",
          "config": {"mean": 0.0, "stddev": 1.0, "seed": 3}, "registered_name": None}


class Sub:
    """A layer argument built separately in each library (the wrapped layer of a Wrapper, a Pipeline's layers)."""

    def __init__(self, name, **kwargs):
        self.name, self.kwargs = name, kwargs

    def build(self, lib):
        return getattr(lib.layers, self.name)(**self.kwargs)


def _in(lib, kwargs):
    """`kwargs` with every `Sub` replaced by that library's layer."""
    def resolve(value):
        if isinstance(value, Sub):
            return value.build(lib)
        return [resolve(v) for v in value] if isinstance(value, list) else value

    return {key: resolve(value) for key, value in kwargs.items()}


def _mask(shape):
    mask = np.random.default_rng(1).random(shape) > 0.4
    mask[0] = False  # a fully masked row gives zeros, not a uniform distribution
    return mask


# (Keras name, constructor arguments, input shape, call arguments as numpy, .keras files both ways)
ROWS = [
    ("ReLU", dict(), (2, 5, 4), {}, False),
    ("ReLU", dict(max_value=6.0), (2, 5, 4), {}, False),
    ("ReLU", dict(max_value=1.5, negative_slope=0.1, threshold=0.5), (2, 5, 4), {}, True),
    ("ReLU", dict(negative_slope=0.2, threshold=0.3), (2, 5, 4), {}, False),
    ("LeakyReLU", dict(), (2, 5, 4), {}, False),
    ("LeakyReLU", dict(negative_slope=0.05), (2, 6), {}, False),
    ("PReLU", dict(alpha_initializer=RANDOM), (2, 5, 4), {}, True),
    ("PReLU", dict(alpha_initializer=RANDOM, shared_axes=[1, 2]), (2, 4, 3, 5), {}, False),
    ("PReLU", dict(alpha_initializer=RANDOM, shared_axes=1), (2, 4, 3), {}, False),
    ("ELU", dict(), (2, 5, 4), {}, False),
    ("ELU", dict(alpha=0.4), (2, 5, 4), {}, False),
    ("Softmax", dict(), (2, 5, 4), {}, False),
    ("Softmax", dict(axis=1), (2, 5, 4), {}, False),
    ("Softmax", dict(axis=[1, 2]), (2, 5, 4), {}, False),
    ("Softmax", dict(), (3, 5, 4), {"mask": _mask((3, 5, 4))}, False),
    ("Softmax", dict(axis=1), (3, 5, 4), {"mask": _mask((3, 5, 1)).astype("float32")}, False),
    ("UpSampling1D", dict(), (2, 5, 3), {}, False),
    ("UpSampling1D", dict(size=3), (2, 5, 3), {}, False),
    ("UpSampling2D", dict(), (2, 4, 5, 3), {}, False),
    ("UpSampling2D", dict(size=(2, 3), data_format=CF), (2, 3, 4, 5), {}, False),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 4, 5, 3), {}, True),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bicubic"), (2, 4, 5, 3), {}, False),
    ("UpSampling3D", dict(), (1, 2, 3, 4, 2), {}, False),
    ("UpSampling3D", dict(size=(1, 2, 3), data_format=CF), (1, 2, 3, 4, 2), {}, False),
    ("ZeroPadding1D", dict(), (2, 5, 3), {}, False),
    ("ZeroPadding1D", dict(padding=(2, 0)), (2, 5, 3), {}, False),
    ("ZeroPadding2D", dict(), (2, 4, 5, 3), {}, False),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 3)), data_format=CF), (2, 3, 4, 5), {}, False),
    ("ZeroPadding3D", dict(padding=(1, 0, 2)), (1, 2, 3, 4, 2), {}, True),
    ("ZeroPadding3D", dict(padding=2, data_format=CF), (1, 2, 3, 4, 2), {}, False),
    ("Cropping1D", dict(), (2, 5, 3), {}, False),
    ("Cropping1D", dict(cropping=(0, 2)), (2, 5, 3), {}, False),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), (2, 4, 5, 3), {}, True),
    ("Cropping2D", dict(cropping=1, data_format=CF), (2, 3, 4, 5), {}, False),
    ("Cropping3D", dict(), (1, 3, 4, 5, 2), {}, False),
    ("Cropping3D", dict(cropping=(0, 1, (1, 2)), data_format=CF), (1, 2, 3, 4, 5), {}, False),
    ("RepeatVector", dict(n=3), (2, 4), {}, False),
    ("Resizing", dict(height=5, width=4), (2, 9, 7, 3), {}, True),
    ("Resizing", dict(height=12, width=10, interpolation="nearest"), (2, 5, 4, 3), {}, False),
    ("Resizing", dict(height=11, width=9, interpolation="bicubic", data_format=CF), (2, 3, 5, 4), {}, False),
    ("Resizing", dict(height=4, width=4, antialias=True), (2, 12, 9, 3), {}, False),
    ("Resizing", dict(height=6, width=3, crop_to_aspect_ratio=True), (2, 9, 7, 3), {}, False),
    ("Resizing", dict(height=6, width=3, pad_to_aspect_ratio=True, fill_value=0.5), (2, 5, 7, 3), {}, False),
    ("CenterCrop", dict(height=4, width=3), (2, 9, 7, 3), {}, True),
    ("CenterCrop", dict(height=4, width=4, data_format=CF), (2, 3, 7, 6), {}, False),
    ("CenterCrop", dict(height=8, width=4), (2, 6, 7, 3), {}, False),  # too small: crop to ratio, resize
    ("Convolution1D", dict(filters=2, kernel_size=3), (2, 6, 3), {}, False),
    ("Convolution2D", dict(filters=2, kernel_size=3, padding="same"), (2, 5, 5, 3), {}, False),
    ("Convolution3D", dict(filters=2, kernel_size=2), (1, 3, 4, 4, 2), {}, False),
    ("Convolution1DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 4, 3), {}, False),
    ("Convolution2DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 4, 4, 3), {}, False),
    ("Convolution3DTranspose", dict(filters=2, kernel_size=2), (1, 3, 3, 3, 2), {}, False),
    ("SeparableConvolution1D", dict(filters=2, kernel_size=3), (2, 6, 3), {}, False),
    ("SeparableConvolution2D", dict(filters=2, kernel_size=3), (2, 5, 5, 3), {}, False),
    ("MaxPool1D", dict(), (2, 6, 3), {}, False),
    ("MaxPool2D", dict(padding="same"), (2, 5, 5, 3), {}, False),
    ("MaxPool3D", dict(), (1, 4, 4, 4, 2), {}, False),
    ("AvgPool1D", dict(pool_size=2), (2, 6, 3), {}, False),
    ("AvgPool2D", dict(pool_size=3, strides=1), (2, 5, 5, 3), {}, False),
    ("AvgPool3D", dict(pool_size=2), (1, 4, 4, 4, 2), {}, False),
    ("GlobalMaxPool1D", dict(), (2, 6, 3), {}, False),
    ("GlobalMaxPool2D", dict(keepdims=True), (2, 5, 5, 3), {}, False),
    ("GlobalMaxPool3D", dict(), (1, 4, 4, 4, 2), {}, False),
    ("GlobalAvgPool1D", dict(), (2, 6, 3), {}, False),
    ("GlobalAvgPool2D", dict(), (2, 5, 5, 3), {}, False),
    ("GlobalAvgPool3D", dict(data_format=CF), (1, 4, 4, 4, 2), {}, False),
    ("AdaptiveAveragePooling1D", dict(output_size=3), (2, 7, 3), {}, True),
    ("AdaptiveAveragePooling2D", dict(output_size=(2, 3)), (2, 5, 7, 3), {}, True),
    ("AdaptiveAveragePooling3D", dict(output_size=2, data_format=CF), (1, 2, 5, 4, 3), {}, True),
    ("AdaptiveMaxPooling1D", dict(output_size=4, data_format=CF), (2, 3, 9), {}, True),
    ("AdaptiveMaxPooling2D", dict(output_size=3), (2, 7, 5, 2), {}, True),
    ("AdaptiveMaxPooling3D", dict(output_size=(2, 1, 3)), (1, 4, 3, 5, 2), {}, True),
    ("GaussianNoise", dict(stddev=0.3, seed=3), (2, 5, 4), {}, True),
    ("GaussianDropout", dict(rate=0.3), (2, 5, 4), {}, True),
    ("AlphaDropout", dict(rate=0.2, noise_shape=(None, 1, 4), seed=5), (2, 5, 4), {}, True),
    ("SpatialDropout1D", dict(rate=0.3, seed=2), (2, 5, 4), {}, True),
    ("SpatialDropout2D", dict(rate=0.4, data_format=CF), (2, 3, 4, 5), {}, True),
    ("SpatialDropout3D", dict(rate=0.4, seed=1), (1, 2, 3, 4, 2), {}, True),
    ("ActivityRegularization", dict(l1=0.1, l2=0.2), (2, 5, 4), {}, True),
    ("GroupNormalization", dict(groups=2, gamma_initializer=RANDOM, beta_initializer=RANDOM), (2, 5, 4), {}, True),
    ("GroupNormalization", dict(groups=-1, axis=1, epsilon=0.1), (2, 3, 4, 5), {}, False),
    ("GroupNormalization", dict(groups=3, axis=-2, center=False), (2, 4, 6, 5), {}, False),
    ("GroupNormalization", dict(groups=1, scale=False), (2, 3, 4, 4, 6), {}, False),
    ("UnitNormalization", dict(), (2, 5, 4), {}, True),
    ("UnitNormalization", dict(axis=[1, 2]), (2, 5, 4), {}, False),
    ("RMSNormalization", dict(), (2, 5, 4), {}, True),
    ("RMSNormalization", dict(axis=[1, 2], epsilon=0.1), (2, 3, 4), {}, False),
    ("SpectralNormalization", dict(layer=Sub("Dense", units=3)), (2, 4), {}, True),
    ("SpectralNormalization", dict(layer=Sub("Conv2D", filters=3, kernel_size=2), power_iterations=2),
     (2, 4, 4, 2), {}, True),
    ("Pipeline", dict(layers=[Sub("Dense", units=3), Sub("ReLU"), Sub("Dense", units=2)]), (2, 4), {}, True),
]
IDS = [f"{row[0]}-{i}" for i, row in enumerate(ROWS)]


def _json(value):
    return json.loads(json.dumps(value))


def _policy_dtype(config):
    """Keras's SpatialDropout layers write their dtype as a bare name ("float32") where every other layer
    writes a DTypePolicy entry; kerastorch writes the entry for all (both libraries read either)."""
    if isinstance(config.get("dtype"), str):
        config["dtype"] = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": config["dtype"]},
                           "registered_name": None}
    return config


def _nested_comparable(config):
    """Layer entries nested in a config (a wrapped layer, a Pipeline's layers) without their build shapes
    (Keras records the batch size it saw), their automatic names (each library numbers `dense`,
    `dense_1`, ... by what the process created before) and unset (None) options that only one library
    lists (Keras's Dense has `quantization_config`, kerastorch's `activity_regularizer`)."""
    def clean(value, nested):
        if isinstance(value, list):
            return [clean(v, nested) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("module") == "keras.layers":
            value = {k: v for k, v in value.items() if k != "build_config"}
            if isinstance(value.get("config"), dict):
                value["config"] = {k: v for k, v in value["config"].items() if k != "name"}
            nested = True
        return {k: clean(v, nested) for k, v in value.items() if not (nested and v is None)}

    return {k: clean(v, False) for k, v in config.items()}


def _both(name, kwargs, index):
    theirs = getattr(keras.layers, name)(**_in(keras, kwargs), name=f"row_{index}")
    ours = getattr(kt.layers, name)(**_in(kt, kwargs), name=f"row_{index}")
    return theirs, ours


@pytest.mark.parametrize("index", range(len(ROWS)), ids=IDS)
def test_layer_matches_keras(index):
    name, kwargs, shape, call, _ = ROWS[index]
    x = np.random.default_rng(index).standard_normal(shape).astype("float32")
    theirs, ours = _both(name, kwargs, index)
    tensors = {k: torch.from_numpy(v) for k, v in call.items()}
    expected = keras.ops.convert_to_numpy(theirs(torch.from_numpy(x), **tensors))
    ours(torch.from_numpy(x), **tensors)  # builds
    assert [tuple(w.shape) for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    output = ours(torch.from_numpy(x), **tensors).detach().numpy()
    assert output.shape == expected.shape
    np.testing.assert_allclose(output, expected, atol=1e-5, rtol=1e-5)
    assert ours.count_params() == theirs.count_params()
    assert ours.supports_masking == theirs.supports_masking
    symbolic = ours(kt.Input(shape=shape[1:]))
    try:
        keras_shape = theirs.compute_output_shape((None, *shape[1:]))
    except NotImplementedError:  # Keras's Pipeline infers shapes only by a symbolic call
        keras_shape = theirs(keras.Input(shape=shape[1:])).shape
    assert symbolic.shape == tuple(keras_shape)

    # Configs: ours in Keras's spelling equals Keras's; each library rebuilds the other's layer.
    assert _nested_comparable(_json(layer_config(ours))) == _nested_comparable(_policy_dtype(_json(theirs.get_config())))
    clone = type(ours).from_config(ours.get_config())
    assert _nested_comparable(layer_config(clone)) == _nested_comparable(layer_config(ours))
    from_keras = kt.layers.deserialize(_json(keras.layers.serialize(theirs)))
    to_keras = keras.layers.deserialize(_json(kt.layers.serialize(ours)))
    assert type(from_keras) is type(ours) and type(to_keras) is type(theirs)
    for rebuilt in (from_keras, clone):
        rebuilt(torch.from_numpy(x), **tensors)
        rebuilt.set_weights(theirs.get_weights())
        np.testing.assert_allclose(rebuilt(torch.from_numpy(x), **tensors).detach().numpy(), expected, atol=1e-5)


FILE_ROWS = [i for i, row in enumerate(ROWS) if row[4]]


def _model(lib, index):
    name, kwargs, shape, _, _ = ROWS[index]
    return lib.Sequential([lib.Input(shape=shape[1:]), getattr(lib.layers, name)(**_in(lib, kwargs))])


@pytest.mark.parametrize("index", FILE_ROWS, ids=[IDS[i] for i in FILE_ROWS])
def test_keras_files_both_ways(tmp_path, index):
    x = np.random.default_rng(index).standard_normal(ROWS[index][2]).astype("float32")
    reference = _model(keras, index)
    reference.save(tmp_path / "k.keras")
    loaded = kt.saving.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), reference.predict(x, verbose=0), atol=1e-5)

    model = _model(kt, index)
    model.set_weights(reference.get_weights())
    model.save(tmp_path / "t.keras")
    again = keras.models.load_model(tmp_path / "t.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]


@pytest.mark.parametrize("name, kwargs", [("Resizing", dict(height=5, width=4)), ("CenterCrop", dict(height=4, width=3)),
                                          ("CenterCrop", dict(height=8, width=4))])
def test_image_layers_take_keras_input_kinds(name, kwargs):
    """uint8 batches, single images and dicts of images, labels and segmentation masks."""
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (2, 6, 7, 3)).astype("uint8"))
    data = {"images": images.float(), "labels": torch.ones(2), "segmentation_masks": images[..., :1].float()}
    for inputs in (images, images[0].float(), data):
        theirs, ours = getattr(keras.layers, name)(**kwargs)(inputs), getattr(kt.layers, name)(**kwargs)(inputs)
        for key in (theirs if isinstance(theirs, dict) else [None]):
            expected, output = (theirs, ours) if key is None else (theirs[key], ours[key])
            assert output.dtype == expected.dtype
            np.testing.assert_allclose(output.numpy(), keras.ops.convert_to_numpy(expected), atol=1e-4)
    with pytest.raises(NotImplementedError, match="bounding boxes"):
        getattr(kt.layers, name)(**kwargs)({"images": images.float(), "bounding_boxes": {}})


def test_aliases_are_keras_classes():
    for name in ("Convolution2D", "MaxPool2D", "AvgPool3D", "GlobalAvgPool1D", "GlobalMaxPool2D"):
        assert getattr(kt.layers, name).__name__ == getattr(keras.layers, name).__name__


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="ReLU.*max_value.*-1"):
        kt.layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="UpSampling2D.*interpolation.*'cubic'"):
        kt.layers.UpSampling2D(interpolation="cubic")
    with pytest.raises(ValueError, match="ZeroPadding2D.*padding"):
        kt.layers.ZeroPadding2D(padding=(1, 2, 3))
    with pytest.raises(TypeError, match="RepeatVector.*int `n`"):
        kt.layers.RepeatVector(2.5)
    with pytest.raises(ValueError, match="'crop'.*Cropping2D.*crop less"):
        kt.layers.Cropping2D(cropping=3, name="crop")(torch.ones(1, 5, 8, 2))
    with pytest.raises(ValueError, match="'soft'.*Softmax.*mask"):
        kt.layers.Softmax(name="soft")(torch.ones(2, 3), mask=torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="PReLU.*shared_axes"):
        kt.layers.PReLU(shared_axes=[3])(torch.ones(2, 3))


# ------------------------------------------------------------------ training-only random layers

SEEDED = [
    ("GaussianNoise", dict(stddev=0.4), (3, 5, 4)),
    ("GaussianDropout", dict(rate=0.3), (3, 5, 4)),
    ("AlphaDropout", dict(rate=0.3), (3, 5, 4)),
    ("AlphaDropout", dict(rate=0.5, noise_shape=(None, 1, 4)), (3, 5, 4)),
    ("SpatialDropout1D", dict(rate=0.5), (4, 5, 6)),
    ("SpatialDropout2D", dict(rate=0.5, data_format=CF), (4, 6, 3, 2)),
    ("SpatialDropout3D", dict(rate=0.5), (4, 2, 3, 2, 6)),
]


@pytest.mark.parametrize("name, kwargs, shape", SEEDED, ids=[row[0] for row in SEEDED])
def test_seeded_training_draws_equal_keras(name, kwargs, shape):
    """With the same seed, each training call draws Keras's numbers (two calls: the generator advances)."""
    x = torch.from_numpy(np.random.default_rng(0).standard_normal(shape).astype("float32"))
    theirs, ours = getattr(keras.layers, name)(**kwargs, seed=7), getattr(kt.layers, name)(**kwargs, seed=7)
    first, second = ours(x, training=True), ours(x, training=True)
    np.testing.assert_allclose(first.numpy(), keras.ops.convert_to_numpy(theirs(x, training=True)), atol=1e-6)
    np.testing.assert_allclose(second.numpy(), keras.ops.convert_to_numpy(theirs(x, training=True)), atol=1e-6)
    assert not torch.equal(first, second)
    assert torch.equal(ours(x), x) and torch.equal(ours(x, training=False), x)  # inference: identity


def test_unseeded_noise_statistics_and_modes():
    """Without a seed the draws come from torch's RNG: statistics as documented, fit's train mode applies them."""
    torch.manual_seed(0)
    ones = torch.ones(400, 500)
    assert abs(kt.layers.GaussianNoise(0.3)(ones, training=True).std().item() - 0.3) < 0.01
    assert abs(kt.layers.GaussianDropout(0.3)(ones, training=True).std().item() - (0.3 / 0.7) ** 0.5) < 0.01
    alpha = kt.layers.AlphaDropout(0.3)(torch.randn(400, 500), training=True)  # zero mean, unit variance kept
    assert abs(alpha.mean().item()) < 0.02 and abs(alpha.std().item() - 1) < 0.02
    layer = kt.layers.SpatialDropout2D(0.5).train()  # train mode (as in fit) without training=
    out = layer(torch.ones(64, 3, 3, 8))
    assert torch.equal(out, out[:, :1, :1, :].expand_as(out))  # one decision per (sample, channel)
    assert set(out.unique().tolist()) == {0.0, 2.0} and abs((out == 0).float().mean().item() - 0.5) < 0.1
    first = kt.layers.SpatialDropout1D(0.5, seed=3)(torch.ones(8, 5, 6), training=True)
    assert torch.equal(first, kt.layers.SpatialDropout1D(0.5, seed=3)(torch.ones(8, 5, 6), training=True))


def test_activity_regularization_losses_equal_keras():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    theirs, ours = keras.layers.ActivityRegularization(l1=0.2, l2=0.3), kt.layers.ActivityRegularization(l1=0.2, l2=0.3)
    theirs(x), ours(torch.from_numpy(x))
    assert len(ours.losses) == len(theirs.losses) == 1
    np.testing.assert_allclose(ours.losses[0].item(), keras.ops.convert_to_numpy(theirs.losses[0]), rtol=1e-6)


# ------------------------------------------------------------------ wrappers, embeddings, boxes

@pytest.mark.parametrize("inner, shape", [(Sub("Dense", units=3), (2, 4)),
                                          (Sub("Conv2D", filters=3, kernel_size=2), (2, 4, 4, 2)),
                                          (Sub("Embedding", input_dim=6, output_dim=3), (2, 4))])
def test_spectral_normalization_training_step_equals_keras(inner, shape):
    """A training call normalizes the kernel in place and advances `vector_u` exactly as Keras does."""
    x = np.random.default_rng(1).standard_normal(shape).astype("float32")
    if inner.name == "Embedding":
        x = np.random.default_rng(1).integers(0, 6, shape)
    theirs = keras.layers.SpectralNormalization(inner.build(keras), power_iterations=2)
    ours = kt.layers.SpectralNormalization(inner.build(kt), power_iterations=2)
    theirs(x), ours(torch.from_numpy(x))
    ours.set_weights(theirs.get_weights())
    for _ in range(2):
        expected = keras.ops.convert_to_numpy(theirs(x, training=True))
        if inner.name == "Embedding":  # Keras casts the vectors to the int token dtype (all zeros); we keep them
            expected = keras.ops.convert_to_numpy(theirs.layer(x))
        np.testing.assert_allclose(ours(torch.from_numpy(x), training=True).detach().numpy(), expected, atol=1e-5)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, atol=1e-6)
    for _ in range(20):  # the estimate converges: the kernel's largest singular value goes to 1
        ours(torch.from_numpy(x), training=True)
    kernel = ours.get_weights()[0].reshape(-1, ours.get_weights()[0].shape[-1])
    assert abs(np.linalg.svd(kernel, compute_uv=False)[0] - 1) < 1e-3
    assert ours.kernel is ours.layer._parameters["embeddings" if inner.name == "Embedding" else "kernel"]
    zero = kt.layers.SpectralNormalization(kt.layers.Dense(2, kernel_initializer="zeros"))
    zero(torch.ones(1, 3), training=True)
    assert torch.all(torch.isfinite(zero.vector_u)) and not zero.kernel.any()  # an all-zero kernel is left alone


def test_wrapper_config_and_subclass():
    class Doubling(kt.layers.Wrapper):
        def call(self, inputs):
            return 2 * self.layer(inputs)

    layer = Doubling(kt.layers.Dense(3))
    out = layer(torch.ones(2, 4))
    clone = Doubling.from_config(layer.get_config())
    assert type(clone.layer) is kt.layers.Dense and clone.layer is not layer.layer and clone.layer.units == 3
    np.testing.assert_allclose(out.detach().numpy(), 2 * layer.layer(torch.ones(2, 4)).detach().numpy())
    assert [w.shape for w in layer.weights] == [(4, 3), (3,)]
    theirs = keras.layers.Wrapper(keras.layers.Dense(3), name="wrapped")
    ours = kt.layers.deserialize(_json(keras.layers.serialize(theirs)))
    assert type(ours) is kt.layers.Wrapper and type(ours.layer) is kt.layers.Dense and ours.name == "wrapped"
    back = keras.layers.deserialize(_json(kt.layers.serialize(ours)))
    assert type(back) is keras.layers.Wrapper and back.layer.units == 3
    wrapped_module = kt.layers.Wrapper(torch.nn.Linear(4, 2))
    assert isinstance(wrapped_module.layer, kt.layers.TorchModuleWrapper)


REVERSIBLE = [
    dict(input_dim=7, output_dim=4),
    dict(input_dim=7, output_dim=4, tie_weights=False, logit_soft_cap=2.0),
    dict(input_dim=7, output_dim=4, mask_zero=True, reverse_dtype="float32"),
]


@pytest.mark.parametrize("kwargs", REVERSIBLE)
def test_reversible_embedding_equals_keras(tmp_path, kwargs):
    tokens = np.random.default_rng(0).integers(0, 7, (2, 5))
    states = np.random.default_rng(1).standard_normal((2, 5, 4)).astype("float32")
    theirs, ours = keras.layers.ReversibleEmbedding(**kwargs), kt.layers.ReversibleEmbedding(**kwargs)
    theirs(tokens), ours(torch.from_numpy(tokens))
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    ours.set_weights(theirs.get_weights())
    forward = ours(torch.from_numpy(tokens))
    np.testing.assert_allclose(forward.detach().numpy(), keras.ops.convert_to_numpy(theirs(tokens)), atol=1e-6)
    logits = ours(torch.from_numpy(states), reverse=True)
    expected = keras.ops.convert_to_numpy(theirs(states, reverse=True))
    assert logits.dtype == torch.from_numpy(expected).dtype
    np.testing.assert_allclose(logits.detach().numpy(), expected, atol=1e-5)
    if kwargs.get("mask_zero"):
        assert torch.equal(forward._keras_mask, torch.from_numpy(tokens) != 0)
        assert "_keras_mask" not in logits.__dict__
    assert layer_config(ours) == _json(theirs.get_config())
    assert ours.supports_masking == theirs.supports_masking
    symbolic = ours(kt.Input(shape=(5, 4)), reverse=True)
    assert symbolic.shape == (None, 5, 7)

    inputs = keras.Input((5,), dtype="int32")
    reference = keras.Model(inputs, keras.layers.ReversibleEmbedding(**kwargs)(inputs))
    model = kt.Sequential([kt.Input((5,), dtype="int32"), kt.layers.ReversibleEmbedding(**kwargs)])
    model.set_weights(reference.get_weights())
    from keras_twin import assert_keras_files_load_both_ways

    expected = keras.ops.convert_to_numpy(reference(tokens))
    assert_keras_files_load_both_ways(model, reference, torch.from_numpy(tokens), expected, tmp_path)


def _detection_inputs(count, batched=True):
    rng = np.random.default_rng(count)
    boxes = torch.from_numpy(rng.uniform(0, 10, (2, count, 4)).astype("float32"))
    labels = torch.from_numpy(rng.integers(0, 5, (2, count)).astype("int32"))
    images = torch.from_numpy(rng.uniform(0, 1, (2, 6, 6, 3)).astype("float32"))
    if not batched:
        boxes, labels, images = boxes[0], labels[0], images[0]
    return {"images": images, "labels": labels, "bounding_boxes": {"boxes": boxes, "labels": labels}}


@pytest.mark.parametrize("count, batched", [(5, True), (2, True), (3, True), (2, False)])
def test_max_num_bounding_boxes_equals_keras(count, batched):
    kwargs = dict(max_number=3, bounding_box_format="xyxy")
    theirs, ours = keras.layers.MaxNumBoundingBoxes(**kwargs), kt.layers.MaxNumBoundingBoxes(**kwargs)
    expected, output = theirs(_detection_inputs(count, batched)), ours(_detection_inputs(count, batched))
    for key in ("boxes", "labels"):
        got, want = output["bounding_boxes"][key], expected["bounding_boxes"][key]
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), keras.ops.convert_to_numpy(want))
    for key in ("images", "labels"):
        assert torch.equal(output[key], _detection_inputs(count, batched)[key])
    assert layer_config(ours) == _json(theirs.get_config())
    images = torch.ones(2, 4, 4, 3)
    assert ours(images) is images


def test_max_num_bounding_boxes_keras_files_both_ways(tmp_path):
    from keras_twin import assert_keras_files_load_both_ways

    images = np.random.default_rng(0).uniform(0, 1, (2, 5, 5, 3)).astype("float32")
    theirs = keras.Sequential([keras.Input((5, 5, 3)), keras.layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")])
    ours = kt.Sequential([kt.Input((5, 5, 3)), kt.layers.MaxNumBoundingBoxes(3, bounding_box_format="xyxy")])
    assert_keras_files_load_both_ways(ours, theirs, images, images, tmp_path)


def test_max_num_bounding_boxes_fill_value_and_errors():
    layer = kt.layers.MaxNumBoundingBoxes(4, fill_value=7, bounding_box_format="xyxy")
    out = layer(_detection_inputs(2))["bounding_boxes"]
    assert (out["boxes"][:, 2:] == 7).all() and (out["labels"][:, 2:] == 7).all()
    rebuilt = keras.layers.deserialize(_json(kt.layers.serialize(layer)))
    assert rebuilt.fill_value == 7 and rebuilt.max_number == 4
    with pytest.raises(ValueError, match="bounding_box_format"):
        kt.layers.MaxNumBoundingBoxes(3)(_detection_inputs(2))
    with pytest.raises(ValueError, match="max_number"):
        kt.layers.MaxNumBoundingBoxes(0)


@pytest.mark.parametrize("name", ["JaxLayer", "FlaxLayer", "TFSMLayer"])
def test_foreign_framework_layers_say_why(name):
    with pytest.raises(NotImplementedError, match="JAX|TensorFlow"):
        getattr(kt.layers, name)(lambda x: x)


def test_new_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match="GaussianNoise.*stddev"):
        kt.layers.GaussianNoise(1.5)
    with pytest.raises(ValueError, match="AlphaDropout.*noise_shape"):
        kt.layers.AlphaDropout(0.2, noise_shape=(2, 0))
    with pytest.raises(TypeError, match="SpatialDropout2D.*seed"):
        kt.layers.SpatialDropout2D(0.2, seed="3")
    with pytest.raises(ValueError, match="'gn'.*GroupNormalization.*groups=4.*6 channels"):
        kt.layers.GroupNormalization(4, name="gn")(torch.ones(2, 6))
    with pytest.raises(ValueError, match="GroupNormalization.*groups"):
        kt.layers.GroupNormalization(0)
    with pytest.raises(TypeError, match="UnitNormalization.*axis"):
        kt.layers.UnitNormalization(axis="last")
    with pytest.raises(ValueError, match="AdaptiveMaxPooling2D.*output_size"):
        kt.layers.AdaptiveMaxPooling2D((2, 2, 2))
    with pytest.raises(ValueError, match="SpectralNormalization.*power_iterations"):
        kt.layers.SpectralNormalization(kt.layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="'sn'.*neither a `kernel` nor an `embeddings`"):
        kt.layers.SpectralNormalization(kt.layers.ReLU(), name="sn")(torch.ones(2, 3))
    with pytest.raises(NotImplementedError, match="quantization_config"):
        kt.layers.ReversibleEmbedding(5, 2, quantization_config={"mode": "int8"})
    pipeline = kt.layers.Pipeline([kt.layers.Dense(2), kt.layers.ReLU()])
    copy = kt.layers.Pipeline.from_config(pipeline.get_config())
    assert [type(layer) for layer in copy.layers] == [kt.layers.Dense, kt.layers.ReLU]
    assert copy.layers[0] is not pipeline.layers[0]
    with pytest.raises(TypeError, match="Pipeline.*list"):
        kt.layers.Pipeline(kt.layers.ReLU())
