"""Losses: name resolution, argument errors and precision rules (the table against Keras 3 is in
test_metrics_losses_catalogue.py)."""

import pytest
import torch

import kerastorch as kt


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
