"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

Inputs keep Keras's layout (channels_last by default). A channels_last input reaches torch's
convolution as a permuted view, which is already in torch's channels_last memory format, and the
result is permuted back the same way: no copy in either direction. Kernels are stored in the layout
torch's kernels read, `(out, in/groups, *k)`; `get_weights`/`set_weights` speak Keras's layout.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

import torch
import torch.nn.functional as F

from .. import activations, config, initializers
from .arguments import positive_int
from .input_spec import InputSpec
from .layer import Layer
from .padding import pad_same, same_padding, standardize_padding

__all__ = [
    "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
    "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D",
]

_CONV = (F.conv1d, F.conv2d, F.conv3d)
_CONV_TRANSPOSE = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)


# ------------------------------------------------------------------ helpers shared with pooling


def int_tuple(layer: str, argument: str, value: Any, rank: int, allow_zero: bool = False) -> tuple[int, ...]:
    """`value` (an int or `rank` ints) as a tuple of `rank` positive ints, or a clear error."""
    values = (value,) * rank if isinstance(value, numbers.Integral) else value
    if not isinstance(values, (tuple, list)) or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values
    ):
        raise TypeError(f"{layer} expected `{argument}` to be an int or a tuple of {rank} ints, received {value!r}.")
    if len(values) != rank or any(v < 0 or (v == 0 and not allow_zero) for v in values):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer} expected `{argument}` to be {rank} {kind} int(s), received {value!r}.")
    return tuple(int(v) for v in values)


def to_channels_first(x: torch.Tensor, data_format: str) -> torch.Tensor:
    """A zero-copy `(N, C, *spatial)` view of a channels_last input; channels_first passes through."""
    if data_format == "channels_first":
        return x
    return x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def from_channels_first(y: torch.Tensor, data_format: str) -> torch.Tensor:
    """Undo `to_channels_first`: a view again, contiguous when torch returned channels_last memory."""
    if data_format == "channels_first":
        return y
    return y.permute(0, *range(2, y.ndim), 1)


def check_rank(layer: Layer, input_shape: Any, ndim: int) -> None:
    """Build-time rank check, so a wrong input fails with the layer's name before any weight exists."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != ndim:
        raise ValueError(
            f"Input 0 of layer {layer.name!r} ({type(layer).__name__}) expected ndim={ndim} "
            f"(batch, {ndim - 2} spatial axes and channels), received shape {input_shape}."
        )


def _torch_layout(rank: int) -> tuple[int, ...]:
    # Keras (*k, in, out) -> torch (out, in, *k); the transposed kernel (*k, out, in) -> (in, out, *k).
    return (rank + 1, rank, *range(rank))


# --------------------------------------------------------------------------------- base class


class _BaseConv(Layer):
    """Arguments, input checks and padding shared by every convolution layer."""

    rank = 2
    allow_causal = False

    def _setup(
        self,
        kernel_size: Any,
        strides: Any,
        padding: str,
        data_format: str | None,
        dilation_rate: Any,
        activation: Any,
        use_bias: bool,
    ) -> None:
        cls = type(self).__name__
        self.kernel_size = int_tuple(cls, "kernel_size", kernel_size, self.rank)
        self.strides = int_tuple(cls, "strides", strides, self.rank)
        self.dilation_rate = int_tuple(cls, "dilation_rate", dilation_rate, self.rank)
        self.padding = standardize_padding(cls, padding, self.allow_causal)
        self.data_format = config.standardize_data_format(data_format)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{cls} does not support strides > 1 together with dilation_rate > 1, received "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}; set one of them to 1."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias = None
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _channel_axis(self) -> int:
        return -1 if self.data_format == "channels_last" else 1

    def _input_channels(self, input_shape: Any) -> int:
        """Check the input shape, read the channel count, and fix both in the InputSpec."""
        check_rank(self, input_shape, self.rank + 2)
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) needs a known channel dimension "
                f"(axis {self._channel_axis}), received shape {tuple(input_shape)}."
            )
        groups = getattr(self, "groups", 1)
        if channels % groups:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) expected input channels divisible by "
                f"groups={groups}, received shape {tuple(input_shape)}; change `groups`."
            )
        if self.padding == "valid" and not isinstance(self, _ConvTranspose):
            spatial = input_shape[1:-1] if self.data_format == "channels_last" else input_shape[2:]
            spans = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            if any(size is not None and size < span for size, span in zip(spatial, spans)):
                raise ValueError(
                    f"Layer {self.name!r} ({type(self).__name__}) with padding='valid' needs spatial sizes of "
                    f"at least the dilated kernel size {spans}, received shape {tuple(input_shape)}; use "
                    "padding='same' or a larger input."
                )
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        return channels

    def _padded(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        """The channels_first input and the torch padding that realise Keras's `padding`."""
        if self.padding == "valid":
            return x, 0
        if self.padding == "causal":
            return F.pad(x, ((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)), 0
        return pad_same(x, same_padding(tuple(x.shape[2:]), self.kernel_size, self.strides, self.dilation_rate))


# -------------------------------------------------------------------------------- convolution


class _Conv(_BaseConv):
    """N-D convolution, `activation(conv(inputs, kernel) + bias)`, with groups and dilation."""

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: int | tuple[int, ...] = 1,
        groups: int = 1,
        activation: str | Callable | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = positive_int(cls, "filters", filters)
        self.groups = positive_int(cls, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                f"{cls} expected `filters` ({self.filters}) to be divisible by `groups` ({self.groups}); "
                "change one of them."
            )
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        keras_shape = (*self.kernel_size, channels // self.groups, self.filters)
        self.kernel = self.add_weight(
            keras_shape, self.kernel_initializer, name="kernel", layout=_torch_layout(self.rank),
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x, padding = self._padded(to_channels_first(inputs, self.data_format))
        y = _CONV[self.rank - 1](x, self.kernel, self.bias, self.strides, padding, self.dilation_rate, self.groups)
        return from_channels_first(self.activation(y), self.data_format)


class Conv1D(_Conv):
    """1D convolution over `(batch, steps, channels)`; also takes `padding="causal"`."""

    rank = 1
    allow_causal = True


class Conv2D(_Conv):
    """2D convolution over `(batch, height, width, channels)` images (or channels_first)."""

    rank = 2


class Conv3D(_Conv):
    """3D convolution over `(batch, depth, height, width, channels)` volumes."""

    rank = 3


# ----------------------------------------------------------------------- transposed convolution


def transpose_crops(
    kernel: tuple[int, ...], strides: tuple[int, ...], dilation: tuple[int, ...], padding: str,
    output_padding: tuple[int, ...] | None,
) -> list[tuple[int, int]]:
    """Per axis, how much Keras removes from each end of torch's full transposed-conv output.

    Torch's unpadded output has length `(n - 1) * s + span`. Keras's "valid" keeps all of it (and
    appends `output_padding`, by default `max(span, s) - span`); "same" keeps `n * s` by default,
    cropping the odd element from the end. Keras states this as padding of the stride-dilated input
    (`before`/`after` below); a negative crop means zeros are appended instead.
    """
    crops = []
    for i, (k, s, d) in enumerate(zip(kernel, strides, dilation)):
        span = (k - 1) * d + 1
        extra = None if output_padding is None else output_padding[i]
        if padding == "valid":
            before = span - 1
            after = span - 1 + (max(span, s) - span if extra is None else extra)
        else:
            total = s + span - 2 if extra is None else span + span % 2 - 2 + extra
            before = min(total // 2 + total % 2, span - 1)
            after = total - before
        crops.append((span - 1 - before, span - 1 - after))
    return crops


class _ConvTranspose(_BaseConv):
    """N-D transposed convolution with Keras's output shapes for "valid"/"same" and `output_padding`."""

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        output_padding: int | tuple[int, ...] | None = None,
        data_format: str | None = None,
        dilation_rate: int | tuple[int, ...] = 1,
        activation: str | Callable | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = positive_int(cls, "filters", filters)
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = int_tuple(cls, "output_padding", output_padding, self.rank, allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(
                    f"{cls} expected each `output_padding` value to be smaller than the matching stride, "
                    f"received output_padding={self.output_padding} with strides={self.strides}."
                )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint
        self._plan_padding()

    def _plan_padding(self) -> None:
        """Split Keras's crops into what torch's `padding`/`output_padding` can do and a remainder.

        Torch crops `padding` from both ends and then extends the end by `output_padding`
        (< stride or dilation); whatever is left (odd kernels with even strides under "same") is
        sliced off, or zero-padded, after the op.
        """
        self._torch_padding, self._torch_output_padding, self._remainder = [], [], []
        for (before, after), s, d in zip(
            transpose_crops(self.kernel_size, self.strides, self.dilation_rate, self.padding, self.output_padding),
            self.strides, self.dilation_rate,
        ):
            common = max(0, min(before, after))
            before, after = before - common, after - common
            extend = 0
            if before == 0 and 0 < -after < max(s, d):
                extend, after = -after, 0
            self._torch_padding.append(common)
            self._torch_output_padding.append(extend)
            self._remainder.append((before, after))
        self._has_remainder = any(r != (0, 0) for r in self._remainder)

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        keras_shape = (*self.kernel_size, self.filters, channels)
        self.kernel = self.add_weight(
            keras_shape, self.kernel_initializer, name="kernel", layout=_torch_layout(self.rank),
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = to_channels_first(inputs, self.data_format)
        bias = None if self._has_remainder else self.bias
        y = _CONV_TRANSPOSE[self.rank - 1](
            x, self.kernel, bias, self.strides, self._torch_padding, self._torch_output_padding, 1,
            self.dilation_rate,
        )
        if self._has_remainder:
            y = self._apply_remainder(y)
        return from_channels_first(self.activation(y), self.data_format)

    def _apply_remainder(self, y: torch.Tensor) -> torch.Tensor:
        index = [slice(None), slice(None)]
        zeros = []
        for before, after in self._remainder:
            index.append(slice(max(before, 0), y.shape[len(index)] - max(after, 0)))
            zeros = [max(-before, 0), max(-after, 0)] + zeros  # F.pad lists the last axis first
        y = y[tuple(index)]
        if any(zeros):
            y = F.pad(y, zeros)
        if self.bias is not None:
            y = y + self.bias.view(-1, *([1] * self.rank))
        return y


class Conv1DTranspose(_ConvTranspose):
    """1D transposed convolution; Keras kernel `(k, filters, in)`."""

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """2D transposed convolution; Keras kernel `(kh, kw, filters, in)`, stored `(in, filters, kh, kw)`."""

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """3D transposed convolution; Keras kernel `(kd, kh, kw, filters, in)`."""

    rank = 3


# ------------------------------------------------------------------------ depthwise / separable


class _DepthwiseConv(_BaseConv):
    """Convolves each input channel with `depth_multiplier` filters of its own (groups = channels).

    The Keras kernel `(*k, in, mult)` is stored `(in, mult, *k)`; its `(in * mult, 1, *k)` view is
    exactly torch's grouped-convolution weight, so no copy is made per call.
    """

    def __init__(
        self,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: int | tuple[int, ...] = 1,
        activation: str | Callable | None = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.depth_multiplier = positive_int(type(self).__name__, "depth_multiplier", depth_multiplier)
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer, self.bias_regularizer = depthwise_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.depthwise_constraint, self.bias_constraint = depthwise_constraint, bias_constraint

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            (*self.kernel_size, channels, self.depth_multiplier), self.depthwise_initializer,
            name="kernel", layout=(self.rank, self.rank + 1, *range(self.rank)),
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight((channels * self.depth_multiplier,), self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x, padding = self._padded(to_channels_first(inputs, self.data_format))
        y = _depthwise(self.rank, x, self.kernel, self.bias, self.strides, padding, self.dilation_rate)
        return from_channels_first(self.activation(y), self.data_format)


def _depthwise(rank: int, x, kernel, bias, strides, padding, dilation) -> torch.Tensor:
    channels, multiplier = kernel.shape[:2]
    weight = kernel.view(channels * multiplier, 1, *kernel.shape[2:])
    return _CONV[rank - 1](x, weight, bias, strides, padding, dilation, channels)


class DepthwiseConv1D(_DepthwiseConv):
    """Depthwise 1D convolution; Keras kernel `(k, in, depth_multiplier)`."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """Depthwise 2D convolution; Keras kernel `(kh, kw, in, depth_multiplier)`."""

    rank = 2


class _SeparableConv(_BaseConv):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution to `filters` channels."""

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, ...],
        strides: int | tuple[int, ...] = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: int | tuple[int, ...] = 1,
        depth_multiplier: int = 1,
        activation: str | Callable | None = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        cls = type(self).__name__
        self.filters = positive_int(cls, "filters", filters)
        self.depth_multiplier = positive_int(cls, "depth_multiplier", depth_multiplier)
        self._setup(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer, self.pointwise_regularizer = depthwise_regularizer, pointwise_regularizer
        self.bias_regularizer, self.activity_regularizer = bias_regularizer, activity_regularizer
        self.depthwise_constraint, self.pointwise_constraint = depthwise_constraint, pointwise_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape: tuple) -> None:
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            (*self.kernel_size, channels, self.depth_multiplier), self.depthwise_initializer,
            name="depthwise_kernel", layout=(self.rank, self.rank + 1, *range(self.rank)),
            regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            (*(1,) * self.rank, channels * self.depth_multiplier, self.filters), self.pointwise_initializer,
            name="pointwise_kernel", layout=_torch_layout(self.rank),
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight((self.filters,), self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x, padding = self._padded(to_channels_first(inputs, self.data_format))
        y = _depthwise(self.rank, x, self.depthwise_kernel, None, self.strides, padding, self.dilation_rate)
        y = _CONV[self.rank - 1](y, self.pointwise_kernel, self.bias)
        return from_channels_first(self.activation(y), self.data_format)


class SeparableConv1D(_SeparableConv):
    """Separable 1D convolution: depthwise `(k, in, mult)` then pointwise `(1, in * mult, filters)`."""

    rank = 1


class SeparableConv2D(_SeparableConv):
    """Separable 2D convolution: depthwise `(kh, kw, in, mult)` then pointwise `(1, 1, in * mult, filters)`."""

    rank = 2
