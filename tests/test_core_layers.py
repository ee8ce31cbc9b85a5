"""Core, reshaping and preprocessing layers, activations and initializers against real Keras 3."""

import math

import keras
import numpy as np
import pytest
import torch
from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans

import kerastorch as kt
from kerastorch import activations, initializers

ATOL = 1e-5


def to_numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()


def paired(name, input_shape, *args, seed=0, **kwargs):
    """A kerastorch and a Keras layer of class `name`, built for `input_shape`, sharing random weights."""
    ours = getattr(kt.layers, name)(*args, **kwargs)
    theirs = getattr(keras.layers, name)(*args, **kwargs)
    theirs.build(input_shape)
    ours(torch.zeros(input_shape, dtype=torch.int64 if name == "Embedding" else torch.float32))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


def assert_same(ours, theirs, x, **call_kwargs):
    expected = to_numpy(theirs(x, **call_kwargs))
    got = to_numpy(ours(torch.from_numpy(np.asarray(x)), **call_kwargs))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=ATOL)


# ------------------------------------------------------------------------------------------ Dense

@pytest.mark.parametrize("shape", [(3, 4), (2, 5, 4), (2, 3, 2, 4)])
@pytest.mark.parametrize("kwargs", [{}, {"activation": "relu"}, {"use_bias": False, "activation": "tanh"}])
def test_dense_matches_keras(shape, kwargs):
    ours, theirs = paired("Dense", shape, 6, **kwargs)
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    assert_same(ours, theirs, x)
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


def test_dense_symbolic_shapes_and_kernel_layout():
    out = kt.layers.Dense(7)(kt.Input((5, 3)))
    assert out.shape == (None, 5, 7)
    layer = kt.layers.Dense(3)
    layer(torch.zeros(1, 4))
    # Keras's (in, out) shape in C order: weight files read and write it in place.
    assert tuple(layer.kernel.shape) == (4, 3) and layer.kernel.is_contiguous()


# ------------------------------------------------------------------------------------ Activation

ACTIVATIONS = ["relu", "sigmoid", "softmax", "tanh", "gelu", "silu", "swish", "elu", "selu", "softplus",
               "softsign", "leaky_relu", "relu6", "hard_sigmoid", "hard_silu", "hard_swish", "mish",
               "exponential", "linear", "log_softmax"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_keras(name):
    x = np.linspace(-7, 7, 3 * 41, dtype="float32").reshape(3, 41)
    assert_same(kt.layers.Activation(name), keras.layers.Activation(name), x)
    np.testing.assert_allclose(
        to_numpy(kt.layers.Dense(2, activation=name, kernel_initializer="ones")(torch.ones(1, 3))),
        to_numpy(keras.layers.Dense(2, activation=name, kernel_initializer="ones")(np.ones((1, 3), "float32"))),
        atol=ATOL,
    )


def test_activation_lookup():
    assert activations.get(None) is activations.linear
    assert activations.get(torch.tanh) is torch.tanh
    assert activations.serialize(activations.get("swish")) in ("silu", "swish")
    with pytest.raises(ValueError, match="Unknown activation 'relu7'.*relu6"):
        activations.get("relu7")


# --------------------------------------------------------------------------------------- Dropout

def test_dropout_is_identity_in_inference():
    layer = kt.layers.Dropout(0.5)
    x = torch.randn(4, 10)
    assert layer(x) is x
    assert torch.equal(layer(x, training=False), x)
    layer.train()
    assert torch.equal(layer(x, training=False), x)


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_training_zero_fraction_and_scaling(rate):
    layer = kt.layers.Dropout(rate)
    x = torch.rand(200, 500) + 0.5
    out = layer(x, training=True)
    zeros = (out == 0).float().mean().item()
    assert abs(zeros - rate) < 0.01
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - rate))
    reference = to_numpy(keras.layers.Dropout(rate)(x.numpy(), training=True))
    assert abs((reference == 0).mean() - zeros) < 0.015
    layer.train()
    assert (layer(x) == 0).any()  # module train mode means training


def test_dropout_noise_shape_drops_whole_slices():
    out = kt.layers.Dropout(0.5, noise_shape=(None, 1, 6))(torch.ones(50, 4, 6), training=True)
    assert torch.equal(out, out[:, :1, :].expand_as(out))
    assert ((out == 0) | (out == 2)).all()


# ------------------------------------------------------------------------------------- Reshaping

@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (2, 3, 4), (2, 6)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten_matches_keras(shape, data_format):
    x = np.arange(math.prod(shape), dtype="float32").reshape(shape)
    assert_same(kt.layers.Flatten(data_format=data_format), keras.layers.Flatten(data_format=data_format), x)


@pytest.mark.parametrize("target", [(12,), (-1, 2), (3, -1), (2, 2, 3)])
def test_reshape_matches_keras(target):
    x = np.arange(2 * 12, dtype="float32").reshape(2, 3, 4)
    assert_same(kt.layers.Reshape(target), keras.layers.Reshape(target), x)
    assert kt.layers.Reshape(target)(kt.Input((3, 4))).shape == keras.layers.Reshape(target)(keras.Input((3, 4))).shape


@pytest.mark.parametrize("dims", [(2, 1), (1, 2), (3, 1, 2)])
def test_permute_matches_keras(dims):
    shape = (2, 3, 4) if len(dims) == 2 else (2, 3, 4, 5)
    x = np.arange(math.prod(shape), dtype="float32").reshape(shape)
    assert_same(kt.layers.Permute(dims), keras.layers.Permute(dims), x)


def test_identity_and_lambda():
    x = torch.randn(2, 3)
    assert kt.layers.Identity()(x) is x
    assert torch.equal(kt.layers.Lambda(lambda t, k: t * k, arguments={"k": 3})(x), x * 3)
    assert kt.layers.Lambda(lambda t: t[:, :2])(kt.Input((3,))).shape == (None, 2)


# ---------------------------------------------------------------------------------- Embedding etc.

def test_embedding_matches_keras():
    ours, theirs = paired("Embedding", (2, 5), 10, 4)
    ids = np.random.default_rng(3).integers(0, 10, size=(2, 5))
    assert_same(ours, theirs, ids)
    assert ours.count_params() == theirs.count_params() == 40
    assert kt.layers.Embedding(10, 4)(kt.Input((5,), dtype="int64")).shape == (None, 5, 4)


def test_embedding_default_initializer_is_keras_uniform():
    layer = kt.layers.Embedding(1000, 16)
    layer(torch.zeros(1, 1, dtype=torch.long))
    values = layer.embeddings.detach()
    assert values.abs().max() <= 0.05 and values.std() > 0.02


@pytest.mark.parametrize("scale,offset", [(1 / 255, 0.0), (1 / 127.5, -1.0)])
def test_rescaling_matches_keras(scale, offset):
    x = np.random.default_rng(4).integers(0, 256, size=(2, 4, 4, 3)).astype("float32")
    assert_same(kt.layers.Rescaling(scale, offset), keras.layers.Rescaling(scale, offset), x)
    out = kt.layers.Rescaling(scale, offset)(torch.from_numpy(x).to(torch.uint8))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), x * scale + offset, atol=ATOL)


# ----------------------------------------------------------------------------------- Initializers

@pytest.mark.parametrize("shape", [(7,), (4, 3), (3, 3, 16, 32), (5, 2, 8), (2, 2, 2, 3, 4)])
def test_fans_computed_on_keras_layout(shape):
    assert initializers.compute_fans(shape) == tuple(int(f) for f in keras_compute_fans(shape))


def _draw(name, shape):
    torch.manual_seed(0)
    return initializers.get(name)(shape, dtype=torch.float32)


def test_glorot_uniform_statistics():
    fan_in, fan_out = 200, 300
    w = _draw("glorot_uniform", (fan_in, fan_out))
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert w.abs().max() <= limit and w.abs().max() > 0.99 * limit
    assert abs(w.var().item() / (2 / (fan_in + fan_out)) - 1) < 0.03
    theirs = to_numpy(keras.initializers.GlorotUniform(seed=1)((fan_in, fan_out)))
    assert abs(w.var().item() / theirs.var() - 1) < 0.05


def test_he_normal_statistics_on_a_conv_kernel():
    shape = (3, 3, 16, 64)  # Keras layout: fan_in = 3 * 3 * 16
    w = _draw("he_normal", shape)
    std = math.sqrt(2 / 144)
    assert abs(w.std().item() / std - 1) < 0.03
    assert w.abs().max() <= 2 * std / 0.87962566103423978 + 1e-6  # truncated at two stddevs
    theirs = to_numpy(keras.initializers.HeNormal(seed=1)(shape))
    assert abs(w.std().item() / theirs.std() - 1) < 0.05


@pytest.mark.parametrize("name,variance", [
    ("he_uniform", lambda i, o: 2 / i), ("lecun_uniform", lambda i, o: 1 / i),
    ("lecun_normal", lambda i, o: 1 / i), ("glorot_normal", lambda i, o: 2 / (i + o)),
])
def test_variance_scaling_family(name, variance):
    w = _draw(name, (256, 128))
    assert abs(w.var().item() / variance(256, 128) - 1) < 0.05


def test_simple_initializers():
    assert torch.equal(_draw("zeros", (2, 3)), torch.zeros(2, 3))
    assert torch.equal(_draw("ones", (2,)), torch.ones(2))
    assert torch.equal(initializers.Constant(2.5)((2, 2)), torch.full((2, 2), 2.5))
    w = initializers.get({"class_name": "RandomNormal", "config": {"mean": 1.0, "stddev": 0.5}})((300, 300))
    assert abs(w.mean().item() - 1) < 0.01 and abs(w.std().item() - 0.5) < 0.01
    u = initializers.get("random_uniform")((300, 300))
    assert u.min() >= -0.05 and u.max() <= 0.05
    t = initializers.get("truncated_normal")((300, 300))
    assert t.abs().max() <= 0.1 + 1e-6


def test_orthogonal_has_orthonormal_columns_in_keras_layout():
    w = _draw("orthogonal", (10, 4))
    torch.testing.assert_close(w.T @ w, torch.eye(4), atol=1e-5, rtol=0)
    square = _draw("orthogonal", (6, 6))
    torch.testing.assert_close(square @ square.T, torch.eye(6), atol=1e-5, rtol=0)


def test_initializer_lookup_errors_and_serialization():
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    assert initializers.serialize(initializers.get("he_normal")) == keras.initializers.serialize(
        keras.initializers.get("he_normal"))
    with pytest.raises(ValueError, match="Unknown initializer 'glorot'"):
        initializers.get("glorot")
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0)


def test_dense_kernel_initializer_uses_keras_fans():
    layer = kt.layers.Dense(400, kernel_initializer="glorot_uniform")
    layer(torch.zeros(1, 100))
    limit = math.sqrt(6 / 500)
    assert layer.kernel.abs().max() <= limit and layer.kernel.abs().max() > 0.98 * limit
