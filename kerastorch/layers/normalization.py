"""Normalization layers: batch, layer, group, RMS and unit normalization, on torch's fused kernels."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import constraints, initializers, regularizers
from ..ops import nn as nn_ops
from .input_spec import InputSpec
from .layer import Layer

__all__ = ["BatchNormalization", "GroupNormalization", "LayerNormalization", "RMSNormalization", "UnitNormalization"]


def _axis_in_range(layer_name: str, axis: int, rank: int, shape: tuple) -> int:
    """`axis` as a non-negative index into a rank-`rank` shape, or a ValueError naming the layer."""
    if not -rank <= axis < rank:
        raise ValueError(
            f"Layer {layer_name!r} has axis={axis}, which is out of range for inputs of shape {shape}; "
            f"pass an axis between {-rank} and {rank - 1}."
        )
    return axis % rank


def _set_affine_arguments(layer: Layer, center: bool, scale: bool, beta_initializer: Any, gamma_initializer: Any,
                          beta_regularizer: Any, gamma_regularizer: Any, beta_constraint: Any,
                          gamma_constraint: Any) -> None:
    """The learned offset (beta) and scale (gamma) arguments every normalization layer takes, resolved."""
    layer.center = bool(center)
    layer.scale = bool(scale)
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)
    layer.gamma = None
    layer.beta = None


def _add_affine_weights(layer: Layer, shape: tuple, scale: bool, center: bool) -> None:
    """`gamma` (when `scale`) then `beta` (when `center`), Keras's order, over `shape`."""
    if scale:
        layer.gamma = layer.add_weight(shape, layer.gamma_initializer, name="gamma",
                                       regularizer=layer.gamma_regularizer, constraint=layer.gamma_constraint)
    if center:
        layer.beta = layer.add_weight(shape, layer.beta_initializer, name="beta",
                                      regularizer=layer.beta_regularizer, constraint=layer.beta_constraint)


class BatchNormalization(Layer):
    """Normalizes each channel with batch statistics while training, moving averages otherwise.

    Arguments and weights are Keras's (`gamma`, `beta`, `moving_mean`, `moving_variance`; the last
    two are float buffers). `momentum` is Keras's: the moving average keeps `momentum` of its old
    value, which is torch's `1 - momentum`. As in Keras, the moving variance follows the biased batch
    variance (torch's own BatchNorm uses the unbiased one), and the layer runs in training mode only
    when it is both in train mode and trainable, so a frozen BatchNorm never updates its statistics.
    """

    supports_masking = True  # masks pass through (Keras also masks the batch statistics; not done here)

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        synchronized: bool = False,
        renorm: bool = False,
        renorm_clipping: Any = None,
        renorm_momentum: float = 0.99,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"BatchNormalization expected `axis` to be an int, received {axis!r}.")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization expected `momentum` in [0, 1], received {momentum!r}.")
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization expected `epsilon` > 0, received {epsilon!r}.")
        if renorm:
            raise ValueError("BatchNormalization does not support renorm=True; use renorm=False.")
        if synchronized:
            raise ValueError(
                "BatchNormalization does not support synchronized=True (Keras allows it only with TensorFlow); "
                "use synchronized=False."
            )
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.synchronized = False
        _set_affine_arguments(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                              gamma_regularizer, beta_constraint, gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self._channel_axis = 1

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        if rank < 2:
            raise ValueError(
                f"Layer {self.name!r} (BatchNormalization) expects inputs with a batch axis and at least one "
                f"more axis, received shape {tuple(input_shape)}."
            )
        axis = _axis_in_range(self.name, self.axis, rank, tuple(input_shape))
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(
                f"Layer {self.name!r} (BatchNormalization) needs a known size on axis {self.axis}, "
                f"received shape {tuple(input_shape)}."
            )
        shape = (channels,)
        _add_affine_weights(self, shape, self.scale, self.center)
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(
            shape, self.moving_variance_initializer, trainable=False, name="moving_variance"
        )
        self._channel_axis = axis
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})

    def forward(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        training = self.training if training is None else training
        # torch's kernels want channels on axis 1; for NHWC this is a zero-copy channels_last view.
        axis = self._channel_axis
        x = inputs if axis == 1 else inputs.movedim(axis, 1)
        if training and self._trainable:
            outputs = self._normalize_and_update(x)
        else:
            outputs = F.batch_norm(
                x, self.moving_mean, self.moving_variance, self.gamma, self.beta, False, 0.0, self.epsilon
            )
        return outputs if axis == 1 else outputs.movedim(1, axis)

    def _normalize_and_update(self, x: torch.Tensor) -> torch.Tensor:
        # One fused kernel gives the output and the batch mean / 1/sqrt(var + eps); the biased
        # variance Keras averages is recovered from the latter without another pass over the data.
        outputs, mean, inv_std = torch.native_batch_norm(
            x, self.gamma, self.beta, None, None, True, 0.0, self.epsilon
        )
        with torch.no_grad():
            variance = inv_std.to(self.moving_variance.dtype).pow(-2) - self.epsilon
            self.moving_mean.mul_(self.momentum).add_(mean.to(self.moving_mean.dtype), alpha=1.0 - self.momentum)
            self.moving_variance.mul_(self.momentum).add_(variance, alpha=1.0 - self.momentum)
        return outputs


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (an int or a list of axes), then scales and shifts.

    Trailing axes go straight to `F.layer_norm`; other axes are moved to the end first. The
    deprecated Keras option `rms_scaling=True` divides by the standard deviation without centering
    (and has no `beta`), as Keras does.
    """

    supports_masking = True

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
            raise TypeError(
                f"LayerNormalization expected `axis` to be an int or a non-empty list of ints, received {axis!r}."
            )
        if epsilon <= 0:
            raise ValueError(f"LayerNormalization expected `epsilon` > 0, received {epsilon!r}.")
        self.axis = axis if isinstance(axis, int) else list(axis)
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        _set_affine_arguments(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                              gamma_regularizer, beta_constraint, gamma_constraint)
        self._axes: list[int] = []
        self._moved = False

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        requested = self.axis if isinstance(self.axis, list) else [self.axis]
        axes = sorted(_axis_in_range(self.name, a, rank, tuple(input_shape)) for a in requested)
        if len(set(axes)) != len(axes) or 0 in axes:
            raise ValueError(
                f"Layer {self.name!r} (LayerNormalization) expects distinct non-batch axes, received "
                f"axis={self.axis} for inputs of shape {tuple(input_shape)}."
            )
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(
                f"Layer {self.name!r} (LayerNormalization) needs known sizes on axis={self.axis}, "
                f"received shape {tuple(input_shape)}."
            )
        _add_affine_weights(self, shape, self.scale or self.rms_scaling, self.center and not self.rms_scaling)
        self._axes = axes
        self._moved = axes != list(range(rank - len(axes), rank))
        self.input_spec = InputSpec(ndim=rank, axes={a: input_shape[a] for a in axes})

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        axes = self._axes
        if self.rms_scaling:
            variance = inputs.var(dim=axes, keepdim=True, correction=0)
            outputs = inputs * torch.rsqrt(variance + self.epsilon)
            if self.gamma is not None:
                gamma = self.gamma
                if self._moved:  # gamma's axes are the sorted normalized axes; put them in place
                    gamma = gamma.reshape([inputs.shape[d] if d in axes else 1 for d in range(inputs.dim())])
                outputs = outputs * gamma
            return outputs
        trailing = list(range(inputs.dim() - len(axes), inputs.dim()))
        x = inputs.movedim(axes, trailing) if self._moved else inputs
        outputs = F.layer_norm(x, x.shape[-len(axes):], self.gamma, self.beta, self.epsilon)
        return outputs.movedim(trailing, axes) if self._moved else outputs


class GroupNormalization(Layer):
    """Normalizes each sample over groups of channels (and all other non-batch axes), then scales and shifts.

    `F.group_norm` does the work on a channels-first view of the input; `groups=-1` normalizes each
    channel alone (instance normalization). Weights are Keras's `gamma` then `beta`, one per channel.

    Args:
        groups: number of channel groups (divides the channel count), or -1 for one per channel.
        axis: the channel axis.
        epsilon: added to the variance.
        center: learn an offset `beta`.
        scale: learn a factor `gamma`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: as in `BatchNormalization`.
    """

    supports_masking = True

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ):
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ValueError(
                f"GroupNormalization expected `groups` to be a positive int (or -1 for instance normalization), "
                f"received groups={groups!r}."
            )
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"GroupNormalization expected `axis` to be an int, received {axis!r}.")
        super().__init__(**kwargs)
        self.groups = groups
        self.axis = axis
        self.epsilon = float(epsilon)
        _set_affine_arguments(self, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                              gamma_regularizer, beta_constraint, gamma_constraint)
        self._channel_axis = 1

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        axis = _axis_in_range(self.name, self.axis, rank, tuple(input_shape))
        channels = input_shape[axis]
        if axis == 0 or channels is None:
            raise ValueError(
                f"Layer {self.name!r} (GroupNormalization) needs a known non-batch channel axis, received "
                f"axis={self.axis} for inputs of shape {tuple(input_shape)}."
            )
        groups = channels if self.groups == -1 else self.groups
        if channels < groups or channels % groups:
            raise ValueError(
                f"Layer {self.name!r} (GroupNormalization): groups={groups} must divide the {channels} channels "
                f"of inputs of shape {tuple(input_shape)}; pick a divisor of {channels}."
            )
        self.groups = groups  # Keras records the resolved count (-1 becomes the channel count)
        _add_affine_weights(self, (channels,), self.scale, self.center)
        self._channel_axis = axis
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        axis = self._channel_axis
        x = inputs if axis == 1 else inputs.movedim(axis, 1)  # NHWC -> a channels_last NCHW view
        dtype = x.dtype
        if dtype in (torch.float16, torch.bfloat16):  # as Keras: statistics in float32, no overflow
            x = x.float()
        gamma = None if self.gamma is None else self.gamma.to(x.dtype)
        beta = None if self.beta is None else self.beta.to(x.dtype)
        outputs = F.group_norm(x, self.groups, gamma, beta, self.epsilon).to(dtype)
        return outputs if axis == 1 else outputs.movedim(1, axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "groups": self.groups}


def _axes_list(layer: str, axis: Any) -> list[int]:
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or any(isinstance(a, bool) or not isinstance(a, int) for a in axes):
        raise TypeError(f"{layer} expected `axis` to be an int or a non-empty list of ints, received {axis!r}.")
    return axes


class RMSNormalization(Layer):
    """Divides by the root mean square over `axis` and multiplies by a learned `scale` (torch's fused
    `rms_norm` when the axes are trailing).

    Args:
        axis: an int or a list of ints, the axes to normalize over.
        epsilon: added to the mean square.
    """

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-6, **kwargs: Any):
        super().__init__(**kwargs)
        _axes_list("RMSNormalization", axis)
        self.axis = list(axis) if isinstance(axis, tuple) else axis
        self.epsilon = float(epsilon)

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            _axis_in_range(self.name, a, rank, tuple(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(
                f"Layer {self.name!r} (RMSNormalization) needs known sizes on axis={self.axis}, "
                f"received shape {tuple(input_shape)}."
            )
        self.axis = axes  # Keras records the axes as a sorted list once built
        self.scale = self.add_weight(shape, "ones", name="scale")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return nn_ops.rms_normalization(inputs, self.scale, self.axis, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis` (norms below 1e-12 count as 1e-12).

    Args:
        axis: an int or a list of ints, the axes the norm is taken over.
    """

    supports_masking = True

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any):
        super().__init__(**kwargs)
        _axes_list("UnitNormalization", axis)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if isinstance(self.axis, int):  # torch's fused kernel: x / max(||x||, eps), Keras's x * min(1/||x||, 1/eps)
            return F.normalize(inputs, p=2.0, dim=self.axis, eps=1e-12)
        return nn_ops.normalize(inputs, axis=self.axis, order=2, epsilon=1e-12)
