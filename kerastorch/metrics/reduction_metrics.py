"""Mean, Sum and MeanMetricWrapper: weighted reductions of per-sample values."""

from __future__ import annotations

from typing import Any, Callable

import torch

from ..losses import apply_mask, same_rank
from .metric import Metric, as_input, divide_no_nan


def reduce_to_samplewise(values: torch.Tensor, sample_weight: Any, reduce_fn: Callable,
                         dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-sample weighted values and per-sample weights, as Keras reduces them before summing.

    Axes of `values` beyond the weight's rank are reduced with `reduce_fn` (mean for Mean, sum for
    Sum) before weighting; what is left beyond the batch axis is reduced after.
    """
    values = values.to(dtype)
    if sample_weight is not None:
        weight = as_input(sample_weight, values.device, dtype)
        values, weight = same_rank(values, weight)
        if values.ndim > weight.ndim:
            values = reduce_fn(values, dim=tuple(range(weight.ndim, values.ndim)))
        weight = weight.expand(values.shape)
        values = values * weight
        if weight.ndim > 1:
            weight = reduce_fn(weight, dim=tuple(range(1, weight.ndim)))
        sample_weight = weight
    if values.ndim > 1:
        values = reduce_fn(values, dim=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The weighted sum of everything passed to `update_state`.

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), dtype=self.dtype, name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        self._follow(values)
        with torch.no_grad():
            values = as_input(values, self.total.device)
            values, _ = reduce_to_samplewise(values, sample_weight, torch.sum, self._torch_dtype)
            self.total.add_(values.sum())

    def result(self) -> torch.Tensor:
        return self.total.clone()


class Mean(Metric):
    """The weighted mean of everything passed to `update_state` (`total / count`).

    Args:
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), dtype=self.dtype, name="total")
        self.count = self.add_variable((), dtype=self.dtype, name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        self._follow(values)
        with torch.no_grad():
            values = as_input(values, self.total.device)
            values, weight = reduce_to_samplewise(values, sample_weight, torch.mean, self._torch_dtype)
            self.total.add_(values.sum())
            if weight is not None:
                self.count.add_(weight.sum())
            else:
                self.count.add_(values.shape[0] if values.ndim else 1)

    def result(self) -> torch.Tensor:
        return divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """The weighted mean of `fn(y_true, y_pred, **kwargs)` over all samples seen.

    Args:
        fn: a function returning per-sample values.
        name, dtype: the metric's name (default: Keras's auto name) and dtype.
        **kwargs: passed to `fn` on every update.
    """

    # Which of `fn`'s keyword arguments Keras writes in the config of a subclass (None: all of them).
    _config_keys: tuple[str, ...] | None = None

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            mask = y_pred.__dict__.get("_keras_mask") if isinstance(y_pred, torch.Tensor) else None
            y_pred = torch.as_tensor(y_pred)
            y_true = as_input(y_true, y_pred.device)
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            if mask is not None:  # masked entries weigh 0 (a plain sum: the mean divides by the weights)
                sample_weight = apply_mask(sample_weight, mask.to(values.device), values, "sum")
            super().update_state(values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            from ..saving.serialization import serialize_keras_object

            return {**config, "fn": serialize_keras_object(self._fn), **self._fn_kwargs}
        keys = self._config_keys if self._config_keys is not None else tuple(self._fn_kwargs)
        return {**config, **{key: self._fn_kwargs[key] for key in keys}}

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "MeanMetricWrapper":
        config_dict = dict(config_dict)
        if isinstance(config_dict.get("fn"), (dict, str)):
            from . import deserialize

            config_dict["fn"] = deserialize(config_dict["fn"])
        return cls(**config_dict)
