"""Bad input gives one clear error (the layer, what was expected, what was received) and changes nothing."""

import numpy as np
import pytest
import torch
from torch import nn

import kerastorch as kt


def snapshot(model_or_layer):
    return [w.copy() for w in model_or_layer.get_weights()]


def assert_unchanged(before, model_or_layer):
    after = model_or_layer.get_weights()
    assert len(after) == len(before)
    for a, b in zip(after, before):
        np.testing.assert_array_equal(a, b)


def test_dense_called_on_the_wrong_width():
    layer = kt.layers.Dense(3, name="dense_width")
    layer(torch.zeros(2, 4))
    before = snapshot(layer)
    with pytest.raises(ValueError) as info:
        layer(torch.zeros(2, 5))
    message = str(info.value)
    for part in ("dense_width", "axis -1", "value 4", "(2, 5)"):
        assert part in message
    assert_unchanged(before, layer)
    assert layer(torch.zeros(2, 4)).shape == (2, 3)  # still works


def test_dense_wrong_width_symbolic_and_in_a_sequential():
    layer = kt.layers.Dense(3, name="dense_sym")
    layer(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"dense_sym.*axis -1.*value 4.*\(None, 5\)"):
        layer(kt.Input((5,)))
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3, name="first")])
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"first.*axis -1.*value 4.*\(2, 6\)"):
        model(torch.zeros(2, 6))
    assert_unchanged(before, model)


def test_rank_too_low_for_dense():
    layer = kt.layers.Dense(3, name="dense_rank")
    layer(torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"dense_rank.*min_ndim=2.*\(4,\)"):
        layer(torch.zeros(4))


@pytest.mark.parametrize("make", [
    lambda: kt.layers.Dense(2, activation="rellu"),
    lambda: kt.layers.Activation("swishh"),
    lambda: kt.layers.Conv2D(2, 3, activation="not_an_activation"),
], ids=["dense", "activation", "conv"])
def test_unknown_activation_string(make):
    with pytest.raises(ValueError, match="Unknown activation"):
        make()


@pytest.mark.parametrize("make", [
    lambda: kt.layers.Conv2D(2, 3, padding="full"),
    lambda: kt.layers.Conv1D(2, 3, padding="SAME_"),
    lambda: kt.layers.MaxPooling2D(padding="zeros"),
], ids=["conv2d", "conv1d", "pooling"])
def test_unknown_padding_string(make):
    with pytest.raises(ValueError, match=r"padding.*valid.*same"):
        make()


@pytest.mark.parametrize("make,argument", [
    (lambda: kt.layers.Dense(0), "units"),
    (lambda: kt.layers.Dense(-3), "units"),
    (lambda: kt.layers.Embedding(0, 4), "input_dim"),
    (lambda: kt.layers.Embedding(10, -1), "output_dim"),
    (lambda: kt.layers.Conv2D(0, 3), "filters"),
    (lambda: kt.layers.Conv2D(-1, 3), "filters"),
])
def test_non_positive_sizes(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


@pytest.mark.parametrize("make", [lambda: kt.layers.Dense(2.5), lambda: kt.layers.Conv2D("8", 3)])
def test_non_integer_sizes_are_type_errors(make):
    with pytest.raises(TypeError, match="positive int"):
        make()


@pytest.mark.parametrize("make,match", [
    (lambda: kt.layers.Dropout(1.5), "rate"),
    (lambda: kt.layers.Reshape((-1, -1)), "target_shape"),
    (lambda: kt.layers.Permute((1, 3)), "permutation"),
    (lambda: kt.layers.Flatten(data_format="nhwc"), "data_format"),
    (lambda: kt.layers.BatchNormalization(momentum=-0.1), "momentum"),
])
def test_bad_constructor_values(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match=r"Dense got unexpected keyword arguments: \['unitz'\]"):
        kt.layers.Dense(2, unitz=3)


def test_reshape_with_the_wrong_element_count():
    layer = kt.layers.Reshape((5,), name="reshape_count")
    with pytest.raises(ValueError, match=r"reshape_count.*\(2, 3, 4\).*\(batch, \*\(5,\)\)"):
        layer(torch.zeros(2, 3, 4))


def test_pop_on_an_empty_sequential():
    model = kt.Sequential(name="empty_model")
    with pytest.raises(ValueError, match="empty_model.*no layers to pop"):
        model.pop()
    assert model.layers == [] and not model.built
    model.add(kt.layers.Dense(2))
    assert len(model.layers) == 1


def test_duplicate_layer_names_in_a_sequential():
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3, name="twin")], name="dupes")
    before = snapshot(model)
    output = model.output
    with pytest.raises(ValueError, match=r"unique names.*'twin'.*dupes"):
        model.add(kt.layers.Dense(2, name="twin"))
    assert [layer.name for layer in model.layers] == ["twin"]
    assert model.output is output and len(list(model.children())) == 1
    assert_unchanged(before, model)


def test_incompatible_layer_added_to_a_built_sequential_changes_nothing():
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3)])
    output = model.output
    with pytest.raises(ValueError, match="reshape"):
        model.add(kt.layers.Reshape((5,), name="bad_reshape"))
    assert len(model.layers) == 1 and model.output is output
    assert model(torch.zeros(2, 4)).shape == (2, 3)


def test_adding_a_non_module_is_a_type_error():
    model = kt.Sequential([kt.layers.Dense(2)])
    with pytest.raises(TypeError, match="Expected a kerastorch layer or a torch.nn.Module, received str"):
        model.add("dense")
    with pytest.raises(TypeError, match="received builtin_function_or_method.*Lambda"):
        model.add(torch.relu)
    assert len(model.layers) == 1


def test_batchnorm_called_on_another_rank():
    layer = kt.layers.BatchNormalization(name="bn_rank")
    layer(torch.zeros(2, 4, 4, 3))
    with pytest.raises(ValueError, match=r"bn_rank.*expected ndim=4.*ndim=2.*\(2, 3\)"):
        layer(torch.zeros(2, 3))


def test_merge_of_mismatched_shapes_changes_nothing_in_a_graph():
    a, b = kt.Input((3,)), kt.Input((4,))
    layer = kt.layers.Add(name="add_mismatch")
    with pytest.raises(ValueError, match=r"add_mismatch.*\(None, 3\), \(None, 4\)"):
        layer([a, b])
    assert not layer.built and layer._inbound_nodes == []


def test_wrapped_module_with_the_wrong_input_size():
    model = kt.Sequential([kt.Input((4,)), nn.Linear(4, 2)])
    with pytest.raises(ValueError, match=r"linear.*\(None, 5\)"):
        kt.Sequential([kt.Input((5,)), model.layers[0]])


# ---------------------------------------------------------------- training-time wrong results


def _regression_model():
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_evaluate_on_empty_arrays_raises_like_fit_and_predict():
    model = _regression_model()
    empty_x, empty_y = np.zeros((0, 4), "float32"), np.zeros((0, 2), "float32")
    for call in (lambda: model.fit(empty_x, empty_y, verbose=0), lambda: model.predict(empty_x, verbose=0),
                 lambda: model.evaluate(empty_x, empty_y, verbose=0)):
        with pytest.raises(ValueError, match="no batches"):
            call()


def test_torch_loss_module_is_not_a_submodule_and_recompiles():
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3)])
    keys, count = list(model.state_dict()), model.count_params()
    model.compile(optimizer="sgd", loss=nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0])))
    assert list(model.state_dict()) == keys and model.count_params() == count
    model.fit(np.random.rand(8, 4).astype("float32"), np.random.randint(0, 3, 8), verbose=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # used to raise TypeError
    assert model.loss == "sparse_categorical_crossentropy"


def test_mse_target_of_the_wrong_width_is_a_clear_error():
    model = _regression_model()
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(8, 3\).*\(8, 2\)"):
        model.fit(np.zeros((8, 4), "float32"), np.zeros((8, 3), "float32"), batch_size=8, verbose=0)


def test_fused_losses_give_the_keras_style_numbers():
    """The one-kernel path (no sample weights, default reduction) equals the per-sample path."""
    torch.manual_seed(0)
    y_true, y_pred = torch.randn(16, 5), torch.randn(16, 5)
    for name, loss in (("mse", kt.losses.mean_squared_error), ("mae", kt.losses.mean_absolute_error)):
        assert kt.losses.get(name)._fused is not None
        wrapped = kt.losses.LossFunctionWrapper(loss)
        slow = kt.losses.reduce_weighted(loss(y_true, y_pred), None, "sum_over_batch_size")
        torch.testing.assert_close(wrapped(y_true, y_pred), slow)
        torch.testing.assert_close(kt.losses.LossFunctionWrapper(loss, reduction="sum")(y_true, y_pred),
                                   loss(y_true, y_pred).sum())


def test_integer_dense_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'int_dense'.*int64.*floating dtype"):
        kt.layers.Dense(2, dtype="int64", name="int_dense")(torch.zeros(1, 3, dtype=torch.int64))


def test_backup_is_not_overwritten_by_nan_weights(tmp_path):
    """After TerminateOnNaN stops a run, the backup still holds the last finite weights."""
    model = _regression_model()
    x = np.random.rand(32, 4).astype("float32")
    y = np.random.rand(32, 2).astype("float32")
    backup = kt.callbacks.BackupAndRestore(str(tmp_path), delete_checkpoint=False)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[backup])
    good = [w.copy() for w in model.get_weights()]
    y_bad = y.copy()
    y_bad[5] = np.inf
    with pytest.warns(UserWarning, match="not backed up"):
        model.fit(x, y_bad, epochs=2, batch_size=8, shuffle=False, verbose=0,  # resumes at epoch 2
                  callbacks=[kt.callbacks.TerminateOnNaN(), backup])
    assert not np.isfinite(model.get_weights()[0]).all()
    restored = _regression_model()
    from kerastorch.training.checkpoint import load_training_state

    load_training_state(backup.path, restored, restore_rng=False)
    for a, b in zip(good, restored.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_corrupt_backup_falls_back_to_the_previous_good_one(tmp_path):
    x = np.random.rand(32, 4).astype("float32")
    y = np.random.rand(32, 2).astype("float32")
    model = _regression_model()
    backup = kt.callbacks.BackupAndRestore(str(tmp_path), double_checkpoint=True, delete_checkpoint=False)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[backup])
    raw = bytearray(open(backup.path, "rb").read())
    raw[-6] ^= 0x01  # inside the last tensor's data: only the checksum can tell
    open(backup.path, "wb").write(bytes(raw))
    from kerastorch.training.checkpoint import load_training_state

    with pytest.raises(ValueError, match="corrupt"):
        load_training_state(backup.path, _regression_model())
    resumed = _regression_model()
    history = resumed.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[
        kt.callbacks.BackupAndRestore(str(tmp_path), double_checkpoint=True)])
    assert len(history.history["loss"]) == 2  # restored epoch 1 from the previous backup, ran epochs 2 and 3
