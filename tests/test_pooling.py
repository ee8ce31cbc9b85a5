"""Pooling layers against Keras 3 (shapes and outputs) and, for averaging, against TF's semantics."""

import itertools

import keras
import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import kerastorch as kt
from kerastorch import layers

CF = "channels_first"

# (layer class name, constructor arguments, channels_last input shape); "same" cases with an odd
# total padding are asymmetric (the extra element goes at the end).
CASES = [
    ("MaxPooling1D", dict(), (2, 9, 3)),
    ("MaxPooling1D", dict(pool_size=4, strides=1, padding="same", data_format=CF), (2, 9, 3)),
    ("MaxPooling2D", dict(), (2, 9, 7, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 7, 3)),
    ("MaxPooling2D", dict(pool_size=(2, 3), strides=(1, 2), padding="same", data_format=CF), (2, 9, 7, 3)),
    ("MaxPooling3D", dict(pool_size=2, padding="same"), (1, 5, 4, 3, 2)),
    ("MaxPooling3D", dict(pool_size=(3, 2, 2), strides=1, data_format=CF), (1, 5, 4, 3, 2)),
    ("AveragePooling1D", dict(pool_size=3, strides=2), (2, 9, 3)),
    ("AveragePooling1D", dict(pool_size=3, strides=1, padding="same", data_format=CF), (2, 9, 3)),
    ("AveragePooling2D", dict(pool_size=2), (2, 9, 7, 3)),
    ("AveragePooling2D", dict(pool_size=2, padding="same"), (2, 9, 7, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=1, padding="same", data_format=CF), (2, 9, 7, 3)),
    ("AveragePooling3D", dict(pool_size=2, strides=(1, 2, 1), data_format=CF), (1, 5, 4, 3, 2)),
    ("GlobalMaxPooling1D", dict(), (2, 9, 3)),
    ("GlobalMaxPooling2D", dict(keepdims=True, data_format=CF), (2, 9, 7, 3)),
    ("GlobalMaxPooling3D", dict(), (1, 5, 4, 3, 2)),
    ("GlobalAveragePooling1D", dict(data_format=CF), (2, 9, 3)),
    ("GlobalAveragePooling2D", dict(), (2, 9, 7, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True), (2, 9, 7, 3)),
    ("GlobalAveragePooling3D", dict(keepdims=True, data_format=CF), (1, 5, 4, 3, 2)),
]


def _input(shape, data_format=None, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype("float32")
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if data_format == CF else x


@pytest.mark.parametrize("name, kwargs, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, kwargs, shape):
    x = _input(shape, kwargs.get("data_format"))
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(layers, name)(**kwargs)
    expected = keras.ops.convert_to_numpy(theirs(x))
    output = ours(torch.from_numpy(x)).numpy()
    assert output.shape == expected.shape
    np.testing.assert_allclose(output, expected, atol=1e-5, rtol=1e-5)
    assert ours.count_params() == theirs.count_params() == 0
    symbolic = ours(kt.Input(shape=x.shape[1:]))
    assert symbolic.shape == tuple(theirs.compute_output_shape((None, *x.shape[1:])))


def _average_over_real_elements(x, pool, strides):
    """Reference "same" average pooling (TF/JAX semantics) on a channels_last array, via NaN padding."""
    sizes = x.shape[1:-1]
    outs = [-(-n // s) for n, s in zip(sizes, strides)]
    totals = [max(0, (o - 1) * s + p - n) for o, s, p, n in zip(outs, strides, pool, sizes)]
    padded = np.pad(x, [(0, 0), *[(t // 2, t - t // 2) for t in totals], (0, 0)], constant_values=np.nan)
    result = np.empty((x.shape[0], *outs, x.shape[-1]), dtype=x.dtype)
    for index in itertools.product(*map(range, outs)):
        window = padded[(slice(None), *(slice(i * s, i * s + p) for i, s, p in zip(index, strides, pool)))]
        result[(slice(None), *index)] = np.nanmean(window.reshape(x.shape[0], -1, x.shape[-1]), axis=1)
    return result


@pytest.mark.parametrize("name, pool, strides, shape", [
    ("AveragePooling1D", 4, 1, (2, 8, 3)),
    ("AveragePooling2D", (3, 4), 2, (2, 8, 9, 3)),
    ("AveragePooling3D", (2, 3, 4), 1, (1, 4, 5, 6, 2)),
])
@pytest.mark.parametrize("data_format", ["channels_last", CF])
def test_same_average_pooling_counts_only_real_elements(name, pool, strides, shape, data_format):
    # Keras's TF, JAX and NumPy backends divide each window by its count of real elements; its torch
    # backend pads by edge replication in these asymmetric cases instead, so the reference is NumPy.
    x = _input(shape)
    rank = len(shape) - 2
    pool, strides = [(v,) * rank if isinstance(v, int) else v for v in (pool, strides)]
    expected = _average_over_real_elements(x, pool, strides)
    layer = getattr(layers, name)(pool, strides, padding="same", data_format=data_format)
    x_in = np.ascontiguousarray(np.moveaxis(x, -1, 1)) if data_format == CF else x
    output = layer(torch.from_numpy(x_in)).numpy()
    if data_format == CF:
        output = np.moveaxis(output, 1, -1)
    np.testing.assert_allclose(output, expected, atol=1e-5, rtol=1e-5)


def test_same_max_pooling_never_picks_padding():
    x = -torch.arange(1.0, 9.0).reshape(1, 8, 1)  # all negative: zero padding would win the max
    y = layers.MaxPooling1D(4, strides=1, padding="same")(x)
    assert y.flatten().tolist() == [-1.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0]


def test_global_average_pooling_1d_mask():
    x = torch.arange(12.0).reshape(1, 4, 3)
    mask = torch.tensor([[True, True, False, False]])
    expected = keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling1D()(x.numpy(), mask=mask.numpy()))
    np.testing.assert_allclose(layers.GlobalAveragePooling1D()(x, mask=mask).numpy(), expected)


class _OpLog(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("layer", [
    layers.MaxPooling2D(),
    layers.MaxPooling2D(3, strides=1, padding="same"),
    layers.AveragePooling2D(3, strides=1, padding="same"),
], ids=["max-valid", "max-same", "avg-same"])
def test_channels_last_pooling_is_zero_copy(layer):
    x = torch.randn(2, 12, 10, 8)
    with _OpLog() as log:
        y = layer(x)
    assert log.ops[0] == "permute" and log.ops[-1] == "permute"
    assert not {"clone", "copy_", "_to_copy", "constant_pad_nd"} & set(log.ops), log.ops
    assert y.is_contiguous()


@pytest.mark.parametrize("make", [
    lambda: layers.MaxPooling2D(0),
    lambda: layers.MaxPooling2D(2, strides=(1, 0)),
    lambda: layers.AveragePooling1D(2, padding="causal"),
    lambda: layers.AveragePooling3D((2, 2)),
    lambda: layers.GlobalMaxPooling2D(data_format="nchw"),
])
def test_bad_arguments_raise_value_error(make):
    with pytest.raises(ValueError, match="Pooling|data_format"):
        make()


def test_bad_inputs_name_the_layer():
    with pytest.raises(TypeError, match="MaxPooling2D.*pool_size"):
        layers.MaxPooling2D(1.5)
    with pytest.raises(ValueError, match="'pool'.*ndim=4"):
        layers.MaxPooling2D(name="pool")(torch.ones(2, 8, 3))
    with pytest.raises(ValueError, match="'gap'.*ndim=3"):
        layers.GlobalAveragePooling1D(name="gap")(kt.Input(shape=(8, 8, 3)))


def test_defaults_and_config():
    pool = layers.MaxPooling2D()
    assert pool.pool_size == (2, 2) and pool.strides == (2, 2) and pool.padding == "valid"
    assert pool.data_format == "channels_last"
    config = layers.AveragePooling2D(3, padding="same", name="avg").get_config()
    assert config["pool_size"] == 3 and config["strides"] is None and config["padding"] == "same"
    assert layers.AveragePooling2D.from_config({**config, "name": "avg_copy"}).strides == (3, 3)
