"""`kt.preprocessing.image`: the image file helpers of `kt.utils`, and `smart_resize`."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from ..utils.image_utils import array_to_img, img_to_array, load_img, save_img

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img", "smart_resize"]


def smart_resize(x: Any, size: Sequence[int], interpolation: str = "bilinear", data_format: str = "channels_last",
                 backend_module: Any = None) -> Any:
    """Resize an image (or a batch) to `size` without distortion: crop the largest centered window with the
    target aspect ratio, then resize it. A numpy input gives a numpy output, a tensor a tensor.

    Args:
        x: a 3-D image or a 4-D batch. size: `(height, width)`.
        interpolation: as `kt.ops.image.resize`. data_format: "channels_last" or "channels_first".
        backend_module: Keras's switch between backends; only None (torch) is accepted here.
    """
    from ..ops import image as image_ops

    if backend_module is not None:
        raise ValueError("smart_resize: backend_module selects a Keras backend; kerastorch runs on torch only, "
                         "so leave it as None.")
    if len(size) != 2:
        raise ValueError(f"smart_resize: size must be (height, width), received {size!r}.")
    if np.ndim(x) not in (3, 4):
        raise ValueError(f"smart_resize: expected a 3-D image or a 4-D batch, received shape {np.shape(x)}.")
    tensor = torch.as_tensor(x) if not isinstance(x, torch.Tensor) else x
    out = image_ops.resize(tensor, tuple(size), interpolation=interpolation, crop_to_aspect_ratio=True,
                           data_format=data_format)
    return out.cpu().numpy() if isinstance(x, np.ndarray) else out
