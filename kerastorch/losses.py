"""Keras losses on torch tensors: per-sample values, then sample weights, then a reduction.

Each loss follows Keras 3's arithmetic (clipped probabilities for `from_logits=False`, means over the
last axis, `sum_over_batch_size` dividing by the number of values rather than the sum of weights),
so a model trained here reports the same loss as the same model trained with Keras.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import config

_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)

__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "BinaryCrossentropy", "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy", "Huber", "KLDivergence", "Poisson", "LogCosh", "Hinge",
    "SquaredHinge", "CategoricalHinge", "CosineSimilarity", "get", "serialize",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "huber", "kl_divergence", "poisson", "log_cosh", "hinge",
    "squared_hinge", "categorical_hinge", "cosine_similarity",
    "BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "CategoricalGeneralizedCrossEntropy", "Circle", "CTC",
    "Dice", "Tversky", "binary_focal_crossentropy", "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy", "circle", "ctc", "dice", "tversky", "deserialize",
]


def same_rank(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Squeeze (or expand) a trailing size-1 axis so two tensors' ranks match, as Keras does."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b.unsqueeze(-1)) if b.ndim == 1 else (a.squeeze(-1), b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a.unsqueeze(-1), b) if a.ndim == 1 else (a, b.squeeze(-1))
    return a, b


def _float(x: Any, like: torch.Tensor | None = None) -> torch.Tensor:
    dtype = like.dtype if like is not None and like.is_floating_point() else torch.float32
    device = like.device if like is not None else None
    return torch.as_tensor(x, dtype=dtype, device=device)


def reduce_weighted(values: torch.Tensor, sample_weight: torch.Tensor | None, reduction: str | None) -> torch.Tensor:
    """Multiply by sample weights (broadcast over trailing axes) and reduce like Keras."""
    if sample_weight is not None:
        sample_weight = _float(sample_weight, values)
        values, sample_weight = same_rank(values, sample_weight)
        while sample_weight.ndim < values.ndim:
            sample_weight = sample_weight.unsqueeze(-1)
        values = values * sample_weight
    if reduction in (None, "none") or values.ndim == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return total / sample_weight.expand_as(values).sum().clamp_min(1e-12)
    return total / max(values.numel(), 1)


def output_mask(y_pred: Any) -> torch.Tensor | None:
    """The Keras mask a model attached to its output (`y_pred._keras_mask`), or None."""
    return y_pred.__dict__.get("_keras_mask") if isinstance(y_pred, torch.Tensor) else None


def apply_mask(sample_weight: Any, mask: torch.Tensor, like: torch.Tensor, reduction: str | None) -> torch.Tensor:
    """Fold an output mask into the sample weights as Keras does: masked entries weigh 0, and for
    mean reductions the others weigh `total / valid`, so the mean runs over valid entries only."""
    weight = mask.to(like.dtype if like.is_floating_point() else torch.float32)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = weight.sum()
        weight = weight * torch.where(valid > 0, weight.numel() / valid.clamp_min(1), 0.0)
    if sample_weight is None:
        return weight
    sample_weight = _float(sample_weight, weight)
    weight, sample_weight = same_rank(weight, sample_weight)
    while sample_weight.ndim < weight.ndim:  # per-sample weights spread over the masked steps
        sample_weight = sample_weight.unsqueeze(-1)
    return weight * sample_weight


class Loss:
    """Base class: subclasses implement `call(y_true, y_pred)` returning per-sample values.

    When `y_pred` carries a Keras mask (a masked model's output), masked entries do not count.
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: Any = None):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {list(_REDUCTIONS)}, received {reduction!r}."
            )
        self.name = name or _auto_name(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype
        # An explicit dtype is the one the loss is computed in (None: float32, half inputs upcast).
        self._compute_dtype = None if dtype is None else getattr(torch, _compute_dtype_name(dtype))

    def __call__(self, y_true: Any, y_pred: torch.Tensor, sample_weight: Any = None) -> torch.Tensor:
        y_pred = torch.as_tensor(y_pred)
        in_mask = output_mask(y_pred)
        if not y_pred.is_floating_point():
            y_pred = y_pred.float()
        elif y_pred.dtype in (torch.float16, torch.bfloat16):
            y_pred = y_pred.float()  # mixed precision: losses are computed in float32, as in Keras
        if self._compute_dtype is not None and y_pred.dtype != self._compute_dtype:
            y_pred = y_pred.to(self._compute_dtype)
        fused = self._fused
        if (fused is not None and sample_weight is None and in_mask is None and type(y_true) is torch.Tensor
                and y_true.shape == y_pred.shape and y_true.dtype == y_pred.dtype):
            return fused(y_pred, y_true)  # one torch kernel, Keras's number (mean over all values)
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        try:
            values = self.call(y_true, y_pred)
        except RuntimeError as error:
            if y_true.shape == y_pred.shape or y_true.ndim != y_pred.ndim:
                raise
            raise ValueError(
                f"Loss {self.name!r}: targets of shape {tuple(y_true.shape)} do not match predictions of shape "
                f"{tuple(y_pred.shape)}; give y one value per model output (the same shape as the predictions)."
            ) from error
        # The loss function's own mask (SparseCategoricalCrossentropy's ignore_class, Circle's
        # positive terms) combines with the output's, as in Keras.
        out_mask = output_mask(values)
        mask = in_mask if out_mask is None else out_mask if in_mask is None else in_mask.bool() & out_mask.bool()
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, values, self.reduction)
        return reduce_weighted(values, sample_weight, self.reduction)

    # A torch kernel that gives this loss's `sum_over_batch_size` value in one op, where one exists.
    _fused: Callable | None = None

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"Loss {self.name!r} ({type(self).__name__}) must implement call().")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "Loss":
        return cls(**config_dict)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A loss object around a function `fn(y_true, y_pred, **kwargs)` returning per-sample values."""

    def __init__(self, fn: Callable, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs
        if reduction == "sum_over_batch_size" and not kwargs:
            self._fused = _FUSED.get(fn)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        if type(self) is LossFunctionWrapper:  # the function itself goes in the config, as in Keras
            from .saving.serialization import serialize_keras_object

            return {**super().get_config(), "fn": serialize_keras_object(self.fn), **self._fn_kwargs}
        return {**super().get_config(), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "LossFunctionWrapper":
        config_dict = dict(config_dict)
        if isinstance(config_dict.get("fn"), (dict, str)):
            config_dict["fn"] = deserialize(config_dict["fn"])
        return cls(**config_dict)


# --------------------------------------------------------------------------- loss functions


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    return torch.mean(torch.square(y_pred - y_true), dim=-1)


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    return torch.mean(torch.abs(y_pred - y_true), dim=-1)


def mean_absolute_percentage_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    diff = torch.abs((y_true - y_pred) / torch.clamp(torch.abs(y_true), min=config.epsilon()))
    return 100.0 * torch.mean(diff, dim=-1)


def mean_squared_logarithmic_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    first = torch.log(torch.clamp(y_pred, min=config.epsilon()) + 1.0)
    second = torch.log(torch.clamp(y_true, min=config.epsilon()) + 1.0)
    return torch.mean(torch.square(first - second), dim=-1)


def binary_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        eps = config.epsilon()
        values = F.binary_cross_entropy(torch.clamp(y_pred, eps, 1.0 - eps), y_true, reduction="none")
    return torch.mean(values, dim=axis)


def categorical_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    y_true = _float(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"categorical_crossentropy expected targets of the predictions' shape {tuple(y_pred.shape)} "
            f"(one-hot), received {tuple(y_true.shape)}; use sparse_categorical_crossentropy for integer labels."
        )
    if label_smoothing:
        classes = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / classes
    if from_logits:
        log_prob = F.log_softmax(y_pred, dim=axis)
    else:
        eps = config.epsilon()
        probs = y_pred / torch.sum(y_pred, dim=axis, keepdim=True)
        log_prob = torch.log(torch.clamp(probs, eps, 1.0 - eps))
    return -torch.sum(y_true * log_prob, dim=axis)


def sparse_categorical_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> torch.Tensor:
    if axis % y_pred.ndim != y_pred.ndim - 1:
        y_pred = y_pred.movedim(axis, -1)  # classes last from here on
    target = torch.as_tensor(y_true, device=y_pred.device)
    if target.ndim == y_pred.ndim and target.shape[-1] == 1:
        target = target.squeeze(-1)
    target = target.long()
    if tuple(target.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(
            f"sparse_categorical_crossentropy expected integer labels of shape {tuple(y_pred.shape[:-1])} "
            f"for predictions of shape {tuple(y_pred.shape)}, received {tuple(target.shape)}; "
            "use categorical_crossentropy for one-hot labels."
        )
    logits = y_pred.movedim(-1, 1) if y_pred.ndim > 2 else y_pred
    if from_logits:
        log_prob = F.log_softmax(logits, dim=1)
    else:
        eps = config.epsilon()
        probs = logits / torch.sum(logits, dim=1, keepdim=True)
        log_prob = torch.log(torch.clamp(probs, eps, 1.0 - eps))
    if ignore_class is not None:
        keep = target != ignore_class
        values = F.nll_loss(log_prob, torch.where(keep, target, 0), reduction="none") * keep
        values._keras_mask = keep  # the mean is over the entries that are not ignored
        return values
    return F.nll_loss(log_prob, target, reduction="none")


def huber(y_true: torch.Tensor, y_pred: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    return torch.mean(F.huber_loss(y_pred, y_true, reduction="none", delta=delta), dim=-1)


def kl_divergence(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    eps = config.epsilon()
    y_true, y_pred = torch.clamp(y_true, eps, 1.0), torch.clamp(y_pred, eps, 1.0)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


def poisson(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    return torch.mean(y_pred - y_true * torch.log(y_pred + config.epsilon()), dim=-1)


def log_cosh(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    x = y_pred - y_true
    return torch.mean(x + F.softplus(-2.0 * x) - math.log(2.0), dim=-1)  # log(cosh(x)), overflow-free


def _signed_labels(y_true: torch.Tensor) -> torch.Tensor:
    # Keras maps {0, 1} labels to {-1, 1} for the hinge losses.
    return torch.where(y_true == 0, -torch.ones_like(y_true), y_true)


def hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    return torch.mean(torch.relu(1.0 - _signed_labels(y_true) * y_pred), dim=-1)


def squared_hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    return torch.mean(torch.square(torch.relu(1.0 - _signed_labels(y_true) * y_pred)), dim=-1)


def categorical_hinge(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    y_true = _float(y_true, y_pred)
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.relu(neg - pos + 1.0)


def cosine_similarity(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int = -1) -> torch.Tensor:
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    return -torch.sum(F.normalize(y_true, dim=axis) * F.normalize(y_pred, dim=axis), dim=axis)


def _clipped_bce(y_true: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    eps = config.epsilon()
    probs = torch.clamp(probs, eps, 1.0 - eps)
    return -(y_true * torch.log(probs) + (1.0 - y_true) * torch.log(1.0 - probs))


def binary_focal_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor, apply_class_balancing: bool = False,
                              alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> torch.Tensor:
    """Binary crossentropy scaled by `(1 - p_t) ** gamma`, which down-weights easy examples
    (Lin et al., 2017); `apply_class_balancing` also weighs positives by `alpha`, negatives by `1 - alpha`."""
    y_true, y_pred = same_rank(_float(y_true, y_pred), y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    probs = torch.sigmoid(y_pred) if from_logits else y_pred
    p_t = y_true * probs + (1 - y_true) * (1 - probs)
    values = torch.pow(1.0 - p_t, gamma) * _clipped_bce(y_true, probs)
    if apply_class_balancing:
        values = (y_true * alpha + (1 - y_true) * (1 - alpha)) * values
    return torch.mean(values, dim=axis)


def categorical_focal_crossentropy(y_true: torch.Tensor, y_pred: torch.Tensor, alpha: float = 0.25,
                                   gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> torch.Tensor:
    """Categorical crossentropy with each class term scaled by `alpha * (1 - p) ** gamma`."""
    y_true = _float(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    probs = torch.softmax(y_pred, dim=axis) if from_logits else y_pred
    probs = probs / torch.sum(probs, dim=axis, keepdim=True)
    eps = config.epsilon()
    probs = torch.clamp(probs, eps, 1.0 - eps)
    return torch.sum(alpha * torch.pow(1.0 - probs, gamma) * (-y_true * torch.log(probs)), dim=axis)


def categorical_generalized_cross_entropy(y_true: torch.Tensor, y_pred: torch.Tensor, q: float) -> torch.Tensor:
    """`(1 - p_y ** q) / q` for integer labels y (Zhang & Sabuncu, 2018): crossentropy as q -> 0, MAE at
    q = 1, robust to noisy labels in between."""
    target = torch.as_tensor(y_true, device=y_pred.device).long()
    if target.ndim == y_pred.ndim and target.shape[-1] == 1:
        target = target.squeeze(-1)
    p = torch.gather(y_pred, -1, target.unsqueeze(-1)).squeeze(-1)
    return (1 - torch.pow(p, q)) / q


def dice(y_true: torch.Tensor, y_pred: torch.Tensor, axis: Any = None) -> torch.Tensor:
    """`1 - 2|y_true * y_pred| / (|y_true| + |y_pred|)`, over `axis` (None: the whole batch, one value)."""
    y_true = _float(y_true, y_pred)
    dims = _dims(axis)
    intersection = torch.sum(y_true * y_pred, dim=dims)
    return 1 - 2.0 * intersection / (torch.sum(y_true, dim=dims) + torch.sum(y_pred, dim=dims) + config.epsilon())


def tversky(y_true: torch.Tensor, y_pred: torch.Tensor, alpha: float = 0.5, beta: float = 0.5,
            axis: Any = None) -> torch.Tensor:
    """Dice generalised: `1 - tp / (tp + alpha * fp + beta * fn)` over `axis` (None: one value), with
    Keras's roles of alpha and beta."""
    y_true = _float(y_true, y_pred)
    dims = _dims(axis)
    intersection = torch.sum(y_true * y_pred, dim=dims)
    fp = torch.sum((1 - y_pred) * y_true, dim=dims)
    fn = torch.sum(y_pred * (1 - y_true), dim=dims)
    return 1 - intersection / (intersection + fp * alpha + fn * beta + config.epsilon())


def _dims(axis: Any) -> Any:
    return None if axis is None else tuple(axis) if isinstance(axis, (list, tuple)) else axis


def circle(y_true: torch.Tensor, y_pred: torch.Tensor, ref_labels: Any = None, ref_embeddings: Any = None,
           remove_diagonal: bool = True, gamma: float = 80, margin: float = 0.4) -> torch.Tensor:
    """Circle loss (Sun et al., 2020) of L2-normalised embeddings `y_pred` with integer labels `y_true`,
    against `ref_embeddings`/`ref_labels` (default: the batch itself). Only positive terms are averaged."""
    labels = torch.as_tensor(y_true, device=y_pred.device).long()
    ref = y_pred if ref_embeddings is None else torch.as_tensor(ref_embeddings, device=y_pred.device, dtype=y_pred.dtype)
    ref_labels = labels if ref_labels is None else torch.as_tensor(ref_labels, device=y_pred.device).long()
    distances = torch.clamp_min(1 - y_pred @ ref.T, 0.0)
    positive = labels.reshape(-1, 1) == ref_labels.reshape(1, -1)
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~torch.eye(positive.shape[0], positive.shape[1], dtype=torch.bool, device=y_pred.device)
    pos_weights = torch.clamp_min((margin + distances) * positive, 0.0)
    neg_weights = torch.clamp_min((1 + margin - distances) * negative, 0.0)
    pos_terms = -gamma * pos_weights * (margin - distances)
    neg_terms = gamma * neg_weights * ((1 - margin) - distances)
    minus_inf = torch.full_like(distances, float("-inf"))
    p_loss = torch.logsumexp(torch.where(positive, pos_terms, minus_inf), dim=1)
    n_loss = torch.logsumexp(torch.where(negative, neg_terms, minus_inf), dim=1)
    values = F.softplus(p_loss + n_loss)
    values._keras_mask = values > 0
    return values


def ctc(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Connectionist temporal classification loss of logits `(batch, time, classes)` against integer
    labels `(batch, max_label_length)`, with 0 as the blank and padding index (label lengths count the
    non-zero labels), as Keras defines it."""
    if y_true.ndim != 2:
        raise ValueError(
            f"ctc expected integer labels of shape (batch_size, max_length), received shape {tuple(y_true.shape)}."
        )
    if y_pred.ndim != 3:
        raise ValueError(
            f"ctc expected logits of shape (batch_size, max_length, num_classes), received shape {tuple(y_pred.shape)}."
        )
    from .ops.nn import ctc_loss

    target = y_true.long()
    target_length = (target != 0).sum(dim=-1)
    output_length = torch.full((y_pred.shape[0],), y_pred.shape[1], dtype=torch.long, device=y_pred.device)
    return ctc_loss(target, y_pred, target_length, output_length, mask_index=0)


def _kernel(functional: Callable, name: str) -> Callable:
    """torch's mean-reduced loss kernel for two plain tensors of one shape (the caller checks it):
    the op `functional` ends in, without its broadcasting wrapper (~10 us a call at small batches)."""
    raw = getattr(torch._C._nn, name, None)
    if raw is None:
        return functional

    def kernel(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
        if type(y_pred) is torch.Tensor:
            return raw(y_pred, y_true, 1)  # 1: torch's "mean" reduction
        return functional(y_pred, y_true)  # a tensor subclass keeps its __torch_function__

    return kernel


# Mean over the last axis, then the mean over samples, is the mean over all values: one kernel.
_FUSED = {mean_squared_error: _kernel(F.mse_loss, "mse_loss"), mean_absolute_error: _kernel(F.l1_loss, "l1_loss")}


# ------------------------------------------------------------------------------ loss classes


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_percentage_error",
                 dtype: Any = None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_logarithmic_error",
                 dtype: Any = None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy", dtype: Any = None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class CategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: Any = None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def __call__(self, y_true: Any, y_pred: torch.Tensor, sample_weight: Any = None) -> torch.Tensor:
        # The common case (logits, integer labels, no weights, mean) as torch's fused cross_entropy:
        # the same value with fewer kernels forward and backward.
        if (self.from_logits and sample_weight is None and self.ignore_class is None and self.reduction in (
                "sum_over_batch_size", "mean") and isinstance(y_pred, torch.Tensor) and y_pred.ndim == 2
                and y_pred.dtype == torch.float32 and isinstance(y_true, torch.Tensor) and y_true.ndim == 1
                and not y_true.is_floating_point() and y_true.shape[0] == y_pred.shape[0]
                and "_keras_mask" not in y_pred.__dict__):
            return F.cross_entropy(y_pred, y_true.long())
        return super().__call__(y_true, y_pred, sample_weight)


class Huber(LossFunctionWrapper):
    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str = "huber_loss",
                 dtype: Any = None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class KLDivergence(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence", dtype: Any = None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "poisson", dtype: Any = None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


class LogCosh(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "log_cosh", dtype: Any = None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge", dtype: Any = None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "squared_hinge", dtype: Any = None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size", name: str = "cosine_similarity",
                 dtype: Any = None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy focused on hard examples by the factor `(1 - p_t) ** gamma`.

    Args:
        apply_class_balancing: weigh positives by `alpha` and negatives by `1 - alpha`.
        alpha: the class-balancing weight of positives.
        gamma: the focusing exponent (0 gives plain binary crossentropy).
        from_logits: predictions are logits rather than probabilities.
        label_smoothing: squeeze labels towards 0.5 by this amount.
        axis: the axis the per-sample mean is taken over.
        reduction, name, dtype: as for every loss.
    """

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_focal_crossentropy",
                 dtype: Any = None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy with each class term scaled by `alpha * (1 - p) ** gamma`.

    Args:
        alpha: the weight of every class term.
        gamma: the focusing exponent.
        from_logits: predictions are logits rather than probabilities.
        label_smoothing: mix labels with the uniform distribution by this amount.
        axis: the class axis.
        reduction, name, dtype: as for every loss.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_focal_crossentropy", dtype: Any = None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized crossentropy `(1 - p_y ** q) / q` of integer labels, robust to label noise.

    Args:
        q: in (0, 1): towards 0 it approaches crossentropy, at 1 mean absolute error.
        reduction, name, dtype: as for every loss.
    """

    def __init__(self, q: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_generalized_cross_entropy", dtype: Any = None):
        if not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: q must be in the interval (0, 1), received {q}.")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)


class Dice(LossFunctionWrapper):
    """The Dice loss `1 - 2 * overlap / total` (segmentation).

    Args:
        reduction, name: as for every loss.
        axis: the axes summed per value (None: the whole batch gives one value).
        dtype: as for every loss.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "dice", axis: Any = None,
                 dtype: Any = None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Tversky(LossFunctionWrapper):
    """The Tversky loss, Dice with separate weights for false positives and negatives.

    Args:
        alpha: the weight Keras gives the `(1 - y_pred) * y_true` term.
        beta: the weight Keras gives the `y_pred * (1 - y_true)` term.
        reduction, name: as for every loss.
        axis: the axes summed per value (None: the whole batch gives one value).
        dtype: as for every loss.
    """

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str = "tversky", axis: Any = None, dtype: Any = None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)


class Circle(LossFunctionWrapper):
    """Circle loss for metric learning: integer labels, L2-normalised embeddings as predictions.

    Args:
        gamma: the scale factor.
        margin: the relaxation margin.
        remove_diagonal: leave each embedding's similarity with itself out of the positive pairs.
        reduction, name, dtype: as for every loss.
    """

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: str | None = "sum_over_batch_size", name: str = "circle", dtype: Any = None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)


class CTC(LossFunctionWrapper):
    """Connectionist temporal classification loss (labels padded with 0, the blank class).

    Args:
        reduction, name, dtype: as for every loss.
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "ctc", dtype: Any = None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


_ALIASES: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy, "huber": Huber, "huber_loss": Huber,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson, "log_cosh": LogCosh, "logcosh": LogCosh, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "cosine_similarity": CosineSimilarity, "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy, "dice": Dice, "tversky": Tversky,
    "circle": Circle, "ctc": CTC, "bce": BinaryCrossentropy,
}
_CLASSES: dict[str, type[Loss]] = {cls.__name__: cls for cls in {Loss, LossFunctionWrapper, *_ALIASES.values(),
                                                                    CategoricalGeneralizedCrossEntropy}}
_FUNCTIONS: dict[str, Callable] = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    sparse_categorical_crossentropy, huber, kl_divergence, poisson, log_cosh, hinge, squared_hinge,
    categorical_hinge, cosine_similarity, dice, tversky, circle, ctc, categorical_generalized_cross_entropy)}


def get(identifier: Any) -> Loss | Callable | None:
    """A loss from a Keras name (`"mse"`, `"sparse_categorical_crossentropy"`), object or callable."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return get(deserialize(identifier))
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower()) or _CLASSES.get(identifier)  # "mse", "Dice", "BinaryFocalCrossentropy"
        if cls is None or cls in (Loss, LossFunctionWrapper):
            raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(_ALIASES)} or a callable.")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret loss {identifier!r}: expected a string, a Loss or a callable.")


def serialize(loss: Any) -> Any:
    """Keras's config entry for a loss object or function (`module`, `class_name`, `config`, ...)."""
    from .saving.serialization import serialize_keras_object

    return serialize_keras_object(loss)


def deserialize(name: Any, custom_objects: dict | None = None) -> Any:
    """The loss (object or function) a `serialize` entry or a name describes; configs never run code."""
    custom_objects = custom_objects or {}
    if isinstance(name, str):
        found = custom_objects.get(name) or _FUNCTIONS.get(name) or _CLASSES.get(name) or _ALIASES.get(name.lower())
        if found is None:
            raise ValueError(f"losses.deserialize: unknown loss name {name!r}; pass a known name or custom_objects.")
        return found() if isinstance(found, type) else found
    if not isinstance(name, dict) or "class_name" not in name:
        raise TypeError(f"losses.deserialize expected a name or a dict with 'class_name', received {name!r}.")
    if name["class_name"] in ("function", "__lambda__"):
        function = name.get("config")
        if isinstance(function, str) and function in _FUNCTIONS and function not in custom_objects:
            return _FUNCTIONS[function]
        from .saving.serialization import function_from

        return function_from(name, custom_objects, True)
    from .metrics import _class_from

    return _class_from(name, custom_objects, _CLASSES, "losses")


def _compute_dtype_name(dtype: Any) -> str:
    from .metrics.metric import metric_dtype  # one rule for metrics and losses (policies -> compute dtype)

    return metric_dtype(dtype)


def _auto_name(class_name: str) -> str:
    """Keras's default name: the snake_case class name, numbered per process (`my_loss`, `my_loss_1`)."""
    from .layers.layer import snake_case, unique_name

    return unique_name(snake_case(class_name))
