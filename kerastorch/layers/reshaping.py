"""Reshaping layers: Flatten, Reshape, Permute (views wherever the memory layout allows)."""

from __future__ import annotations

from typing import Any

import torch

from .. import config
from .layer import Layer


class Flatten(Layer):
    """Flattens all but the batch axis, in channels_last order like Keras."""

    def __init__(self, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.movedim(1, -1)
        return inputs.flatten(1) if inputs.dim() > 1 else inputs.unsqueeze(1)


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape: tuple, **kwargs: Any):
        super().__init__(**kwargs)
        target_shape = tuple(int(s) for s in target_shape)
        if sum(s == -1 for s in target_shape) > 1 or any(s == 0 or s < -1 for s in target_shape):
            raise ValueError(
                f"Reshape expected positive sizes and at most one -1 in target_shape, received {target_shape}."
            )
        self.target_shape = target_shape
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        try:
            return inputs.reshape(inputs.shape[0], *self.target_shape)
        except RuntimeError as error:
            raise ValueError(
                f"Layer {self.name!r} (Reshape) cannot reshape input of shape {tuple(inputs.shape)} "
                f"to (batch, *{self.target_shape}): the element counts differ."
            ) from error


class Permute(Layer):
    """Permutes the non-batch axes; `dims` is 1-indexed as in Keras, e.g. (2, 1)."""

    def __init__(self, dims: tuple, **kwargs: Any):
        super().__init__(**kwargs)
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"Permute expected a permutation of 1..{len(dims)}, received dims={dims}.")
        self.dims = dims
        self._order = (0, *dims)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != len(self._order):
            raise ValueError(
                f"Layer {self.name!r} (Permute) expected inputs of rank {len(self._order)}, "
                f"received shape {tuple(inputs.shape)}."
            )
        return inputs.permute(self._order)
