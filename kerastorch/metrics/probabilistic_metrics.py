"""Probabilistic metrics: means of the crossentropy, KL-divergence and Poisson losses."""

from __future__ import annotations

from typing import Any

from .. import losses
from .reduction_metrics import MeanMetricWrapper


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary crossentropy between 0/1 labels and predictions.

    Args:
        name, dtype: the metric's name and dtype.
        from_logits: predictions are logits rather than probabilities.
        label_smoothing: squeeze labels towards 0.5 by this amount.
    """

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0):
        super().__init__(losses.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean crossentropy between one-hot labels and predicted class probabilities.

    Args:
        name, dtype: the metric's name and dtype.
        from_logits: predictions are logits rather than probabilities.
        label_smoothing: mix labels with the uniform distribution by this amount.
        axis: the class axis.
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1):
        super().__init__(losses.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean crossentropy between integer labels and predicted class probabilities.

    Args:
        name, dtype: the metric's name and dtype.
        from_logits: predictions are logits rather than probabilities.
        ignore_class: a label value whose entries count as zero loss.
        axis: the class axis.
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 ignore_class: int | None = None, axis: int = -1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


class KLDivergence(MeanMetricWrapper):
    """The mean Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(losses.kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """The mean Poisson deviance `y_pred - y_true * log(y_pred)`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(losses.poisson, name=name, dtype=dtype)
