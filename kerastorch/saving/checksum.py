"""Checksums of tensor data, written into the files kerastorch saves and checked on load.

`.weights.h5`, `.safetensors` and training checkpoints carry no checksum of their own, so a flipped
bit inside a weight would load silently. kerastorch records an XXH3-64 hash of each tensor's bytes
(as stored in the file, C order) in the file's metadata and verifies it on load. XXH3 runs at memory
speed (a CRC-32 took five times as long, most of a save's overhead over `torch.save`). Files written
by earlier kerastorch versions carry CRC-32s, still checked; files without either (written by Keras
or by hand) still load. `.pt` files and Keras-written `.keras` archives are zip files whose entries
carry CRC-32s, which the readers check.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import torch
import xxhash

# The metadata key (safetensors metadata, HDF5 dataset attribute) that holds the checksum(s).
CHECKSUM_KEY = "kerastorch_xxh3"
_LEGACY_KEY = "kerastorch_crc32"  # earlier files: CRC-32 values under this key


class _Crc32:
    """zlib's running CRC-32 behind the same `update`/`intdigest` interface as xxhash's hashers."""

    def __init__(self) -> None:
        self._value = 0

    def update(self, data: Any) -> None:
        self._value = zlib.crc32(data, self._value)

    def intdigest(self) -> int:
        return self._value


_HASHERS = {CHECKSUM_KEY: xxhash.xxh3_64, _LEGACY_KEY: _Crc32}


def new_hasher(key: str = CHECKSUM_KEY) -> Any:
    """A streaming hasher for the checksum kind recorded under `key`: feed it bytes in C order."""
    return _HASHERS[key]()


def recorded_checksum(attributes: Any) -> tuple[str, int] | None:
    """`(key, value)` of the checksum a dataset's attributes record, or None when there is none."""
    for key in _HASHERS:
        value = attributes.get(key)
        if value is not None:
            return key, int(value)
    return None


def raw_bytes(tensor: torch.Tensor) -> memoryview:
    """A contiguous CPU tensor's bytes (bfloat16 and bool read as raw values), without a copy."""
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)
    elif tensor.dtype == torch.bool:
        tensor = tensor.view(torch.uint8)
    return memoryview(np.ascontiguousarray(tensor.numpy()).reshape(-1).view(np.uint8))


def tensor_checksum(tensor: torch.Tensor, key: str = CHECKSUM_KEY) -> int:
    """The checksum of a CPU tensor's bytes in C order."""
    hasher = new_hasher(key)
    hasher.update(raw_bytes(tensor.detach().contiguous()))
    return hasher.intdigest()


def state_checksums(tensors: dict[str, torch.Tensor]) -> dict[str, str]:
    """The metadata entry for a dict of CPU tensors: `{CHECKSUM_KEY: json {name: checksum}}`."""
    return {CHECKSUM_KEY: json.dumps({key: tensor_checksum(value) for key, value in tensors.items()})}


def verify_state(tensors: dict[str, torch.Tensor], metadata: dict[str, Any] | None, filepath: str) -> None:
    """Raise a ValueError naming the first tensor whose bytes differ from the recorded checksum."""
    metadata = metadata or {}
    key = next((k for k in _HASHERS if k in metadata), None)
    if key is None:
        return  # written elsewhere: nothing to check against
    try:
        expected = json.loads(metadata[key])
    except (TypeError, ValueError) as error:
        raise ValueError(f"File {filepath!r} has a damaged checksum record ({error}); re-save the file.") from error
    if not isinstance(expected, dict):
        raise ValueError(f"File {filepath!r} has a damaged checksum record; re-save the file.")
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ValueError(f"File {filepath!r} lacks tensors its checksum record lists ({missing[:5]}); re-save the file.")
    for name, value in tensors.items():
        if name in expected and tensor_checksum(value, key) != expected[name]:
            raise corrupt_data_error(filepath, name)


def corrupt_data_error(filepath: str, part: str) -> ValueError:
    return ValueError(
        f"File {filepath!r} is corrupt: the data of {part!r} does not match the checksum recorded when it was "
        "saved (a damaged disk, copy or download); nothing was loaded. Re-save or re-download the file, or "
        "use an older copy."
    )
