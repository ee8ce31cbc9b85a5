"""CIFAR-100: 60,000 32x32 colour images in 100 classes (20 superclasses), from CIFAR's binary release."""

from __future__ import annotations

import numpy as np

from ..utils.file_utils import get_file
from .cifar import batch_path, layout, read_records

__all__ = ["load_data"]

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
_MD5 = "03b5dce01913d631647c71ecec9e9cb8"  # the publisher's checksum of the binary release


def load_data(label_mode: str = "fine") -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """`(x_train, y_train), (x_test, y_test)`: uint8 images `(N, 32, 32, 3)` and int64 labels `(N, 1)`.

    Args:
        label_mode: "fine" (100 classes) or "coarse" (20 superclasses).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"cifar100.load_data: label_mode must be 'fine' or 'coarse', received {label_mode!r}.")
    folder = get_file(fname="cifar-100-binary-target", origin=_ORIGIN, extract=True, file_hash=_MD5)
    column = 1 if label_mode == "fine" else 0  # each record starts with its coarse, then its fine label
    splits = []
    for name in ("train.bin", "test.bin"):
        images, labels = read_records(batch_path(folder, "cifar-100-binary", name), 2)
        splits.append((layout(images), labels[:, column:column + 1].astype("int64")))
    return splits[0], splits[1]
