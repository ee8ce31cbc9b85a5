"""Pooling layers: max and average pooling over windows, and global pooling over all positions.

Like the convolutions, channels_last inputs reach torch's pooling kernels as zero-copy
channels_first views. "same" padding follows Keras/TF: the extra element of an odd total padding
goes after; max pooling never picks a padded element and average pooling divides by the number of
real elements in each window.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import config
from .conv import from_channels_first, int_tuple, to_channels_first
from .padding import pad_same, same_padding, standardize_padding, torch_pads
from .input_spec import InputSpec
from .layer import Layer

__all__ = [
    "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D",
    "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D",
]

_MAX_POOL = (F.max_pool1d, F.max_pool2d, F.max_pool3d)
_AVG_POOL = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)


class _Pooling(Layer):
    """Windowed pooling: `pool_size`, `strides` (default `pool_size`), "valid"/"same" padding."""

    rank = 2

    def __init__(
        self,
        pool_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] | None = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.pool_size = int_tuple(cls, "pool_size", pool_size, self.rank)
        self.strides = self.pool_size if strides is None else int_tuple(cls, "strides", strides, self.rank)
        self.padding = standardize_padding(cls, padding)
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def _same_pads(self, x: torch.Tensor) -> list[tuple[int, int]]:
        return same_padding(tuple(x.shape[2:]), self.pool_size, self.strides, (1,) * self.rank)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_channels_first(inputs, self.data_format)
        return from_channels_first(self._pool(x), self.data_format)


class _MaxPooling(_Pooling):
    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        pool = _MAX_POOL[self.rank - 1]
        if self.padding == "valid":
            return pool(x, self.pool_size, self.strides)
        # Asymmetric padding uses the lowest value, so a padded element is never the maximum.
        lowest = float("-inf") if x.is_floating_point() else torch.iinfo(x.dtype).min
        x, padding = pad_same(x, self._same_pads(x), value=lowest)
        return pool(x, self.pool_size, self.strides, padding)


class _AveragePooling(_Pooling):
    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        pool = _AVG_POOL[self.rank - 1]
        if self.padding == "valid":
            return pool(x, self.pool_size, self.strides)
        pads = self._same_pads(x)
        if all(before == after for before, after in pads):
            return pool(x, self.pool_size, self.strides, [before for before, _ in pads], count_include_pad=False)
        # Asymmetric: window sums over zero padding divided by each window's count of real elements.
        flat = torch_pads(pads)
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        sums = pool(F.pad(x, flat), self.pool_size, self.strides)
        counts = pool(F.pad(ones, flat), self.pool_size, self.strides)
        return sums / counts  # both carry the same 1 / window-size factor, which cancels


class MaxPooling1D(_MaxPooling):
    """Max over windows of `(batch, steps, channels)` inputs."""

    rank = 1

    def __init__(self, pool_size: int | tuple[int] = 2, strides: int | tuple[int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_MaxPooling):
    """Max over windows of `(batch, height, width, channels)` inputs."""

    rank = 2

    def __init__(self, pool_size: int | tuple[int, int] = (2, 2), strides: int | tuple[int, int] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_MaxPooling):
    """Max over windows of `(batch, depth, height, width, channels)` inputs."""

    rank = 3

    def __init__(self, pool_size: int | tuple[int, int, int] = (2, 2, 2),
                 strides: int | tuple[int, int, int] | None = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_AveragePooling):
    """Mean over windows of `(batch, steps, channels)` inputs."""

    rank = 1


class AveragePooling2D(_AveragePooling):
    """Mean over windows of `(batch, height, width, channels)` inputs."""

    rank = 2


class AveragePooling3D(_AveragePooling):
    """Mean over windows of `(batch, depth, height, width, channels)` inputs."""

    rank = 3


class _GlobalPooling(Layer):
    """Reduces every spatial axis; `keepdims=True` keeps them with size 1."""

    rank = 2

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)
        first = 1 if self.data_format == "channels_last" else 2
        self._axes = tuple(range(first, first + self.rank))
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True


class _GlobalMaxPooling(_GlobalPooling):
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.amax(inputs, dim=self._axes, keepdim=self.keepdims)


class _GlobalAveragePooling(_GlobalPooling):
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.mean(inputs, dim=self._axes, keepdim=self.keepdims)


class GlobalMaxPooling1D(_GlobalMaxPooling):
    """Max over all steps of `(batch, steps, channels)` inputs."""

    rank = 1


class GlobalMaxPooling2D(_GlobalMaxPooling):
    """Max over all positions of `(batch, height, width, channels)` inputs."""

    rank = 2


class GlobalMaxPooling3D(_GlobalMaxPooling):
    """Max over all positions of `(batch, depth, height, width, channels)` inputs."""

    rank = 3


class GlobalAveragePooling1D(_GlobalAveragePooling):
    """Mean over all steps; a `(batch, steps)` `mask` limits it to the unmasked steps, as in Keras."""

    rank = 1

    supports_masking = True
    _mask_flow = True

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return super().forward(inputs)
        keep = mask.to(torch.bool).unsqueeze(2 if self.data_format == "channels_last" else 1)
        total = torch.sum(torch.where(keep, inputs, 0), dim=self._axes, keepdim=self.keepdims)
        return total / torch.sum(keep.to(inputs.dtype), dim=self._axes, keepdim=self.keepdims)

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> None:
        return None  # the steps are pooled away


class GlobalAveragePooling2D(_GlobalAveragePooling):
    """Mean over all positions of `(batch, height, width, channels)` inputs."""

    rank = 2


class GlobalAveragePooling3D(_GlobalAveragePooling):
    """Mean over all positions of `(batch, depth, height, width, channels)` inputs."""

    rank = 3
