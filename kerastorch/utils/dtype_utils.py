"""Keras's dtype names: `standardize_dtype` turns any spelling (torch, numpy, Python types, strings)
into Keras's string ("float32"), and the float/int predicates read that name."""

from __future__ import annotations

from typing import Any

from ..ops._dtypes import name as _name, result_type

__all__ = ["is_float_dtype", "is_int_dtype", "result_type", "standardize_dtype"]

ALLOWED_DTYPES = (
    "float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2", "complex64", "complex128",
)


def standardize_dtype(dtype: Any) -> str:
    """Keras's name of `dtype` ("float32", "int32", ...); None is `floatx()`, Python `int` is "int32"."""
    if dtype is str or dtype == "string":
        return "string"
    if isinstance(dtype, str) and dtype != "int" and dtype not in ALLOWED_DTYPES:
        dtype = dtype.removeprefix("torch.")  # names only, as Keras reads them: "float" is not a dtype
        if dtype not in ALLOWED_DTYPES:
            raise ValueError(f"Invalid dtype: {dtype!r}; expected one of Keras's dtypes such as 'float32' or 'int64'.")
    try:
        result = _name(dtype)
    except TypeError:
        result = None
    if result not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r}; expected one of Keras's dtypes such as 'float32' or 'int64'.")
    return result


def is_float_dtype(dtype: Any) -> bool:
    """Whether `dtype` is a floating type (float16/32/64, bfloat16, float8)."""
    name = standardize_dtype(dtype)
    return name.startswith("float") or name.startswith("bfloat")


def is_int_dtype(dtype: Any) -> bool:
    """Whether `dtype` is a signed or unsigned integer type."""
    name = standardize_dtype(dtype)
    return name.startswith("int") or name.startswith("uint")
