"""Keras's mixed-precision API: a global dtype policy that `fit`/`evaluate`/`predict` honour.

Under "mixed_float16" or "mixed_bfloat16" the weights stay float32 and the forward pass runs under
`torch.autocast` in the policy's compute dtype; "mixed_float16" also scales the loss with a
`GradScaler` so small gradients do not underflow.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["DTypePolicy", "Policy", "set_global_policy", "global_policy", "set_dtype_policy", "dtype_policy"]

_NAMES = ("float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16")


class DTypePolicy:
    """A named pair of dtypes: `variable_dtype` for weights, `compute_dtype` for the computation."""

    def __init__(self, name: str | None = None):
        name = "float32" if name is None else str(name)
        if name not in _NAMES:
            raise ValueError(f"DTypePolicy expected one of {list(_NAMES)}, received {name!r}.")
        self.name = name

    @property
    def compute_dtype(self) -> str:
        return self.name.removeprefix("mixed_")

    @property
    def variable_dtype(self) -> str:
        return "float32" if self.name.startswith("mixed_") else self.name

    @property
    def is_mixed(self) -> bool:
        return self.name.startswith("mixed_")

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The dtype `torch.autocast` should use, or None when no autocast applies."""
        return getattr(torch, self.compute_dtype) if self.is_mixed else None

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


Policy = DTypePolicy

_GLOBAL = [DTypePolicy("float32")]


def set_global_policy(policy: str | DTypePolicy | None) -> None:
    """Set the policy used by training and inference from now on (`None` resets to float32)."""
    if policy is not None and not isinstance(policy, (str, DTypePolicy)):
        raise TypeError(f"set_global_policy expected a policy name or DTypePolicy, received {policy!r}.")
    _GLOBAL[0] = policy if isinstance(policy, DTypePolicy) else DTypePolicy(policy)


def global_policy() -> DTypePolicy:
    """The current global policy (float32 unless changed)."""
    return _GLOBAL[0]


set_dtype_policy = set_global_policy
dtype_policy = global_policy


def __getattr__(name: str) -> Any:
    if name == "LossScaleOptimizer":  # Keras exports it here too; imported late to keep imports acyclic
        from .optimizers.loss_scale import LossScaleOptimizer

        return LossScaleOptimizer
    raise AttributeError(f"module 'kerastorch.mixed_precision' has no attribute {name!r}")
