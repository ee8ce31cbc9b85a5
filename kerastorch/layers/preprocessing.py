"""Preprocessing layers that run inside the model: Rescaling."""

from __future__ import annotations

from typing import Any

import torch

from .layer import Layer


class Rescaling(Layer):
    """`inputs * scale + offset`, casting integer images to the layer's float dtype first."""

    supports_masking = True

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not inputs.is_floating_point():
            inputs = inputs.to(self._dtype)
        return inputs * self.scale + self.offset
