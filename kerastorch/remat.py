"""`kt.remat`: Keras's rematerialization (gradient checkpointing) of a function, on torch's checkpoint."""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch
from torch.utils.checkpoint import checkpoint


def remat(f: Callable) -> Callable:
    """Wrap `f` so that its intermediate results are not kept for the backward pass but recomputed
    during it: less memory for more compute, as `keras.remat` does.

    Args:
        f: the function (or layer) to rematerialize.

    The recomputation replays `f` with the random state of the first run (dropout draws the same
    mask). Without gradients (inference, `torch.no_grad`) `f` simply runs.
    """
    if not callable(f):
        raise TypeError(f"kt.remat expects a function or layer, received {f!r}.")

    @functools.wraps(f)
    def rematerialized(*args: Any, **kwargs: Any) -> Any:
        if not torch.is_grad_enabled():
            return f(*args, **kwargs)
        return checkpoint(f, *args, use_reentrant=False, **kwargs)

    return rematerialized
