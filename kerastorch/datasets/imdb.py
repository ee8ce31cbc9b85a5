"""IMDB movie reviews as word-id sequences with binary sentiment labels (Keras's `imdb.npz`).

The file holds ragged object arrays; they are read by `safe_npz` as data, never unpickled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..utils.file_utils import get_file
from .safe_npz import load_npz
from .word_sequences import BASE, cap_vocabulary, drop_long, objects, shift, word_index

__all__ = ["get_word_index", "load_data"]

_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"


def load_data(path: str = "imdb.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3,
              **kwargs: Any) -> tuple:
    """`(x_train, y_train), (x_test, y_test)`: object arrays of word-id lists and 0/1 labels, as Keras gives.

    Args:
        path: the file name in the cache. num_words: keep the most frequent ids below this (others become
            `oov_char`). skip_top: also replace the most frequent `skip_top` ids. maxlen: drop sequences of
            this length or longer. seed: shuffle seed. start_char: id leading every sequence (None: none).
        oov_char: id for replaced words (None: drop them). index_from: offset added to every word id.
    """
    if kwargs:
        raise TypeError(f"imdb.load_data: unrecognized keyword arguments {sorted(kwargs)}.")
    data = load_npz(get_file(fname=path, origin=BASE + "imdb.npz", file_hash=_SHA256))
    rng = np.random.RandomState(seed)
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        order = np.arange(len(data[x_key]))
        rng.shuffle(order)
        sequences, labels = drop_long(maxlen, shift(data[x_key][order], start_char, index_from), data[y_key][order])
        if maxlen and not sequences:
            raise ValueError(f"imdb.load_data: no sequence is shorter than maxlen={maxlen}; increase maxlen.")
        splits.append((sequences, labels))
    (train, train_labels), (test, test_labels) = splits
    sequences = cap_vocabulary(train + test, num_words, skip_top, oov_char)
    labels = np.concatenate([train_labels, test_labels])
    cut = len(train)
    return (objects(sequences[:cut]), labels[:cut]), (objects(sequences[cut:]), labels[cut:])


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The word -> id table of the IMDB sequences (ids before `index_from` is added)."""
    return word_index(path, "imdb_word_index.json", "bfafd718b763782e994055a2d397834f")
