"""Dot-product (Luong) and additive (Bahdanau) attention over `[query, value, key]` lists, as in Keras."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ..layer import Layer


class Attention(Layer):
    """Dot-product attention: `softmax(query @ key.T) @ value`, masked by the value's mask.

    Args:
        use_scale: learn a scalar that multiplies the scores.
        score_mode: "dot" (default) or "concat" (`sum(tanh(query + key))`).
        dropout: dropout rate on the attention weights in training.
        seed: accepted for Keras compatibility (dropout uses torch's generator).

    Call: `layer([query, value] or [query, value, key], mask=[query_mask, value_mask],
    return_attention_scores=False, use_causal_mask=False)`.
    """

    supports_masking = True
    _mask_flow = True

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{type(self).__name__} expected `score_mode` 'dot' or 'concat', received {score_mode!r}.")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.scale = None
        self.concat_score_weight = None

    def _check(self, inputs: Any) -> None:
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) must be called on a list [query, value] or "
                f"[query, value, key], received {type(inputs).__name__}"
                + (f" of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else "") + "."
            )

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)
        if self.use_scale:
            self.scale = self.add_weight((), "ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight((), "ones", name="concat_score_weight")

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-2, -1))
            return scores if self.scale is None else scores * self.scale
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(-1)

    def forward(self, inputs: list, mask: Any = None, training: bool | None = None,
                return_attention_scores: bool = False, use_causal_mask: bool = False) -> Any:
        self._check(inputs)
        training = self.training if training is None else bool(training)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = mask[0] if mask else None
        value_mask = mask[1] if mask and len(mask) > 1 else None
        scores = self._scores(query, key)
        keep = None if value_mask is None else value_mask.to(torch.bool).unsqueeze(-2)
        if use_causal_mask:
            rows = torch.arange(scores.shape[-2], device=scores.device).unsqueeze(1)
            causal = (rows >= torch.arange(scores.shape[-1], device=scores.device)).unsqueeze(0)
            keep = causal if keep is None else keep & causal
        if keep is not None:
            scores = torch.where(keep, scores, scores - (65504.0 if scores.dtype == torch.float16 else 1e9))
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights = F.dropout(weights, self.dropout, True)
        output = torch.matmul(weights, value)
        if query_mask is not None:
            output = torch.where(query_mask.to(torch.bool).unsqueeze(-1), output, 0.0)
        return (output, weights) if return_attention_scores else output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None or mask[0] is None:
            return None
        return mask[0]


class AdditiveAttention(Attention):
    """Additive (Bahdanau) attention: scores are `sum(scale * tanh(query + key))`.

    Args:
        use_scale: learn a per-feature scale (default True).
        dropout: dropout rate on the attention weights in training.
    """

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs: Any):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._check(input_shape)
        if self.use_scale:
            self.scale = self.add_weight((input_shape[0][-1],), "glorot_uniform", name="scale")

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return (summed * self.scale).sum(-1) if self.scale is not None else summed.sum(-1)


__all__ = ["Attention", "AdditiveAttention"]
