"""`kt.utils` against `keras.utils`: each row calls the same function on the same inputs in both."""

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt

RAGGED = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9]]
STEPS = [np.ones((2, 3)), np.arange(12.0).reshape(4, 3), np.zeros((0, 3))]
WORDS = [["a", "b"], ["c"]]
X = np.random.default_rng(0).standard_normal((4, 5)).astype("float32")
X[1] = 0  # a zero vector stays zero


def _graph(lib):
    """Two named inputs, a shared-input branch and a merge: sources of the output are both inputs."""
    a, b = lib.Input((3,), name="a"), lib.Input((3,), name="b")
    dense = lib.layers.Dense(3)
    out = lib.layers.Add()([dense(a), lib.layers.Multiply()([a, b])])
    return a, out


def _args(*args, **kwargs):
    return lambda lib: (args, kwargs)


# (function name, inputs as a function of the library: (args, kwargs))
CASES = [
    ("to_categorical", _args([0, 1, 2, 3])),
    ("to_categorical", _args(np.array([[1], [0], [2]]), num_classes=5)),
    ("to_categorical", _args(np.array([[1, 0], [2, 2]]))),
    ("to_categorical", _args(torch.tensor([[1], [0], [3]]), num_classes=4)),
    ("pad_sequences", _args(RAGGED)),
    ("pad_sequences", _args(RAGGED, maxlen=3)),
    ("pad_sequences", _args(RAGGED, maxlen=3, padding="post", truncating="post", value=-1)),
    ("pad_sequences", _args(RAGGED, maxlen=6, padding="post", dtype="float32", value=0.5)),
    ("pad_sequences", _args(STEPS, maxlen=3, truncating="post", dtype="float64")),
    ("pad_sequences", _args(WORDS, dtype=object, value="")),
    ("normalize", _args(X)),
    ("normalize", _args(X, axis=-2, order=1)),
    ("normalize", _args(torch.from_numpy(X), axis=-1, order=2)),
    ("pack_x_y_sample_weight", _args(X)),
    ("pack_x_y_sample_weight", _args([X, X])),
    ("pack_x_y_sample_weight", _args(X, X[:, 0])),
    ("pack_x_y_sample_weight", _args(X, X[:, 0], X[:, 1])),
    ("unpack_x_y_sample_weight", _args(X)),
    ("unpack_x_y_sample_weight", _args((X,))),
    ("unpack_x_y_sample_weight", _args([X, X[:, 0]])),
    ("unpack_x_y_sample_weight", _args((X, X[:, 0], X[:, 1]))),
    ("get_source_inputs", lambda lib: ((_graph(lib)[1],), {})),
    ("get_source_inputs", lambda lib: ((_graph(lib)[0],), {})),
    ("get_source_inputs", _args(X)),
    ("is_keras_tensor", lambda lib: ((_graph(lib)[1],), {})),
    ("is_keras_tensor", _args(torch.from_numpy(X))),
    ("is_keras_tensor", _args(X)),
]


def _plain(value):
    """Comparable form: arrays with their type and dtype, symbolic tensors by name and shape."""
    if isinstance(value, (kt.symbolic.SymbolicTensor, keras.KerasTensor)):
        return ("symbolic", value.name, tuple(value.shape))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_plain(v) for v in value])
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.dtype), value.detach().cpu().numpy())
    if isinstance(value, np.ndarray):
        return ("ndarray", str(value.dtype), value)
    return value


def _assert_same(ours, theirs):
    if isinstance(theirs, tuple) and len(theirs) == 3 and isinstance(theirs[2], np.ndarray):
        assert ours[:2] == theirs[:2]
        assert ours[2].shape == theirs[2].shape
        if theirs[2].dtype == object:
            assert ours[2].tolist() == theirs[2].tolist()
        else:
            np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6, atol=1e-7)
    elif isinstance(theirs, tuple) and len(theirs) == 2 and isinstance(theirs[1], list):
        assert ours[0] == theirs[0] and len(ours[1]) == len(theirs[1])
        for mine, reference in zip(ours[1], theirs[1]):
            _assert_same(mine, reference)
    else:
        assert ours == theirs


@pytest.mark.parametrize("name, make", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, make):
    args, kwargs = make(keras)
    theirs = getattr(keras.utils, name)(*args, **kwargs)
    args, kwargs = make(kt)
    ours = getattr(kt.utils, name)(*args, **kwargs)
    _assert_same(_plain(ours), _plain(theirs))


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="pad_sequences.*`padding`.*'middle'"):
        kt.utils.pad_sequences(RAGGED, padding="middle")
    with pytest.raises(ValueError, match="pad_sequences.*non-iterable at position 1"):
        kt.utils.pad_sequences([[1], 2])
    with pytest.raises(ValueError, match="pad_sequences.*dtype=object"):
        kt.utils.pad_sequences(WORDS, value="")
    with pytest.raises(ValueError, match=r"to_categorical.*\[0, 3\)"):
        kt.utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="unpack_x_y_sample_weight.*4 elements"):
        kt.utils.unpack_x_y_sample_weight((X, X, X, X))
