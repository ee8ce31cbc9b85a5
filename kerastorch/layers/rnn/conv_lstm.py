"""Convolutional LSTMs (Shi et al. 2015): `ConvLSTM1D/2D/3D`, LSTM gates computed by convolutions.

Kernels keep Keras's shapes (`(*kernel_size, in, 4 * filters)`, gates i, f, c, o) and are stored in
torch's `(out, in, *kernel_size)` layout, so `F.conv*d` reads them in place. The input convolution
runs once for every step (time folded into the batch); the recurrent one ("same", stride 1) per step.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ... import config
from ..conv import _torch_layout, from_channels_first, int_tuple, to_channels_first
from ..padding import pad_same, same_padding, standardize_padding
from .cells import _Cell, dropout_mask
from .rnn import RNN

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class ConvLSTMCell(_Cell):
    """One ConvLSTM step on `(batch, *spatial, channels)` inputs (channels_last by default)."""

    _gates = 4

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs: Any):
        super().__init__(filters, activation, recurrent_activation, use_bias, kernel_initializer,
                         recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                         bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                         recurrent_dropout, seed, **kwargs)
        name = f"ConvLSTM{rank}D"
        self.rank = rank
        self.filters = self.units
        self.kernel_size = int_tuple(name, "kernel_size", kernel_size, rank)
        self.strides = int_tuple(name, "strides", strides, rank)
        self.padding = standardize_padding(name, padding)
        self.data_format = config.standardize_data_format(data_format)
        self.dilation_rate = int_tuple(name, "dilation_rate", dilation_rate, rank)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> list[int]:
        return [self.filters, self.filters]

    def build(self, input_shape: Any) -> None:
        last = self.data_format == "channels_last"
        spatial = tuple(input_shape[1:-1] if last else input_shape[2:])
        channels = input_shape[-1] if last else input_shape[1]
        if None in spatial or channels is None:
            raise ValueError(
                f"Layer {self.name!r}: ConvLSTM needs fixed spatial sizes and channels, received input shape "
                f"{tuple(input_shape)}."
            )
        self.spatial_dims = spatial
        self.input_dim = channels
        layout = _torch_layout(self.rank)
        width = 4 * self.filters
        self.kernel = self.add_weight((*self.kernel_size, channels, width), self.kernel_initializer, name="kernel",
                                      layout=layout, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            (*self.kernel_size, self.filters, width), self.recurrent_initializer, name="recurrent_kernel",
            layout=layout, regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        if self.use_bias:
            filters, base = self.filters, self.bias_initializer
            initializer = base
            if self.unit_forget_bias:
                def initializer(shape, dtype=None, device=None):
                    parts = [base((filters,), dtype=dtype, device=device), torch.ones(filters, dtype=dtype, device=device),
                             base((2 * filters,), dtype=dtype, device=device)]
                    return torch.cat([torch.as_tensor(p, dtype=dtype, device=device) for p in parts])
            self.bias = self.add_weight((width,), initializer, name="bias", regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.output_dims = tuple(self._out_size(size, i) for i, size in enumerate(spatial))

    def _out_size(self, size: int, axis: int) -> int:
        span = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
        if self.padding == "same":
            return -(-size // self.strides[axis])
        return (size - span) // self.strides[axis] + 1

    def get_initial_state(self, batch_size: int) -> list[torch.Tensor]:
        shape = ((batch_size, *self.output_dims, self.filters) if self.data_format == "channels_last"
                 else (batch_size, self.filters, *self.output_dims))
        return [torch.zeros(shape, dtype=self.kernel.dtype, device=self.kernel.device) for _ in range(2)]

    def _input_conv(self, x: torch.Tensor) -> torch.Tensor:
        """The input convolution of channels_first `x` (time folded into the batch), bias included."""
        padding: Any = 0
        if self.padding == "same":
            x, padding = pad_same(x, same_padding(tuple(x.shape[2:]), self.kernel_size, self.strides,
                                                  self.dilation_rate))
        return _CONV[self.rank](x, self.kernel, self.bias, self.strides, padding, self.dilation_rate)

    def project(self, sequences: torch.Tensor, training: bool) -> torch.Tensor:
        if training and self.dropout > 0:
            sequences = sequences * dropout_mask(sequences[:, :1], self.dropout, self._generator)
        batch, steps = sequences.shape[:2]
        flat = to_channels_first(sequences.reshape(batch * steps, *sequences.shape[2:]), self.data_format)
        out = self._input_conv(flat)
        return out.reshape(batch, steps, *out.shape[1:])  # channels_first per step

    def step(self, projected: torch.Tensor, states: list, recurrent_mask: Any) -> tuple[torch.Tensor, list]:
        h, c = (to_channels_first(s, self.data_format) for s in states)
        if recurrent_mask is not None:
            h = h * to_channels_first(recurrent_mask, self.data_format)
        z = projected + _CONV[self.rank](h, self.recurrent_kernel, None, 1, "same")
        i, f, g, o = z.chunk(4, dim=1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(c)
        h, c = from_channels_first(h, self.data_format), from_channels_first(c, self.data_format)
        return h, [h, c]


class _ConvLSTM(RNN):
    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, **kwargs: Any):
        shared = {k: kwargs[k] for k in ("dtype", "trainable") if k in kwargs}
        cell = ConvLSTMCell(self.rank, filters, kernel_size, strides, padding, data_format, dilation_rate,
                            activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
                            bias_initializer, unit_forget_bias, kernel_regularizer, recurrent_regularizer,
                            bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                            recurrent_dropout, seed, name="conv_lstm_cell", **shared)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, activity_regularizer=activity_regularizer,
                         **kwargs)

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        if len(sequences_shape) != self.rank + 3:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) expects inputs of rank {self.rank + 3} "
                f"(batch, time, {self.rank} spatial axes, channels), received shape {tuple(sequences_shape)}."
            )
        super().build(sequences_shape, initial_state_shape)


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM on `(batch, time, steps, channels)` sequences; Keras's arguments."""

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM on `(batch, time, rows, cols, channels)` sequences; Keras's arguments."""

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM on `(batch, time, depth, rows, cols, channels)` sequences; Keras's arguments."""

    rank = 3


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
