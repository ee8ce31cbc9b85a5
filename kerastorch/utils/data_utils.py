"""The `(x, y, sample_weight)` tuples `fit()` reads, packed and unpacked as in Keras."""

from __future__ import annotations

from typing import Any


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """`x` alone (a list/tuple `x` as `(x,)`), `(x, y)`, or `(x, y, sample_weight)`.

    Args:
        x: the model inputs.
        y: the targets, or None.
        sample_weight: per-sample weights, or None (ignored when `y` is None, as in Keras).
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, with None for the missing.

    Args:
        data: a batch as `fit()` receives it (a list is read as a tuple).
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) == 1:
        return (data[0], None, None)
    if len(data) == 2:
        return (data[0], data[1], None)
    if len(data) == 3:
        return (data[0], data[1], data[2])
    raise ValueError(
        "unpack_x_y_sample_weight expected data as (x,), (x, y) or (x, y, sample_weight), "
        f"received a tuple of {len(data)} elements."
    )
