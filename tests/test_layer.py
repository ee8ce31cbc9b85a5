"""The Layer base: names, deferred build, custom layers, trainable, weights, config, wrapped modules."""

import keras
import numpy as np
import pytest
import torch
from torch import nn

import kerastorch as kt
from kerastorch.layers import layer as layer_module


@pytest.fixture
def fresh_names(monkeypatch):
    """Start the per-process auto-name counters from zero, as in a new Python process."""
    monkeypatch.setattr(layer_module, "_NAME_COUNTS", {})


def to_numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()


# ------------------------------------------------------------------------------- names and repr

def test_auto_names_count_per_class_and_explicit_names_are_kept(fresh_names):
    assert [kt.layers.Dense(2).name for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    assert kt.layers.Dense(2, name="head").name == "head"
    assert kt.layers.Dense(2).name == "dense_3"  # an explicit name does not use up a number
    assert kt.layers.BatchNormalization().name == "batch_normalization"
    assert layer_module.snake_case("Conv2DTranspose") == "conv2d_transpose"
    assert kt.layers.TorchModuleWrapper(nn.LSTM(2, 2)).name == "lstm"


def test_repr_shows_name_and_built(fresh_names):
    layer = kt.layers.Dense(3)
    assert repr(layer) == "<Dense name=dense, built=False>"
    layer(torch.zeros(1, 4))
    assert repr(layer) == "<Dense name=dense, built=True>"


def test_models_are_named_and_shown_like_layers(fresh_names):
    assert [kt.Sequential().name for _ in range(2)] == ["sequential", "sequential_1"]
    assert repr(kt.Sequential(name="stack")) == "<Sequential name=stack, built=False>"
    inputs = kt.Input((2,))
    assert repr(kt.Model(inputs, kt.layers.Dense(1)(inputs))) == "<Functional name=functional, built=True>"


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match="name must be a string"):
        kt.layers.Dense(2, name=3)


# --------------------------------------------------------------------------------------- build

def test_deferred_build_on_first_call():
    layer = kt.layers.Dense(3)
    assert not layer.built and layer.weights == [] and list(layer.parameters()) == []
    with pytest.raises(ValueError, match="not built"):
        layer.count_params()
    layer(torch.zeros(1, 4))
    assert layer.built
    assert [tuple(w.shape) for w in layer.weights] == [(4, 3), (3,)]
    assert [w.shape for w in layer.get_weights()] == [(4, 3), (3,)]
    assert layer.count_params() == 15


def test_build_from_symbolic_input_and_direct_build_call():
    layer = kt.layers.Dense(3)
    out = layer(kt.Input((4,)))
    assert layer.built and out.shape == (None, 3)
    assert all(w.device.type == "cpu" for w in layer.weights)  # not on meta
    direct = kt.layers.Dense(2)
    direct.build((None, 5))
    assert direct.built and tuple(direct.kernel.shape) == (5, 2)


def test_weights_are_created_on_the_build_device_with_the_layer_dtype():
    layer = kt.layers.Dense(3, dtype="float64")
    x = torch.ones(2, 4, dtype=torch.float64)
    assert layer(x).dtype == torch.float64
    assert all(w.dtype == torch.float64 for w in layer.weights) and layer.dtype == "float64"
    on_meta = kt.layers.Dense(3)
    with layer_module.build_device("meta"):
        on_meta.build((1, 4))
    assert all(w.device.type == "meta" for w in on_meta.weights)


def test_first_call_casts_float_inputs_to_the_layer_dtype_like_keras():
    x = np.random.default_rng(0).normal(size=(2, 4))  # float64, as numpy makes it
    for dtype in ("float32", "float64"):
        theirs, ours = keras.layers.Dense(3, dtype=dtype), kt.layers.Dense(3, dtype=dtype)
        expected = theirs(x.astype("float32"))
        ours(torch.zeros(1, 4, dtype=torch.float16))  # built from a half-precision batch all the same
        ours.set_weights(theirs.get_weights())
        assert ours.dtype == dtype and all(w.dtype == getattr(torch, dtype) for w in ours.weights)
        np.testing.assert_allclose(to_numpy(ours(torch.from_numpy(x).to(getattr(torch, dtype)))),
                                   to_numpy(expected), atol=1e-5)
    assert kt.layers.Embedding(5, 2)(torch.ones(1, 3, dtype=torch.int32)).dtype == torch.float32  # ints stay


def test_layer_dtype_follows_module_conversions():
    layer = kt.layers.Dense(3)
    layer(torch.zeros(1, 4))
    assert layer.to(torch.float64).dtype == "float64" and layer.kernel.dtype == torch.float64
    assert layer.to("cpu").dtype == "float64"  # a device move keeps the dtype
    assert layer.half().dtype == "float16"
    unbuilt = kt.layers.Dense(3).to(torch.float64)  # an unbuilt layer builds in the new dtype
    assert unbuilt(torch.zeros(1, 4)).dtype == torch.float64


@pytest.mark.cuda
def test_weights_follow_a_cuda_input():
    layer = kt.layers.Dense(3)
    out = layer(torch.ones(2, 4, device="cuda"))
    assert out.device.type == "cuda" and all(w.device.type == "cuda" for w in layer.weights)
    bn = kt.layers.BatchNormalization()
    x = torch.randn(4, 5, 5, 8, device="cuda")
    assert bn(x, training=True).is_contiguous() and bn.moving_mean.device.type == "cuda"


def test_layers_start_in_inference_mode():
    assert not kt.layers.Dense(2).training and not kt.layers.Dropout(0.5).training
    assert not kt.Sequential([kt.layers.Dense(2)]).training


# -------------------------------------------------------------------------------- custom layers

class ScaledLinear(kt.layers.Layer):
    """A Keras-style layer: build() creates weights, call() uses them."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False, name="calls")

    def call(self, inputs):
        return inputs @ self.w + self.b


class KerasScaledLinear(keras.layers.Layer):
    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False, name="calls")

    def call(self, inputs):
        return keras.ops.matmul(inputs, self.w) + self.b


def test_keras_style_custom_layer_matches_keras():
    ours, theirs = ScaledLinear(4), KerasScaledLinear(4)
    x = np.random.default_rng(0).normal(size=(2, 5)).astype("float32")
    ours(torch.from_numpy(x))
    theirs(x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert ours.count_params() == theirs.count_params() == 25
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 2
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(to_numpy(ours(torch.from_numpy(x))), to_numpy(theirs(x)), atol=1e-5)


def test_custom_layer_weights_take_their_attribute_names():
    layer = ScaledLinear()
    layer(torch.ones(2, 4))
    assert [n for n, _ in layer.named_parameters()] == ["w", "b"]
    assert [n for n, _ in layer.named_buffers()] == ["calls"]
    assert list(layer.state_dict()) == ["w", "b", "calls"]
    assert isinstance(layer.w, nn.Parameter) and layer.calls.requires_grad is False
    assert layer.get_config()["units"] == 3 and layer.get_config()["name"] == layer.name


def test_custom_layer_gradients_and_symbolic_call():
    layer = ScaledLinear(2)
    out = layer(kt.Input((6,)))
    assert out.shape == (None, 2)
    layer(torch.ones(3, 6)).sum().backward()
    assert layer.w.grad is not None and layer.w.grad.shape == (6, 2)


# ----------------------------------------------------------------------------------- trainable

def test_trainable_setter_freezes_parameters_and_sublayers():
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3), kt.layers.BatchNormalization(), kt.layers.Dense(2)])
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    model.trainable = False
    assert all(not p.requires_grad for p in model.parameters())
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 8
    assert all(not layer.trainable for layer in model.layers)
    model.trainable = True
    assert all(p.requires_grad for p in model.parameters()) and len(model.trainable_weights) == 6
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 4 and not model.layers[0].kernel.requires_grad


def test_frozen_batchnorm_in_a_training_model_keeps_its_statistics():
    bn = kt.layers.BatchNormalization()
    model = kt.Sequential([kt.Input((3,)), bn])
    bn.trainable = False
    model.train()
    x = torch.randn(16, 3) * 5 + 3
    out = model(x)
    assert torch.equal(bn.moving_mean, torch.zeros(3))
    torch.testing.assert_close(out.detach(), x / torch.sqrt(torch.tensor(1.001)))
    bn.trainable = True
    model(x)
    assert not torch.equal(bn.moving_mean, torch.zeros(3))


def test_frozen_wrapper_keeps_torch_batchnorm_in_eval():
    wrapper = kt.layers.TorchModuleWrapper(nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3)))
    model = kt.Sequential([kt.Input((3,)), wrapper])
    wrapper.trainable = False
    model.train()
    assert not wrapper.module[1].training
    model(torch.randn(8, 3))
    assert torch.equal(wrapper.module[1].running_mean, torch.zeros(3))


# ------------------------------------------------------------------------------------- weights

def test_get_set_weights_round_trip():
    source, target = kt.layers.Dense(3), kt.layers.Dense(3)
    x = torch.randn(2, 4)
    source(x)
    target(x)
    target.set_weights(source.get_weights())
    torch.testing.assert_close(target(x), source(x))
    arrays = source.get_weights()
    arrays[0][0, 0] = 123.0
    assert source.kernel[0, 0] != 123.0  # get_weights returns copies


def test_set_weights_with_a_bad_list_changes_nothing():
    layer = kt.layers.Dense(3, name="dense_guard")
    layer(torch.zeros(1, 4))
    before = layer.get_weights()
    good_kernel = np.ones((4, 3), "float32")
    with pytest.raises(ValueError, match=r"dense_guard.*weight 1 expected shape \(3,\), received \(4,\)"):
        layer.set_weights([good_kernel, np.ones(4, "float32")])
    with pytest.raises(ValueError, match=r"dense_guard.*expected 2 weight arrays.*received 1"):
        layer.set_weights([good_kernel])
    for b, a in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


# -------------------------------------------------------------------------------------- config

BUILT_IN = [
    ("Dense", (4, 3), dict(units=5, activation="relu", use_bias=False)),
    ("Activation", (2, 3), dict(activation="tanh")),
    ("Dropout", (2, 3), dict(rate=0.3, seed=1)),
    ("Identity", (2, 3), {}),
    ("Embedding", (2, 3), dict(input_dim=10, output_dim=4)),
    ("Flatten", (2, 3, 4), dict(data_format="channels_first")),
    ("Reshape", (2, 3, 4), dict(target_shape=(-1, 2))),
    ("Permute", (2, 3, 4), dict(dims=(2, 1))),
    ("Rescaling", (2, 3), dict(scale=0.5, offset=1.0)),
    ("BatchNormalization", (4, 3), dict(momentum=0.9, epsilon=0.01)),
    ("LayerNormalization", (2, 3, 4), dict(axis=[-2, -1], center=False)),
    ("Concatenate", None, dict(axis=1)),
    ("Add", None, {}),
    ("Dot", None, dict(axes=1, normalize=True)),
]


@pytest.mark.parametrize("name,shape,kwargs", BUILT_IN, ids=[b[0] for b in BUILT_IN])
def test_get_config_from_config_round_trip(name, shape, kwargs):
    cls = getattr(kt.layers, name)
    layer = cls(**kwargs, name=f"{name.lower()}_config")
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    assert config["name"] == f"{name.lower()}_config" and config["trainable"] is True
    clone = cls.from_config(config)
    assert type(clone) is cls and clone.get_config() == config
    if shape is None:
        inputs = [torch.randn(2, 3), torch.randn(2, 3)]
    elif name == "Embedding":
        inputs = torch.randint(0, 10, shape)
    else:
        inputs = torch.randn(shape)
    layer(inputs)
    clone(inputs)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(inputs), layer(inputs))


def test_frozen_layer_config_keeps_trainable_false():
    layer = kt.layers.Dense(2, trainable=False)
    layer(torch.zeros(1, 3))
    assert not layer.kernel.requires_grad
    clone = kt.layers.Dense.from_config(layer.get_config())
    clone(torch.zeros(1, 3))
    assert clone.trainable is False and not clone.kernel.requires_grad


# ------------------------------------------------------------------------------ wrapped modules

def test_wrapped_lstm_names_counts_and_shapes():
    lstm = nn.LSTM(3, 4, batch_first=True)
    wrapper = kt.layers.TorchModuleWrapper(lstm)
    assert wrapper.module is lstm and wrapper.built
    output, (h, c) = wrapper(kt.Input((5, 3)))
    assert output.shape == (None, 5, 4) and h.shape[-1] == 4
    assert wrapper.count_params() == sum(p.numel() for p in lstm.parameters()) == 144
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(wrapper(x)[0], lstm(x)[0])
    assert list(wrapper.state_dict())[0].startswith("module.")
    wrapper.trainable = False
    assert not any(p.requires_grad for p in lstm.parameters())


def test_plain_modules_become_layers_in_a_sequential():
    model = kt.Sequential([kt.Input((4,)), nn.Linear(4, 2), kt.layers.Dense(3)])
    assert isinstance(model.layers[0], kt.layers.TorchModuleWrapper)
    assert model.output.shape == (None, 3)
    assert model.count_params() == (4 * 2 + 2) + (2 * 3 + 3)
    assert model(torch.randn(5, 4)).shape == (5, 3)


def test_wrapper_rejects_non_modules():
    with pytest.raises(TypeError, match="TorchModuleWrapper expected a torch.nn.Module, received int"):
        kt.layers.TorchModuleWrapper(3)
