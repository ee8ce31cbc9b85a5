"""Keras's weight and activity regularizers: callables from a tensor to a scalar penalty.

A regularizer given to `add_weight(regularizer=)` (or a layer's `kernel_regularizer=`, ...) is
evaluated on the weight's current value each time `layer.losses` is read, as Keras does; an
`activity_regularizer` is evaluated on the layer's output during the call and divided by the batch
size. Weights are passed in Keras layout, so a penalty that cares about axes sees Keras's axes.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from . import config
from .named_objects import NamedFamily


def _factor(value: Any, name: str) -> float:
    """A finite non-negative float, as Keras validates regularization factors."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value) \
            or value < 0:
        raise ValueError(f"Regularizer argument {name!r} expected a finite non-negative float, received {value!r}.")
    return float(value)


class Regularizer:
    """Base class: `regularizer(x)` returns a scalar penalty added to the model's loss."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((), dtype=x.dtype, device=x.device)

    def get_config(self) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config_dict: dict) -> "Regularizer":
        return cls(**config_dict)


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x**2)`; each term is skipped when its factor is 0.

    Args:
        l1: L1 factor (default 0.0).
        l2: L2 factor (default 0.0).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        penalty = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            penalty = penalty + self.l1 * x.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * x.square().sum()
        return penalty

    def get_config(self) -> dict:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """`l1 * sum(|x|)`.

    Args:
        l1: the factor (default 0.01).
    """

    def __init__(self, l1: float = 0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.l1 * x.abs().sum()

    def get_config(self) -> dict:
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(x**2)`.

    Args:
        l2: the factor (default 0.01).
    """

    def __init__(self, l2: float = 0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2 * x.square().sum()

    def get_config(self) -> dict:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Penalizes non-orthogonal rows (or columns) of a rank-2 weight.

    The penalty is `factor * 0.5 * mean |<u_i, u_j>|` over pairs `i < j` of L2-normalized rows
    (`mode="rows"`) or columns (`mode="columns"`).

    Args:
        factor: the factor (default 0.01).
        mode: "rows" or "columns".
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer expected mode 'rows' or 'columns', received {mode!r}.")
        self.mode = mode

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ValueError(
                f"OrthogonalRegularizer expected a rank-2 weight, received shape {tuple(x.shape)}; "
                "use it on Dense-like kernels only."
            )
        axis = 1 if self.mode == "rows" else 0
        inverse_norm = torch.rsqrt(x.square().sum(axis, keepdim=True)).clamp(max=1.0 / config.epsilon())
        unit = x * inverse_norm
        product = unit @ unit.T if self.mode == "rows" else unit.T @ unit
        size = product.shape[0]
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * off_diagonal.abs().sum() / pairs

    def get_config(self) -> dict:
        return {"factor": self.factor, "mode": self.mode}


def _l1_l2_preset() -> L1L2:
    """The string "l1_l2": both factors 0.01, as Keras documents (the class defaults are 0.0)."""
    return L1L2(l1=0.01, l2=0.01)


# Keras's string identifiers resolve to the class with default arguments.
_BY_NAME: dict[str, Callable] = {
    "l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": _l1_l2_preset, "orthogonal_regularizer": OrthogonalRegularizer,
    "regularizer": Regularizer,
}
_BY_CLASS_NAME: dict[str, type] = {cls.__name__: cls for cls in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)}

# Keras's lower-case function-style aliases.
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer


_FAMILY = NamedFamily("regularizer", "keras.regularizers", _BY_NAME, _BY_CLASS_NAME)


def serialize(regularizer: Any) -> Any:
    """Keras's config of a regularizer: `{"module", "class_name", "config", "registered_name"}`."""
    return _FAMILY.serialize(regularizer)


def deserialize(config_dict: Any, custom_objects: dict | None = None) -> Any:
    """A regularizer from `serialize`'s output (or a name), looking in `custom_objects` first."""
    return _FAMILY.deserialize(config_dict, custom_objects)


def get(identifier: Any) -> Callable | None:
    """Resolve None, a name ("l1", "l2", "l1_l2"), a config dict, a class or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize(identifier)
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret regularizer {identifier!r}; expected a name such as 'l2', a Regularizer or a callable."
    )
