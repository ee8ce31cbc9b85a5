"""CIFAR's binary release, read as fixed-size records with numpy.

Keras downloads CIFAR's "python version", whose batches are pickles; kerastorch never unpickles, so
it reads the binary version of the same images from the same publisher instead: every record is
its label byte(s) followed by 3,072 pixel bytes (the red, green and blue 32x32 planes).
"""

from __future__ import annotations

import os

import numpy as np

from .. import config

_PIXELS = 3 * 32 * 32


def read_records(path: str, label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """`(images (N, 3, 32, 32) uint8, labels (N, label_bytes) uint8)` from one binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    width = label_bytes + _PIXELS
    if raw.size % width:
        raise ValueError(
            f"CIFAR file {path!r} holds {raw.size} bytes, not a whole number of {width}-byte records; the download "
            "is incomplete or not CIFAR's binary version. Delete it and load again."
        )
    records = raw.reshape(-1, width)
    return records[:, label_bytes:].reshape(-1, 3, 32, 32), records[:, :label_bytes]


def layout(images: np.ndarray) -> np.ndarray:
    """Keras's image layout: `(N, 32, 32, 3)` under channels_last (the default), else as stored."""
    return images.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else images


def batch_path(folder: str, inner: str, name: str) -> str:
    return os.path.join(folder, inner, name)
