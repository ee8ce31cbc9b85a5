"""Every `keras.initializers` name against Keras 3: seeded values, configs both ways, aliases, lookups."""

import json

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.saving.serialization import initializer_from, serialize_initializer

# (class name, constructor arguments, shape); seeded rows must give Keras's exact numbers.
ROWS = [
    ("Constant", dict(value=0.7), (3, 4)),
    ("Zeros", {}, (3, 4)),
    ("Ones", {}, (2, 3, 4)),
    ("Identity", {}, (3, 3)),
    ("Identity", dict(gain=2.5), (3, 5)),
    ("RandomNormal", dict(mean=0.5, stddev=2.0, seed=3), (4, 5)),
    ("RandomUniform", dict(minval=-1.0, maxval=2.0, seed=4), (4, 5)),
    ("TruncatedNormal", dict(stddev=0.5, seed=5), (6, 7)),
    ("VarianceScaling", dict(scale=2.0, mode="fan_out", distribution="uniform", seed=6), (3, 3, 2, 4)),
    ("VarianceScaling", dict(mode="fan_avg", distribution="untruncated_normal", seed=7), (5, 6)),
    ("VarianceScaling", dict(distribution="normal", seed=8, input_axes=[0, 1], output_axes=[2]), (3, 4, 5)),
    ("GlorotUniform", dict(seed=1), (4, 6)),
    ("GlorotNormal", dict(seed=2), (3, 3, 2, 4)),
    ("HeUniform", dict(seed=3), (4, 6)),
    ("HeNormal", dict(seed=4, input_axes=[1], output_axes=[0, 2]), (4, 6, 2)),
    ("LecunUniform", dict(seed=5), (4, 6)),
    ("LecunNormal", dict(seed=6), (4, 6)),
    ("Orthogonal", dict(gain=1.5, seed=7), (5, 3)),
    ("Orthogonal", dict(seed=8), (2, 2, 6)),
    ("STFT", {}, (16, 1, 9)),
    ("STFT", dict(side="imag", window="hamming", scaling="spectrum", periodic=True), (8, 1, 5)),
    ("STFT", dict(window=None, scaling=None), (8, 1, 5)),
    ("STFT", dict(window="tukey"), (8, 1, 5)),  # a SciPy window, as Keras reads them
]


def _json(value):
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("name, kwargs, shape", ROWS, ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)])
def test_initializer_equals_keras(name, kwargs, shape):
    theirs, ours = getattr(keras.initializers, name)(**kwargs), getattr(kt.initializers, name)(**kwargs)
    expected = keras.ops.convert_to_numpy(theirs(shape, dtype="float32"))
    output = ours(shape, dtype=torch.float32)
    assert output.shape == expected.shape and output.dtype == torch.float32
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-6, rtol=1e-5)
    config = kt.initializers.serialize(ours)
    if name == "Identity":  # Keras's Identity writes no config, losing its gain; kerastorch keeps a non-default one
        assert config["config"] == ({"gain": kwargs["gain"]} if kwargs else {})
        config = {**config, "config": {}}
    assert config == _json(keras.initializers.serialize(theirs))
    from_keras = initializer_from(_json(keras.initializers.serialize(theirs)))
    assert type(from_keras) is type(ours)
    assert from_keras.get_config() == (ours.get_config() if name != "Identity" else {})
    to_keras = keras.initializers.deserialize(_json(serialize_initializer(ours)))
    assert type(to_keras) is type(theirs) and to_keras.get_config() == theirs.get_config()
    assert type(kt.initializers.deserialize(_json(keras.initializers.serialize(theirs)))) is type(ours)


def test_every_keras_initializer_name_exists():
    names = [n for n in dir(keras.initializers) if not n.startswith("_")]
    for name in names:
        ours, theirs = getattr(kt.initializers, name), getattr(keras.initializers, name)
        if isinstance(theirs, type):  # classes and their aliases (glorot_uniform is GlorotUniform)
            assert isinstance(ours, type) and ours.__name__ == theirs.__name__, name
    for name in ("one", "zero", "normal", "uniform", "IdentityInitializer", "STFTInitializer", "OrthogonalInitializer",
                 "glorot_uniform", "he_normal", "identity", "stft", "variance_scaling"):
        assert type(kt.initializers.get(name)).__name__ == type(keras.initializers.get(name)).__name__, name
        assert type(kt.initializers.deserialize(name)).__name__ == type(keras.initializers.deserialize(name)).__name__


def test_initializers_in_layers_and_errors():
    layer = kt.layers.Dense(3, kernel_initializer=kt.initializers.Identity(gain=3.0))
    layer(torch.ones(1, 3))
    np.testing.assert_array_equal(layer.get_weights()[0], 3 * np.eye(3, dtype="float32"))
    rebuilt = keras.layers.deserialize(kt.layers.serialize(layer))
    assert rebuilt.kernel_initializer.gain == 3.0
    with pytest.raises(ValueError, match="Identity.*2D"):
        kt.initializers.Identity()((2, 3, 4))
    with pytest.raises(ValueError, match="Orthogonal.*rank 2"):
        kt.initializers.Orthogonal()((4,))
    with pytest.raises(ValueError, match="STFT.*side"):
        kt.initializers.STFT(side="both")
    with pytest.raises(ValueError, match="STFT.*window"):
        kt.initializers.STFT(window=np.ones(3))((8, 1, 5))
    with pytest.raises(ValueError, match="Unknown initializer 'nope'"):
        kt.initializers.deserialize({"class_name": "nope", "config": {}})


def test_array_initializer_like_keras():
    value = np.arange(6, dtype="float32").reshape(2, 3)
    layer = kt.layers.Dense(3, kernel_initializer=value)
    layer(torch.ones(1, 2))
    np.testing.assert_array_equal(layer.get_weights()[0], keras.ops.convert_to_numpy(keras.initializers.get(value)((2, 3))))
    with pytest.raises(ValueError, match=r"shape \(2, 3\) cannot fill a weight of shape \(3, 3\)"):
        kt.initializers.get(value)((3, 3))
