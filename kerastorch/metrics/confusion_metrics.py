"""Metrics from confusion counts at thresholds: TP/FP/TN/FN, precision, recall, AUC and the
"X at fixed Y" family.

Every state tensor is a weighted count, so ranks add them up. One function, `confusion_counts`,
computes all four counts for a batch: with evenly spaced thresholds (AUC and the "at" metrics) it
sorts predictions into buckets with one `index_add_` and a reversed cumulative sum (memory
O(samples + thresholds), as Keras does); otherwise it compares against each threshold.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from .. import config
from ..losses import same_rank
from .metric import Metric, as_input, divide_no_nan

_NEG_INF = -1e10  # what Keras gives predictions outside the top k


def _threshold_list(thresholds: Any, default: float) -> list[float]:
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in values if t is None or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"expected thresholds in [0, 1], received {invalid}; pass values between 0 and 1.")
    return [float(t) for t in values]


def evenly_spaced(thresholds: Sequence[float]) -> bool:
    """Whether thresholds are 0, 1/(n-1), ..., 1 (then bucketing replaces per-threshold compares)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def confusion_counts(y_true: Any, y_pred: Any, sample_weight: Any, thresholds: torch.Tensor, *,
                     evenly: bool = False, with_epsilon: bool = False, class_id: int | None = None, top_k: int | None = None,
                     multi_label: bool = False, label_weights: torch.Tensor | None = None,
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted (tp, fp, tn, fn) at each threshold for one batch: shape `(thresholds,)`, or
    `(thresholds, labels)` with `multi_label`. A label counts as positive when non-zero and a
    prediction when strictly above the threshold. `evenly`: thresholds are 0, 1/(n-1), ..., 1
    (`with_epsilon`: AUC's, reaching just past 0 and 1)."""
    device, dtype = thresholds.device, thresholds.dtype
    y_pred = as_input(y_pred, device, dtype)
    y_true = as_input(y_true, device, dtype)
    y_pred, y_true = same_rank(y_pred, y_true)
    weight = None
    if sample_weight is not None:
        weight = as_input(sample_weight, device, dtype)
        while weight.ndim < y_pred.ndim:  # per-sample weights broadcast over the trailing axes
            weight = weight.unsqueeze(-1)
        if weight.ndim > y_pred.ndim and weight.shape[-1] == 1:
            weight = weight.squeeze(-1)
    if top_k is not None:
        top = y_pred.topk(min(top_k, y_pred.shape[-1]), dim=-1).indices
        keep = torch.zeros_like(y_pred, dtype=torch.bool).scatter_(-1, top, True)
        y_pred = torch.where(keep, y_pred, torch.full_like(y_pred, _NEG_INF))
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(
                f"class_id={class_id} needs predictions of shape (samples, classes), received {tuple(y_pred.shape)}."
            )
        y_true, y_pred = y_true[..., class_id:class_id + 1], y_pred[..., class_id:class_id + 1]
        if weight is not None and weight.shape[-1] not in (1,):
            weight = weight[..., class_id:class_id + 1]
    weight = torch.ones_like(y_pred) if weight is None else weight.expand(y_pred.shape)
    if label_weights is not None and not multi_label:
        weight = weight * label_weights.to(device, dtype)
    columns = y_pred.shape[-1] if multi_label else 1
    y_pred, y_true, weight = (t.reshape(-1, columns) for t in (y_pred, y_true, weight))
    positive = (y_true != 0).to(dtype) * weight
    negative = (y_true == 0).to(dtype) * weight
    n = thresholds.shape[0]
    if evenly:
        bucket = torch.ceil(y_pred.clamp(0.0, 1.0) * (n - 1)) - 1
        if with_epsilon:  # thresholds start just below 0: a prediction of 0 is above the first one
            bucket = bucket.clamp_min(0)
        keep = bucket >= 0  # predictions of exactly 0 fall below every threshold
        flat = (bucket.clamp_min(0).long() * columns + torch.arange(columns, device=device)).reshape(-1)

        def per_threshold(values: torch.Tensor) -> torch.Tensor:
            buckets = torch.zeros(n * columns, dtype=dtype, device=device)
            buckets.index_add_(0, flat, torch.where(keep, values, torch.zeros_like(values)).reshape(-1))
            return buckets.reshape(n, columns).flip(0).cumsum(0).flip(0)

        tp, fp = per_threshold(positive), per_threshold(negative)
    else:
        above = (y_pred.unsqueeze(0) > thresholds.reshape(-1, 1, 1)).to(dtype)  # (thresholds, samples, columns)
        tp, fp = (above * positive).sum(dim=1), (above * negative).sum(dim=1)
    fn = positive.sum(dim=0) - tp
    tn = negative.sum(dim=0) - fp
    if not multi_label:
        tp, fp, tn, fn = (t.squeeze(-1) for t in (tp, fp, tn, fn))
    return tp, fp, tn, fn


class _ConfusionMetric(Metric):
    """State: the counts named in `_cells`, one value per threshold; updated by `confusion_counts`."""

    _cells: tuple[str, ...] = ("true_positives", "false_positives", "true_negatives", "false_negatives")

    def _setup(self, thresholds: list[float], evenly: bool, with_epsilon: bool = False,
               shape: tuple[int, ...] | None = None) -> None:
        self._threshold_values = thresholds
        self._evenly = evenly
        self._with_epsilon = with_epsilon
        for cell in self._cells:
            setattr(self, cell, self.add_variable(shape or (len(thresholds),), name=cell))

    def _thresholds_tensor(self) -> torch.Tensor:
        device = self._variables[0].device
        cached = getattr(self, "_threshold_cache", None)
        if cached is None or cached.device != device:
            cached = torch.tensor(self._threshold_values, dtype=self._variables[0].dtype, device=device)
            self._threshold_cache = cached
        return cached

    def _add_counts(self, y_true: Any, y_pred: Any, sample_weight: Any, **options: Any) -> None:
        self._follow(y_pred)
        with torch.no_grad():
            counts = confusion_counts(y_true, y_pred, sample_weight, self._thresholds_tensor(), evenly=self._evenly,
                                      with_epsilon=self._with_epsilon, **options)
            for cell, value in zip(self._CELL_ORDER, counts):
                if cell in self._cells:
                    getattr(self, cell).add_(value)

    _CELL_ORDER = ("true_positives", "false_positives", "true_negatives", "false_negatives")


class _ConditionCount(_ConfusionMetric):
    """The weighted count of one confusion-matrix cell at each threshold, as one `accumulator`."""

    _cell: str

    def __init__(self, thresholds: float | list[float] | None = None, name: str | None = None, dtype: Any = None):
        try:
            values = _threshold_list(thresholds, 0.5)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__} {error}") from None
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = values
        self._cells = ()
        self._setup(values, evenly_spaced(values))
        self.accumulator = self.add_variable((len(values),), name="accumulator")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add the weighted count of samples in this cell (label non-zero, prediction > threshold)."""
        self._follow(y_pred)
        with torch.no_grad():
            counts = confusion_counts(y_true, y_pred, sample_weight, self._thresholds_tensor(), evenly=self._evenly)
            self.accumulator.add_(counts[self._CELL_ORDER.index(self._cell)])

    def result(self) -> torch.Tensor:
        return self.accumulator[0].clone() if len(self.thresholds) == 1 else self.accumulator.clone()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    """Weighted count of positive labels predicted above each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    _cell = "true_positives"


class FalsePositives(_ConditionCount):
    """Weighted count of negative labels predicted above each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    _cell = "false_positives"


class TrueNegatives(_ConditionCount):
    """Weighted count of negative labels predicted at or below each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    _cell = "true_negatives"


class FalseNegatives(_ConditionCount):
    """Weighted count of positive labels predicted at or below each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one count per threshold.
        name, dtype: the metric's name and dtype.
    """

    _cell = "false_negatives"


class Precision(_ConfusionMetric):
    """tp / (tp + fp) at each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one value per threshold.
        top_k: only the `k` highest predictions of each sample count as positive.
        class_id: only this class's column counts.
        name, dtype: the metric's name and dtype.
    """

    _cells = ("true_positives", "false_positives")

    def __init__(self, thresholds: float | list[float] | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None, dtype: Any = None):
        try:
            values = _threshold_list(thresholds, 0.5 if top_k is None else _NEG_INF)
        except ValueError as error:
            raise ValueError(f"{type(self).__name__} {error}") from None
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = values
        self.top_k = top_k
        self.class_id = class_id
        self._setup(values, evenly_spaced(values))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._add_counts(y_true, y_pred, sample_weight, top_k=self.top_k, class_id=self.class_id)

    def _value(self) -> torch.Tensor:
        return divide_no_nan(self.true_positives, self.true_positives + self.false_positives)

    def result(self) -> torch.Tensor:
        value = self._value()
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Recall(Precision):
    """tp / (tp + fn) at each threshold (0.5 by default).

    Args:
        thresholds: a float or list of floats in [0, 1]; a list gives one value per threshold.
        top_k: only the `k` highest predictions of each sample count as positive.
        class_id: only this class's column counts.
        name, dtype: the metric's name and dtype.
    """

    _cells = ("true_positives", "false_negatives")

    def _value(self) -> torch.Tensor:
        return divide_no_nan(self.true_positives, self.true_positives + self.false_negatives)


class _AtFixedValue(_ConfusionMetric):
    """Base of the "X at fixed Y" metrics: counts at `num_thresholds` evenly spaced thresholds; the
    result is the best X over the thresholds where Y reaches the target."""

    _target_name: str

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        if not 0 <= value <= 1:
            raise ValueError(f"{type(self).__name__}: {self._target_name} must be in [0, 1], received {value}.")
        if num_thresholds <= 0:
            raise ValueError(f"{type(self).__name__}: num_thresholds must be an integer > 0, received {num_thresholds}.")
        super().__init__(name=name, dtype=dtype)
        setattr(self, self._target_name, value)
        self.value = value
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            thresholds, evenly = [0.5], False
        else:
            thresholds = [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
            evenly = True
        self.thresholds = thresholds
        self._setup(thresholds, evenly)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._add_counts(y_true, y_pred, sample_weight, class_id=self.class_id)

    def _rates(self) -> dict[str, torch.Tensor]:
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        return {"sensitivity": divide_no_nan(tp, tp + fn), "recall": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp), "precision": divide_no_nan(tp, tp + fp)}

    _maximised: str

    def result(self) -> torch.Tensor:
        rates = self._rates()
        feasible = rates[self._target_name] >= self.value
        best = torch.where(feasible, rates[self._maximised], torch.zeros_like(rates[self._maximised]))
        return best.max().clamp_min(0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._target_name: self.value}


class SensitivityAtSpecificity(_AtFixedValue):
    """The best sensitivity (recall) over thresholds where specificity >= `specificity`.

    Args:
        specificity: the specificity to reach, in [0, 1].
        num_thresholds: how many evenly spaced thresholds are tried.
        class_id: only this class's column counts.
        name, dtype: the metric's name and dtype.
    """

    _target_name, _maximised = "specificity", "sensitivity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtFixedValue):
    """The best specificity over thresholds where sensitivity >= `sensitivity`.

    Args:
        sensitivity: the sensitivity to reach, in [0, 1].
        num_thresholds: how many evenly spaced thresholds are tried.
        class_id: only this class's column counts.
        name, dtype: the metric's name and dtype.
    """

    _target_name, _maximised = "sensitivity", "specificity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtFixedValue):
    """The best precision over thresholds where recall >= `recall`.

    Args:
        recall: the recall to reach, in [0, 1].
        num_thresholds: how many evenly spaced thresholds are tried.
        class_id: only this class's column counts.
        name, dtype: the metric's name and dtype.
    """

    _target_name, _maximised = "recall", "precision"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtFixedValue):
    """The best recall over thresholds where precision >= `precision`.

    Args:
        precision: the precision to reach, in [0, 1].
        num_thresholds: how many evenly spaced thresholds are tried.
        class_id: only this class's column counts.
        name, dtype: the metric's name and dtype.
    """

    _target_name, _maximised = "precision", "recall"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


class AUC(_ConfusionMetric):
    """Area under the ROC or precision-recall curve, from confusion counts at thresholds.

    Args:
        num_thresholds: how many evenly spaced thresholds discretise the curve (> 1).
        curve: "ROC", "PR" or "PRGAIN".
        summation_method: "interpolation", "minoring" or "majoring".
        name, dtype: the metric's name and dtype.
        thresholds: explicit thresholds in [0, 1] (then `num_thresholds` is ignored).
        multi_label: one curve per label column, averaged (otherwise all values form one curve).
        num_labels: the number of label columns, to create the state before the first update.
        label_weights: per-label weights (of the average with `multi_label`, of each value without).
        from_logits: predictions are logits (a sigmoid is applied).
    """

    _CURVES = ("ROC", "PR", "PRGAIN")
    _SUMMATIONS = ("interpolation", "minoring", "majoring")

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: list[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False):
        curve = str(getattr(curve, "value", curve)).upper()
        summation_method = str(getattr(summation_method, "value", summation_method)).lower()
        if curve not in self._CURVES:
            raise ValueError(f"AUC: curve must be one of {list(self._CURVES)}, received {curve!r}.")
        if summation_method not in self._SUMMATIONS:
            raise ValueError(
                f"AUC: summation_method must be one of {list(self._SUMMATIONS)}, received {summation_method!r}."
            )
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            evenly = evenly_spaced([0.0, *inner, 1.0])
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be an integer > 1, received {num_thresholds}.")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            evenly = True
        if num_labels and not multi_label:
            raise ValueError("AUC: num_labels is needed only when multi_label=True; leave it None.")
        super().__init__(name=name, dtype=dtype)
        self.num_thresholds = len(inner) + 2
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = multi_label
        self.num_labels = num_labels
        self._from_logits = from_logits
        self.label_weights = (None if label_weights is None
                              else torch.as_tensor(label_weights, dtype=self._torch_dtype))
        eps = config.epsilon()
        self._threshold_values = [0.0 - eps, *inner, 1.0 + eps]
        self._evenly = evenly
        self._with_epsilon = True
        self._built = False
        if not multi_label:
            self._setup(self._threshold_values, evenly, True)
            self._built = True
        elif num_labels:
            self._setup(self._threshold_values, evenly, True, (self.num_thresholds, num_labels))
            self._built = True

    @property
    def thresholds(self) -> list[float]:
        return list(self._threshold_values)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = torch.as_tensor(y_pred)
        if not self._built:
            if y_pred.ndim != 2:
                raise ValueError(
                    f"AUC(multi_label=True) needs predictions of rank 2, received shape {tuple(y_pred.shape)}."
                )
            if self._device is None:
                self._device = y_pred.device
            self._setup(self._threshold_values, self._evenly, True, (self.num_thresholds, y_pred.shape[1]))
            self._built = True
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred)
        self._follow(y_pred)
        if self.label_weights is not None and self.label_weights.device != self.device:
            self.label_weights = self.label_weights.to(self.device)  # once, not a copy per update
        label_weights = None if self.multi_label else self.label_weights
        self._add_counts(y_true, y_pred, sample_weight, multi_label=self.multi_label, label_weights=label_weights)

    def _average(self, per_label: torch.Tensor) -> torch.Tensor:
        if not self.multi_label:
            return per_label.sum()
        by_label = per_label.sum(dim=0)
        if self.label_weights is None:
            return by_label.mean()
        weights = self.label_weights.to(by_label.device)
        return divide_no_nan((by_label * weights).sum(), weights.sum())

    def _interpolate_pr_auc(self) -> torch.Tensor:
        """Davis & Goadrich's interpolation of the precision-recall curve between thresholds."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, dp.clamp_min(0))
        intercept = tp[1:] - slope * p[1:]
        ratio = torch.where((p[:-1] > 0) & (p[1:] > 0), divide_no_nan(p[:-1], p[1:].clamp_min(0)), torch.ones_like(p[1:]))
        increment = divide_no_nan(slope * (dtp + intercept * torch.log(ratio)), (tp[1:] + fn[1:]).clamp_min(0))
        return self._average(increment)

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), device=self.device)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = torch.where(tp == 0, torch.zeros_like(tp), 1.0 - scale * divide_no_nan(fn, tp))
            precision_gain = torch.where(tp == 0, torch.ones_like(tp), 1.0 - scale * divide_no_nan(fp, tp))
            x, y = recall_gain.clamp_min(0), precision_gain
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict[str, Any]:
        label_weights = None if self.label_weights is None else self.label_weights.tolist()
        config_dict = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                       "summation_method": self.summation_method, "multi_label": self.multi_label,
                       "num_labels": self.num_labels, "label_weights": label_weights, "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config_dict["thresholds"] = self._threshold_values[1:-1]
        return config_dict
