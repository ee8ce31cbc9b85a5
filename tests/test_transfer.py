"""freeze_weights / unfreeze_weights: ranges by name or position, gradients, errors."""

import pytest
import torch

import kerastorch as kt
from kerastorch import layers


def mlp():
    return kt.Sequential(
        [layers.Dense(8, name="a"), layers.Dense(8, name="b"), layers.Dense(8, name="c"), layers.Dense(2, name="d")],
        input_shape=(4,),
    )


def flags(model):
    return [layer.trainable for layer in model.layers]


def test_freeze_all_but_last_and_gradients_stop():
    model = mlp()
    kt.freeze_weights(model, to=-2)
    assert flags(model) == [False, False, False, True]
    model(torch.randn(3, 4)).sum().backward()
    assert model.get_layer("a").kernel.grad is None
    assert model.get_layer("d").kernel.grad is not None
    assert len(model.trainable_weights) == 2


def test_ranges_by_name_and_position_inclusive():
    model = mlp()
    kt.freeze_weights(model)
    assert flags(model) == [False] * 4
    kt.unfreeze_weights(model, from_="c")
    assert flags(model) == [False, False, True, True]
    kt.freeze_weights(model, from_=1, to="c")
    assert flags(model) == [False, False, False, True]
    kt.unfreeze_weights(model, from_=-3, to=1)
    assert flags(model) == [False, True, False, True]


@pytest.mark.parametrize(
    "kwargs,error",
    [({"from_": "zzz"}, ValueError), ({"to": 4}, ValueError), ({"from_": "c", "to": "a"}, ValueError),
     ({"to": 1.5}, TypeError)],
)
def test_bad_ranges_raise_and_change_nothing(kwargs, error):
    model = mlp()
    with pytest.raises(error, match="model|layer|position"):
        kt.freeze_weights(model, **kwargs)
    assert flags(model) == [True] * 4


def test_frozen_batchnorm_keeps_statistics_under_train_mode():
    model = kt.Sequential([layers.Dense(4), layers.BatchNormalization()], input_shape=(3,))
    kt.freeze_weights(model)
    model.train()
    bn = model.layers[1]
    before = bn.moving_mean.clone()
    model(torch.randn(16, 3) * 5 + 3)
    torch.testing.assert_close(bn.moving_mean, before)
