"""The serialization registry (`register_keras_serializable` and friends) against Keras 3's.

Registered classes *and* functions must load from `.keras` files without `custom_objects`, in
both directions between the libraries: as an activation, a Lambda function, a regularizer, a loss
(compile state) and a custom layer class.
"""

import json
import zipfile

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt


def _register_both(package, name=None):
    def register(obj):
        kt.saving.register_keras_serializable(package, name)(obj)
        return keras.saving.register_keras_serializable(package, name)(obj)

    return register


@_register_both("reg_tests")
def doubled(x):
    return x * 2.0


@_register_both("reg_tests", name="sq_err")
def squared_error(y_true, y_pred):
    return ((y_true - y_pred) ** 2).mean(axis=-1)


@_register_both("reg_tests")
def tiny_l1(weights):
    return 1e-3 * weights.abs().sum()


def _model(lib, shift_cls):
    model = lib.Sequential([
        lib.Input((3,)), lib.layers.Dense(4, activation=doubled, kernel_regularizer=tiny_l1),
        lib.layers.Lambda(doubled), shift_cls(1.5), lib.layers.Dense(2),
    ])
    model.compile(optimizer="adam", loss=squared_error)
    return model


@kt.saving.register_keras_serializable("reg_tests")
class KtShift(kt.layers.Layer):
    def __init__(self, amount=1.0, **kwargs):
        super().__init__(**kwargs)
        self.amount = amount

    def call(self, inputs):
        return inputs + self.amount

    def get_config(self):
        return {**super().get_config(), "amount": self.amount}


@keras.saving.register_keras_serializable("reg_tests", name="KtShift")
class KerasShift(keras.layers.Layer):
    def __init__(self, amount=1.0, **kwargs):
        super().__init__(**kwargs)
        self.amount = amount

    def call(self, inputs):
        return inputs + self.amount

    def get_config(self):
        return {**super().get_config(), "amount": self.amount}


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    dense = config["config"]["layers"][1]["config"]
    return dense["activation"], dense["kernel_regularizer"], config["compile_config"]["loss"]


def _check_loaded(model, reference, x):
    assert model.layers[0].activation is doubled and model.layers[1].function is doubled
    assert model.loss is squared_error
    assert type(model.layers[2]).__name__ in ("KtShift", "KerasShift") and model.layers[2].amount == 1.5
    np.testing.assert_allclose(np.asarray(model.predict(x, verbose=0)), np.asarray(reference.predict(x, verbose=0)),
                               atol=1e-5)


def test_registered_functions_and_classes_round_trip_both_ways(tmp_path):
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    ours, theirs = _model(kt, KtShift), _model(keras, KerasShift)
    theirs.set_weights(ours.get_weights())
    ours.save(tmp_path / "kt.keras")
    theirs.save(tmp_path / "keras.keras")
    # The same entries in both files: registered functions are named `package>name`.
    assert _entries(tmp_path / "kt.keras") == _entries(tmp_path / "keras.keras")
    activation, _, loss = _entries(tmp_path / "kt.keras")
    assert activation["config"] == "reg_tests>doubled" and loss["config"] == "reg_tests>sq_err"
    for path in ("kt.keras", "keras.keras"):
        _check_loaded(kt.saving.load_model(tmp_path / path), ours, x)
        _check_loaded(keras.saving.load_model(tmp_path / path), theirs, x)
    regularizer = kt.saving.load_model(tmp_path / "keras.keras").layers[0].kernel_regularizer
    assert regularizer is tiny_l1


def test_registry_lookups_match_keras():
    for obj in (doubled, squared_error, tiny_l1, np.mean):
        assert kt.utils.get_registered_name(obj) == keras.utils.get_registered_name(obj)
    assert kt.utils.get_registered_name(KtShift) == keras.utils.get_registered_name(KerasShift) == "reg_tests>KtShift"
    for name in ("reg_tests>doubled", "reg_tests>sq_err", "reg_tests>nothing"):
        assert kt.saving.get_registered_object(name) is keras.saving.get_registered_object(name)
    assert kt.utils.get_registered_object("x", custom_objects={"x": np.mean}) is np.mean
    assert kt.utils.get_registered_object("y", module_objects={"y": np.sum}) is np.sum
    assert kt.utils.get_custom_objects()["reg_tests>KtShift"] is KtShift
    assert kt.utils.get_registered_object is kt.saving.get_registered_object


def test_custom_object_scope_and_live_registry(tmp_path):
    def halved(x):
        return x / 2.0

    model = kt.Sequential([kt.Input((2,)), kt.layers.Dense(2, activation=halved)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="halved"):
        kt.saving.load_model(tmp_path / "m.keras")
    for scope in (kt.utils.custom_object_scope, kt.utils.CustomObjectScope, kt.saving.custom_object_scope):
        with scope({"halved": halved}) as entered:
            assert isinstance(entered, kt.utils.CustomObjectScope)
            assert kt.utils.get_registered_object("halved") is halved
            assert kt.saving.load_model(tmp_path / "m.keras").layers[0].activation is halved
        assert kt.utils.get_registered_object("halved") is None
    kt.utils.get_custom_objects()["halved"] = halved  # Keras's documented way to add to the registry
    try:
        assert kt.saving.load_model(tmp_path / "m.keras").layers[0].activation is halved
    finally:
        del kt.utils.get_custom_objects()["halved"]
    with pytest.raises(TypeError, match="dicts"):
        kt.utils.custom_object_scope(["halved"])


def test_register_refuses_class_without_get_config():
    class NoConfig:
        pass

    with pytest.raises(ValueError, match="get_config"):
        kt.utils.register_keras_serializable("reg_tests")(NoConfig)
    with pytest.raises(ValueError):
        keras.utils.register_keras_serializable("reg_tests")(NoConfig)


def test_serialize_and_deserialize_keras_object_match_keras():
    layer = kt.layers.Dense(3, activation=doubled, name="d")
    ours = kt.utils.serialize_keras_object(layer)
    theirs = keras.utils.serialize_keras_object(keras.layers.Dense(3, activation=doubled, name="d"))
    assert ours["config"]["activation"] == theirs["config"]["activation"]
    assert (ours["module"], ours["class_name"]) == (theirs["module"], theirs["class_name"])
    rebuilt = kt.utils.deserialize_keras_object(theirs)
    assert isinstance(rebuilt, kt.layers.Dense) and rebuilt.activation is doubled and rebuilt.units == 3
    assert kt.utils.serialize_keras_object(doubled) == keras.utils.serialize_keras_object(doubled)
    out = rebuilt(torch.ones(1, 2))
    assert out.shape == (1, 3)


OBJECTS = [  # (kerastorch object, Keras object): each library's entry read by the other
    (kt.losses.MeanSquaredError(), keras.losses.MeanSquaredError()),
    (kt.metrics.AUC(num_thresholds=50), keras.metrics.AUC(num_thresholds=50)),
    (kt.optimizers.Adam(learning_rate=0.01), keras.optimizers.Adam(learning_rate=0.01)),
    (kt.initializers.HeNormal(seed=3), keras.initializers.HeNormal(seed=3)),
    (kt.regularizers.L2(0.1), keras.regularizers.L2(0.1)),
]


@pytest.mark.parametrize("ours,theirs", OBJECTS, ids=lambda o: type(o).__name__)
def test_non_layer_objects_deserialize_both_ways(ours, theirs):
    from_keras = kt.utils.deserialize_keras_object(keras.utils.serialize_keras_object(theirs))
    from_ours = keras.utils.deserialize_keras_object(kt.utils.serialize_keras_object(ours))
    assert type(from_keras).__name__ == type(from_ours).__name__ == type(theirs).__name__
    keys = set(theirs.get_config()) & set(from_keras.get_config())
    assert keys and all(np.allclose(from_keras.get_config()[k], theirs.get_config()[k]) if isinstance(
        theirs.get_config()[k], float) else from_keras.get_config()[k] == theirs.get_config()[k] for k in keys)


def test_plain_values_and_functions_deserialize_as_keras():
    for value in ("relu", 3, [1, "a"], {"k": 2.5}, None):
        assert kt.utils.deserialize_keras_object(value) == keras.utils.deserialize_keras_object(value)
    entry = keras.utils.serialize_keras_object(doubled)
    assert kt.utils.deserialize_keras_object(entry) is doubled is keras.utils.deserialize_keras_object(entry)
