"""Losses against Keras 3: same values for every loss, reduction and sample weighting."""

import numpy as np
import pytest
import torch

import kerastorch as kt

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
PROBS = RNG.dirichlet(np.ones(5), size=8).astype("float32")
LOGITS = RNG.normal(size=(8, 5)).astype("float32")
ONE_HOT = np.eye(5, dtype="float32")[RNG.integers(0, 5, size=8)]
LABELS = RNG.integers(0, 5, size=8)
BIN_TRUE = RNG.integers(0, 2, size=(8, 1)).astype("float32")
BIN_PROB = RNG.uniform(0.01, 0.99, size=(8, 1)).astype("float32")
REG_TRUE = RNG.normal(size=(8, 3)).astype("float32")
REG_PRED = RNG.normal(size=(8, 3)).astype("float32")
POS_TRUE = RNG.uniform(0.1, 2.0, size=(8, 3)).astype("float32")
POS_PRED = RNG.uniform(0.1, 2.0, size=(8, 3)).astype("float32")
WEIGHTS = RNG.uniform(0.0, 2.0, size=8).astype("float32")

CASES = [
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsolutePercentageError", {}, POS_TRUE, POS_PRED),
    ("MeanSquaredLogarithmicError", {}, POS_TRUE, POS_PRED),
    ("Huber", {"delta": 0.7}, REG_TRUE, REG_PRED),
    ("LogCosh", {}, REG_TRUE, REG_PRED),
    ("Poisson", {}, POS_TRUE, POS_PRED),
    ("KLDivergence", {}, PROBS[::-1].copy(), PROBS),
    ("CosineSimilarity", {}, REG_TRUE, REG_PRED),
    ("Hinge", {}, BIN_TRUE, BIN_PROB),
    ("SquaredHinge", {}, BIN_TRUE, BIN_PROB),
    ("CategoricalHinge", {}, ONE_HOT, PROBS),
    ("BinaryCrossentropy", {}, BIN_TRUE, BIN_PROB),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, BIN_TRUE, LOGITS[:, :1]),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, LOGITS),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none"])
@pytest.mark.parametrize("name,kwargs,y_true,y_pred", CASES)
def test_loss_matches_keras(name, kwargs, y_true, y_pred, reduction):
    ours = getattr(kt.losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
    for weight in (None, WEIGHTS):
        expected = keras.ops.convert_to_numpy(theirs(y_true, y_pred, sample_weight=weight))
        got = ours(torch.as_tensor(y_true), torch.as_tensor(y_pred), sample_weight=weight).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_get_resolves_keras_names_and_callables():
    assert isinstance(kt.losses.get("mse"), kt.losses.MeanSquaredError)
    assert isinstance(kt.losses.get("sparse_categorical_crossentropy"), kt.losses.SparseCategoricalCrossentropy)
    assert kt.losses.get(kt.losses.mean_absolute_error) is kt.losses.mean_absolute_error
    with pytest.raises(ValueError, match="Unknown loss 'msq'"):
        kt.losses.get("msq")
    with pytest.raises(TypeError):
        kt.losses.get(3)


def test_bad_reduction_and_shapes_raise():
    with pytest.raises(ValueError, match="reduction must be one of"):
        kt.losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy for integer labels"):
        kt.losses.CategoricalCrossentropy()(torch.tensor([1, 2]), torch.rand(2, 3))
    with pytest.raises(ValueError, match="categorical_crossentropy for one-hot"):
        kt.losses.SparseCategoricalCrossentropy()(torch.rand(2, 3), torch.rand(2, 3))


def test_half_precision_predictions_give_float32_loss():
    loss = kt.losses.SparseCategoricalCrossentropy(from_logits=True)
    value = loss(torch.tensor([1, 0]), torch.randn(2, 3).to(torch.bfloat16))
    assert value.dtype == torch.float32
