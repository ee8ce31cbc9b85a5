"""The 8x8 handwritten digits, embedded so examples and tests run with no network.

The data is the UCI "Optical Recognition of Handwritten Digits" test set (1797 images, pixel values
0..16, labels 0..9), exported once from scikit-learn's ``load_digits`` (BSD-licensed).
scikit-learn is not needed at run time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_PATH = Path(__file__).with_name("digits.npz")


def load_data(
    test_split: float = 0.2, seed: int = 1337
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Return ``(x_train, y_train), (x_test, y_test)``, a deterministic shuffled split.

    ``x`` is uint8 of shape ``(N, 8, 8)`` with values 0..16 and ``y`` is uint8 of shape ``(N,)``.
    """
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"digits.load_data: test_split must be in [0, 1), got {test_split!r}.")
    with np.load(_PATH, allow_pickle=False) as data:
        images, labels = data["images"], data["labels"]
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_split))
    test, train = order[:n_test], order[n_test:]
    return (images[train], labels[train]), (images[test], labels[test])
