"""MultiHeadAttention with Keras's `EinsumDense` projections, on `F.scaled_dot_product_attention`.

Masks combine as in Keras: the query's mask `(B, T, 1)`, the value's and key's `(B, 1, S)`, a causal
(and sliding-window) band and an explicit `attention_mask` `(B, T, S)` are ANDed. Without requested
scores and with one attention axis the computation is torch's fused SDPA (flash or memory-efficient
kernels on GPU); otherwise Keras's einsum equations with a masked softmax give the scores too.
"""

from __future__ import annotations

import math
import string
from typing import Any

import torch
import torch.nn.functional as F

from ... import config, constraints, initializers, regularizers
from ..layer import _BUILD_DEVICE, Layer, build_device, unique_name
from .einsum_dense import EinsumDense


def projection_equation(free_dims: int, bound_dims: int, output_dims: int) -> tuple[str, str, int]:
    """Keras's einsum for a projection: `free` axes kept, `bound` contracted, `output` created."""
    letters = string.ascii_lowercase
    free, bound, out = letters[:free_dims], letters[free_dims:free_dims + bound_dims], \
        letters[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def attention_equations(rank: int, attention_axes: tuple[int, ...]) -> tuple[str, str, int]:
    """Keras's query-key product and combination einsums for projected `(B, ..., heads, dim)` tensors."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch_dims = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    offset, source = rank, ""
    for i in range(rank):
        if i in batch_dims or i == rank - 1:
            source += target[i]
        else:
            source += letters[offset]
            offset += 1
    product = "".join([target[i] for i in batch_dims] + [target[i] for i in attention_axes]
                      + [source[i] for i in attention_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


def large_negative(dtype: torch.dtype) -> float:
    return -3e4 if dtype == torch.float16 else -1e9


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, axes: int) -> torch.Tensor:
    """Softmax over the last `axes` axes; masked positions get 0 (a fully masked row is all zeros)."""
    if mask is not None:
        scores = torch.where(mask, scores, large_negative(scores.dtype))
    shape = scores.shape
    flat = scores.reshape(*shape[:scores.dim() - axes], -1)
    weights = torch.softmax(flat, dim=-1).reshape(shape)
    if mask is not None:
        weights = torch.where(mask, weights, 0.0)
    return weights


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al.) with Keras's arguments and weights.

    Args:
        num_heads, key_dim, value_dim (default key_dim), dropout (on attention weights), use_bias,
        output_shape (default: the query's last axis), attention_axes (default: all but batch,
        heads and features), sliding_window, flash_attention, use_gate, initializers,
        regularizers, constraints, seed.

    Call: `layer(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)`.
    """

    supports_masking = True
    _mask_flow = True

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: Any = None, attention_axes: Any = None,
                 sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any):
        for argument, value in (("num_heads", num_heads), ("key_dim", key_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"MultiHeadAttention expected `{argument}` to be a positive int, received {value!r}.")
        if value_dim is not None and (isinstance(value_dim, bool) or not isinstance(value_dim, int) or value_dim <= 0):
            raise ValueError(f"MultiHeadAttention expected `value_dim` to be a positive int or None, received {value_dim!r}.")
        if sliding_window is not None and (not isinstance(sliding_window, int) or sliding_window <= 0):
            raise ValueError(
                f"MultiHeadAttention expected `sliding_window` to be a positive int or None, received {sliding_window!r}."
            )
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"MultiHeadAttention: `attention_axes` must be an int, list or tuple, received {attention_axes!r}.")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.output_shape_arg = None if not output_shape else (
            (output_shape,) if isinstance(output_shape, int) else tuple(output_shape))
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.sliding_window = sliding_window
        self.flash_attention = flash_attention
        self.use_gate = bool(use_gate)
        self.seed = seed
        self._sublayer_arguments = dict(
            kernel_initializer=initializers.get(kernel_initializer), bias_initializer=initializers.get(bias_initializer),
            kernel_regularizer=regularizers.get(kernel_regularizer), bias_regularizer=regularizers.get(bias_regularizer),
            kernel_constraint=constraints.get(kernel_constraint), bias_constraint=constraints.get(bias_constraint),
        )
        self._scale = 1.0 / math.sqrt(float(key_dim))

    # --------------------------------------------------------------------------------- building

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.built:  # the projections need the value's and key's shapes, not only the query's
            shapes = self._call_shapes(args, kwargs)
            device = getattr(args[0] if args else kwargs.get("query"), "device", None)
            if device is None or getattr(device, "type", "meta") == "meta":
                device = _BUILD_DEVICE[-1]
            with build_device(device):
                self.build(*shapes)
            self.built = True
        return super().__call__(*args, **kwargs)

    @staticmethod
    def _call_shapes(args: tuple, kwargs: dict) -> tuple:
        names = ("query", "value", "key")
        values = dict(zip(names, args))
        values.update({k: v for k, v in kwargs.items() if k in names})
        if "query" not in values or "value" not in values:
            raise ValueError("MultiHeadAttention is called as layer(query, value, key=None, ...); `value` is missing.")
        return tuple(None if values.get(n) is None else tuple(values[n].shape) for n in names)

    def _dense(self, equation: str, output_shape: list, bias_axes: str, name: str, **extra: Any) -> EinsumDense:
        return EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None,
                           name=name, dtype=self._dtype, **self._sublayer_arguments, **extra)

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        shapes = {"query_shape": tuple(query_shape), "value_shape": tuple(value_shape or query_shape)}
        if key_shape is not None:
            shapes["key_shape"] = tuple(key_shape)
        self._build_shapes_dict = {k: (None, *v[1:]) for k, v in shapes.items()}
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(
                f"Layer {self.name!r}: `value` and `key` must match on every axis but the last, received "
                f"{tuple(value_shape)} and {tuple(key_shape)}."
            )
        q_rank, k_rank, v_rank = len(query_shape), len(key_shape), len(value_shape)

        def heads(rank: int, last: int) -> list:
            return [None] * (rank - 1 - 2) + [self.num_heads, last]

        equation, bias, rank = projection_equation(q_rank - 1, 1, 2)
        self.query_dense = self._dense(equation, heads(rank, self.key_dim), bias, "query")
        self.query_dense.build(tuple(query_shape))
        equation, bias, rank = projection_equation(k_rank - 1, 1, 2)
        self.key_dense = self._dense(equation, heads(rank, self.key_dim), bias, "key")
        self.key_dense.build(tuple(key_shape))
        if self.use_gate:
            equation, bias, rank = projection_equation(q_rank - 1, 1, 2)
            self.gate_dense = self._dense(equation, heads(rank, self.value_dim), bias, "gate", activation="sigmoid")
            self.gate_dense.build(tuple(query_shape))
        equation, bias, rank = projection_equation(v_rank - 1, 1, 2)
        self.value_dense = self._dense(equation, heads(rank, self.value_dim), bias, "value")
        self.value_dense.build(tuple(value_shape))
        axes = self.attention_axes if self.attention_axes is not None else tuple(range(1, rank - 2))
        self._axes = tuple(a if a >= 0 else (rank - 1) + a for a in axes)
        self._dot_equation, self._combine_equation, _ = attention_equations(rank, self._axes)
        out_shape = self.output_shape_arg or (query_shape[-1],)
        equation, bias, out_rank = projection_equation(q_rank - 1, 2, len(out_shape))
        self.output_dense = self._dense(equation, [None] * (out_rank - 1 - len(out_shape)) + list(out_shape), bias,
                                        "attention_output")
        self.output_dense.build((*query_shape[:-1], self.num_heads, self.value_dim))

    def get_build_config(self) -> dict[str, Any] | None:
        """Keras's build entry for a layer built from the query, value (and key) shapes."""
        shapes = self.__dict__.get("_build_shapes_dict")
        return None if shapes is None or not self.built else {"shapes_dict": {k: list(v) for k, v in shapes.items()}}

    # ------------------------------------------------------------------------------------ masks

    def _attention_mask(self, query: torch.Tensor, value: torch.Tensor, query_mask: Any, value_mask: Any,
                        key_mask: Any, attention_mask: Any, use_causal_mask: bool) -> torch.Tensor | None:
        mask = None

        def both(a: Any, b: torch.Tensor) -> torch.Tensor:
            return b if a is None else a & b

        if query_mask is not None:
            mask = query_mask.to(torch.bool).unsqueeze(-1)
        if value_mask is not None:
            mask = both(mask, value_mask.to(torch.bool).unsqueeze(-2))
        if key_mask is not None:
            mask = both(mask, key_mask.to(torch.bool).unsqueeze(-2))
        t, s = query.shape[1], value.shape[1]
        if use_causal_mask:
            rows = torch.arange(t, device=query.device).unsqueeze(1)
            mask = both(mask, (rows >= torch.arange(s, device=query.device)).unsqueeze(0))
        if self.sliding_window is not None:
            rows = torch.arange(t, device=query.device).unsqueeze(1)
            mask = both(mask, ((rows - torch.arange(s, device=query.device)).abs() < self.sliding_window).unsqueeze(0))
        if attention_mask is not None:
            mask = both(mask, attention_mask.to(torch.bool)) if mask is not None else attention_mask.to(torch.bool)
        return mask

    # ------------------------------------------------------------------------------------- call

    def forward(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor | None = None,
                query_mask: Any = None, value_mask: Any = None, key_mask: Any = None, attention_mask: Any = None,
                return_attention_scores: bool = False, training: bool | None = None,
                use_causal_mask: bool = False) -> Any:
        training = self.training if training is None else bool(training)
        if key is None:
            key = value
        if self.flash_attention and return_attention_scores:
            raise ValueError(
                f"Layer {self.name!r}: attention scores cannot be returned with flash_attention=True; "
                "create the layer with flash_attention=None."
            )
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self.sliding_window is None)
        mask = None if causal_only else self._attention_mask(
            query, value, query_mask, value_mask, key_mask, attention_mask, use_causal_mask)
        modules, (query_dense, key_dense, value_dense, gate_dense, output_dense) = self._modules, self._dense_names
        gate = modules[gate_dense](query) if self.use_gate else None
        q = modules[query_dense](query)
        k, v = modules[key_dense](key), modules[value_dense](value)
        scores = None
        if not return_attention_scores and q.dim() == 4:
            dropout = self.dropout if training else 0.0
            if mask is not None:
                mask = mask.unsqueeze(-3) if mask.dim() == 3 else mask  # (B, T, S) -> (B, 1, T, S) for the heads
                # An additive mask, as Keras passes it: a fully masked row averages every value (a boolean
                # mask would give zeros there).
                mask = torch.where(mask, 0.0, large_negative(q.dtype)).to(q.dtype)
            grouped = {"enable_gqa": True} if k.shape[2] != q.shape[2] else {}  # grouped-query heads, no copies
            with config._attention_kernel_scope(self.flash_attention):  # kt.config.disable_flash_attention()
                out = F.scaled_dot_product_attention(
                    q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask, dropout_p=dropout,
                    is_causal=causal_only, scale=self._scale, **grouped)
            out = out.transpose(1, 2)
        else:
            if causal_only:
                mask = self._attention_mask(query, value, None, None, None, None, True)
            if k.shape[-2] != q.shape[-2]:  # grouped-query attention: each key/value head serves a group
                groups = q.shape[-2] // k.shape[-2]
                k, v = k.repeat_interleave(groups, dim=-2), v.repeat_interleave(groups, dim=-2)
            product = torch.einsum(self._dot_equation, k, q * self._scale)
            if mask is not None:
                axis = -len(self._axes) * 2 - 1
                while mask.dim() < product.dim():
                    mask = mask.unsqueeze(axis)
            scores = masked_softmax(product, mask, len(self._axes))
            weights = F.dropout(scores, self.dropout, True) if training and self.dropout > 0 else scores
            out = torch.einsum(self._combine_equation, weights, v)
        if gate is not None:
            out = out * gate
        out = modules[output_dense](out)
        return (out, scores) if return_attention_scores else out

    # The attributes holding the query, key, value, gate and output projections (Keras's weight paths).
    _dense_names = ("query_dense", "key_dense", "value_dense", "gate_dense", "output_dense")


class GroupQueryAttention(MultiHeadAttention):
    """Grouped-query attention (Ainslie et al.): `num_key_value_heads` key/value heads shared by groups
    of `num_query_heads` query heads; Keras's arguments and weights, torch's SDPA with `enable_gqa`.

    Args:
        head_dim, num_query_heads, num_key_value_heads, dropout, use_bias, sliding_window,
        flash_attention, initializers, regularizers, constraints, use_gate, seed.
    """

    _keras_path_name = "grouped_query_attention"  # Keras's class is GroupedQueryAttention (weight file paths)
    _dense_names = ("_query_dense", "_key_dense", "_value_dense", "_gate_dense", "_output_dense")

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int, dropout: float = 0.0,
                 use_bias: bool = True, sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs: Any):
        for argument, value in (("num_query_heads", num_query_heads), ("num_key_value_heads", num_key_value_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"GroupQueryAttention expected `{argument}` to be a positive int, received {value!r}.")
        if num_query_heads % num_key_value_heads:
            raise ValueError(
                f"GroupQueryAttention: `num_query_heads` ({num_query_heads}) must be divisible by "
                f"`num_key_value_heads` ({num_key_value_heads})."
            )
        kwargs.setdefault("name", unique_name("grouped_query_attention"))  # Keras's class is GroupedQueryAttention
        super().__init__(num_query_heads, head_dim, dropout=dropout, use_bias=use_bias, sliding_window=sliding_window,
                         flash_attention=flash_attention, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint, use_gate=use_gate,
                         seed=seed, **kwargs)
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads

    def build(self, query_shape: Any, value_shape: Any = None, key_shape: Any = None) -> None:
        shapes = {"query_shape": tuple(query_shape), "value_shape": tuple(value_shape or query_shape)}
        if key_shape is not None:
            shapes["key_shape"] = tuple(key_shape)
        self._build_shapes_dict = {k: (None, *v[1:]) for k, v in shapes.items()}
        value_shape = query_shape if value_shape is None else value_shape
        key_shape = value_shape if key_shape is None else key_shape
        heads, kv_heads, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim
        # Keras keeps these as private attributes, so its weight files name them `_query_dense`, ...
        self._query_dense = self._dense("bqm,muh->bquh", [None, heads, dim], "uh", "query")
        self._query_dense.build(tuple(query_shape))
        self._key_dense = self._dense("bkm,mvh->bkvh", [None, kv_heads, dim], "vh", "key")
        self._key_dense.build(tuple(key_shape))
        if self.use_gate:
            self._gate_dense = self._dense("bqm,muh->bquh", [None, heads, dim], "uh", "gate", activation="sigmoid")
            self._gate_dense.build(tuple(query_shape))
        self._value_dense = self._dense("bkm,mvh->bkvh", [None, kv_heads, dim], "vh", "value")
        self._value_dense.build(tuple(value_shape))
        self._axes = (1,)
        self._dot_equation, self._combine_equation = "bkuh,bquh->buqk", "buqk,bkuh->bquh"  # (key, query) order
        self._output_dense = self._dense("bquh,uhm->bqm", [None, query_shape[-1]], "m", "attention_output")
        self._output_dense.build((None, None, heads, dim))


GroupedQueryAttention = GroupQueryAttention  # the name of Keras's class; Keras exports GroupQueryAttention

__all__ = ["MultiHeadAttention", "GroupQueryAttention", "GroupedQueryAttention"]
