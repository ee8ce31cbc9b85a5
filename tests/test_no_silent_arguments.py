"""Arguments that used to be accepted and ignored: each now takes effect (checked) or raises naming it."""

import os

import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.models.cloning import clone_model

keras = pytest.importorskip("keras")


def test_shuffle_batch_keeps_batches_contiguous_in_random_order():
    seen = []

    class Spy(kt.Sequential):
        def train_step(self, data):  # the public hook sees every batch fit draws
            seen.append(data[0][:, 0].tolist())
            return super().train_step(data)

    model = Spy([kt.Input((1,)), kt.layers.Dense(1)])
    model.compile("sgd", "mse")
    torch.manual_seed(3)
    x = np.arange(10, dtype="float32")[:, None]
    model.fit(x, x, batch_size=4, shuffle="batch", epochs=3, verbose=0)
    chunks = {tuple(b) for b in seen}
    assert chunks == {(0.0, 1.0, 2.0, 3.0), (4.0, 5.0, 6.0, 7.0), (8.0, 9.0)}
    assert len({tuple(map(tuple, seen[i:i + 3])) for i in (0, 3, 6)}) > 1  # the batch order changes
    with pytest.raises(ValueError, match="shuffle must be"):
        model.fit(x, x, shuffle="sometimes", verbose=0)


def test_clone_model_recursive_reaches_nested_layers():
    inner = kt.Sequential([kt.Input((3,)), kt.layers.Dense(4, name="inside")], name="inner")
    x = kt.Input((3,))
    model = kt.Model(x, kt.layers.Dense(2, name="outside")(inner(x)))
    seen = []

    def clone(layer):
        seen.append(layer.name)
        return type(layer).from_config(layer.get_config())

    clone_model(model, clone_function=clone)
    assert seen == ["inner", "outside"]
    seen.clear()
    clone_model(model, clone_function=clone, recursive=True)
    assert seen == ["inside", "outside"]


def test_auc_label_weights_match_keras():
    rng = np.random.default_rng(0)
    y_true = (rng.random((20, 3)) > 0.5).astype("float32")
    y_pred = rng.random((20, 3)).astype("float32")
    weights = rng.random(20).astype("float32")
    for sample_weight in (None, weights):
        ours, theirs = kt.metrics.AUC(label_weights=[0.2, 1.0, 3.0]), keras.metrics.AUC(label_weights=[0.2, 1.0, 3.0])
        ours.update_state(y_true, y_pred, sample_weight=sample_weight)
        theirs.update_state(y_true, y_pred, sample_weight=sample_weight)
        assert float(ours.result()) == pytest.approx(float(theirs.result()), abs=1e-6)


def test_tensorboard_writes_graph_images_and_steps_per_second(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3), kt.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.random.rand(20, 4).astype("float32")
    board = kt.callbacks.TensorBoard(tmp_path, histogram_freq=1, write_images=True, write_steps_per_second=True)
    model.fit(x, x[:, :1], epochs=1, callbacks=[board], verbose=0)
    events = EventAccumulator(os.path.join(tmp_path, "train"))
    events.Reload()
    assert events.Tags()["graph"] and len(events.Tags()["images"]) == 4
    assert "epoch_steps_per_second" in events.Tags()["scalars"]
    with pytest.raises(NotImplementedError, match="profile_batch"):
        kt.callbacks.TensorBoard(tmp_path, profile_batch=2)
    with pytest.raises(TypeError):
        kt.callbacks.TensorBoard(tmp_path, made_up=1)


def test_other_refusals_name_the_argument():
    layer = kt.layers.Dense(2)
    with pytest.raises(NotImplementedError, match="overwrite_with_gradient"):
        layer.add_weight((2,), overwrite_with_gradient=True)
    with pytest.raises(ValueError, match="aggregation"):
        layer.add_weight((2,), aggregation="median")
    with pytest.raises(TypeError):
        layer.add_weight((2,), colocate_with=None)
    with pytest.raises(TypeError):
        kt.callbacks.ReduceLROnPlateau(made_up=1)
    with pytest.raises(TypeError, match="unexpected keyword"):
        kt.optimizers.Adam(decay=0.1)
    model = kt.Sequential([kt.Input((2,)), kt.layers.Dense(1)])
    model.compile("sgd", "mse", auto_scale_loss=False, run_eagerly=True, jit_compile=True)
    assert model.auto_scale_loss is False and model.jit_compile is False  # run_eagerly wins, as in Keras
