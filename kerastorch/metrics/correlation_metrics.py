"""Correlation metrics: Pearson's and Lin's concordance correlation, per sample, then averaged."""

from __future__ import annotations

from typing import Any

import torch

from .. import config
from ..losses import same_rank
from .reduction_metrics import MeanMetricWrapper


def _pair(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = torch.as_tensor(y_pred)
    if not y_pred.is_floating_point():
        y_pred = y_pred.float()
    y_true = torch.as_tensor(y_true, device=y_pred.device).to(y_pred.dtype)
    return same_rank(y_true, y_pred)


def pearson_correlation(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Pearson's correlation coefficient between labels and predictions along `axis`."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_centered = y_true - y_true.mean(dim=axis, keepdim=True)
    pred_centered = y_pred - y_pred.mean(dim=axis, keepdim=True)
    true_centered = true_centered / true_centered.std(dim=axis, keepdim=True, correction=0)
    pred_centered = pred_centered / pred_centered.std(dim=axis, keepdim=True, correction=0)
    return torch.mean(true_centered * pred_centered, dim=axis)


def concordance_correlation(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Lin's concordance correlation coefficient along `axis`, with Keras's arithmetic (the covariance
    term centres both factors on the prediction mean)."""
    y_true, y_pred = _pair(y_true, y_pred)
    true_mean = y_true.mean(dim=axis, keepdim=True)
    pred_mean = y_pred.mean(dim=axis, keepdim=True)
    true_var = (y_true - true_mean).var(dim=axis, keepdim=True, correction=0)
    pred_var = (y_pred - pred_mean).var(dim=axis, keepdim=True, correction=0)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + torch.square(true_mean - pred_mean)
    return torch.mean(2 * covariance / (norm + config.epsilon()), dim=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """The mean (over samples) of Pearson's correlation along `axis`.

    Args:
        name, dtype: the metric's name and dtype.
        axis: the axis along which each sample's correlation is taken.
    """

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean (over samples) of Lin's concordance correlation along `axis`.

    Args:
        name, dtype: the metric's name and dtype.
        axis: the axis along which each sample's correlation is taken.
    """

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
