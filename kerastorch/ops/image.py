"""Keras's `keras.ops.image` group over torch: resizing, geometric warps, colour conversion, patches,
blur/edges and SSIM, channels_last by default (`data_format` overrides).

Warps sample the input at computed coordinates with nearest (order 0) or bilinear (order 1)
interpolation; taps outside the image follow `fill_mode` like Keras ("constant" uses `fill_value`,
"nearest", "wrap", "mirror", "reflect").
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from .. import config
from ..random import torch_generator
from . import _dtypes
from .core import convert_to_tensor
from .nn import conv

_t = convert_to_tensor
Tensor = torch.Tensor

__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches", "extract_patches_3d", "gaussian_blur",
    "hsv_to_rgb", "map_coordinates", "pad_images", "perspective_transform", "resize", "rgb_to_grayscale",
    "rgb_to_hsv", "scale_and_translate", "sobel_edges", "ssim",
]

_ORDERS = {"nearest": 0, "bilinear": 1}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _images(images: Any, op: str) -> Tensor:
    images = _t(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"{op} expects a 3-D image or a 4-D batch of images, received shape {tuple(images.shape)}.")
    return images


def _nhwc(images: Tensor, data_format: str) -> tuple[Tensor, Callable[[Tensor], Tensor]]:
    """A 4-D channels_last view of `images` and the function that restores the caller's layout."""
    single = images.ndim == 3
    x = images.unsqueeze(0) if single else images
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)

    def restore(y: Tensor) -> Tensor:
        if data_format == "channels_first":
            y = y.permute(0, 3, 1, 2)
        return y.squeeze(0) if single else y

    return x, restore


def _interpolation(interpolation: str) -> int:
    if interpolation not in _ORDERS:
        raise ValueError(f"interpolation must be 'nearest' or 'bilinear', received {interpolation!r}.")
    return _ORDERS[interpolation]


def _fill_mode(fill_mode: str) -> str:
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"fill_mode must be one of {_FILL_MODES}, received {fill_mode!r}.")
    return fill_mode


# ---------------------------------------------------------------- colour

def rgb_to_grayscale(images: Any, data_format: str | None = None) -> Tensor:
    """Luma `0.2989 R + 0.587 G + 0.114 B`, keeping a channel axis of size 1."""
    data_format = config.standardize_data_format(data_format)
    images = _images(images, "rgb_to_grayscale")
    axis = -1 if data_format == "channels_last" else -3
    if images.shape[axis] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale expects 3 (RGB) or 1 channels, received shape {tuple(images.shape)}.")
    if images.shape[axis] == 1:
        return images.clone()
    r, g, b = images.unbind(axis)
    return (0.2989 * r + 0.587 * g + 0.114 * b).to(images.dtype).unsqueeze(axis)


def _float_images(images: Any, op: str) -> Tensor:
    images = _images(images, op)
    if not images.is_floating_point():
        raise ValueError(f"{op} expects float images, received dtype {_dtypes.name(images.dtype)}; cast them first.")
    return images


def rgb_to_hsv(images: Any, data_format: str | None = None) -> Tensor:
    """RGB in [0, 1] to hue, saturation, value in [0, 1]."""
    data_format = config.standardize_data_format(data_format)
    images = _float_images(images, "rgb_to_hsv")
    axis = -1 if data_format == "channels_last" else -3
    images = torch.where(images.abs() < torch.finfo(images.dtype).eps, torch.zeros_like(images), images)
    r, g, b = images.unbind(axis)
    value = torch.maximum(torch.maximum(r, g), b)
    spread = value - torch.minimum(torch.minimum(r, g), b)
    one = torch.ones_like(value)
    saturation = torch.where(value > 0, spread / torch.where(value > 0, value, one), torch.zeros_like(value))
    norm = 1.0 / (6.0 * torch.where(spread > 0, spread, one))
    hue = torch.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = torch.where(value == r, norm * (g - b), hue)
    hue = torch.where(spread > 0, hue, torch.zeros_like(hue)) + (hue < 0).to(hue.dtype)
    return torch.stack((hue, saturation, value), dim=axis)


def hsv_to_rgb(images: Any, data_format: str | None = None) -> Tensor:
    """Hue, saturation, value in [0, 1] to RGB."""
    data_format = config.standardize_data_format(data_format)
    images = _float_images(images, "hsv_to_rgb")
    axis = -1 if data_format == "channels_last" else -3
    hue, saturation, value = images.unbind(axis)
    sector = torch.remainder(hue, 1.0) * 6.0
    red = torch.clamp((sector - 3.0).abs() - 1.0, 0.0, 1.0)
    green = torch.clamp(2.0 - (sector - 2.0).abs(), 0.0, 1.0)
    blue = torch.clamp(2.0 - (sector - 4.0).abs(), 0.0, 1.0)
    grey = 1.0 - saturation
    return torch.stack([value * (grey + saturation * c) for c in (red, green, blue)], dim=axis)


# ---------------------------------------------------------------- resizing

_RESIZE_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact", "bicubic": "bicubic", "area": "area"}


def resize(images: Any, size: Sequence[int], interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False, fill_mode: str = "constant",
           fill_value: float = 0.0, data_format: str | None = None) -> Tensor:
    """Resize to `size = (height, width)`.

    Args:
        interpolation: "bilinear", "nearest", "bicubic", "area" (mean of each block; the size must divide
            the input's), "lanczos3" or "lanczos5".
        antialias: low-pass filter when downsampling (bilinear, bicubic and lanczos).
        crop_to_aspect_ratio / pad_to_aspect_ratio: first crop (centered) or pad (with `fill_value`,
            `fill_mode="constant"`) to the target aspect ratio, so nothing is distorted.
    """
    data_format = config.standardize_data_format(data_format)
    if len(size) != 2:
        raise ValueError(f"resize: size must be (height, width), received {size!r}.")
    if interpolation not in _RESIZE_MODES and interpolation not in ("lanczos3", "lanczos5"):
        raise ValueError(f"resize: interpolation must be one of {sorted(_RESIZE_MODES) + ['lanczos3', 'lanczos5']}, "
                         f"received {interpolation!r}.")
    if fill_mode != "constant":
        raise ValueError(f"resize: fill_mode must be 'constant', received {fill_mode!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: pass only one of crop_to_aspect_ratio and pad_to_aspect_ratio.")
    images = _images(images, "resize")
    dtype = images.dtype
    x, restore = _nhwc(images, data_format)
    x = x.permute(0, 3, 1, 2)
    if not x.is_floating_point() or x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    height, width = x.shape[-2:]
    target_h, target_w = int(size[0]), int(size[1])
    if crop_to_aspect_ratio:
        crop_h = max(min(height, int(width * target_h / target_w)), 1)
        crop_w = max(min(width, int(height * target_w / target_h)), 1)
        top, left = int((height - crop_h) / 2), int((width - crop_w) / 2)
        x = x[:, :, top:top + crop_h, left:left + crop_w]
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(width * target_h / target_w))
        pad_w = max(width, int(height * target_w / target_h))
        top, left = int((pad_h - height) / 2), int((pad_w - width) / 2)
        x = F.pad(x, (left, left, top, top), value=fill_value)
    if interpolation.startswith("lanczos"):
        in_h, in_w = x.shape[-2:]
        scale = torch.tensor([target_h / in_h, target_w / in_w], dtype=x.dtype)
        out = scale_and_translate(x, (x.shape[0], x.shape[1], target_h, target_w), scale, torch.zeros(2, dtype=x.dtype),
                                  (2, 3), interpolation, antialias=antialias)
    else:
        if interpolation == "area" and (x.shape[-2] % target_h or x.shape[-1] % target_w):
            raise NotImplementedError(f"resize: interpolation='area' needs sizes that divide the input's "
                                      f"{tuple(x.shape[-2:])} (fractional area weights are not implemented); "
                                      f"received size={tuple(size)}.")
        mode = _RESIZE_MODES[interpolation]
        smooth = interpolation in ("bilinear", "bicubic")
        out = F.interpolate(x, size=(target_h, target_w), mode=mode, align_corners=False if smooth else None,
                            antialias=antialias and smooth)
    if interpolation == "bicubic" and dtype == torch.uint8:
        out = out.clamp(0, 255)
    if not dtype.is_floating_point:
        out = torch.round(out)
    return restore(out.permute(0, 2, 3, 1).to(dtype))


def _kernel(method: str) -> Callable[[Tensor], Tensor]:
    if method in ("linear", "bilinear", "trilinear", "triangle"):
        return lambda x: torch.clamp(1 - x.abs(), min=0)
    if method in ("cubic", "bicubic", "tricubic"):
        def keys(x: Tensor) -> Tensor:  # Keys cubic with a = -0.5
            x = x.abs()
            near = ((1.5 * x - 2.5) * x) * x + 1.0
            far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
            return torch.where(x >= 2.0, torch.zeros_like(x), torch.where(x >= 1.0, far, near))
        return keys
    if method in ("lanczos3", "lanczos5"):
        radius = 3.0 if method == "lanczos3" else 5.0

        def lanczos(x: Tensor) -> Tensor:
            x = x.abs()
            y = radius * torch.sin(math.pi * x) * torch.sin(math.pi * x / radius)
            out = torch.where(x > 1e-3, y / torch.where(x != 0, math.pi ** 2 * x * x, torch.ones_like(x)),
                              torch.ones_like(x))
            return torch.where(x > radius, torch.zeros_like(x), out)
        return lanczos
    raise ValueError(f"scale_and_translate: method must be linear, bilinear, trilinear, cubic, bicubic, tricubic, "
                     f"lanczos3 or lanczos5, received {method!r}.")


def _weights(in_size: int, out_size: int, scale: Tensor, shift: Tensor, kernel: Callable, antialias: bool) -> Tensor:
    """(in_size, out_size) resampling weights: each output sample's kernel taps over input positions."""
    inv = 1.0 / scale
    stretch = torch.clamp(inv, min=1.0) if antialias else torch.ones_like(inv)
    centers = (torch.arange(out_size, dtype=scale.dtype, device=scale.device) + 0.5) * inv - shift * inv - 0.5
    distance = (centers[None, :] - torch.arange(in_size, dtype=scale.dtype, device=scale.device)[:, None]).abs()
    w = kernel(distance / stretch)
    total = w.sum(dim=0, keepdim=True)
    w = torch.where(total.abs() > 1000.0 * torch.finfo(torch.float32).eps,
                    w / torch.where(total != 0, total, torch.ones_like(total)), torch.zeros_like(w))
    inside = (centers >= -0.5) & (centers <= in_size - 0.5)
    return torch.where(inside[None, :], w, torch.zeros_like(w))


def scale_and_translate(images: Any, output_shape: Sequence[int], scale: Any, translation: Any,
                        spatial_dims: Sequence[int], method: str, antialias: bool = True) -> Tensor:
    """Resample `spatial_dims` of `images` to `output_shape`: output pixel centers map to input
    `(out + 0.5 - translation) / scale - 0.5`, weighted by the `method` kernel (widened when
    `antialias` and downscaling). Integer images are rounded and clipped to their input range."""
    kernel = _kernel(method)
    x = _t(images)
    scale, translation = _t(scale), _t(translation)
    dtype = _dtypes.promote(scale.dtype, translation.dtype)
    scale, translation = scale.to(x.device, dtype), translation.to(x.device, dtype)
    integer = not x.is_floating_point()
    out = x.float() if integer else x.clone()
    for i, d in enumerate(spatial_dims):
        d = d % x.ndim
        w = _weights(x.shape[d], int(output_shape[d]), scale[i], translation[i], kernel, antialias).to(out.dtype)
        out = torch.movedim(torch.tensordot(out, w, dims=([d], [0])), -1, d)
    if integer:
        out = torch.clamp(torch.round(out), x.min(), x.max()).to(x.dtype)
    return out


# ---------------------------------------------------------------- sampling and warps

def _fix_index(index: Tensor, size: int, fill_mode: str) -> Tensor:
    """An integer tap index brought inside `[0, size)` by the fill mode's rule."""
    if fill_mode == "wrap":
        return torch.remainder(index, size)
    if fill_mode == "mirror":
        period = max(size - 1, 1)
        return (torch.remainder(index + period, 2 * period) - period).abs() if size > 1 else torch.zeros_like(index)
    if fill_mode == "reflect":
        doubled = 2 * index + 1
        period = 2 * size
        return torch.div((torch.remainder(doubled + period, 2 * period) - period).abs() - 1, 2, rounding_mode="floor")
    return torch.clamp(index, 0, size - 1)


def _taps(coordinate: Tensor, order: int) -> list[tuple[Tensor, Any]]:
    if order == 0:
        rounded = coordinate if not coordinate.is_floating_point() else torch.round(coordinate)
        return [(rounded.long(), None)]
    lower = torch.floor(coordinate)
    upper_weight = coordinate - lower
    return [(lower.long(), 1 - upper_weight), (lower.long() + 1, upper_weight)]


def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant", fill_value: float = 0) -> Tensor:
    """`inputs` sampled at `coordinates` (one array per input axis), nearest (`order=0`) or linear (`order=1`)."""
    x = _t(inputs)
    coords = [_t(c).to(x.device) for c in coordinates]
    if len(coords) != x.ndim:
        raise ValueError(f"map_coordinates: pass one coordinate array per input axis ({x.ndim}), received {len(coords)}.")
    if coords[0].ndim < 1:
        raise ValueError("map_coordinates: coordinates must be at least 2-D (axes first).")
    if order not in (0, 1):
        raise NotImplementedError(f"map_coordinates supports order 0 (nearest) and 1 (linear), received order={order}.")
    fill_mode = _fill_mode(fill_mode)
    integer = not (x.is_floating_point() or x.is_complex())
    if integer and isinstance(fill_value, float):
        fill_value = int(fill_value)
    per_axis = []
    for coordinate, size in zip(coords, x.shape):
        entries = []
        for index, weight in _taps(coordinate, order):
            valid = (index >= 0) & (index < size) if fill_mode == "constant" else None
            entries.append((_fix_index(index, size, fill_mode), valid, weight))
        per_axis.append(entries)
    result = None
    for combo in itertools.product(*per_axis):
        indices = tuple(e[0] for e in combo)
        value = x[indices]
        valids = [e[1] for e in combo if e[1] is not None]
        if valids:
            value = torch.where(torch.stack(valids).all(0), value, torch.as_tensor(fill_value, dtype=value.dtype, device=value.device))
        weights = [e[2] for e in combo if e[2] is not None]
        term = value
        for w in weights:
            term = term * w
        result = term if result is None else result + term
    if integer and result.is_floating_point():
        result = torch.round(result)
    return result.to(x.dtype)


def _sample(images: Tensor, y: Tensor, x: Tensor, order: int, fill_mode: str, fill_value: float) -> Tensor:
    """Batched 2-D sampling: `images` (N, H, W, C) read at per-pixel coordinates `y`, `x` of shape (N, h, w)."""
    n, height, width, channels = images.shape
    batch = torch.arange(n, device=images.device).reshape(n, 1, 1)
    out = None
    for (yi, wy), (xi, wx) in itertools.product(_taps(y, order), _taps(x, order)):
        value = images[batch, _fix_index(yi, height, fill_mode), _fix_index(xi, width, fill_mode)]
        if fill_mode == "constant":
            valid = (yi >= 0) & (yi < height) & (xi >= 0) & (xi < width)
            value = torch.where(valid[..., None], value, torch.as_tensor(fill_value, dtype=value.dtype, device=value.device))
        if wy is not None:
            value = value * (wy * wx)[..., None]
        out = value if out is None else out + value
    return out


def _grid(batch: int, height: int, width: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    ys = torch.arange(height, dtype=dtype, device=device).reshape(1, height, 1).expand(batch, height, width)
    xs = torch.arange(width, dtype=dtype, device=device).reshape(1, 1, width).expand(batch, height, width)
    return ys, xs


def _finish(images: Tensor, out: Tensor) -> Tensor:
    if not images.is_floating_point() and out.is_floating_point():
        out = torch.round(out)
    return out.to(images.dtype)


def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: float = 0, data_format: str | None = None) -> Tensor:
    """Warp by projective transforms `[a0, a1, a2, b0, b1, b2, c0, c1]` (one, or one per image): output
    pixel (x, y) reads input `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1`."""
    data_format = config.standardize_data_format(data_format)
    order, fill_mode = _interpolation(interpolation), _fill_mode(fill_mode)
    images = _images(images, "affine_transform")
    transform = _t(transform)
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(f"affine_transform: transform must have shape (8,) or (batch, 8), received {tuple(transform.shape)}.")
    x, restore = _nhwc(images, data_format)
    transform = transform.to(x.device).reshape(-1, 8)
    dtype = transform.dtype if transform.is_floating_point() else torch.float32
    transform = transform.to(dtype).expand(x.shape[0], 8)
    ys, xs = _grid(x.shape[0], x.shape[1], x.shape[2], dtype, x.device)
    a0, a1, a2, b0, b1, b2, c0, c1 = (transform[:, i].reshape(-1, 1, 1) for i in range(8))
    k = c0 * xs + c1 * ys + 1
    source_x = (a0 * xs + a1 * ys + a2) / k
    source_y = (b0 * xs + b1 * ys + b2) / k
    return restore(_finish(x, _sample(x, source_y, source_x, order, fill_mode, fill_value)))


def _homography(start: Tensor, end: Tensor) -> Tensor:
    """The 8 projective coefficients mapping each `end` corner to its `start` corner (4 point pairs)."""
    ex, ey, sx, sy = end[..., 0], end[..., 1], start[..., 0], start[..., 1]
    zeros, ones = torch.zeros_like(ex), torch.ones_like(ex)
    rows_x = torch.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], dim=-1)
    rows_y = torch.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], dim=-1)
    system = torch.stack([rows_x, rows_y], dim=-2).reshape(*start.shape[:-2], 8, 8)
    target = torch.stack([sx, sy], dim=-1).reshape(*start.shape[:-2], 8, 1)
    return torch.linalg.solve(system, target).squeeze(-1)


def perspective_transform(images: Any, start_points: Any, end_points: Any, interpolation: str = "bilinear",
                          fill_value: float = 0, data_format: str | None = None) -> Tensor:
    """Warp so that the four `start_points` (x, y) move to `end_points` (shape (4, 2) or (batch, 4, 2))."""
    data_format = config.standardize_data_format(data_format)
    order = _interpolation(interpolation)
    images = _images(images, "perspective_transform")
    dtype = images.dtype if images.is_floating_point() else torch.float32
    start, end = _t(start_points).to(images.device, dtype), _t(end_points).to(images.device, dtype)
    for name, points in (("start_points", start), ("end_points", end)):
        if points.shape[-2:] != (4, 2) or points.ndim not in (2, 3):
            raise ValueError(f"perspective_transform: {name} must have shape (4, 2) or (batch, 4, 2), received {tuple(points.shape)}.")
    if start.shape != end.shape:
        raise ValueError(f"perspective_transform: start_points {tuple(start.shape)} and end_points {tuple(end.shape)} differ in shape.")
    x, restore = _nhwc(images, data_format)
    coefficients = _homography(start.reshape(-1, 4, 2).float(), end.reshape(-1, 4, 2).float()).to(dtype)
    coefficients = coefficients.expand(x.shape[0], 8)
    ys, xs = _grid(x.shape[0], x.shape[1], x.shape[2], dtype, x.device)
    a = [coefficients[:, i].reshape(-1, 1, 1) for i in range(8)]
    denominator = a[6] * xs + a[7] * ys + 1.0
    source_x = (a[0] * xs + a[1] * ys + a[2]) / denominator
    source_y = (a[3] * xs + a[4] * ys + a[5]) / denominator
    return restore(_finish(x, _sample(x, source_y, source_x, order, "constant", fill_value)))


def gaussian_blur(images: Any, kernel_size: Any = (3, 3), sigma: Any = (1.0, 1.0), data_format: str | None = None) -> Tensor:
    """Blur each channel with a `kernel_size = (height, width)` Gaussian of standard deviations `sigma`."""
    data_format = config.standardize_data_format(data_format)
    images = _images(images, "gaussian_blur")
    kh, kw = (int(kernel_size), int(kernel_size)) if isinstance(kernel_size, int) else (int(kernel_size[0]), int(kernel_size[1]))
    sigmas = _t(sigma).to(images.device, images.dtype).reshape(-1).expand(2)
    x, restore = _nhwc(images, data_format)
    x = x.permute(0, 3, 1, 2)

    def gauss(size: int, s: Tensor) -> Tensor:
        offsets = torch.arange(size, dtype=images.dtype, device=images.device) - (size - 1) / 2
        g = torch.exp(-0.5 * (offsets / s) ** 2)
        return g / g.sum()

    kernel = torch.outer(gauss(kh, sigmas[0]), gauss(kw, sigmas[1]))
    channels = x.shape[1]
    out = F.conv2d(x, kernel.expand(channels, 1, kh, kw), padding=(kh // 2, kw // 2), groups=channels)
    return restore(out.permute(0, 2, 3, 1))


def elastic_transform(images: Any, alpha: float = 20.0, sigma: float = 5.0, interpolation: str = "bilinear",
                      fill_mode: str = "reflect", fill_value: float = 0.0, seed: Any = None,
                      data_format: str | None = None) -> Tensor:
    """Random elastic distortion: Gaussian noise displacements (std 1), blurred with `sigma` and scaled by
    `alpha`, then a resampling. An int `seed` or a `kt.random.SeedGenerator` makes it reproducible; None
    draws from torch's global generator (as Keras's torch backend does)."""
    data_format = config.standardize_data_format(data_format)
    order, fill_mode = _interpolation(interpolation), _fill_mode(fill_mode)
    images = _images(images, "elastic_transform")
    x, restore = _nhwc(images, data_format)
    batch, height, width, _ = x.shape
    dtype = x.dtype if x.is_floating_point() else torch.float32
    generator = None if seed is None else torch_generator(seed, x.device)
    sigma_t = _t(sigma).to(x.device, dtype)
    size = int(6 * float(sigma)) | 1
    shifts = []
    for _ in range(2):
        noise = torch.normal(0.0, 1.0, size=(batch, height, width), generator=generator, dtype=dtype, device=x.device)
        shifts.append(gaussian_blur((noise * sigma_t).unsqueeze(-1), (size, size), (sigma_t, sigma_t),
                                    data_format="channels_last").squeeze(-1))
    ys, xs = _grid(batch, height, width, dtype, x.device)
    out = _sample(x.to(dtype), ys + alpha * shifts[1], xs + alpha * shifts[0], order, fill_mode, fill_value)
    return restore(_finish(x, out))


# ---------------------------------------------------------------- patches, crops and pads

def _patches(images: Tensor, size: tuple, strides: Any, dilation_rate: Any, padding: str, data_format: str) -> Tensor:
    """Patches as channels, by a convolution with an identity kernel (exact: one nonzero tap per output)."""
    single = images.ndim == len(size) + 1
    x = images.unsqueeze(0) if single else images
    channels = x.shape[-1] if data_format == "channels_last" else x.shape[1]
    depth = math.prod(size) * channels
    kernel = torch.eye(depth, dtype=x.dtype, device=x.device).reshape(*size, channels, depth)
    out = conv(x, kernel, strides=size if strides is None else strides, padding=padding, data_format=data_format,
               dilation_rate=dilation_rate)
    return out.squeeze(0) if single else out


def extract_patches(images: Any, size: Any, strides: Any = None, dilation_rate: Any = 1, padding: str = "valid",
                    data_format: str | None = None) -> Tensor:
    """Each `size` patch flattened into the channel axis `(patch_row, patch_col, channel)`; a 3-tuple
    `size` works on volumes like `extract_patches_3d`."""
    if not isinstance(size, int):
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"extract_patches: size must be an int or a tuple, received {type(size).__name__}.")
        if len(size) == 3:
            return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
        if len(size) != 2:
            raise ValueError(f"extract_patches: size must have 2 (or 3) values, received {size!r}.")
    data_format = config.standardize_data_format(data_format)
    size = (size, size) if isinstance(size, int) else tuple(size)
    return _patches(_t(images), size, strides, dilation_rate, padding, data_format)


def extract_patches_3d(volumes: Any, size: Any, strides: Any = None, dilation_rate: Any = 1, padding: str = "valid",
                       data_format: str | None = None) -> Tensor:
    """Each `size` 3-D patch of `volumes` flattened into the channel axis."""
    data_format = config.standardize_data_format(data_format)
    size = (size,) * 3 if isinstance(size, int) else tuple(size)
    if len(size) != 3:
        raise TypeError(f"extract_patches_3d: size must be an int or 3 ints, received {size!r}.")
    return _patches(_t(volumes), size, strides, dilation_rate, padding, data_format)


def _two_of_three(first: Any, second: Any, total: Any, names: tuple, op: str) -> None:
    if [first, second, total].count(None) != 1:
        raise ValueError(f"{op}: pass exactly two of {', '.join(names)}; received "
                         f"{names[0]}={first}, {names[1]}={second}, {names[2]}={total}.")
    for name, value in zip(names, (first, second, total)):
        if value is not None and value < 0:
            raise ValueError(f"{op}: {name} must be >= 0, received {value}.")


def _hw_axes(images: Tensor, data_format: str) -> tuple[int, int]:
    return (images.ndim - 3, images.ndim - 2) if data_format == "channels_last" else (images.ndim - 2, images.ndim - 1)


def pad_images(images: Any, top_padding: int | None = None, left_padding: int | None = None,
               bottom_padding: int | None = None, right_padding: int | None = None, target_height: int | None = None,
               target_width: int | None = None, data_format: str | None = None) -> Tensor:
    """Zero-pad images; per axis give two of (top, bottom, target_height) and of (left, right, target_width)."""
    data_format = config.standardize_data_format(data_format)
    images = _images(images, "pad_images")
    _two_of_three(top_padding, bottom_padding, target_height, ("top_padding", "bottom_padding", "target_height"), "pad_images")
    _two_of_three(left_padding, right_padding, target_width, ("left_padding", "right_padding", "target_width"), "pad_images")
    h_axis, w_axis = _hw_axes(images, data_format)
    height, width = images.shape[h_axis], images.shape[w_axis]
    top = target_height - bottom_padding - height if top_padding is None else top_padding
    bottom = target_height - top - height if bottom_padding is None else bottom_padding
    left = target_width - right_padding - width if left_padding is None else left_padding
    right = target_width - left - width if right_padding is None else right_padding
    for name, value in (("top_padding", top), ("bottom_padding", bottom), ("left_padding", left), ("right_padding", right)):
        if value < 0:
            raise ValueError(f"pad_images: {name} must be >= 0 but the target size makes it {value}.")
    pads = [0, 0] * images.ndim
    for axis, (before, after) in ((h_axis, (top, bottom)), (w_axis, (left, right))):
        pads[2 * (images.ndim - 1 - axis)] = before
        pads[2 * (images.ndim - 1 - axis) + 1] = after
    return F.pad(images, pads)


def crop_images(images: Any, top_cropping: int | None = None, left_cropping: int | None = None,
                bottom_cropping: int | None = None, right_cropping: int | None = None, target_height: int | None = None,
                target_width: int | None = None, data_format: str | None = None) -> Tensor:
    """Crop images; per axis give two of (top, bottom, target_height) and of (left, right, target_width)."""
    data_format = config.standardize_data_format(data_format)
    images = _images(images, "crop_images")
    _two_of_three(top_cropping, bottom_cropping, target_height, ("top_cropping", "bottom_cropping", "target_height"), "crop_images")
    _two_of_three(left_cropping, right_cropping, target_width, ("left_cropping", "right_cropping", "target_width"), "crop_images")
    h_axis, w_axis = _hw_axes(images, data_format)
    height, width = images.shape[h_axis], images.shape[w_axis]
    top = height - target_height - bottom_cropping if top_cropping is None else top_cropping
    out_h = height - bottom_cropping - top if target_height is None else target_height
    left = width - target_width - right_cropping if left_cropping is None else left_cropping
    out_w = width - right_cropping - left if target_width is None else target_width
    for name, value in (("top_cropping", top), ("target_height", out_h), ("left_cropping", left), ("target_width", out_w)):
        if value < 0:
            raise ValueError(f"crop_images: {name} must be >= 0 but the arguments make it {value}.")
    return images.narrow(h_axis, top, out_h).narrow(w_axis, left, out_w)


# ---------------------------------------------------------------- filters and metrics

def sobel_edges(images: Any, data_format: str | None = None) -> Tensor:
    """Sobel gradients per channel, stacked last as (d/dy, d/dx), zero padding at the borders."""
    data_format = config.standardize_data_format(data_format)
    images = _t(images)
    x = images.permute(0, 3, 1, 2) if data_format == "channels_last" else images
    channels = x.shape[1]
    sx = torch.tensor([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype, device=x.device)
    kernels = torch.stack([sx.T, sx]).unsqueeze(1).repeat(channels, 1, 1, 1)  # per channel: (y, x)
    edges = F.conv2d(x, kernels, padding=1, groups=channels)
    edges = edges.reshape(x.shape[0], channels, 2, *x.shape[2:]).movedim(2, -1)
    return edges.permute(0, 2, 3, 1, 4) if data_format == "channels_last" else edges


def ssim(image1: Any, image2: Any, max_val: float = 1.0, filter_size: int = 11, filter_sigma: float = 1.5,
         k1: float = 0.01, k2: float = 0.03, data_format: str | None = None) -> Tensor:
    """Structural similarity per image (mean over channels and valid Gaussian windows)."""
    data_format = config.standardize_data_format(data_format)
    a, b = _images(image1, "ssim"), _images(image2, "ssim")
    dtype = a.dtype
    compute = _dtypes.promote(dtype, float)
    single = a.ndim == 3
    if single:
        a, b = a.unsqueeze(0), b.unsqueeze(0)
    if data_format == "channels_last":
        a, b = a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2)
    batch, channels, height, width = a.shape
    a = a.to(compute).reshape(batch * channels, 1, height, width)
    b = b.to(compute).reshape(batch * channels, 1, height, width)
    offsets = torch.arange(filter_size, dtype=compute, device=a.device) - (filter_size - 1) / 2.0
    g = torch.exp(-(offsets ** 2) / (2.0 * filter_sigma ** 2))
    g = g / g.sum()
    window = torch.outer(g, g)[None, None]
    blur = lambda v: F.conv2d(v, window)
    mu1, mu2 = blur(a), blur(b)
    var1, var2, cov = blur(a * a) - mu1 * mu1, blur(b * b) - mu2 * mu2, blur(a * b) - mu1 * mu2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    index = ((2 * mu1 * mu2 + c1) * (2 * cov + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (var1 + var2 + c2))
    result = index.mean(dim=(1, 2, 3)).reshape(batch, channels).mean(-1)
    return (result.squeeze(0) if single else result).to(dtype)
