"""ImageNet helpers shared by the applications: class names for predictions, Keras's input scalings.

Class names come from timm (`timm.data.ImageNetInfo`), which ships them, so nothing is downloaded.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from .. import config

_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """The 1000 `(wordnet_id, short_name)` pairs in class-index order; names use underscores like Keras's."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return tuple(
        (info.index_to_label_name(i), info.index_to_description(i).split(",")[0].strip().replace(" ", "_"))
        for i in range(info.num_classes())
    )


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Top-`top` `(class_id, class_name, score)` per row of a `(batch, 1000)` prediction, best first."""
    if isinstance(preds, torch.Tensor):
        preds = preds.detach().float().cpu().numpy()
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "decode_predictions expects a batch of ImageNet predictions of shape (samples, 1000), "
            f"received shape {preds.shape}; pass the output of a 1000-class ImageNet model."
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"decode_predictions expects top to be a positive integer, received {top!r}.")
    classes = imagenet_classes()
    results = []
    for row in preds:
        best = np.argsort(row)[::-1][:top]
        results.append([(*classes[i], float(row[i])) for i in best])
    return results


def preprocess_input(x: Any, data_format: str | None = None, mode: str = "caffe") -> Any:
    """Keras's ImageNet input scalings of 0-255 RGB images.

    `"tf"`: to [-1, 1]; `"torch"`: to [0, 1] then ImageNet mean/std; `"caffe"`: RGB->BGR and the
    ImageNet BGR mean subtracted. Works on numpy arrays (returns a new float array) and tensors.
    """
    if mode not in ("tf", "torch", "caffe"):
        raise ValueError(f"preprocess_input: mode must be 'tf', 'torch' or 'caffe', received {mode!r}.")
    data_format = config.standardize_data_format(data_format)
    is_tensor = isinstance(x, torch.Tensor)
    if is_tensor:
        x = x if x.is_floating_point() else x.float()
    else:
        x = np.asarray(x)
        x = x.astype(config.floatx()) if not np.issubdtype(x.dtype, np.floating) else x.copy()
    if mode == "tf":
        return x / 127.5 - 1.0
    axis = -1 if data_format == "channels_last" else (-3 if x.ndim >= 3 else 0)
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "torch":
        mean, std = (_MEAN * 255).reshape(shape), (_STD * 255).reshape(shape)
    else:
        x = torch.flip(x, dims=(axis,)) if is_tensor else np.flip(x, axis=axis)
        mean, std = _CAFFE_MEAN_BGR.reshape(shape), np.ones(shape, dtype=np.float32)
    if is_tensor:
        mean = torch.as_tensor(mean, dtype=x.dtype, device=x.device)
        std = torch.as_tensor(std, dtype=x.dtype, device=x.device)
        return (x - mean) / std
    return ((x - mean) / std).astype(x.dtype)
