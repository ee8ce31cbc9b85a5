"""CRC-32 checksums of tensor data, written into the files kerastorch saves and checked on load.

`.weights.h5`, `.safetensors` and training checkpoints carry no checksum of their own, so a flipped
bit inside a weight would load silently. kerastorch records a CRC-32 of each tensor's bytes (as
stored in the file) in the file's metadata and verifies it on load; files without one (written by
Keras or by hand) still load. `.keras` and `.pt` files are zip archives whose entries carry CRC-32s
already, which the readers check.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import numpy as np
import torch

# The metadata key (safetensors metadata, HDF5 dataset attribute) that holds the checksum(s).
CRC_KEY = "kerastorch_crc32"


def array_crc32(array: np.ndarray) -> int:
    """CRC-32 of a numpy array's bytes in C order (no copy when it is contiguous)."""
    return zlib.crc32(memoryview(np.ascontiguousarray(array)).cast("B"))


def tensor_crc32(tensor: torch.Tensor) -> int:
    """CRC-32 of a CPU tensor's bytes in C order (bfloat16 read as its raw 2-byte values)."""
    tensor = tensor.detach().contiguous()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)
    elif tensor.dtype == torch.bool:
        tensor = tensor.view(torch.uint8)
    return array_crc32(tensor.numpy())


def state_checksums(tensors: dict[str, torch.Tensor]) -> str:
    """The JSON metadata entry for a dict of CPU tensors: `{name: crc32}`."""
    return json.dumps({key: tensor_crc32(value) for key, value in tensors.items()})


def verify_state(tensors: dict[str, torch.Tensor], metadata: dict[str, Any] | None, filepath: str) -> None:
    """Raise a ValueError naming the first tensor whose bytes differ from the recorded checksum."""
    recorded = (metadata or {}).get(CRC_KEY)
    if recorded is None:
        return  # written elsewhere: nothing to check against
    try:
        expected = json.loads(recorded)
    except (TypeError, ValueError) as error:
        raise ValueError(f"File {filepath!r} has a damaged checksum record ({error}); re-save the file.") from error
    if not isinstance(expected, dict):
        raise ValueError(f"File {filepath!r} has a damaged checksum record; re-save the file.")
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ValueError(f"File {filepath!r} lacks tensors its checksum record lists ({missing[:5]}); re-save the file.")
    for key, value in tensors.items():
        if key in expected and tensor_crc32(value) != expected[key]:
            raise corrupt_data_error(filepath, key)


def corrupt_data_error(filepath: str, part: str) -> ValueError:
    return ValueError(
        f"File {filepath!r} is corrupt: the data of {part!r} does not match the checksum recorded when it was "
        "saved (a damaged disk, copy or download); nothing was loaded. Re-save or re-download the file, or "
        "use an older copy."
    )
