"""Keras's dtype names and promotion rules (a JAX-style lattice) over torch dtypes.

Keras's torch backend promotes some ops with its own lattice instead of torch's rules (an `int32`
and a `float16` give `float16`, 64-bit results fold to 32 bits); ops that follow Keras ask here.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import torch

from .. import config

# Keras names torch cannot hold natively map to the next wider signed type, as in Keras's torch backend.
_TO_TORCH = {"uint16": torch.int32, "uint32": torch.int64, "uint64": torch.int64}
_INTS = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")

# Each dtype points to the types directly above it; "int"/"float" are Python's weak scalars.
_UP = {
    "bool": ["int"], "int": ["uint8", "int8", "complex64"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"], "uint32": ["int64", "uint64"],
    "uint64": ["float"], "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["bfloat16", "float16"], "bfloat16": ["float32"], "float16": ["float32"],
    "float32": ["float64", "complex64"], "float64": ["complex128"], "complex64": ["complex128"],
    "complex128": [],
}


def _closure() -> dict[str, frozenset]:
    above = {}
    for node in _UP:
        seen, todo = {node}, [node]
        while todo:
            for parent in _UP[todo.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        above[node] = frozenset(seen)
    return above


_ABOVE = _closure()
_FOLD_64 = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def name(dtype: Any) -> str:
    """Keras's name of a dtype given as torch/numpy dtype, string or Python type."""
    if isinstance(dtype, torch.dtype):
        return str(dtype)[6:]
    if dtype is bool:
        return "bool"
    if dtype is int:
        return "int32"
    if dtype is float:
        return "float32"
    if dtype is complex:
        return "complex64"
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, type) and issubclass(dtype, np.generic):  # np.float32 and friends
        return str(np.dtype(dtype))
    text = getattr(dtype, "name", None) or str(dtype)
    if text.startswith("torch."):
        text = text[6:]
    if text == "float":
        return "float32"
    if text == "int":
        return "int32"
    return str(np.dtype(text)) if text not in _UP and text not in _TO_TORCH else text


def to_torch(dtype: Any) -> torch.dtype | None:
    """A torch dtype for any dtype spelling; None stays None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    try:
        return _to_torch_cached(dtype)
    except TypeError:  # an unhashable spelling
        return _to_torch_uncached(dtype)


def _to_torch_uncached(dtype: Any) -> torch.dtype:
    key = name(dtype)
    return _TO_TORCH.get(key) or config.standardize_dtype(key)


_to_torch_cached = functools.lru_cache(maxsize=256)(_to_torch_uncached)


def _node(value: Any) -> str:
    if value is int or value is float:
        return "int" if value is int else "float"
    return name(value)


@functools.lru_cache(maxsize=512)
def _result(*nodes: str) -> str:
    weak = [n in ("int", "float") for n in nodes]
    if len(set(nodes)) == 1:
        out = nodes[0]
        out_weak = weak[0]
    elif all(weak):
        out, out_weak = _join(set(nodes)), True
    else:
        out = _join(set(nodes))
        out_weak = out in ("int", "float")
    if out_weak and out != "bool":
        bits = config.floatx()[-2:]
        out = f"int{bits}" if out == "int" else f"float{bits}"
    return _FOLD_64.get(out, out)


def _join(nodes: set[str]) -> str:
    common = frozenset.intersection(*(_ABOVE[n] for n in nodes))
    least = [c for c in common if common <= _ABOVE[c]]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {sorted(nodes)} have no implicit promotion; cast them explicitly.")
    return least[0]


def result_type(*dtypes: Any) -> str:
    """Keras's `backend.result_type`: the promoted dtype name; `int`/`float` are weak Python scalars."""
    if not dtypes:
        return config.floatx()
    return _result(*(_node(config.floatx() if d is None else d) for d in dtypes))


@functools.lru_cache(maxsize=1024)
def _promote_cached(floatx: str, *dtypes: Any) -> torch.dtype:
    return to_torch(result_type(*dtypes))


def promote(*dtypes: Any) -> torch.dtype:
    """`result_type` as a torch dtype, cached per argument tuple (the per-call cost of Keras's rules)."""
    try:
        return _promote_cached(config.floatx(), *dtypes)
    except TypeError:  # an unhashable dtype spelling
        return to_torch(result_type(*dtypes))


def of(x: Any) -> Any:
    """The dtype of a tensor, or the Python type of a scalar (weak for promotion)."""
    return getattr(x, "dtype", type(x))
