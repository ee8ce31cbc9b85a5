"""Geometric augmentation layers: flips, affine and projective warps, elastic distortion and crops.

Rotation, zoom, translation and shear build one 8-coefficient transform per image and warp the whole
batch in one call; bilinear warps with Keras's "reflect", "nearest" and "constant" fills run as one
fused `grid_sample`, the rest through `ops.image.affine_transform` (same numbers, gathers).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..arguments import positive_int
from .base import BaseImageAugmentationLayer, choice, coin, factor_range, gaussian_blur, uniform, value_range_pair

__all__ = [
    "RandomCrop", "RandomElasticTransform", "RandomFlip", "RandomPerspective", "RandomRotation", "RandomShear",
    "RandomTranslation", "RandomZoom",
]

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


class RandomFlip(BaseImageAugmentationLayer):
    """Flips each image with probability 1/2 (in "horizontal_and_vertical" mode one coin flips both axes,
    as in Keras).

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical".
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = choice("RandomFlip", "mode", mode, ("horizontal", "vertical", "horizontal_and_vertical"))

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return self._rand((images.shape[0], 1, 1, 1), images.device, generator) <= 0.5

    def _transform(self, images: torch.Tensor, flips: torch.Tensor, interpolation: str) -> torch.Tensor:
        rows, cols = self._spatial_axes
        axes = {"horizontal": (cols,), "vertical": (rows,), "horizontal_and_vertical": (rows, cols)}[self.mode]
        return torch.where(flips, images.flip(axes), images)


class _AffineAugmentation(BaseImageAugmentationLayer):
    """Rotation, zoom, translation and shear: per-sample 8-coefficient transforms, one batched warp
    (Keras's fill modes) for the whole batch."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        name = type(self).__name__
        self.fill_mode = choice(name, "fill_mode", fill_mode, _FILL_MODES)
        self.interpolation = choice(name, "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_value = fill_value

    def _transform(self, images: torch.Tensor, matrix: torch.Tensor, interpolation: str) -> torch.Tensor:
        return _warp(images, matrix, interpolation, self.fill_mode, self.fill_value, self.data_format)


def _warp(images: torch.Tensor, matrix: torch.Tensor, interpolation: str, fill_mode: str, fill_value: float,
          data_format: str, projective: bool = False) -> torch.Tensor:
    """Keras's `affine_transform` of a batch by per-image transforms, fused where torch has the kernel."""
    if interpolation == "bilinear" and fill_mode in _GRID_SAMPLE_PADDING:
        return _bilinear_warp(images, matrix, fill_mode, fill_value, data_format, projective)
    from ...ops.image import affine_transform

    return affine_transform(images, matrix, interpolation=interpolation, fill_mode=fill_mode,
                            fill_value=fill_value, data_format=data_format)


# Keras's fill modes that torch's fused `grid_sample` reproduces for bilinear sampling: "reflect" is
# half-sample symmetric (grid_sample's reflection with align_corners=False), "nearest" clamps taps
# (border); "constant" is zero padding plus `fill_value` times the weight that fell outside the image.
_GRID_SAMPLE_PADDING = {"reflect": "reflection", "nearest": "border", "constant": "zeros"}


def _bilinear_warp(images: torch.Tensor, matrix: torch.Tensor, fill_mode: str, fill_value: float,
                   data_format: str, projective: bool = False) -> torch.Tensor:
    """`ops.image.affine_transform` for bilinear warps, as one `grid_sample` call on a channels_last view
    (a 64x224x224x3 rotation took 0.9 s this way on CPU, 6.0 s through the gathers). Affine maps
    (c0 = c1 = 0) build the grid with `affine_grid`; `projective=True` computes it from all 8 coefficients."""
    nchw = images.permute(0, 3, 1, 2) if data_format == "channels_last" else images
    batch, _, height, width = nchw.shape
    if projective:
        grid = _projective_grid(matrix.to(nchw.dtype), height, width)
    else:
        a0, a1, a2, b0, b1, b2 = matrix.to(nchw.dtype)[:, :6].unbind(1)
        # The pixel-space map rewritten for align_corners=False normalized coordinates (u = (2x + 1) / W - 1),
        # so torch's batched affine_grid builds the sampling grid in one pass.
        ratio = height / width
        theta_x = torch.stack([a0, a1 * ratio, a0 + a1 * ratio - (a0 + a1 - 2.0 * a2 - 1.0) / width - 1.0], dim=1)
        theta_y = torch.stack([b0 / ratio, b1, b0 / ratio + b1 - (b0 + b1 - 2.0 * b2 - 1.0) / height - 1.0], dim=1)
        grid = torch.nn.functional.affine_grid(torch.stack([theta_x, theta_y], dim=1), [batch, 1, height, width],
                                               align_corners=False)
    padding = _GRID_SAMPLE_PADDING[fill_mode]
    out = torch.nn.functional.grid_sample(nchw, grid, mode="bilinear", padding_mode=padding, align_corners=False)
    if fill_mode == "constant" and fill_value != 0:
        inside = torch.nn.functional.grid_sample(torch.ones_like(nchw[:, :1]), grid, mode="bilinear",
                                                 padding_mode="zeros", align_corners=False)
        out = out + fill_value * (1.0 - inside)
    return out.permute(0, 2, 3, 1) if data_format == "channels_last" else out


def _projective_grid(matrix: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """`grid_sample`'s normalized `(N, H, W, 2)` grid of the source points of projective transforms."""
    ys = torch.arange(height, dtype=matrix.dtype, device=matrix.device).view(1, height, 1)
    xs = torch.arange(width, dtype=matrix.dtype, device=matrix.device).view(1, 1, width)
    a0, a1, a2, b0, b1, b2, c0, c1 = (matrix[:, i].view(-1, 1, 1) for i in range(8))
    k = c0 * xs + c1 * ys + 1.0
    source_x = (a0 * xs + a1 * ys + a2) / k
    source_y = (b0 * xs + b1 * ys + b2) / k
    return torch.stack([(2.0 * source_x + 1.0) / width - 1.0, (2.0 * source_y + 1.0) / height - 1.0], dim=-1)


def _affine_rows(a0: torch.Tensor, a1: torch.Tensor, a2: torch.Tensor, b0: torch.Tensor, b1: torch.Tensor,
                 b2: torch.Tensor) -> torch.Tensor:
    zeros = torch.zeros_like(a0)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], dim=1)


class RandomRotation(_AffineAugmentation):
    """Rotates each image by a random angle of `factor * 360` degrees about its center.

    Args:
        factor: a number `f` (angles in `[-f, f] * 360°`) or a pair `(lower, upper)`, within [-1, 1].
        fill_mode: "reflect", "wrap", "constant" or "nearest" (how points outside the image are filled).
        interpolation: "bilinear" or "nearest".
        seed: an int for reproducible draws.
        fill_value: the value outside the image with `fill_mode="constant"`.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor_range("RandomRotation", "factor", factor, -1.0, 1.0)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        lower, upper = self.factor
        draw = self._rand((images.shape[0],), images.device, generator)
        angle = (lower * 360.0 + (upper - lower) * 360.0 * draw) * (math.pi / 180.0)
        height, width = self._size(images)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        cos, sin = torch.cos(angle), torch.sin(angle)
        return _affine_rows(cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos)


class RandomZoom(_AffineAugmentation):
    """Zooms each image by a random factor about its center: `1 + factor` scales the sampled area, so a
    positive factor zooms out and a negative one zooms in, as in Keras.

    Args:
        height_factor: a number `f` (zoom in `[1 - f, 1 + f]`) or a pair, within (-1, 1].
        width_factor: the same for the width; None keeps the aspect ratio (one draw for both axes).
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = factor_range("RandomZoom", "height_factor", height_factor, -1.0, 1.0, low_open=True)
        self._width_range = None if width_factor is None else factor_range(
            "RandomZoom", "width_factor", width_factor, -1.0, 1.0, low_open=True)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        draw = self._rand((images.shape[0], 2), images.device, generator)
        (h_low, h_high), (w_low, w_high) = self._height_range, self._width_range or self._height_range
        zoom_y = 1.0 + h_low + (h_high - h_low) * draw[:, 0]
        zoom_x = zoom_y if self._width_range is None else 1.0 + w_low + (w_high - w_low) * draw[:, 1]
        height, width = self._size(images)
        zeros = torch.zeros_like(zoom_x)
        return _affine_rows(zoom_x, zeros, (width - 1) / 2.0 * (1.0 - zoom_x),
                            zeros, zoom_y, (height - 1) / 2.0 * (1.0 - zoom_y))


class RandomTranslation(_AffineAugmentation):
    """Shifts each image by a random fraction of its height and width.

    Args:
        height_factor: a number `f` (shift in `[-f, f] * height`) or a pair, within [-1, 1].
        width_factor: the same for the width.
        fill_mode, interpolation, seed, fill_value, data_format: as in `RandomRotation`.
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height_range = factor_range("RandomTranslation", "height_factor", height_factor, -1.0, 1.0)
        self._width_range = factor_range("RandomTranslation", "width_factor", width_factor, -1.0, 1.0)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        draw = self._rand((images.shape[0], 2), images.device, generator)
        (h_low, h_high), (w_low, w_high) = self._height_range, self._width_range
        height, width = self._size(images)
        shift_y = (h_low + (h_high - h_low) * draw[:, 0]) * height
        shift_x = (w_low + (w_high - w_low) * draw[:, 1]) * width
        ones, zeros = torch.ones_like(shift_x), torch.zeros_like(shift_x)
        return _affine_rows(ones, zeros, -shift_x, zeros, ones, -shift_y)


class RandomShear(_AffineAugmentation):
    """Shears each image by random amounts along x and y (about the top-left corner, as Keras does); one
    random sign per image applies to both amounts.

    Args:
        x_factor: a number `f` (shear in `[-f, f]`) or a pair, within [0, 1].
        y_factor: the same along y.
        interpolation, fill_mode, fill_value, seed, data_format: as in `RandomRotation`.
    """

    def __init__(self, x_factor: Any = 0.0, y_factor: Any = 0.0, interpolation: str = "bilinear",
                 fill_mode: str = "reflect", fill_value: float = 0.0, data_format: str | None = None,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        # Kept as given: Keras writes the normalized pair `(-f, f)` to its config but accepts only values
        # in [0, 1] back, so a config carrying the given value loads in both libraries.
        self.x_factor, self.y_factor = x_factor, y_factor
        self._x_range, self._y_range = _shear_range("x_factor", x_factor), _shear_range("y_factor", y_factor)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        batch, device = images.shape[0], images.device
        sign = torch.where(self._rand((batch,), device, generator) > 0.5, -1.0, 1.0)
        shear_y = uniform((batch,), *self._y_range, device, generator) * sign
        shear_x = uniform((batch,), *self._x_range, device, generator) * sign
        ones, zeros = torch.ones_like(shear_x), torch.zeros_like(shear_x)
        return _affine_rows(ones, shear_x, zeros, shear_y, ones, zeros)


def _shear_range(name: str, factor: Any) -> tuple[float, float]:
    """A number `f` in [0, 1] means `(-f, f)`; a pair is a range within [-1, 1] (which also reads the
    `(-f, f)` pairs of Keras's own configs)."""
    if isinstance(factor, (tuple, list)):
        return factor_range("RandomShear", name, factor, -1.0, 1.0)
    return factor_range("RandomShear", name, factor, 0.0, 1.0)


class RandomPerspective(BaseImageAugmentationLayer):
    """Moves each image's four corners by random offsets (up to `scale / 2` of their coordinates) and
    warps the image accordingly, for a random fraction `factor` of the images; outside points get
    `fill_value`.

    Args:
        factor: the probability of transforming an image: a number `f` (a probability drawn in `[0, f]`
            per image) or a pair, within [0, 1].
        scale: the largest corner displacement, within [0, 1].
        interpolation: "bilinear" or "nearest".
        fill_value: the value outside the image.
        seed, data_format: as in `RandomRotation`.
    """

    def __init__(self, factor: Any = 1.0, scale: float = 1.0, interpolation: str = "bilinear",
                 fill_value: float = 0.0, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = factor_range("RandomPerspective", "factor", factor, 0.0, 1.0, symmetric=False)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0.0 <= scale <= 1.0:
            raise ValueError(f"RandomPerspective expected `scale` to be a number within [0, 1], received scale={scale!r}.")
        self.scale = scale
        self.interpolation = choice("RandomPerspective", "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_value = fill_value

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        batch, device = images.shape[0], images.device
        apply = coin(self.factor, batch, device, generator)
        offsets = uniform((batch, 4, 2), -0.5 * self.scale, 0.5 * self.scale, device, generator)
        height, width = self._size(images)
        start = torch.tensor([[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]], device=device)
        return apply, _homography(start.expand(batch, 4, 2), start + start * offsets)

    def _transform(self, images: torch.Tensor, params: tuple, interpolation: str) -> torch.Tensor:
        apply, matrix = params
        warped = _warp(images, matrix, interpolation, "constant", self.fill_value, self.data_format, projective=True)
        return torch.where(apply.view(-1, 1, 1, 1), warped, images)


def _homography(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """The 8 projective coefficients mapping each image's `end` corners to its `start` corners, as
    `ops.image.perspective_transform` computes them, solved with `solve_ex` (no check that waits for the
    device; four distinct corners always give a regular system)."""
    ex, ey, sx, sy = end[..., 0], end[..., 1], start[..., 0], start[..., 1]
    zeros, ones = torch.zeros_like(ex), torch.ones_like(ex)
    rows_x = torch.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], dim=-1)
    rows_y = torch.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], dim=-1)
    system = torch.stack([rows_x, rows_y], dim=-2).reshape(-1, 8, 8)
    target = torch.stack([sx, sy], dim=-1).reshape(-1, 8, 1)
    return torch.linalg.solve_ex(system, target)[0].squeeze(-1)


class RandomElasticTransform(BaseImageAugmentationLayer):
    """Distorts a random fraction `factor` of the images with a smooth random displacement field (Gaussian
    noise blurred by `sigma = 0.05 s min(H, W)` and scaled by `alpha = 0.1 s max(H, W)`, with the distortion
    `s` drawn from `scale` once per batch, as in Keras), then clips to `value_range`.

    Args:
        factor: the probability of distorting an image: a number `f` (a probability drawn in `[0, f]`) or a
            pair, within [0, 1].
        scale: the distortion strength: a number `s` (drawn in `[0, s]`) or a pair, within [0, 1].
        interpolation: "bilinear" or "nearest".
        fill_mode: "reflect", "wrap", "constant", "nearest" or "mirror".
        fill_value: the value outside the image with `fill_mode="constant"`.
        value_range: the `(min, max)` the outputs are clipped to.
        seed, data_format: as in `RandomRotation`.
    """

    def __init__(self, factor: Any = 1.0, scale: Any = 1.0, interpolation: str = "bilinear", fill_mode: str = "reflect",
                 fill_value: float = 0.0, value_range: Any = (0, 255), seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        name = "RandomElasticTransform"
        self.factor = factor_range(name, "factor", factor, 0.0, 1.0, symmetric=False)
        self.scale = factor_range(name, "scale", scale, 0.0, 1.0, symmetric=False)
        self.interpolation = choice(name, "interpolation", interpolation, _INTERPOLATIONS)
        self.fill_mode = choice(name, "fill_mode", fill_mode, (*_FILL_MODES, "mirror"))
        self.fill_value = fill_value
        self.value_range = value_range
        self._range = value_range_pair(name, value_range)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> Any:
        if self.scale[1] == 0 or self.factor[1] == 0:
            return None
        batch, device = images.shape[0], images.device
        apply = coin(self.factor, batch, device, generator)
        # The distortion sets the blur kernel's size, so it is drawn on the host (one number per batch).
        host = None if generator is None else torch.Generator().manual_seed(generator.initial_seed())
        distortion = self.scale[0] + (self.scale[1] - self.scale[0]) * float(torch.rand((), generator=host))
        height, width = self._size(images)
        alpha, sigma = max(height, width) * 0.1 * distortion, max(min(height, width) * 0.05 * distortion, 1e-6)
        noise = torch.randn((batch, 2, height, width), generator=generator, device=device) * sigma
        size = int(6 * sigma) | 1
        field = gaussian_blur(noise, (size, size), torch.full((batch, 2), sigma, device=device)) * alpha
        return apply, field.permute(0, 2, 3, 1)

    def _transform(self, images: torch.Tensor, params: Any, interpolation: str) -> torch.Tensor:
        if params is None:
            return images
        apply, field = params
        height, width = self._size(images)
        xs = torch.arange(width, device=images.device, dtype=field.dtype).view(1, 1, width)
        ys = torch.arange(height, device=images.device, dtype=field.dtype).view(1, height, 1)
        warped = _sample_at(images, xs + field[..., 0], ys + field[..., 1], interpolation, self.fill_mode,
                            self.fill_value, self.data_format)
        return torch.where(apply.view(-1, 1, 1, 1), warped, images).clamp(*self._range)


def _sample_at(images: torch.Tensor, source_x: torch.Tensor, source_y: torch.Tensor, interpolation: str,
               fill_mode: str, fill_value: float, data_format: str) -> torch.Tensor:
    """Read each output pixel at its source point `(source_x, source_y)` (each `(N, H, W)`), with Keras's
    fill modes: one `grid_sample` for bilinear reflect/nearest/constant, gathers otherwise."""
    nhwc = images if data_format == "channels_last" else images.permute(0, 2, 3, 1)
    height, width = nhwc.shape[1:3]
    if interpolation == "bilinear" and fill_mode in _GRID_SAMPLE_PADDING:
        grid = torch.stack([(2.0 * source_x + 1.0) / width - 1.0, (2.0 * source_y + 1.0) / height - 1.0], dim=-1)
        nchw = nhwc.permute(0, 3, 1, 2)
        out = torch.nn.functional.grid_sample(nchw, grid.to(nchw.dtype), mode="bilinear",
                                              padding_mode=_GRID_SAMPLE_PADDING[fill_mode], align_corners=False)
        if fill_mode == "constant" and fill_value != 0:
            inside = torch.nn.functional.grid_sample(torch.ones_like(nchw[:, :1]), grid.to(nchw.dtype),
                                                     mode="bilinear", padding_mode="zeros", align_corners=False)
            out = out + fill_value * (1.0 - inside)
        out = out.permute(0, 2, 3, 1)
    else:
        from ...ops.image import _sample

        out = _sample(nhwc, source_y, source_x, 0 if interpolation == "nearest" else 1, fill_mode, fill_value)
    return out if data_format == "channels_last" else out.permute(0, 3, 1, 2)


class RandomCrop(BaseImageAugmentationLayer):
    """Crops a random `(height, width)` window of each image in training (one batched gather, a window per
    image; Keras uses one window per batch). In training, an image not larger than the target on both axes
    gets the window Keras's code computes for it, resized bilinearly to the target. At inference it returns
    the largest centered window of the target aspect ratio resized bilinearly to the target, as Keras 3.15
    documents and declares as its output shape (its eager inference call returns the input unchanged
    instead; following the documentation keeps symbolic and eager shapes in agreement).

    Args:
        height, width: the output size.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height: int, width: int, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = positive_int("RandomCrop", "height", height)
        self.width = positive_int("RandomCrop", "width", width)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor | None:
        height, width = (images.shape[axis] for axis in self._spatial_axes)
        if height <= self.height or width <= self.width:
            return None
        draw = self._rand((images.shape[0], 2), images.device, generator)
        limits = torch.tensor([height - self.height + 1, width - self.width + 1], device=images.device)
        return (draw * limits).long()

    def _infer(self, images: torch.Tensor) -> torch.Tensor:
        from ...ops.image import resize

        return resize(images, (self.height, self.width), interpolation="bilinear", crop_to_aspect_ratio=True,
                      data_format=self.data_format)

    def _center(self, images: torch.Tensor) -> torch.Tensor:
        """Keras's training fallback: a target-size slice from the corner of its centered aspect-ratio
        window, resized to the target when the image is too small for it."""
        rows, cols = self._spatial_axes
        height, width = images.shape[rows], images.shape[cols]
        crop_height = max(min(height, int(float(width * self.height) / self.width)), 1)
        crop_width = max(min(width, int(float(height * self.width) / self.height)), 1)
        top, left = int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)
        images = images.narrow(rows, top, min(self.height, height - top)).narrow(cols, left, min(self.width, width - left))
        if (images.shape[rows], images.shape[cols]) == (self.height, self.width):
            return images
        from ...ops.image import resize

        return resize(images, (self.height, self.width), interpolation="bilinear", data_format=self.data_format)

    def _transform(self, images: torch.Tensor, starts: torch.Tensor | None, interpolation: str) -> torch.Tensor:
        if starts is None:
            return self._center(images)
        rows = starts[:, :1] + torch.arange(self.height, device=images.device)  # (N, height)
        cols = starts[:, 1:] + torch.arange(self.width, device=images.device)  # (N, width)
        index = torch.arange(images.shape[0], device=images.device)[:, None, None]
        if self.data_format == "channels_last":
            return images[index, rows[:, :, None], cols[:, None, :]]
        return images.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
