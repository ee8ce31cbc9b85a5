"""Regularization layers: noise and dropout variants that act only in training, and an activity penalty.

Each noisy layer is the identity at inference. In training, a layer built with `seed=` draws from its
own `kt.random.SeedGenerator` (reproducible, and equal to Keras's draws for the same seed); without a
seed it draws from torch's global RNG (`torch.manual_seed`), on the input's device, with no host sync.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .. import config, random, regularizers
from .input_spec import InputSpec
from .layer import Layer

__all__ = [
    "ActivityRegularization", "AlphaDropout", "GaussianDropout", "GaussianNoise",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
]

# SELU's constants (Klambauer et al., 2017): AlphaDropout sets dropped units to SELU's saturation value.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _unit_interval(layer: str, argument: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{layer} expected `{argument}` to be a float in [0, 1], received {value!r}.")
    if not 0 <= value <= 1:
        raise ValueError(f"{layer} expected `{argument}` to be a float in [0, 1], received {argument}={value!r}.")
    return value


class _Noise(Layer):
    """Shared by the training-only random layers: the seed and its generator, identity at inference."""

    supports_masking = True

    def _seed_from(self, seed: int | None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{type(self).__name__} expected `seed` to be an int or None, received {seed!r}.")
        self.seed = seed
        if seed is not None:
            self.seed_generator = random.SeedGenerator(seed)
        self.built = True

    def _normal(self, shape: Any, mean: float, stddev: float, like: torch.Tensor) -> torch.Tensor:
        dtype = like.dtype if like.is_floating_point() else self._dtype
        if self.seed is None:
            return torch.randn(tuple(shape), dtype=dtype, device=like.device).mul_(stddev).add_(mean)
        return random.normal(shape, mean, stddev, dtype, self.seed_generator, like.device)

    def _uniform(self, shape: Any, like: torch.Tensor) -> torch.Tensor:
        if self.seed is None:
            return torch.rand(tuple(shape), device=like.device)
        return random.uniform(shape, 0.0, 1.0, "float32", self.seed_generator, like.device)

    def _active(self, training: bool | None) -> bool:
        return bool(self.training if training is None else training)


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise in training (a regularizer; identity at inference).

    Args:
        stddev: standard deviation of the noise, in [0, 1].
        seed: an int for reproducible noise (Keras's draws for the same seed), or None.
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.stddev = _unit_interval("GaussianNoise", "stddev", stddev)
        self._seed_from(seed)

    def forward(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not self._active(training) or self.stddev == 0:
            return inputs
        return inputs + self._normal(inputs.shape, 0.0, self.stddev, inputs)


class GaussianDropout(_Noise):
    """Multiplies inputs by Gaussian noise of mean 1 and stddev `sqrt(rate / (1 - rate))` in training.

    Args:
        rate: drop probability (as with `Dropout`), in [0, 1].
        seed: an int for reproducible noise, or None.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = _unit_interval("GaussianDropout", "rate", rate)
        self._seed_from(seed)

    def forward(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not self._active(training) or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate)) if self.rate < 1 else math.inf
        return inputs * self._normal(inputs.shape, 1.0, stddev, inputs)


def _noise_shape(layer: str, noise_shape: Any) -> tuple | None:
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise ValueError(f"{layer} expected `noise_shape` to be a tuple of ints or None, received {noise_shape!r}.")
    noise_shape = tuple(noise_shape)
    for size in noise_shape:
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0):
            raise ValueError(
                f"{layer} expected `noise_shape` to hold positive ints or None, received {noise_shape!r}."
            )
    return noise_shape


class AlphaDropout(_Noise):
    """Dropout that keeps the mean and variance of its inputs (for SELU networks), in training only.

    Dropped units take SELU's negative saturation value; an affine map then restores the moments.

    Args:
        rate: fraction of units to drop, in [0, 1].
        noise_shape: shape of the keep mask (None entries follow the input), or None for the input's shape.
        seed: an int for reproducible masks, or None.
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rate = _unit_interval("AlphaDropout", "rate", rate)
        self.noise_shape = _noise_shape("AlphaDropout", noise_shape)
        self._seed_from(seed)

    def forward(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not self._active(training) or self.rate == 0:
            return inputs
        shape = inputs.shape if self.noise_shape is None else [
            inputs.shape[i] if size is None else size for i, size in enumerate(self.noise_shape)]
        kept = (self._uniform(shape, inputs) >= self.rate).to(inputs.dtype)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * kept + alpha_p * (1 - kept)) + b


_CHANNEL_DROPOUT = {1: F.dropout1d, 2: F.dropout2d, 3: F.dropout3d}


class _SpatialDropout(_Noise):
    """Drops whole feature maps: one keep decision per (sample, channel), as Keras's SpatialDropout."""

    rank = 1

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.rate = _unit_interval(type(self).__name__, "rate", rate)
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)
        self._seed_from(seed)

    def forward(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not self._active(training) or self.rate == 0:
            return inputs
        last = self.data_format == "channels_last"
        batch, channels = inputs.shape[0], inputs.shape[-1 if last else 1]
        if self.seed is not None:  # Keras's draws: one Bernoulli per (sample, channel)
            ones = (1,) * self.rank
            noise_shape = (batch, *ones, channels) if last else (batch, channels, *ones)
            return random.dropout(inputs, self.rate, noise_shape, seed=self.seed_generator)
        x = inputs.movedim(-1, 1) if last else inputs  # torch's channel dropout wants (N, C, ...): a view
        out = _CHANNEL_DROPOUT[self.rank](x, self.rate, True)
        return out.movedim(1, -1) if last else out

    def get_config(self) -> dict[str, Any]:
        """Keras's keys: SpatialDropout takes no `trainable` (its config is rebuilt with `cls(**config)`)."""
        result = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}
        if self.rank > 1:
            result["data_format"] = self.data_format
        return result


class SpatialDropout1D(_SpatialDropout):
    """Dropout of entire channels of `(batch, steps, channels)` inputs, in training only.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        seed: an int for reproducible masks, or None.
    """

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None, dtype: Any = None):
        super().__init__(rate, "channels_last", seed, name, dtype)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of entire 2D feature maps of 4D inputs, in training only.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
        seed: an int for reproducible masks, or None.
    """

    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Dropout of entire 3D feature maps of 5D inputs, in training only.

    Args:
        rate: fraction of channels to drop, in [0, 1].
        data_format: "channels_last" (default from `kt.config`) or "channels_first".
        seed: an int for reproducible masks, or None.
    """

    rank = 3


class ActivityRegularization(Layer):
    """Identity that adds `l1 * sum(|x|) + l2 * sum(x**2)` of its input to `losses`.

    Args:
        l1: L1 factor (non-negative).
        l2: L2 factor (non-negative).
    """

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any):
        if "activity_regularizer" in kwargs:
            raise TypeError("ActivityRegularization sets its own activity_regularizer from `l1` and `l2`; "
                            "do not pass `activity_regularizer`.")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs
