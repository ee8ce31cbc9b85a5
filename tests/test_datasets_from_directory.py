"""`kt.utils` dataset builders and image helpers against Keras 3 on the same files and arrays.

Keras's `image_dataset_from_directory` (and the text/audio/timeseries builders) return `tf.data`
datasets, and TensorFlow is not installed here; Keras's own TensorFlow-free parts are the reference:
the file index and split (`dataset_utils`), the Pillow image loader and `ops.image.resize` of its
"grain" path, the text reader of that path, the torch-backend `split_dataset`, and the Pillow helpers.
"""

import io
import os
import wave

import keras
import numpy as np
import pytest
import torch
from keras.src.utils import dataset_utils, image_dataset_utils, text_dataset_utils
from PIL import Image

import kerastorch as kt
from kerastorch.utils import file_dataset
from kerastorch.utils.image_dataset import load_image

IMAGE_FORMATS = image_dataset_utils.ALLOWLIST_FORMATS


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    """Three classes of images in every mode and format Keras reads, a nested folder, files to skip."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for c, name in enumerate(["b_dog", "a_cat", "c_owl"]):
        (root / name / "nested").mkdir(parents=True)
        for i in range(5 + c):
            h, w = 12 + 3 * i, 20 - i
            Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / name / f"img_{i}.png")
        Image.fromarray(rng.integers(0, 256, (17, 11), dtype=np.uint8)).save(root / name / "grey.JPG")
        Image.fromarray(rng.integers(0, 256, (9, 14, 4), dtype=np.uint8)).save(root / name / "nested" / "alpha.png")
        Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)).save(root / name / "photo.bmp")
        Image.fromarray(rng.integers(0, 256, (13, 8), dtype=np.uint8)).convert("P").save(root / name / "anim.gif")
        (root / name / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / ".hidden" / "x.png")
    elsewhere = tmp_path_factory.mktemp("linked")  # reached only with follow_links=True
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).save(elsewhere / f"far_{i}.png")
    os.symlink(elsewhere, root / "a_cat" / "link", target_is_directory=True)
    return str(root)


@pytest.fixture(scope="module")
def text_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("texts")
    for c, name in enumerate(["neg", "pos"]):
        (root / name).mkdir()
        for i in range(6):
            (root / name / f"t{i}.txt").write_text(f"{name} review number {i}\nsecond line é {'x' * (i + c)}")
        (root / name / "skip.md").write_text("ignored")
    return str(root)


# ------------------------------------------------------------------------------- the file index

INDEX_CASES = [
    dict(labels="inferred", shuffle=False),
    dict(labels="inferred", shuffle=True, seed=7),
    dict(labels="inferred", shuffle=True, seed=123456),
    dict(labels="inferred", class_names=["c_owl", "a_cat"], shuffle=True, seed=3),
    dict(labels=None, shuffle=True, seed=11),
    dict(labels=None, shuffle=False, follow_links=True),
    dict(labels="inferred", shuffle=True, seed=2, follow_links=True),
]


@pytest.mark.parametrize("case", INDEX_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_index_directory_equals_keras(image_dir, case, capsys):
    ours = file_dataset.index_directory(image_dir, formats=IMAGE_FORMATS, **case)
    printed = capsys.readouterr().out
    classes = "." if ours[1] is None else f" belonging to {len(ours[2])} classes."
    assert printed == f"Found {len(ours[0])} files{classes}\n"
    assert any("far_" in p for p in ours[0]) == bool(case.get("follow_links"))
    theirs = dataset_utils.index_directory(image_dir, formats=IMAGE_FORMATS, verbose=False, **case)
    assert ours[0] == theirs[0]
    assert ours[2] == theirs[2]
    if theirs[1] is None:
        assert ours[1] is None
    else:
        np.testing.assert_array_equal(ours[1], theirs[1])


def test_explicit_labels_and_split_equal_keras(image_dir):
    sorted_paths, _, _ = dataset_utils.index_directory(image_dir, None, IMAGE_FORMATS, shuffle=False, verbose=False)
    labels = [i % 4 for i in range(len(sorted_paths))]
    # (Keras shuffles the caller's list in place; kerastorch leaves it alone)
    theirs = dataset_utils.index_directory(image_dir, list(labels), IMAGE_FORMATS, shuffle=True, seed=5, verbose=False)
    for subset in ("training", "validation"):
        expected = dataset_utils.get_training_or_validation_split(theirs[0], theirs[1], 0.3, subset)
        loader = kt.utils.image_dataset_from_directory(
            image_dir, labels=labels, image_size=8, seed=5, validation_split=0.3, subset=subset, batch_size=64,
            verbose=False, num_workers=0)
        assert loader.class_names == theirs[2] == ["0", "1", "2", "3"]
        assert [int(v) for v in loader.dataset.labels] == list(expected[1])
        assert loader.file_paths == expected[0]
    assert labels == [i % 4 for i in range(len(sorted_paths))]  # the caller's list is left as it was


def test_subsets_are_keras_subsets_and_batches_carry_their_labels(image_dir):
    train, val = kt.utils.image_dataset_from_directory(
        image_dir, image_size=(10, 12), seed=42, validation_split=0.2, subset="both", batch_size=5,
        label_mode="categorical", verbose=False, num_workers=2)
    paths, labels, names = dataset_utils.index_directory(image_dir, "inferred", IMAGE_FORMATS, seed=42, verbose=False)
    exp_train = dataset_utils.get_training_or_validation_split(paths, labels, 0.2, "training")
    exp_val = dataset_utils.get_training_or_validation_split(paths, labels, 0.2, "validation")
    assert (train.file_paths, val.file_paths) == (exp_train[0], exp_val[0])
    assert train.class_names == val.class_names == names == ["a_cat", "b_dog", "c_owl"]
    assert isinstance(train, torch.utils.data.DataLoader) and len(train) == -(-len(exp_train[0]) // 5)
    # validation is not reshuffled: batches follow the file list, images are the files' pixels
    images, onehot = map(torch.cat, zip(*list(val)))
    assert images.shape == (len(exp_val[0]), 10, 12, 3) and images.dtype == torch.float32
    np.testing.assert_array_equal(onehot.numpy(), np.eye(3, dtype="float32")[exp_val[1]])
    for image, path in zip(images, exp_val[0]):
        ref = image_dataset_utils._load_image_grain(path, (10, 12), 3, "bilinear", "channels_last")
        np.testing.assert_allclose(image.numpy(), np.asarray(ref), atol=1e-4)
    # training is reshuffled every epoch, repeatably for the seed; every file is read once per epoch
    epochs = [torch.cat([y.argmax(-1) for _, y in train]) for _ in range(2)]
    assert sorted(epochs[0].tolist()) == sorted(exp_train[1].tolist())
    assert not torch.equal(epochs[0], epochs[1])
    again = kt.utils.image_dataset_from_directory(
        image_dir, image_size=(10, 12), seed=42, validation_split=0.2, subset="training", batch_size=5,
        label_mode="categorical", verbose=False, num_workers=0)
    assert torch.equal(torch.cat([y.argmax(-1) for _, y in again]), epochs[0])


# ------------------------------------------------------------------------------- decoded pixels

PIXEL_CASES = [  # (color_mode, channels, interpolation, size, crop, pad, data_format)
    ("rgb", 3, "bilinear", (16, 16), False, False, "channels_last"),
    ("rgb", 3, "nearest", (7, 25), False, False, "channels_last"),
    ("rgb", 3, "bicubic", (20, 9), False, False, "channels_first"),
    ("grayscale", 1, "bilinear", (12, 12), True, False, "channels_last"),
    ("rgba", 4, "bilinear", (15, 10), False, True, "channels_last"),
    ("rgb", 3, "nearest", (9, 14), True, False, "channels_first"),
]


@pytest.mark.parametrize("case", PIXEL_CASES, ids=lambda c: "-".join(map(str, c)))
def test_pixels_equal_keras_loader(image_dir, case):
    color_mode, channels, interpolation, size, crop, pad, data_format = case
    paths, _, _ = dataset_utils.index_directory(image_dir, None, IMAGE_FORMATS, shuffle=False, verbose=False)
    for path in paths:
        ours = load_image(path, size, color_mode, interpolation, data_format, crop, pad)
        theirs = image_dataset_utils._load_image_grain(path, size, channels, interpolation, data_format, crop, pad)
        np.testing.assert_allclose(ours.numpy(), np.asarray(theirs), atol=1e-3, err_msg=path)


def test_unbatched_label_modes_and_channels_first(image_dir):
    ds = kt.utils.image_dataset_from_directory(
        image_dir, class_names=["c_owl", "b_dog"], label_mode="binary", batch_size=None, image_size=6,
        color_mode="grayscale", data_format="channels_first", shuffle=False, verbose=False, num_workers=0)
    image, label = next(iter(ds))
    assert image.shape == (1, 6, 6) and label.shape == (1,) and label.dtype == torch.float32
    assert ds.class_names == ["c_owl", "b_dog"] and float(label) == 0.0  # c_owl is class 0
    assert all("a_cat" not in p for p in ds.file_paths)
    only_images = kt.utils.image_dataset_from_directory(image_dir, labels=None, image_size=4, batch_size=100,
                                                        shuffle=False, verbose=False, num_workers=0)
    (batch,) = list(only_images)
    assert isinstance(batch, torch.Tensor) and batch.shape == (len(only_images.file_paths), 4, 4, 3)
    assert only_images.class_names is None
    no_label_mode = kt.utils.image_dataset_from_directory(image_dir, label_mode=None, image_size=4, batch_size=100,
                                                          shuffle=False, verbose=False, num_workers=0)
    assert torch.equal(next(iter(no_label_mode)), batch) and no_label_mode.class_names is None  # as in Keras
    for workers in (-1, "2", True):
        with pytest.raises(ValueError, match="num_workers"):
            kt.utils.image_dataset_from_directory(image_dir, image_size=4, verbose=False, num_workers=workers)
    default = kt.utils.image_dataset_from_directory(image_dir, image_size=4, verbose=False)
    assert default.num_workers == min(4, os.cpu_count()) and default.pin_memory == torch.cuda.is_available()


def test_fit_evaluate_predict_read_the_loader(image_dir):
    torch.manual_seed(0)
    train, val = kt.utils.image_dataset_from_directory(image_dir, image_size=8, seed=1, validation_split=0.25,
                                                       subset="both", batch_size=8, verbose=False, num_workers=2)
    model = kt.Sequential([kt.Input((8, 8, 3)), kt.layers.Rescaling(1 / 255), kt.layers.Flatten(),
                           kt.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=2, verbose=0)
    assert len(history.history["val_accuracy"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert len(model.evaluate(val, verbose=0)) == 2
    assert model.predict(val, verbose=0).shape == (len(val.file_paths), 3)


BAD_ARGUMENTS = [
    dict(labels="folders"),
    dict(labels=np.zeros(44, "int32")),  # a list or tuple, not an array
    dict(labels=[0, 1], class_names=["a_cat"]),
    dict(label_mode="sparse"),
    dict(color_mode="cmyk"),
    dict(image_size=(3, 4, 5)),
    dict(interpolation="cubic"),
    dict(validation_split=1.5, subset="training", seed=1),
    dict(validation_split=0.2),
    dict(subset="training"),
    dict(validation_split=0.2, subset="train", seed=1),
    dict(validation_split=0.2, subset="training"),  # shuffling without a seed
    dict(label_mode="binary"),  # three classes
    dict(class_names=["a_cat", "zebra"]),
    dict(labels=[0, 1, 2]),  # not one label per file
    dict(pad_to_aspect_ratio=True, crop_to_aspect_ratio=True),
]


@pytest.mark.parametrize("kwargs", BAD_ARGUMENTS, ids=lambda k: "-".join(map(str, k)))
def test_bad_arguments_raise_value_error_like_keras(image_dir, kwargs):
    with pytest.raises(ValueError):
        kt.utils.image_dataset_from_directory(image_dir, verbose=False, num_workers=0, **kwargs)
    if "pad_to_aspect_ratio" not in kwargs:  # Keras checks that one only once it decodes
        with pytest.raises((ValueError, ImportError)) as info:  # ImportError: the checks passed, tf is missing
            keras.utils.image_dataset_from_directory(image_dir, verbose=False, **kwargs)
        assert info.type is ValueError


def test_what_cannot_work_says_why(image_dir):
    for kwargs in (dict(interpolation="gaussian"), dict(interpolation="mitchellcubic"), dict(format="tf")):
        with pytest.raises(NotImplementedError, match=str(list(kwargs.values())[0])):
            kt.utils.image_dataset_from_directory(image_dir, verbose=False, **kwargs)


# ----------------------------------------------------------------------------------- text, audio


def test_text_dataset_equals_keras_index_and_reader(text_dir):
    train = kt.utils.text_dataset_from_directory(text_dir, batch_size=3, max_length=20, validation_split=0.5,
                                                 subset="training", seed=9, shuffle=True, verbose=False)
    val = kt.utils.text_dataset_from_directory(text_dir, batch_size=3, max_length=20, validation_split=0.5,
                                               subset="validation", seed=9, label_mode="binary", verbose=False)
    paths, labels, names = dataset_utils.index_directory(text_dir, "inferred", (".txt",), seed=9, verbose=False)
    exp_val = dataset_utils.get_training_or_validation_split(paths, labels, 0.5, "validation")
    assert train.class_names == names == ["neg", "pos"]
    assert sorted(train.file_paths + val.file_paths) == sorted(paths)
    texts, targets = [], []
    for batch_texts, batch_labels in val:
        assert isinstance(batch_texts, (list, tuple)) and batch_labels.shape[1:] == (1,)
        texts += list(batch_texts)
        targets += batch_labels[:, 0].tolist()
    assert val.file_paths == exp_val[0]  # the subset's files; their order is reshuffled every epoch
    expected = [text_dataset_utils._path_to_string_content_grain(p, 20) for p in exp_val[0]]
    assert sorted(zip(texts, targets)) == sorted(zip(expected, exp_val[1].astype("float32").tolist()))


def _write_wav(path, samples, rate=8000):
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(samples.astype("<i2").tobytes())


def test_audio_dataset_decodes_pads_and_cuts(tmp_path):
    rng = np.random.default_rng(1)
    clips = {}
    for name in ("no", "yes"):
        (tmp_path / name).mkdir()
        for i in range(3):
            clip = rng.integers(-32768, 32767, (50 + 10 * i, 2))
            _write_wav(tmp_path / name / f"c{i}.wav", clip)
            clips[str(tmp_path / name / f"c{i}.wav")] = clip.astype("float32") / 32768
    ds = kt.utils.audio_dataset_from_directory(tmp_path, batch_size=6, shuffle=False, verbose=False, num_workers=0)
    audio, labels = next(iter(ds))
    assert audio.shape == (6, 70, 2) and labels.tolist() == [0, 0, 0, 1, 1, 1]
    for row, path in zip(audio, ds.file_paths):  # zero-padded to the batch's longest clip, as padded_batch does
        n = len(clips[path])
        np.testing.assert_allclose(row[:n].numpy(), clips[path], atol=1e-7)
        assert not row[n:].any()
    cut = kt.utils.audio_dataset_from_directory(tmp_path, batch_size=2, output_sequence_length=55, shuffle=False,
                                                labels=None, verbose=False, num_workers=0)
    first = next(iter(cut))
    assert first.shape == (2, 55, 2) and not first[0, 50:].any()
    ragged = kt.utils.audio_dataset_from_directory(tmp_path, batch_size=3, ragged=True, shuffle=False, verbose=False,
                                                   num_workers=0)
    nested, _ = next(iter(ragged))
    assert [t.shape[0] for t in nested.unbind()] == [50, 60, 70]
    with pytest.raises(NotImplementedError, match="resample"):
        next(iter(kt.utils.audio_dataset_from_directory(tmp_path, sampling_rate=16000, verbose=False, num_workers=0)))
    with pytest.raises(ValueError):
        kt.utils.audio_dataset_from_directory(tmp_path, ragged=True, output_sequence_length=5)


# ------------------------------------------------------------------------------------ timeseries


def _keras_windows(data, targets, sequence_length, sequence_stride=1, sampling_rate=1, start_index=None,
                   end_index=None, shuffle=False, seed=None):
    """Keras's windows, step by step as its TensorFlow-free ("grain") path builds them."""
    start_index = start_index or 0
    end_index = len(data) if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, num_seqs, sequence_stride)
    if shuffle:
        np.random.RandomState(seed).shuffle(positions)
    part = np.asarray(data[start_index:end_index])
    windows = np.stack([part[np.arange(p, p + sequence_length * sampling_rate, sampling_rate)] for p in positions])
    return windows, None if targets is None else np.asarray(targets[start_index:])[positions]


TIMESERIES_CASES = [
    dict(sequence_length=10, sampling_rate=2, batch_size=8),  # Keras's docstring example 1
    dict(sequence_length=5, sequence_stride=3, start_index=4, end_index=90, batch_size=7),
    dict(sequence_length=4, batch_size=None),
    dict(sequence_length=6, sampling_rate=3, sequence_stride=2, batch_size=16, with_targets=False),
]


@pytest.mark.parametrize("case", TIMESERIES_CASES, ids=str)
def test_timeseries_windows_equal_keras(case):
    case = dict(case)
    data = np.arange(200, dtype="float32").reshape(100, 2)
    targets = None if not case.pop("with_targets", True) else np.arange(100) * 10
    ds = kt.utils.timeseries_dataset_from_array(data, targets, **case)
    case.pop("batch_size")
    windows, expected_targets = _keras_windows(data, targets, **case)
    items = list(ds)
    if ds.batch_sampler is not None or isinstance(ds.sampler, torch.utils.data.BatchSampler):
        x = torch.cat([b[0] if targets is not None else b for b in items])
    else:
        x = torch.stack([b[0] if targets is not None else b for b in items])
    np.testing.assert_array_equal(x.numpy(), windows)
    if targets is not None:
        y = torch.cat([b[1].reshape(-1) for b in items])
        np.testing.assert_array_equal(y.numpy(), expected_targets)


def test_timeseries_batches_gathered_or_read_window_by_window_agree():
    data, targets = np.random.default_rng(0).normal(size=(60, 3)), np.arange(60)
    ds = kt.utils.timeseries_dataset_from_array(data, targets, sequence_length=7, sampling_rate=2, batch_size=8)

    class OneByOne(torch.utils.data.Dataset):  # a wrapper without __getitems__, as fit's sharding uses
        def __len__(self):
            return len(ds.dataset)

        def __getitem__(self, i):
            return ds.dataset[i]

    plain = torch.utils.data.DataLoader(OneByOne(), batch_size=8, collate_fn=ds.collate_fn)
    for (x, y), (u, v) in zip(ds, plain, strict=True):
        assert torch.equal(x, u) and torch.equal(y, v) and x.shape[1:] == (7, 3)


def test_timeseries_shuffle_and_docstring_example():
    # Keras's docstring: targets that are the data 10 steps ahead
    data = np.arange(100)
    ds = kt.utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=256)
    x, y = next(iter(ds))
    assert x.shape == (81, 10) and x[0].tolist() == list(range(10)) and int(y[0]) == 10
    shuffled = kt.utils.timeseries_dataset_from_array(data, data, sequence_length=5, shuffle=True, seed=4,
                                                      batch_size=32)
    epochs = [torch.cat([b[1] for b in shuffled]) for _ in range(2)]
    assert sorted(epochs[0].tolist()) == list(range(96)) and not torch.equal(epochs[0], epochs[1])
    for bad in (dict(sampling_rate=0), dict(sequence_stride=100), dict(start_index=-1), dict(end_index=100),
                dict(start_index=10, end_index=5)):
        with pytest.raises(ValueError):
            kt.utils.timeseries_dataset_from_array(data, None, sequence_length=3, **bad)
        with pytest.raises((ValueError, ImportError)) as info:
            keras.utils.timeseries_dataset_from_array(data, None, sequence_length=3, **bad)
        assert info.type is ValueError


# --------------------------------------------------------------------------------- split_dataset

SPLIT_CASES = [
    dict(left_size=0.8, shuffle=True, seed=3),
    dict(left_size=7, right_size=13, shuffle=True, seed=0),
    dict(right_size=0.25, shuffle=True, seed=99),
]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=str)
def test_split_dataset_picks_the_samples_keras_picks(case):
    x = np.arange(60, dtype="float32").reshape(20, 3)
    y = np.arange(20)
    ours = kt.utils.split_dataset((x, y), **case)
    theirs = keras.utils.split_dataset((x, y), **case)
    for a, b in zip(ours, theirs):
        assert len(a) == len(b)
        for i in range(len(a)):
            for u, v in zip(a[i], b[i]):
                np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def test_split_dataset_in_order_and_loaders(image_dir):
    left, right = kt.utils.split_dataset(np.arange(10), left_size=0.6, right_size=0.2)
    assert [int(left[i][0]) for i in range(len(left))] == list(range(6))
    assert [int(right[i][0]) for i in range(len(right))] == [8, 9]
    loader = kt.utils.image_dataset_from_directory(image_dir, image_size=4, batch_size=4, seed=0, verbose=False,
                                                   num_workers=0)
    a, b = kt.utils.split_dataset(loader, left_size=0.5, shuffle=True, seed=1)
    assert a.class_names == loader.class_names and a.batch_size == 4
    assert len(a.dataset) + len(b.dataset) == len(loader.dataset)
    for kwargs, error in ((dict(), ValueError), (dict(left_size=1.2), ValueError), (dict(left_size="half"), TypeError),
                          (dict(left_size=0.5, right_size=0.7), ValueError)):
        with pytest.raises(error):
            kt.utils.split_dataset(np.arange(10), **kwargs)
        with pytest.raises(error):
            keras.utils.split_dataset(np.arange(10), **kwargs)


# ---------------------------------------------------------------------------------- image utils

RGB = np.random.default_rng(2).uniform(-3, 5, (6, 5, 3)).astype("float32")
UTIL_CASES = [  # (function, args, kwargs)
    ("array_to_img", (RGB,), {}),
    ("array_to_img", (RGB.transpose(2, 0, 1),), dict(data_format="channels_first")),
    ("array_to_img", (np.clip(RGB * 40, 0, 255),), dict(scale=False)),
    ("array_to_img", (np.random.default_rng(3).uniform(0, 1, (4, 4, 4)),), {}),
    ("array_to_img", (np.arange(16.0).reshape(4, 4, 1),), {}),
    ("array_to_img", (np.arange(16.0).reshape(4, 4, 1) * 100,), dict(scale=False)),  # 32-bit grey
    ("img_to_array", (Image.fromarray((np.abs(RGB) * 40).astype("uint8")),), {}),
    ("img_to_array", (Image.fromarray((np.abs(RGB) * 40).astype("uint8")),), dict(data_format="channels_first")),
    ("img_to_array", (Image.fromarray(np.arange(12, dtype="uint8").reshape(3, 4)),), dict(dtype="int32")),
    ("img_to_array", (Image.fromarray(np.arange(12, dtype="uint8").reshape(3, 4)),),
     dict(data_format="channels_first")),
]


@pytest.mark.parametrize("case", UTIL_CASES, ids=lambda c: c if isinstance(c, str) else None)
def test_image_utils_equal_keras(case):
    name, args, kwargs = case
    ours, theirs = getattr(kt.utils, name)(*args, **kwargs), getattr(keras.utils, name)(*args, **kwargs)
    if name == "array_to_img":
        assert ours.mode == theirs.mode and ours.size == theirs.size
    assert np.asarray(ours).dtype == np.asarray(theirs).dtype
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.parametrize("kwargs", [dict(), dict(color_mode="grayscale"), dict(color_mode="rgba"),
                                    dict(target_size=(7, 9)), dict(target_size=(7, 9), interpolation="bicubic"),
                                    dict(target_size=(5, 12), interpolation="lanczos", keep_aspect_ratio=True),
                                    dict(target_size=(12, 5), interpolation="box", keep_aspect_ratio=True)], ids=str)
def test_load_img_equals_keras(image_dir, kwargs):
    path = os.path.join(image_dir, "a_cat", "img_3.png")
    ours, theirs = kt.utils.load_img(path, **kwargs), keras.utils.load_img(path, **kwargs)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    with open(path, "rb") as f:
        from_bytes = kt.utils.load_img(io.BytesIO(f.read()), **kwargs)
    np.testing.assert_array_equal(np.asarray(from_bytes), np.asarray(theirs))


def test_save_img_writes_what_keras_writes(tmp_path):
    for ext, x, kwargs in (("png", RGB, {}), ("jpg", RGB, dict(quality=90)),
                           ("png", RGB.transpose(2, 0, 1), dict(data_format="channels_first"))):
        kt.utils.save_img(tmp_path / f"ours.{ext}", x, **kwargs)
        keras.utils.save_img(tmp_path / f"theirs.{ext}", x, **kwargs)
        assert (tmp_path / f"ours.{ext}").read_bytes() == (tmp_path / f"theirs.{ext}").read_bytes()
    buffer = io.BytesIO()
    kt.utils.save_img(buffer, torch.from_numpy(RGB), file_format="png")
    np.testing.assert_array_equal(np.asarray(Image.open(buffer)), np.asarray(keras.utils.array_to_img(RGB)))
    with pytest.warns(UserWarning, match="alpha"):
        kt.utils.save_img(tmp_path / "a.jpg", np.ones((3, 3, 4)))
    with pytest.raises(ValueError):
        kt.utils.array_to_img(np.ones((3, 3, 2)))
    with pytest.raises(ValueError):
        kt.utils.load_img(tmp_path / "ours.png", color_mode="cmyk")


# ------------------------------------------------------------------------------ the example


@pytest.mark.slow
def test_transfer_learning_example_runs(monkeypatch, capsys, tmp_path):
    """The guide's workflow end to end on the folder the example writes (short: 2 epochs per phase)."""
    import runpy

    example = os.path.join(os.path.dirname(__file__), "..", "examples", "transfer_learning.py")
    monkeypatch.setattr("sys.argv", ["transfer_learning.py", "--epochs", "2", "--workdir", str(tmp_path)])
    threads = torch.get_num_threads()  # the example runs its tiny ops on one thread; restored after
    try:
        runpy.run_path(example, run_name="__main__")
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "Found 354 files belonging to 2 classes." in out and "Using 70 files for validation." in out
    assert "classes ['eight', 'nine']" in out and "digits_base (Sequential)" in out
    tuned = float(out.split("fine-tuned end to end: validation accuracy ")[1].split()[0])
    assert 0.0 <= tuned <= 1.0


@pytest.mark.parametrize("name", ["image_dataset_from_directory", "text_dataset_from_directory",
                                  "audio_dataset_from_directory", "timeseries_dataset_from_array", "split_dataset",
                                  "load_img", "img_to_array", "array_to_img", "save_img"])
def test_signatures_are_keras_signatures(name):
    """Keras's arguments, in Keras's order, with Keras's defaults (`format` defaults to "torch" here)."""
    import inspect

    ours = inspect.signature(getattr(kt.utils, name)).parameters
    theirs = inspect.signature(getattr(keras.utils, name)).parameters
    assert list(ours)[:len(theirs)] == list(theirs)
    for arg, param in theirs.items():
        if arg != "format":
            assert ours[arg].default == param.default, arg
    assert all(p.kind is p.KEYWORD_ONLY for p in list(ours.values())[len(theirs):])
