"""Accuracy metrics: per-sample hits, averaged (with sample weights) over everything seen."""

from __future__ import annotations

from typing import Any

import torch

from ..losses import same_rank
from .reduction_metrics import MeanMetricWrapper


def accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1.0 where `y_true == y_pred` exactly, else 0.0."""
    y_true, y_pred = same_rank(torch.as_tensor(y_true), torch.as_tensor(y_pred))
    return (y_true == y_pred).float()


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """1.0 where the prediction (> threshold) matches the 0/1 label, per value."""
    y_true, y_pred = same_rank(torch.as_tensor(y_true), torch.as_tensor(y_pred))
    return ((y_pred > threshold).to(y_true.dtype) == y_true).float()


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1.0 where the argmax of the one-hot label and of the prediction agree."""
    return (torch.as_tensor(y_true).argmax(dim=-1) == torch.as_tensor(y_pred).argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """1.0 where the integer label equals the prediction's argmax."""
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(dim=-1) == y_true.long()).float()


def top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, k: int = 5) -> torch.Tensor:
    """1.0 where the one-hot label's class is among the `k` highest predictions."""
    return sparse_top_k_categorical_accuracy(torch.as_tensor(y_true).argmax(dim=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, k: int = 5,
                                      from_sorted_ids: bool = False) -> torch.Tensor:
    """1.0 where the integer label is among the `k` highest predictions; with `from_sorted_ids`,
    `y_pred` already holds class ids sorted by score and only its first `k` columns are searched."""
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if from_sorted_ids:
        top = y_pred[..., :k]
    else:
        top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.to(top.dtype).unsqueeze(-1)).any(dim=-1).float()


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often a prediction above `threshold` matches a 0/1 label.

    Args:
        name, dtype: the metric's name and dtype.
        threshold: the probability above which a prediction counts as 1.
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the prediction's argmax matches the one-hot label's.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the prediction's argmax equals the integer label.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the top `k` predictions.

    Args:
        k: how many top predictions count as a hit.
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top `k` predictions.

    Args:
        k: how many top predictions count as a hit.
        name, dtype: the metric's name and dtype.
        from_sorted_ids: `y_pred` holds class ids sorted by score instead of scores.
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None,
                 from_sorted_ids: bool = False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        return {**config, "from_sorted_ids": True} if self.from_sorted_ids else config
