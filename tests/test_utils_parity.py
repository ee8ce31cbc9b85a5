"""Small `kt.utils` helpers against Keras's on the same inputs: data packing, symbolic-tensor questions,
`Config`, and the names that exist only to explain why they cannot work."""

import json

import keras
import numpy as np
import pytest

import kerastorch as kt

X, Y, W = np.ones((2, 3)), np.zeros((2, 1)), np.full((2,), 0.5)

PACK = [(X, None, None), (X, Y, None), (X, Y, W), ((X, X), None, None), ([X, X], Y, None), ({"a": X}, None, W)]


def _shape(value):
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, [_shape(v) for v in value])
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    return None if value is None else np.asarray(value).tolist()


@pytest.mark.parametrize("x,y,w", PACK, ids=range(len(PACK)))
def test_pack_and_unpack_match_keras(x, y, w):
    ours, theirs = kt.utils.pack_x_y_sample_weight(x, y, w), keras.utils.pack_x_y_sample_weight(x, y, w)
    assert _shape(ours) == _shape(theirs)
    assert _shape(kt.utils.unpack_x_y_sample_weight(theirs)) == _shape(keras.utils.unpack_x_y_sample_weight(theirs))


def test_unpack_rejects_long_tuples_as_keras():
    for lib in (kt, keras):
        with pytest.raises(ValueError):
            lib.utils.unpack_x_y_sample_weight((X, Y, W, W))


def _graph(lib):
    a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
    hidden = lib.layers.Dense(2)(a)
    out = lib.layers.Add()([hidden, lib.layers.Dense(2)(b)])
    return a, b, hidden, out


def test_source_inputs_and_keras_tensors_match_keras():
    ours, theirs = _graph(kt), _graph(keras)
    for mine, reference in zip(ours, theirs):
        assert [t.name for t in kt.utils.get_source_inputs(mine)] == [
            t.name for t in keras.utils.get_source_inputs(reference)]
        assert kt.utils.is_keras_tensor(mine) and keras.utils.is_keras_tensor(reference)
    assert not kt.utils.is_keras_tensor(np.ones(2)) and not keras.utils.is_keras_tensor(np.ones(2))
    assert kt.backend.is_keras_tensor is kt.utils.is_keras_tensor


def _config_session(lib):
    config = lib.utils.Config(learning_rate=0.1, momentum=0.9)
    config.seed = 3
    config["zeta"] = "z"
    seen = [sorted(config.keys()), list(config), len(config), config.seed, config.get("missing", 7), "seed" in config,
            json.loads(config.to_json()), config.as_dict()]
    config.pop("zeta")
    config.update(alpha=1)
    config.freeze()
    for change in (lambda: setattr(config, "x", 1), lambda: config.__setitem__("x", 1), lambda: config.pop("seed"),
                   lambda: config.update(x=1), lambda: config.__delitem__("seed")):
        with pytest.raises(ValueError, match="frozen"):
            change()
    with pytest.raises(AttributeError, match="Did you mean 'momentum'"):
        config.momentom  # noqa: B018
    config.unfreeze()
    del config["alpha"]
    return seen + [config.frozen, config.as_dict(), repr(config)]


def test_config_behaves_as_keras_config():
    assert _config_session(kt) == _config_session(keras)


def test_feature_space_says_why_it_is_missing():
    with pytest.raises(NotImplementedError, match="TensorFlow"):
        kt.utils.FeatureSpace(features={"a": "float"})


def _legacy_double(x):
    return 2 * x


class _Scaler:
    """A plain object with a config, nested once, holding a registered function."""

    def __init__(self, factor=1.0, inner=None, fn=None, sizes=(1, 2)):
        self.factor, self.inner, self.fn, self.sizes = factor, inner, fn, list(sizes)

    def get_config(self):
        return {"factor": self.factor, "inner": self.inner, "fn": self.fn, "sizes": self.sizes}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


for _lib in (kt, keras):
    _lib.saving.register_keras_serializable("legacy_tests")(_Scaler)
    _lib.saving.register_keras_serializable("legacy_tests")(_legacy_double)


def test_legacy_format_matches_keras():
    obj = _Scaler(3.0, inner=_Scaler(0.5, fn=_legacy_double), fn=_legacy_double)
    ours, theirs = kt.utils.legacy.serialize_keras_object(obj), keras.utils.legacy.serialize_keras_object(obj)
    assert ours == theirs and ours["class_name"] == "legacy_tests>_Scaler"
    assert kt.utils.legacy.serialize_keras_object(_legacy_double) == "legacy_tests>_legacy_double"
    for lib in (kt, keras):
        rebuilt = lib.utils.legacy.deserialize_keras_object(theirs)
        assert isinstance(rebuilt.inner, _Scaler) and rebuilt.inner.fn is _legacy_double and rebuilt.factor == 3.0
        assert rebuilt.fn is _legacy_double
        with pytest.raises(ValueError):
            lib.utils.legacy.deserialize_keras_object({"class_name": "Nowhere", "config": {}})
    # Keras 3.15's legacy reader fails on names (it reads a registry attribute that no longer exists).
    assert kt.utils.legacy.deserialize_keras_object("x", module_objects={"x": _Scaler}).factor == 1.0
    assert kt.utils.legacy.deserialize_keras_object("legacy_tests>_legacy_double") is _legacy_double
