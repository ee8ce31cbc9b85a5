"""Keras metrics whose state lives on the device, so training never waits for the host.

A metric's state is a few tensors that only ever get summed (totals, counts, confusion counts).
That keeps `update_state` free of host syncs and lets distributed training combine ranks with a
single all-reduce of each state tensor; `result()` returns a 0-d tensor and the progress bar
converts it to a float only when it redraws.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from . import losses as losses_module
from .losses import same_rank

__all__ = [
    "Metric", "Mean", "Sum", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
    "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "RootMeanSquaredError",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "AUC", "Precision",
    "Recall", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "get", "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
]


class Metric:
    """Base class: create state with `add_variable`, implement `update_state` and `result`."""

    def __init__(self, name: str | None = None, dtype: Any = None):
        from .layers.layer import snake_case

        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self._variables: list[torch.Tensor] = []
        self._initial: list[torch.Tensor] = []

    def add_variable(self, shape: tuple = (), initializer: Any = "zeros", dtype: Any = None,
                     name: str | None = None) -> torch.Tensor:
        """A state tensor, reset to its initial value by `reset_state()`.

        It is a non-trainable `kt.Variable`, so Keras metric code can `assign`/`assign_add` it.
        """
        dtype = dtype or torch.float32
        device = self._variables[0].device if self._variables else None
        if initializer in ("zeros", None):
            value = torch.zeros(shape, dtype=dtype, device=device)
        elif initializer == "ones":
            value = torch.ones(shape, dtype=dtype, device=device)
        else:
            value = torch.as_tensor(initializer, dtype=dtype, device=device).expand(shape).clone()
        from .variables import as_variable, name_weight

        value = as_variable(value, trainable=False)
        name = name or ("variable" if not self._variables else f"variable_{len(self._variables)}")
        name_weight(value, name, f"{self.name}/{name}")
        self._variables.append(value)
        self._initial.append(value.clone())
        return value

    @property
    def variables(self) -> list[torch.Tensor]:
        return list(self._variables)

    def to(self, device: torch.device | str) -> "Metric":
        """Move the state to `device` (the trainer does this once, before the first step)."""
        device = torch.device(device)
        if self._variables and self._variables[0].device != device:
            from .variables import rewrap_state

            for index, value in enumerate(self._variables):
                moved = rewrap_state(value, value.to(device))
                for name, attribute in list(vars(self).items()):
                    if attribute is value:
                        setattr(self, name, moved)
                self._variables[index] = moved
                self._initial[index] = self._initial[index].to(device)
        return self

    def reset_state(self) -> None:
        with torch.no_grad():
            for value, initial in zip(self._variables, self._initial):
                value.copy_(initial)

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"Metric {self.name!r} ({type(self).__name__}) must implement update_state().")

    def result(self) -> torch.Tensor:
        raise NotImplementedError(f"Metric {self.name!r} ({type(self).__name__}) must implement result().")

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "Metric":
        return cls(**config_dict)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _weights_like(values: torch.Tensor, sample_weight: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample values and weights of the same shape (trailing axes of values averaged)."""
    values = values.to(torch.float32)
    if sample_weight is None:
        return values, torch.ones_like(values)
    weight = torch.as_tensor(sample_weight, dtype=torch.float32, device=values.device)
    values, weight = same_rank(values, weight)
    if values.ndim > weight.ndim:
        values = values.mean(dim=tuple(range(weight.ndim, values.ndim)))
    return values, weight.expand_as(values)


class Mean(Metric):
    """Weighted mean of everything passed to `update_state`."""

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = torch.as_tensor(values, device=self.total.device)
        values, weight = _weights_like(values, sample_weight)
        with torch.no_grad():
            self.total.add_(torch.sum(values * weight))
            self.count.add_(torch.sum(weight))

    def result(self) -> torch.Tensor:
        return self.total / self.count.clamp_min(1e-12)


class Sum(Metric):
    """Weighted sum of everything passed to `update_state`."""

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable((), name="total")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = torch.as_tensor(values, device=self.total.device)
        values, weight = _weights_like(values, sample_weight)
        with torch.no_grad():
            self.total.add_(torch.sum(values * weight))

    def result(self) -> torch.Tensor:
        return self.total.clone()


class MeanMetricWrapper(Mean):
    """The weighted mean of `fn(y_true, y_pred)` over all samples seen."""

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            y_pred = torch.as_tensor(y_pred)
            y_true = torch.as_tensor(y_true, device=y_pred.device)
            super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self._fn_kwargs}


# ------------------------------------------------------------------------- accuracy functions


def accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(y_true, y_pred)
    return (y_true == y_pred).float()


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    y_true, y_pred = same_rank(y_true, y_pred)
    return ((y_pred > threshold).to(y_true.dtype) == y_true).float().mean(dim=-1)


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return (y_true.argmax(dim=-1) == y_pred.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(dim=-1) == y_true.long()).float()


def top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, k: int = 5) -> torch.Tensor:
    return sparse_top_k_categorical_accuracy(y_true.argmax(dim=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, k: int = 5) -> torch.Tensor:
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == y_true.long().unsqueeze(-1)).any(dim=-1).float()


class Accuracy(MeanMetricWrapper):
    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


# --------------------------------------------------------------------------- regression metrics


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(losses_module.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(losses_module.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(losses_module.mean_absolute_percentage_error, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the weighted mean squared error over all samples seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = torch.as_tensor(y_pred)
        y_true, y_pred = same_rank(torch.as_tensor(y_true, device=y_pred.device, dtype=torch.float32), y_pred)
        super().update_state(torch.square(y_pred - y_true), sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


class BinaryCrossentropy(MeanMetricWrapper):
    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0.0):
        super().__init__(losses_module.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1):
        super().__init__(losses_module.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 axis: int = -1):
        super().__init__(losses_module.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)


# ------------------------------------------------------------------------ confusion-based metrics


class _Confusion(Metric):
    """True/false positive/negative counts at fixed thresholds (all sums, so ranks simply add)."""

    def __init__(self, thresholds: list[float], name: str | None, dtype: Any):
        super().__init__(name=name, dtype=dtype)
        self._thresholds = torch.tensor(thresholds, dtype=torch.float32)
        n = len(thresholds)
        self.true_positives = self.add_variable((n,), name="true_positives")
        self.false_positives = self.add_variable((n,), name="false_positives")
        self.true_negatives = self.add_variable((n,), name="true_negatives")
        self.false_negatives = self.add_variable((n,), name="false_negatives")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        with torch.no_grad():
            pred, label, w = _outcomes(y_true, y_pred, sample_weight, self._thresholds, self.true_positives.device)
            self.true_positives.add_(((pred & label) * w).sum(dim=1))
            self.false_positives.add_(((pred & ~label) * w).sum(dim=1))
            self.true_negatives.add_(((~pred & ~label) * w).sum(dim=1))
            self.false_negatives.add_(((~pred & label) * w).sum(dim=1))

    def to(self, device: torch.device | str) -> "_Confusion":
        self._thresholds = self._thresholds.to(device)
        return super().to(device)


def _outcomes(y_true: Any, y_pred: Any, sample_weight: Any, thresholds: torch.Tensor,
              device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Flattened `(thresholds, samples)` predicted-positive and `(1, samples)` label/weight tensors;
    a label counts as positive when non-zero, as Keras casts it to bool."""
    y_pred = torch.as_tensor(y_pred).to(device=device, dtype=torch.float32)
    y_true = torch.as_tensor(y_true, device=device).float()
    y_true, y_pred = same_rank(y_true, y_pred)
    if sample_weight is None:
        weight = torch.ones_like(y_pred)
    else:
        weight = torch.as_tensor(sample_weight, dtype=torch.float32, device=device)
        _, weight = same_rank(y_pred, weight)
        while weight.ndim < y_pred.ndim:
            weight = weight.unsqueeze(-1)
        weight = weight.expand_as(y_pred)
    pred = y_pred.reshape(1, -1) > thresholds.to(device).reshape(-1, 1)
    return pred, y_true.reshape(1, -1) != 0, weight.reshape(1, -1)


def _div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(b > 0, a / b.clamp_min(1e-12), torch.zeros_like(a))


class AUC(_Confusion):
    """Area under the ROC curve, from confusion counts at `num_thresholds` thresholds like Keras."""

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: list[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False):
        if curve.upper() != "ROC":
            raise ValueError(f"AUC supports curve='ROC' only for now, received curve={curve!r}.")
        if multi_label:
            raise ValueError("AUC(multi_label=True) is not supported yet; use multi_label=False.")
        if thresholds is None:
            eps = 1e-7
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            thresholds = [0.0 - eps, *inner, 1.0 + eps]
        else:
            thresholds = [0.0 - 1e-7, *thresholds, 1.0 + 1e-7]
        super().__init__(thresholds, name=name or "auc", dtype=dtype)
        self.summation_method = summation_method
        self.from_logits = from_logits
        self.label_weights = None if label_weights is None else torch.as_tensor(label_weights, dtype=torch.float32)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = torch.as_tensor(y_pred)
        if self.label_weights is not None:  # Keras: each label column's predictions count label_weights[i] times
            weight = self.label_weights.to(y_pred.device).expand(y_pred.shape)
            if sample_weight is not None:
                sample_weight = torch.as_tensor(sample_weight, dtype=torch.float32, device=y_pred.device)
                sample_weight = sample_weight.reshape(sample_weight.shape + (1,) * (y_pred.ndim - sample_weight.ndim))
                weight = weight * sample_weight
            sample_weight = weight
        super().update_state(y_true, torch.sigmoid(y_pred) if self.from_logits else y_pred, sample_weight)

    def result(self) -> torch.Tensor:
        tpr = _div(self.true_positives, self.true_positives + self.false_negatives)
        fpr = _div(self.false_positives, self.false_positives + self.true_negatives)
        if self.summation_method == "minoring":
            heights = torch.minimum(tpr[:-1], tpr[1:])
        elif self.summation_method == "majoring":
            heights = torch.maximum(tpr[:-1], tpr[1:])
        else:
            heights = (tpr[:-1] + tpr[1:]) / 2.0
        return torch.sum((fpr[:-1] - fpr[1:]) * heights)


class Precision(_Confusion):
    """tp / (tp + fp) at `thresholds` (0.5 by default)."""

    def __init__(self, thresholds: float | None = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        if top_k is not None or class_id is not None:
            raise ValueError("Precision: top_k and class_id are not supported yet; leave them as None.")
        self._single = thresholds is None or isinstance(thresholds, (int, float))
        values = [0.5 if thresholds is None else thresholds] if self._single else list(thresholds)
        super().__init__(values, name=name or "precision", dtype=dtype)

    def result(self) -> torch.Tensor:
        value = _div(self.true_positives, self.true_positives + self.false_positives)
        return value[0] if self._single else value


class Recall(Precision):
    """tp / (tp + fn) at `thresholds` (0.5 by default)."""

    def __init__(self, thresholds: float | None = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(thresholds, top_k, class_id, name=name or "recall", dtype=dtype)

    def result(self) -> torch.Tensor:
        value = _div(self.true_positives, self.true_positives + self.false_negatives)
        return value[0] if self._single else value


class _ConditionCount(Metric):
    """The weighted count of one confusion-matrix cell at each threshold, as one `accumulator`."""

    _cell: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def __init__(self, thresholds: float | list[float] | None = None, name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        values = [0.5] if thresholds is None else list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
        invalid = [t for t in values if t is None or not 0 <= t <= 1]
        if invalid:
            raise ValueError(
                f"{type(self).__name__} expected thresholds in [0, 1], received {invalid}; pass values between 0 and 1."
            )
        self.init_thresholds = thresholds
        self.thresholds = values
        self._thresholds = torch.tensor(values, dtype=torch.float32)
        self.accumulator = self.add_variable((len(values),), name="accumulator")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the weighted count of samples in this cell (label non-zero, prediction > threshold)."""
        with torch.no_grad():
            pred, label, w = _outcomes(y_true, y_pred, sample_weight, self._thresholds, self.accumulator.device)
            self.accumulator.add_((type(self)._cell(pred, label) * w).sum(dim=1))

    def result(self) -> torch.Tensor:
        return self.accumulator[0].clone() if len(self.thresholds) == 1 else self.accumulator.clone()

    def to(self, device: torch.device | str) -> "_ConditionCount":
        self._thresholds = self._thresholds.to(device)
        return super().to(device)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    """Weighted count of positive labels predicted above each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    @staticmethod
    def _cell(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return pred & label


class FalsePositives(_ConditionCount):
    """Weighted count of negative labels predicted above each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    @staticmethod
    def _cell(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return pred & ~label


class TrueNegatives(_ConditionCount):
    """Weighted count of negative labels predicted at or below each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    @staticmethod
    def _cell(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return ~pred & ~label


class FalseNegatives(_ConditionCount):
    """Weighted count of positive labels predicted at or below each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    @staticmethod
    def _cell(pred: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return ~pred & label


_ALIASES: dict[str, Callable[[], Metric]] = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "root_mean_squared_error": RootMeanSquaredError, "rmse": RootMeanSquaredError,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "auc": AUC, "precision": Precision, "recall": Recall,
    "true_positives": TruePositives, "false_positives": FalsePositives, "true_negatives": TrueNegatives,
    "false_negatives": FalseNegatives,
}


def get(identifier: Any) -> Any:
    """A metric from a Keras name, a Metric, a torchmetrics metric or a function `fn(y_true, y_pred)`."""
    if isinstance(identifier, Metric) or _is_torchmetric(identifier):
        return identifier
    if isinstance(identifier, str):
        factory = _ALIASES.get(identifier.lower())
        if factory is None:
            raise ValueError(
                f"Unknown metric {identifier!r}; expected 'accuracy' or one of {sorted(_ALIASES)}, a Metric or a callable."
            )
        return factory()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"Could not interpret metric {identifier!r}: expected a string, a Metric or a callable.")


def _is_torchmetric(value: Any) -> bool:
    """A torchmetrics.Metric, recognised without importing torchmetrics."""
    return any(c.__module__.startswith("torchmetrics") and c.__name__ == "Metric" for c in type(value).__mro__)
