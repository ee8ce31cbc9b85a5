"""The word-id processing shared by IMDB and Reuters: offsets, the start mark, the length filter and
the vocabulary cap, in Keras's order so the same arguments give the same sequences."""

from __future__ import annotations

import json

import numpy as np

from ..utils.file_utils import get_file

BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def shift(sequences: np.ndarray, start_char: int | None, index_from: int) -> list[list[int]]:
    """Word ids moved up by `index_from`, each sequence led by `start_char` unless it is None."""
    lead = [] if start_char is None else [start_char]
    return [lead + [w + index_from for w in seq] for seq in sequences]


def drop_long(maxlen: int | None, sequences: list, labels: np.ndarray) -> tuple[list, list]:
    """Keep only sequences shorter than `maxlen` (Keras's rule), with their labels."""
    if not maxlen:
        return sequences, labels
    kept = [(seq, label) for seq, label in zip(sequences, labels) if len(seq) < maxlen]
    return [seq for seq, _ in kept], [label for _, label in kept]


def cap_vocabulary(sequences: list, num_words: int | None, skip_top: int, oov_char: int | None) -> list:
    """Ids outside `[skip_top, num_words)` become `oov_char`, or are dropped when `oov_char` is None."""
    if not num_words:
        num_words = max(max(seq) for seq in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in seq] for seq in sequences]
    return [[w for w in seq if skip_top <= w < num_words] for seq in sequences]


def objects(sequences: list) -> np.ndarray:
    """A 1-D object array of lists (numpy would make a 2-D array from equal-length lists)."""
    out = np.empty(len(sequences), dtype=object)
    for index, seq in enumerate(sequences):
        out[index] = seq
    return out


def word_index(path: str, remote_name: str, file_hash: str) -> dict[str, int]:
    """A dataset's word -> id table: the JSON file `remote_name`, cached as `path`."""
    with open(get_file(path, origin=BASE + remote_name, file_hash=file_hash)) as handle:
        return json.load(handle)
