"""Hashing: values to `num_bins` buckets with the hashes Keras gets from TensorFlow (FarmHash
fingerprints, or SipHash keyed by `salt`), computed on the host, so bucket numbers equal Keras's."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ..arguments import positive_int
from .category_encoding import check_output_mode, encode_categorical, refuse_sparse
from .fingerprint import fingerprint64, siphash24
from .host import HostLayer, host_array, is_text


def value_bytes(value: Any) -> bytes:
    """A value as TensorFlow's `as_string` spells it before hashing: text as UTF-8, integers in decimal."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bool, np.bool_)):
        return b"true" if value else b"false"
    return str(int(value)).encode()


def hash_buckets(values: np.ndarray, num_buckets: int, hash_fn: Callable[[bytes], int]) -> np.ndarray:
    """Bucket of every value (each distinct value hashed once), as int64 with `values`' shape."""
    if values.dtype.kind == "f":
        values = values.astype(np.int64)  # TensorFlow truncates floats to integers first
    if values.size == 0:
        return np.zeros(values.shape, dtype=np.int64)
    unique, inverse = np.unique(values.reshape(-1), return_inverse=True)
    buckets = np.array([hash_fn(value_bytes(v)) % num_buckets for v in unique.tolist()], dtype=np.int64)
    return buckets[inverse].reshape(values.shape)


def salt_pair(layer: str, salt: Any) -> list[int] | None:
    """Keras's `salt`: one int (used twice) or two ints, the SipHash key; None means FarmHash."""
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return [int(s) for s in salt]
    if isinstance(salt, int) and not isinstance(salt, bool):
        return [salt, salt]
    raise ValueError(f"{layer} expected `salt` to be an int or a pair of ints, received {salt!r}.")


class Hashing(HostLayer):
    """Hashes strings or integers into `num_bins` buckets (Keras's bucket numbers, no TensorFlow).

    Args:
        num_bins: the number of buckets (including the mask bucket 0 if `mask_value` is set).
        mask_value: the value that maps to bucket 0; other values hash into buckets 1..num_bins-1.
        salt: an int or a pair of ints: use the keyed SipHash instead of FarmHash.
        output_mode: "int" (bucket ids), "one_hot", "multi_hot" or "count".
        sparse: Keras's TensorFlow-only sparse output; `True` raises NotImplementedError.

    Inputs: string or integer tensors, numpy arrays or lists (floats are truncated to integers first).
    """

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None, output_mode: str = "int",
                 sparse: bool = False, **kwargs: Any):
        output_mode = check_output_mode("Hashing", output_mode)
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else None
        super().__init__(**kwargs)
        if output_mode == "int" and self._dtype not in (torch.int32, torch.int64):
            raise ValueError(f"Hashing with output_mode='int' needs an int32 or int64 dtype, received {self.dtype!r}.")
        refuse_sparse("Hashing", sparse)
        self.num_bins = positive_int("Hashing", "num_bins", num_bins)
        self.mask_value = mask_value
        self.salt = salt_pair("Hashing", salt)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def _hash(self, data: bytes) -> int:
        return siphash24(self.salt, data) if self.salt is not None else fingerprint64(data)

    def forward(self, inputs: Any) -> torch.Tensor:
        if isinstance(inputs, torch.Tensor) and inputs.device.type == "meta":  # shape inference in a model
            indices = torch.zeros(inputs.shape, dtype=torch.int64, device="meta")
            if self.output_mode == "one_hot" and indices.dim() > 0 and indices.shape[-1] == 1:
                indices = indices.squeeze(-1)
            return encode_categorical(indices, self.output_mode, self.num_bins, self._dtype)
        values, device = host_array(inputs)
        if values.dtype.kind not in "iufbO" and not is_text(values):
            raise TypeError(f"Layer {self.name!r} (Hashing) expected strings or integers, received {values.dtype}.")
        if self.output_mode == "one_hot" and values.ndim > 0 and values.shape[-1] == 1:
            values = values.squeeze(-1)
        bins = self.num_bins
        masked = self.mask_value is not None and bins > 1
        buckets = hash_buckets(values, bins - 1 if masked else bins, self._hash)
        if masked:
            buckets = np.where(values == self.mask_value, 0, buckets + 1)
        indices = torch.as_tensor(buckets, device=device)
        return encode_categorical(indices, self.output_mode, self.num_bins, self._dtype)
