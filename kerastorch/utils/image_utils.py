"""`kt.utils.load_img`, `img_to_array`, `array_to_img`, `save_img`: Keras's Pillow image helpers.

They return the same Pillow images and numpy arrays as Keras's; torch tensors are accepted wherever
Keras takes an array.
"""

from __future__ import annotations

import io
import pathlib
import warnings
from typing import Any, Sequence

import numpy as np
import torch

from .. import config
from .image_dataset import convert_mode, pil_image

_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _as_numpy(x: Any, dtype: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True, dtype: str | None = None) -> Any:
    """A 3-D image array (or tensor) as a Pillow image.

    Args:
        x: `(height, width, channels)` (or channels first) with 1, 3 or 4 channels.
        data_format: "channels_last" or "channels_first" (default: `kt.config.image_data_format()`).
        scale: stretch the values to span [0, 255] first (min to 0, max to 255).
        dtype: dtype the array is read as (default: `kt.config.floatx()`).
    """
    data_format = config.standardize_data_format(data_format)
    x = _as_numpy(x, dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError(f"array_to_img expects a single image of rank 3, received an array of shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x /= top
        x *= 255
    Image = pil_image()
    channels = x.shape[2]
    if channels in (3, 4):
        return Image.fromarray(x.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(x) > 255:  # beyond 8 bits: a 32-bit integer grey image (Pillow mode "I")
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img expects 1, 3 or 4 channels, received an image of shape {x.shape} "
                     f"({data_format}).")


def img_to_array(img: Any, data_format: str | None = None, dtype: str | None = None) -> np.ndarray:
    """A Pillow image as a 3-D numpy array, `(height, width, channels)` or channels first.

    Args:
        img: a Pillow image (or anything numpy reads as a 2-D or 3-D array).
        data_format: "channels_last" or "channels_first" (default: `kt.config.image_data_format()`).
        dtype: the array's dtype (default: `kt.config.floatx()`).
    """
    data_format = config.standardize_data_format(data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 2:
        x = x[None] if data_format == "channels_first" else x[:, :, None]
    elif x.ndim == 3:
        if data_format == "channels_first":
            x = x.transpose(2, 0, 1)
    else:
        raise ValueError(f"img_to_array expects a 2-D or 3-D image, received shape {x.shape}.")
    return x


def save_img(path: Any, x: Any, data_format: str | None = None, file_format: str | None = None, scale: bool = True,
             **kwargs: Any) -> None:
    """Write an image array to a file path or file object with Pillow.

    Args:
        path: a path or a writable binary file object.
        x: the image array (see `array_to_img`).
        data_format: "channels_last" or "channels_first" (default: `kt.config.image_data_format()`).
        file_format: "png", "jpeg", ...; default from the path's extension (needed for file objects).
        scale: stretch the values to span [0, 255] first.
        **kwargs: passed on to `PIL.Image.Image.save` (e.g. `quality=95`).
    """
    data_format = config.standardize_data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG cannot store an alpha channel; saving the image as RGB.", stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path: Any, color_mode: str = "rgb", target_size: Sequence[int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """Read an image file into a Pillow image, converted and optionally resized.

    Args:
        path: a path (str, bytes, `pathlib.Path`) or an `io.BytesIO`.
        color_mode: "grayscale", "rgb" or "rgba".
        target_size: `(height, width)` to resize to, or None to keep the file's size.
        interpolation: Pillow resampling: "nearest", "bilinear", "bicubic", "hamming", "box" or "lanczos".
        keep_aspect_ratio: resize the largest centred crop of the target aspect ratio (no distortion).
    """
    Image = pil_image()
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as f:  # read whole, so no file handle outlives the call
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img expects a path or an io.BytesIO, received {type(path).__name__}.")
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(f"load_img: `color_mode` must be 'grayscale', 'rgb' or 'rgba', received {color_mode!r}.")
    img = convert_mode(img, color_mode)
    if target_size is None:
        return img
    size = (int(target_size[1]), int(target_size[0]))  # Pillow sizes are (width, height)
    if img.size == size:
        return img
    if interpolation not in _RESAMPLING:
        raise ValueError(f"load_img: `interpolation` must be one of {', '.join(_RESAMPLING)}, "
                         f"received {interpolation!r}.")
    resample = getattr(Image.Resampling, interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, (width * size[1]) // size[0])
    crop_w = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=(left, top, left + crop_w, top + crop_h))
