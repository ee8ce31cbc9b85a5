"""`clear_session` and `get_uid`: the process-wide state Keras resets between experiments.

Resets what Keras's `clear_session` resets: auto-name counters (the next Dense is `dense` again),
`get_uid` counters, the dtype policy, the flash-attention and interactive-logging switches, unsafe
deserialization and torch.compile's caches; `floatx`, `epsilon` and the
`max_epochs` caps stay, as in Keras.
"""

from __future__ import annotations

import gc

from .. import config

__all__ = ["clear_session", "get_uid"]

_UIDS: dict[str, int] = {}


def get_uid(prefix: str = "") -> int:
    """A counter per prefix: 1 on the first call, then 2, 3, ... (until `clear_session`)."""
    _UIDS[prefix] = _UIDS.get(prefix, 0) + 1
    return _UIDS[prefix]


def clear_session(free_memory: bool = True) -> None:
    """Reset kerastorch's global state (see the module docstring).

    Args:
        free_memory: also run Python's garbage collector (and release cached CUDA memory).
    """
    import torch
    import torch._dynamo

    from ..layers import layer as layer_module
    from ..mixed_precision import set_global_policy

    layer_module._NAME_COUNTS.clear()
    _UIDS.clear()
    set_global_policy(config.floatx())
    config.enable_flash_attention()
    config.enable_interactive_logging()
    config._UNSAFE_DESERIALIZATION[0] = False
    torch._dynamo.reset()
    if free_memory:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
