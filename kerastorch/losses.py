"""Keras losses on torch tensors: per-sample values, then sample weights, then a reduction.

Each loss follows Keras 3's arithmetic (clipped probabilities for `from_logits=False`, means over the
last axis, `sum_over_batch_size` dividing by the number of values rather than the sum of weights),
so a model trained here reports the same loss as the same model trained with Keras.
"""

from __future__ import annotations

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


class Loss:
    """Base class: subclasses implement `call(y_true, y_pred)` returning per-sample values."""

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size", dtype: Any = None):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be one of {list(_REDUCTIONS)}, received {reduction!r}."
            )
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype

    def __call__(self, y_true: Any, y_pred: torch.Tensor, sample_weight: Any = None) -> torch.Tensor:
        y_pred = torch.as_tensor(y_pred)
        if not y_pred.is_floating_point():
            y_pred = y_pred.float()
        elif y_pred.dtype in (torch.float16, torch.bfloat16):
            y_pred = y_pred.float()  # mixed precision: losses are computed in float32, as in Keras
        fused = self._fused
        if (fused is not None and sample_weight is None and type(y_true) is torch.Tensor
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
        return {**super().get_config(), **self._fn_kwargs}


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
        values = F.nll_loss(log_prob, torch.where(keep, target, 0), reduction="none")
        return values * keep
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
    return torch.mean(x + F.softplus(-2.0 * x) - torch.log(torch.tensor(2.0, device=x.device, dtype=x.dtype)), dim=-1)


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


# Mean over the last axis, then the mean over samples, is the mean over all values: one kernel.
_FUSED = {mean_squared_error: F.mse_loss, mean_absolute_error: F.l1_loss}


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
                 reduction: str | None = "sum_over_batch_size", name: str = "sparse_categorical_crossentropy",
                 dtype: Any = None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class)
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def __call__(self, y_true: Any, y_pred: torch.Tensor, sample_weight: Any = None) -> torch.Tensor:
        # The common case (logits, integer labels, no weights, mean) as torch's fused cross_entropy:
        # the same value with fewer kernels forward and backward.
        if (self.from_logits and sample_weight is None and self.ignore_class is None and self.reduction in (
                "sum_over_batch_size", "mean") and isinstance(y_pred, torch.Tensor) and y_pred.ndim == 2
                and y_pred.dtype == torch.float32 and isinstance(y_true, torch.Tensor) and y_true.ndim == 1
                and not y_true.is_floating_point() and y_true.shape[0] == y_pred.shape[0]):
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
    "cosine_similarity": CosineSimilarity,
}


def get(identifier: Any) -> Loss | Callable | None:
    """A loss from a Keras name (`"mse"`, `"sparse_categorical_crossentropy"`), object or callable."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown loss {identifier!r}; expected one of {sorted(_ALIASES)} or a callable.")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret loss {identifier!r}: expected a string, a Loss or a callable.")


def serialize(loss: Any) -> Any:
    """The Keras name of a built-in loss (or its config) for saving."""
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    return getattr(loss, "__name__", None)


def _snake(name: str) -> str:
    from .layers.layer import snake_case

    return snake_case(name)
