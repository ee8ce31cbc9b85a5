"""Convolution layers against Keras 3: shapes, parameter counts, weights and outputs; zero-copy layout."""

import keras
import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import kerastorch as kt
from kerastorch import layers

CF = "channels_first"

# (layer class name, constructor arguments, channels_last input shape). Inputs are not square, so a
# height/width mix-up shows; "same" with an even kernel or stride 2 gives asymmetric padding.
CASES = [
    ("Conv1D", dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=4, strides=2, padding="same", data_format=CF), (2, 9, 3)),
    ("Conv1D", dict(filters=4, kernel_size=2, groups=2, activation="relu"), (2, 9, 6)),
    ("Conv2D", dict(filters=4, kernel_size=3), (2, 9, 7, 3)),
    ("Conv2D", dict(filters=4, kernel_size=4, strides=2, padding="same"), (2, 9, 7, 3)),
    ("Conv2D", dict(filters=4, kernel_size=3, strides=2, padding="same", data_format=CF), (2, 8, 6, 3)),
    ("Conv2D", dict(filters=6, kernel_size=(3, 2), padding="same", dilation_rate=2, groups=3), (2, 9, 7, 3)),
    ("Conv2D", dict(filters=4, kernel_size=2, padding="same", use_bias=False, data_format=CF), (2, 5, 6, 2)),
    ("Conv3D", dict(filters=3, kernel_size=2, strides=2, padding="same"), (1, 5, 6, 4, 2)),
    ("Conv3D", dict(filters=3, kernel_size=(3, 2, 2), dilation_rate=(1, 2, 1), data_format=CF), (1, 5, 6, 4, 2)),
    ("Conv1DTranspose", dict(filters=3, kernel_size=5, strides=2, padding="same"), (2, 7, 4)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=4, strides=2, padding="same", data_format=CF), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same", output_padding=1), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=2, strides=3), (2, 5, 6, 3)),
    ("Conv2DTranspose", dict(filters=4, kernel_size=3, padding="same", dilation_rate=2), (2, 5, 6, 3)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2, padding="same", data_format=CF), (1, 3, 4, 2, 3)),
    ("DepthwiseConv1D", dict(kernel_size=4, padding="same", depth_multiplier=2), (2, 9, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2), (2, 9, 8, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, dilation_rate=2, data_format=CF), (2, 9, 8, 3)),
    ("SeparableConv1D", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, strides=2, padding="same", depth_multiplier=2), (2, 9, 8, 3)),
    ("SeparableConv2D", dict(filters=5, kernel_size=2, padding="same", dilation_rate=2, data_format=CF), (2, 9, 8, 3)),
]


def _input(shape, data_format):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    return np.ascontiguousarray(np.moveaxis(x, -1, 1)) if data_format == CF else x


@pytest.mark.parametrize("name, kwargs, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, kwargs, shape):
    x = _input(shape, kwargs.get("data_format"))
    theirs = getattr(keras.layers, name)(**kwargs)
    expected = keras.ops.convert_to_numpy(theirs(x))
    ours = getattr(layers, name)(**kwargs)
    ours(torch.from_numpy(x))
    ours.set_weights(theirs.get_weights())

    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(mine, reference)
    output = ours(torch.from_numpy(x)).detach().numpy()
    assert output.shape == expected.shape
    np.testing.assert_allclose(output, expected, atol=1e-5, rtol=1e-5)

    symbolic = ours(kt.Input(shape=x.shape[1:]))
    assert symbolic.shape == tuple(theirs.compute_output_shape((None, *x.shape[1:])))


def test_symbolic_build_with_unknown_spatial_sizes():
    for name, kwargs, real_shape in [
        ("Conv2D", dict(filters=4, kernel_size=3, strides=2, padding="same"), (1, 5, 4, 4)),
        ("Conv2DTranspose", dict(filters=4, kernel_size=3, strides=2, padding="same"), (1, 20, 14, 4)),
    ]:
        ours = getattr(layers, name)(**kwargs)
        output = ours(kt.Input(shape=(None, None, 3)))
        assert ours.built and ours.kernel.device.type == "cpu"
        assert output.shape == tuple(getattr(keras.layers, name)(**kwargs).compute_output_shape((None, None, None, 3)))
        assert ours(torch.ones(1, 10, 7, 3)).shape == real_shape


def test_kernels_are_stored_in_torch_layout():
    conv = layers.Conv2D(8, (3, 2), groups=2)
    conv(torch.ones(1, 6, 5, 4))
    assert conv.kernel.shape == (8, 2, 3, 2) and conv.kernel.is_contiguous()
    assert conv.get_weights()[0].shape == (3, 2, 2, 8)
    transpose = layers.Conv2DTranspose(8, 3)
    transpose(torch.ones(1, 6, 5, 4))
    assert transpose.kernel.shape == (4, 8, 3, 3) and transpose.get_weights()[0].shape == (3, 3, 8, 4)
    depthwise = layers.DepthwiseConv2D(3, depth_multiplier=2)
    depthwise(torch.ones(1, 6, 5, 4))
    assert depthwise.get_weights()[0].shape == (3, 3, 4, 2) and depthwise.bias.shape == (8,)
    assert list(dict(conv.named_parameters())) == ["kernel", "bias"]


class _OpLog(TorchDispatchMode):
    """Records the aten ops a forward runs, to show which layouts are copied."""

    def __init__(self):
        super().__init__()
        self.ops = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("layer", [
    layers.Conv2D(4, 3, padding="same"),
    layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
    layers.SeparableConv2D(4, 3),
    layers.Conv2DTranspose(4, 4, strides=2, padding="same"),
], ids=lambda layer: type(layer).__name__)
def test_channels_last_input_reaches_torch_without_copies(layer):
    x = torch.randn(2, 12, 10, 8)
    view = x.permute(0, 3, 1, 2)
    assert view.is_contiguous(memory_format=torch.channels_last) and view.data_ptr() == x.data_ptr()
    layer(x)
    with _OpLog() as log:
        y = layer(x)
    assert log.ops[0] == "permute" and log.ops[-1] == "permute"
    assert not {"clone", "copy_", "_to_copy", "contiguous", "constant_pad_nd"} & set(log.ops), log.ops
    assert y.is_contiguous()


def test_channels_first_passes_through_and_asymmetric_same_pads_once():
    conv = layers.Conv2D(4, 3, padding="same", data_format=CF)
    x = torch.randn(2, 8, 12, 10)
    conv(x)
    with _OpLog() as log:
        y = conv(x)
    assert log.ops == ["convolution"] and y.is_contiguous()
    strided = layers.Conv2D(4, 3, strides=2, padding="same")
    strided(torch.randn(2, 12, 10, 8))
    with _OpLog() as log:
        strided(torch.randn(2, 12, 10, 8))
    assert log.ops.count("constant_pad_nd") == 1


@pytest.mark.parametrize("make", [
    lambda: layers.Conv2D(0, 3),
    lambda: layers.Conv2D(4, 0),
    lambda: layers.Conv2D(4, (3, -1)),
    lambda: layers.Conv2D(4, 3, strides=0),
    lambda: layers.Conv2D(4, 3, padding="full"),
    lambda: layers.Conv2D(4, 3, padding="causal"),
    lambda: layers.Conv2D(4, (3, 3, 3)),
    lambda: layers.Conv2D(6, 3, groups=4),
    lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2),
    lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
    lambda: layers.DepthwiseConv2D(3, depth_multiplier=0),
    lambda: layers.SeparableConv2D(-1, 3),
    lambda: layers.Conv2D(4, 3, data_format="nhwc"),
])
def test_bad_arguments_raise_value_error(make):
    with pytest.raises(ValueError, match="Conv|conv|data_format"):
        make()


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="Conv2D.*kernel_size"):
        layers.Conv2D(4, 2.5)
    with pytest.raises(TypeError, match="Conv2D.*filters"):
        layers.Conv2D("4", 3)
    assert layers.Conv1D(4, 3, padding="Causal").padding == "causal"


def test_bad_inputs_name_the_layer_and_change_nothing():
    conv = layers.Conv2D(4, 3, name="stem")
    with pytest.raises(ValueError, match="'stem'.*ndim=4"):
        conv(torch.ones(2, 8, 3))
    assert not conv.built and conv.weights == []
    with pytest.raises(ValueError, match="'stem'.*at least the dilated kernel size"):
        conv(torch.ones(2, 2, 8, 3))
    assert not conv.built
    conv(torch.ones(2, 8, 8, 3))
    with pytest.raises(ValueError, match="'stem'.*axis -1.*value 3"):
        conv(torch.ones(2, 8, 8, 5))
    with pytest.raises(ValueError, match="'stem'.*axis -1.*value 3"):
        conv(kt.Input(shape=(8, 8, 5)))
    grouped = layers.Conv2D(4, 3, groups=2, name="grouped")
    with pytest.raises(ValueError, match="'grouped'.*divisible by groups=2"):
        grouped(torch.ones(1, 8, 8, 3))
    with pytest.raises(ValueError, match="known channel"):
        layers.Conv2D(4, 3)(kt.Input(shape=(8, 8, None)))


def test_config_round_trip():
    conv = layers.SeparableConv2D(5, 3, strides=2, padding="same", depth_multiplier=2, name="sep")
    config = conv.get_config()
    assert config["filters"] == 5 and config["depth_multiplier"] == 2 and config["name"] == "sep"
    clone = layers.SeparableConv2D.from_config({**config, "name": "sep_copy"})
    x = torch.randn(1, 9, 8, 3)
    clone(x)
    conv(x)
    clone.set_weights(conv.get_weights())
    torch.testing.assert_close(clone(x), conv(x))


@pytest.mark.cuda
def test_cuda_channels_last_conv_matches_cpu():
    conv = layers.Conv2D(8, 3, strides=2, padding="same")
    x = torch.randn(2, 17, 15, 4)
    expected = conv(x)
    conv.to("cuda")
    y = conv(x.cuda())
    assert y.is_contiguous()
    torch.testing.assert_close(y.cpu(), expected, atol=2e-3, rtol=2e-3)  # TF32 convolutions on GPU
