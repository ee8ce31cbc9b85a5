"""LoRA (Hu et al. 2021) for layers whose `kernel` ends with the output axis: Dense and EinsumDense.

As in Keras: `enable_lora(rank)` (or `lora_rank=` at construction) freezes the kernel and trains two
float32 factors; the layer computes with `kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b`.
Weight files hold the merged kernel, and loading one resets the factors to zero.
"""

from __future__ import annotations

from typing import Any

import torch


def check_lora_rank(layer: str, lora_rank: Any) -> int | None:
    if lora_rank is not None and (isinstance(lora_rank, bool) or not isinstance(lora_rank, int) or lora_rank <= 0):
        raise ValueError(f"{layer} expected `lora_rank` to be a positive int or None, received {lora_rank!r}.")
    return lora_rank


class LoraMixin:
    """`enable_lora`, the merged kernel and the weight-file view shared by the dense layers.

    The layer sets `lora_rank`/`lora_alpha` in its constructor and calls `_build_lora()` at the end of
    `build`; its forward computes with `_lora_kernel()` while `lora_enabled`.
    """

    lora_enabled = False

    def _init_lora(self, lora_rank: int | None, lora_alpha: float | None) -> None:
        """Record the constructor's LoRA arguments (checked with `check_lora_rank` before the layer's
        own initialization, so a bad value leaves nothing behind)."""
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank

    def _build_lora(self) -> None:
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def enable_lora(self, rank: int, lora_alpha: float | None = None, a_initializer: Any = "he_uniform",
                    b_initializer: Any = "zeros") -> None:
        """Freeze the kernel and train a low-rank update instead, as Keras does.

        `lora_kernel_a` is `kernel.shape[:-1] + (rank,)` and `lora_kernel_b` is `(rank, kernel.shape[-1])`,
        both float32.

        Args:
            rank: the rank of the update.
            lora_alpha: scale numerator (default: `rank`, a scale of 1).
            a_initializer, b_initializer: initializers of the two factors (B starts at zero, so the
                layer's outputs are unchanged until training moves it).
        """
        if self.kernel_constraint is not None:
            raise ValueError(f"Layer {self.name!r}: LoRA cannot be enabled with a kernel_constraint; remove the "
                             "kernel_constraint argument.")
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet; build it (call it on an input) before enable_lora().")
        if self.lora_enabled:
            raise ValueError(f"Layer {self.name!r} already has LoRA enabled; enable_lora() can run once per layer.")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
            raise ValueError(f"Layer {self.name!r}: enable_lora expected a positive int rank, received {rank!r}.")
        shape = tuple(self.kernel.shape)
        self.lora_kernel_a = self.add_weight(shape[:-1] + (rank,), a_initializer, dtype="float32",
                                             name="lora_kernel_a", regularizer=self.kernel_regularizer)
        self.lora_kernel_b = self.add_weight((rank, shape[-1]), b_initializer, dtype="float32",
                                             name="lora_kernel_b", regularizer=self.kernel_regularizer)
        self.kernel.requires_grad_(False)
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def _lora_kernel(self) -> torch.Tensor:
        """The kernel the layer computes with while LoRA is enabled (the frozen kernel plus the update)."""
        update = torch.matmul(self.lora_kernel_a, self.lora_kernel_b) * (self.lora_alpha / self.lora_rank)
        return self.kernel + update.to(self.kernel.dtype)

    def keras_file_weights(self) -> tuple[list[torch.Tensor], list[Any], list[torch.Tensor]] | None:
        """What weight files hold for this layer when it differs from `weights` (None otherwise):
        `(tensors, layouts, reset)`. With LoRA, Keras files hold the merged kernel and the bias; loading
        one sets the kernel and zeroes the LoRA factors (`reset`), as Keras does."""
        if not self.lora_enabled:
            return None
        tensors = [self.kernel] + ([self.bias] if self.bias is not None else [])
        return tensors, [_MergedLora(self)] + [None] * (len(tensors) - 1), [self.lora_kernel_a, self.lora_kernel_b]

    def _lora_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Keras writes `lora_rank`/`lora_alpha` only when LoRA is set."""
        config.pop("lora_rank", None)
        config.pop("lora_alpha", None)
        if self.lora_rank:
            config.update(lora_rank=self.lora_rank, lora_alpha=self.lora_alpha)
        return config


class _MergedLora:
    """The file layout of a LoRA layer's kernel: Keras writes the kernel with the update merged in;
    read back, the value is the kernel itself (the factors are reset to zero beside it)."""

    def __init__(self, layer: LoraMixin):
        self.layer = layer

    def to_keras(self, stored: torch.Tensor) -> torch.Tensor:
        return self.layer._lora_kernel().detach()

    @staticmethod
    def to_stored(value: torch.Tensor) -> torch.Tensor:
        return value
