"""`kt.datasets` loaders against Keras's on the same small files written here.

This machine is offline, so each library's download step (`get_file`, as imported by the loader) is
pointed at the local files; everything after it (parsing, shuffles, splits, word-id processing)
is each library's own code. The offline error and the no-unpickling reader are tested too.
"""

import gzip
import importlib
import io
import os
import pickle
import zipfile

import keras
import numpy as np
import pytest

import kerastorch as kt
from kerastorch.datasets.safe_npz import load_npz

RNG = np.random.default_rng(0)


def _ragged(count, vocabulary=60):
    out = np.empty(count, dtype=object)
    for index in range(count):
        out[index] = [int(w) for w in RNG.integers(1, vocabulary, RNG.integers(2, 12))]
    return out


def _point_downloads(monkeypatch, module, paths):
    """Both libraries' loader `module` read `paths` (one per get_file call, in order) instead of downloading."""
    targets = [f"keras.src.datasets.{module}", f"kerastorch.datasets.{module}", "kerastorch.datasets.word_sequences"]
    for target in targets:
        queue = list(paths)
        monkeypatch.setattr(importlib.import_module(target), "get_file",
                            lambda *args, queue=queue, **kwargs: queue.pop(0) if len(queue) > 1 else queue[0])


def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)) and not isinstance(theirs, np.ndarray):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    if isinstance(theirs, dict):
        assert ours == theirs
        return
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    if theirs.dtype == object:
        assert [list(a) for a in ours] == [list(b) for b in theirs]
    else:
        np.testing.assert_array_equal(ours, theirs)


def _compare(monkeypatch, module, paths, **kwargs):
    _point_downloads(monkeypatch, module, paths)
    theirs = getattr(keras.datasets, module).load_data(**kwargs)
    ours = getattr(kt.datasets, module).load_data(**kwargs)
    _same(ours, theirs)


def test_mnist_and_housing_match_keras(tmp_path, monkeypatch):
    np.savez(tmp_path / "mnist.npz", x_train=RNG.integers(0, 255, (6, 28, 28), dtype=np.uint8),
             y_train=RNG.integers(0, 10, 6, dtype=np.uint8), x_test=RNG.integers(0, 255, (3, 28, 28), dtype=np.uint8),
             y_test=RNG.integers(0, 10, 3, dtype=np.uint8))
    _compare(monkeypatch, "mnist", [str(tmp_path / "mnist.npz")])
    np.savez(tmp_path / "boston.npz", x=RNG.normal(size=(31, 13)), y=RNG.normal(size=31))
    for kwargs in ({}, {"test_split": 0.5, "seed": 3}):
        _compare(monkeypatch, "boston_housing", [str(tmp_path / "boston.npz")], **kwargs)
    np.savez(tmp_path / "cal.npz", x=RNG.normal(size=(640, 8)).astype("float32"), y=RNG.normal(size=640))
    for kwargs in ({}, {"version": "small", "test_split": 0.1, "seed": 7}):
        _compare(monkeypatch, "california_housing", [str(tmp_path / "cal.npz")], **kwargs)
    for lib in (kt, keras):
        with pytest.raises(ValueError):
            lib.datasets.boston_housing.load_data(test_split=1.0)


def test_fashion_mnist_idx_files_match_keras(tmp_path, monkeypatch):
    paths = []
    for name, count, image in (("train-labels", 5, False), ("train-images", 5, True), ("t10k-labels", 2, False),
                               ("t10k-images", 2, True)):
        header = b"\0" * (16 if image else 8)
        data = RNG.integers(0, 255, count * (784 if image else 1), dtype=np.uint8).tobytes()
        path = tmp_path / f"{name}.gz"
        with gzip.open(path, "wb") as handle:
            handle.write(header + data)
        paths.append(str(path))
    _compare(monkeypatch, "fashion_mnist", paths)


SEQUENCE_ARGUMENTS = [{}, {"num_words": 20, "skip_top": 3}, {"maxlen": 8, "oov_char": None}, {"start_char": None},
                      {"start_char": None, "index_from": 0, "seed": 5}]


@pytest.mark.parametrize("kwargs", SEQUENCE_ARGUMENTS, ids=repr)
def test_imdb_and_reuters_sequences_match_keras(tmp_path, monkeypatch, kwargs):
    np.savez(tmp_path / "imdb.npz", x_train=_ragged(12), y_train=RNG.integers(0, 2, 12), x_test=_ragged(7),
             y_test=RNG.integers(0, 2, 7))
    _compare(monkeypatch, "imdb", [str(tmp_path / "imdb.npz")], **kwargs)
    np.savez(tmp_path / "reuters.npz", x=_ragged(15), y=RNG.integers(0, 46, 15))
    _compare(monkeypatch, "reuters", [str(tmp_path / "reuters.npz")], test_split=0.3, **kwargs)


def test_word_indexes_and_label_names(tmp_path, monkeypatch):
    (tmp_path / "index.json").write_text('{"the": 1, "movie": 17}')
    for module in ("imdb", "reuters"):
        _point_downloads(monkeypatch, module, [str(tmp_path / "index.json")])
        assert getattr(kt.datasets, module).get_word_index() == getattr(keras.datasets, module).get_word_index()
    assert kt.datasets.reuters.get_label_names() == keras.datasets.reuters.get_label_names()


def _cifar_records(count, label_columns):
    images = RNG.integers(0, 255, (count, 3072), dtype=np.uint8)
    labels = RNG.integers(0, 100, (count, label_columns), dtype=np.uint8)
    return images, labels


def test_cifar100_binary_release_matches_keras_python_release(tmp_path, monkeypatch):
    python_dir, binary_dir = tmp_path / "py" / "cifar-100-python", tmp_path / "bin" / "cifar-100-binary"
    python_dir.mkdir(parents=True)
    binary_dir.mkdir(parents=True)
    for name, count in (("train", 6), ("test", 3)):
        images, labels = _cifar_records(count, 2)
        batch = {b"data": images, b"coarse_labels": labels[:, 0].tolist(), b"fine_labels": labels[:, 1].tolist()}
        (python_dir / name).write_bytes(pickle.dumps(batch))  # Keras's format, written here for Keras to read
        (binary_dir / f"{name}.bin").write_bytes(np.concatenate([labels, images], axis=1).tobytes())
    for mode in ("fine", "coarse"):
        monkeypatch.setattr(importlib.import_module("keras.src.datasets.cifar100"), "get_file",
                            lambda *a, **k: str(tmp_path / "py"))
        monkeypatch.setattr(importlib.import_module("kerastorch.datasets.cifar100"), "get_file",
                            lambda *a, **k: str(tmp_path / "bin"))
        _same(kt.datasets.cifar100.load_data(mode), keras.datasets.cifar100.load_data(mode))


def test_cifar10_binary_records_match_keras_batches(tmp_path, monkeypatch):
    from keras.src.datasets.cifar import load_batch

    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    expected_x, expected_y = [], []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images, labels = _cifar_records(2, 1)
        (tmp_path / name).write_bytes(pickle.dumps({b"data": images, b"labels": labels[:, 0].tolist()}))
        (folder / f"{name}.bin").write_bytes(np.concatenate([labels, images], axis=1).tobytes())
        keras_x, keras_y = load_batch(str(tmp_path / name))  # Keras's reader of the python release
        expected_x.append(keras_x.transpose(0, 2, 3, 1))
        expected_y.append(np.reshape(keras_y, (-1, 1)).astype("uint8"))
    monkeypatch.setattr(importlib.import_module("kerastorch.datasets.cifar10"), "get_file", lambda *a, **k: str(tmp_path))
    (x_train, y_train), (x_test, y_test) = kt.datasets.cifar10.load_data()
    _same((x_train, y_train), (np.concatenate(expected_x[:5]), np.concatenate(expected_y[:5])))
    _same((x_test, y_test), (expected_x[5], expected_y[5]))
    (folder / "test_batch.bin").write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match="whole number"):
        kt.datasets.cifar10.load_data()


@pytest.mark.parametrize("module", ["mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters",
                                    "boston_housing", "california_housing"])
def test_offline_loaders_say_where_to_place_the_file(tmp_path, monkeypatch, module):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr("kerastorch.utils.file_utils.urllib.request.urlopen",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("network unreachable")))
    with pytest.raises(ConnectionError) as error:
        getattr(kt.datasets, module).load_data()
    message = str(error.value)
    assert "https://" in message and str(tmp_path / "datasets") in message and "place it at" in message


def _npy_bytes(array, protocol):
    """An object array's `.npy` stream pickled with `protocol` (what numpy and older numpys write)."""
    stream = io.BytesIO()
    np.lib.format.write_array_header_1_0(stream, np.lib.format.header_data_from_array_1_0(array))
    pickle.dump(array, stream, protocol=protocol)
    return stream.getvalue()


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_object_arrays_read_without_unpickling(tmp_path, protocol):
    mixed = np.empty((2, 2), dtype=object)
    mixed[0, 0], mixed[0, 1], mixed[1, 0], mixed[1, 1] = [1, 2], "text", None, np.arange(3.0)
    arrays = {"ragged": _ragged(9), "mixed": mixed, "numbers": RNG.normal(size=(3, 2))}
    with zipfile.ZipFile(tmp_path / "a.npz", "w") as archive:
        for name, array in arrays.items():
            if array.dtype == object:
                archive.writestr(f"{name}.npy", _npy_bytes(array, protocol))
            else:
                stream = io.BytesIO()
                np.lib.format.write_array(stream, array)
                archive.writestr(f"{name}.npy", stream.getvalue())
    loaded = load_npz(tmp_path / "a.npz")
    assert [list(s) for s in loaded["ragged"]] == [list(s) for s in arrays["ragged"]]
    assert loaded["mixed"].shape == (2, 2) and loaded["mixed"][0, 1] == "text" and loaded["mixed"][1, 0] is None
    np.testing.assert_array_equal(loaded["mixed"][1, 1], np.arange(3.0))
    np.testing.assert_array_equal(loaded["numbers"], arrays["numbers"])


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo unsafe",))


def test_crafted_object_array_is_refused_without_running_it(tmp_path):
    crafted = np.empty(1, dtype=object)
    crafted[0] = _Payload()
    np.savez(tmp_path / "crafted.npz", x=crafted)
    with pytest.raises(ValueError, match="system.*refused"):
        load_npz(tmp_path / "crafted.npz")
