"""Sequential: building (pipe, add, input shapes, first call), graph access, nn.Modules as layers."""

import keras
import numpy as np
import pytest
import timm
import torch
from torch import nn

import kerastorch as kt
from kerastorch import layers


def guide_model(**kwargs):
    return kt.Sequential(
        [
            layers.Dense(2, activation="relu", name="layer1"),
            layers.Dense(3, activation="relu", name="layer2"),
            layers.Dense(4, name="layer3"),
        ],
        **kwargs,
    )


def test_pipe_builds_a_stack_in_place():
    model = kt.Sequential()
    result = model | layers.Dense(2) | layers.Dense(3)
    assert result is model
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    assert not model.built


def test_tensor_pipe_calls_layer_and_model():
    x = torch.ones(5, 4)
    dense = layers.Dense(3)
    assert (x | dense).shape == (5, 3)
    model = kt.Sequential() | layers.Dense(2)
    assert (x | model).shape == (5, 2)
    symbolic = kt.Input(shape=(4,)) | model
    assert symbolic.shape == (None, 2)


def test_unbuilt_model_raises_then_first_call_builds():
    model = guide_model()
    with pytest.raises(ValueError, match="not yet been created.*model\\(x\\)"):
        model.weights
    with pytest.raises(ValueError, match="not yet been created"):
        model.summary()
    y = model(torch.ones(1, 4))
    assert y.shape == (1, 4)
    assert model.built
    assert len(model.weights) == 6
    assert model.layers[0].output.shape == (1, 2)  # the shapes seen, like Keras


def test_input_shape_builds_as_layers_are_added():
    for model in (
        kt.Sequential(input_shape=4) | layers.Dense(2),
        kt.Sequential() | kt.Input(shape=(4,)) | layers.Dense(2),
        kt.Sequential([layers.Dense(2, input_shape=(4,))]),
    ):
        assert model.built
        assert model.layers[0].kernel.shape == (4, 2)
        assert model.output.shape == (None, 2)
        assert model.input.shape == (None, 4)
        assert len(model.inputs) == len(model.outputs) == 1
    model = kt.Sequential(input_shape=(4,)) | layers.Dense(2)
    model.add(layers.Dense(5))
    assert model.output.shape == (None, 5)


def test_get_layer_and_pop():
    model = guide_model(input_shape=(4,))
    assert model.get_layer("layer2") is model.layers[1]
    assert model.get_layer(index=-1).name == "layer3"
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")
    popped = model.pop()
    assert popped.name == "layer3"
    assert len(model.layers) == 2
    assert model.output.shape == (None, 3)
    assert list(model.state_dict()) == ["0.kernel", "0.bias", "1.kernel", "1.bias"]


def test_matches_keras_outputs_and_counts():
    ours = guide_model(input_shape=(4,))
    reference = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(2, activation="relu"), keras.layers.Dense(3, activation="relu"),
         keras.layers.Dense(4)]
    )
    ours.set_weights(reference.get_weights())
    x = np.random.default_rng(0).normal(size=(7, 4)).astype("float32")
    expected = keras.ops.convert_to_numpy(reference(x))
    np.testing.assert_allclose(ours(torch.from_numpy(x)).detach().numpy(), expected, atol=1e-5)
    assert ours.count_params() == reference.count_params() == 35
    for a, b in zip(ours.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_torch_module_as_layer_lstm():
    model = kt.Sequential(input_shape=(5, 8)) | nn.LSTM(8, 16, batch_first=True)
    lstm = model.layers[0]
    assert lstm.name.startswith("lstm")
    output, (h, c) = model.output
    assert output.shape == (None, 5, 16)
    assert h.shape == (1, None, 16)
    assert lstm.count_params() == sum(p.numel() for p in lstm.module.parameters())
    real_output, _ = model(torch.randn(3, 5, 8))
    assert real_output.shape == (3, 5, 16)


def test_timm_model_as_layer_counts_params_and_infers_shapes():
    backbone = timm.create_model("resnet18", pretrained=False, num_classes=0)
    model = kt.Sequential(input_shape=(3, 64, 64)) | backbone | layers.Dense(10)
    assert model.layers[0].output.shape == (None, 512)
    params = sum(p.numel() for p in backbone.parameters())
    running_stats = sum(b.numel() for b in backbone.buffers() if b.is_floating_point())
    assert model.layers[0].count_params() == params + running_stats
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 10)


def test_symbolic_inference_uses_meta_tensors():
    seen = []
    module = nn.Linear(4, 3)
    module.register_forward_hook(lambda m, args, out: seen.append(out.device.type))
    kt.Sequential(input_shape=(4,)) | module
    assert seen and set(seen) == {"meta"}  # never a real activation


def test_torch_compile_fullgraph_and_state_dict_round_trip():
    model = kt.Sequential(input_shape=(4,)) | layers.Dense(8, activation="relu") | layers.Dropout(0.5) | layers.Dense(3)
    x = torch.randn(6, 4)
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), model(x))
    twin = kt.Sequential(input_shape=(4,)) | layers.Dense(8, activation="relu") | layers.Dropout(0.5) | layers.Dense(3)
    twin.load_state_dict(model.state_dict())
    torch.testing.assert_close(twin(x), model(x))


def test_layers_start_in_inference_mode_and_training_flag():
    model = kt.Sequential(input_shape=(100,)) | layers.Dropout(0.5)
    x = torch.ones(4, 100)
    torch.testing.assert_close(model(x), x)  # calling a model is inference, as in Keras
    assert (model(x, training=True) == 0).any()
    assert not model.training
    model.train()
    assert (model(x) == 0).any()


def test_build_on_input_device_and_dtype():
    model = kt.Sequential() | layers.Embedding(10, 3) | layers.Dense(2)
    out = model(torch.tensor([[1, 2, 3]]))
    assert out.shape == (1, 3, 2)
    assert model.layers[1].kernel.device.type == "cpu"
    assert model.layers[0].output.shape == (1, 3, 3)


def test_inputs_are_cast_to_the_model_dtype_like_keras():
    """A float64 batch (numpy's default) or an int batch runs in a float32 model, as in Keras."""
    x = np.random.default_rng(0).normal(size=(3, 4))
    reference = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    expected = keras.ops.convert_to_numpy(reference(x))
    for model in (kt.Sequential([kt.Input((4,)), layers.Dense(2)]), kt.Sequential([layers.Dense(2)])):
        model(torch.from_numpy(x))  # builds the second model; float32 weights either way
        model.layers[0].set_weights(reference.layers[0].get_weights())
        for batch in (x, torch.from_numpy(x), torch.from_numpy(x).float()):
            out = model(batch)
            assert out.dtype == torch.float32
            np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-5)
        assert model(torch.ones(3, 4, dtype=torch.int64)).dtype == torch.float32
        assert model.input.dtype == torch.float32


def test_module_conversions_move_the_input_dtype_along():
    """`model.to(torch.float64)` (or bfloat16) then takes and returns that dtype, like any nn.Module."""
    inputs = kt.Input((4,))
    functional = kt.Model(inputs, layers.Dense(2)(inputs))
    for model in (kt.Sequential([kt.Input((4,)), layers.Dense(2)]), functional):
        for dtype in (torch.float64, torch.bfloat16):
            model.to(dtype)
            assert model(torch.ones(3, 4, dtype=dtype)).dtype == dtype
            assert model(torch.ones(3, 4)).dtype == dtype  # float32 input cast to the weights' dtype
