"""`ReversibleEmbedding`: an embedding that also projects hidden states back to vocabulary logits."""

from __future__ import annotations

from typing import Any

import torch

from .. import config
from .core import Embedding


class ReversibleEmbedding(Embedding):
    """`Embedding` whose `reverse=True` call maps `(..., output_dim)` states to `(..., input_dim)` logits.

    With `tie_weights=True` the reverse projection is the transposed embedding table (one weight, as in
    language models with tied input/output embeddings); otherwise a separate `reverse_embeddings`
    weight of shape `(output_dim, input_dim)` is learned.

    Args:
        input_dim: vocabulary size.
        output_dim: embedding size.
        tie_weights: reuse the embedding table for the reverse projection.
        embeddings_initializer, embeddings_regularizer, embeddings_constraint, mask_zero: as in `Embedding`.
        reverse_dtype: dtype of the reverse matmul (e.g. "float32" under mixed precision), or None.
        logit_soft_cap: if set, logits become `tanh(logits / cap) * cap`.
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        tie_weights: bool = True,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        reverse_dtype: Any = None,
        logit_soft_cap: float | None = None,
        activity_regularizer: Any = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ):
        if quantization_config is not None:
            raise NotImplementedError(
                "ReversibleEmbedding does not support `quantization_config` (Keras's int8/int4 quantization); "
                "pass quantization_config=None."
            )
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, activity_regularizer=activity_regularizer, **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = reverse_dtype
        self._reverse_dtype = None if reverse_dtype is None else config.standardize_dtype(reverse_dtype)
        self.logit_soft_cap = logit_soft_cap
        self.reverse_embeddings = None

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight((self.output_dim, self.input_dim), self.embeddings_initializer,
                                                      name="reverse_embeddings")

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor | None:
        """The forward lookup's mask (`inputs != 0` with `mask_zero`); reverse calls take float states and
        give logits, which carry no mask."""
        if not self.mask_zero or inputs.is_floating_point():
            return None
        return inputs != 0

    def forward(self, inputs: torch.Tensor, reverse: bool = False) -> torch.Tensor:
        if not reverse:
            return super().forward(inputs)
        kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
        if self._reverse_dtype is not None:
            inputs, kernel = inputs.to(self._reverse_dtype), kernel.to(self._reverse_dtype)
        logits = torch.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits
