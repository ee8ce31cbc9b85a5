"""`kt.config`: Keras's global settings (`keras.config`), answered for the one backend, torch.

Image data format, float dtype and fuzz factor; the dtype policy; unsafe deserialization; the flash
attention switch (read by `MultiHeadAttention` and `ops.dot_product_attention`); interactive logging
(read by progress bars); and `max_epochs`/`max_steps_per_epoch`, which cap `fit` as in Keras
(also from the `KERAS_MAX_EPOCHS` / `KERAS_MAX_STEPS_PER_EPOCH` environment variables).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

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
    """Set the default float dtype: "bfloat16", "float16", "float32" or "float64" (Keras's choices)."""
    global _FLOATX
    if dtype not in ("bfloat16", "float16", "float32", "float64"):
        raise ValueError(
            f"set_floatx expected one of 'bfloat16', 'float16', 'float32', 'float64', received {dtype!r}."
        )
    _FLOATX = str(dtype)


def epsilon() -> float:
    """The fuzz factor added to denominators (1e-7, as in Keras)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor returned by `epsilon()`."""
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


# ------------------------------------------------------------------------------------- the backend

def backend() -> str:
    """The backend name: always "torch" (kerastorch is Keras's API on PyTorch)."""
    return "torch"


def set_backend(backend: str) -> None:
    """Keras switches backends here; kerastorch runs on torch only, so only "torch" is accepted."""
    if backend != "torch":
        raise ValueError(
            f"set_backend: kerastorch runs on PyTorch only, received backend={backend!r}; use real Keras for "
            "'jax', 'tensorflow' or 'numpy', or pass 'torch'."
        )


def is_nnx_enabled() -> bool:
    """Flax NNX is a JAX-backend feature; never enabled on torch."""
    return False


# -------------------------------------------------------------------------------- dtype policies

def dtype_policy() -> Any:
    """The global `DTypePolicy` (the same object as `kt.mixed_precision.dtype_policy()`)."""
    from .mixed_precision import global_policy

    return global_policy()


def set_dtype_policy(policy: Any) -> None:
    """Set the global dtype policy from a name ("mixed_float16", ...) or a `DTypePolicy`."""
    from .mixed_precision import set_global_policy

    set_global_policy(policy)


# ----------------------------------------------------------------------- unsafe deserialization

_UNSAFE_DESERIALIZATION = [False]


def enable_unsafe_deserialization() -> None:
    """Let every load rebuild Python lambdas from bytecode, as if each passed `safe_mode=False`."""
    _UNSAFE_DESERIALIZATION[0] = True


def _unsafe_deserialization_enabled() -> bool:
    """Whether `enable_unsafe_deserialization()` was called."""
    return _UNSAFE_DESERIALIZATION[0]


# ------------------------------------------------------------------------------ flash attention

_FLASH_ATTENTION: list[bool | None] = [None]  # None: torch picks its kernel; False: never the flash kernel


def enable_flash_attention() -> None:
    """Let attention use torch's flash SDPA kernel where it applies (the default)."""
    _FLASH_ATTENTION[0] = None


def disable_flash_attention() -> None:
    """Keep attention layers and `ops.dot_product_attention` (with `flash_attention=None`) off the flash kernel."""
    _FLASH_ATTENTION[0] = False


def is_flash_attention_enabled() -> bool | None:
    """None (the default: torch chooses) or False after `disable_flash_attention()`, as Keras answers."""
    return _FLASH_ATTENTION[0]


def _attention_kernel_scope(flash_attention: bool | None = None) -> Any:
    """The context an SDPA call runs in: every kernel but flash when `flash_attention` is False, or None
    while `disable_flash_attention()` is in effect; otherwise no restriction (torch picks)."""
    if flash_attention is False or (flash_attention is None and _FLASH_ATTENTION[0] is False):
        from torch.nn.attention import SDPBackend, sdpa_kernel

        return sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH])
    return contextlib.nullcontext()


# --------------------------------------------------------------------------- traceback filtering

def is_traceback_filtering_enabled() -> bool:
    """False: kerastorch never rewrites tracebacks (every frame is a plain torch/Python frame)."""
    return False


def disable_traceback_filtering() -> None:
    """Tracebacks are never filtered here, so this is already in effect."""


def enable_traceback_filtering() -> None:
    """Keras hides its own frames from tracebacks; kerastorch does not implement that filter."""
    raise NotImplementedError(
        "enable_traceback_filtering: kerastorch does not filter tracebacks (its frames are ordinary PyTorch "
        "and Python frames, shown in full); remove the call."
    )


# --------------------------------------------------------------------------- interactive logging

_INTERACTIVE_LOGGING = [True]


def enable_interactive_logging() -> None:
    """Progress bars and messages go to stdout, with a live bar on terminals (the default)."""
    _INTERACTIVE_LOGGING[0] = True


def disable_interactive_logging() -> None:
    """Progress bars and messages go to the `logging` module (logger "kerastorch"), one line each, no live bar."""
    _INTERACTIVE_LOGGING[0] = False


def is_interactive_logging_enabled() -> bool:
    """Whether progress output goes to stdout (True) or to the `logging` module (False)."""
    return _INTERACTIVE_LOGGING[0]


# ---------------------------------------------------------------------------- training caps

def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


_MAX_EPOCHS: list[int | None] = [_env_int("KERAS_MAX_EPOCHS")]
_MAX_STEPS_PER_EPOCH: list[int | None] = [_env_int("KERAS_MAX_STEPS_PER_EPOCH")]


def _check_cap(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} expected a positive int or None, received {value!r}.")
    return value


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap the epochs of every `fit` call (a debugging aid; None removes the cap)."""
    _MAX_EPOCHS[0] = _check_cap("set_max_epochs", max_epochs)


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the steps of every epoch (fit, evaluate, predict); None removes the cap."""
    _MAX_STEPS_PER_EPOCH[0] = _check_cap("set_max_steps_per_epoch", max_steps_per_epoch)


def max_epochs() -> int | None:
    """The cap on `fit`'s epochs, or None."""
    return _MAX_EPOCHS[0]


def max_steps_per_epoch() -> int | None:
    """The cap on steps per epoch, or None."""
    return _MAX_STEPS_PER_EPOCH[0]
