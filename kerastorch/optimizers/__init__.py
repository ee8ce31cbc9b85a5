"""`kt.optimizers`: Keras's optimizers (over `torch.optim` where torch has the algorithm) and schedules."""

from __future__ import annotations

from typing import Any

import torch

from . import schedules
from .algorithms import Adafactor, Ftrl, Lamb, Lion
from .loss_scale import LossScaleOptimizer
from .multi import MultiOptimizer, OptimizerMap
from .muon import Muon
from .optimizer import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, Optimizer, RMSprop
from .schedule_free import ScheduleFreeAdamW

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Lion", "Lamb",
    "Ftrl", "Adafactor", "Muon", "ScheduleFreeAdamW", "LossScaleOptimizer", "MultiOptimizer", "OptimizerMap",
    "schedules", "get", "serialize", "deserialize", "get_learning_rate", "set_learning_rate",
]

_ALIASES: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls
    for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Lion, Lamb, Ftrl, Adafactor, Muon,
                ScheduleFreeAdamW)
}
# Wrappers need their inner optimizers: they come from configs, not from a bare name.
_WRAPPERS: dict[str, type[Optimizer]] = {cls.__name__.lower(): cls for cls in (LossScaleOptimizer, MultiOptimizer)}


def get(identifier: Any) -> Any:
    """An optimizer from a Keras name or config, a kt optimizer, a torch optimizer, or a factory `params -> optimizer`."""
    if isinstance(identifier, (Optimizer, torch.optim.Optimizer)):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_ALIASES)}.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Could not interpret optimizer {identifier!r}: expected a name such as 'adam', a kt.optimizers "
        "object, a torch.optim.Optimizer, or a callable taking the parameters."
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras's JSON form of an optimizer."""
    from ..saving.compile_state import _object_config

    return _object_config(optimizer, "optimizers")


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Optimizer:
    """An optimizer from Keras's JSON form (`{"class_name": "Adam", "config": {...}}`)."""
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = (custom_objects or {}).get(name) or _ALIASES.get(str(name).lower()) or _WRAPPERS.get(str(name).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer {name!r}; expected one of {sorted(_ALIASES)} or a custom_objects entry.")
    return cls.from_config(dict(config.get("config") or {}), custom_objects)


def get_learning_rate(optimizer: Any) -> float:
    """The current learning rate of a kt or torch optimizer (first parameter group)."""
    if isinstance(optimizer, Optimizer):
        return float(optimizer.learning_rate)
    return float(optimizer.param_groups[0]["lr"])


def set_learning_rate(optimizer: Any, value: float) -> None:
    """Set the learning rate of a kt or torch optimizer (every parameter group)."""
    if isinstance(optimizer, Optimizer):
        optimizer.learning_rate = float(value)
        return
    for group in optimizer.param_groups:
        group["lr"] = float(value)
