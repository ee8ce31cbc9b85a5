"""`kt.random`, seeded initializers and `Dropout(seed=)`: Keras's seed semantics and Keras's numbers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt


def _numpy(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(
        keras.ops.convert_to_numpy(value))


LOGITS = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]], "float32"))
DATA = np.arange(24, dtype="float32").reshape(6, 4)
ONES = np.ones((4, 5), "float32")

# name -> call(lib, seed); each row runs in both libraries with the same seed (arrays as each one's tensors).
ROWS = {
    "normal": lambda lib, seed: lib.random.normal((3, 4), mean=1.0, stddev=2.0, seed=seed),
    "normal_float64": lambda lib, seed: lib.random.normal((5,), dtype="float64", seed=seed),
    "uniform": lambda lib, seed: lib.random.uniform((4, 2), minval=-1.0, maxval=3.0, seed=seed),
    "uniform_scalar": lambda lib, seed: lib.random.uniform((), seed=seed),
    "truncated_normal": lambda lib, seed: lib.random.truncated_normal((3, 5), mean=0.5, stddev=0.1, seed=seed),
    "randint": lambda lib, seed: lib.random.randint((3, 3), 0, 10, seed=seed),
    "categorical": lambda lib, seed: lib.random.categorical(_tensor(lib, LOGITS), 6, seed=seed),
    "dropout": lambda lib, seed: lib.random.dropout(_tensor(lib, ONES), 0.4, seed=seed),
    "dropout_noise_shape": lambda lib, seed: lib.random.dropout(_tensor(lib, ONES), 0.5, noise_shape=(None, 1),
                                                                seed=seed),
    "shuffle": lambda lib, seed: lib.random.shuffle(_tensor(lib, DATA), seed=seed),
    "shuffle_axis1": lambda lib, seed: lib.random.shuffle(_tensor(lib, DATA), axis=1, seed=seed),
    "gamma": lambda lib, seed: lib.random.gamma((3, 2), alpha=2.0, seed=seed),
    "beta": lambda lib, seed: lib.random.beta((4,), alpha=2.0, beta=3.0, seed=seed),
    "binomial": lambda lib, seed: lib.random.binomial((5,), counts=10.0, probabilities=0.3, seed=seed),
}


def _tensor(lib, array):
    return keras.ops.convert_to_tensor(array) if lib is keras else torch.as_tensor(array)


def _ours(row, seed):
    return ROWS[row](kt, seed)


@pytest.mark.parametrize("row", sorted(ROWS))
def test_int_seed_equals_keras_and_repeats(row):
    expected = _numpy(ROWS[row](keras, 42))
    got = _numpy(_ours(row, 42))
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(_numpy(_ours(row, 42)), got)  # an int seed gives the same values again


@pytest.mark.parametrize("row", ["normal", "uniform", "randint", "dropout", "shuffle"])
def test_seed_generator_advances_like_keras(row):
    ours, theirs = kt.random.SeedGenerator(7), keras.random.SeedGenerator(7)
    draws = [(_numpy(_ours(row, ours)), _numpy(ROWS[row](keras, theirs))) for _ in range(3)]
    for got, expected in draws:
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert not np.array_equal(draws[0][0], draws[1][0])
    np.testing.assert_array_equal(_numpy(ours.state), _numpy(theirs.state))
    assert ours.state.path == "seed_generator/seed_generator_state" or ours.state.path.endswith("/seed_generator_state")


def test_unseeded_follows_set_random_seed_like_keras():
    kt.utils.set_random_seed(11)
    first = [_numpy(kt.random.normal((3,))) for _ in range(2)]
    keras.utils.set_random_seed(11)  # both seed Python's `random`, which starts the global generator
    expected = [_numpy(keras.random.normal((3,))) for _ in range(2)]
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    assert not np.array_equal(first[0], first[1])
    kt.utils.set_random_seed(11)
    np.testing.assert_array_equal(_numpy(kt.random.normal((3,))), first[0])
    kt.utils.set_random_seed(5)
    assert np.random.randint(1000) == np.random.RandomState(5).randint(1000)
    with pytest.raises(ValueError, match="integer"):
        kt.utils.set_random_seed(1.5)


@pytest.mark.parametrize("name", ["GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
                                  "LecunNormal", "RandomNormal", "RandomUniform", "TruncatedNormal", "Orthogonal"])
def test_seeded_initializers_equal_keras_and_repeat(name):
    shape = (5, 4)
    first = getattr(kt.initializers, name)(seed=1)(shape)
    second = getattr(kt.initializers, name)(seed=1)(shape)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    expected = _numpy(getattr(keras.initializers, name)(seed=1)(shape))
    np.testing.assert_allclose(first.numpy(), expected, rtol=1e-6, atol=1e-7)


def test_seeded_initializer_in_a_layer_equals_keras():
    ours = kt.layers.Dense(3, kernel_initializer=kt.initializers.GlorotUniform(seed=3))
    theirs = keras.layers.Dense(3, kernel_initializer=keras.initializers.GlorotUniform(seed=3))
    ours(np.ones((1, 4), "float32"))
    theirs(np.ones((1, 4), "float32"))
    np.testing.assert_allclose(ours.get_weights()[0], theirs.get_weights()[0], rtol=1e-6)


def test_seeded_dropout_layer_equals_keras():
    x = np.random.default_rng(0).random((4, 6)).astype("float32")
    ours, theirs = kt.layers.Dropout(0.5, seed=3), keras.layers.Dropout(0.5, seed=3)
    for _ in range(3):
        np.testing.assert_allclose(_numpy(ours(torch.as_tensor(x), training=True)),
                                   _numpy(theirs(x, training=True)), rtol=1e-6)
    assert ours.weights == [] and list(ours.state_dict()) == ["seed_generator.state"]


def test_bad_seeds_and_dtypes():
    with pytest.raises(ValueError, match="seed"):
        kt.random.normal((2,), seed="a")
    with pytest.raises(ValueError, match="seed"):
        kt.random.SeedGenerator(1.5)
    with pytest.raises(ValueError, match="floating"):
        kt.random.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer"):
        kt.random.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="seed"):
        kt.initializers.GlorotUniform(seed="x")
