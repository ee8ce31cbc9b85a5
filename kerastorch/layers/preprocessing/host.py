"""Shared by the preprocessing layers: inputs of the string layers (hashing, lookups, text) are gathered
on the host as numpy arrays (text as Python `str`), outputs go back to the device the input came from;
and `adapt()` data is read batch by batch."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch

from ..layer import Layer


class HostLayer(Layer):
    """A layer whose numpy string inputs reach `forward` unchanged (torch has no string tensors)."""

    def _arrays_as_tensors(self, inputs: Any) -> Any:
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "USO":
            return inputs
        return super()._arrays_as_tensors(inputs)


def host_array(inputs: Any, encoding: str = "utf-8") -> tuple[np.ndarray, torch.device]:
    """`inputs` (a tensor, array, list or scalar) as a numpy array, text as `str` objects, and the device
    the layer's output should go to (the input tensor's, else the CPU)."""
    if isinstance(inputs, torch.Tensor):
        return inputs.detach().cpu().numpy(), inputs.device
    array = np.asarray(inputs)
    if array.dtype.kind in "SUO":
        array = np.vectorize(lambda v: v.decode(encoding) if isinstance(v, bytes) else v, otypes=[object])(array) \
            if array.size else array.astype(object)
    return array, torch.device("cpu")


def is_text(array: np.ndarray) -> bool:
    return array.dtype.kind == "O" or array.dtype.kind in "SU"


def batches(data: Any) -> Iterable[Any]:
    """The batches of `adapt()` data that is not one array: a DataLoader or any iterable of batches, or a
    sequence such as a PyDataset (`len` and indexing); `(x, y, ...)` batches contribute their `x` (a
    DataLoader collates those into lists)."""
    if hasattr(data, "__len__") and hasattr(data, "__getitem__") and not hasattr(data, "__iter__"):
        data = (data[i] for i in range(len(data)))
    for batch in data:
        if isinstance(batch, tuple) or (isinstance(batch, list) and len(batch) in (2, 3)
                                        and all(hasattr(part, "shape") for part in batch)):
            batch = batch[0]
        yield batch
