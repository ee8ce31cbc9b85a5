"""Every `keras.activations` name against Keras 3: same values on the same inputs, same names in configs."""

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt

# (name, keyword arguments)
ROWS = [
    ("celu", {}), ("celu", {"alpha": 0.5}), ("elu", {}), ("elu", {"alpha": 0.3}), ("exponential", {}),
    ("gelu", {}), ("gelu", {"approximate": True}), ("glu", {}), ("glu", {"axis": 1}), ("hard_shrink", {}),
    ("hard_shrink", {"threshold": 1.0}), ("hard_sigmoid", {}), ("hard_silu", {}), ("hard_swish", {}),
    ("hard_tanh", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.05}), ("linear", {}),
    ("log_sigmoid", {}), ("log_softmax", {}), ("log_softmax", {"axis": 1}), ("mish", {}), ("relu", {}),
    ("relu", {"max_value": 6.0}), ("relu", {"max_value": 1.0}), ("relu", {"negative_slope": 0.1}),
    ("relu", {"threshold": 0.5}), ("relu", {"negative_slope": 0.2, "max_value": 1.5, "threshold": -0.3}),
    ("relu", {"negative_slope": 0.1, "threshold": 0.4}), ("relu6", {}), ("selu", {}), ("sigmoid", {}),
    ("silu", {}), ("soft_shrink", {}), ("soft_shrink", {"threshold": 0.2}), ("softmax", {}),
    ("softmax", {"axis": 1}), ("softplus", {}), ("softsign", {}), ("sparse_plus", {}), ("sparse_sigmoid", {}),
    ("sparsemax", {}), ("sparsemax", {"axis": 1}), ("squareplus", {}), ("squareplus", {"b": 1}), ("swish", {}),
    ("tanh", {}), ("tanh_shrink", {}), ("threshold", {"threshold": 0.2, "default_value": -1.0}),
]


def _sparsemax(x, axis=-1):
    """Reference sparsemax (Martins & Astudillo, 2016): Keras 3.15's, on every backend, takes the threshold
    from the sum of the cumulative sums instead of the k-th one, so its outputs do not sum to 1."""
    z = np.moveaxis(x, axis, -1)
    ordered = -np.sort(-z, axis=-1)
    cumulative = ordered.cumsum(-1)
    ranks = np.arange(1, z.shape[-1] + 1)
    k = (1 + ranks * ordered > cumulative).sum(-1, keepdims=True)
    tau = (np.take_along_axis(cumulative, k - 1, -1) - 1) / k
    return np.moveaxis(np.maximum(z - tau, 0), -1, axis)


REFERENCES = {"sparsemax": _sparsemax}


@pytest.mark.parametrize("name, kwargs", ROWS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ROWS)])
def test_activation_equals_keras(name, kwargs):
    x = np.random.default_rng(0).uniform(-3, 3, (3, 4, 6)).astype("float32")
    if name in REFERENCES:
        expected = REFERENCES[name](x, **kwargs)
        np.testing.assert_allclose(expected.sum(kwargs.get("axis", -1)), 1, rtol=1e-5)
    else:
        expected = keras.ops.convert_to_numpy(getattr(keras.activations, name)(torch.from_numpy(x), **kwargs))
    output = getattr(kt.activations, name)(torch.from_numpy(x), **kwargs)
    assert output.shape == expected.shape and output.dtype == torch.float32
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-6, rtol=1e-6)
    # On a functional model's symbolic tensor the activation becomes a graph node with the same values.
    inputs = kt.Input(x.shape[1:])
    model = kt.Model(inputs, getattr(kt.activations, name)(inputs, **kwargs))
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), expected, atol=1e-6, rtol=1e-6)


def test_every_keras_activation_exists_and_round_trips():
    names = [n for n in dir(keras.activations) if not n.startswith("_") and n not in ("get", "serialize", "deserialize")]
    assert {n for n, _ in ROWS} == set(names)  # the table covers the whole namespace
    for name in names:
        fn = getattr(kt.activations, name)
        assert kt.activations.get(name) is fn
        assert kt.activations.serialize(fn) == keras.activations.serialize(getattr(keras.activations, name))
        assert kt.activations.deserialize(name) is fn
        assert kt.activations.deserialize({"module": "keras.activations", "class_name": "function", "config": name,
                                           "registered_name": "function"}) is fn
        assert kt.activations.get({"class_name": "function", "config": name}) is fn
    layer = kt.layers.Dense(2, activation="sparsemax")
    rebuilt = keras.layers.deserialize(kt.layers.serialize(layer))
    assert rebuilt.activation is keras.activations.sparsemax


def test_activation_lookup_errors():
    def custom(x):
        return x * 2

    assert kt.activations.deserialize("custom", custom_objects={"custom": custom}) is custom
    with pytest.raises(ValueError, match="Unknown activation 'nope'"):
        kt.activations.deserialize("nope")
    with pytest.raises(ValueError, match="deserialize.*function config"):
        kt.activations.deserialize({"class_name": "Dense", "config": {}})
