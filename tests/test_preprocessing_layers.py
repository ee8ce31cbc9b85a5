"""Preprocessing layers against Keras 3, one row per case: both libraries build the layer (and adapt it
on the same data), then outputs and dtypes, configs crossing both ways through `layers.serialize`/
`deserialize`, and for some rows `.keras` files saved by one library and loaded by the other, must agree.
Keras's hashing, lookup and text layers need TensorFlow; their rows run where it is installed (a dev
extra), and the documented Keras examples check the same layers without it."""

import json

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from keras_twin import assert_keras_files_load_both_ways, to_numpy

try:
    import tensorflow  # noqa: F401  (imported only by this module: Keras's string layers need it)

    HAVE_TF = True
except ImportError:
    HAVE_TF = False

RNG = np.random.default_rng(0)
FEATURES = RNG.normal(size=(24, 3)).astype("float32")
IMAGES = RNG.normal(size=(6, 4, 5, 2)).astype("float32") * 3 + 1
IDS = np.array([[0, 1, 3], [2, 2, 0], [3, 0, 1]])
AUDIO = RNG.normal(size=(2, 3000)).astype("float32")
SIGNAL = RNG.normal(size=(2, 300, 2)).astype("float32")
WORDS = np.array([["a", "c", "d"], ["d", "z", "b"], ["b", "b", ""]])
TEXT = np.array(["The quick brown fox!", "jumped over the lazy dog.", "THE DOG, the fox... and  the cat"])
UNICODE = np.array(["Ünïcode ÄB straße", "Hello,  World!! x-y_z", "   ", "a\tb\nc"])  # ASCII-only lower/split
NUMBERS = np.array([[3, 10, 7], [7, 7, 42], [-1, 3, 0]])


def _batches(x, size=7):
    return torch.utils.data.DataLoader(torch.as_tensor(x), batch_size=size)


# (Keras name, constructor arguments, input, adapt data or None, .keras files both ways)
ROWS = [
    ("Normalization", dict(), FEATURES, FEATURES, True),
    ("Normalization", dict(axis=None), FEATURES, FEATURES, False),
    ("Normalization", dict(axis=(1, 3)), IMAGES, IMAGES, True),
    ("Normalization", dict(invert=True), FEATURES, FEATURES, False),
    ("Normalization", dict(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.5, 2.0]), FEATURES, None, True),
    ("Normalization", dict(mean=2.0, variance=3.0, invert=True), FEATURES, None, False),
    ("Discretization", dict(bin_boundaries=[-0.5, 0.0, 1.0]), FEATURES, None, True),
    ("Discretization", dict(bin_boundaries=[0.0, 0.5], output_mode="one_hot"), FEATURES[:, :1], None, False),
    ("Discretization", dict(bin_boundaries=[0.0, 0.5], output_mode="multi_hot"), FEATURES, None, False),
    ("CategoryEncoding", dict(num_tokens=4), IDS, None, True),
    ("CategoryEncoding", dict(num_tokens=5, output_mode="count"), IDS, None, False),
    ("CategoryEncoding", dict(num_tokens=4, output_mode="one_hot"), IDS[:, :1], None, False),
    ("CategoryEncoding", dict(num_tokens=4, output_mode="binary"), IDS[0], None, False),
    ("MelSpectrogram", dict(fft_length=256, sequence_stride=64, num_mel_bins=24, sampling_rate=8000), AUDIO, None, True),
    ("MelSpectrogram", dict(fft_length=128, sequence_length=100, sequence_stride=50, num_mel_bins=16, power_to_db=False,
                            mag_exp=1.0, min_freq=50.0, max_freq=3000.0, window="hamming"), AUDIO, None, False),
    ("STFTSpectrogram", dict(), SIGNAL, None, True),
    ("STFTSpectrogram", dict(mode="magnitude", frame_length=64, frame_step=16, fft_length=128), SIGNAL, None, False),
    ("STFTSpectrogram", dict(mode="psd", frame_length=50, padding="same", scaling="spectrum"), SIGNAL, None, False),
    ("STFTSpectrogram", dict(mode="stft", frame_length=32, expand_dims=True, window="hamming"), SIGNAL, None, False),
    ("STFTSpectrogram", dict(mode="real", frame_length=32, periodic=True, data_format="channels_first"),
     SIGNAL.transpose(0, 2, 1).copy(), None, False),
    ("STFTSpectrogram", dict(mode="imag", frame_length=16, window=None, scaling=None), SIGNAL, None, False),
]

# Rows whose Keras layer (or its adapt()) needs TensorFlow; strings and integers as numpy arrays.
TF_ROWS = [
    ("Normalization", dict(axis=-1), IMAGES, [IMAGES[:4], IMAGES[4:]], False),
    ("Hashing", dict(num_bins=10), WORDS, None, False),
    ("Hashing", dict(num_bins=4, mask_value=""), WORDS, None, False),
    ("Hashing", dict(num_bins=7, salt=(3, 9), output_mode="count"), WORDS, None, False),
    ("Hashing", dict(num_bins=6, mask_value=0), NUMBERS, None, True),
    ("Hashing", dict(num_bins=6, output_mode="one_hot"), NUMBERS[:, :1], None, False),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"]), WORDS, None, False),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"], num_oov_indices=3, mask_token=""), WORDS, None, False),
    ("StringLookup", dict(vocabulary=["a", "b", "c"], output_mode="multi_hot"), WORDS, None, False),
    ("StringLookup", dict(vocabulary=["a", "b", "c"], output_mode="count", pad_to_max_tokens=True, max_tokens=8),
     WORDS, None, False),
    ("StringLookup", dict(vocabulary=["a", "b"], idf_weights=[0.3, 0.6], output_mode="tf_idf"), WORDS, None, False),
    ("StringLookup", dict(), WORDS, WORDS, False),
    ("StringLookup", dict(max_tokens=4, num_oov_indices=2, salt=11), WORDS, WORDS, False),
    ("StringLookup", dict(output_mode="tf_idf"), WORDS, WORDS, False),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"], invert=True), np.array([0, 1, 4, 2, 9, 3]), None, False),
    ("IntegerLookup", dict(vocabulary=[7, 3, 42]), NUMBERS, None, False),
    ("IntegerLookup", dict(vocabulary=[7, 3, 42], num_oov_indices=3, mask_token=0), NUMBERS, None, True),
    ("IntegerLookup", dict(vocabulary=[7, 3], num_oov_indices=2, oov_method="farmhash"), NUMBERS, None, False),
    ("IntegerLookup", dict(vocabulary=[7, 3, 42], output_mode="one_hot"), NUMBERS[:, :1], None, True),
    ("IntegerLookup", dict(), NUMBERS, NUMBERS, True),
    ("IntegerLookup", dict(output_mode="count", max_tokens=4), NUMBERS, NUMBERS, False),
    ("IntegerLookup", dict(vocabulary=[7, 3, 42], invert=True, mask_token=0), np.array([[0, 1, 2], [3, 4, 9]]), None,
     False),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"], mask_token="z", output_mode="multi_hot"), WORDS, None, False),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d", "z", ""], num_oov_indices=0), WORDS, None, False),
    ("StringLookup", dict(vocabulary=["a", "b", "c"], invert=True, mask_token="[M]"), np.array([0, 1, 3, 4, 9]), None,
     False),
    ("StringLookup", dict(vocabulary=["[UNK]", "a", "b"]), WORDS, None, False),
    ("IntegerLookup", dict(vocabulary=[7, 3, 42], oov_token=-7, invert=True), np.array([[0, 1, 2], [3, 4, 9]]), None,
     False),
    ("IntegerLookup", dict(vocabulary=[7, 3, 42], num_oov_indices=3, oov_method="farmhash", salt=5), NUMBERS, None,
     False),
    ("IntegerLookup", dict(output_mode="tf_idf"), NUMBERS, NUMBERS, False),
    ("Hashing", dict(num_bins=50), np.array(["Ünïcode", "ÄB", "straße"]), None, False),
    ("TextVectorization", dict(standardize="strip_punctuation", output_sequence_length=3), UNICODE, UNICODE, False),
    ("TextVectorization", dict(split="character", output_sequence_length=30), UNICODE, UNICODE, False),
    ("TextVectorization", dict(split=None, output_mode="one_hot"), UNICODE[:, None], UNICODE, False),
    ("TextVectorization", dict(), TEXT, TEXT, False),
    ("TextVectorization", dict(output_sequence_length=4, max_tokens=8), TEXT, TEXT, False),
    ("TextVectorization", dict(ngrams=2, output_mode="multi_hot", standardize="lower"), TEXT, TEXT, False),
    ("TextVectorization", dict(split="character", output_mode="count", standardize=None), TEXT, TEXT, False),
    ("TextVectorization", dict(ngrams=(1, 3), output_mode="tf_idf", pad_to_max_tokens=True, max_tokens=30), TEXT,
     TEXT, False),
    ("TextVectorization", dict(split=None, vocabulary=["the quick brown fox", "cat"]), TEXT[:, None], None, False),
    ("TextVectorization", dict(vocabulary=["the", "fox", "dog"], output_sequence_length=7), TEXT, None, False),
]


def _call(layer, x):
    out = layer(x)
    return out if isinstance(out, list) else to_numpy(out)


def _build(name, arguments, x, adapt):
    theirs = getattr(keras.layers, name)(**arguments)
    ours = getattr(kt.layers, name)(**arguments)
    if adapt is not None:
        theirs.adapt(adapt)
        ours.adapt(_batches(adapt) if isinstance(adapt, np.ndarray) and name == "Normalization" and adapt.ndim == 2
                   else adapt)
    expected = _call(theirs, x)
    if theirs.weights:  # trainable kernels (STFT): ours start from Keras's values
        ours(x)
        ours.set_weights([to_numpy(w) for w in theirs.get_weights()])
    return theirs, ours, expected


def _check_row(name, arguments, x, adapt, files, tmp_path):
    theirs, ours, expected = _build(name, arguments, x, adapt)
    got = _call(ours, x)
    if isinstance(expected, list):
        assert got == expected
    else:
        assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert len(ours.get_weights()) == len(theirs.get_weights())
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert a.shape == to_numpy(b).shape and a.dtype == to_numpy(b).dtype
    # Configs cross both ways and rebuild layers that compute the same thing.
    entry = json.loads(json.dumps(kt.layers.serialize(ours)))
    theirs_entry = keras.layers.serialize(theirs)
    for key, value in theirs_entry["config"].items():
        if key not in ("dtype", "name") and (adapt is None or key not in ("vocabulary", "idf_weights")):
            assert json.loads(json.dumps(entry["config"].get(key))) == json.loads(json.dumps(value)), key
    learned_vocabulary = adapt is not None and ("Lookup" in name or "Vectorization" in name)
    rebuilt_layers = [kt.layers.deserialize(theirs_entry), keras.layers.deserialize(entry)]
    if learned_vocabulary:  # it lives in a `.keras` archive's assets, not in the config: refused, not ignored
        if arguments.get("output_mode") != "tf_idf":
            with pytest.raises(RuntimeError, match="assets"):
                rebuilt_layers[0](x)
        rebuilt_layers = []
    for rebuilt in rebuilt_layers:
        if rebuilt.weights:
            if not rebuilt.built:
                rebuilt.build(np.shape(x))
            rebuilt.set_weights([to_numpy(w) for w in theirs.get_weights()])
        if adapt is None or name not in ("Normalization",):
            out = _call(rebuilt, x)
            if isinstance(expected, list):
                assert out == expected
            elif name != "Normalization" or adapt is None:
                np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    if files:
        inputs = keras.Input(np.shape(x)[1:])
        their_model = keras.Sequential([inputs, theirs])
        our_model = kt.Sequential([kt.Input(np.shape(x)[1:]), ours])
        assert_keras_files_load_both_ways(our_model, their_model, x, expected, tmp_path)


@pytest.mark.parametrize("name, arguments, x, adapt, files", ROWS,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)])
def test_layer_matches_keras(name, arguments, x, adapt, files, tmp_path):
    _check_row(name, arguments, x, adapt, files, tmp_path)


@pytest.mark.skipif(not HAVE_TF, reason="Keras's string layers need TensorFlow (pip install '.[dev]')")
@pytest.mark.parametrize("name, arguments, x, adapt, files", TF_ROWS,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(TF_ROWS)])
def test_string_layer_matches_keras(name, arguments, x, adapt, files, tmp_path):
    _check_row(name, arguments, x, adapt, files, tmp_path)


@pytest.mark.skipif(not HAVE_TF, reason="Keras's HashedCrossing needs TensorFlow")
@pytest.mark.parametrize("features", [
    (WORDS[:, 0], NUMBERS[:, 0]), (NUMBERS[:, 1], WORDS[:, 1]), (WORDS[:, :1], WORDS[:, 2:]),
    (NUMBERS[:, 0], NUMBERS[:, 2] * 1000, WORDS[:, 0]),
])
@pytest.mark.parametrize("arguments", [dict(num_bins=1000), dict(num_bins=5, output_mode="one_hot")])
def test_hashed_crossing_matches_keras(features, arguments):
    expected = to_numpy(keras.layers.HashedCrossing(**arguments)(features))
    got = to_numpy(kt.layers.HashedCrossing(**arguments)(features))
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


# Keras's documented examples (its docstrings), which fix the hashes and lookups without TensorFlow.
DOCUMENTED = [
    ("Hashing", dict(num_bins=3), [["A"], ["B"], ["C"], ["D"], ["E"]], [[1], [0], [1], [1], [2]]),
    ("Hashing", dict(num_bins=3, mask_value=""), [["A"], ["B"], [""], ["C"], ["D"]], [[1], [1], [0], [2], [2]]),
    ("Hashing", dict(num_bins=3, salt=[133, 137]), [["A"], ["B"], ["C"], ["D"], ["E"]], [[1], [2], [1], [0], [2]]),
    ("Hashing", dict(num_bins=3, salt=133), [["A"], ["B"], ["C"], ["D"], ["E"]], [[0], [0], [2], [1], [0]]),
    ("HashedCrossing", dict(num_bins=5), (np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])),
     [1, 4, 1, 1, 3]),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"]), [["a", "c", "d"], ["d", "z", "b"]], [[1, 3, 4], [4, 0, 2]]),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"], num_oov_indices=2), [["a", "c", "d"], ["m", "z", "b"]],
     [[2, 4, 5], [0, 1, 3]]),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"], output_mode="count"),
     [["a", "c", "d", "d"], ["d", "z", "b", "z"]], [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
    ("StringLookup", dict(vocabulary=["a", "b", "c", "d"], output_mode="tf_idf", idf_weights=[0.25, 0.75, 0.6, 0.4]),
     [["a", "c", "d", "d"], ["d", "z", "b", "z"]], [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]),
    ("Discretization", dict(num_bins=4, epsilon=0.01), np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]),
     [[0, 2, 3, 2], [1, 3, 3, 1]]),  # adapted on its own input
    ("IntegerLookup", dict(vocabulary=[12, 36, 1138, 42]), [[12, 1138, 42], [42, 1000, 36]], [[1, 3, 4], [4, 0, 2]]),
    ("IntegerLookup", dict(vocabulary=[12, 36, 1138, 42], num_oov_indices=2), [[12, 1138, 42], [37, 1000, 36]],
     [[2, 4, 5], [1, 0, 3]]),
]


@pytest.mark.parametrize("name, arguments, x, expected", DOCUMENTED, ids=[r[0] for r in DOCUMENTED])
def test_documented_keras_examples(name, arguments, x, expected):
    layer = getattr(kt.layers, name)(**arguments)
    if name == "Discretization":
        layer.adapt(x)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-6)


def test_adapted_vocabulary_order_and_text_pipeline():
    layer = kt.layers.StringLookup()
    layer.adapt([["a", "c", "d"], ["d", "z", "b"]])
    assert layer.get_vocabulary() == ["[UNK]", "d", "z", "c", "b", "a"]  # Keras's documented order
    text = kt.layers.TextVectorization(max_tokens=5, output_sequence_length=4)
    text.adapt(["foo bar", "bar baz", "baz bada boom"])
    assert text.get_vocabulary() == ["", "[UNK]", "baz", "bar", "foo"]
    np.testing.assert_array_equal(to_numpy(text(["foo qux bar", "qux baz"])), [[4, 1, 3, 0], [1, 2, 0, 0]])
    assert kt.layers.StringLookup(vocabulary=["a", "b"], invert=True)(np.array([1, 2, 0])) == ["a", "b", "[UNK]"]


def test_normalization_adapts_iterables_and_weights_files(tmp_path):
    ours = kt.layers.Normalization()
    labelled = torch.utils.data.TensorDataset(torch.as_tensor(FEATURES), torch.zeros(len(FEATURES)))
    ours.adapt(torch.utils.data.DataLoader(labelled, batch_size=5))  # (x, y) batches: x is adapted on
    whole = kt.layers.Normalization()
    whole.adapt(torch.as_tensor(FEATURES))
    np.testing.assert_allclose(ours.get_weights()[0], FEATURES.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.get_weights()[1], FEATURES.var(0), rtol=1e-5)
    np.testing.assert_allclose(to_numpy(ours(FEATURES)), to_numpy(whole(FEATURES)), rtol=1e-5, atol=1e-6)
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Normalization()])
    theirs.layers[0].adapt(FEATURES * 2 + 1)
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    model = kt.Sequential([kt.Input((3,)), kt.layers.Normalization()])
    model.load_weights(str(tmp_path / "theirs.weights.h5"))
    np.testing.assert_allclose(to_numpy(model(FEATURES)), to_numpy(theirs(FEATURES)), rtol=1e-5, atol=1e-6)
    model.save_weights(str(tmp_path / "ours.weights.h5"))
    back = keras.Sequential([keras.Input((3,)), keras.layers.Normalization()])
    back.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(to_numpy(back(FEATURES)), to_numpy(theirs(FEATURES)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make, error", [
    (lambda: kt.layers.CategoryEncoding(num_tokens=3, sparse=True), NotImplementedError),
    (lambda: kt.layers.Hashing(num_bins=3, output_mode="multi_hot", sparse=True), NotImplementedError),
    (lambda: kt.layers.TextVectorization(ragged=True), NotImplementedError),
    (lambda: kt.layers.Normalization(mean=1.0), ValueError),
    (lambda: kt.layers.Discretization(), ValueError),
    (lambda: kt.layers.Discretization(bin_boundaries=[0.0], num_bins=2), ValueError),
    (lambda: kt.layers.StringLookup(output_mode="one_hot", invert=True), ValueError),
    (lambda: kt.layers.Hashing(num_bins=0), ValueError),
    (lambda: kt.layers.StringLookup(vocabulary=["a", "a"]), ValueError),
    (lambda: kt.layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(["b"]), ValueError),
    (lambda: kt.layers.IntegerLookup(vocabulary=[1], num_oov_indices=0)(torch.tensor([2])), ValueError),
    (lambda: kt.layers.Normalization().adapt([]), ValueError),
    (lambda: kt.layers.StringLookup(output_mode="multi_hot")(["a"]), RuntimeError),
    (lambda: kt.layers.StringLookup.from_config({"vocabulary": None, "vocabulary_size": 5})(["a"]), RuntimeError),
])
def test_bad_arguments_raise(make, error):
    with pytest.raises(error):
        make()


def test_inside_a_model_on_symbolic_inputs():
    inputs = kt.Input((3,), dtype="int64")
    outputs = kt.layers.CategoryEncoding(num_tokens=5)(kt.layers.IntegerLookup(vocabulary=[4, 5, 6])(inputs))
    model = kt.Model(inputs, outputs)
    np.testing.assert_array_equal(to_numpy(model(torch.tensor([[4, 6, 9]]))), [[1, 1, 0, 1, 0]])
    hashed = kt.layers.Hashing(num_bins=3, output_mode="multi_hot")(inputs)
    assert tuple(hashed.shape) == (None, 3)
    np.testing.assert_array_equal(to_numpy(kt.Model(inputs, hashed)(np.array([[1, 2, 3]]))),
                                  to_numpy(kt.layers.Hashing(num_bins=3, output_mode="multi_hot")([[1, 2, 3]])))


@pytest.mark.skipif(not HAVE_TF, reason="Keras's StringLookup/TextVectorization need TensorFlow")
@pytest.mark.parametrize("name, data", [("StringLookup", np.where(WORDS == "", "e", WORDS)), ("TextVectorization", TEXT)])
def test_learned_vocabulary_assets_match_keras(name, data, tmp_path):
    """The file a learned vocabulary is saved as in `.keras` archives is Keras's, and loads both ways."""
    theirs, ours = getattr(keras.layers, name)(), getattr(kt.layers, name)()
    theirs.adapt(data)
    ours.adapt(data)
    theirs.save_assets(str(tmp_path))
    written = (tmp_path / "vocabulary.txt").read_bytes()
    assert ours.keras_assets() == {"vocabulary.txt": written}
    fresh = kt.layers.deserialize(json.loads(json.dumps(keras.layers.serialize(theirs))))
    fresh.load_keras_assets({"vocabulary.txt": written})
    np.testing.assert_array_equal(to_numpy(fresh(data)), to_numpy(theirs(data)))


@pytest.mark.cuda
def test_layers_run_on_the_inputs_device():
    """Numeric layers compute on the GPU; string and hash layers send their indices back to the input's device."""
    cases = [
        (kt.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.5, 2.0]), torch.as_tensor(FEATURES)),
        (kt.layers.Discretization(bin_boundaries=[-0.5, 0.0, 1.0], output_mode="one_hot"), torch.as_tensor(FEATURES)),
        (kt.layers.CategoryEncoding(num_tokens=4, output_mode="count"), torch.as_tensor(IDS)),
        (kt.layers.IntegerLookup(vocabulary=[7, 3, 42], output_mode="multi_hot"), torch.as_tensor(NUMBERS)),
        (kt.layers.Hashing(num_bins=6), torch.as_tensor(NUMBERS)),
        (kt.layers.MelSpectrogram(fft_length=256, sequence_stride=64, num_mel_bins=24), torch.as_tensor(AUDIO)),
        (kt.layers.STFTSpectrogram(frame_length=64), torch.as_tensor(SIGNAL)),
    ]
    for layer, x in cases:
        expected = to_numpy(layer(x))
        got = layer.to("cuda")(x.cuda())
        assert got.device.type == "cuda", type(layer).__name__
        np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-4, atol=1e-4)


def test_text_vectorization_custom_functions_round_trip():
    @kt.saving.register_keras_serializable(package="preprocessing_test")
    def shout(texts):
        return np.char.upper(texts)

    layer = kt.layers.TextVectorization(standardize=shout, split="character", vocabulary=["A", "B"])
    rebuilt = kt.layers.deserialize(json.loads(json.dumps(kt.layers.serialize(layer))))
    assert rebuilt.standardize is shout
    np.testing.assert_array_equal(to_numpy(rebuilt(["ab", "ba c"])), [[2, 3, 0, 0], [3, 2, 1, 1]])


@pytest.mark.skipif(not HAVE_TF, reason="compares with TensorFlow's own hashes")
def test_string_hashes_equal_tensorflows():
    """FarmHash fingerprints and keyed SipHash for every length branch (0-16, 17-32, 33-64, 64-byte blocks)."""
    from kerastorch.layers.preprocessing.fingerprint import fingerprint64, siphash24

    data = [bytes(RNG.integers(0, 256, n, dtype=np.uint8)) for n in [*range(0, 140), 255, 256, 1000]]
    expected = tensorflow.fingerprint(tensorflow.constant(data), method="farmhash64").numpy()
    assert [fingerprint64(d) for d in data] == [int.from_bytes(row.tobytes(), "little") for row in expected]
    buckets = tensorflow.strings.to_hash_bucket_strong(tensorflow.constant(data), 1_000_003, [2**62 + 5, 77]).numpy()
    assert [siphash24((2**62 + 5, 77), d) % 1_000_003 for d in data] == buckets.tolist()


def test_category_encoding_count_weights_match_keras():
    weights = RNG.random(IDS.shape).astype("float32")
    expected = to_numpy(keras.layers.CategoryEncoding(num_tokens=4, output_mode="count")(IDS, count_weights=weights))
    got = to_numpy(kt.layers.CategoryEncoding(num_tokens=4, output_mode="count")(IDS, count_weights=weights))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="count_weights"):
        kt.layers.CategoryEncoding(num_tokens=4)(IDS, count_weights=weights)
