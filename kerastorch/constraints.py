"""Keras's weight constraints: projections applied to a weight after each optimizer step.

A constraint maps a weight (in Keras layout, so `axis=` means Keras's axis) to its projected
value. `constrained_weights(module)` lists every weight that has one, with a function that takes
the stored tensor and returns its projection in the stored layout; `apply_constraints(module)`
runs them in place, without gradient tracking, as Keras's optimizers do after each update.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from . import config
from .named_objects import NamedFamily


def _norms(w: torch.Tensor, axis: Any) -> torch.Tensor:
    axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return w.square().sum(dim=axis, keepdim=True).sqrt()


class Constraint:
    """Base class: `constraint(w)` returns the projected weight (the identity here)."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config_dict: dict) -> "Constraint":
        return cls(**config_dict)


class MaxNorm(Constraint):
    """Rescales each slice whose L2 norm along `axis` exceeds `max_value` down to it.

    Args:
        max_value: the largest norm allowed (default 2).
        axis: the axis (or axes) the norm is taken over, in Keras layout (default 0).
    """

    def __init__(self, max_value: float = 2, axis: Any = 0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        return w * (norms.clamp(0, self.max_value) / (config.epsilon() + norms))

    def get_config(self) -> dict:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves each slice's L2 norm towards `[min_value, max_value]` at `rate` (1.0: all the way).

    Args:
        min_value: the smallest norm (default 0.0).
        max_value: the largest norm (default 1.0).
        rate: how far to move per application, in [0, 1] (default 1.0).
        axis: the axis (or axes) the norm is taken over, in Keras layout (default 0).
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Any = 0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self) -> dict:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative entries to zero."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w.clamp(min=0)


class UnitNorm(Constraint):
    """Divides each slice by its L2 norm along `axis`.

    Args:
        axis: the axis (or axes) the norm is taken over, in Keras layout (default 0).
    """

    def __init__(self, axis: Any = 0):
        self.axis = axis

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self) -> dict:
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_BY_CLASS_NAME: dict[str, type] = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_BY_NAME: dict[str, type] = {
    "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
    "constraint": Constraint,
}


_FAMILY = NamedFamily("constraint", "keras.constraints", _BY_NAME, _BY_CLASS_NAME)


def serialize(constraint: Any) -> Any:
    """Keras's config of a constraint: `{"module", "class_name", "config", "registered_name"}`."""
    return _FAMILY.serialize(constraint)


def deserialize(config_dict: Any, custom_objects: dict | None = None) -> Any:
    """A constraint from `serialize`'s output (or a name), looking in `custom_objects` first."""
    return _FAMILY.deserialize(config_dict, custom_objects)


def get(identifier: Any) -> Callable | None:
    """Resolve None, a name ("non_neg", "max_norm", ...), a config dict, a class or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret constraint {identifier!r}; expected a name such as 'non_neg', a Constraint or a callable."
    )


# ------------------------------------------------------------------------------- applying them


def _in_layout(constraint: Callable, layout: Any) -> Callable:
    """`constraint` for a weight stored in another layout than Keras's: it sees Keras's axes."""
    if layout is None:
        return constraint
    from .layers.layer import keras_layout, stored_layout  # layers import this module

    def projected(stored: torch.Tensor) -> torch.Tensor:
        return stored_layout(constraint(keras_layout(stored, layout)), layout)

    return projected


def constrained_weights(module: nn.Module) -> list[tuple[torch.Tensor, Callable]]:
    """Every weight of `module` (recursively) that has a constraint, with a projection of it.

    The projection takes the stored tensor and returns the new stored value (Keras layout is
    handled inside), so a training loop applies it as `weight.copy_(project(weight))` under
    `torch.no_grad()` after each optimizer step. Frozen weights are left out, as in Keras.
    """
    from .layers.layer import Layer

    result = []
    seen: set[int] = set()
    for layer in module.modules():
        constraints = layer.__dict__.get("_constraints") if isinstance(layer, Layer) else None
        if not constraints:
            continue
        for name, constraint in constraints.items():
            weight = layer._parameters.get(name)
            if weight is None or not weight.requires_grad or id(weight) in seen:
                continue
            seen.add(id(weight))
            result.append((weight, _in_layout(constraint, layer._keras_layouts.get(name))))
    return result


@torch.no_grad()
def apply_constraints(module: nn.Module) -> None:
    """Project every constrained trainable weight of `module` in place (after an optimizer step)."""
    for weight, project in constrained_weights(module):
        weight.copy_(project(weight))
