"""The shared split of the housing regression sets: a seeded shuffle, then the first part for training."""

from __future__ import annotations

import numpy as np

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def check_test_split(test_split: float) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), received {test_split!r}.")


def shuffled_split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> tuple:
    """Keras's split: `np.random.RandomState(seed)` shuffles the rows, the first `1 - test_split` train."""
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
