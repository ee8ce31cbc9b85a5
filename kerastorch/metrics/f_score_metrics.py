"""F-beta and F1 scores from per-class true/false positive and false negative counts."""

from __future__ import annotations

from typing import Any

import torch

from .. import config
from .metric import Metric, as_input


class FBetaScore(Metric):
    """The F-beta score of multi-label or one-hot predictions, per class or averaged.

    Inputs are `(batch, classes)`. Without `threshold` the highest prediction of each row counts
    as positive; with it, every prediction above it.

    Args:
        average: None (one score per class), "micro", "macro" or "weighted".
        beta: how much more recall weighs than precision (a float > 0).
        threshold: a float in (0, 1], or None for the row's maximum.
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                f"{type(self).__name__}: average must be None, 'micro', 'macro' or 'weighted', received {average!r}."
            )
        if not isinstance(beta, float):
            raise ValueError(f"{type(self).__name__}: beta must be a Python float, received {beta!r}; write e.g. 2.0.")
        if beta <= 0.0:
            raise ValueError(f"{type(self).__name__}: beta must be > 0, received {beta}.")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(
                    f"{type(self).__name__}: threshold must be a Python float, received {threshold!r}; write e.g. 0.5."
                )
            if not 0.0 < threshold <= 1.0:
                raise ValueError(f"{type(self).__name__}: threshold must be in (0, 1], received {threshold}.")
        super().__init__(name=name, dtype=dtype)
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
        if y_pred.ndim != 2 or y_true.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs of shape (batch_size, output_dim), received y_pred.shape="
                f"{tuple(y_pred.shape)} and y_true.shape={tuple(y_true.shape)}."
            )
        shape = () if self.average == "micro" else (y_pred.shape[-1],)
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, name, self.add_variable(shape, dtype=self.dtype, name=name))
        self._built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._follow(y_pred)
        if not self._built and self._device is None and isinstance(y_pred, torch.Tensor):
            self._device = y_pred.device  # no state yet: it is made where the inputs are
        with torch.no_grad():
            device = self.device
            y_true = as_input(y_true, device, self._torch_dtype)
            y_pred = as_input(y_pred, device, self._torch_dtype)
            if not self._built:
                self._build(y_true, y_pred)
            if self.threshold is None:
                top = y_pred.amax(dim=-1, keepdim=True)
                y_pred = (y_pred >= top) & (y_pred.abs() > 1e-9)
            else:
                y_pred = y_pred > self.threshold
            y_pred = y_pred.to(self._torch_dtype)
            weight = None if sample_weight is None else as_input(sample_weight, device, self._torch_dtype).unsqueeze(1)

            def weighted_sum(values: torch.Tensor) -> torch.Tensor:
                if weight is not None:
                    values = values * weight
                return values.sum() if self.axis is None else values.sum(dim=self.axis)

            self.true_positives.add_(weighted_sum(y_pred * y_true))
            self.false_positives.add_(weighted_sum(y_pred * (1 - y_true)))
            self.false_negatives.add_(weighted_sum((1 - y_pred) * y_true))
            self.intermediate_weights.add_(weighted_sum(y_true))

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), device=self.device)
        eps = config.epsilon()
        precision = self.true_positives / (self.true_positives + self.false_positives + eps)
        recall = self.true_positives / (self.true_positives + self.false_negatives + eps)
        score = precision * recall / (self.beta**2 * precision + recall + eps) * (1 + self.beta**2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + eps)
            return (score * weights).sum()
        if self.average is not None:
            return score.mean()
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score (F-beta with beta 1): the harmonic mean of precision and recall.

    Args:
        average: None (one score per class), "micro", "macro" or "weighted".
        threshold: a float in (0, 1], or None for the row's maximum.
        name, dtype: the metric's name and dtype.
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
