"""Augmentation layers that cut or blend regions: RandomErasing (a random box filled per image), CutMix
(a box pasted from another image of the batch) and MixUp (a blend with another image); the last two mix
the labels by the same amounts. Boxes are boolean masks built in one broadcast over the batch.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import BaseImageAugmentationLayer, beta, coin, factor_range, gamma, uniform, value_range_pair

__all__ = ["CutMix", "MixUp", "RandomErasing"]


def _box_masks(images: torch.Tensor, spatial_axes: tuple[int, int], ratios: torch.Tensor,
               generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image boxes of side `ratios[:, 0] * width` by `ratios[:, 1] * height` at uniform positions:
    the `(N, H, W)`-broadcastable boolean mask and the box's area fraction (Keras's arithmetic)."""
    rows, cols = spatial_axes
    height, width = images.shape[rows], images.shape[cols]
    batch, device = images.shape[0], images.device
    bounds = []
    for ratio, length in ((ratios[:, 0], width), (ratios[:, 1], height)):
        crop = ratio * length
        start = uniform((batch,), 0.0, 1.0, device, generator) * (length - crop)
        bounds.append((start, start + crop))
    (x0, x1), (y0, y1) = bounds
    xs = torch.arange(width, device=device, dtype=torch.float32).view(1, 1, -1)
    ys = torch.arange(height, device=device, dtype=torch.float32).view(1, -1, 1)
    inside = ((xs >= x0.view(-1, 1, 1)) & (xs < x1.view(-1, 1, 1)) & (ys >= y0.view(-1, 1, 1))
              & (ys < y1.view(-1, 1, 1)))
    return inside, (x1 - x0) * (y1 - y0) / (width * height)


def _channel_view(mask: torch.Tensor, data_format: str) -> torch.Tensor:
    """An `(N, H, W)` mask broadcast over the channel axis of a 4-D batch."""
    return mask.unsqueeze(-1) if data_format == "channels_last" else mask.unsqueeze(1)


def _permutation(batch: int, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    return torch.argsort(torch.rand((batch,), generator=generator, device=device))


def _mix(values: torch.Tensor, weight: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """`w * v + (1 - w) * v[order]`, with one weight per sample."""
    weight = weight.to(values.dtype).view(-1, *([1] * (values.dim() - 1)))
    return weight * values + (1.0 - weight) * values[order]


class RandomErasing(BaseImageAugmentationLayer):
    """Fills a random box of each of a random fraction of the images: the box covers between `scale[0]` and
    `scale[1]` of each side's square (Keras's sampling), the fill is `fill_value` or, when None, Gaussian
    noise times `value_range[1]`, clipped to `value_range`.

    Args:
        factor: the probability of erasing in an image: a number `f` (a probability drawn in `[0, f]`) or a
            pair, within [0, 1].
        scale: a number `s` (area fractions drawn in `[0, s]`) or a pair, within [0, 1].
        fill_value: None (noise), a number, or three numbers (one per channel).
        value_range: the `(min, max)` of the input values.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    _moves_pixels = False

    def __init__(self, factor: Any = 1.0, scale: Any = (0.02, 0.33), fill_value: Any = None,
                 value_range: Any = (0, 255), seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomErasing", "factor", factor, 0.0, 1.0, symmetric=False)
        self.scale = factor_range("RandomErasing", "scale", scale, 0.0, 1.0, symmetric=False)
        numbers = fill_value if isinstance(fill_value, (tuple, list)) else [fill_value]
        if fill_value is not None and (
                (isinstance(fill_value, (tuple, list)) and len(fill_value) != 3)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers)):
            raise ValueError(f"RandomErasing expected `fill_value` to be None, a number or three numbers, received "
                             f"fill_value={fill_value!r}.")
        self.fill_value = fill_value
        self._range = value_range_pair("RandomErasing", value_range)
        self.value_range = value_range

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, device = images.shape[0], images.device
        ratios = uniform((batch, 2), *self.scale, device, generator).sqrt()
        inside, _ = _box_masks(images, self._spatial_axes, ratios, generator)
        apply = coin(self.factor, batch, device, generator)
        erase = _channel_view(inside & apply.view(-1, 1, 1), self.data_format)
        if self.fill_value is None:
            fill = torch.randn(images.shape, generator=generator, device=device) * self.value_range[1]
        else:
            fill = torch.tensor(self.fill_value, dtype=torch.float32, device=device)
            if fill.dim() and self.data_format == "channels_first":
                fill = fill.view(-1, 1, 1)
        return erase, fill.clamp(*self._range)

    def _transform(self, images: torch.Tensor, params: tuple, interpolation: str) -> torch.Tensor:
        erase, fill = params
        return torch.where(erase, fill.to(images.dtype), images)


class CutMix(BaseImageAugmentationLayer):
    """Pastes a random box from another image of the batch into each image, and mixes the labels by the box's
    area. The box's area fraction is `1 - w` with `w ~ Beta(a, a)`, `a` drawn once per batch from `factor`
    (Keras's sampling). A single image (3-D input) passes unchanged.

    Args:
        factor: a number `f` (`a` drawn in `[0, f]`) or a pair, within [0, 1].
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, factor: Any = 1.0, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("CutMix", "factor", factor, 0.0, 1.0, symmetric=False)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> Any:
        batch, device = images.shape[0], images.device
        alpha = uniform((), *self.factor, device, generator) + 1e-6
        draws = gamma(alpha.expand(2, batch).contiguous(), generator)
        weight = draws[0] / (draws[0] + draws[1]).clamp_min(torch.finfo(draws.dtype).tiny)
        side = (1.0 - weight).sqrt()
        inside, area = _box_masks(images, self._spatial_axes, torch.stack([side, side], dim=1), generator)
        return _channel_view(inside, self.data_format), 1.0 - area, _permutation(batch, device, generator)

    def _transform(self, images: torch.Tensor, params: Any, interpolation: str) -> torch.Tensor:
        inside, _, order = params
        return torch.where(inside, images[order], images)

    def _transform_masks(self, masks: torch.Tensor, params: Any) -> torch.Tensor:
        return self._transform(masks, params, "nearest")

    def _transform_labels(self, labels: torch.Tensor, params: Any) -> torch.Tensor:
        _, weight, order = params
        return _mix(labels.to(torch.get_default_dtype()) if not labels.is_floating_point() else labels, weight, order)

    def forward(self, inputs: Any, training: bool | None = None) -> Any:
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        if torch.as_tensor(images).dim() == 3:  # one image: nothing to mix with (as in Keras)
            return super().forward(inputs, False)
        return super().forward(inputs, training)


class MixUp(BaseImageAugmentationLayer):
    """Blends each image with another image of the batch, `w x + (1 - w) x'` with `w ~ Beta(alpha, alpha)`
    per image, and the labels (and segmentation masks) with the same weights.

    Args:
        alpha: the Beta distribution's concentration (positive).
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, alpha: float = 0.2, data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"MixUp expected a positive number `alpha`, received alpha={alpha!r}.")
        self.alpha = alpha

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, device = images.shape[0], images.device
        order = _permutation(batch, device, generator)
        return beta((batch,), self.alpha, device, generator), order

    def _transform(self, images: torch.Tensor, params: tuple, interpolation: str) -> torch.Tensor:
        weight, order = params
        return _mix(images, weight, order)

    def _transform_masks(self, masks: torch.Tensor, params: tuple) -> torch.Tensor:
        return self._transform(masks, params, "nearest")

    def _transform_labels(self, labels: torch.Tensor, params: tuple) -> torch.Tensor:
        weight, order = params
        return _mix(labels if labels.is_floating_point() else labels.to(torch.get_default_dtype()), weight, order)
