"""Merging layers against real Keras 3, plus their error messages."""

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def to_numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()


def arrays(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s).astype("float32") for s in shapes]


def compare(name, inputs, **kwargs):
    expected = to_numpy(getattr(keras.layers, name)(**kwargs)(inputs))
    got = to_numpy(getattr(kt.layers, name)(**kwargs)([torch.from_numpy(x) for x in inputs]))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shapes", [[(2, 3, 4), (2, 3, 4)], [(2, 1, 4), (2, 3, 4)], [(2, 4), (2, 3, 4)]])
def test_elementwise_two_inputs_match_keras(name, shapes):
    compare(name, arrays(*shapes))


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if n != "Subtract"])
def test_elementwise_three_inputs_match_keras(name):
    compare(name, arrays((2, 5), (2, 5), (2, 5), seed=1))


@pytest.mark.parametrize("axis", [-1, 1, 2, -2])
def test_concatenate_matches_keras(axis):
    shapes = {-1: [(2, 3, 4), (2, 3, 2)], 2: [(2, 3, 4), (2, 3, 2)], 1: [(2, 3, 4), (2, 1, 4)],
              -2: [(2, 3, 4), (2, 5, 4)]}[axis]
    compare("Concatenate", arrays(*shapes, seed=2), axis=axis)


@pytest.mark.parametrize("shapes,axes", [
    ([(2, 5), (2, 5)], 1), ([(2, 5), (2, 5)], -1), ([(2, 3, 4), (2, 4, 5)], (2, 1)), ([(2, 3, 4), (2, 3, 5)], 1),
    ([(2, 3, 4), (2, 5, 4)], (2, 2)), ([(2, 3, 4, 5), (2, 5, 6)], (3, 1)), ([(2, 3, 4), (2, 4)], (2, 1)),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_matches_keras(shapes, axes, normalize):
    compare("Dot", arrays(*shapes, seed=4), axes=axes, normalize=normalize)


def test_functional_shortcuts_and_symbolic_shapes():
    a, b = (torch.from_numpy(x) for x in arrays((2, 4), (2, 4)))
    torch.testing.assert_close(kt.layers.add([a, b]), a + b)
    torch.testing.assert_close(kt.layers.subtract([a, b]), a - b)
    torch.testing.assert_close(kt.layers.multiply([a, b]), a * b)
    torch.testing.assert_close(kt.layers.average([a, b]), (a + b) / 2)
    torch.testing.assert_close(kt.layers.maximum([a, b]), torch.maximum(a, b))
    torch.testing.assert_close(kt.layers.minimum([a, b]), torch.minimum(a, b))
    torch.testing.assert_close(kt.layers.concatenate([a, b], axis=0), torch.cat([a, b]))
    torch.testing.assert_close(kt.layers.dot([a, b], axes=1), (a * b).sum(1, keepdim=True))
    x, y = kt.Input((4,)), kt.Input((4,))
    assert kt.layers.Add()([x, y]).shape == (None, 4)
    assert kt.layers.Concatenate()([x, y]).shape == (None, 8)
    assert kt.layers.Dot(axes=1)([x, y]).shape == (None, 1)
    assert kt.layers.Add()([kt.Input((3, 4)), kt.Input((1, 4))]).shape == (None, 3, 4)


def test_merge_layers_have_no_weights_and_round_trip_config():
    assert set(kt.layers.Add().get_config()) == {"name", "trainable", "dtype"}  # Keras's keys
    for layer in (kt.layers.Add(), kt.layers.Concatenate(axis=1), kt.layers.Dot(axes=(1, 2), normalize=True)):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
    layer = kt.layers.Concatenate()
    layer([torch.zeros(1, 2), torch.zeros(1, 3)])
    assert layer.built and layer.weights == [] and layer.count_params() == 0


@pytest.mark.parametrize("name", ELEMENTWISE + ["Concatenate"])
def test_non_list_input_is_a_clear_error(name):
    layer = getattr(kt.layers, name)(name=f"merge_{name.lower()}")
    with pytest.raises(ValueError, match=rf"merge_{name.lower()}.*list"):
        layer(torch.zeros(2, 3))
    assert not layer.built
    layer([torch.zeros(2, 3), torch.zeros(2, 3)])
    with pytest.raises(ValueError, match=rf"merge_{name.lower()}.*list.*\(2, 3\)"):
        layer(torch.zeros(2, 3))  # also once built


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_mismatched_shapes_name_the_layer_and_shapes(name):
    layer = getattr(kt.layers, name)(name=f"bad_{name.lower()}")
    with pytest.raises(ValueError, match=rf"bad_{name.lower()}.*\(2, 3\), \(2, 4\)"):
        layer([torch.zeros(2, 3), torch.zeros(2, 4)])
    layer([torch.zeros(2, 3), torch.zeros(2, 3)])  # still usable afterwards
    with pytest.raises(ValueError, match=r"\(2, 3\), \(5, 3\)"):
        layer([torch.zeros(2, 3), torch.zeros(5, 3)])  # batch sizes differ, checked once built too


def test_symbolic_mismatch_and_count_errors():
    with pytest.raises(ValueError, match=r"\(None, 3\), \(None, 4\)"):
        kt.layers.Add()([kt.Input((3,)), kt.Input((4,))])
    with pytest.raises(ValueError, match="exactly 2"):
        kt.layers.Subtract()([torch.zeros(1, 2)] * 3)
    with pytest.raises(ValueError, match="at least 1"):
        kt.layers.Add()([])


def test_concatenate_and_dot_mismatches():
    with pytest.raises(ValueError, match=r"concat_bad.*except the concatenation axis.*\(2, 3, 4\), \(2, 5, 2\)"):
        kt.layers.Concatenate(name="concat_bad")([torch.zeros(2, 3, 4), torch.zeros(2, 5, 2)])
    with pytest.raises(ValueError, match=r"concat_rank"):
        kt.layers.Concatenate(name="concat_rank")([torch.zeros(2, 3, 4), torch.zeros(2, 3)])
    with pytest.raises(ValueError, match=r"dot_bad.*\(2, 3\), \(2, 4\)"):
        kt.layers.Dot(axes=1, name="dot_bad")([torch.zeros(2, 3), torch.zeros(2, 4)])
    with pytest.raises(TypeError, match="Dot"):
        kt.layers.Dot(axes="last")
    with pytest.raises(TypeError, match="Concatenate"):
        kt.layers.Concatenate(axis=None)


def test_merges_trace_with_torch_compile_fullgraph():
    a, b = torch.randn(2, 3), torch.randn(2, 4, 3)
    add = kt.layers.Add()
    torch.testing.assert_close(torch.compile(add, fullgraph=True, backend="eager")([a, b]), add([a, b]))
    dot = kt.layers.Dot(axes=(2, 1))
    p, q = torch.randn(2, 3, 4), torch.randn(2, 4, 5)
    torch.testing.assert_close(torch.compile(dot, fullgraph=True, backend="eager")([p, q]), dot([p, q]))
