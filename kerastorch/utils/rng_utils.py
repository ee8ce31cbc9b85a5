"""`kt.utils.set_random_seed`: one call makes Python, numpy, torch and `kt.random` reproducible."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, numpy, torch (all devices) and reset `kt.random`'s global generator.

    Args:
        seed: a non-negative integer.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"set_random_seed expected an integer `seed`, received seed={seed!r} ({type(seed).__name__}).")
    from .. import random as kt_random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    kt_random.reset_global_seed_generator()
