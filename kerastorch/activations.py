"""Keras activation functions by name, each a plain torch function.

Defaults follow Keras 3, which differ from torch in places: `leaky_relu` uses a negative slope of
0.2, `gelu` is exact (not the tanh approximation) and `hard_sigmoid` is relu6(x + 3) / 6. The less
common ones are `kt.ops` functions (one implementation of the math for both namespaces).

On a symbolic tensor (a functional model being built) each function goes through `kt.ops`, so the
call becomes a graph node as in Keras; on tensors it runs the torch kernel directly.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from .ops import nn as _ops
from .ops import numpy as _np_ops
from .symbolic import SymbolicTensor


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def relu(x: torch.Tensor, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> torch.Tensor:
    """`x` above `threshold` (else 0, or `negative_slope * (x - threshold)`), capped at `max_value`."""
    if negative_slope == 0 and max_value is None and threshold == 0:
        return _ops.relu(x) if x.__class__ is SymbolicTensor else torch.relu(x)
    if x.__class__ is SymbolicTensor:
        out = _np_ops.where(x > threshold, x, 0.0) if threshold != 0 else _ops.relu(x)
        if max_value is not None:
            out = _np_ops.clip(out, 0.0, max_value)
        return out - negative_slope * _ops.relu(threshold - x) if negative_slope != 0 else out
    if negative_slope != 0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    out = torch.where(x > threshold, x, torch.zeros_like(x)) if threshold != 0 else torch.relu(x)
    if max_value is not None:
        out = torch.clamp(out, 0.0, max_value)
    if negative_slope != 0:
        out = out - negative_slope * torch.relu(threshold - x)
    return out


def relu6(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.relu6(x)
    return F.relu6(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.leaky_relu(x, negative_slope)
    return F.leaky_relu(x, negative_slope)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.elu(x, alpha)
    return F.elu(x, alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.selu(x)
    return F.selu(x)


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.gelu(x, approximate)
    return F.gelu(x, approximate="tanh" if approximate else "none")


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.sigmoid(x)
    return torch.sigmoid(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.hard_sigmoid(x)
    return F.relu6(x + 3.0) / 6.0


def silu(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.silu(x)
    return F.silu(x)


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.hard_silu(x)
    return x * hard_sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _np_ops.tanh(x)
    return torch.tanh(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.softplus(x)
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.softsign(x)
    return F.softsign(x)


def exponential(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _np_ops.exp(x)
    return torch.exp(x)


def mish(x: torch.Tensor) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return x * _np_ops.tanh(_ops.softplus(x))
    return F.mish(x)


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.softmax(x, axis)
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    if x.__class__ is SymbolicTensor:
        return _ops.log_softmax(x, axis)
    return torch.log_softmax(x, dim=axis)


def celu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return _ops.celu(x, alpha)


def glu(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return _ops.glu(x, axis)


def hard_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return _ops.hard_shrink(x, threshold)


def hard_tanh(x: torch.Tensor) -> torch.Tensor:
    return _ops.hard_tanh(x)


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return _ops.log_sigmoid(x)


def soft_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    return _ops.soft_shrink(x, threshold)


def sparse_plus(x: torch.Tensor) -> torch.Tensor:
    return _ops.sparse_plus(x)


def sparse_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return _ops.sparse_sigmoid(x)


def sparsemax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return _ops.sparsemax(x, axis)


def squareplus(x: torch.Tensor, b: float = 4) -> torch.Tensor:
    return _ops.squareplus(x, b)


def tanh_shrink(x: torch.Tensor) -> torch.Tensor:
    return _ops.tanh_shrink(x)


def threshold(x: torch.Tensor, threshold: float, default_value: float) -> torch.Tensor:
    """`x` where `x > threshold`, else `default_value`."""
    return _ops.threshold(x, threshold, default_value)


swish = silu
hard_swish = hard_silu

_BY_NAME: dict[str, Callable] = {
    fn.__name__: fn
    for fn in (
        linear, relu, relu6, leaky_relu, elu, selu, gelu, sigmoid, hard_sigmoid, silu, hard_silu,
        tanh, softplus, softsign, exponential, mish, softmax, log_softmax, celu, glu, hard_shrink, hard_tanh,
        log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus, tanh_shrink, threshold,
    )
}
_BY_NAME.update(swish=silu, hard_swish=hard_silu)


def get(identifier: str | Callable | None) -> Callable:
    """Resolve a Keras activation name (or None, or any callable) to a callable."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    known = ", ".join(sorted(_BY_NAME))
    raise ValueError(f"Unknown activation {identifier!r}; expected one of: {known}, or a callable.")


def serialize(activation: Callable) -> str | Callable:
    """The Keras name of a known activation function, else the callable itself."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return activation


def deserialize(config: str | dict, custom_objects: dict | None = None) -> Callable:
    """The activation a Keras config names: `"relu"`, or `{"class_name": "function", "config": "relu", ...}`;
    `custom_objects` maps other names to functions."""
    custom_objects = custom_objects or {}
    name = config
    if isinstance(config, dict):
        name = config.get("config")
        if config.get("class_name") not in ("function", None) or not isinstance(name, str):
            raise ValueError(
                f"activations.deserialize expected an activation name or a Keras function config "
                f"({{'class_name': 'function', 'config': <name>}}), received {config!r}."
            )
    if not isinstance(name, str):
        raise TypeError(f"activations.deserialize expected a string or a dict, received {type(config).__name__}.")
    for key in (name, name.split(">")[-1]):
        if key in custom_objects:
            return custom_objects[key]
    return get(name)
