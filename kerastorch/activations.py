"""Keras activation functions by name, each a plain torch function.

Defaults follow Keras 3, which differ from torch in places: `leaky_relu` uses a negative slope of
0.2, `gelu` is exact (not the tanh approximation) and `hard_sigmoid` is relu6(x + 3) / 6.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x)


def relu6(x: torch.Tensor) -> torch.Tensor:
    return F.relu6(x)


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    return F.leaky_relu(x, negative_slope)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return F.elu(x, alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    return F.selu(x)


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    return F.gelu(x, approximate="tanh" if approximate else "none")


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return F.relu6(x + 3.0) / 6.0


def silu(x: torch.Tensor) -> torch.Tensor:
    return F.silu(x)


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    return x * hard_sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    return F.softsign(x)


def exponential(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x)


def mish(x: torch.Tensor) -> torch.Tensor:
    return F.mish(x)


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    return torch.log_softmax(x, dim=axis)


swish = silu
hard_swish = hard_silu

_BY_NAME: dict[str, Callable] = {
    fn.__name__: fn
    for fn in (
        linear, relu, relu6, leaky_relu, elu, selu, gelu, sigmoid, hard_sigmoid, silu, hard_silu,
        tanh, softplus, softsign, exponential, mish, softmax, log_softmax,
    )
}
_BY_NAME.update(swish=silu, hard_swish=hard_silu)


def get(identifier: str | Callable | None) -> Callable:
    """Resolve a Keras activation name (or None, or any callable) to a callable."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
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
