"""Normalization: `(x - mean) / sqrt(variance)` with statistics given or learned by `adapt()`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ... import config
from ..layer import Layer
from .host import batches


class Normalization(Layer):
    """Shifts and scales inputs to zero mean and unit variance per index of `axis`.

    Args:
        axis: the axis (or axes) that keep separate statistics; None for one scalar mean and variance.
        mean, variance: fixed statistics (broadcast to the kept axes); give both or neither, and
            otherwise call `adapt(data)` before use.
        invert: apply the inverse transformation (`x * sqrt(variance) + mean`).

    The adapted statistics are Keras's weights `mean`, `variance` and the integer `count`, so
    `.keras` and `.weights.h5` files load in either library.
    """

    def __init__(self, axis: int | tuple[int, ...] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(int(a) for a in axis)
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                f"Normalization needs both `mean` and `variance`, or neither (then call adapt()); received "
                f"mean={mean!r} and variance={variance!r}."
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"Normalization expected `mean` and `variance` of the same shape, received shapes "
                    f"{np.shape(mean)} and {np.shape(variance)}."
                )
            if np.ndim(mean) > len(axis):
                raise ValueError(
                    f"Normalization: `mean` has rank {np.ndim(mean)}, more than the {len(axis)} kept axes "
                    f"{axis}; pass statistics for the kept axes only."
                )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True
        self._build_input_shape: tuple | None = None

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f"Layer {self.name!r} (Normalization) has axis={self.axis}, outside the {ndim} axes of inputs "
                f"of shape {input_shape}."
            )
        keep = tuple(sorted(a % ndim for a in self.axis))
        unknown = [d for d in keep if input_shape[d] is None]
        if unknown:
            raise ValueError(
                f"Layer {self.name!r} (Normalization) keeps statistics along axes {keep}, but axis {unknown[0]} "
                f"of the input shape {input_shape} is unknown; give it a size."
            )
        self._build_input_shape = input_shape
        self._keep_axis = keep
        self._reduce_axis = tuple(d for d in range(ndim) if d not in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(ndim))
        self._stat_shape = tuple(input_shape[d] for d in keep)
        if self.input_mean is None:
            self.add_weight(name="mean", shape=self._stat_shape, initializer="zeros", trainable=False)
            self.add_weight(name="variance", shape=self._stat_shape, initializer="ones", trainable=False)
            count = self.add_weight(name="count", shape=(), initializer="zeros", dtype="int32", trainable=False)
            count._keras_int_weight = True  # Keras saves it with the statistics
            return
        mean = torch.as_tensor(np.asarray(self.input_mean, dtype="float64"))
        variance = torch.as_tensor(np.asarray(self.input_variance, dtype="float64"))
        if mean.dim() > 0:  # align the given dimensions with the kept axes, from the right
            shape = [1] * ndim
            for offset in range(1, mean.dim() + 1):
                shape[keep[-offset]] = mean.shape[-offset]
            mean, variance = mean.reshape(shape), variance.reshape(shape)
        try:
            mean = mean.broadcast_to(self._broadcast_shape)
            variance = variance.broadcast_to(self._broadcast_shape)
        except RuntimeError as error:
            raise ValueError(
                f"Layer {self.name!r} (Normalization): `mean` of shape {tuple(np.shape(self.input_mean))} does not "
                f"broadcast to the kept axes' shape {self._stat_shape}."
            ) from error
        device = self._device()
        self.register_buffer("_fixed_mean", mean.to(device, self._dtype), persistent=False)
        self.register_buffer("_fixed_variance", variance.to(device, self._dtype), persistent=False)

    def _device(self) -> torch.device:
        from ..layer import _BUILD_DEVICE

        return _BUILD_DEVICE[-1]

    def _apply(self, fn: Any, recurse: bool = True) -> "Normalization":
        result = super()._apply(fn, recurse)
        if "count" in self._buffers:  # a device move makes a new tensor: keep it a Keras weight
            self._buffers["count"]._keras_int_weight = True
        return result

    def _statistics(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.input_mean is not None:
            return self._fixed_mean, self._fixed_variance
        return self.mean.reshape(self._broadcast_shape), self.variance.reshape(self._broadcast_shape)

    def forward(self, inputs: Any) -> torch.Tensor:
        if not self.built:
            raise ValueError(f"Layer {self.name!r} (Normalization) is not built; call adapt(data) or build(input_shape).")
        mean, variance = self._statistics()
        inputs = torch.as_tensor(inputs, device=mean.device).to(self._dtype)
        scale = torch.clamp_min(torch.sqrt(variance.to(self._dtype)), config.epsilon())
        if self.invert:
            return mean.to(self._dtype) + inputs * scale
        return (inputs - mean.to(self._dtype)) / scale

    def adapt(self, data: Any) -> None:
        """Learn the mean and variance of `data`: a numpy array, a tensor, or a batched iterable (a
        DataLoader, a list of arrays, a generator, a PyDataset) whose batches are combined exactly."""
        if isinstance(data, (np.ndarray, torch.Tensor)):
            self._check_adapt_shape(tuple(data.shape))
            values = torch.as_tensor(data).to(torch.float64)
            mean, variance = self._moments(values)
        else:
            mean = variance = None
            total = 0
            for batch in batches(data):
                if not hasattr(batch, "shape"):
                    raise TypeError(
                        f"Layer {self.name!r} (Normalization).adapt() expected batches of arrays or tensors, received "
                        f"a {type(batch).__name__}; yield numpy arrays or torch tensors."
                    )
                self._check_adapt_shape(tuple(batch.shape))
                values = torch.as_tensor(np.asarray(batch) if not isinstance(batch, torch.Tensor) else batch)
                batch_mean, batch_variance = self._moments(values.to(torch.float64))
                count = math.prod(values.shape[d] for d in self._reduce_axis)
                if mean is None:
                    mean, variance, total = batch_mean, batch_variance, count
                    continue
                # Pooled moments of two groups: within-group variances plus the spread of their means.
                total += count
                weight = count / total
                new_mean = mean * (1 - weight) + batch_mean * weight
                variance = ((variance + (mean - new_mean) ** 2) * (1 - weight)
                            + (batch_variance + (batch_mean - new_mean) ** 2) * weight)
                mean = new_mean
            if mean is None:
                raise ValueError(
                    f"Layer {self.name!r} (Normalization).adapt() received no batches; pass a non-empty array or "
                    "iterable of batches."
                )
        with torch.no_grad():
            self.mean.copy_(mean.reshape(self._stat_shape))
            self.variance.copy_(variance.reshape(self._stat_shape))

    def _check_adapt_shape(self, shape: tuple) -> None:
        if self.input_mean is not None:
            raise ValueError(
                f"Layer {self.name!r} (Normalization) was given `mean` and `variance`, so adapt() has nothing to "
                "learn; create the layer without them to adapt it."
            )
        if not self.built:
            self.build(shape)
            self.built = True
            return
        for d in self._keep_axis:
            if d >= len(shape) or shape[d] != self._build_input_shape[d]:
                raise ValueError(
                    f"Layer {self.name!r} (Normalization) was built for inputs of shape {self._build_input_shape}, "
                    f"but adapt() received data of shape {shape}; the kept axes {self._keep_axis} must match."
                )

    def _moments(self, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self._reduce_axis:  # every axis kept: each value is its own mean
            return values, torch.zeros_like(values)
        variance, mean = torch.var_mean(values, dim=self._reduce_axis, correction=0)
        return mean, variance

    def get_config(self) -> dict[str, Any]:
        result = super().get_config()
        result.update(axis=self.axis, invert=self.invert, mean=_listed(self.input_mean),
                      variance=_listed(self.input_variance))
        return result

    def get_build_config(self) -> dict[str, Any] | None:
        if self._build_input_shape is None:
            return None
        return {"input_shape": list(self._build_input_shape)}


def _listed(value: Any) -> Any:
    """A statistic as Keras writes it in configs: nested lists of numbers (or None)."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value).tolist()
