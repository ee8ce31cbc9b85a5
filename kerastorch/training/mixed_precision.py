"""How the global dtype policy reaches the training step: an autocast context and a GradScaler."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from ..mixed_precision import global_policy


def autocast_for(device: torch.device) -> Any:
    """`torch.autocast` in the policy's compute dtype under a mixed policy, else a no-op context."""
    dtype = global_policy().autocast_dtype
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler_for(device: torch.device) -> torch.amp.GradScaler | None:
    """A loss scaler for "mixed_float16" (float16 gradients underflow without one), else None."""
    if global_policy().name != "mixed_float16":
        return None
    return torch.amp.GradScaler(device.type)
