"""Fashion-MNIST: 70,000 28x28 uint8 images of clothing in 10 classes, read from the IDX files."""

from __future__ import annotations

import gzip
import os

import numpy as np

from ..utils.file_utils import get_file

__all__ = ["load_data"]

_BASE = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
          "t10k-images-idx3-ubyte.gz")


def _read(path: str, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as handle:
        return np.frombuffer(handle.read(), np.uint8, offset=offset)


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`(x_train, y_train), (x_test, y_test)`: images `(N, 28, 28)` and labels `(N,)`, both uint8."""
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [get_file(name, origin=_BASE + name, cache_subdir=subdir) for name in _FILES]
    y_train, y_test = _read(paths[0], 8), _read(paths[2], 8)
    x_train = _read(paths[1], 16).reshape(len(y_train), 28, 28)
    x_test = _read(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)
