"""Bad-file catalogue and crash safety: every broken or hostile file is a clear error that changes nothing."""

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.saving import load_model

REPO = Path(__file__).resolve().parents[1]
SUFFIXES = [".weights.h5", ".safetensors", ".pt", ".keras"]


def small_model():
    return kt.Sequential([kt.Input((4,)), kt.layers.Dense(3), kt.layers.BatchNormalization(), kt.layers.Dense(2)])


def _snapshot(model):
    return [w.copy() for w in model.get_weights()]


def _assert_unchanged(model, snapshot):
    for before, after in zip(snapshot, model.get_weights()):
        np.testing.assert_array_equal(before, after)


def _save(model, path):
    if str(path).endswith(".keras"):
        model.save(path)
    else:
        model.save_weights(path)


def _assert_refused(path, match=None, valid_model_file=False):
    """load_weights (and load_model, unless the archive is a valid model) raise a ValueError naming the file."""
    model = small_model()
    snapshot = _snapshot(model)
    with pytest.raises(ValueError, match=match) as error:
        model.load_weights(path)
    assert os.path.basename(path) in str(error.value)
    _assert_unchanged(model, snapshot)
    if str(path).endswith(".keras") and not valid_model_file:
        with pytest.raises(ValueError) as error:
            load_model(path)
        assert os.path.basename(path) in str(error.value)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_zero_byte_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    _assert_refused(path, match="empty")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_truncated_file(tmp_path, suffix):
    path = tmp_path / f"cut{suffix}"
    _save(small_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_refused(path, match="truncated")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_random_bytes(tmp_path, suffix):
    path = tmp_path / f"noise{suffix}"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _assert_refused(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_wrong_architecture(tmp_path, suffix):
    path = tmp_path / f"other{suffix}"
    _save(kt.Sequential([kt.Input((4,)), kt.layers.Dense(5), kt.layers.BatchNormalization(), kt.layers.Dense(2)]), path)
    _assert_refused(path, match="mismatch", valid_model_file=True)


@pytest.mark.parametrize("suffix", [".weights.h5", ".safetensors", ".pt"])
def test_wrong_dtype(tmp_path, suffix):
    path = tmp_path / f"double{suffix}"
    model = small_model().to(torch.float64)
    model.save_weights(path)
    _assert_refused(path, match="dtype")


class _Payload:
    """Unpickling this would create a marker file: proof that code ran."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_code_is_never_run(tmp_path):
    marker = tmp_path / "executed"
    _Payload.marker = str(marker)
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(2), "payload": _Payload()}, path)
    _assert_refused(path, match="unpickle")
    assert not marker.exists()


def test_keras_lambda_file_is_refused_in_safe_mode(tmp_path):
    reference = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2), keras.layers.Dense(2)])
    path = tmp_path / "lambda.keras"
    reference.save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        load_model(path)
    model = load_model(path, safe_mode=False)
    x = np.random.default_rng(0).uniform(size=(2, 3)).astype("float32")
    np.testing.assert_allclose(model(torch.from_numpy(x)).detach().numpy(), reference.predict(x, verbose=0), atol=1e-5)


def test_kerastorch_lambda_round_trip_needs_safe_mode_off(tmp_path):
    model = kt.Sequential([kt.Input((3,)), kt.layers.Lambda(lambda t: t + 1), kt.layers.Dense(2)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="arbitrary code"):
        load_model(tmp_path / "lambda.keras")
    loaded = load_model(tmp_path / "lambda.keras", safe_mode=False)
    x = torch.rand(2, 3)
    torch.testing.assert_close(loaded(x), model(x))


def _zip_with(path, extra):
    source = path.with_name("source.keras")
    small_model().save(source)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as crafted:
        for name in original.namelist():
            crafted.writestr(name, original.read(name))
        for name, data in extra.items():
            crafted.writestr(name, data)
    source.unlink()


@pytest.mark.parametrize("entry", ["../escaped.txt", "/tmp/absolute_escape.txt", "assets/../../escaped.txt"])
def test_zip_path_traversal_is_refused(tmp_path, entry):
    folder = tmp_path / "inner"
    folder.mkdir()
    path = folder / "crafted.keras"
    _zip_with(path, {entry: b"should never be written"})
    _assert_refused(path, match="unsafe paths")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["crafted.keras", "inner"]
    assert not Path("/tmp/absolute_escape.txt").exists()


def test_unknown_classes_are_listed_and_nothing_is_imported(tmp_path):
    path = tmp_path / "unknown.keras"
    small_model().save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(members["config.json"])
    config["config"]["layers"][1] = {"module": "os", "class_name": "system", "config": {"name": "x"}}
    config["config"]["layers"][2]["class_name"] = "FancyNorm"
    config["config"]["layers"][2]["module"] = "my_package.layers"
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="custom_objects") as error:
        load_model(path)
    assert "system (module 'os')" in str(error.value) and "FancyNorm" in str(error.value)


def test_not_a_keras_file(tmp_path):
    path = tmp_path / "plain.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="config.json"):
        load_model(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.keras")


# ------------------------------------------------------------------------------------ crash test

_WRITER = """
import sys, torch, kerastorch as kt
path = sys.argv[1]
model = kt.Sequential([kt.Input((512,)), kt.layers.Dense(1024), kt.layers.Dense(512)])
value = 0.0
while True:
    value += 1.0
    with torch.no_grad():
        for w in model.weights:
            w.fill_(value)
    if path.endswith(".keras"):
        model.save(path)
    else:
        model.save_weights(path)
    print(value, flush=True)
"""


def test_killed_save_leaves_old_or_new_file(tmp_path):
    """A writer saving in a loop is read while it writes and then killed mid-save: every read is whole."""
    path = tmp_path / "model.weights.h5"
    reader = kt.Sequential([kt.Input((512,)), kt.layers.Dense(1024), kt.layers.Dense(512)])
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "1.0"
        rng = np.random.default_rng(0)
        seen = set()
        for _ in range(15):
            time.sleep(float(rng.uniform(0, 0.02)))
            reader.load_weights(path)
            values = {float(w.detach().flatten()[0]) for w in reader.weights}
            assert len(values) == 1 and all(bool((w == w.flatten()[0]).all()) for w in reader.weights)
            seen |= values
        time.sleep(float(rng.uniform(0, 0.02)))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        reader.load_weights(path)
        values = {float(w.detach().flatten()[0]) for w in reader.weights}
        assert len(values) == 1
        assert len(seen) > 1  # the file really was rewritten while being read
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    # A killed writer may leave its hidden temporary file behind, never a broken target.
    assert {p.name for p in tmp_path.iterdir() if ".tmp-" not in p.name} == {path.name}


def test_h5_links_to_other_files_are_refused(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as h5:
        h5["data"] = np.ones((4, 3), dtype="float32")
    path = tmp_path / "linked.weights.h5"
    small_model().save_weights(path)
    with h5py.File(path, "a") as h5:
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = h5py.ExternalLink(str(secret), "/data")
    _assert_refused(path, match="refusing")


def test_h5_non_numeric_data_is_refused(tmp_path):
    path = tmp_path / "strings.weights.h5"
    small_model().save_weights(path)
    with h5py.File(path, "a") as h5:
        del h5["layers/dense/vars/1"]
        h5["layers/dense/vars/1"] = np.array([b"a", b"b", b"c"])
    _assert_refused(path, match="not numbers")


def test_zip_bomb_entries_are_refused(tmp_path, monkeypatch):
    from kerastorch.saving import files

    monkeypatch.setattr(files, "_BOMB_FLOOR_BYTES", 1 << 16)  # the real floor is 1 GiB; same rule, smaller file
    monkeypatch.setattr(files, "_MAX_EXPANSION", 100)
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", b" " * (1 << 20))
    with pytest.raises(ValueError, match="zip bomb"):
        load_model(path)
