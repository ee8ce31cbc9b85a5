"""Recurrent layers against Keras 3: outputs, states, masks, wrappers, stateful use, saving, fused paths."""

import io

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from keras_twin import assert_keras_files_load_both_ways, to_numpy as _numpy
from kerastorch.layers.rnn.rnn import RNN as KtRNN

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 5, 4)).astype("float32")
RIGHT = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], bool)
LEFT = RIGHT[:, ::-1].copy()
MASKS = {"none": None, "right": RIGHT, "left": LEFT}


def _flat(value):
    return [_numpy(v) for v in keras.tree.flatten(value)]


def _pair(name, *args, **kwargs):
    """The same layer in both libraries, Keras's weights copied from ours."""
    ours = getattr(kt.layers, name)(*args, **kwargs)
    theirs = getattr(keras.layers, name)(*args, **kwargs)
    ours.build((None, *X.shape[1:]))
    theirs.build((None, *X.shape[1:]))
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _close(ours, theirs):
    ours, theirs = _flat(ours), _flat(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


ROWS = [
    ("LSTM", {"return_sequences": True}), ("LSTM", {"return_state": True}),
    ("LSTM", {"go_backwards": True, "return_sequences": True}), ("LSTM", {"use_cudnn": False, "return_state": True}),
    ("LSTM", {"unit_forget_bias": False, "use_bias": False, "activation": "relu",
              "recurrent_activation": "hard_sigmoid", "return_sequences": True}),
    ("GRU", {"return_sequences": True, "return_state": True}), ("GRU", {"go_backwards": True, "use_bias": False}),
    ("GRU", {"reset_after": False, "return_sequences": True}),
    ("SimpleRNN", {"return_sequences": True, "return_state": True}),
    ("SimpleRNN", {"activation": "relu", "go_backwards": True}), ("SimpleRNN", {"unroll": True}),
]


@pytest.mark.parametrize("mask", sorted(MASKS))
@pytest.mark.parametrize("name, kwargs", ROWS, ids=[f"{n}-{'-'.join(k) or 'default'}" for n, k in ROWS])
def test_recurrent_layer_matches_keras(name, kwargs, mask):
    ours, theirs = _pair(name, 3, **kwargs)
    m = MASKS[mask]
    out = ours(torch.as_tensor(X), mask=None if m is None else torch.as_tensor(m))
    _close(out, theirs(X, mask=m))
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in theirs.weights] == [n.split(".")[-1] for n, _ in ours.named_parameters()]


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("mask, backwards, fused", [
    ("none", False, True), ("right", False, True), ("right", True, True), ("left", False, False)])
def test_fused_kernel_runs_when_the_configuration_allows(monkeypatch, name, mask, backwards, fused):
    loops = []
    original = KtRNN._loop
    monkeypatch.setattr(KtRNN, "_loop", lambda self, *a: loops.append(1) or original(self, *a))
    layer = getattr(kt.layers, name)(3, return_sequences=True, go_backwards=backwards)
    m = MASKS[mask]
    layer(torch.as_tensor(X), mask=None if m is None else torch.as_tensor(m))
    assert (not loops) == fused


@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_fused_kernel_reads_weights_in_place(name):
    layer = getattr(kt.layers, name)(3)
    layer(torch.as_tensor(X))
    kernel, recurrent, bias = layer._params()[:3]
    assert kernel.is_contiguous() and kernel.data_ptr() == layer.cell.kernel.data_ptr()
    assert recurrent.is_contiguous() and recurrent.data_ptr() == layer.cell.recurrent_kernel.data_ptr()
    assert bias.data_ptr() == layer.cell.bias.data_ptr()


def test_gru_penalties_and_constraints_see_keras_gate_order():
    # The GRU stores torch's gate order (r, z, n); Keras's (z, r, h) is what users' functions see.
    def first_gate_sum(w):
        return keras.ops.sum(w[:, :3])

    def drop_first_gate(w):
        return w * keras.ops.concatenate([keras.ops.zeros_like(w[:, :3]), keras.ops.ones_like(w[:, 3:])], -1)

    ours, theirs = _pair("GRU", 3, kernel_regularizer=first_gate_sum, kernel_constraint=drop_first_gate)
    ours(torch.as_tensor(X))
    theirs(X)
    np.testing.assert_allclose(_numpy(ours.losses[0]), _numpy(theirs.losses[0]), rtol=1e-6)
    before = ours.get_weights()[0]
    kt.constraints.apply_constraints(ours)
    after = ours.get_weights()[0]
    assert (after[:, :3] == 0).all() and np.array_equal(after[:, 3:], before[:, 3:])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("mask", ["none", "right"])
def test_bidirectional_matches_keras(merge_mode, mask):
    def make(lib):
        return lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True), merge_mode=merge_mode)

    ours, theirs = make(kt), make(keras)
    ours.build((None, 5, 4))
    theirs.build((None, 5, 4))
    theirs.set_weights(ours.get_weights())
    m = MASKS[mask]
    _close(ours(torch.as_tensor(X), mask=None if m is None else torch.as_tensor(m)), theirs(X, mask=m))
    assert ours.forward_layer.name.startswith("forward_") and ours.backward_layer.go_backwards


def test_bidirectional_return_state_and_time_distributed():
    def make(lib):
        return lib.layers.Bidirectional(lib.layers.LSTM(3, return_state=True))

    ours, theirs = make(kt), make(keras)
    ours.build((None, 5, 4))
    theirs.build((None, 5, 4))
    theirs.set_weights(ours.get_weights())
    _close(ours(torch.as_tensor(X)), theirs(X))
    ours, theirs = kt.layers.TimeDistributed(kt.layers.Dense(2)), keras.layers.TimeDistributed(keras.layers.Dense(2))
    ours.build((None, 5, 4))
    theirs.build((None, 5, 4))
    theirs.set_weights(ours.get_weights())
    _close(ours(torch.as_tensor(X)), theirs(X))


class _MinimalCell:
    """Keras's guide cell, written once per library."""

    @staticmethod
    def make(lib, matmul):
        class MinimalRNNCell(lib.layers.Layer):
            def __init__(self, units, **kwargs):
                super().__init__(**kwargs)
                self.units = units
                self.state_size = units

            def build(self, input_shape):
                self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
                self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                        name="recurrent_kernel")

            def call(self, inputs, states):
                output = matmul(inputs, self.kernel) + matmul(states[0], self.recurrent_kernel)
                return output, [output]

        return MinimalRNNCell


@pytest.mark.parametrize("mask", ["none", "left"])
def test_user_cells_and_stacked_cells_match_keras(mask):
    ours_cell = _MinimalCell.make(kt, torch.matmul)
    theirs_cell = _MinimalCell.make(keras, keras.ops.matmul)
    ours = kt.layers.RNN([ours_cell(3), kt.layers.LSTMCell(2)], return_sequences=True, return_state=True)
    theirs = keras.layers.RNN([theirs_cell(3), keras.layers.LSTMCell(2)], return_sequences=True, return_state=True)
    ours.build((None, 5, 4))
    theirs.build((None, 5, 4))
    theirs.set_weights(ours.get_weights())
    m = MASKS[mask]
    _close(ours(torch.as_tensor(X), mask=None if m is None else torch.as_tensor(m)), theirs(X, mask=m))
    single = kt.layers.RNN(ours_cell(2))
    assert single(torch.as_tensor(X)).shape == (3, 2)


def test_cells_step_like_keras():
    for name in ("SimpleRNNCell", "LSTMCell", "GRUCell"):
        ours, theirs = getattr(kt.layers, name)(3), getattr(keras.layers, name)(3)
        ours.build((None, 4))
        theirs.build((None, 4))
        theirs.set_weights(ours.get_weights())
        states = [RNG.standard_normal((3, 3)).astype("float32") for _ in np.atleast_1d(ours.state_size)]
        _close(ours(torch.as_tensor(X[:, 0]), [torch.as_tensor(s) for s in states]), theirs(X[:, 0], states))


def test_stateful_across_batches_and_initial_state():
    ours, theirs = kt.layers.LSTM(3, stateful=True), keras.layers.LSTM(3, stateful=True)
    ours(torch.as_tensor(X))
    ours.reset_states()
    theirs.build(X.shape)
    theirs.set_weights(ours.get_weights())
    for _ in range(2):  # the second batch starts from the first one's final states
        _close(ours(torch.as_tensor(X)), theirs(X))
    ours.reset_states()
    theirs.reset_states()
    _close(ours(torch.as_tensor(X)), theirs(X))
    with pytest.raises(ValueError, match="batch"):
        ours(torch.as_tensor(X[:2]))
    plain, reference = _pair("GRU", 3)
    h0 = RNG.standard_normal((3, 3)).astype("float32")
    _close(plain(torch.as_tensor(X), initial_state=[torch.as_tensor(h0)]), reference(X, initial_state=[h0]))


def test_bidirectional_initial_weights_and_unroll_needs_steps():
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))
    theirs.build((None, 5, 4))
    ours = kt.layers.Bidirectional(kt.layers.LSTM(3, return_sequences=True), weights=theirs.get_weights())
    _close(ours(torch.as_tensor(X)), theirs(X))
    with pytest.raises(ValueError, match="weights"):
        kt.layers.Bidirectional(kt.layers.LSTM(3), weights=[np.zeros(1)])
    with pytest.raises(ValueError, match="unroll"):
        kt.Sequential([kt.Input((None, 4)), kt.layers.LSTM(3, unroll=True)])


def test_argument_errors():
    with pytest.raises(ValueError, match="use_cudnn"):
        kt.layers.LSTM(3, use_cudnn="always")
    with pytest.raises(ValueError, match="use_cudnn"):
        kt.layers.LSTM(3, recurrent_dropout=0.2, use_cudnn=True)(torch.as_tensor(X))
    with pytest.raises(ValueError, match="batch size"):
        kt.Sequential([kt.Input((5, 4)), kt.layers.LSTM(3, stateful=True)])
    with pytest.raises(ValueError, match="merge_mode"):
        kt.layers.Bidirectional(kt.layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="state_size"):
        kt.layers.RNN(kt.layers.Dense(3))


def test_dropout_takes_effect_in_training_only():
    layer = kt.layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True)
    data = torch.as_tensor(X)
    inference = layer(data)
    torch.testing.assert_close(layer(data), inference)
    trained = layer(data, training=True)
    assert not torch.allclose(trained, inference) and torch.isfinite(trained).all()


def _masked_lstm(lib):
    return lib.Sequential([
        lib.Input((5,), dtype="int32"), lib.layers.Embedding(7, 4, mask_zero=True),
        lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True)), lib.layers.GRU(2), lib.layers.Dense(1),
    ])


TOKENS = np.array([[1, 2, 3, 0, 0], [4, 0, 0, 0, 0], [0, 0, 1, 2, 3]])


def test_masked_embedding_lstm_dense_matches_keras_and_saves_both_ways(tmp_path):
    ours, theirs = _masked_lstm(kt), _masked_lstm(keras)
    theirs.set_weights(ours.get_weights())
    expected = _numpy(theirs(TOKENS))
    np.testing.assert_allclose(_numpy(ours(torch.as_tensor(TOKENS))), expected, rtol=1e-5, atol=1e-6)
    assert_keras_files_load_both_ways(ours, theirs, TOKENS, expected, tmp_path)
    rows = []
    for model in (ours, theirs):
        buffer = io.StringIO()
        model.summary(print_fn=lambda line, *a, **k: buffer.write(line + "\n"))
        rows.append([line.split("│")[2:] for line in buffer.getvalue().splitlines() if line.startswith("│")])
    assert rows[0] == rows[1]  # output shapes and parameter counts, row by row


def test_functional_lstm_with_states_and_mask():
    def make(lib):
        inputs = lib.Input((5,), dtype="int32")
        x = lib.layers.Embedding(7, 4, mask_zero=True)(inputs)
        sequence, h, c = lib.layers.LSTM(3, return_sequences=True, return_state=True)(x)
        pooled = lib.layers.GlobalAveragePooling1D()(sequence)
        return lib.Model(inputs, lib.layers.Concatenate()([pooled, h, c]))

    ours, theirs = make(kt), make(keras)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(_numpy(ours(torch.as_tensor(TOKENS))), _numpy(theirs(TOKENS)), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_masked_lstm_model_compiles_fullgraph():
    model = kt.Sequential([kt.Input((5,), dtype="int32"), kt.layers.Embedding(7, 4, mask_zero=True),
                           kt.layers.LSTM(3), kt.layers.Dense(1)])
    expected = _numpy(model(torch.as_tensor(TOKENS)))
    compiled = torch.compile(model, fullgraph=True, backend="eager")  # one graph, no breaks (codegen is slow here)
    np.testing.assert_allclose(_numpy(compiled(torch.as_tensor(TOKENS))), expected, rtol=1e-5, atol=1e-6)


CONV_SHAPES = {"ConvLSTM1D": (2, 3, 7, 2), "ConvLSTM2D": (2, 3, 6, 5, 2), "ConvLSTM3D": (2, 3, 4, 5, 4, 2)}
CONV_ROWS = [  # (layer, arguments, masked): every rank once, the argument variety on the 2-D layer
    ("ConvLSTM1D", {"go_backwards": True, "dilation_rate": 2, "return_sequences": True}, True),
    ("ConvLSTM2D", {}, False), ("ConvLSTM2D", {"padding": "same", "return_sequences": True}, True),
    ("ConvLSTM2D", {"strides": 2, "return_state": True}, True),
    ("ConvLSTM3D", {"padding": "same", "return_state": True}, False),
]


@pytest.mark.parametrize("name, kwargs, masked", CONV_ROWS, ids=lambda v: v if isinstance(v, str) else None)
def test_conv_lstm_matches_keras(name, kwargs, masked):
    x = RNG.standard_normal(CONV_SHAPES[name]).astype("float32")
    mask = np.array([[1, 1, 0], [1, 1, 1]], bool) if masked else None
    ours, theirs = getattr(kt.layers, name)(3, 3, **kwargs), getattr(keras.layers, name)(3, 3, **kwargs)
    ours.build(x.shape)
    theirs.build(x.shape)
    assert [tuple(w.shape) for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    _close(ours(torch.as_tensor(x), mask=None if mask is None else torch.as_tensor(mask)), theirs(x, mask=mask))


def test_conv_lstm_model_saves_both_ways(tmp_path):
    def make(lib):
        return lib.Sequential([lib.Input((3, 6, 5, 2)), lib.layers.ConvLSTM2D(2, 3, padding="same"),
                               lib.layers.GlobalAveragePooling2D(), lib.layers.Dense(1)])

    ours, theirs = make(kt), make(keras)
    theirs.set_weights(ours.get_weights())
    x = RNG.standard_normal((2, 3, 6, 5, 2)).astype("float32")
    expected = _numpy(theirs(x))
    assert_keras_files_load_both_ways(ours, theirs, x, expected, tmp_path)


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["LSTM", "GRU"])
def test_cudnn_recurrent_path_matches_cpu(monkeypatch, name):
    loops = []
    original = KtRNN._loop
    monkeypatch.setattr(KtRNN, "_loop", lambda self, *a: loops.append(1) or original(self, *a))
    layer = getattr(kt.layers, name)(8, return_sequences=True)
    data, mask = torch.as_tensor(X), torch.as_tensor(RIGHT)
    expected = layer(data, mask=mask)
    layer.cuda()
    result = layer(data.cuda(), mask=mask.cuda())
    assert not loops  # torch's fused kernel (cuDNN) on the GPU, packed for the right-padded mask
    torch.testing.assert_close(result.cpu(), expected, rtol=1e-4, atol=1e-5)
