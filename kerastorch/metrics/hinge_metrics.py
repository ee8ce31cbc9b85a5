"""Hinge metrics: means of the hinge losses' per-sample values."""

from __future__ import annotations

from typing import Any

from .. import losses
from .reduction_metrics import MeanMetricWrapper


class Hinge(MeanMetricWrapper):
    """The mean of `max(1 - y_true * y_pred, 0)` (0/1 labels become -1/1).

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(losses.hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """The mean of `max(1 - y_true * y_pred, 0) ** 2` (0/1 labels become -1/1).

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(losses.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """The mean of `max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(losses.categorical_hinge, name=name, dtype=dtype)
