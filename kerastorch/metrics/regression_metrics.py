"""Regression metrics: means of the loss functions' per-sample values, RMSE, cosine similarity, R²."""

from __future__ import annotations

import warnings
from typing import Any

import torch

from .. import losses
from ..losses import same_rank
from .metric import Metric, as_input
from .reduction_metrics import Mean, MeanMetricWrapper


def cosine_similarity(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """The cosine of the angle between label and prediction along `axis` (1 is best)."""
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class MeanSquaredError(MeanMetricWrapper):
    """The mean of `(y_true - y_pred) ** 2`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of `|y_true - y_pred|`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """The mean of `100 * |y_true - y_pred| / |y_true|`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """The mean of `(log(y_true + 1) - log(y_pred + 1)) ** 2`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """The mean of `log(cosh(y_pred - y_true))`.

    Args:
        name, dtype: the metric's name (Keras's default is "logcosh") and dtype.
    """

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity between labels and predictions along `axis`.

    Args:
        name, dtype: the metric's name and dtype.
        axis: the axis along which vectors are compared.
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """The square root of the weighted mean squared error over all samples seen.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._follow(y_pred)
        y_true = as_input(y_true, self.total.device, self._torch_dtype)
        y_pred = as_input(y_pred, self.total.device, self._torch_dtype)
        y_true, y_pred = same_rank(y_true, y_pred)
        super().update_state(torch.square(y_pred - y_true), sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


class R2Score(Metric):
    """The coefficient of determination (R²) per output column, then aggregated.

    Inputs are `(batch, outputs)`; the sums the score needs accumulate on the device.

    Args:
        class_aggregation: None (one score per column), "uniform_average" or
            "variance_weighted_average".
        num_regressors: for the adjusted R² (0: plain R²).
        name, dtype: the metric's name and dtype.
    """

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None):
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(
                f"R2Score: class_aggregation must be one of {list(self._AGGREGATIONS)}, received "
                f"{class_aggregation!r}."
            )
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0, received {num_regressors}.")
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable((), name="num_samples")
        self._built = False

    def _build(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(
                f"R2Score expects 2D inputs of shape (batch_size, output_dim), received y_pred.shape="
                f"{tuple(y_pred.shape)} and y_true.shape={tuple(y_true.shape)}; reshape them to 2D."
            )
        columns = y_pred.shape[-1]
        self.squared_sum = self.add_variable((columns,), name="squared_sum")
        self.sum = self.add_variable((columns,), name="sum")
        self.total_mse = self.add_variable((columns,), name="residual")
        self.count = self.add_variable((columns,), name="count")
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._follow(y_pred)
        with torch.no_grad():
            device = self.num_samples.device
            y_true = as_input(y_true, device, self._torch_dtype)
            y_pred = as_input(y_pred, device, self._torch_dtype)
            y_true, y_pred = same_rank(y_true, y_pred)
            if not self._built:
                self._build(y_true, y_pred)
            if sample_weight is None:  # made on the device: no host-to-device copy per update
                weight = torch.ones_like(y_true)
            else:
                weight = as_input(sample_weight, device, self._torch_dtype)
            if weight.ndim == 1:
                weight = weight.unsqueeze(1)
            weight = weight.expand(y_true.shape)
            weighted = y_true * weight
            self.sum.add_(weighted.sum(dim=0))
            self.squared_sum.add_((y_true * weighted).sum(dim=0))
            self.total_mse.add_(((y_true - y_pred) ** 2 * weight).sum(dim=0))
            self.count.add_(weight.sum(dim=0))
            self.num_samples.add_(y_true.numel())

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), device=self.device)
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        scores = 1 - self.total_mse / total
        scores = torch.where(torch.isinf(scores), torch.zeros_like(scores), scores)
        if self.class_aggregation == "uniform_average":
            score = scores.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * scores).sum() / total.sum()
        else:
            score = scores
        if self.num_regressors:
            samples = float(self.num_samples)  # one host read, when the result is asked for
            if self.num_regressors >= samples - 1:
                warnings.warn(
                    f"R2Score: num_regressors={self.num_regressors} leaves no degrees of freedom for "
                    f"{int(samples)} values; reporting the plain R² score.", stacklevel=2)
            else:
                score = 1 - (1 - score) * (samples - 1) / (samples - self.num_regressors - 1)
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}

