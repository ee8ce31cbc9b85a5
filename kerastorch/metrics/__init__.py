"""Keras metrics whose state lives on the device, so training never waits for the host.

One module per family, named as in Keras's sources: `metric` (the Metric base), `reduction_metrics`
(Mean, Sum, MeanMetricWrapper), `accuracy_metrics`, `regression_metrics`, `probabilistic_metrics`,
`hinge_metrics`, `confusion_metrics` (counts, precision/recall, AUC, "X at Y"), `iou_metrics`,
`f_score_metrics`, `correlation_metrics`. The functional forms Keras exports here are the loss functions
themselves (`kt.metrics.hinge is kt.losses.hinge`), as in Keras.
"""

from __future__ import annotations

from typing import Any, Callable

from ..losses import (
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    categorical_hinge, hinge, huber, kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge,
)
from .accuracy_metrics import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy, accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, top_k_categorical_accuracy,
)
from .metric import Metric
from .confusion_metrics import (
    AUC, FalseNegatives, FalsePositives, Precision, PrecisionAtRecall, Recall, RecallAtPrecision,
    SensitivityAtSpecificity, SpecificityAtSensitivity, TrueNegatives, TruePositives,
)
from .correlation_metrics import ConcordanceCorrelation, PearsonCorrelation, concordance_correlation, pearson_correlation
from .f_score_metrics import F1Score, FBetaScore
from .hinge_metrics import CategoricalHinge, Hinge, SquaredHinge
from .iou_metrics import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .probabilistic_metrics import (
    BinaryCrossentropy, CategoricalCrossentropy, KLDivergence, Poisson, SparseCategoricalCrossentropy,
)
from .reduction_metrics import Mean, MeanMetricWrapper, Sum
from .regression_metrics import (
    CosineSimilarity, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
    MeanSquaredLogarithmicError, R2Score, RootMeanSquaredError,
)

_CLASSES: list[type[Metric]] = [
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError,
    R2Score, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson,
    Hinge, SquaredHinge, CategoricalHinge, AUC, Precision, Recall, TruePositives, FalsePositives, TrueNegatives,
    FalseNegatives, PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, F1Score, FBetaScore, PearsonCorrelation,
    ConcordanceCorrelation,
]
_FUNCTIONS: list[Callable] = [
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
    categorical_focal_crossentropy, categorical_hinge, hinge, huber, kl_divergence, log_cosh, mean_absolute_error,
    mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error, poisson,
    sparse_categorical_crossentropy, squared_hinge, pearson_correlation, concordance_correlation,
]

__all__ = [cls.__name__ for cls in _CLASSES] + [fn.__name__ for fn in _FUNCTIONS] + ["get", "serialize", "deserialize"]


def _snake(name: str) -> str:
    from ..layers.layer import snake_case

    return snake_case(name)


# Names `compile(metrics=[...])` and `get` accept: class names, their snake_case forms, Keras's short aliases.
_ALIASES: dict[str, type[Metric]] = {
    **{cls.__name__: cls for cls in _CLASSES}, **{_snake(cls.__name__): cls for cls in _CLASSES},
    "mse": MeanSquaredError, "mae": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "rmse": RootMeanSquaredError, "bce": BinaryCrossentropy,
    "auc": AUC, "iou": IoU, "mean_iou": MeanIoU, "binary_iou": BinaryIoU, "r2": R2Score,
}
for _name in ("Metric", "metric", "MeanMetricWrapper", "mean_metric_wrapper", "IoU", "io_u", "iou", "OneHotIoU",
              "one_hot_io_u", "MeanIoU", "mean_io_u", "mean_iou", "OneHotMeanIoU", "one_hot_mean_io_u"):
    _ALIASES.pop(_name, None)  # these need arguments: a bare name cannot build them
_FUNCTIONS_BY_NAME: dict[str, Callable] = {fn.__name__: fn for fn in _FUNCTIONS}


def get(identifier: Any) -> Any:
    """A metric from a Keras name (`"auc"`, `"F1Score"`), a config dict, a Metric, a Metric class,
    a torchmetrics metric or a function `fn(y_true, y_pred)` (wrapped in a MeanMetricWrapper)."""
    if identifier is None or isinstance(identifier, Metric) or _is_torchmetric(identifier):
        return identifier
    if isinstance(identifier, dict):
        return get(deserialize(identifier))
    if isinstance(identifier, str):
        factory = _ALIASES.get(identifier) or _ALIASES.get(identifier.lower())
        if factory is None:
            function = _FUNCTIONS_BY_NAME.get(identifier)
            if function is not None:
                return MeanMetricWrapper(function, name=identifier)
            raise ValueError(
                f"Unknown metric {identifier!r}; expected 'accuracy' or one of {sorted(k for k in _ALIASES if k.islower())}, "
                "a Metric or a callable."
            )
        return factory()
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(f"Could not interpret metric {identifier!r}: expected a string, a Metric or a callable.")


def serialize(metric: Any) -> Any:
    """Keras's config entry for a metric object or function (`module`, `class_name`, `config`, ...)."""
    from ..saving.serialization import serialize_keras_object

    return serialize_keras_object(metric)


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """The metric (or metric function) a `serialize` entry or a name describes; configs never run code."""
    custom_objects = custom_objects or {}
    if isinstance(config, str):
        if config in custom_objects:
            return custom_objects[config]
        if config in _FUNCTIONS_BY_NAME:
            return _FUNCTIONS_BY_NAME[config]
        cls = _ALIASES.get(config) or {c.__name__: c for c in _CLASSES}.get(config)
        if cls is None:
            raise ValueError(f"metrics.deserialize: unknown metric name {config!r}; pass a known name or custom_objects.")
        return cls()
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"metrics.deserialize expected a name or a dict with 'class_name', received {config!r}.")
    if config["class_name"] in ("function", "__lambda__"):
        name = config.get("config")
        if isinstance(name, str) and name in _FUNCTIONS_BY_NAME and name not in custom_objects:
            return _FUNCTIONS_BY_NAME[name]
        from ..saving.serialization import function_from

        return function_from(config, custom_objects, True)
    return _class_from(config, custom_objects, {c.__name__: c for c in _CLASSES}, "metrics")


def _class_from(config: dict, custom_objects: dict, builtins: dict, kind: str) -> Any:
    """`cls.from_config(...)` for a class entry: custom objects and registered classes first, then ours."""
    from ..saving.serialization import lookup_objects

    name = config["class_name"]
    objects = lookup_objects(custom_objects)
    cls = objects.get(config.get("registered_name") or name) or objects.get(name) or builtins.get(name)
    if not isinstance(cls, type):
        raise ValueError(f"{kind}.deserialize: unknown class {name!r}; pass it in custom_objects.")
    return cls.from_config(dict(config.get("config") or {}))


def _is_torchmetric(value: Any) -> bool:
    """A torchmetrics.Metric, recognised without importing torchmetrics."""
    return any(c.__module__.startswith("torchmetrics") and c.__name__ == "Metric" for c in type(value).__mro__)
