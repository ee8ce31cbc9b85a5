"""Boston housing prices: 506 rows of 13 features, a median price target."""

from __future__ import annotations

import numpy as np

from ..utils.file_utils import get_file
from .housing import _BASE, check_test_split, shuffled_split

__all__ = ["load_data"]

_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path: str = "boston_housing.npz", test_split: float = 0.2, seed: int = 113) -> tuple:
    """`(x_train, y_train), (x_test, y_test)` after a seeded shuffle (Keras's split for the same seed).

    Args:
        path: the file name in the cache. test_split: the test fraction, in [0, 1). seed: the shuffle seed.
    """
    check_test_split(test_split)
    path = get_file(path, origin=_BASE + "boston_housing.npz", file_hash=_SHA256)
    with np.load(path, allow_pickle=False) as data:
        x, y = data["x"], data["y"]
    return shuffled_split(x, y, test_split, seed)
