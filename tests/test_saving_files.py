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


# ------------------------------------------------------------------- checksums and stale temps


def _flip_inside_tensor_data(path, model):
    """Flip one bit inside the stored bytes of the last weight (located by its value), nowhere else."""
    weight = model.get_weights()[-1]
    raw = bytearray(Path(path).read_bytes())
    needle = np.ascontiguousarray(weight).tobytes()[:8]
    position = raw.find(needle)
    assert position > 0, "the weight's bytes must be stored uncompressed in the file"
    raw[position + 2] ^= 0x10
    Path(path).write_bytes(bytes(raw))


@pytest.mark.parametrize("suffix", [".weights.h5", ".safetensors", ".pt", ".keras"])
def test_bit_flip_inside_tensor_data_is_refused(tmp_path, suffix):
    source = small_model()
    for weight in source.weights:
        torch.nn.init.uniform_(weight, 0.5, 1.5)  # distinct, findable bytes
    path = tmp_path / f"m{suffix}"
    _save(source, path)
    small_model().load_weights(path)  # the untouched file loads
    _flip_inside_tensor_data(path, source)
    _assert_refused(path, match="corrupt|checksum|CRC")


def test_files_without_checksums_still_load(tmp_path):
    """Files from Keras (or written by hand) carry no kerastorch checksum and load as before."""
    model = small_model()
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(),
                                    keras.layers.Dense(2)])
    keras_model.save_weights(tmp_path / "k.weights.h5")
    model.load_weights(tmp_path / "k.weights.h5")
    for mine, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "plain.safetensors"))
    small_model().load_weights(tmp_path / "plain.safetensors")


def test_bit_flip_in_a_keras_written_model_file_is_refused_by_its_zip_crc(tmp_path):
    """Keras's `.keras` weights carry no kerastorch checksums: the archive entry's CRC-32 is checked."""
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(),
                                    keras.layers.Dense(2)])
    for variable in keras_model.weights:
        variable.assign(np.random.default_rng(0).uniform(0.5, 1.5, variable.shape))
    path = tmp_path / "k.keras"
    keras_model.save(path)
    load_model(path)  # the untouched file loads
    _flip_inside_tensor_data(path, keras_model)
    _assert_refused(path, match="CRC-32")


def test_checksums_of_earlier_files_are_still_checked(tmp_path):
    """`.weights.h5` files from earlier kerastorch versions record CRC-32s; a flipped bit is still caught."""
    import zlib

    source = small_model()
    for weight in source.weights:
        torch.nn.init.uniform_(weight, 0.5, 1.5)
    path = tmp_path / "old.weights.h5"
    source.save_weights(path)
    with h5py.File(path, "r+") as h5:
        def recheck(name, item):
            if isinstance(item, h5py.Dataset):
                del item.attrs["kerastorch_xxh3"]
                item.attrs["kerastorch_crc32"] = zlib.crc32(np.ascontiguousarray(item[()]).tobytes())
        h5.visititems(recheck)
    small_model().load_weights(path)
    _flip_inside_tensor_data(path, source)
    _assert_refused(path, match="corrupt")


class _OddWeights(kt.layers.Layer):
    """Weights whose rows exceed the file reader's block (split rows), a scalar, an empty array and a
    transposed matrix (torch's memory order under Keras's shape)."""

    def build(self, input_shape):
        self.wide = self.add_weight((3, 40_000), "random_normal", name="wide")
        self.cube = self.add_weight((2, 3, 20_000), "random_normal", name="cube")
        self.scalar = self.add_weight((), "ones", name="scalar")
        self.empty = self.add_weight((0, 4), "zeros", name="empty")
        self.flipped = self.add_weight((300, 70), "random_normal", name="flipped")
        self.flipped.data = self.flipped.data.t().contiguous().t()
        self.built = True

    def call(self, inputs):
        return inputs * self.scalar


@pytest.mark.parametrize("suffix", [".weights.h5", ".keras"])
def test_weights_of_every_shape_and_memory_order_round_trip(tmp_path, suffix):
    source, target = (kt.Sequential([kt.Input((4,)), _OddWeights()]) for _ in range(2))
    path = tmp_path / f"odd{suffix}"
    _save(source, path)
    target.load_weights(path)
    for mine, theirs in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    assert not target.layers[0].flipped.is_contiguous() and target.layers[0].flipped.t().is_contiguous()


def test_weights_stored_compressed_or_chunked_load_through_hdf5(tmp_path):
    """Datasets that are not plain stored bytes (chunked, compressed, big-endian) are read by HDF5 itself."""
    source = small_model()
    path = tmp_path / "m.weights.h5"
    source.save_weights(path)
    with h5py.File(path, "r+") as h5:
        names = []
        h5.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) and item.ndim else None)
        for name in names:
            data, attrs = h5[name][()], dict(h5[name].attrs)
            del h5[name]
            h5.create_dataset(name, data=data.astype(data.dtype.newbyteorder(">")), compression="gzip", chunks=True)
            h5[name].attrs.update(attrs)
    target = small_model()
    target.load_weights(path)
    for mine, theirs in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(mine, theirs)


def test_stale_temp_files_are_removed_on_the_next_write(tmp_path):
    path = tmp_path / "m.weights.h5"
    stale = tmp_path / ".m.weights.h5.tmp-abc123.weights.h5"
    stale.write_bytes(b"half-written")
    other = tmp_path / ".other.weights.h5.tmp-xyz.weights.h5"
    other.write_bytes(b"another target's")
    small_model().save_weights(path)
    assert not stale.exists() and other.exists() and path.exists()


# ----------------------------------------------------------------------- malformed model files


def _keras_file(path, config=None, weights=True, compile_config=None):
    """A `.keras` archive of small_model(), its config edited by `config(dict) -> dict`."""
    model = small_model()
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    entry = json.loads(members["config.json"])
    if config is not None:
        entry = config(entry)
    if compile_config is not None:
        entry["compile_config"] = compile_config
    members["config.json"] = json.dumps(entry)
    if not weights:
        del members["model.weights.h5"]
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return model


def _functional_entry():
    inputs = kt.Input((4,), name="x")
    hidden = kt.layers.Dense(3, name="hidden")(inputs)
    return json.loads(kt.Model(inputs, kt.layers.Dense(2, name="out")(hidden), name="f").to_json())


def _set(path_to_value):
    def edit(entry):
        target = entry
        *keys, last = path_to_value[0]
        for key in keys:
            target = target[key]
        if path_to_value[1] is _DELETE:
            del target[last]
        else:
            target[last] = path_to_value[1]
        return entry
    return edit


_DELETE = object()

FUNCTIONAL_CASES = {
    "unknown output layer": ((["config", "output_layers"], [["nowhere", 0, 0]]), "nowhere"),
    "bad node index": ((["config", "output_layers"], [["out", 5, 0]]), "call number 5"),
    "bad tensor index": ((["config", "output_layers"], [["out", 0, 3]]), "output 3"),
    "no input_layers": ((["config", "input_layers"], _DELETE), "input_layers"),
    "inbound node of unknown layer": ((["config", "layers", 1, "inbound_nodes", 0, "args", 0, "config",
                                        "keras_history"], ["ghost", 0, 0]), "ghost"),
    "malformed history": ((["config", "layers", 1, "inbound_nodes", 0, "args", 0, "config", "keras_history"],
                           "x"), "reference"),
}


@pytest.mark.parametrize("case", sorted(FUNCTIONAL_CASES))
def test_malformed_functional_configs_are_clear_errors(case):
    edit, match = FUNCTIONAL_CASES[case]
    entry = _set(edit)(_functional_entry())
    with pytest.raises(ValueError, match=match) as error:
        kt.models.model_from_json(json.dumps(entry))
    assert "'f'" in str(error.value)


def test_input_layer_with_batch_input_shape_loads_like_keras(tmp_path):
    def older_spelling(entry):
        layer = entry["config"]["layers"][0]["config"]
        layer["batch_input_shape"] = layer.pop("batch_shape")
        return entry

    path = tmp_path / "m.keras"
    saved = _keras_file(path, older_spelling)
    loaded = load_model(path)
    assert loaded.input.shape == (None, 4)
    for a, b in zip(saved.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", ["x", 3, ["adam"]])
def test_non_dict_compile_config_is_refused(tmp_path, bad):
    path = tmp_path / "m.keras"
    _keras_file(path, compile_config=bad)
    with pytest.raises(ValueError, match="compile_config") as error:
        load_model(path)
    assert "m.keras" in str(error.value)


def test_model_file_without_weights_is_refused(tmp_path):
    path = tmp_path / "m.keras"
    _keras_file(path, weights=False)
    with pytest.raises(ValueError, match="model.weights.h5") as error:
        load_model(path)
    assert "random weights" in str(error.value)


def test_huge_kernel_in_a_small_file_is_refused_before_allocating(tmp_path):
    def huge(entry):
        entry["config"]["layers"][1]["config"]["units"] = 32000
        entry["config"]["layers"][1]["build_config"] = {"input_shape": [None, 32000]}
        entry["config"]["layers"][0]["config"]["batch_shape"] = [None, 32000]
        entry["config"]["build_input_shape"] = [None, 32000]
        return entry

    path = tmp_path / "m.keras"
    _keras_file(path, huge)
    assert path.stat().st_size < 100_000
    start = time.perf_counter()
    with pytest.raises(ValueError, match="declares a weight") as error:
        load_model(path)
    assert time.perf_counter() - start < 5  # refused before the 4 GB kernel exists
    assert "m.keras" in str(error.value) and "(32000, 32000)" in str(error.value)


def test_deeply_nested_config_is_a_clear_error(tmp_path):
    path = tmp_path / "m.keras"
    _keras_file(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = ("[" * 100_000 + "]" * 100_000).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ValueError, match="nested too deeply"):
        load_model(path)
    with pytest.raises(ValueError, match="nested too deeply"):
        kt.models.model_from_json("[" * 100_000 + "]" * 100_000)


# ----------------------------------------------------------------------------- .pt specifics


def test_corrupted_pickles_are_clear_errors(tmp_path):
    """Damage inside a `.pt`'s pickle (not its tensor data) used to escape as KeyError/IndexError."""
    source = small_model()
    path = tmp_path / "m.pt"
    torch.save(source.state_dict(), path, _use_new_zipfile_serialization=False)  # a bare pickle stream
    raw = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    refused = 0
    for _ in range(25):
        damaged = bytearray(raw)
        for position in rng.integers(0, 200, size=3):
            damaged[int(position)] = int(rng.integers(0, 256))
        path.write_bytes(bytes(damaged))
        model = small_model()
        snapshot = _snapshot(model)
        try:
            model.load_weights(path)  # any other exception type fails the test
        except ValueError as error:
            assert "m.pt" in str(error)
            _assert_unchanged(model, snapshot)
            refused += 1
    assert refused > 10


@pytest.mark.parametrize("real", [".weights.h5", ".safetensors"])
def test_pt_file_that_is_really_another_format(tmp_path, real):
    small_model().save_weights(tmp_path / f"m{real}")
    os.replace(tmp_path / f"m{real}", tmp_path / "m.pt")
    kind = "HDF5" if real == ".weights.h5" else "safetensors"
    _assert_refused(tmp_path / "m.pt", match=f"is an? {kind} file")


def test_full_disk_while_writing_pt_says_no_space(tmp_path, monkeypatch):
    """A write that fails with ENOSPC reads "No space left on device" for `.pt` too, and the old file stays."""
    import builtins
    import errno

    path = tmp_path / "m.pt"
    model = small_model()
    model.save_weights(path)
    before = path.read_bytes()
    real_open = builtins.open

    class FullDisk:
        def __init__(self, handle):
            self.handle = handle

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.handle, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

    def full_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        return FullDisk(handle) if ".tmp-" in str(file) and "w" in mode else handle

    monkeypatch.setattr(builtins, "open", full_open)
    with pytest.raises(OSError, match="No space left on device"):
        model.save_weights(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]
