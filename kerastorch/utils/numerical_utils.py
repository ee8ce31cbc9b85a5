"""`kt.utils.to_categorical` and `kt.utils.normalize`: numpy in, numpy out; tensors stay tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """One-hot encode integer class labels, the class axis last (a trailing axis of size 1 is dropped).

    Args:
        x: integer labels in `[0, num_classes)`: a list, numpy array or torch tensor.
        num_classes: number of classes; `None` infers `max(x) + 1`.

    Returns a float numpy array for array-like input and, for a tensor, `kt.ops.one_hot`'s tensor on
    `x`'s device (int64, as Keras's torch backend gives).
    """
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer))):
        raise TypeError(f"to_categorical expected an int `num_classes` or None, received {num_classes!r}.")
    if isinstance(x, torch.Tensor):
        from ..ops.nn import one_hot

        if x.dim() > 1 and x.shape[-1] == 1:
            x = x.squeeze(-1)
        classes = int(x.max()) + 1 if num_classes is None else int(num_classes)
        return one_hot(x, classes, dtype="int64")
    labels = np.asarray(x, dtype="int64")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    classes = int(np.max(labels)) + 1 if not num_classes else int(num_classes)
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"to_categorical expected labels in [0, {classes}), received values from {labels.min()} to "
            f"{labels.max()}; pass a larger `num_classes` or fix the labels."
        )
    categorical = np.zeros((labels.size, classes))
    categorical[np.arange(labels.size), labels] = 1
    return categorical.reshape(shape + (classes,))


def normalize(x: Any, axis: int = -1, order: int = 2) -> Any:
    """`x` divided by its `order`-norm along `axis` (zero vectors stay zero).

    Args:
        x: a numpy array (gives a numpy array) or a tensor (gives a tensor).
        axis: the axis whose norm divides.
        order: the norm order, e.g. 2 for L2.
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / np.expand_dims(norm, axis)
    from ..ops.nn import normalize as normalize_op

    return normalize_op(x, axis=axis, order=order)
