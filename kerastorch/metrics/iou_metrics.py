"""Intersection-over-union metrics from one accumulated `(num_classes, num_classes)` confusion matrix.

The matrix (rows: labels, columns: predictions) is filled with one `index_add_` per update, so a
segmentation map of any size costs no host sync and no per-class loop.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import torch

from .. import config
from .metric import Metric, as_input


class _IoUBase(Metric):
    """The confusion-matrix state and update shared by every IoU metric."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name=name, dtype=dtype or "int")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), dtype=self.dtype, name="total_confusion_matrix")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._follow(y_pred)
        with torch.no_grad():
            device, dtype = self.total_cm.device, self._torch_dtype
            if (getattr(sample_weight, "dtype", None) is not None and "float" in str(sample_weight.dtype)
                    and not dtype.is_floating_point):
                warnings.warn(
                    f"{type(self).__name__} {self.name!r}: float sample weights are truncated to the metric's "
                    f"{self.dtype} state (as in Keras); pass integer weights or dtype='float32'.", stacklevel=2)
            y_true, y_pred = as_input(y_true, device), as_input(y_pred, device)
            if not self.sparse_y_true:
                y_true = y_true.argmax(dim=self.axis)
            if not self.sparse_y_pred:
                y_pred = y_pred.argmax(dim=self.axis)
            if sample_weight is None:  # made on the device: no host-to-device copy per update
                weight = torch.ones(y_true.shape, dtype=dtype, device=device)
            else:
                weight = as_input(sample_weight, device, dtype)
            while 0 < weight.ndim < y_true.ndim:  # per-sample weights cover every value of the sample
                weight = weight.unsqueeze(-1)
            weight = weight.expand(y_true.shape).reshape(-1)
            y_true, y_pred = y_true.to(dtype).reshape(-1), y_pred.to(dtype).reshape(-1)
            n = self.num_classes
            valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
            if self.ignore_class is not None:
                valid &= y_true != self.ignore_class
            cell = torch.where(valid, y_true, 0).long() * n + torch.where(valid, y_pred, 0).long()
            counts = torch.zeros(n * n, dtype=dtype, device=device)
            counts.index_add_(0, cell, torch.where(valid, weight, torch.zeros_like(weight)))
            self.total_cm.add_(counts.reshape(n, n))


class IoU(_IoUBase):
    """The mean intersection-over-union of `target_class_ids` (classes absent from both labels and
    predictions are left out of the mean).

    Args:
        num_classes: the number of classes (the confusion matrix is `num_classes` square).
        target_class_ids: the classes whose IoU is averaged.
        name, dtype: the metric's name and the confusion matrix's dtype (int32 by default, as in
            Keras: float sample weights are truncated; pass dtype="float32" to keep them).
        ignore_class: a label value that is not counted.
        sparse_y_true, sparse_y_pred: False when labels/predictions are one-hot or scores (argmax
            along `axis` is taken).
        axis: the class axis for dense inputs.
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        if max(target_class_ids) >= num_classes:
            raise ValueError(
                f"{type(self).__name__}: target class id {max(target_class_ids)} is out of range [0, {num_classes}); "
                "pass ids below num_classes."
            )
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        self.target_class_ids = list(target_class_ids)

    def result(self) -> torch.Tensor:
        cm = self.total_cm.to(torch.float32)
        true_positives = torch.diagonal(cm)
        denominator = cm.sum(dim=0) + cm.sum(dim=1) - true_positives
        ids = torch.as_tensor(self.target_class_ids, device=cm.device)
        true_positives, denominator = true_positives[ids], denominator[ids]
        valid = denominator > 1e-9
        eps = config.epsilon()
        iou = torch.where(valid, true_positives / (denominator + eps), torch.zeros_like(denominator))
        return iou.sum(dim=self.axis) / (valid.to(torch.float32).sum() + eps)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary labels against predictions thresholded at `threshold` (`>=` counts as 1).

    Args:
        target_class_ids: which of the classes 0 and 1 to average.
        threshold: the prediction value from which a prediction is class 1.
        name, dtype: the metric's name and the confusion matrix's dtype.
    """

    def __init__(self, target_class_ids: Sequence[int] = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: Any = None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._follow(y_pred)
        y_pred = as_input(y_pred, self.total_cm.device, torch.float32)
        super().update_state(y_true, (y_pred >= self.threshold).to(self._torch_dtype), sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes.

    Args:
        num_classes: the number of classes.
        name, dtype: the metric's name and the confusion matrix's dtype.
        ignore_class: a label value that is not counted.
        sparse_y_true, sparse_y_pred: False when labels/predictions are one-hot or scores.
        axis: the class axis for dense inputs.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU of one-hot labels (and, by default, score predictions) for `target_class_ids`.

    Args:
        num_classes: the number of classes.
        target_class_ids: the classes whose IoU is averaged.
        name, dtype: the metric's name and the confusion matrix's dtype.
        ignore_class: a label value that is not counted.
        sparse_y_pred: True when predictions are already class ids.
        axis: the class axis.
    """

    def __init__(self, num_classes: int, target_class_ids: Sequence[int], name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """IoU of one-hot labels averaged over all classes.

    Args:
        num_classes: the number of classes.
        name, dtype: the metric's name and the confusion matrix's dtype.
        ignore_class: a label value that is not counted.
        sparse_y_pred: True when predictions are already class ids.
        axis: the class axis.
    """

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
