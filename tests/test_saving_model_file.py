"""`.keras` files and configs: both ways with real Keras 3, round trips, to_json, clone_model."""

import json
import warnings
import zipfile

import h5py
import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.saving import load_model, model_from_json, serialize_keras_object

from test_saving import IMAGES, TOKENS, _randomize_keras, _randomize_kt, keras_conv_net, keras_text_model
from test_saving import kt_conv_net, kt_text_model

XA = np.random.default_rng(3).uniform(size=(3, 4)).astype("float32")
XB = np.random.default_rng(4).uniform(size=(3, 3)).astype("float32")


def _two_input(lib):
    """Two inputs, a shared layer called twice, and a nested Sequential, in either library."""
    a = lib.Input((4,), name="a")
    b = lib.Input((3,), name="b")
    h = lib.layers.Concatenate()([lib.layers.Dense(5, activation="relu")(a), b])
    inner = lib.Sequential([lib.Input((8,)), lib.layers.Dense(3, activation="tanh")], name="inner")
    shared = lib.layers.Dense(2, name="shared")
    out = lib.layers.Add()([shared(inner(h)), shared(lib.layers.Dense(3)(b))])
    return lib.Model([a, b], out, name="two_input")


def _predict_kt(model, x):
    if isinstance(x, list):
        return model([torch.as_tensor(v) for v in x]).detach().numpy()
    return model(torch.as_tensor(x)).detach().numpy()


CASES = [
    (keras_conv_net, kt_conv_net, IMAGES),
    (keras_text_model, kt_text_model, TOKENS),
    (lambda: _two_input(keras), lambda: _two_input(kt), [XA, XB]),
]
IDS = ["conv_bn", "text", "functional_two_input"]


@pytest.mark.parametrize("make_keras, make_kt, x", CASES, ids=IDS)
def test_keras_file_loads_in_kerastorch(tmp_path, make_keras, make_kt, x):
    reference = make_keras()
    _randomize_keras(reference)
    reference.save(tmp_path / "k.keras")
    model = load_model(tmp_path / "k.keras")
    assert [l.name for l in model.layers] == [l.name for l in reference.layers]
    assert model.count_params() == reference.count_params()
    np.testing.assert_allclose(_predict_kt(model, x), reference.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("make_keras, make_kt, x", CASES, ids=IDS)
def test_kerastorch_file_loads_in_keras(tmp_path, make_keras, make_kt, x):
    model = make_kt()
    _randomize_kt(model)
    model.save(tmp_path / "t.keras")
    reference = keras.models.load_model(tmp_path / "t.keras")
    assert [l.name for l in reference.layers] == [l.name for l in model.layers]
    assert reference.count_params() == model.count_params()
    np.testing.assert_allclose(reference.predict(x, verbose=0), _predict_kt(model, x), atol=1e-5)


@pytest.mark.parametrize("make_keras, make_kt, x", CASES, ids=IDS)
def test_round_trip_keeps_names_configs_and_predictions(tmp_path, make_keras, make_kt, x):
    model = make_kt()
    _randomize_kt(model)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert type(loaded) is type(model) and loaded.name == model.name
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert serialize_keras_object(loaded) == serialize_keras_object(model)
    np.testing.assert_array_equal(_predict_kt(loaded, x), _predict_kt(model, x))


def test_archive_members_and_config_match_keras(tmp_path):
    kt_conv_net().save(tmp_path / "t.keras")
    keras_conv_net().save(tmp_path / "k.keras")
    with zipfile.ZipFile(tmp_path / "t.keras") as ours, zipfile.ZipFile(tmp_path / "k.keras") as theirs:
        assert sorted(ours.namelist()) == sorted(theirs.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        ours_config, theirs_config = json.loads(ours.read("config.json")), json.loads(theirs.read("config.json"))
    assert ours_config["class_name"] == theirs_config["class_name"] == "Sequential"
    for mine, reference in zip(ours_config["config"]["layers"], theirs_config["config"]["layers"]):
        assert (mine["module"], mine["class_name"]) == (reference["module"], reference["class_name"])
        # Every argument Keras writes, we write with the same value (names aside); extras are only Nones.
        for key, value in reference["config"].items():
            if key not in ("name", "quantization_config") and not isinstance(value, dict):
                assert mine["config"][key] == value, (mine["class_name"], key, mine["config"][key], value)
        for key, value in mine["config"].items():
            if key not in reference["config"]:
                assert value is None, (mine["class_name"], key, value)
    dense = ours_config["config"]["layers"][-1]["config"]
    assert dense["kernel_initializer"] == {"module": "keras.initializers", "class_name": "GlorotUniform",
                                           "config": {"seed": None, "input_axes": None, "output_axes": None},
                                           "registered_name": None}
    assert dense["activation"] == "softmax"


def test_bn_statistics_and_frozen_state_survive(tmp_path):
    model = kt_conv_net()
    _randomize_kt(model, seed=7)
    model.layers[1].trainable = False
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    assert loaded.layers[1].trainable is False and loaded.layers[0].trainable is True
    for a, b in zip(loaded.layers[1].get_weights(), model.layers[1].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_to_json_and_model_from_json():
    model = _two_input(kt)
    text = model.to_json()
    clone = model_from_json(text)
    assert json.loads(clone.to_json()) == json.loads(text)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    reference = keras.models.model_from_json(text)
    assert reference.count_params() == model.count_params()
    from_keras = kt.models.model_from_json(_two_input(keras).to_json())
    assert from_keras.count_params() == model.count_params()
    with pytest.raises(ValueError, match="JSON"):
        model_from_json("{not json")


def test_sequential_get_config_from_config():
    model = kt_conv_net()
    config = model.get_config()
    assert [entry["class_name"] for entry in config["layers"]][:3] == ["InputLayer", "Conv2D", "BatchNormalization"]
    rebuilt = kt.Sequential.from_config(config)
    assert rebuilt.count_params() == model.count_params()


@pytest.mark.parametrize("make", [kt_conv_net, lambda: _two_input(kt)], ids=["sequential", "functional"])
def test_clone_model_same_graph_new_weights(make):
    model = make()
    _randomize_kt(model)
    clone = kt.models.clone_model(model)
    assert type(clone) is type(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    x = [XA, XB] if isinstance(model, kt.Model) and len(model.inputs) == 2 else IMAGES
    np.testing.assert_array_equal(_predict_kt(clone, x), _predict_kt(model, x))


def test_clone_model_with_clone_function():
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3, name="a"), kt.layers.Dense(2, name="b")])
    seen = []

    def rename(layer):
        seen.append(layer.name)
        config = layer.get_config()
        config["name"] = "new_" + config["name"]
        return type(layer).from_config(config)

    clone = kt.models.clone_model(model, clone_function=rename)
    assert seen == ["a", "b"] and [l.name for l in clone.layers] == ["new_a", "new_b"]


class Scale(kt.layers.Layer):
    """A Keras-style custom layer: one trainable scalar per feature."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.scale = self.add_weight((input_shape[-1],), "ones", name="scale")

    def call(self, inputs):
        return inputs * self.scale * self.factor


def test_custom_objects(tmp_path):
    model = kt.Sequential([kt.Input((3,)), Scale(3.0), kt.layers.Dense(2)])
    _randomize_kt(model)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Scale"):
        load_model(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras", custom_objects={"Scale": Scale})
    assert loaded.layers[0].factor == 3.0
    x = torch.rand(2, 3)
    torch.testing.assert_close(loaded(x), model(x))


def test_unsupported_keras_arguments_are_named():
    config = keras.saving.serialize_keras_object(keras.layers.Dense(2))
    config["config"]["quantization_config"] = {"mode": "int8"}  # quantized layers are not implemented
    with pytest.raises(ValueError, match="quantization_config"):
        kt.saving.deserialize_keras_object(config)


def test_compile_state_both_ways(tmp_path):
    reference = keras_text_model()
    reference.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    reference.save(tmp_path / "k.keras")
    model = load_model(tmp_path / "k.keras")
    assert model.compiled and type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    assert model.loss == "binary_crossentropy"
    model.save(tmp_path / "t.keras")
    with zipfile.ZipFile(tmp_path / "t.keras") as archive:
        config = json.loads(archive.read("config.json"))["compile_config"]
    assert config["metrics"] == ["accuracy"] and config["optimizer"]["class_name"] == "Adam"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras notes that the optimizer's slots are not in the file
        again = keras.models.load_model(tmp_path / "t.keras")
    assert float(again.optimizer.learning_rate) == pytest.approx(0.01) and again.loss == "binary_crossentropy"
    assert not load_model(tmp_path / "t.keras", compile=False).compiled


def _nested_dict_model(lib):
    """A functional model used twice inside another one, with dict inputs and outputs."""
    x = lib.Input((4,), name="x")
    inner_in = lib.Input((4,), name="inner_in")
    inner = lib.Model(inner_in, lib.layers.Dense(3, name="inner_dense")(inner_in), name="inner_model")
    y = inner(x)
    z = inner(lib.layers.Dense(4, name="pre")(x))
    outputs = {"sum": lib.layers.Add(name="add")([y, z]), "raw": lib.layers.Dense(2, name="raw")(y)}
    return lib.Model({"x": x}, outputs, name="outer")


def test_nested_functional_with_dict_io_both_ways(tmp_path):
    x = np.random.default_rng(5).uniform(size=(2, 4)).astype("float32")
    model = _nested_dict_model(kt)
    _randomize_kt(model)
    model.save(tmp_path / "t.keras")
    ours = model({"x": torch.from_numpy(x)})
    loaded = load_model(tmp_path / "t.keras")({"x": torch.from_numpy(x)})
    theirs = keras.models.load_model(tmp_path / "t.keras").predict({"x": x}, verbose=0)
    for key in ("sum", "raw"):
        np.testing.assert_array_equal(loaded[key].detach().numpy(), ours[key].detach().numpy())
        np.testing.assert_allclose(theirs[key], ours[key].detach().numpy(), atol=1e-5)
    reference = _nested_dict_model(keras)
    _randomize_keras(reference)
    reference.save(tmp_path / "k.keras")
    from_keras = load_model(tmp_path / "k.keras")({"x": torch.from_numpy(x)})
    expected = reference.predict({"x": x}, verbose=0)
    for key in ("sum", "raw"):
        np.testing.assert_allclose(from_keras[key].detach().numpy(), expected[key], atol=1e-5)



def _heads_out_of_key_order(lib):
    """Two same-shaped heads in a dict whose written order is not its sorted order."""
    x = lib.Input((4,), name="x")
    h = lib.layers.Dense(3, activation="relu")(x)
    return lib.Model(x, {"out": lib.layers.Dense(2, name="out")(h), "aux": lib.layers.Dense(2, name="aux")(h)})


def test_dict_outputs_follow_keras_sorted_key_order_both_ways(tmp_path):
    """Keras numbers weight groups in sorted-key order; same shapes would swap silently otherwise."""
    x = np.random.default_rng(7).uniform(size=(2, 4)).astype("float32")
    reference = _heads_out_of_key_order(keras)
    _randomize_keras(reference, seed=1)
    reference.save(tmp_path / "k.keras")
    reference.save_weights(tmp_path / "k.weights.h5")
    expected = reference.predict(x, verbose=0)
    from_file = load_model(tmp_path / "k.keras")
    from_weights = _heads_out_of_key_order(kt)
    from_weights.load_weights(tmp_path / "k.weights.h5")
    for model in (from_file, from_weights):
        got = model(torch.from_numpy(x))
        for key in ("out", "aux"):
            np.testing.assert_allclose(got[key].detach().numpy(), expected[key], atol=1e-5, err_msg=key)
    ours = _heads_out_of_key_order(kt)
    _randomize_kt(ours, seed=2)
    ours.save(tmp_path / "t.keras")
    theirs = keras.models.load_model(tmp_path / "t.keras").predict(x, verbose=0)
    got = ours(torch.from_numpy(x))
    for key in ("out", "aux"):
        np.testing.assert_allclose(theirs[key], got[key].detach().numpy(), atol=1e-5, err_msg=key)

def test_xception_round_trip_and_into_keras(tmp_path):
    model = kt.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3), pooling="avg")
    model.save(tmp_path / "x.keras")
    x = torch.rand(1, 71, 71, 3)
    expected = model(x).detach().numpy()
    loaded = load_model(tmp_path / "x.keras")
    assert loaded.count_params() == model.count_params() == 20_861_480
    np.testing.assert_array_equal(loaded(x).detach().numpy(), expected)
    reference = keras.models.load_model(tmp_path / "x.keras")
    assert reference.count_params() == 20_861_480
    np.testing.assert_allclose(reference.predict(x.numpy(), verbose=0), expected, atol=1e-5)



def test_keras_xception_file_loads_in_kerastorch(tmp_path):
    """A `.keras` Xception written by Keras itself, BatchNorm statistics moved off their defaults."""
    reference = keras.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    rng = np.random.default_rng(5)
    for layer in reference.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(0, 0.1, size=layer.moving_mean.shape).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, size=layer.moving_variance.shape).astype("float32"))
    reference.save(tmp_path / "x.keras")
    model = load_model(tmp_path / "x.keras")
    assert [l.name for l in model.layers] == [l.name for l in reference.layers]
    assert model.count_params() == reference.count_params() == 20_861_480
    x = np.random.default_rng(6).uniform(-1, 1, size=(1, 71, 71, 3)).astype("float32")
    np.testing.assert_allclose(_predict_kt(model.eval(), x), reference.predict(x, verbose=0), atol=1e-5)

def _many_layers(lib):
    """One functional model touching most layer types kerastorch supports."""
    layers = lib.layers
    x = lib.Input((12, 12, 3))
    a = layers.Rescaling(1 / 255.0, offset=0.1)(x)
    a = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", use_bias=False)(a)
    a = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")(a)
    a = layers.SeparableConv2D(6, 3, padding="valid")(a)
    a = layers.Add()([a, layers.Conv2DTranspose(6, 3, padding="same")(a)])
    a = layers.LayerNormalization()(a)
    a = layers.AveragePooling2D(2, padding="same")(a)
    c = layers.Concatenate()([layers.GlobalMaxPooling2D()(a), layers.GlobalAveragePooling2D()(a)])
    c = layers.Dropout(0.3)(c)
    c = layers.Dense(8, activation="gelu", kernel_initializer="he_normal")(c)
    c = layers.Permute((2, 1))(layers.Reshape((2, 4))(c))
    c = layers.MaxPooling1D(2)(layers.Conv1D(3, 2, padding="causal")(c))
    c = layers.Flatten()(c)
    d = layers.Activation("tanh")(layers.Multiply()([c, c]))
    d = layers.BatchNormalization(momentum=0.9, epsilon=1e-4)(d)
    return lib.Model(x, layers.Dense(2, activation="softmax")(d))


def test_many_layer_types_both_ways(tmp_path):
    x = np.random.default_rng(6).uniform(0, 255, size=(2, 12, 12, 3)).astype("float32")
    reference = _many_layers(keras)
    _randomize_keras(reference)
    reference.save(tmp_path / "k.keras")
    model = load_model(tmp_path / "k.keras")
    assert model.count_params() == reference.count_params()
    np.testing.assert_allclose(_predict_kt(model, x), reference.predict(x, verbose=0), atol=1e-5)
    ours = _many_layers(kt)
    _randomize_kt(ours)
    ours.save(tmp_path / "t.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "t.keras").predict(x, verbose=0),
                               _predict_kt(ours, x), atol=1e-5)


def test_registered_custom_layer_loads_without_custom_objects(tmp_path):
    @kt.saving.register_keras_serializable(package="tests")
    class Shift(kt.layers.Layer):
        def __init__(self, amount=1.0, **kwargs):
            super().__init__(**kwargs)
            self.amount = amount

        def call(self, inputs):
            return inputs + self.amount

    model = kt.Sequential([kt.Input((3,)), Shift(2.5), kt.layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        entry = json.loads(archive.read("config.json"))["config"]["layers"][1]
    assert entry["registered_name"] == "tests>Shift" and entry["config"]["amount"] == 2.5
    loaded = load_model(tmp_path / "m.keras")
    x = torch.rand(2, 3)
    torch.testing.assert_close(loaded(x), model(x))


class TwoLayerNet(kt.Model):
    """A subclassed model: sublayers as attributes, a Keras-style `call`."""

    def __init__(self, hidden=4, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.d1 = kt.layers.Dense(hidden, activation="relu")
        self.bn = kt.layers.BatchNormalization()
        self.d2 = kt.layers.Dense(2)

    def call(self, inputs):
        return self.d2(self.bn(self.d1(inputs)))


def test_subclassed_model_round_trip(tmp_path):
    model = TwoLayerNet(5)
    x = torch.rand(3, 6)
    model(x)
    _randomize_kt(model)
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    with h5py.File(tmp_path / "m.weights.h5") as h5:
        assert {"d1/vars/0", "bn/vars/3", "d2/vars/1"} <= set(_names(h5))  # attribute paths, as Keras writes
    loaded = load_model(tmp_path / "m.keras", custom_objects={"TwoLayerNet": TwoLayerNet})
    assert loaded.hidden == 5 and loaded.built
    torch.testing.assert_close(loaded(x), model(x))


def _names(h5):
    found = []
    h5.visit(found.append)
    return found
