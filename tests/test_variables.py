"""Keras's Variable surface on kerastorch weights (still plain Parameters and buffers), and layer calls
on numpy arrays with `training=`/`mask=`."""

from __future__ import annotations

import copy
import io

import keras
import numpy as np
import pytest
import torch
from torch import nn

import kerastorch as kt


def _model(lib):
    return lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, name="dense"), lib.layers.BatchNormalization(name="bn")],
                          name="net")


def test_weights_are_parameters_and_buffers_with_keras_surface():
    model = _model(kt)
    kernel, bias, gamma, beta, mean, variance = model.weights
    assert all(isinstance(w, nn.Parameter) for w in (kernel, bias, gamma, beta))
    assert [name for name, _ in model.named_buffers()] == ["1.moving_mean", "1.moving_variance"]
    assert type(kernel) is nn.Parameter and type(mean) is torch.Tensor  # no tensor subclass on the eager path
    assert isinstance(kernel, kt.Variable) and isinstance(mean, kt.Variable) and not isinstance(torch.ones(1), kt.Variable)
    assert [w.path for w in model.weights] == [w.path for w in _model(keras).weights]
    assert (kernel.name, kernel.trainable, mean.trainable, tuple(kernel.shape), kernel.dtype) == (
        "kernel", True, False, (4, 3), torch.float32)
    assert kernel.requires_grad and isinstance(kernel.numpy(), np.ndarray)  # numpy() despite requires_grad
    kernel.assign(np.ones((4, 3)))
    bias.assign_add(torch.full((3,), 2.0))
    bias.assign_sub([0.5, 0.5, 0.5])
    mean.assign_add(1.0)
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((4, 3), "float32"))
    np.testing.assert_array_equal(bias.numpy(), [1.5, 1.5, 1.5])
    np.testing.assert_array_equal(mean.value.numpy(), [1.0, 1.0, 1.0])
    assert kernel.value is kernel and kernel.grad is None  # assign does not touch autograd
    kernel.trainable = False
    assert not kernel.requires_grad and all(w is not kernel for w in model.trainable_weights)
    with pytest.raises(ValueError, match="trainable=True"):
        mean.trainable = True


def test_nested_paths_match_keras():
    def build(lib):
        class Block(lib.layers.Layer):
            def __init__(self):
                super().__init__(name="block")
                self.dense = lib.layers.Dense(2, name="inner")

            def build(self, input_shape):
                self.scale = self.add_weight(shape=(2,), initializer="ones", name="scale")

            def call(self, inputs):
                return self.dense(inputs) * self.scale

        return Block()

    ours, theirs = build(kt), build(keras)
    ours(np.ones((1, 3), "float32"))
    theirs(np.ones((1, 3), "float32"))
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights] == [
        "block/scale", "block/inner/kernel", "block/inner/bias"]


def test_storage_stays_plain_torch():
    model = _model(kt)
    state = model.state_dict()
    assert all(type(t) is torch.Tensor for t in state.values())
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    clone = _model(kt)
    clone.load_state_dict(torch.load(buffer, weights_only=True))
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    assert isinstance(model.weights[0], kt.Variable)
    model.double()
    assert model.weights[4].dtype == torch.float64
    assert model.weights[4].path == "net/bn/moving_mean"
    copied = copy.deepcopy(model)
    assert [type(w) for w in copied.weights] == [type(w) for w in model.weights]
    assert copied.layers[0].kernel.path == "net/dense/kernel"
    assert [w.path for w in copied.weights] == [w.path for w in model.weights]


def test_kt_variable():
    v = kt.Variable(initializer=np.ones((2,)), name="foo")
    k = keras.Variable(initializer=np.ones((2,)), name="foo")
    assert (v.name, v.path, v.trainable, str(v.dtype).removeprefix("torch.")) == (k.name, k.path, k.trainable, k.dtype)
    assert kt.Variable(0.0).dtype == torch.float32 and kt.Variable([1, 2]).dtype == torch.int32
    w = kt.Variable("glorot_uniform", shape=(3, 2), dtype="float16", trainable=False, name="w")
    assert w.shape == (3, 2) and w.dtype == torch.float16 and not w.trainable and not isinstance(w, nn.Parameter)
    with pytest.raises(ValueError, match="shape"):
        kt.Variable("zeros")
    with pytest.raises(ValueError, match="shape"):
        kt.Variable(np.ones(3), shape=(2,))

    class Counter(kt.layers.Layer):
        def __init__(self):
            super().__init__()
            self.count = kt.Variable(0.0, trainable=False, name="count")
            self.bias = kt.Variable(np.zeros(2, "float32"), name="bias")

        def call(self, inputs):
            self.count.assign_add(1.0)
            return inputs + self.bias

    layer = Counter()
    layer(np.ones((1, 2), "float32"))
    layer(np.ones((1, 2), "float32"))
    assert float(layer.count) == 2.0
    assert [n for n, _ in layer.named_parameters()] == ["bias"] and [n for n, _ in layer.named_buffers()] == ["count"]


def test_metric_variables_are_keras_variables():
    ours, theirs = kt.metrics.Mean(), keras.metrics.Mean()
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    ours.update_state(torch.tensor([1.0, 3.0]))
    ours.variables[0].assign_add(4.0)
    assert float(ours.result()) == 4.0
    ours.to("cpu")
    assert all(isinstance(v, kt.Variable) for v in ours.variables)


# ------------------------------------------------------------------ calls on arrays, training=, mask=

def test_layers_and_subclassed_models_take_numpy():
    assert kt.layers.Dense(3)(np.ones((1, 4), "float32")).shape == (1, 3)
    assert kt.layers.Dense(3)(np.ones((1, 4))).dtype == torch.float32  # float64 arrays cast like Keras

    class Net(kt.Model):
        def __init__(self):
            super().__init__()
            self.dense = kt.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    net = Net()
    assert net(np.ones((3, 5), "float32")).shape == (3, 2)
    assert net(np.ones((3, 5), "float32")).shape == (3, 2)  # built: the array path again


def test_training_and_mask_are_accepted_and_dropped():
    x = torch.ones(2, 4)
    dense = kt.layers.Dense(3)
    torch.testing.assert_close(dense(x, training=True, mask=None), dense(x))
    assert kt.layers.Flatten()(x, training=False).shape == (2, 4)

    class Noisy(kt.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dropout = kt.layers.Dropout(0.99)

        def call(self, inputs):  # takes no `training`; Keras still runs the dropout in training mode
            return self.dropout(inputs)

    noisy = Noisy()
    assert torch.equal(noisy(x), x)
    assert not torch.equal(noisy(torch.ones(64, 64), training=True), torch.ones(64, 64))
    assert not noisy.training and not noisy.dropout.training  # the mode is back after the call


def test_optimizers_keep_their_multi_tensor_kernels():
    # torch picks foreach/fused optimizer kernels (its default on GPUs) only for registered tensor types.
    from torch.optim.optimizer import _foreach_supported_types

    model = _model(kt)
    assert all(type(w) in _foreach_supported_types for w in model.weights)


def test_training_reaches_wrapped_torch_modules_and_functional_nodes():
    wrapper = kt.layers.TorchModuleWrapper(torch.nn.Dropout(0.99))
    x = torch.ones(64, 64)
    assert torch.equal(wrapper(x), x) and not torch.equal(wrapper(x, training=True, mask=None), x)
    assert not wrapper.module.training
    inputs = kt.Input((3,))
    outputs = kt.layers.Dense(2)(inputs, training=False)  # recorded without the argument Dense does not take
    assert kt.Model(inputs, outputs)(np.ones((4, 3), "float32")).shape == (4, 2)
