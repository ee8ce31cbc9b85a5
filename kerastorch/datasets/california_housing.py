"""California housing prices: 20,640 rows of 8 features (600 with `version="small"`)."""

from __future__ import annotations

import numpy as np

from ..utils.file_utils import get_file
from .housing import _BASE, check_test_split, shuffled_split

__all__ = ["load_data"]

_SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version: str = "large", path: str = "california_housing.npz", test_split: float = 0.2,
              seed: int = 113) -> tuple:
    """`(x_train, y_train), (x_test, y_test)` after a seeded shuffle (Keras's split for the same seed).

    Args:
        version: "large" (all rows) or "small" (the first 600). path: the file name in the cache.
        test_split: the test fraction, in [0, 1). seed: the shuffle seed.
    """
    check_test_split(test_split)
    if version not in ("small", "large"):
        raise ValueError(f"california_housing.load_data: version must be 'small' or 'large', received {version!r}.")
    path = get_file(path, origin=_BASE + "california_housing.npz", file_hash=_SHA256)
    with np.load(path, allow_pickle=False) as data:
        x, y = data["x"], data["y"]
    if version == "small":
        x, y = x[:600], y[:600]
    return shuffled_split(x, y, test_split, seed)
