"""`kt.device`: Keras's device scope, on torch's default-device machinery."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from .layers.layer import build_device


@contextlib.contextmanager
def device(device_name: str) -> Iterator[None]:
    """Place the tensors and weights created inside the block on `device_name`, as `keras.device` does.

    Args:
        device_name: `"cpu"`, `"gpu"`, `"gpu:1"` (Keras's names; "gpu" means CUDA), or any torch
            device string such as `"cuda:0"` or `"meta"`.

    Layers built inside the block on real inputs still put their weights on the inputs' device.
    """
    if not isinstance(device_name, str):
        raise TypeError(f"kt.device expects a device name such as 'cpu' or 'gpu:0', received {device_name!r}.")
    name = device_name.lower()
    name = "cuda" + name[3:] if name.startswith("gpu") else name
    try:
        place = torch.device(name)
    except RuntimeError as error:
        raise ValueError(f"kt.device: {device_name!r} is not a device name; use 'cpu', 'gpu', 'gpu:0' or a torch device.") from error
    with torch.device(place), build_device(place):
        yield
