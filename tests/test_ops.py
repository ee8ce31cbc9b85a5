"""Differential test of `kt.ops` against Keras 3's `keras.ops` (torch backend): one row per public op.

Each row calls the op by its dotted name in both libraries on equal inputs (numpy arrays, Python
scalars, lists) and asserts equal values (floats within a tolerance), equal structure and equal
dtypes. Rows that take callables or need special inputs build them with `call=`, a function of the
ops module, so both libraries still run the very same code.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from typing import Any, Callable

import numpy as np
import pytest
import torch

import keras
import kerastorch as kt

_rng = np.random.default_rng(0)


def F(*shape: int, lo: float = -2.0, hi: float = 2.0, dtype: str = "float32") -> np.ndarray:
    return _rng.uniform(lo, hi, shape).astype(dtype)


def P(*shape: int, dtype: str = "float32") -> np.ndarray:
    """Positive floats, for logs and roots."""
    return F(*shape, lo=0.5, hi=2.0, dtype=dtype)


def U(*shape: int) -> np.ndarray:
    """Floats in (-0.9, 0.9), for arcsin/arctanh."""
    return F(*shape, lo=-0.9, hi=0.9)


def I(*shape: int, lo: int = 0, hi: int = 5, dtype: str = "int32") -> np.ndarray:
    return _rng.integers(lo, hi, shape).astype(dtype)


def B(*shape: int) -> np.ndarray:
    return _rng.random(shape) > 0.5


def SPD(n: int, batch: tuple = ()) -> np.ndarray:
    """Symmetric positive definite matrices, for Cholesky and friends."""
    a = F(*batch, n, n)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n, dtype="float32")).astype("float32")


@dataclasses.dataclass
class Row:
    name: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)
    call: Callable | None = None  # call(ops) -> output, when the op needs callables or ops-built inputs
    ref: Callable | None = None  # numpy reference for the rare op where Keras's torch backend is wrong
    rtol: float = 1e-5
    atol: float = 1e-5
    id: str = ""


ROWS: list[Row] = []


def row(name: str, *args: Any, _call: Callable | None = None, _ref: Callable | None = None, _rtol: float = 1e-5,
        _atol: float = 1e-5, _id: str = "", **kwargs: Any) -> None:
    ROWS.append(Row(name, args, kwargs, _call, _ref, _rtol, _atol, _id))


# ---------------------------------------------------------------- numpy group
x23, y23 = F(2, 3), F(2, 3)
for _name in ["abs", "absolute", "negative", "sign", "square", "trunc", "copy", "ravel", "transpose", "fliplr",
              "flipud", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "signbit", "angle", "fabs", "ceil", "floor", "round", "cbrt", "exp", "exp2", "expm1", "sin",
              "cos", "tan", "sinh", "cosh", "tanh", "arctan", "arcsinh", "sinc", "deg2rad", "rad2deg", "i0",
              "logical_not", "zeros_like", "ones_like", "ndim", "size", "nonzero", "reciprocal",
              "corrcoef", "median", "nanmedian", "ptp"]:
    row(_name, x23)
for _name in ["sqrt", "log", "log10", "log1p", "log2", "arccosh"]:
    row(_name, P(2, 3) + (1 if _name == "arccosh" else 0))
for _name in ["arcsin", "arccos", "arctanh"]:
    row(_name, U(2, 3))
for _name in ["add", "subtract", "multiply", "divide", "true_divide", "maximum", "minimum", "fmax", "fmin",
              "arctan2", "hypot", "logaddexp", "logaddexp2", "equal", "not_equal", "greater", "greater_equal",
              "less", "less_equal", "heaviside", "nextafter", "isclose", "allclose", "divide_no_nan", "mod", "fmod",
              "floor_divide", "logical_and", "logical_or", "logical_xor"]:
    row(_name, x23, y23)
row("power", P(2, 3), y23)
row("add", I(2, 3), 2.5, _id="int_plus_float_scalar")
row("add", x23, 1, _id="float_plus_int_scalar")
row("multiply", I(2, 3, dtype="int8"), I(2, 3), _id="int8_int32")
row("divide", I(2, 3), I(2, 3, lo=1), _id="ints")
row("maximum", I(2, 3), 1.5, _id="int_float_scalar")
row("subtract", B(2, 3), I(2, 3), _id="bool_int")
row("mean", I(2, 3), _id="int")
row("sqrt", I(2, 3, dtype="int64"), _id="int64")
row("exp", I(2, 3), _id="int")
row("floor", I(2, 3), _id="int")
row("divide_no_nan", x23, np.array([[0, 1, 2], [3, 0, 1]], "float32"), _id="zeros")
for _name in ["gcd", "lcm", "bitwise_and", "bitwise_or", "bitwise_xor"]:
    row(_name, I(2, 3, lo=1, hi=20), I(2, 3, lo=1, hi=20))
for _name in ["bitwise_invert", "bitwise_not"]:
    row(_name, I(2, 3, lo=0, hi=20))
for _name in ["bitwise_left_shift", "bitwise_right_shift", "left_shift", "right_shift"]:
    row(_name, I(2, 3, lo=0, hi=20), I(2, 3, lo=0, hi=3))
row("ldexp", x23, I(2, 3))
xc = (F(2, 3) + 1j * F(2, 3)).astype("complex64")
for _name in ["real", "imag", "conj", "conjugate", "angle", "abs"]:
    row(_name, xc, _id="complex")
x234 = F(2, 3, 4)
for _name in ["sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "nansum", "nanmean", "nanmax",
              "nanmin", "nanprod", "nanstd", "nanvar", "any", "all", "argmax", "argmin", "ptp", "median",
              "nanmedian", "count_nonzero"]:
    row(_name, x234)
    # Keras transposes count_nonzero's result, which only agrees with numpy for 2-D reductions.
    row(_name, x23 if _name == "count_nonzero" else x234, axis=1, _id="axis1")
    if _name not in ("argmax", "argmin", "count_nonzero"):
        row(_name, x234, axis=(0, 2), keepdims=True, _id="axes_keepdims")
row("max", x234, axis=1, initial=0.5, _id="initial")
row("min", x234, axis=1, initial=-0.5, _id="initial")
row("sum", B(2, 3), _id="bool")
row("prod", I(2, 3, dtype="int8"), _id="int8")
xnan = F(3, 4)
xnan[0, 1] = xnan[2, 3] = np.nan
for _name in ["nansum", "nanmean", "nanmax", "nanmin", "nanprod", "nanstd", "nanvar", "nanargmax", "nanargmin",
              "nanmedian", "nancumsum", "nancumprod"]:
    row(_name, xnan, axis=1, _id="with_nan")
row("nanquantile", xnan, 0.3, axis=1, _id="with_nan")
row("nanpercentile", xnan, 30.0, axis=1, _id="with_nan")
row("nan_to_num", np.array([1.0, np.nan, np.inf, -np.inf], "float32"), nan=1.0, posinf=9.0)
row("nanargmax", x234, axis=2)
row("nanargmin", x234, axis=2)
row("nancumsum", x234, axis=1)
row("nancumprod", x234, axis=1)
row("cumsum", x234, axis=1)
row("cumsum", x234, _id="flat")
row("cumprod", x234, axis=2)
row("cumsum", B(2, 3), axis=0, _id="bool")
row("quantile", x234, 0.25, axis=1)
row("quantile", x234, np.array([0.1, 0.9], "float32"), axis=(0, 2), keepdims=True, _id="vector_q")
row("quantile", x234, 0.5, method="nearest", _id="nearest")
row("percentile", x234, 40.0, axis=2)
row("nanpercentile", x234, 40.0, axis=2)
row("nanquantile", x234, 0.4, axis=2)
row("average", x23, axis=1, weights=P(2, 3))  # Keras divides by the last axis's weight sum
row("average", x234)
row("argsort", x234, axis=1)
row("argsort", x234, axis=None, _id="flat")
row("sort", x234, axis=0)
row("argpartition", I(6, lo=0, hi=100), 2, _call=lambda ops: ops.sort(ops.argpartition(np.array([5, 1, 4, 2, 8, 7]), 2)[:3]))
row("arange", 5)
row("arange", 1, 7, 2)
row("arange", 0.5, 3.0, 0.5, _id="float")
row("arange", 6, dtype="float16", _id="dtype")
row("zeros", (2, 3))
row("ones", 3, dtype="int32")
row("zeros", 3, dtype=np.int16, _id="numpy_dtype")
row("empty", (2, 3), _call=lambda ops: ops.zeros_like(ops.empty((2, 3))))
row("empty_like", x23, _call=lambda ops: ops.shape(ops.empty_like(x23, dtype="int8")))
row("full", (2, 3), 7)
row("full", (2, 3), 7, dtype="int32", _id="int32")
row("full_like", x23, 2)
row("full_like", I(2, 3), 2.5, _id="int")
row("zeros_like", x23, dtype="int32", _id="dtype")
row("eye", 3)
row("eye", 3, 4, k=1, _id="rect_k")
row("identity", 3, dtype="int32")
row("tri", 3, 4, k=-1)
row("tril", F(4, 4), k=1)
row("triu", F(4, 4), k=-1)
row("linspace", 0.0, 1.0, 7)
row("linspace", 0.0, 1.0, 5, endpoint=False, retstep=True, _id="retstep")
row("linspace", np.array([0.0, 1.0], "float32"), np.array([2.0, 5.0], "float32"), 4, _id="arrays")
row("logspace", 0.0, 2.0, 5)
row("logspace", 0.0, 2.0, 4, endpoint=False, base=2, _id="base2")
row("geomspace", 1.0, 100.0, 5)
for _name in ["bartlett", "blackman", "hamming", "hanning"]:
    row(_name, 7)
row("kaiser", 7, 3.0)
row("meshgrid", F(3), F(4))
row("meshgrid", F(3), F(4), indexing="ij", _id="ij")
row("vander", F(4), N=3)
row("array", [[1, 2], [3, 4]])
row("array", [[1.0, 2.0]], dtype="float16", _id="dtype")
row("append", x23, y23)
row("append", x23, y23, axis=0, _id="axis0")
row("concatenate", [x23, y23, x23], axis=1)
row("stack", [x23, y23], axis=1)
row("hstack", [x23, y23])
row("vstack", [x23, y23])
row("dstack", [x23, y23])
row("split", F(6, 2), 3)
row("split", F(6, 2), [1, 4], _id="indices")
row("array_split", F(7, 2), 3)
row("hsplit", F(2, 6), 2)
row("vsplit", F(6, 2), 3)
row("dsplit", F(2, 2, 6), 3)
row("reshape", x234, (4, 6))
row("reshape", x234, -1, _id="flat")
row("transpose", x234, (2, 0, 1), _id="axes")
row("swapaxes", x234, 0, 2)
row("moveaxis", x234, 0, -1)
row("expand_dims", x23, 1)
row("expand_dims", x23, (0, 3), _id="two_axes")
row("squeeze", F(2, 1, 3, 1))
row("squeeze", F(2, 1, 3, 1), axis=1, _id="axis")
row("broadcast_to", F(1, 3), (4, 3))
row("flip", x234, axis=1)
row("flip", x234, _id="all")
row("rot90", x234, k=3, axes=(1, 2))
row("roll", x234, 2, axis=2)
row("roll", x234, 3, _id="flat")
row("tile", x23, (2, 2))
row("repeat", x23, 2, axis=1)
row("repeat", x23, np.array([1, 2]), axis=0, _id="per_row")
row("repeat", x23, 2, _id="flat")
row("get_item", x234, (slice(None), 1, slice(0, 2)))
row("take", x234, np.array([[0, 2], [1, -1]]), axis=1)
row("take", x234, np.array([3, 5]), _id="flat")
row("take_along_axis", x234, I(2, 3, 2, hi=4), axis=2)
row("diag", F(3))
row("diag", F(3, 4), k=1, _id="extract")
row("diagflat", F(2, 2), k=-1)
row("diagonal", x234, offset=1, axis1=1, axis2=2)
row("trace", F(3, 3))
row("trace", I(3, 4, 5, dtype="int8"), offset=1, axis1=1, axis2=2, _id="int8")
row("diff", x234, n=2, axis=2)
row("trapezoid", F(5))
row("trapezoid", F(2, 5), x=np.arange(5, dtype="float32"), _id="x")
row("pad", x23, ((1, 2), (0, 1)))
row("pad", x23, ((1, 1), (2, 1)), mode="reflect", _id="reflect")
row("pad", x23, ((1, 1), (2, 0)), constant_values=3.0, _id="value")
# Keras's torch backend pads "symmetric" as "replicate" and lacks "edge"/"wrap"; numpy is the reference.
for _mode in ["symmetric", "edge", "wrap"]:
    row("pad", x234, ((0, 1), (2, 1), (1, 3)), mode=_mode, _ref=lambda x, w, mode: np.pad(x, w, mode=mode), _id=_mode)
row("where", B(2, 3), x23, y23)
row("where", B(2, 3), x23, 0.0, _id="scalar")
row("where", B(2, 3), _id="indices")
row("select", [B(2, 3), B(2, 3)], [x23, y23], default=-1.0)
row("clip", x23, -0.5, 0.5)
row("clip", I(2, 3), 1, 3, _id="int")
row("searchsorted", np.sort(F(6)), F(4))
row("searchsorted", np.sort(F(6)), F(4), side="right", _id="right")
row("digitize", F(6), np.array([-1.0, 0.0, 1.0], "float32"))
row("bincount", I(8))
row("bincount", I(8), weights=F(8), minlength=7, _id="weights")
row("bincount", I(3, 4), minlength=5, _id="rows")  # Keras stacks unequal rows without minlength
row("bincount", I(3, 4), weights=F(3, 4), minlength=8, _id="rows_weights")
row("histogram", F(20), bins=5)
row("histogram", F(20), bins=4, range=(-1.0, 1.0), _id="range")
row("unique", np.array([3, 1, 3, 2, 1]))
row("unique", np.array([3, 1, 3, 2, 1]), return_index=True, return_inverse=True, return_counts=True, _id="all")
row("unique", np.array([3, 1, 3, 2, 1]), size=5, fill_value=-1, _id="size")
row("unravel_index", np.array([1, 5, 7]), (2, 4))
row("isin", I(2, 3), np.array([1, 3]))
row("isin", I(2, 3), np.array([1, 3]), invert=True, _id="invert")
row("matmul", x23, F(3, 4))
row("matmul", F(2, 2, 3), F(3, 4), _id="batched")
row("matmul", I(2, 3), I(3, 2), _id="int")
row("dot", x23, F(3, 4))
row("dot", F(3), F(3), _id="vectors")
row("dot", x23, 2.0, _id="scalar")
row("vdot", F(4), F(4))
row("inner", x23, F(4, 3))
row("outer", F(3), F(2))
row("tensordot", x234, F(3, 4, 5), axes=2)
row("tensordot", x234, F(4, 2), axes=([2], [0]), _id="axes")
row("kron", F(2, 2), F(2, 3))
row("cross", F(4, 3), F(4, 3))
row("einsum", "ij,jk->ik", x23, F(3, 4))
row("einsum", "bij->b", x234, _id="reduce")
row("correlate", F(6), F(3))
row("correlate", F(6), F(3), mode="same", _id="same")
row("correlate", F(6), F(3), mode="full", _id="full")
row("slogdet", SPD(3))
row("view", x23, "int32")
x3 = F(3)
row("vectorize", _call=lambda ops: ops.vectorize(lambda a, b: a * 2 + b)(x23, x3))
row("vectorize", _call=lambda ops: ops.vectorize(lambda a: ops.sum(a), signature="(n)->()")(x234), _id="signature")


def test_vectorize_excluded_arguments_pass_through() -> None:
    scaled = kt.ops.vectorize(lambda a, k: a * k, excluded={1})(x23, 3.0)
    np.testing.assert_allclose(scaled.numpy(), x23 * 3.0, rtol=1e-6)

# ---------------------------------------------------------------- nn group
for _name in ["relu", "relu6", "sigmoid", "sparse_sigmoid", "tanh_shrink", "softplus", "softsign", "soft_shrink",
              "hard_shrink", "sparse_plus", "silu", "swish", "squareplus", "log_sigmoid", "leaky_relu",
              "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "elu", "selu", "celu", "gelu", "glu",
              "softmax", "log_softmax"]:
    row(_name, F(2, 3, 4, lo=-3, hi=3))
row("gelu", x234, approximate=False, _id="exact")
row("leaky_relu", x234, negative_slope=0.1, _id="slope")
row("elu", x234, alpha=0.5, _id="alpha")
row("celu", x234, alpha=0.5, _id="alpha")
row("squareplus", x234, b=2, _id="b")
row("soft_shrink", x234, threshold=1.0, _id="threshold")
row("glu", F(2, 4, 3), axis=1, _id="axis")
row("softmax", x234, axis=1, _id="axis1")
row("softmax", x234, axis=(1, 2), _id="axes")
row("log_softmax", x234, axis=0, _id="axis0")


def _np_sparsemax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Reference sparsemax (Martins & Astudillo 2016); Keras's torch version sums the wrong cumulative sums."""
    z = np.moveaxis(x, axis, -1)
    s = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    cums = np.cumsum(s, axis=-1)
    support = (1 + k * s > cums).sum(-1, keepdims=True)
    tau = (np.take_along_axis(cums, support - 1, -1) - 1) / support
    return np.moveaxis(np.maximum(z - tau, 0), -1, axis).astype(x.dtype)


row("sparsemax", F(2, 3, 4, lo=-3, hi=3), _ref=_np_sparsemax)
row("sparsemax", x234, axis=1, _ref=_np_sparsemax, _id="axis1")
row("threshold", x234, 0.3, -1.0)
img = F(2, 7, 6, 3)
for _name in ["max_pool", "average_pool"]:
    row(_name, img, 2)
    row(_name, img, (3, 2), strides=2, padding="same", _id="same")
    row(_name, F(2, 3, 7, 6), 3, strides=(2, 1), data_format="channels_first", _id="channels_first")
    row(_name, F(2, 9, 4), 3, strides=2, padding="same", _id="1d")
    row(_name, F(1, 5, 4, 6, 2), 2, padding="same", _id="3d")
row("adaptive_average_pool", img, (3, 2))
row("adaptive_max_pool", img, 2)
row("adaptive_average_pool", F(2, 3, 7, 6), 4, data_format="channels_first", _id="channels_first")
row("adaptive_max_pool", F(2, 9, 3), 4, _id="1d")
row("conv", img, F(3, 3, 3, 4))
row("conv", img, F(3, 2, 3, 4), strides=2, padding="same", _id="same_strided")
row("conv", img, F(2, 2, 3, 4), padding="same", dilation_rate=2, _id="dilated")
row("conv", img, F(3, 3, 1, 6), _id="grouped")
row("conv", F(2, 3, 7, 6), F(3, 3, 3, 4), data_format="channels_first", _id="channels_first")
row("conv", F(2, 9, 3), F(4, 3, 2), strides=2, padding="same", _id="1d")
row("conv", F(1, 5, 4, 6, 2), F(2, 2, 2, 2, 3), padding="same", _id="3d")
row("depthwise_conv", img, F(3, 3, 3, 2), padding="same")
row("depthwise_conv", img, F(2, 2, 3, 1), strides=2, _id="strided")
row("separable_conv", img, F(3, 3, 3, 2), F(1, 1, 6, 4), padding="same")
row("separable_conv", img, F(2, 2, 3, 1), F(1, 1, 3, 2), strides=2, _id="strided")
row("depthwise_conv", img, F(3, 3, 3, 1), padding="same", dilation_rate=2, _id="dilated")
row("conv_transpose", img, F(3, 3, 4, 3))
row("conv_transpose", img, F(3, 3, 4, 3), strides=2, padding="same", _id="same_strided")
row("conv_transpose", img, F(2, 2, 4, 3), strides=2, output_padding=1, _id="output_padding")
row("conv_transpose", F(2, 9, 3), F(4, 5, 3), strides=3, padding="same", _id="1d")
row("conv_transpose", img, F(3, 3, 2, 3), strides=1, padding="same", dilation_rate=2, _id="dilated")
row("conv_transpose", F(2, 3, 7, 6), F(2, 3, 4, 3), strides=(2, 1), data_format="channels_first", _id="channels_first")
row("conv_transpose", F(1, 3, 4, 5, 2), F(2, 2, 2, 3, 2), strides=2, padding="same", _id="3d")
# Keras's unfold/fold take torch tensors only.
row("unfold", torch.from_numpy(F(2, 3, 6, 5)), 3, padding=1, stride=2)
row("fold", torch.from_numpy(F(2, 12, 12)), (4, 5), 2)
row("depth_to_space", F(2, 3, 4, 8), 2)
row("depth_to_space", F(2, 8, 3, 4), 2, data_format="channels_first", _id="channels_first")
row("space_to_depth", F(2, 4, 6, 3), 2)
row("space_to_depth", F(2, 3, 4, 6), 2, data_format="channels_first", _id="channels_first")
row("one_hot", np.array([0, 2, -1, 3]), 4)
row("one_hot", I(2, 3, hi=4), 4, axis=1, dtype="int32", _id="axis_dtype")
row("multi_hot", np.array([[0, 2], [1, 1]]), 4)
row("multi_hot", np.array([0, 2, 3]), 5, dtype="int32", _id="1d")
row("moments", x234, (0, 2))
row("moments", x234, 1, keepdims=True, _id="keepdims")
row("batch_normalization", x234, F(4), P(4), axis=-1, offset=F(4), scale=F(4))
row("batch_normalization", x234, F(3), P(3), axis=1, epsilon=0.1, _id="axis1")
row("layer_normalization", x234, F(4), F(4))
row("layer_normalization", x234, None, None, axis=(1, 2), epsilon=0.01, _id="two_axes")


def _np_layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-7):
    mean, var = x.mean(axis, keepdims=True), x.var(axis, keepdims=True)
    shape = [1] * x.ndim
    shape[axis] = -1
    out = (x - mean) / np.sqrt(var + epsilon) * gamma.reshape(shape) + beta.reshape(shape)
    return out.astype(x.dtype)


def _np_rms_norm(x, scale=None, axis=-1, epsilon=1e-3):
    return (x / np.sqrt((x * x).mean(axis, keepdims=True) + epsilon)).astype(x.dtype)


# Keras's torch backend hands a single non-last axis to F.layer_norm/rms_norm, which fails.
row("layer_normalization", x234, F(3), F(3), axis=1, _ref=_np_layer_norm, _id="middle_axis")
row("layer_normalization", x234, F(4), rms_scaling=True, _id="rms_scaling")  # deprecated in Keras, still accepted
row("rms_normalization", x234, F(4))
row("rms_normalization", x234, None, axis=1, epsilon=0.1, _ref=_np_rms_norm, _id="middle_axis")
row("normalize", x234)
row("normalize", x234, axis=1, order=1, _id="l1")
row("binary_crossentropy", B(2, 3).astype("float32"), F(2, 3, lo=0.05, hi=0.95))
row("binary_crossentropy", B(2, 3).astype("float32"), x23, from_logits=True, _id="logits")
probs = F(2, 3, 4, lo=0.05, hi=1.0)
onehot = np.eye(4, dtype="float32")[I(2, 3, hi=4)]
row("categorical_crossentropy", onehot, probs)
row("categorical_crossentropy", onehot, x234, from_logits=True, _id="logits")
row("categorical_crossentropy", np.moveaxis(onehot, -1, 1), np.moveaxis(probs, -1, 1), axis=1, _id="axis1")
row("sparse_categorical_crossentropy", I(2, 3, hi=4), probs)
row("sparse_categorical_crossentropy", I(2, 3, hi=4), x234, from_logits=True, _id="logits")
row("sparse_categorical_crossentropy", I(2, 3, 1, hi=4), x234, from_logits=True, _id="keepdim_target")
row("psnr", P(2, 4, 4, 3), P(2, 4, 4, 3), 2.0)
row("polar", P(2, 3), x23)
ctc_logits = F(2, 6, 5, lo=-3, hi=3)
row("ctc_loss", np.array([[1, 2, 2], [3, 1, 0]]), ctc_logits, np.array([3, 2]), np.array([6, 5]))
row("ctc_decode", ctc_logits, np.array([6, 4]))
row("ctc_decode", ctc_logits, np.array([6, 4]), merge_repeated=False, mask_index=4, _id="no_merge")
row("ctc_decode", ctc_logits, np.array([6, 4]), strategy="beam_search", beam_width=4, top_paths=2, _id="beam")
q, kv = F(2, 5, 4, 8), F(2, 6, 2, 8)
row("dot_product_attention", q, F(2, 5, 4, 8), F(2, 5, 4, 8))
row("dot_product_attention", q, kv, F(2, 6, 2, 8), mask=B(2, 4, 5, 6) | np.eye(5, 6, dtype=bool), _id="gqa_mask")
row("dot_product_attention", q, F(2, 5, 4, 8), F(2, 5, 4, 8), is_causal=True, scale=0.5, _id="causal")
row("dot_product_attention", q, kv, F(2, 6, 2, 8), bias=F(2, 4, 5, 6), _id="bias")

# ---------------------------------------------------------------- math group
seg_data, seg_ids = F(6, 3), np.array([0, 0, 1, 3, 3, 3])
for _name in ["segment_sum", "segment_max", "segment_min", "segment_prod"]:
    row(_name, seg_data, seg_ids)
    row(_name, seg_data, seg_ids, num_segments=3, _id="num_segments")
row("segment_sum", I(6, 2), seg_ids, _id="int")
row("top_k", F(3, 6), 3)
F63 = F(3, 6)
row("top_k", _call=lambda ops: ops.sort(ops.top_k(F63, 2, sorted=False)[0]), _id="unsorted")
row("in_top_k", np.array([1, 4, 0]), F(3, 5), 2)
row("logsumexp", x234)
row("logsumexp", x234, axis=1, keepdims=True, _id="axis")
row("cdist", F(2, 4, 3), F(2, 5, 3))
row("extract_sequences", F(2, 10), 4, 2)
pair = (F(2, 8), F(2, 8))
row("fft", pair)
row("fft2", (F(2, 4, 6), F(2, 4, 6)))
row("ifft2", (F(2, 4, 6), F(2, 4, 6)))
row("rfft", F(2, 8))
row("rfft", F(2, 8), fft_length=6, _id="length")
row("irfft", (F(2, 5), F(2, 5)))
row("irfft", (F(2, 5), F(2, 5)), fft_length=9, _id="length")
signal = F(2, 40)
row("stft", signal, 8, 4, 8)
row("stft", signal, 6, 3, 16, window="hamming", center=False, _id="hamming_uncentered")
row("stft", signal, 8, 4, 8, window=None, _id="no_window")
spec = (F(2, 11, 5), F(2, 11, 5))
row("istft", spec, 8, 4, 8, _atol=1e-4)
row("istft", spec, 6, 2, 8, length=20, _atol=1e-4, _id="padded_window")
row("istft", spec, 8, 4, 8, center=False, window="hamming", _atol=1e-4, _id="uncentered")
row("rsqrt", P(2, 3))
row("erf", x23)
row("erfc", x23)
row("erfinv", U(2, 3))
row("logdet", SPD(3, (2,)))
row("view_as_complex", F(2, 3, 2))
row("view_as_real", xc)

# ---------------------------------------------------------------- linalg group
spd = SPD(3)
lower = np.linalg.cholesky(spd).astype("float32")
row("cholesky", spd)
row("cholesky", SPD(3, (2,)), upper=True, _id="upper_batched")
row("cholesky_inverse", lower)
row("cholesky_inverse", np.ascontiguousarray(lower.T), upper=True, _id="upper")
row("det", F(2, 3, 3))
row("eig", F(3, 3), _rtol=1e-4, _atol=1e-4)
row("eigh", spd, _rtol=1e-4, _atol=1e-4)
row("inv", spd)
row("lu_factor", F(2, 3, 3))
row("matrix_rank", F(4, 3))
row("matrix_rank", np.ones((3, 3), "float32"), tol=0.5, _id="tol")
row("norm", x234)
row("norm", x234, ord=1, axis=1, _id="ord1")
row("norm", x234, ord="fro", axis=(1, 2), keepdims=True, _id="fro")
row("norm", I(2, 3), _id="int")
row("pinv", F(4, 3), _rtol=1e-4, _atol=1e-4)
row("qr", F(4, 3))
row("qr", F(4, 3), mode="complete", _id="complete")
row("solve", spd, F(3, 2))
row("solve_triangular", lower, F(3, 2), lower=True)
row("solve_triangular", np.ascontiguousarray(lower.T), F(3), _id="vector_upper")
row("svd", F(4, 3), _rtol=1e-4, _atol=1e-4)
row("svd", F(4, 3), full_matrices=False, _rtol=1e-4, _atol=1e-4, _id="reduced")
row("svd", F(4, 3), compute_uv=False, _id="values")
row("lstsq", F(5, 3), F(5, 2), _rtol=1e-4, _atol=1e-4)
jp, jt = torch.from_numpy(F(3)), torch.from_numpy(F(3))
row("jvp", _call=lambda ops: ops.linalg.jvp(lambda v: ops.sin(v) * v, (jp,), (jt,)))
row("jvp", _call=lambda ops: ops.linalg.jvp(lambda v: (ops.exp(v), ops.sum(v)), (jp,), (jt,), has_aux=True), _id="aux")

# ---------------------------------------------------------------- core group
row("convert_to_tensor", np.zeros((2, 3)))
row("convert_to_tensor", [[1, 2], [3, 4]], _id="int_list")
row("convert_to_tensor", [1.5, 2], _id="float_list")
row("convert_to_tensor", 3, _id="int_scalar")
row("convert_to_tensor", 2.5, _id="float_scalar")
row("convert_to_tensor", True, _id="bool_scalar")
row("convert_to_tensor", x23, dtype="float16", _id="dtype")
row("convert_to_tensor", np.arange(4, dtype="uint8"), _id="uint8")
row("convert_to_numpy", torch.from_numpy(x23))
row("cast", x23, "int32")
row("cast", I(2, 3), "bfloat16", _id="bfloat16")
row("saturate_cast", np.array([-3.0, 100.5, 300.0, np.inf], "float32"), "uint8")
sat = np.array([-3e10, 5.5, 3e10], "float32")
# Keras wraps the top value to int32's minimum; the largest float32 below 2**31 is the saturated value.
row("saturate_cast", sat, "int32", _ref=lambda x, d: np.clip(x, -2.0**31, 2.0**31 - 128).astype(d), _id="int32")
row("saturate_cast", np.array([-300, 5, 70000], "int32"), "int16", _id="int_to_int16")
row("dtype", x23)
row("dtype", I(2, 3, dtype="int64"), _id="int64")
row("shape", x234)
row("is_tensor", x23)
row("is_tensor", torch.from_numpy(x23), _id="tensor")
row("slice", x234, (0, 1, 1), (2, 2, 3))
row("slice_update", x234, (0, 1, 1), F(1, 2, 2))
row("scatter", np.array([[0, 1], [2, 0], [0, 1]]), np.array([1.0, 2.0, 3.0], "float32"), (3, 2))
row("scatter", np.array([[1], [0]]), F(2, 3), (3, 3), _id="rows")
row("scatter_update", x234, np.array([[0, 1, 2], [1, 2, 3]]), np.array([9.0, 8.0], "float32"))
row("scatter_update", x234, np.array([[1, 0]]), F(1, 4), _id="rows")
row("stop_gradient", torch.from_numpy(x23))  # Keras takes tensors only here
row("unstack", torch.from_numpy(x234), axis=1)
row("cond", _call=lambda ops: ops.cond(ops.greater(ops.sum(x23), 100.0), lambda: ops.ones(2), lambda: ops.zeros(2)))
row("cond", _call=lambda ops: ops.cond(True, lambda: ops.ones(2), lambda: ops.zeros(2)), _id="python_pred")
row("switch", _call=lambda ops: ops.switch(1, [lambda a: a + 1, lambda a: a * 2], x23))
row("switch", _call=lambda ops: ops.switch(5, [lambda a: a + 1, lambda a: a * 2], x23), _id="clamped")
row("fori_loop", _call=lambda ops: ops.fori_loop(0, 4, lambda i, v: v * 2 + i, ops.ones(3)))
row("while_loop", _call=lambda ops: ops.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), (0, ops.ones(2))))
row("while_loop", _call=lambda ops: ops.while_loop(lambda v: ops.sum(v) < 50, lambda v: v * 2, ops.ones(2)),
    _id="single")
row("while_loop", _call=lambda ops: ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0, maximum_iterations=4),
    _id="max_iterations")
row("map", _call=lambda ops: ops.map(lambda v: ops.sum(v) * v, x234))
row("scan", _call=lambda ops: ops.scan(lambda c, v: (c + v, c * v), ops.zeros(4), x234[0]))
row("scan", _call=lambda ops: ops.scan(lambda c, v: (c + v, c), ops.zeros(4), x234[0], reverse=True), _id="reverse")
row("scan", _call=lambda ops: ops.scan(lambda c, _: (c * 2, c), ops.ones(2), None, length=3), _id="length")
x9 = F(9, 2)
row("associative_scan", _call=lambda ops: ops.associative_scan(ops.add, x9))
row("associative_scan", _call=lambda ops: ops.associative_scan(ops.multiply, x234, axis=2, reverse=True), _id="reverse")
row("associative_scan", _call=lambda ops: ops.associative_scan(lambda a, b: (a[0] + b[0], ops.maximum(a[1], b[1])),
                                                               (x9, x9 * 2)), _id="tuple")
row("vectorized_map", _call=lambda ops: ops.vectorized_map(lambda v: ops.sum(v * v), torch.from_numpy(x234)))


def _custom_gradient_result(ops: Any) -> tuple:
    @ops.custom_gradient
    def softplus3(x):
        e = ops.exp(x)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return ops.multiply(upstream, 3.0 - 1.0 / ops.add(1, e))

        return ops.log(1 + e), grad

    x = torch.tensor(x23, requires_grad=True)
    y = softplus3(x)
    y.sum().backward()
    return y.detach(), x.grad


row("custom_gradient", _call=_custom_gradient_result)

# ---------------------------------------------------------------- einops
images = F(2, 4, 6, 3)
row("rearrange", images, "b h w c -> b c h w")
row("rearrange", images, "b h w c -> (b h) w c", _id="merge")
row("rearrange", images, "b (h1 h) (w1 w) c -> (b h1 w1) h w c", h1=2, w1=3, _id="split")
row("rearrange", images, "b (h h1) (w w1) c -> b h w (c h1 w1)", h1=2, w1=2, _id="space_to_depth")

# ---------------------------------------------------------------- image group
pics = F(2, 8, 10, 3, lo=0.0, hi=1.0)
pics_cf = np.ascontiguousarray(np.moveaxis(pics, -1, 1))
row("image.rgb_to_grayscale", pics)
row("image.rgb_to_grayscale", pics_cf, data_format="channels_first", _id="channels_first")
row("image.rgb_to_hsv", pics)
row("image.hsv_to_rgb", pics)
row("image.rgb_to_hsv", pics_cf, data_format="channels_first", _id="channels_first")
row("image.resize", pics, (5, 7))
row("image.resize", pics, (16, 13), interpolation="nearest", _id="nearest")
row("image.resize", pics, (5, 4), interpolation="bicubic", antialias=True, _id="bicubic_antialias")
row("image.resize", pics, (6, 6), crop_to_aspect_ratio=True, _id="crop")
row("image.resize", pics, (6, 6), pad_to_aspect_ratio=True, fill_value=0.5, _id="pad")
row("image.resize", pics_cf[0], (4, 5), data_format="channels_first", _id="single_channels_first")
row("image.resize", (pics * 255).astype("uint8"), (5, 7), _id="uint8")
# Keras's torch backend has neither "area" nor Lanczos resizing: block means and scale_and_translate are the references.
row("image.resize", pics, (4, 5), interpolation="area",
    _ref=lambda x, size, interpolation: x.reshape(2, 4, 2, 5, 2, 3).mean(axis=(2, 4)), _id="area")


def _lanczos_reference(x, size, interpolation):
    scale = np.array([size[0] / x.shape[1], size[1] / x.shape[2]], "float32")
    return keras.ops.image.scale_and_translate(x, (x.shape[0], *size, x.shape[3]), scale, np.zeros(2, "float32"),
                                               (1, 2), interpolation, antialias=False)


row("image.resize", pics, (5, 6), interpolation="lanczos3", _ref=_lanczos_reference, _id="lanczos3")
row("image.scale_and_translate", pics, (2, 5, 6, 3), np.array([0.6, 0.7], "float32"), np.array([0.5, -1.0], "float32"),
    (1, 2), "bilinear")
row("image.scale_and_translate", pics, (2, 12, 9, 3), np.array([1.5, 0.9], "float32"), np.array([0.0, 1.0], "float32"),
    (1, 2), "bicubic", antialias=False, _id="cubic")
row("image.scale_and_translate", pics, (2, 4, 5, 3), np.array([0.5, 0.5], "float32"), np.zeros(2, "float32"), (1, 2),
    "lanczos3", _id="lanczos3")
row("image.scale_and_translate", pics, (2, 4, 5, 3), np.array([0.5, 0.5], "float32"), np.zeros(2, "float32"), (1, 2),
    "lanczos5", _id="lanczos5")
affine = np.array([[0.9, -0.2, 1.5, 0.1, 1.1, -0.7, 0.0, 0.0], [1.2, 0.0, -2.0, 0.0, 0.8, 1.0, 0.0, 0.0]], "float32")
for _mode in ["constant", "nearest", "wrap", "mirror", "reflect"]:
    row("image.affine_transform", pics, affine, fill_mode=_mode, fill_value=0.25, _id=_mode)
row("image.affine_transform", pics[0], affine[0], interpolation="nearest", _id="nearest_single")
row("image.affine_transform", pics_cf, affine, data_format="channels_first", _id="channels_first")
coords = np.stack([F(5, 6, lo=-1, hi=9), F(5, 6, lo=-1, hi=11)])
for _mode in ["constant", "nearest", "wrap", "mirror", "reflect"]:
    row("image.map_coordinates", pics[0, :, :, 0], coords, 1, fill_mode=_mode, fill_value=0.5, _id=_mode)
row("image.map_coordinates", pics[0, :, :, 0], coords, 0, _id="order0")
start = np.array([[0, 0], [9, 0], [0, 7], [9, 7]], "float32")
end = np.array([[1, 1], [8, 0], [0, 6], [9, 7]], "float32")
row("image.perspective_transform", pics, start, end)
row("image.perspective_transform", pics, start, end, interpolation="nearest", fill_value=1.0, _id="nearest")
row("image.gaussian_blur", pics, (3, 3), (1.0, 1.0), data_format="channels_last")
row("image.gaussian_blur", pics_cf, (5, 5), (1.5, 1.5), data_format="channels_first", _id="channels_first")


def _np_gaussian_blur(images, kernel_size, sigma, data_format=None):
    """Keras documents (height, width) for both arguments; its torch backend swaps them for non-square kernels."""
    def gauss(size, s):
        g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / s) ** 2)
        return g / g.sum()
    kernel = np.outer(gauss(kernel_size[0], sigma[0]), gauss(kernel_size[1], sigma[1]))
    ph, pw = kernel_size[0] // 2, kernel_size[1] // 2
    padded = np.pad(images, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    out = np.zeros_like(images)
    for i in range(kernel_size[0]):
        for j in range(kernel_size[1]):
            out += kernel[i, j] * padded[:, i:i + images.shape[1], j:j + images.shape[2]]
    return out.astype(images.dtype)


row("image.gaussian_blur", pics, (5, 3), (2.0, 0.7), _ref=_np_gaussian_blur, _id="non_square")


def _elastic(ops: Any) -> Any:
    torch.manual_seed(7)  # Keras's torch backend draws the displacement noise from torch's global generator
    return ops.image.elastic_transform(pics, alpha=3.0, sigma=1.0, data_format="channels_last")


row("image.elastic_transform", _call=_elastic, _atol=1e-4)


def test_elastic_transform_seed_is_reproducible() -> None:
    first = kt.ops.image.elastic_transform(pics, alpha=3.0, sigma=1.0, seed=3)
    assert torch.equal(first, kt.ops.image.elastic_transform(pics, alpha=3.0, sigma=1.0, seed=3))
    assert not torch.equal(first, kt.ops.image.elastic_transform(pics, alpha=3.0, sigma=1.0, seed=4))
    generator = kt.random.SeedGenerator(5)
    assert not torch.equal(kt.ops.image.elastic_transform(pics, seed=generator),
                           kt.ops.image.elastic_transform(pics, seed=generator))
row("image.extract_patches", pics, 2)
row("image.extract_patches", pics, (3, 2), strides=(2, 3), padding="same", _id="same")
row("image.extract_patches", pics, 3, strides=1, dilation_rate=2, _id="dilated")
row("image.extract_patches", pics_cf, 3, strides=2, data_format="channels_first", _id="channels_first")
row("image.extract_patches_3d", F(2, 4, 6, 6, 2), 2)
row("image.extract_patches_3d", F(4, 6, 6, 2), (2, 3, 3), strides=(1, 2, 3), _id="unbatched")
row("image.pad_images", pics, 1, 2, 3, 0)
row("image.pad_images", pics_cf, top_padding=1, left_padding=0, target_height=12, target_width=12,
    data_format="channels_first", _id="targets")
row("image.crop_images", pics, 1, 2, 3, 1)
row("image.crop_images", pics[0], top_cropping=1, left_cropping=2, target_height=4, target_width=5, _id="targets")
row("image.sobel_edges", pics)
row("image.sobel_edges", pics_cf, data_format="channels_first", _id="channels_first")
row("image.ssim", pics, np.clip(pics + F(2, 8, 10, 3, lo=-0.1, hi=0.1), 0, 1), filter_size=5)
row("image.ssim", pics[0], pics[0] * 0.8, max_val=2.0, filter_size=3, filter_sigma=1.0, _id="single")

# ---------------------------------------------------------------- comparison machinery


def _resolve(module: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _leaves(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in _leaves(value[k])]
    return [value]


def _as_numpy(value: Any) -> tuple[np.ndarray, str]:
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype).removeprefix("torch.")
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.numpy(), dtype
    if isinstance(value, np.ndarray):
        return value, str(value.dtype)
    return np.asarray(value), type(value).__name__


def _compare(ours: Any, theirs: Any, r: Row) -> None:
    a, b = _leaves(ours), _leaves(theirs)
    if len(a) != len(b) and len(b) == 1 and isinstance(b[0], torch.Tensor) and b[0].ndim and b[0].shape[0] == len(a):
        b = list(b[0])  # Keras returns some index tuples (nonzero) stacked in one tensor
    assert len(a) == len(b), f"{len(a)} outputs, Keras gives {len(b)}"
    for i, (u, v) in enumerate(zip(a, b)):
        (un, ud), (vn, vd) = _as_numpy(u), _as_numpy(v)
        assert ud == vd, f"output {i}: dtype {ud}, Keras gives {vd}"
        assert un.shape == vn.shape, f"output {i}: shape {un.shape}, Keras gives {vn.shape}"
        if un.dtype.kind in "fc":
            np.testing.assert_allclose(un, vn, rtol=r.rtol, atol=r.atol, equal_nan=True, err_msg=f"output {i}")
        else:
            np.testing.assert_array_equal(un, vn, err_msg=f"output {i}")


def _run(module: Any, r: Row) -> Any:
    if r.call is not None:
        return r.call(module)
    return _resolve(module, r.name)(*r.args, **r.kwargs)


def _row_id(r: Row) -> str:
    return r.name + (f"-{r.id}" if r.id else "")


@pytest.mark.parametrize("r", ROWS, ids=[_row_id(r) for r in ROWS])
def test_op_matches_keras(r: Row) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You passed `rms_scaling=True`")
        theirs = r.ref(*r.args, **r.kwargs) if r.ref is not None else _run(keras.ops, r)
    ours = _run(kt.ops, r)
    _compare(ours, theirs, r)


# Ops whose output shape depends on the values (or that read values on the host): they cannot run on
# `meta` tensors, so on symbolic inputs they need their value-dependent arguments given statically.
VALUE_DEPENDENT = {"nonzero", "where-indices", "bincount", "bincount-weights", "bincount-rows", "bincount-rows_weights", "unique", "unique-all", "unique-size",
                   "segment_sum", "segment_max", "segment_min", "segment_prod", "segment_sum-int", "convert_to_numpy",
                   "repeat-per_row"}
META_ROWS = [r for r in ROWS if r.call is None and r.ref is None and _row_id(r) not in VALUE_DEPENDENT
             and any(isinstance(a, (np.ndarray, torch.Tensor)) for a in _leaves(r.args))]


def _to_meta(value: Any) -> Any:
    if isinstance(value, (np.ndarray, torch.Tensor)) and getattr(value, "dtype", None) != object:
        return torch.empty_like(kt.ops.convert_to_tensor(value), device="meta")
    if isinstance(value, (list, tuple)) and any(isinstance(v, (np.ndarray, torch.Tensor)) for v in value):
        return type(value)(_to_meta(v) for v in value)
    return value


@pytest.mark.slow
def test_ops_run_on_meta_tensors_with_the_same_shapes_and_dtypes() -> None:
    """Symbolic calls infer shapes by running the op on `meta` tensors: every value-independent op must
    run there and give the shapes and dtypes of a real run."""
    failures = []
    for r in META_ROWS:
        op = _resolve(kt.ops, r.name)
        real = _leaves(op(*r.args, **r.kwargs))
        try:
            meta = _leaves(op(*[_to_meta(a) for a in r.args], **{k: _to_meta(v) for k, v in r.kwargs.items()}))
        except Exception as error:  # collect every failure, then report them together
            failures.append(f"{_row_id(r)}: {type(error).__name__}: {str(error)[:80]}")
            continue
        for a, b in zip(real, meta):
            if isinstance(a, torch.Tensor) and (a.shape != b.shape or a.dtype != b.dtype or b.device.type != "meta"):
                failures.append(f"{_row_id(r)}: real {tuple(a.shape)} {a.dtype}, meta {tuple(b.shape)} {b.dtype} {b.device}")
    assert len(META_ROWS) > 450 and not failures, failures


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "bfloat16", "float16", "float32", "float64"]
BINARY = ["add", "subtract", "multiply", "divide", "floor_divide", "mod", "fmod", "power", "maximum", "minimum", "fmax",
          "arctan2", "hypot", "logaddexp", "logaddexp2", "heaviside", "nextafter", "equal", "less", "logical_and",
          "divide_no_nan", "isclose", "gcd", "bitwise_and", "matmul", "dot", "inner", "outer", "vdot", "kron", "append"]
UNARY = ["abs", "fabs", "negative", "sign", "square", "sqrt", "cbrt", "exp", "expm1", "log", "log1p", "sin", "tan",
         "arcsin", "tanh", "ceil", "floor", "round", "trunc", "sinc", "deg2rad", "i0", "reciprocal", "mean", "sum",
         "prod", "max", "std", "var", "median", "cumsum", "cumprod", "argmax", "argsort", "sort", "all", "any",
         "count_nonzero", "nan_to_num", "nansum", "nanmean", "nanmax", "nanprod", "nanvar", "isnan", "signbit", "real",
         "clip", "ptp", "average", "trace", "relu", "sigmoid", "softmax", "gelu", "erf", "rsqrt", "logsumexp",
         "corrcoef", "quantile", "diff", "logical_not", "bitwise_invert", "zeros_like", "full_like"]
_MATRIX_OPS = ("matmul", "dot", "inner", "outer", "vdot", "kron", "append")


def _typed(dtype: Any) -> Any:
    if dtype is int or dtype is float:
        return 3 if dtype is int else 1.5
    return torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).to(getattr(torch, dtype))


def _call_typed(ops: Any, name: str, a: Any, b: Any = None) -> Any:
    if name == "clip":
        return ops.clip(a, 1, 4)
    if name == "quantile":
        return ops.quantile(a, 0.5)
    if name == "full_like":
        return ops.full_like(a, 2)
    if name in ("matmul", "dot"):
        return getattr(ops, name)(a, ops.transpose(b))
    return getattr(ops, name)(a) if b is None else getattr(ops, name)(a, b)


@pytest.mark.slow
def test_dtype_promotion_matches_keras() -> None:
    """Every dtype pair (and Python int/float scalars) through binary ops, every dtype through unary ops:
    wherever Keras accepts the input, kerastorch gives the same dtype and values."""
    cases = [(name, (d1, d2)) for name in BINARY for d1 in DTYPES + [int, float] for d2 in DTYPES + [int, float]
             if not (d1 in (int, float) and d2 in (int, float))
             and not (name in _MATRIX_OPS and (d1 in (int, float) or d2 in (int, float)))]
    cases += [(name, (d,)) for name in UNARY for d in DTYPES]
    checked, failures = 0, []
    for name, dtypes in cases:
        args = [_typed(d) for d in dtypes]
        try:
            theirs = _call_typed(keras.ops, name, *args)
        except Exception:  # Keras rejects this dtype combination; nothing to compare
            continue
        checked += 1
        try:
            ours = _call_typed(kt.ops, name, *[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
            _compare(ours, theirs, Row(name, rtol=1e-2, atol=1e-2))
        except Exception as error:  # collect every failure, then report them together
            failures.append(f"{name}{tuple(getattr(d, '__name__', d) for d in dtypes)}: {str(error)[:120]}")
    assert checked > 3000 and not failures, failures


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "true_divide", "power", "floor_divide", "mod",
                                  "maximum", "minimum", "equal", "not_equal", "greater", "less_equal"])
def test_python_number_beside_tensor_matches_keras(name: str) -> None:
    """A Python number on either side of a tensor (torch's scalar operators where the dtype allows): negative,
    out-of-range, fractional and bool numbers, 64-bit and small dtypes all give Keras's dtype and values."""
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, -6.0]])
    checked = 0
    for dtype in ("uint8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"):
        for number in (-2, 300, 0.1, True):
            for tensor_first in (True, False):
                tensor = values.to(getattr(torch, dtype))
                args = (tensor, number) if tensor_first else (number, tensor)
                try:
                    theirs = getattr(keras.ops, name)(*args)
                except Exception:  # Keras rejects this combination; nothing to compare
                    continue
                ours = getattr(kt.ops, name)(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
                rtol = 1e-2 if dtype in ("float16", "bfloat16") else 1e-6  # Keras rounds the number to 16 bits first
                _compare(ours, theirs, Row(name, rtol=rtol, atol=0))
                checked += 1
    assert checked > 40


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_with_number_split_tie_gradient_like_keras(name: str) -> None:
    ours, theirs = (torch.tensor([-1.0, 0.0, 1.0], requires_grad=True) for _ in range(2))
    getattr(kt.ops, name)(ours, 0.0).sum().backward()
    getattr(keras.ops, name)(theirs, 0.0).sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad)


@pytest.mark.parametrize("call, error", [
    (lambda: kt.ops.bincount(I(5), sparse=True), NotImplementedError),
    (lambda: kt.ops.one_hot(I(5), 5, sparse=True), NotImplementedError),
    (lambda: kt.ops.multi_hot(I(2, 2), 5, sparse=True), NotImplementedError),
    (lambda: kt.ops.moments(x23, 0, synchronized=True), NotImplementedError),
    (lambda: kt.ops.image.map_coordinates(x23, coords[:, :2, :2], 3), NotImplementedError),
    (lambda: kt.ops.ctc_decode(ctc_logits, np.array([6, 4]), strategy="beam_search", merge_repeated=False),
     NotImplementedError),
    (lambda: kt.ops.pad(x23, 1, mode="median"), NotImplementedError),
    (lambda: kt.ops.convert_to_tensor(x23, sparse=True), ValueError),
    (lambda: kt.ops.squeeze(x23, axis=0), ValueError),
    (lambda: kt.ops.split(F(5, 2), 2), ValueError),
    (lambda: kt.ops.unstack(x234, num=3), ValueError),
    (lambda: kt.ops.ldexp(x23, x23), TypeError),
    (lambda: kt.ops.image.resize(pics, (3, 3), interpolation="cubic"), ValueError),
    (lambda: kt.ops.image.resize(pics, (3, 3), interpolation="area"), NotImplementedError),
    (lambda: kt.ops.image.crop_images(pics, 1, 1), ValueError),
    (lambda: kt.ops.conv(img, F(3, 3, 2, 4)), ValueError),
])
def test_unsupported_or_bad_arguments_raise(call: Callable, error: type) -> None:
    """Arguments that cannot take effect raise (never silently ignored); bad values raise ValueError."""
    with pytest.raises(error):
        call()


def _public_keras_names() -> list[str]:
    names = []
    for name in dir(keras.ops):
        value = getattr(keras.ops, name)
        if name.startswith("_"):
            continue
        if inspect.ismodule(value):
            names += [f"{name}.{n}" for n in dir(value) if not n.startswith("_")]
        else:
            names.append(name)
    return sorted(names)


def test_every_keras_op_exists_at_its_dotted_path() -> None:
    missing = []
    for dotted in _public_keras_names():
        try:
            _resolve(kt.ops, dotted)
        except AttributeError:
            missing.append(dotted)
    assert not missing, f"kt.ops lacks {len(missing)} Keras names: {missing}"


def test_every_keras_op_has_a_row() -> None:
    covered = {r.name for r in ROWS}
    names = {n.split(".", 1)[1] if n.split(".")[0] in ("numpy", "nn", "linalg") else n for n in _public_keras_names()}
    assert not sorted(names - covered), f"ops without a differential row: {sorted(names - covered)}"
