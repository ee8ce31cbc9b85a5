"""Graphs far deeper than Python's recursion limit, and shape inference that runs each layer once."""

import sys

import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch import symbolic


def _chain(depth: int, width: int = 4) -> kt.Model:
    x = inputs = kt.Input((width,), name="x")
    for _ in range(depth):
        x = kt.layers.Dense(width)(x)
    return kt.Model(inputs, x)


@pytest.mark.slow
def test_chain_far_deeper_than_the_recursion_limit_builds_summarizes_runs_and_round_trips(tmp_path):
    depth = sys.getrecursionlimit() + 200  # a recursive walk would fail here
    model = _chain(depth)
    assert len(model.layers) == depth + 1
    x = torch.randn(2, 4)
    expected = x
    with torch.no_grad():
        for layer in model.layers[1:]:
            expected = layer(expected)
        torch.testing.assert_close(model(x), expected)
    lines = []
    model.summary(print_fn=lambda text, *args, **kwargs: lines.append(text))
    assert f"Total params: {depth * 20:,}" in "\n".join(lines)
    path = tmp_path / "deep.keras"
    model.save(path)
    loaded = kt.models.load_model(path)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), expected)


class _Counting(kt.layers.Layer):
    """Counts forward runs; `fold` puts the batch into the features (x.reshape(1, -1))."""

    def __init__(self, fold: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.fold, self.runs = fold, 0

    def call(self, x):
        self.runs += 1
        return x.reshape(1, -1) if self.fold else x * 2


@pytest.mark.parametrize("fold, runs, shape", [(False, 1, (None, 5)), (True, 2, (1, None))])
def test_batch_axis_told_apart_in_one_run_when_it_can_be(fold, runs, shape):
    layer = _Counting(fold)
    out = layer(kt.Input((5,)))
    assert out.shape == shape and layer.runs == runs


def test_a_fixed_size_that_is_a_multiple_of_the_placeholder_takes_the_second_run():
    layer = _Counting()
    assert layer(kt.Input((2 * 83,))).shape == (None, 166) and layer.runs == 2


def test_small_real_runs_leave_the_random_streams_alone():
    """Shape inference on real zeros (small leaf layers) draws no random numbers, like a meta run."""
    x = kt.Input((4,))
    dense = kt.layers.Dense(4)
    dense.build((None, 4))
    state = torch.get_rng_state()
    hidden = kt.layers.Dropout(0.5)(dense(x))
    kt.layers.Lambda(lambda t: t + torch.rand_like(t))(hidden)
    assert torch.equal(torch.get_rng_state(), state)


def test_layers_with_state_buffers_infer_on_meta():
    layer = kt.layers.BatchNormalization()
    layer(kt.Input((3,)))
    assert symbolic._real_run_device(layer, (kt.Input((3,)),), {}, 83) is None
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.moving_variance.numpy(), np.ones(3))
