"""Adaptive pooling layers: pool any spatial size down to a fixed `output_size`.

Window bounds are torch's (and Keras's torch backend): output cell `i` of `n` covers input positions
`floor(i * L / n)` to `ceil((i + 1) * L / n)`. channels_last inputs reach torch's adaptive kernels as
zero-copy channels_first views, as in the convolution layers.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import config
from .conv import from_channels_first, int_tuple, to_channels_first
from .input_spec import InputSpec
from .layer import Layer

__all__ = [
    "AdaptiveAveragePooling1D", "AdaptiveAveragePooling2D", "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D", "AdaptiveMaxPooling2D", "AdaptiveMaxPooling3D",
]

_AVERAGE = (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d)
_MAX = (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d)


class _AdaptivePooling(Layer):
    rank = 2
    _kernels = _AVERAGE

    def __init__(self, output_size: int | tuple[int, ...], data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.output_size = int_tuple(type(self).__name__, "output_size", output_size, self.rank)
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_channels_first(inputs, self.data_format)
        return from_channels_first(self._kernels[self.rank - 1](x, self.output_size), self.data_format)


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Averages `(batch, steps, channels)` inputs into `output_size` steps.

    Args:
        output_size: an int or a tuple of 1 int, the number of output steps.
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
    """

    rank = 1


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Averages `(batch, height, width, channels)` inputs into an `output_size` grid.

    Args:
        output_size: an int or (height, width).
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
    """

    rank = 2


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Averages `(batch, depth, height, width, channels)` inputs into an `output_size` grid.

    Args:
        output_size: an int or (depth, height, width).
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
    """

    rank = 3


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max-pools `(batch, steps, channels)` inputs into `output_size` steps.

    Args:
        output_size: an int or a tuple of 1 int, the number of output steps.
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
    """

    rank = 1
    _kernels = _MAX


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max-pools `(batch, height, width, channels)` inputs into an `output_size` grid.

    Args:
        output_size: an int or (height, width).
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
    """

    rank = 2
    _kernels = _MAX


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max-pools `(batch, depth, height, width, channels)` inputs into an `output_size` grid.

    Args:
        output_size: an int or (depth, height, width).
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
    """

    rank = 3
    _kernels = _MAX
