"""Masks: Keras semantics in Sequential, functional and nested models, decided when a model is built."""

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt

LEFT = np.array([[0, 0, 1, 2], [0, 3, 4, 1], [2, 2, 2, 2]])
RIGHT = np.array([[1, 2, 0, 0], [3, 4, 1, 0], [2, 2, 2, 2]])


def _numpy(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _embedded(lib, tail):
    """Input -> Embedding(mask_zero) -> Dense -> `tail(lib, x)`, as a functional model of `lib`."""
    inputs = lib.Input((4,), dtype="int32")
    x = lib.layers.Embedding(6, 3, mask_zero=True)(inputs)
    x = lib.layers.Dense(3)(x)
    return lib.Model(inputs, tail(lib, x))


# One row per way a mask is consumed or combined; each builds the same model in both libraries.
TAILS = {
    "average_pooling": lambda L, x: L.layers.GlobalAveragePooling1D()(x),
    "max_pooling_drops_mask": lambda L, x: L.layers.GlobalMaxPooling1D()(x),
    "add": lambda L, x: L.layers.GlobalAveragePooling1D()(L.layers.Add()([x, L.layers.Dense(3)(x)])),
    "maximum": lambda L, x: L.layers.GlobalAveragePooling1D()(L.layers.Maximum()([x, L.layers.Dense(3)(x)])),
    "minimum": lambda L, x: L.layers.GlobalAveragePooling1D()(L.layers.Minimum()([x, L.layers.Dense(3)(x)])),
    "concatenate": lambda L, x: L.layers.GlobalAveragePooling1D()(L.layers.Concatenate()([x, L.layers.Dense(2)(x)])),
    "dropout_activation": lambda L, x: L.layers.GlobalAveragePooling1D()(
        L.layers.Activation("relu")(L.layers.Dropout(0.5)(x))),
    "flatten_destroys": lambda L, x: L.layers.Dense(2)(L.layers.Flatten()(x)),
}


@pytest.mark.parametrize("tail", sorted(TAILS))
@pytest.mark.parametrize("data", [LEFT, RIGHT], ids=["left", "right"])
def test_masked_functional_matches_keras(tail, data):
    ours = _embedded(kt, TAILS[tail])
    theirs = _embedded(keras, TAILS[tail])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(_numpy(ours(torch.as_tensor(data))), _numpy(theirs(data)), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_masked_sequential_and_functional_match_keras_and_compile_fullgraph():
    def stack(lib):
        return lib.Sequential([
            lib.Input((4,), dtype="int32"), lib.layers.Embedding(6, 3, mask_zero=True),
            lib.layers.Dense(4), lib.layers.GlobalAveragePooling1D(),
        ])

    ours, theirs = stack(kt), stack(keras)
    theirs.set_weights(ours.get_weights())
    expected = _numpy(theirs(RIGHT))
    np.testing.assert_allclose(_numpy(ours(torch.as_tensor(RIGHT))), expected, rtol=1e-5, atol=1e-6)
    compiled = torch.compile(ours, fullgraph=True)
    np.testing.assert_allclose(_numpy(compiled(torch.as_tensor(RIGHT))), expected, rtol=1e-5, atol=1e-6)
    # Without masking the mean would include the padding: the mask really is used.
    assert not np.allclose(expected, _numpy(stack(kt)(torch.as_tensor(RIGHT))))
    functional = _embedded(kt, TAILS["maximum"])
    expected = _numpy(functional(torch.as_tensor(LEFT)))
    compiled = torch.compile(functional, fullgraph=True)
    np.testing.assert_allclose(_numpy(compiled(torch.as_tensor(LEFT))), expected, rtol=1e-6)


def test_unmasked_models_run_the_plain_path():
    sequential = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3)])
    inputs = kt.Input((4,), dtype="int32")
    functional = kt.Model(inputs, kt.layers.GlobalAveragePooling1D()(kt.layers.Embedding(6, 3)(inputs)))
    assert sequential._mask_steps is None and functional._mask_steps is None


def test_nested_models_carry_masks_like_keras():
    def nested(lib):
        inner = lib.Sequential([lib.Input((4,), dtype="int32"), lib.layers.Embedding(6, 3, mask_zero=True),
                                lib.layers.Dense(2)])
        inputs = lib.Input((4,), dtype="int32")
        return lib.Model(inputs, lib.layers.GlobalAveragePooling1D()(inner(inputs)))

    ours, theirs = nested(kt), nested(keras)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(_numpy(ours(torch.as_tensor(LEFT))), _numpy(theirs(LEFT)), rtol=1e-5, atol=1e-6)


def test_masked_input_flows_into_an_unmasked_inner_model():
    # The inner model has no masking layer; the outer Embedding's mask passes its Dense and reaches pooling.
    def nested(lib):
        inner_in = lib.Input((4, 3))
        inner = lib.Model(inner_in, lib.layers.Dense(2)(inner_in))
        inputs = lib.Input((4,), dtype="int32")
        x = inner(lib.layers.Embedding(6, 3, mask_zero=True)(inputs))
        return lib.Model(inputs, lib.layers.GlobalAveragePooling1D()(x))

    ours, theirs = nested(kt), nested(keras)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(_numpy(ours(torch.as_tensor(RIGHT))), _numpy(theirs(RIGHT)), rtol=1e-5, atol=1e-6)


def test_masking_layer_matches_keras_eagerly():
    data = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]], [[0.0, 0.0], [5.0, 5.0], [0.0, 0.0]]], "float32")
    ours = kt.layers.Masking(0.0)(torch.as_tensor(data))
    theirs = keras.layers.Masking(0.0)(data)
    np.testing.assert_array_equal(_numpy(ours), _numpy(theirs))
    np.testing.assert_array_equal(_numpy(ours._keras_mask), _numpy(theirs._keras_mask))
    assert kt.layers.Masking(mask_value=-1.0).get_config()["mask_value"] == -1.0
    with pytest.raises(TypeError, match="mask_value"):
        kt.layers.Masking("zero")


def test_embedding_mask_zero_eager_and_compute_mask():
    embedding = kt.layers.Embedding(6, 3, mask_zero=True)
    out = embedding(torch.as_tensor(RIGHT))
    np.testing.assert_array_equal(_numpy(out._keras_mask), RIGHT != 0)
    np.testing.assert_array_equal(_numpy(embedding.compute_mask(torch.as_tensor(RIGHT))), RIGHT != 0)
    assert embedding.supports_masking
    plain = kt.layers.Embedding(6, 3)
    assert plain.compute_mask(torch.as_tensor(RIGHT)) is None and not plain.supports_masking
    assert "_keras_mask" not in plain(torch.as_tensor(RIGHT)).__dict__


class MaskedSum(kt.layers.Layer):
    """A user layer that consumes the mask (Keras fills `mask=` from the input)."""

    def call(self, inputs, mask=None):
        if mask is None:
            return inputs.sum(1)
        return (inputs * mask.unsqueeze(-1).to(inputs.dtype)).sum(1)


class DropFirstStep(kt.layers.Layer):
    """A user layer that produces its own mask."""

    def call(self, inputs):
        return inputs

    def compute_mask(self, inputs, mask=None):
        keep = torch.ones(inputs.shape[:2], dtype=torch.bool, device=inputs.device)
        keep[:, 0] = False
        return keep if mask is None else keep & mask


def test_user_layers_receive_and_produce_masks():
    assert DropFirstStep().supports_masking and not MaskedSum().supports_masking
    inputs = kt.Input((4,), dtype="int32")
    x = kt.layers.Embedding(6, 3, mask_zero=True)(inputs)
    model = kt.Model(inputs, MaskedSum()(DropFirstStep()(x)))
    data = torch.as_tensor(RIGHT)
    table = model.layers[1].embeddings.detach()
    keep = (data != 0) & torch.tensor([False, True, True, True])
    expected = (table[data] * keep.unsqueeze(-1)).sum(1)
    np.testing.assert_allclose(_numpy(model(data)), _numpy(expected), rtol=1e-6)
    # The same, called eagerly layer by layer: masks travel on `_keras_mask`.
    eager = MaskedSum()(DropFirstStep()(model.layers[1](data)))
    np.testing.assert_allclose(_numpy(eager), _numpy(expected), rtol=1e-6)
    # An explicit mask argument wins over the propagated one.
    explicit = MaskedSum()(model.layers[1](data), mask=torch.ones_like(data, dtype=torch.bool))
    np.testing.assert_allclose(_numpy(explicit), _numpy(table[data].sum(1)), rtol=1e-6)


def test_model_called_with_an_explicit_mask():
    inputs = kt.Input((4, 3))
    model = kt.Model(inputs, kt.layers.GlobalAveragePooling1D()(kt.layers.Dense(2)(inputs)))
    data = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    hidden = model.layers[1](data)
    expected = torch.stack([hidden[0, :2].mean(0), hidden[1].mean(0)])
    np.testing.assert_allclose(_numpy(model(data, mask=mask)), _numpy(expected), rtol=1e-5)


def _sequence_model(lib, units):
    return lib.Sequential([
        lib.Input((4,), dtype="int32"), lib.layers.Embedding(6, 3, mask_zero=True),
        lib.layers.LSTM(3, return_sequences=True), lib.layers.Dense(units),
    ])


# (loss, metric, output units, targets): the output mask weights both, as Keras's losses and metrics do.
MASKED_LOSSES = [
    ("mse", "mae", 2, np.random.default_rng(1).standard_normal((3, 4, 2)).astype("float32")),
    (kt.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_categorical_accuracy", 3,
     np.array([[0, 1, 2, 0], [2, 2, 1, 1], [1, 0, 2, 1]])),
]


@pytest.mark.parametrize("loss, metric, units, y", MASKED_LOSSES, ids=["mse", "sparse_ce"])
def test_losses_and_metrics_skip_masked_steps_like_keras(loss, metric, units, y):
    ours, theirs = _sequence_model(kt, units), _sequence_model(keras, units)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_array_equal(_numpy(ours(torch.as_tensor(RIGHT))._keras_mask), _numpy(theirs(RIGHT)._keras_mask))
    keras_loss = keras.losses.get(loss) if isinstance(loss, str) else keras.losses.SparseCategoricalCrossentropy(
        from_logits=True)
    ours.compile("sgd", loss, metrics=[metric])
    theirs.compile("sgd", keras_loss, metrics=[metric])
    data = (RIGHT, y)
    fitted = [model.fit(*data, batch_size=3, shuffle=False, verbose=0).history for model in (ours, theirs)]
    np.testing.assert_allclose(np.ravel(list(fitted[0].values())), np.ravel(list(fitted[1].values())), rtol=1e-5)
    evaluated = [model.evaluate(*data, batch_size=3, verbose=0) for model in (ours, theirs)]
    np.testing.assert_allclose(evaluated[0], evaluated[1], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
