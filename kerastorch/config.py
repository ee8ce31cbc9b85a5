"""Global defaults, named as in Keras: image data format, float dtype and fuzz factor."""

from __future__ import annotations

import torch

_IMAGE_DATA_FORMAT = "channels_last"
_FLOATX = "float32"
_EPSILON = 1e-7


def image_data_format() -> str:
    """The default `data_format` of image layers ("channels_last", as in Keras)."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"set_image_data_format expected 'channels_last' or 'channels_first', received {data_format!r}."
        )
    _IMAGE_DATA_FORMAT = data_format


def floatx() -> str:
    """The default dtype of new weights, as a string ("float32")."""
    return _FLOATX


def set_floatx(dtype: str) -> None:
    global _FLOATX
    standardize_dtype(dtype)
    _FLOATX = str(dtype)


def epsilon() -> float:
    return _EPSILON


def set_epsilon(value: float) -> None:
    global _EPSILON
    _EPSILON = float(value)


def standardize_data_format(data_format: str | None) -> str:
    """Resolve `None` to the global default and reject unknown strings."""
    if data_format is None:
        return _IMAGE_DATA_FORMAT
    value = str(data_format).lower()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(
            f"data_format must be 'channels_last' or 'channels_first', received {data_format!r}."
        )
    return value


def standardize_dtype(dtype) -> torch.dtype:
    """Map Keras dtype strings ("float32", "bfloat16", ...) and torch dtypes to a torch dtype."""
    if dtype is None:
        dtype = _FLOATX
    if isinstance(dtype, torch.dtype):
        return dtype
    name = getattr(dtype, "name", dtype)  # numpy dtypes and dtype policies carry .name
    if isinstance(name, str) and name.startswith("mixed_"):
        return torch.float32
    result = getattr(torch, str(name), None)
    if not isinstance(result, torch.dtype):
        raise ValueError(f"Unknown dtype {dtype!r}; expected a name such as 'float32' or a torch.dtype.")
    return result


def dtype_name(dtype: torch.dtype) -> str:
    """Keras's spelling of a torch dtype: torch.float32 -> "float32"."""
    return str(dtype).removeprefix("torch.")
