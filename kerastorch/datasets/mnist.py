"""MNIST digits (Keras's `mnist.npz`): 60,000 training and 10,000 test images, 28x28 uint8."""

from __future__ import annotations

import numpy as np

from ..utils.file_utils import get_file

__all__ = ["load_data"]

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path: str = "mnist.npz") -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`(x_train, y_train), (x_test, y_test)`, downloaded once into the Keras cache (`~/.keras/datasets`).

    Args:
        path: the file name in the cache.
    """
    path = get_file(fname=path, origin=_ORIGIN, file_hash=_SHA256)
    with np.load(path, allow_pickle=False) as data:
        return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
