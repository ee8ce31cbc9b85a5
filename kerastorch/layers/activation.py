"""Activation layers: ReLU (slope, cap, threshold), LeakyReLU, PReLU (a learned slope), ELU, Softmax."""

from __future__ import annotations

import numbers
from typing import Any

import torch
import torch.nn.functional as F

from .. import constraints, initializers, regularizers
from .input_spec import InputSpec
from .layer import Layer

__all__ = ["ELU", "LeakyReLU", "PReLU", "ReLU", "Softmax"]


def _non_negative(layer: str, argument: str, value: Any, allow_none: bool = False) -> Any:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer} expected `{argument}` to be a non-negative number, received {value!r}.")
    if value < 0:
        raise ValueError(f"{layer} expected `{argument}` to be a non-negative number, received {value!r}.")
    return value


class ReLU(Layer):
    """`max(x, 0)`, optionally capped at `max_value`, zero below `threshold`, with a slope below it.

    Args:
        max_value: upper bound of the output, or None for none.
        negative_slope: slope for inputs below `threshold` (0 gives plain ReLU).
        threshold: inputs at or below it give 0 (or the negative slope's line).
    """

    supports_masking = True

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.max_value = _non_negative("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.threshold == 0:
            if self.max_value is None:
                return torch.relu(inputs) if self.negative_slope == 0 else F.leaky_relu(inputs, self.negative_slope)
            outputs = torch.clamp(inputs, 0, self.max_value)
        else:
            outputs = torch.where(inputs > self.threshold, inputs, 0)
            if self.max_value is not None:
                outputs = torch.clamp(outputs, max=self.max_value)
        if self.negative_slope != 0:
            outputs = outputs - self.negative_slope * torch.relu(self.threshold - inputs)
        return outputs


class LeakyReLU(Layer):
    """`x` for `x >= 0`, `negative_slope * x` below (torch's fused `leaky_relu`).

    Args:
        negative_slope: slope below zero (Keras 2's `alpha=` is accepted with a warning).
    """

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        if "alpha" in kwargs:
            import warnings

            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated; use `negative_slope` instead.", stacklevel=2)
            self._init_arguments = ((), {**kwargs, "negative_slope": negative_slope})
        super().__init__(**kwargs)
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(inputs, self.negative_slope)


class PReLU(Layer):
    """Leaky ReLU with a learned slope `alpha` per input element, shared along `shared_axes`.

    Args:
        alpha_initializer, alpha_regularizer, alpha_constraint: for the `alpha` weight, whose shape is
            the input shape without the batch axis and with each shared axis set to 1 (Keras's layout).
        shared_axes: 1-based axes along which one slope is shared (e.g. `[1, 2]` for one per channel of
            an image).
    """

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None, alpha_constraint: Any = None,
                 shared_axes: int | list[int] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        if shared_axes is not None and not all(isinstance(a, numbers.Integral) and a >= 1 for a in shared_axes):
            raise ValueError(f"PReLU expected `shared_axes` to be 1-based axis numbers, received {shared_axes!r}.")
        self.shared_axes = None if shared_axes is None else [int(a) for a in shared_axes]

    def build(self, input_shape: tuple) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis > len(shape):
                raise ValueError(
                    f"Layer {self.name!r} (PReLU) got shared_axes={self.shared_axes} for inputs of rank "
                    f"{len(input_shape)}; use axes between 1 and {len(shape)}."
                )
            shape[axis - 1] = 1
        if any(s is None for s in shape):
            raise ValueError(
                f"Layer {self.name!r} (PReLU) needs known sizes on every non-shared axis, received shape "
                f"{tuple(input_shape)}; share the unknown axes with `shared_axes`."
            )
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or ())}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.where(inputs > 0, inputs, inputs * self.alpha)


class ELU(Layer):
    """`x` for `x > 0`, `alpha * (exp(x) - 1)` below.

    Args:
        alpha: scale of the negative part.
    """

    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.elu(inputs, self.alpha)


class Softmax(Layer):
    """Softmax along `axis` (an int or several axes); a `mask` excludes positions, which output 0.

    Args:
        axis: the axis, or a list of axes normalized together.

    Call arguments:
        mask: booleans (or numbers, kept where > 0.5) broadcastable to the inputs: True keeps a position.
    """

    supports_masking = True

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = axis
        self.built = True

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            if mask.dim() > inputs.dim() or any(
                m != 1 and m != i for m, i in zip(reversed(mask.shape), reversed(inputs.shape))
            ):
                raise ValueError(
                    f"Layer {self.name!r} (Softmax) expected a mask broadcastable to the inputs of shape "
                    f"{tuple(inputs.shape)}, received mask shape {tuple(mask.shape)}."
                )
            if mask.dtype != torch.bool:
                mask = mask > 0.5
            inputs = inputs.masked_fill(~mask, -3e4 if inputs.dtype == torch.float16 else -1e9)
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        if len(axes) == 1:
            outputs = torch.softmax(inputs, dim=axes[0])
        else:
            outputs = torch.exp(inputs - torch.logsumexp(inputs, dim=tuple(axes), keepdim=True))
        if mask is not None:
            outputs = outputs.masked_fill(~mask, 0.0)
        return outputs
