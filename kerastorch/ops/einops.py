"""Keras's `keras.ops.rearrange`: einops-style axis rearrangement as one reshape-permute-reshape."""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from .core import convert_to_tensor

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\(([^)]*)\)|(\w+)")


def _groups(side: str) -> list[list[str]]:
    """'b (h w) c' -> [['b'], ['h', 'w'], ['c']]."""
    return [group.split() if not name else [name] for group, name in _TOKEN.findall(side)]


def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> torch.Tensor:
    """Rearrange axes by an einops pattern such as `"b (h p) w c -> b h (p w c)"`.

    Args:
        tensor: input tensor.
        pattern: input axes `->` output axes; parentheses split (input) or merge (output) axes.
        **axes_lengths: sizes of split axes that the input shape does not determine.
    """
    x = convert_to_tensor(tensor)
    if "->" not in pattern:
        raise ValueError(f"rearrange: the pattern needs '->' between input and output axes, received {pattern!r}.")
    left, right = (part.strip() for part in pattern.split("->"))
    inputs, outputs = _groups(left), _groups(right)
    if len(inputs) != x.ndim:
        raise ValueError(f"rearrange: the pattern names {len(inputs)} input axes but the tensor has shape {tuple(x.shape)}.")
    sizes = dict(axes_lengths)
    for group, dim in zip(inputs, x.shape):
        unknown = [a for a in group if a not in sizes]
        if len(unknown) > 1:
            raise ValueError(f"rearrange: give the sizes of all but one of {group} as keyword arguments.")
        if unknown:
            sizes[unknown[0]] = dim // math.prod(sizes[a] for a in group if a != unknown[0])
    order = [a for group in inputs for a in group]
    wanted = [a for group in outputs for a in group]
    if sorted(order) != sorted(wanted):
        raise ValueError(f"rearrange: input axes {order} and output axes {wanted} must be the same names.")
    x = x.reshape([sizes[a] for a in order])
    x = x.permute([order.index(a) for a in wanted])
    return x.reshape([math.prod(sizes[a] for a in group) for group in outputs])
