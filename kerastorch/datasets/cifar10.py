"""CIFAR-10: 60,000 32x32 colour images in 10 classes, from CIFAR's binary release (no pickles)."""

from __future__ import annotations

import numpy as np

from ..utils.file_utils import get_file
from .cifar import batch_path, layout, read_records

__all__ = ["load_data"]

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # the publisher's checksum of the binary release


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`(x_train, y_train), (x_test, y_test)`: uint8 images `(N, 32, 32, 3)` (channels_last) and labels `(N, 1)`."""
    folder = get_file(fname="cifar-10-batches-bin-target", origin=_ORIGIN, extract=True, file_hash=_MD5)
    parts = [read_records(batch_path(folder, "cifar-10-batches-bin", f"data_batch_{i}.bin"), 1) for i in range(1, 6)]
    x_train = np.concatenate([images for images, _ in parts])
    y_train = np.concatenate([labels for _, labels in parts])
    x_test, y_test = read_records(batch_path(folder, "cifar-10-batches-bin", "test_batch.bin"), 1)
    return (layout(x_train), y_train), (layout(x_test), y_test)
