"""Weight files: Keras `.weights.h5` both ways with real Keras 3, safetensors, `.pt`, all-or-nothing loads."""

import functools
import warnings

import h5py
import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.layers.layer import snake_case
from kerastorch.saving import keras_h5


def _randomize_keras(model, seed=0):
    """Non-trivial values everywhere (BatchNorm statistics included), so a wrong copy shows."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.uniform(0.5, 1.5, size=tuple(weight.shape)).astype("float32"))


def _randomize_kt(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, size=w.shape).astype("float32") for w in model.get_weights()])


def conv_net(lib):
    """A conv net with BatchNorm, built the same way in Keras (`lib=keras`) or kerastorch (`lib=kt`)."""
    return lib.Sequential([
        lib.Input((8, 8, 3)),
        lib.layers.Conv2D(4, 3, padding="same"),
        lib.layers.BatchNormalization(),
        lib.layers.Activation("relu"),
        lib.layers.MaxPooling2D(),
        lib.layers.Conv2D(5, 3),
        lib.layers.Flatten(),
        lib.layers.Dense(3, activation="softmax"),
    ])


def text_model(lib):
    """An Embedding + pooling text model, built the same way in either library."""
    return lib.Sequential([
        lib.Input((12,), dtype="int32"),
        lib.layers.Embedding(40, 6),
        lib.layers.GlobalAveragePooling1D(),
        lib.layers.Dense(4, activation="relu"),
        lib.layers.Dense(1, activation="sigmoid"),
    ])


keras_conv_net, kt_conv_net = functools.partial(conv_net, keras), functools.partial(conv_net, kt)
keras_text_model, kt_text_model = functools.partial(text_model, keras), functools.partial(text_model, kt)


IMAGES = np.random.default_rng(1).uniform(size=(4, 8, 8, 3)).astype("float32")
TOKENS = np.random.default_rng(2).integers(0, 40, size=(4, 12)).astype("int32")
PAIRS = [(keras_conv_net, kt_conv_net, IMAGES), (keras_text_model, kt_text_model, TOKENS)]


def _predict_kt(model, x):
    return model(torch.as_tensor(x)).detach().numpy()


@pytest.mark.parametrize("make_keras, make_kt, x", PAIRS, ids=["conv_bn", "text"])
def test_keras_weights_h5_loads_into_kerastorch(tmp_path, make_keras, make_kt, x):
    reference = make_keras()
    _randomize_keras(reference)
    reference.save_weights(tmp_path / "k.weights.h5")
    model = make_kt()
    model.load_weights(tmp_path / "k.weights.h5")
    assert model.count_params() == reference.count_params()
    np.testing.assert_allclose(_predict_kt(model, x), reference.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize("make_keras, make_kt, x", PAIRS, ids=["conv_bn", "text"])
def test_kerastorch_weights_h5_loads_into_keras(tmp_path, make_keras, make_kt, x):
    model = make_kt()
    _randomize_kt(model)
    model.save_weights(tmp_path / "t.weights.h5")
    reference = make_keras()
    reference.load_weights(tmp_path / "t.weights.h5")
    np.testing.assert_allclose(reference.predict(x, verbose=0), _predict_kt(model, x), atol=1e-5)


def _h5_layout(path):
    layout = {}
    with h5py.File(path, "r") as h5:
        h5.visititems(lambda name, obj: layout.__setitem__(name, getattr(obj, "shape", None)))
    return layout


def test_weights_h5_layout_is_keras_layout(tmp_path):
    keras_conv_net().save_weights(tmp_path / "k.weights.h5")
    kt_conv_net().save_weights(tmp_path / "t.weights.h5")
    layout = _h5_layout(tmp_path / "t.weights.h5")
    assert layout == _h5_layout(tmp_path / "k.weights.h5")
    assert layout["layers/conv2d/vars/0"] == (3, 3, 3, 4)  # Keras layout (kh, kw, in, out)
    assert layout["layers/batch_normalization/vars/3"] == (4,)  # gamma, beta, moving mean, moving variance


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".pth", ".weights.h5"])
def test_round_trip_every_format(tmp_path, suffix):
    model = kt_conv_net()
    _randomize_kt(model, seed=3)
    model.save_weights(tmp_path / f"m{suffix}")
    other = kt_conv_net()
    other.load_weights(tmp_path / f"m{suffix}")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(_predict_kt(other, IMAGES), _predict_kt(model, IMAGES))


def test_state_dict_files_are_plain_torch(tmp_path):
    from safetensors.torch import load_file

    model = kt_conv_net()
    model.save_weights(tmp_path / "m.safetensors")
    model.save_weights(tmp_path / "m.pt")
    plain = kt_conv_net()
    plain.load_state_dict(load_file(tmp_path / "m.safetensors"))
    plain.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    np.testing.assert_array_equal(_predict_kt(plain, IMAGES), _predict_kt(model, IMAGES))


def test_shared_layer_is_stored_once(tmp_path):
    inputs = kt.Input((3,))
    shared = kt.layers.Dense(3)
    model = kt.Model(inputs, shared(shared(inputs)))
    model.save_weights(tmp_path / "m.safetensors")
    other_inputs = kt.Input((3,))
    other_shared = kt.layers.Dense(3)
    other = kt.Model(other_inputs, other_shared(other_shared(other_inputs)))
    other.load_weights(tmp_path / "m.safetensors")
    x = torch.rand(2, 3)
    torch.testing.assert_close(other(x), model(x))


def _snapshot(model):
    return [w.copy() for w in model.get_weights()]


def _assert_unchanged(model, snapshot):
    for before, after in zip(snapshot, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def test_mismatch_lists_every_problem_and_changes_nothing(tmp_path):
    source = kt.Sequential([kt.Input((6,)), kt.layers.Dense(4), kt.layers.Dense(3), kt.layers.Dense(2)])
    source.save_weights(tmp_path / "m.weights.h5")
    target = kt.Sequential([kt.Input((6,)), kt.layers.Dense(5), kt.layers.Dense(3)])
    snapshot = _snapshot(target)
    with pytest.raises(ValueError) as error:
        target.load_weights(tmp_path / "m.weights.h5")
    message = str(error.value)
    assert "m.weights.h5" in message and "3 mismatches" in message
    assert "layers/dense " in message and "layers/dense_1 " in message and "layers/dense_2 " in message
    assert "expected shape (6, 5), the file has (6, 4)" in message
    _assert_unchanged(target, snapshot)


def test_dtype_mismatch_is_refused(tmp_path):
    source = kt.Sequential([kt.Input((4,)), kt.layers.Dense(2, dtype="float64")])
    source.save_weights(tmp_path / "m.safetensors")
    target = kt.Sequential([kt.Input((4,)), kt.layers.Dense(2)])
    snapshot = _snapshot(target)
    with pytest.raises(ValueError, match="expected dtype float32, the file has float64"):
        target.load_weights(tmp_path / "m.safetensors")
    _assert_unchanged(target, snapshot)


def test_skip_mismatch_loads_the_rest(tmp_path):
    source = kt.Sequential([kt.Input((6,)), kt.layers.Dense(4), kt.layers.Dense(3)])
    _randomize_kt(source)
    source.save_weights(tmp_path / "m.weights.h5")
    target = kt.Sequential([kt.Input((6,)), kt.layers.Dense(4), kt.layers.Dense(2)])
    last = [w.copy() for w in target.layers[1].get_weights()]
    with pytest.warns(UserWarning, match="layers/dense_1"):
        target.load_weights(tmp_path / "m.weights.h5", skip_mismatch=True)
    for a, b in zip(target.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(target.layers[1].get_weights(), last):
        np.testing.assert_array_equal(a, b)


def test_by_name_matches_layer_names(tmp_path):
    source = kt.Sequential([kt.Input((6,)), kt.layers.Dense(4, name="head"), kt.layers.Dense(3, name="tail")])
    _randomize_kt(source)
    source.save_weights(tmp_path / "m.weights.h5")
    target = kt.Sequential([kt.Input((6,)), kt.layers.Dense(4, name="head"), kt.layers.Dense(7, name="other")])
    target.load_weights(tmp_path / "m.weights.h5", by_name=True)
    for a, b in zip(target.layers[0].get_weights(), source.layers[0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_keras_slots_follow_keras_naming():
    model = kt_conv_net()
    paths = [slot.path for slot in keras_h5.weight_slots(model)]
    assert paths[:3] == ["", "layers/conv2d", "layers/batch_normalization"]
    assert "layers/conv2d_1" in paths and "layers/max_pooling2d" in paths
    assert snake_case("Conv2DTranspose") == "conv2d_transpose"
    assert snake_case("GlobalAveragePooling1D") == "global_average_pooling1d"


def test_unbuilt_model_and_bad_suffix_are_refused(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        kt.Sequential([kt.layers.Dense(2)]).save_weights(tmp_path / "m.weights.h5")
    with pytest.raises(ValueError, match="suffix|format"):
        kt_conv_net().save_weights(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        kt_conv_net().save_weights(tmp_path / "m.h5")
    with pytest.raises(TypeError):
        kt_conv_net().save_weights(42)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_false_keeps_the_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        kt_conv_net().save_weights(path, overwrite=False)
    assert path.read_bytes() == b"old"


def test_failed_save_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "m.keras"
    model = kt.Sequential([kt.Input((3,)), kt.layers.Dense(2)])
    model.save(path)
    before = path.read_bytes()
    wrapped = kt.Sequential([kt.Input((3,)), torch.nn.Linear(3, 2)])  # no Keras config: save must fail
    with pytest.raises(ValueError, match="save_weights"):
        wrapped.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]


def test_saved_file_permissions_follow_umask(tmp_path):
    import os

    path = tmp_path / "m.safetensors"
    kt_conv_net().save_weights(path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_warnings_are_not_raised_on_clean_load(tmp_path):
    kt_conv_net().save_weights(tmp_path / "m.weights.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kt_conv_net().load_weights(tmp_path / "m.weights.h5")


def test_bfloat16_weights_both_ways(tmp_path):
    reference = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, dtype="bfloat16")])
    reference.save_weights(tmp_path / "k.weights.h5")
    model = kt.Sequential([kt.Input((3,)), kt.layers.Dense(2, dtype="bfloat16")])
    model.load_weights(tmp_path / "k.weights.h5")
    assert model.layers[0].kernel.dtype == torch.bfloat16
    np.testing.assert_array_equal(model.get_weights()[0], np.asarray(reference.get_weights()[0], dtype="float32"))
    _randomize_kt(model, seed=9)
    model.save_weights(tmp_path / "t.weights.h5")
    reference.load_weights(tmp_path / "t.weights.h5")
    np.testing.assert_array_equal(np.asarray(reference.get_weights()[0], dtype="float32"), model.get_weights()[0])


@pytest.mark.cuda
@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".weights.h5"])
def test_cuda_model_saves_and_loads(tmp_path, suffix):
    model = kt_conv_net().to("cuda")
    _randomize_kt(model, seed=4)
    model.save_weights(tmp_path / f"m{suffix}")
    other = kt_conv_net().to("cuda")
    other.load_weights(tmp_path / f"m{suffix}")
    assert all(w.device.type == "cuda" for w in other.weights)
    x = torch.as_tensor(IMAGES, device="cuda")
    torch.testing.assert_close(other(x), model(x))


def test_auto_names_and_weight_groups_follow_keras_snake_case():
    """One naming rule, Keras's: auto names and `.weights.h5` group names agree with Keras's own."""
    from keras.src.utils.naming import to_snake_case

    for name in ("R2Score", "Conv2DTranspose", "PReLU", "LSTMCell", "GlobalAveragePooling1D", "IoU"):
        assert snake_case(name) == to_snake_case(name)
