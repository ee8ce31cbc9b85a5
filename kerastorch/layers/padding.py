"""Padding rules shared by convolution and pooling layers: Keras's "valid"/"same"/"causal" choices,
TF-style "same" amounts (the odd element after), and how those reach torch's ops."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F


def standardize_padding(layer: str, padding: Any, allow_causal: bool = False) -> str:
    """Lower-cased "valid"/"same" (and "causal" where allowed), or a ValueError listing the choices."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if not isinstance(padding, str):
        raise TypeError(f"{layer} expected `padding` to be one of {allowed}, received {padding!r}.")
    if padding.lower() not in allowed:
        raise ValueError(f"{layer} expected `padding` to be one of {allowed}, received {padding!r}.")
    return padding.lower()


def same_padding(
    sizes: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...]
) -> list[tuple[int, int]]:
    """Keras/TF "same" padding per spatial axis as (before, after); an odd total puts the extra after."""
    pads = []
    for size, k, s, d in zip(sizes, kernel, strides, dilation):
        span = (k - 1) * d + 1
        total = max(0, (-(-size // s) - 1) * s + span - size)
        pads.append((total // 2, total - total // 2))
    return pads


def pad_same(x: torch.Tensor, pads: list[tuple[int, int]], value: float = 0.0) -> tuple[torch.Tensor, Any]:
    """Return (input, torch padding): symmetric pads go to the torch op; asymmetric ones use F.pad."""
    if all(before == after for before, after in pads):
        return x, [before for before, _ in pads]
    return F.pad(x, torch_pads(pads), value=value), 0


def torch_pads(pads: list[tuple[int, int]]) -> list[int]:
    """Per-axis (before, after) pads in the order `F.pad` wants them: last axis first, flattened."""
    return [p for pair in reversed(pads) for p in pair]
