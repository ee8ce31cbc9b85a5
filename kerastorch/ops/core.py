"""A few Keras `ops` helpers, mapped straight to torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import config

__all__ = ['convert_to_tensor', 'convert_to_numpy', 'ones', 'zeros', 'full', 'ones_like', 'zeros_like', 'arange', 'shape', 'cast']


def _dtype(dtype: Any) -> torch.dtype:
    return config.standardize_dtype(dtype)


def convert_to_tensor(x: Any, dtype: Any = None) -> torch.Tensor:
    """A torch tensor from arrays, lists or tensors; float64 numpy becomes floatx like Keras."""
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(_dtype(dtype))
    array = np.asarray(x)
    if dtype is None and array.dtype == np.float64:
        dtype = config.floatx()
    tensor = torch.from_numpy(np.ascontiguousarray(array)) if array.dtype != object else torch.tensor(x)
    return tensor if dtype is None else tensor.to(_dtype(dtype))


def convert_to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def ones(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.ones(_shape(shape), dtype=_dtype(dtype))


def zeros(shape: Any, dtype: Any = None) -> torch.Tensor:
    return torch.zeros(_shape(shape), dtype=_dtype(dtype))


def full(shape: Any, fill_value: float, dtype: Any = None) -> torch.Tensor:
    return torch.full(_shape(shape), fill_value, dtype=_dtype(dtype))


def ones_like(x: torch.Tensor, dtype: Any = None) -> torch.Tensor:
    return torch.ones_like(x, dtype=None if dtype is None else _dtype(dtype))


def zeros_like(x: torch.Tensor, dtype: Any = None) -> torch.Tensor:
    return torch.zeros_like(x, dtype=None if dtype is None else _dtype(dtype))


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None) -> torch.Tensor:
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, step, dtype=None if dtype is None else _dtype(dtype))


def shape(x: Any) -> tuple:
    return tuple(x.shape)


def cast(x: torch.Tensor, dtype: Any) -> torch.Tensor:
    return x.to(_dtype(dtype))


def _shape(shape: Any) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, int) else tuple(shape)
