"""Colour augmentation layers: brightness, contrast, hue, saturation, grayscale, sharpness, blur,
inversion, posterization, solarization and the histogram-based contrast layers.

Pixel values are read in `value_range` (Keras's convention); each layer draws its per-image parameters
in one call and transforms the whole batch with elementwise ops, one grouped convolution or one
scatter-add (histograms). Segmentation masks pass through unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import BaseImageAugmentationLayer, coin, factor_range, gaussian_blur, rescale, uniform, value_range_pair

__all__ = [
    "AutoContrast", "ContrastLimitedAdaptiveHistogramEqualization", "Equalization", "RandomBrightness",
    "RandomColorDegeneration", "RandomColorJitter", "RandomContrast", "RandomGaussianBlur", "RandomGrayscale",
    "RandomHue", "RandomInvert", "RandomPosterization", "RandomSaturation", "RandomSharpness", "Solarization",
]


def _per_image(values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, 1, 1, 1)


def _grayscale(images: torch.Tensor, data_format: str) -> torch.Tensor:
    from ...ops.image import rgb_to_grayscale

    return rgb_to_grayscale(images, data_format=data_format)


class _ColorAugmentation(BaseImageAugmentationLayer):
    """A colour layer: masks pass unchanged; `value_range` checked and kept as `_range`."""

    _moves_pixels = False

    def _set_value_range(self, value_range: Any) -> None:
        self._range = value_range_pair(type(self).__name__, value_range)
        self.value_range = value_range


class RandomContrast(_ColorAugmentation):
    """Scales each image's deviation from its per-channel mean by a random factor, then clips to
    `value_range`. Keras 3 turns a single number `f` into factors in `[1, 1 + f]` (a pair `(a, b)` gives
    `[1 - a, 1 + b]`); this layer does the same.

    Args:
        factor: a number or a pair within [0, 1].
        value_range: the `(min, max)` the outputs are clipped to.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomContrast", "factor", factor, 0.0, 1.0, symmetric=False)
        self.value_range = value_range

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        lower, upper = 1.0 - self.factor[0], 1.0 + self.factor[1]
        return lower + (upper - lower) * self._rand((images.shape[0], 1, 1, 1), images.device, generator)

    def _transform(self, images: torch.Tensor, contrast: torch.Tensor, interpolation: str) -> torch.Tensor:
        mean = images.mean(dim=self._spatial_axes, keepdim=True)
        contrast = contrast.to(images.dtype)
        # (x - mean) * c + mean as one fused pass over the images: x * c + mean * (1 - c).
        return torch.addcmul(mean * (1.0 - contrast), images, contrast).clamp_(self.value_range[0], self.value_range[1])


class RandomBrightness(_ColorAugmentation):
    """Adds a random per-image offset of `factor * (max - min)` of `value_range`, then clips to it.

    Args:
        factor: a number `f` (offsets in `[-f, f]`) or a pair, within [-1, 1].
        value_range: the `(min, max)` of the input values.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomBrightness", "factor", factor, -1.0, 1.0)
        if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
            raise ValueError(f"RandomBrightness expected `value_range` to be a pair of numbers, received {value_range!r}.")
        self.value_range = sorted(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        lower, upper = self.factor
        draw = lower + (upper - lower) * self._rand((images.shape[0], 1, 1, 1), images.device, generator)
        return draw * (self.value_range[1] - self.value_range[0])

    def _transform(self, images: torch.Tensor, delta: torch.Tensor, interpolation: str) -> torch.Tensor:
        return (images + delta.to(images.dtype)).clamp_(self.value_range[0], self.value_range[1])




class RandomHue(_ColorAugmentation):
    """Shifts each image's hue by a random `± factor / 2` turn of the colour wheel (the sign is a coin flip).

    Args:
        factor: a number `f` (shifts drawn in `[0, f]`) or a pair, within [0, 1].
        value_range: the `(min, max)` of the input values.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomHue", "factor", factor, 0.0, 1.0, symmetric=False)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        batch, device = images.shape[0], images.device
        sign = torch.where(self._rand((batch,), device, generator) > 0.5, -1.0, 1.0)
        return sign * uniform((batch,), *self.factor, device, generator) * 0.5

    def _transform(self, images: torch.Tensor, shift: torch.Tensor, interpolation: str) -> torch.Tensor:
        from ...ops.image import hsv_to_rgb, rgb_to_hsv

        hsv = rgb_to_hsv(rescale(images, self._range, (0, 1)), data_format=self.data_format)
        hue, saturation, value = hsv.unbind(self._channel_axis)
        hue = hue + shift.to(hue.dtype).view(-1, 1, 1)
        hue = torch.where(hue > 1.0, hue - 1.0, torch.where(hue < 0.0, hue + 1.0, hue))
        rgb = hsv_to_rgb(torch.stack([hue, saturation, value], dim=self._channel_axis), data_format=self.data_format)
        return rescale(rgb.clamp(0.0, 1.0), (0, 1), self._range)


class RandomSaturation(_ColorAugmentation):
    """Scales each image's saturation by `f / (1 - f)` for a random `f` per image (0.5 keeps it, 0 gives
    grayscale, 1 full saturation). As in Keras, one number `f` draws `f` in `[-f, f]` (negative draws give
    grayscale) and the scaled saturation is clipped to `value_range`.

    Args:
        factor: a number or a pair within [-1, 1].
        value_range: the `(min, max)` of the input values.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomSaturation", "factor", factor, -1.0, 1.0)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        from ... import config

        draw = uniform((images.shape[0],), *self.factor, images.device, generator)
        return draw / (1.0 - draw + config.epsilon())

    def _transform(self, images: torch.Tensor, scale: torch.Tensor, interpolation: str) -> torch.Tensor:
        axis = self._channel_axis
        if self._range[0] > 0:  # a gray pixel gains saturation (and red hue): only the HSV round trip says so
            from ...ops.image import hsv_to_rgb, rgb_to_hsv

            hue, saturation, value = rgb_to_hsv(images, data_format=self.data_format).unbind(axis)
            saturation = (saturation * scale.to(images.dtype).view(-1, 1, 1)).clamp(*self._range)
            return hsv_to_rgb(torch.stack([hue, saturation, value], dim=axis), data_format=self.data_format)
        # With hue and value fixed, each channel is `v - (v - x) * s_new / s` (v the channel maximum): the HSV
        # round trip without its six-way branch, about 20x faster.
        r, g, b = images.unbind(axis)
        value = torch.maximum(torch.maximum(r, g), b).unsqueeze(axis)
        spread = value - torch.minimum(torch.minimum(r, g), b).unsqueeze(axis)
        tiny = torch.finfo(images.dtype).tiny
        saturation = spread / value.clamp_min(tiny)  # 0 where the pixel is black
        target = (saturation * scale.to(images.dtype).view(-1, 1, 1, 1)).clamp_(*self._range)
        return torch.lerp(value, images, target / saturation.clamp_min(tiny))  # gray pixels: target is 0


class RandomGrayscale(_ColorAugmentation):
    """Turns each image to grayscale (luma, repeated over the channels) with probability `factor`.

    Args:
        factor: the probability, within [0, 1].
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, factor: float = 0.5, data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise ValueError(f"RandomGrayscale expected `factor` to be a probability within [0, 1], received factor={factor!r}.")
        self.factor = factor

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return self._rand((images.shape[0],), images.device, generator) < self.factor

    def _transform(self, images: torch.Tensor, apply: torch.Tensor, interpolation: str) -> torch.Tensor:
        return torch.where(_per_image(apply), _grayscale(images, self.data_format), images)


class RandomColorDegeneration(_ColorAugmentation):
    """Blends each image towards its grayscale version by a random factor, then clips to `value_range`.
    As in Keras, one number `f` draws the factor in `[-f, f]` (negative factors push colours away from gray).

    Args:
        factor: a number or a pair within [-1, 1].
        value_range: the `(min, max)` of the input values.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomColorDegeneration", "factor", factor, -1.0, 1.0)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return uniform((images.shape[0], 1, 1, 1), *self.factor, images.device, generator)

    def _transform(self, images: torch.Tensor, factor: torch.Tensor, interpolation: str) -> torch.Tensor:
        gray = _grayscale(images, self.data_format)
        return (images + factor.to(images.dtype) * (gray - images)).clamp(*self._range)


class RandomSharpness(_ColorAugmentation):
    """Sharpens (or softens) each image: blends it with Keras's 3x3 smoothing of it by `1 - 2 f` for a random
    `f` per image (0.5 keeps the image), then clips to `value_range`.

    Args:
        factor: a number `f` (drawn in `[0, f]`) or a pair, within [0, 1].
        value_range: the `(min, max)` of the input values.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomSharpness", "factor", factor, 0.0, 1.0, symmetric=False)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return uniform((images.shape[0], 1, 1, 1), *self.factor, images.device, generator) * 2.0

    def _transform(self, images: torch.Tensor, sharpness: torch.Tensor, interpolation: str) -> torch.Tensor:
        nchw = images.permute(0, 3, 1, 2) if self.data_format == "channels_last" else images
        channels = nchw.shape[1]
        kernel = torch.full((3, 3), 1.0 / 13.0, dtype=images.dtype, device=images.device)
        kernel[1, 1] = 5.0 / 13.0
        smooth = torch.nn.functional.conv2d(nchw, kernel.expand(channels, 1, 3, 3), padding=1, groups=channels)
        smooth = smooth.permute(0, 2, 3, 1) if self.data_format == "channels_last" else smooth
        return (images + (1.0 - sharpness.to(images.dtype)) * (smooth - images)).clamp(*self._range)


class RandomGaussianBlur(_ColorAugmentation):
    """Blurs a random fraction of the images with a Gaussian kernel whose standard deviations (one for each
    axis) are drawn per image from `sigma`, then clips to `value_range`. (Keras draws one pair of standard
    deviations per batch; here each image gets its own, in one grouped convolution per axis.)

    Args:
        factor: the probability of blurring an image: a number `f` (a probability drawn in `[0, f]`) or a
            pair, within [0, 1].
        kernel_size: an odd int, or a pair of odd ints `(height, width)`.
        sigma: a number `s` (standard deviations drawn in `[0, s]`) or a pair, within [0, 1].
        value_range: the `(min, max)` of the input values.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, factor: Any = 1.0, kernel_size: Any = 3, sigma: Any = 1.0, value_range: Any = (0, 255),
                 data_format: str | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomGaussianBlur", "factor", factor, 0.0, 1.0, symmetric=False)
        sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
        if len(sizes) != 2 or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 and k % 2 for k in sizes):
            raise ValueError(f"RandomGaussianBlur expected `kernel_size` to be an odd positive int or a pair of them, "
                             f"received kernel_size={kernel_size!r}.")
        self.kernel_size = sizes
        self.sigma = factor_range("RandomGaussianBlur", "sigma", sigma, 0.0, 1.0, symmetric=False)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, device = images.shape[0], images.device
        apply = coin(self.factor, batch, device, generator)
        return apply, uniform((batch, 2), *self.sigma, device, generator) + 1e-6

    def _transform(self, images: torch.Tensor, params: tuple, interpolation: str) -> torch.Tensor:
        apply, sigmas = params
        nchw = images.permute(0, 3, 1, 2) if self.data_format == "channels_last" else images
        out = gaussian_blur(nchw, self.kernel_size, sigmas.flip(1))  # drawn as (x, y), as Keras reads them
        out = out.permute(0, 2, 3, 1) if self.data_format == "channels_last" else out
        return torch.where(_per_image(apply), out, images).clamp(*self._range)


class RandomInvert(_ColorAugmentation):
    """Inverts a random fraction of the images: `value_range[1] - x` (Keras's formula).

    Args:
        factor: the probability of inverting an image: a number `f` (a probability drawn in `[0, f]`) or a
            pair, within [0, 1].
        value_range: the `(min, max)` of the input values.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, factor: Any = 1.0, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomInvert", "factor", factor, 0.0, 1.0, symmetric=False)
        value_range_pair("RandomInvert", value_range)
        self.value_range = value_range

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return coin(self.factor, images.shape[0], images.device, generator)

    def _transform(self, images: torch.Tensor, apply: torch.Tensor, interpolation: str) -> torch.Tensor:
        return torch.where(_per_image(apply), self.value_range[1] - images, images)


class RandomPosterization(_ColorAugmentation):
    """Keeps only the `b` most significant bits of each 8-bit colour value, `b` drawn per image in
    `[low, high)` (a fixed `b` when both bounds are equal), as Keras does.

    Args:
        factor: a number `b` (bits drawn in `[1, b)`) or a pair, within [1, 8].
        value_range: the `(min, max)` of the input values.
        data_format: "channels_last" (default) or "channels_first".
        seed: an int for reproducible draws.
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        low, high = factor_range("RandomPosterization", "factor", factor, 1.0, 8.0, symmetric=False)
        self.factor = (int(low), int(high))
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        low, high = self.factor
        batch, device = images.shape[0], images.device
        if low == high:
            bits = torch.full((batch,), low, device=device, dtype=torch.uint8)
        else:
            bits = torch.randint(low, high, (batch,), generator=generator, device=device).to(torch.uint8)
        return 8 - bits

    def _transform(self, images: torch.Tensor, shift: torch.Tensor, interpolation: str) -> torch.Tensor:
        values = rescale(images, self._range, (0, 255)).clamp(0, 255).to(torch.uint8)
        shift = shift.view(-1, 1, 1, 1)
        values = torch.bitwise_left_shift(torch.bitwise_right_shift(values, shift), shift)
        return rescale(values.to(images.dtype), (0, 255), self._range)


class Solarization(_ColorAugmentation):
    """Adds a random offset to each image, then inverts (`255 - x` on the 0-255 scale) every value at or above
    a random threshold. The offset and threshold are drawn in `[low, high * 255]` on the 0-255 scale (Keras's
    arithmetic: only the upper bound is scaled).

    Args:
        addition_factor: a number `a` (offsets drawn in `[0, 255 a]`) or a pair, within [0, 1].
        threshold_factor: a number `t` (thresholds drawn in `[0, 255 t]`) or a pair, within [0, 1].
        value_range: the `(min, max)` of the input values.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, addition_factor: Any = 0.0, threshold_factor: Any = 0.0, value_range: Any = (0, 255),
                 seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.addition_factor = factor_range("Solarization", "addition_factor", addition_factor, 0.0, 1.0,
                                            symmetric=False)
        self.threshold_factor = factor_range("Solarization", "threshold_factor", threshold_factor, 0.0, 1.0,
                                             symmetric=False)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        shape, device = (images.shape[0], 1, 1, 1), images.device
        additions = uniform(shape, self.addition_factor[0], self.addition_factor[1] * 255, device, generator)
        thresholds = uniform(shape, self.threshold_factor[0], self.threshold_factor[1] * 255, device, generator)
        return additions, thresholds

    def _transform(self, images: torch.Tensor, params: tuple, interpolation: str) -> torch.Tensor:
        additions, thresholds = (p.to(images.dtype) for p in params)
        values = (rescale(images, self._range, (0, 255)) + additions).clamp(0, 255)
        values = torch.where(values < thresholds, values, 255 - values)
        return rescale(values, (0, 255), self._range)


class AutoContrast(_ColorAugmentation):
    """Stretches each channel of each image so its darkest value maps to the low end of `value_range` and
    its brightest to the high end. Like Keras's, it applies at inference too (it has no randomness); a
    constant channel is left unchanged.

    Args:
        value_range: the `(min, max)` of the input values.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, value_range: Any = (0, 255), data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=None, data_format=data_format, **kwargs)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> None:
        return None

    def _transform(self, images: torch.Tensor, params: None, interpolation: str) -> torch.Tensor:
        values = rescale(images, self._range, (0, 255))
        low = values.amin(dim=self._spatial_axes, keepdim=True)
        high = values.amax(dim=self._spatial_axes, keepdim=True)
        scale = 255.0 / (high - low)
        stretched = rescale((values * scale - low * scale).clamp(0.0, 255.0), (0, 255), self._range)
        return torch.where(torch.isnan(stretched), images, stretched)

    def _infer(self, images: torch.Tensor) -> torch.Tensor:
        return self._transform(images, None, "bilinear")

    def _infer_masks(self, masks: torch.Tensor) -> torch.Tensor:
        return masks


def _channels_rows(images: torch.Tensor, data_format: str) -> torch.Tensor:
    """`(N, C, H*W)`: one row per channel of each image."""
    nchw = images.permute(0, 3, 1, 2) if data_format == "channels_last" else images
    return nchw.flatten(2)


def _from_rows(rows: torch.Tensor, like: torch.Tensor, data_format: str) -> torch.Tensor:
    if data_format == "channels_last":
        n, height, width, c = like.shape
        return rows.view(n, c, height, width).permute(0, 2, 3, 1)
    return rows.view(like.shape)


class Equalization(_ColorAugmentation):
    """Histogram-equalizes each channel of each image (`bins` bins over the 0-255 scale), in one scatter-add
    for the whole batch. (Keras's layer pools the histogram over the whole batch; for a single image the
    two agree.) A channel with a single occupied bin is left unchanged.

    Args:
        value_range: the `(min, max)` of the input values.
        bins: the number of histogram bins.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, value_range: Any = (0, 255), bins: int = 256, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=None, data_format=data_format, **kwargs)
        from ..arguments import positive_int

        self.bins = positive_int("Equalization", "bins", bins)
        self._set_value_range(value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> None:
        return None

    def _transform(self, images: torch.Tensor, params: None, interpolation: str) -> torch.Tensor:
        bins = self.bins
        rows = rescale(_channels_rows(images, self.data_format), self._range, (0, 255))
        index = (rows * (bins - 1) / 255.0).to(torch.int32).clamp(0, bins - 1).long()
        hist = torch.zeros(*rows.shape[:2], bins, dtype=torch.int64, device=rows.device)
        hist.scatter_add_(2, index, torch.ones_like(index))
        cdf = hist.cumsum(2)
        cdf_min = torch.where(cdf > 0, cdf, cdf[..., -1:]).amin(2, keepdim=True)
        denominator = cdf[..., -1:] - cdf_min
        denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
        lut = torch.round((cdf - cdf_min) * 255 / denominator).clamp(0, 255).to(rows.dtype)
        lookup = (rows / 255.0 * (bins - 1)).clamp(0, bins - 1).to(torch.int32).long()
        equalized = lut.gather(2, lookup)
        equalized = torch.where((hist > 0).sum(2, keepdim=True) <= 1, rows, equalized)
        return _from_rows(rescale(equalized, (0, 255), self._range), images, self.data_format)


class ContrastLimitedAdaptiveHistogramEqualization(_ColorAugmentation):
    """CLAHE: equalizes each channel per tile of a `tile_grid_size` grid with histograms clipped at
    `clip_limit` times the mean bin count (the excess spread evenly), blending the tile mappings bilinearly
    between tile centres. Like Keras's, it applies at inference too (it has no randomness).

    Args:
        value_range: the `(min, max)` of the input values.
        clip_limit: the contrast limit (0 or less: plain adaptive equalization).
        tile_grid_size: `(rows, columns)` of tiles.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, value_range: Any = (0, 255), clip_limit: float = 4.0, tile_grid_size: Any = (8, 8),
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=None, data_format=data_format, **kwargs)
        self._set_value_range(value_range)
        if isinstance(clip_limit, bool) or not isinstance(clip_limit, (int, float)):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization expected a number `clip_limit`, "
                             f"received clip_limit={clip_limit!r}.")
        self.clip_limit = clip_limit
        if (not isinstance(tile_grid_size, (tuple, list)) or len(tile_grid_size) != 2
                or not all(isinstance(t, int) and t > 0 for t in tile_grid_size)):
            raise ValueError(f"ContrastLimitedAdaptiveHistogramEqualization expected `tile_grid_size` to be a pair "
                             f"of positive ints, received tile_grid_size={tile_grid_size!r}.")
        self.tile_grid_size = tile_grid_size

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> None:
        return None

    def _infer(self, images: torch.Tensor) -> torch.Tensor:
        return self._transform(images, None, "bilinear")

    def _infer_masks(self, masks: torch.Tensor) -> torch.Tensor:
        return masks

    def _transform(self, images: torch.Tensor, params: None, interpolation: str) -> torch.Tensor:
        x = images if self.data_format == "channels_last" else images.permute(0, 2, 3, 1)
        x = rescale(x.float(), tuple(self.value_range), (0, 255))
        batch, height, width, channels = x.shape
        grid_h, grid_w = self.tile_grid_size
        tile_h, tile_w = -(-height // grid_h), -(-width // grid_w)
        padded_h, padded_w = tile_h * grid_h, tile_w * grid_w
        device = x.device
        # Symmetric (edge-repeating) padding up to whole tiles, by index.
        rows = torch.arange(padded_h, device=device)
        cols = torch.arange(padded_w, device=device)
        rows = torch.where(rows < height, rows, 2 * height - 1 - rows)
        cols = torch.where(cols < width, cols, 2 * width - 1 - cols)
        padded = x[:, rows][:, :, cols]
        levels = padded.to(torch.int32).clamp(0, 255).long()
        tiles = levels.view(batch, grid_h, tile_h, grid_w, tile_w, channels).permute(0, 1, 3, 5, 2, 4)
        tiles = tiles.reshape(batch, grid_h, grid_w, channels, tile_h * tile_w)
        hist = torch.zeros(batch, grid_h, grid_w, channels, 256, device=device)
        hist.scatter_add_(4, tiles, torch.ones_like(tiles, dtype=hist.dtype))
        if self.clip_limit > 0:
            clipped = hist.clamp(0, self.clip_limit * (tile_h * tile_w) / 256.0)
            hist = clipped + (hist - clipped).sum(-1, keepdim=True) / 256.0
        cdf = hist.cumsum(-1)
        cdf_min = cdf.amin(-1, keepdim=True)
        denominator = tile_h * tile_w - cdf_min
        denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
        lut = ((cdf - cdf_min) * 255.0 / denominator).clamp(0, 255)
        # One tile of replicated border around the grid, so every pixel blends four mappings.
        lut = torch.cat([lut[:, :1], lut, lut[:, -1:]], dim=1)
        lut = torch.cat([lut[:, :, :1], lut, lut[:, :, -1:]], dim=2)

        def corners(size: int, tile: int, grid: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            position = (torch.arange(size, dtype=torch.float32, device=device) - tile / 2.0) / tile + 1.0
            low = position.floor()
            return low.clamp(0, grid + 1).long(), (low + 1).clamp(0, grid + 1).long(), position - low

        y0, y1, wy = corners(padded_h, tile_h, grid_h)
        x0, x1, wx = corners(padded_w, tile_w, grid_w)
        b = torch.arange(batch, device=device).view(-1, 1, 1, 1)
        c = torch.arange(channels, device=device).view(1, 1, 1, -1)
        y0, y1, wy = y0.view(1, -1, 1, 1), y1.view(1, -1, 1, 1), wy.view(1, -1, 1, 1)
        x0, x1, wx = x0.view(1, 1, -1, 1), x1.view(1, 1, -1, 1), wx.view(1, 1, -1, 1)
        top = lut[b, y0, x0, c, levels] * (1.0 - wx) + lut[b, y0, x1, c, levels] * wx
        bottom = lut[b, y1, x0, c, levels] * (1.0 - wx) + lut[b, y1, x1, c, levels] * wx
        out = (top * (1.0 - wy) + bottom * wy)[:, :height, :width]
        out = rescale(out, (0, 255), tuple(self.value_range)).to(images.dtype)
        return out if self.data_format == "channels_last" else out.permute(0, 3, 1, 2)


class RandomColorJitter(_ColorAugmentation):
    """Random brightness, contrast, saturation and hue changes, in that order, each only when its factor is
    given (the factors mean what they mean in `RandomBrightness`, `RandomContrast`, `RandomSaturation` and
    `RandomHue`).

    Args:
        value_range: the `(min, max)` of the input values.
        brightness_factor, contrast_factor, saturation_factor, hue_factor: the factors, or None to skip.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, value_range: Any = (0, 255), brightness_factor: Any = None, contrast_factor: Any = None,
                 saturation_factor: Any = None, hue_factor: Any = None, seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self._set_value_range(value_range)
        self.brightness_factor, self.contrast_factor = brightness_factor, contrast_factor
        self.saturation_factor, self.hue_factor = saturation_factor, hue_factor
        steps = [(RandomBrightness, brightness_factor), (RandomContrast, contrast_factor),
                 (RandomSaturation, saturation_factor), (RandomHue, hue_factor)]
        self._steps = [kind(factor, value_range=value_range, data_format=self.data_format)
                       for kind, factor in steps if factor is not None]

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> list:
        return [step._draw(images, generator) for step in self._steps]

    def _transform(self, images: torch.Tensor, params: list, interpolation: str) -> torch.Tensor:
        for step, step_params in zip(self._steps, params):
            images = step._transform(images, step_params, interpolation)
        return images
