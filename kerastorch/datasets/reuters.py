"""Reuters newswires as word-id sequences labelled with one of 46 topics (Keras's `reuters.npz`).

The file holds ragged object arrays; they are read by `safe_npz` as data, never unpickled.
"""

from __future__ import annotations

import numpy as np

from ..utils.file_utils import get_file
from .safe_npz import load_npz
from .word_sequences import BASE, cap_vocabulary, drop_long, objects, shift, word_index

__all__ = ["get_label_names", "get_word_index", "load_data"]

_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"

_TOPICS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee", "sugar",
    "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp",
    "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi", "iron-steel",
    "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog",
    "lead",
)


def load_data(path: str = "reuters.npz", num_words: int | None = None, skip_top: int = 0, maxlen: int | None = None,
              test_split: float = 0.2, seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3) -> tuple:
    """`(x_train, y_train), (x_test, y_test)`: object arrays of word-id lists and topic ids, as Keras gives.

    Args:
        path: the file name in the cache. num_words, skip_top, maxlen, seed, start_char, oov_char,
            index_from: as in `imdb.load_data`. test_split: the fraction of newswires held out for testing.
    """
    data = load_npz(get_file(fname=path, origin=BASE + "reuters.npz", file_hash=_SHA256))
    order = np.arange(len(data["x"]))
    np.random.RandomState(seed).shuffle(order)
    sequences, labels = drop_long(maxlen, shift(data["x"][order], start_char, index_from), data["y"][order])
    sequences = cap_vocabulary(sequences, num_words, skip_top, oov_char)
    cut = int(len(sequences) * (1 - test_split))
    return ((objects(sequences[:cut]), np.array(labels[:cut])), (objects(sequences[cut:]), np.array(labels[cut:])))


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The word -> id table of the Reuters sequences (ids before `index_from` is added)."""
    return word_index(path, "reuters_word_index.json", "4d44cc38712099c9e383dc6e5f11a921")


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed by label id."""
    return _TOPICS
