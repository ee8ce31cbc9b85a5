"""Normalization layers: BatchNormalization and LayerNormalization, on torch's fused kernels."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import constraints, initializers, regularizers
from .input_spec import InputSpec
from .layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axis_in_range(layer_name: str, axis: int, rank: int, shape: tuple) -> int:
    """`axis` as a non-negative index into a rank-`rank` shape, or a ValueError naming the layer."""
    if not -rank <= axis < rank:
        raise ValueError(
            f"Layer {layer_name!r} has axis={axis}, which is out of range for inputs of shape {shape}; "
            f"pass an axis between {-rank} and {rank - 1}."
        )
    return axis % rank


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
        self.center = bool(center)
        self.scale = bool(scale)
        self.synchronized = False
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.gamma = None
        self.beta = None
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
        if self.scale:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
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
        self.center = bool(center)
        self.scale = bool(scale)
        self.rms_scaling = bool(rms_scaling)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = None
        self.beta = None
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
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(shape, self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(shape, self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
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
