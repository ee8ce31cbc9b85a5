"""Validation of constructor arguments shared by the layers."""

from __future__ import annotations

import numbers
from typing import Any


def positive_int(layer: str, argument: str, value: Any) -> int:
    """A positive int argument (`filters`, `groups`, `depth_multiplier`), or a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{layer} expected `{argument}` to be a positive int, received {value!r}.")
    if value <= 0:
        raise ValueError(f"{layer} expected `{argument}` to be a positive int, received {value!r}.")
    return int(value)
