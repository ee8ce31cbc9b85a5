"""Attention layers (Keras's `keras.layers` names)."""

from .attention import AdditiveAttention, Attention
from .einsum_dense import EinsumDense
from .multi_head_attention import GroupedQueryAttention, GroupQueryAttention, MultiHeadAttention

__all__ = ["Attention", "AdditiveAttention", "EinsumDense", "MultiHeadAttention", "GroupedQueryAttention",
           "GroupQueryAttention"]
