"""Reshaping layers: Flatten, Reshape, Permute, UpSampling, ZeroPadding, Cropping, RepeatVector
(views wherever the memory layout allows, one fused torch kernel otherwise)."""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F

from .. import config
from .conv import from_channels_first, int_tuple, to_channels_first
from .input_spec import InputSpec
from .layer import Layer
from .padding import torch_pads


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


# ------------------------------------------------------------------ upsampling, padding, cropping

def _pairs(layer: str, argument: str, value: Any, rank: int) -> tuple[tuple[int, int], ...]:
    """Keras's padding/cropping amounts: an int, `rank` ints, or `rank` (before, after) pairs."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * rank
    if not isinstance(value, (tuple, list)) or len(value) != rank:
        raise ValueError(
            f"{layer} expected `{argument}` to be an int, {rank} ints or {rank} (before, after) pairs, "
            f"received {value!r}."
        )
    return tuple(int_tuple(layer, argument, v, 2, allow_zero=True) for v in value)


def _spatial_axes(data_format: str, rank: int) -> range:
    return range(1, rank + 1) if data_format == "channels_last" else range(2, rank + 2)


class _UpSampling(Layer):
    """Repeats each spatial position `size` times per axis (torch's fused `interpolate` kernel)."""

    rank = 2
    _MODES = ("nearest",)

    def _setup(self, size: Any, data_format: str | None, interpolation: str) -> None:
        cls = type(self).__name__
        self._factors = int_tuple(cls, "size", size, self.rank)
        self.size = self._factors
        self.data_format = config.standardize_data_format(data_format)
        if not isinstance(interpolation, str) or interpolation.lower() not in self._MODES:
            raise ValueError(f"{cls} expected `interpolation` to be one of {self._MODES}, received {interpolation!r}.")
        self.interpolation = interpolation.lower()
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.interpolation != "nearest":
            from ..ops.image import resize

            sizes = [inputs.shape[axis] * f for axis, f in zip(_spatial_axes(self.data_format, 2), self._factors)]
            return resize(inputs, sizes, interpolation=self.interpolation, data_format=self.data_format)
        if not inputs.is_floating_point():  # torch's interpolate kernels are floating-point only
            for axis, factor in zip(_spatial_axes(self.data_format, self.rank), self._factors):
                inputs = inputs.repeat_interleave(factor, dim=axis)
            return inputs
        x = to_channels_first(inputs, self.data_format)
        sizes = [s * f for s, f in zip(x.shape[2:], self._factors)]
        return from_channels_first(F.interpolate(x, size=sizes, mode="nearest"), self.data_format)


class UpSampling1D(_UpSampling):
    """Repeats each step of `(batch, steps, features)` inputs `size` times.

    Args:
        size: the repeat factor.
    """

    rank = 1

    def __init__(self, size: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"UpSampling1D expected an int `size`, received {size!r}.")
        self._setup(size, "channels_last", "nearest")
        self.size = int(size)  # Keras keeps the int


class UpSampling2D(_UpSampling):
    """Scales images up by `size` per axis: nearest repeats pixels, the others resize like `ops.image.resize`.

    Args:
        size: an int or (rows, cols) factors.
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest", "bilinear", "bicubic", "lanczos3", "lanczos5" or "area".
    """

    rank = 2
    _MODES = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area")

    def __init__(self, size: int | tuple[int, int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any):
        super().__init__(**kwargs)
        self._setup(size, data_format, interpolation)


class UpSampling3D(_UpSampling):
    """Repeats each voxel `size` times per axis.

    Args:
        size: an int or (dim1, dim2, dim3) factors.
        data_format: "channels_last" (default) or "channels_first".
    """

    rank = 3

    def __init__(self, size: int | tuple[int, int, int] = (2, 2, 2), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._setup(size, data_format, "nearest")


class _ZeroPadding(Layer):
    """Zeros before and after each spatial axis: one `F.pad` call, no layout change."""

    rank = 2

    def _setup(self, padding: Any, data_format: str | None) -> None:
        self.padding = _pairs(type(self).__name__, "padding", padding, self.rank)
        self.data_format = config.standardize_data_format(data_format)
        trailing = [(0, 0)] if self.data_format == "channels_last" else []
        self._torch_pads = torch_pads([*self.padding, *trailing])  # F.pad lists the last axis first
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.pad(inputs, self._torch_pads)


class ZeroPadding1D(_ZeroPadding):
    """Pads the steps of `(batch, steps, features)` inputs with zeros.

    Args:
        padding: an int, or (before, after) counts.
        data_format: "channels_last" (default) or "channels_first".
    """

    rank = 1

    def __init__(self, padding: int | tuple[int, int] = 1, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._setup((padding,), data_format)
        self.padding = self.padding[0]


class ZeroPadding2D(_ZeroPadding):
    """Pads images with zero rows and columns.

    Args:
        padding: an int, (rows, cols), or ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".
    """

    rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._setup(padding, data_format)


class ZeroPadding3D(_ZeroPadding):
    """Pads volumes with zeros along their three spatial axes.

    Args:
        padding: an int, 3 ints, or 3 (before, after) pairs.
        data_format: "channels_last" (default) or "channels_first".
    """

    rank = 3

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._setup(padding, data_format)


class _Cropping(Layer):
    """Drops elements at both ends of each spatial axis: a view, no copy."""

    rank = 2

    def _setup(self, cropping: Any, data_format: str | None) -> None:
        self._crops = _pairs(type(self).__name__, "cropping", cropping, self.rank)
        self.cropping = self._crops
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        index = [slice(None)] * inputs.dim()
        for axis, (before, after) in zip(_spatial_axes(self.data_format, self.rank), self._crops):
            if before + after >= inputs.shape[axis]:
                raise ValueError(
                    f"Layer {self.name!r} ({type(self).__name__}) cannot crop {before}+{after} from axis {axis} "
                    f"of size {inputs.shape[axis]} (input shape {tuple(inputs.shape)}); crop less."
                )
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]


class Cropping1D(_Cropping):
    """Crops steps from both ends of `(batch, steps, features)` inputs.

    Args:
        cropping: an int, or (before, after) counts.
    """

    rank = 1

    def __init__(self, cropping: int | tuple[int, int] = (1, 1), **kwargs: Any):
        super().__init__(**kwargs)
        self._setup((cropping,), "channels_last")
        self.cropping = self._crops[0]


class Cropping2D(_Cropping):
    """Crops rows and columns from image borders.

    Args:
        cropping: an int, (rows, cols), or ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._setup(cropping, data_format)


class Cropping3D(_Cropping):
    """Crops volumes along their three spatial axes.

    Args:
        cropping: an int, 3 ints, or 3 (before, after) pairs.
        data_format: "channels_last" (default) or "channels_first".
    """

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._setup(cropping, data_format)


class RepeatVector(Layer):
    """Turns `(batch, features)` into `(batch, n, features)` (an expanded view, no copy).

    Args:
        n: the number of repeats.
    """

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"RepeatVector expected an int `n`, received {n!r}.")
        if n <= 0:
            raise ValueError(f"RepeatVector expected a positive `n`, received {n!r}.")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.unsqueeze(1).expand(-1, self.n, -1)
