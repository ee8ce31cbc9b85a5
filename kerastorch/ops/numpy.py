"""Keras's `keras.ops.numpy` group: NumPy-named functions as thin torch calls.

Arguments may be tensors, numpy arrays, Python scalars or lists (converted like Keras's torch
backend); result dtypes follow Keras's rules (`_dtypes.result_type`) where they differ from torch's.
"""

from __future__ import annotations

import builtins
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .. import config
from . import _dtypes
from .core import convert_to_tensor, scalar_dtype

_t = convert_to_tensor
_rt = _dtypes.result_type
_of = _dtypes.of
_torch_dtype = _dtypes.to_torch
Tensor = torch.Tensor

__all__ = [
    "abs", "absolute", "add", "all", "allclose", "amax", "amin", "angle", "any", "append", "arange",
    "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin",
    "argpartition", "argsort", "array", "array_split", "average", "bartlett", "bincount",
    "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "blackman", "broadcast_to", "cbrt", "ceil", "clip",
    "concatenate", "conj", "conjugate", "copy", "corrcoef", "correlate", "cos", "cosh",
    "count_nonzero", "cross", "cumprod", "cumsum", "deg2rad", "diag", "diagflat", "diagonal", "diff",
    "digitize", "divide", "divide_no_nan", "dot", "dsplit", "dstack", "einsum", "empty", "empty_like",
    "equal", "exp", "exp2", "expand_dims", "expm1", "eye", "fabs", "flip", "fliplr", "flipud", "floor",
    "floor_divide", "fmax", "fmin", "fmod", "full", "full_like", "gcd", "geomspace", "get_item",
    "greater", "greater_equal", "hamming", "hanning", "heaviside", "histogram", "hsplit", "hstack",
    "hypot", "i0", "identity", "imag", "inner", "isclose", "isfinite", "isin", "isinf", "isnan",
    "isneginf", "isposinf", "isreal", "kaiser", "kron", "lcm", "ldexp", "left_shift", "less",
    "less_equal", "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2",
    "logical_and", "logical_not", "logical_or", "logical_xor", "logspace", "matmul", "max", "maximum",
    "mean", "median", "meshgrid", "min", "minimum", "mod", "moveaxis", "multiply", "nan_to_num",
    "nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin",
    "nanpercentile", "nanprod", "nanquantile", "nanstd", "nansum", "nanvar", "ndim", "negative",
    "nextafter", "nonzero", "not_equal", "ones", "ones_like", "outer", "pad", "percentile", "power",
    "prod", "ptp", "quantile", "rad2deg", "ravel", "real", "reciprocal", "repeat", "reshape",
    "right_shift", "roll", "rot90", "round", "searchsorted", "select", "sign", "signbit", "sin", "sinc",
    "sinh", "size", "slogdet", "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "subtract",
    "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh", "tensordot", "tile", "trace",
    "transpose", "trapezoid", "tri", "tril", "triu", "true_divide", "trunc", "unique", "unravel_index",
    "vander", "var", "vdot", "vectorize", "view", "vsplit", "vstack", "where", "zeros", "zeros_like",
]

_SMALL_INTS = frozenset((torch.bool, torch.uint8, torch.int8, torch.int16))  # Keras sums these in int32
_SAME_WITH_NUMBER = frozenset((torch.float16, torch.bfloat16, torch.float32))  # dtypes a Python float keeps
_SAME_WITH_INT = _SAME_WITH_NUMBER | {torch.uint8, torch.int8, torch.int16, torch.int32}  # ... and a Python int


def _name(x: Tensor) -> str:
    return _dtypes.name(x.dtype)


def _is_int_or_bool(x: Tensor) -> bool:
    return not (x.dtype.is_floating_point or x.dtype.is_complex)


def _floatx() -> torch.dtype:
    return _torch_dtype(config.floatx())


def _axes(axis: Any) -> Any:
    """torch's `dim`: an int, a tuple, or None."""
    if isinstance(axis, list):
        return tuple(axis)
    return axis


def _no_axes(axis: Any) -> bool:
    return isinstance(axis, (tuple, list)) and len(axis) == 0


def _cast(x: Tensor, dtype: torch.dtype) -> Tensor:
    return x if x.dtype == dtype else x.to(dtype)


def _on(value: Any, device: torch.device, dtype: torch.dtype | None = None) -> Tensor:
    """A non-tensor operand as a tensor made directly on `device` (Keras's dtype unless `dtype`)."""
    if isinstance(value, (bool, int, float, complex)):
        return torch.tensor(value, dtype=dtype or scalar_dtype(value), device=device)
    tensor = _t(value, dtype)
    return tensor if tensor.device == device else tensor.to(device)


def _pair(x1: Any, x2: Any) -> tuple[Tensor, Tensor]:
    """Both operands as tensors, a converted one made on its partner's device."""
    if isinstance(x1, Tensor):
        return x1, (x2 if isinstance(x2, Tensor) else _on(x2, x1.device))
    if isinstance(x2, Tensor):
        return _on(x1, x2.device), x2
    return _t(x1), _t(x2)


def _tensor_and_number(x1: Any, x2: Any) -> bool:
    """True when one operand is a tensor and the other a Python number that leaves its dtype unchanged
    under Keras's rules (an int/float with a float tensor, an int with an integer tensor; not 64-bit
    tensors, which Keras folds to 32 bits): torch's own scalar operator then gives Keras's result
    without the cost of making a scalar tensor and promoting."""
    if type(x2) is float or type(x2) is int:
        tensor, number = x1, x2
    elif type(x1) is float or type(x1) is int:
        tensor, number = x2, x1
    else:
        return False
    keeps = _SAME_WITH_NUMBER if type(number) is float else _SAME_WITH_INT
    return isinstance(tensor, Tensor) and tensor.dtype in keeps


def _promoted(x1: Any, x2: Any, *extra: Any, weak_scalars: bool = True) -> tuple[Tensor, Tensor, torch.dtype]:
    """Operands cast to Keras's promoted dtype. Python scalars count as weak types, except where Keras
    converts them to tensors first (`weak_scalars=False`: a float scalar is then a float32 tensor)."""
    if weak_scalars:
        dtype = _dtypes.promote(_of(x1), _of(x2), *extra)
        if isinstance(x1, Tensor) and not isinstance(x2, Tensor):
            return _cast(x1, dtype), _on(x2, x1.device, dtype), dtype
        if isinstance(x2, Tensor) and not isinstance(x1, Tensor):
            return _on(x1, x2.device, dtype), _cast(x2, dtype), dtype
        a, b = _pair(x1, x2)
    else:
        a, b = _pair(x1, x2)
        dtype = _dtypes.promote(a.dtype, b.dtype, *extra)
    return _cast(a, dtype), _cast(b, dtype), dtype


def _to_float(x: Tensor) -> Tensor:
    """Ints/bools to floatx, int64 included (Keras's rule for exp/log-like ops)."""
    return x.to(_floatx()) if not (x.dtype.is_floating_point or x.dtype.is_complex) else x


def _float_result(x: Tensor) -> torch.dtype:
    """Keras's `result_type(x.dtype, float)`: ints -> floatx, floats keep their width."""
    return _dtypes.promote(x.dtype, float)


def _shape(shape: Any) -> tuple:
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


# ---------------------------------------------------------------- creation

def array(x: Any, dtype: Any = None) -> Tensor:
    return _t(x, dtype)


def zeros(shape: Any, dtype: Any = None) -> Tensor:
    return torch.zeros(_shape(shape), dtype=_torch_dtype(dtype or config.floatx()))


def ones(shape: Any, dtype: Any = None) -> Tensor:
    return torch.ones(_shape(shape), dtype=_torch_dtype(dtype or config.floatx()))


def empty(shape: Any, dtype: Any = None) -> Tensor:
    return torch.empty(_shape(shape), dtype=_torch_dtype(dtype or config.floatx()))


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    dtype = _torch_dtype(dtype or config.floatx())
    fill = _t(fill_value, dtype)
    return fill.expand(_shape(shape)).clone() if fill.ndim else torch.full(_shape(shape), fill_value, dtype=dtype)


def zeros_like(x: Any, dtype: Any = None) -> Tensor:
    return torch.zeros_like(_t(x), dtype=_torch_dtype(dtype))


def ones_like(x: Any, dtype: Any = None) -> Tensor:
    return torch.ones_like(_t(x), dtype=_torch_dtype(dtype))


def empty_like(x: Any, dtype: Any = None) -> Tensor:
    return torch.empty_like(_t(x), dtype=_torch_dtype(dtype))


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    x = _t(x)
    dtype = _torch_dtype(dtype) or x.dtype
    fill = _t(fill_value, dtype).to(x.device)
    return fill.expand(x.shape).clone() if fill.ndim else torch.full_like(x, fill_value, dtype=dtype)


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Tensor:
    """Evenly spaced values in `[start, stop)`; dtype from the arguments (ints -> int32) unless given."""
    if dtype is None:
        dtype = _rt(*(_of(v) for v in (start, stop, step) if v is not None))
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, 1 if step is None else step, dtype=_torch_dtype(dtype))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:
    dtype = _torch_dtype(dtype or config.floatx())
    M = N if M is None else M
    if k == 0:
        return torch.eye(N, M, dtype=dtype)
    rows = torch.arange(N).unsqueeze(1)
    cols = torch.arange(M).unsqueeze(0)
    return (cols - rows == k).to(dtype)


def identity(n: int, dtype: Any = None) -> Tensor:
    return eye(n, dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:
    dtype = _torch_dtype(dtype or config.floatx())
    return torch.tril(torch.ones((N, N if M is None else M), dtype=dtype), diagonal=k)


def _space_dtype(start: Any, stop: Any, dtype: Any) -> torch.dtype:
    return _torch_dtype(dtype if dtype is not None else _rt(_of(start), _of(stop), float))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Any:
    """`num` evenly spaced samples from `start` to `stop` (arrays give one sequence per element along `axis`)."""
    dtype = _space_dtype(start, stop, dtype)
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    a, b = _pair(start, stop)
    a, b = a.to(compute), b.to(compute)
    div = (num - 1) if endpoint else num
    step = (b - a) / div if div > 0 else torch.full_like(a, float("nan"))
    positions = torch.arange(num, dtype=compute, device=a.device).reshape((num,) + (1,) * a.ndim)
    out = a + positions * step
    if endpoint and num > 1:
        out[-1] = b
    out = torch.movedim(out, 0, axis) if a.ndim else out
    out = out.to(dtype) if dtype.is_floating_point else torch.floor(out).to(dtype)
    if not retstep:
        return out
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor) and np.ndim(start) == 0 and np.ndim(stop) == 0:
        return out, float(stop - start) / div if div > 0 else float("nan")  # scalars give a Python step, like numpy
    return out, step.to(dtype)


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10,
             dtype: Any = None, axis: int = 0) -> Tensor:
    out_dtype = _space_dtype(start, stop, dtype)
    exponent = linspace(start, stop, num, endpoint, dtype=torch.float32 if out_dtype != torch.float64 else out_dtype, axis=axis)
    return torch.pow(torch.as_tensor(base, dtype=exponent.dtype), exponent).to(out_dtype)


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None, axis: int = 0) -> Tensor:
    out_dtype = _space_dtype(start, stop, dtype)
    a, b = _pair(start, stop)
    compute = torch.float64 if out_dtype == torch.float64 else torch.float32
    a, b = a.to(compute), b.to(compute)
    out = logspace(torch.log10(a.abs()), torch.log10(b.abs()), num, endpoint, 10, compute, axis=0)
    out = out * torch.sign(a)
    if num > 0:
        out[0] = a
        if endpoint and num > 1:
            out[-1] = b
    out = torch.movedim(out, 0, axis) if a.ndim else out
    return out.to(out_dtype)


def _window(fn: Callable, x: Any, **kwargs: Any) -> Tensor:
    return fn(int(x), sym=True, dtype=_floatx(), **kwargs)


def bartlett(x: int) -> Tensor:
    return _window(torch.signal.windows.bartlett, x)


def blackman(x: int) -> Tensor:
    return _window(torch.signal.windows.blackman, x)


def hamming(x: int) -> Tensor:
    return _window(torch.signal.windows.hamming, x)


def hanning(x: int) -> Tensor:
    return _window(torch.signal.windows.hann, x)


def kaiser(x: int, beta: float) -> Tensor:
    return _window(torch.signal.windows.kaiser, x, beta=float(beta))


def meshgrid(*x: Any, indexing: str = "xy") -> list:
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', received {indexing!r}.")
    return list(torch.meshgrid(*[_t(v) for v in x], indexing=indexing))


def vander(x: Any, N: int | None = None, increasing: bool = False) -> Tensor:
    x = _t(x)
    return torch.vander(x, N=N, increasing=increasing).to(x.dtype if x.dtype != torch.int64 else torch.int32)


def copy(x: Any) -> Tensor:
    return torch.clone(_t(x))


# ---------------------------------------------------------------- elementwise arithmetic

def add(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 + x2
    return torch.add(*_pair(x1, x2))


def subtract(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 - x2
    a, b = _pair(x1, x2)
    if a.dtype == torch.bool:
        a = a.to(b.dtype)
    if b.dtype == torch.bool:
        b = b.to(a.dtype)
    return torch.subtract(a, b)


def multiply(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 * x2
    return torch.multiply(*_pair(x1, x2))


def divide(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2) and isinstance(x1, Tensor):  # torch's `number / x` rounds twice (reciprocal)
        return x1 / x2
    return torch.divide(*_pair(x1, x2))


def true_divide(x1: Any, x2: Any) -> Tensor:
    return divide(x1, x2)


def divide_no_nan(x1: Any, x2: Any) -> Tensor:
    """`x1 / x2`, with 0 where `x2 == 0`."""
    a, b, _ = _promoted(x1, x2, float)
    zero = b == 0
    return torch.where(zero, torch.zeros((), dtype=a.dtype, device=a.device), a / torch.where(zero, torch.ones_like(b), b))


def floor_divide(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 // x2
    dtype = _dtypes.promote(_of(x1), _of(x2))
    return torch.floor_divide(*_pair(x1, x2)).to(dtype)


def mod(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 % x2
    a, b = _pair(x1, x2)
    if a.dtype == torch.bool and b.dtype == torch.bool:
        a, b = a.int(), b.int()
    return torch.remainder(a, b)


def fmod(x1: Any, x2: Any) -> Tensor:
    a, b = _pair(x1, x2)
    if a.dtype == torch.bool and b.dtype == torch.bool:
        a, b = a.int(), b.int()
    return torch.fmod(a, b)


def power(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2) and isinstance(x1, Tensor) and x1.is_floating_point():  # torch refuses int ** -1
        return x1 ** x2
    return torch.pow(*_pair(x1, x2))


def negative(x: Any) -> Tensor:
    return torch.negative(_t(x))


def reciprocal(x: Any) -> Tensor:
    return torch.reciprocal(_t(x))


def absolute(x: Any) -> Tensor:
    x = _t(x)
    return x if x.dtype == torch.bool else torch.abs(x)


def abs(x: Any) -> Tensor:
    return absolute(x)


def fabs(x: Any) -> Tensor:
    return torch.abs(_to_float(_t(x)))


def sign(x: Any) -> Tensor:
    return torch.sign(_t(x))


def signbit(x: Any) -> Tensor:
    return torch.signbit(_t(x))


def square(x: Any) -> Tensor:
    x = _t(x)
    return torch.square(x.int() if x.dtype == torch.bool else x)


def sqrt(x: Any) -> Tensor:
    x = _t(x)
    return torch.sqrt(x.to(_floatx()) if x.dtype == torch.int64 else x)


def cbrt(x: Any) -> Tensor:
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.int()
    elif x.dtype == torch.int64:
        x = x.double()
    return torch.sign(x) * torch.abs(x) ** (1.0 / 3.0)


def _elementwise_extreme(fn: Callable, x1: Any, x2: Any) -> Tensor:
    """`maximum`/`minimum`. A number beside a tensor becomes a scalar tensor of the tensor's dtype
    directly (not `clamp`, which would pass a tie's whole gradient to the tensor instead of half)."""
    if _tensor_and_number(x1, x2):
        tensor, number = (x1, x2) if isinstance(x1, Tensor) else (x2, x1)
        return fn(tensor, torch.scalar_tensor(number, dtype=tensor.dtype, device=tensor.device))
    a, b, _ = _promoted(x1, x2)
    return fn(a, b)


def maximum(x1: Any, x2: Any) -> Tensor:
    return _elementwise_extreme(torch.maximum, x1, x2)


def minimum(x1: Any, x2: Any) -> Tensor:
    return _elementwise_extreme(torch.minimum, x1, x2)


def fmax(x1: Any, x2: Any) -> Tensor:
    a, b, _ = _promoted(x1, x2)
    return torch.fmax(a, b)


def fmin(x1: Any, x2: Any) -> Tensor:
    a, b, _ = _promoted(x1, x2)
    return torch.fmin(a, b)


def clip(x: Any, x_min: Any, x_max: Any) -> Tensor:
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.int()
    low = x_min if isinstance(x_min, (int, float)) else _t(x_min).to(x.device)
    high = x_max if isinstance(x_max, (int, float)) else _t(x_max).to(x.device)
    return torch.clip(x, low, high)


def gcd(x1: Any, x2: Any) -> Tensor:
    return torch.gcd(*_pair(x1, x2))


def lcm(x1: Any, x2: Any) -> Tensor:
    return torch.lcm(*_pair(x1, x2))


def heaviside(x1: Any, x2: Any) -> Tensor:
    a, b, dtype = _promoted(x1, x2, weak_scalars=False)
    if dtype == torch.int64:
        dtype = torch.float64
    elif not dtype.is_floating_point and dtype != torch.bool:
        dtype = _floatx()
    return torch.heaviside(a.to(dtype), b.to(dtype))


def hypot(x1: Any, x2: Any) -> Tensor:
    a, b, dtype = _promoted(x1, x2, weak_scalars=False)
    if dtype == torch.int64:
        dtype = torch.float64
    elif not dtype.is_floating_point:
        dtype = _floatx()
    return torch.hypot(a.to(dtype), b.to(dtype))


def ldexp(x1: Any, x2: Any) -> Tensor:
    a, b = _pair(x1, x2)
    if b.dtype.is_floating_point or b.dtype.is_complex or b.dtype == torch.bool:
        raise TypeError(f"ldexp: the exponent x2 must be an integer tensor, received dtype {_name(b)}; cast it with ops.cast(x2, 'int32').")
    dtype = _dtypes.promote(a.dtype, b.dtype, float)
    return (a.to(dtype) * torch.pow(torch.tensor(2.0, dtype=dtype, device=a.device), b.to(dtype))).to(dtype)


def nextafter(x1: Any, x2: Any) -> Tensor:
    a, b = _pair(x1, x2)
    dtype = _dtypes.promote(a.dtype, b.dtype, float)
    return torch.nextafter(a.double(), b.double()).to(dtype)


def round(x: Any, decimals: int = 0) -> Tensor:
    x = _t(x)
    if _is_int_or_bool(x) and x.dtype != torch.bool:
        if decimals >= 0:
            return x.clone()
        return torch.round(x.to(_floatx()), decimals=decimals).to(x.dtype)
    return torch.round(x, decimals=decimals)


def trunc(x: Any) -> Tensor:
    x = _t(x)
    return x if x.dtype == torch.bool else torch.trunc(x)


def floor(x: Any) -> Tensor:
    x = _t(x)
    dtype = _floatx() if x.dtype == torch.int64 else _float_result(x)
    return torch.floor(x.to(dtype))


def ceil(x: Any) -> Tensor:
    x = _t(x)
    dtype = _floatx() if x.dtype == torch.int64 else _float_result(x)
    return torch.ceil(x.to(dtype))


def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    x = _t(x)
    if _is_int_or_bool(x):
        return x
    return torch.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# ---------------------------------------------------------------- transcendental

def _float_unary(fn: Callable, name: str) -> Callable:
    """`fn` elementwise, integer and bool inputs computed in floatx (Keras's rule for these ops)."""

    def op(x: Any) -> Tensor:
        return fn(_to_float(_t(x)))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise {name}; integer and bool inputs compute in floatx."
    return op


exp, exp2, expm1 = (_float_unary(getattr(torch, n), n) for n in ("exp", "exp2", "expm1"))
log, log10, log1p, log2 = (_float_unary(getattr(torch, n), n) for n in ("log", "log10", "log1p", "log2"))
sin, cos, tan = (_float_unary(getattr(torch, n), n) for n in ("sin", "cos", "tan"))
sinh, cosh, tanh = (_float_unary(getattr(torch, n), n) for n in ("sinh", "cosh", "tanh"))
arcsin, arccos, arctan = (_float_unary(getattr(torch, n), n) for n in ("arcsin", "arccos", "arctan"))
arcsinh, arccosh, arctanh = (_float_unary(getattr(torch, n), n) for n in ("arcsinh", "arccosh", "arctanh"))


def arctan2(x1: Any, x2: Any) -> Tensor:
    a, b, _ = _promoted(x1, x2, float, weak_scalars=False)
    return torch.arctan2(a, b)


def sinc(x: Any) -> Tensor:
    return torch.sinc(_to_float(_t(x)))


def deg2rad(x: Any) -> Tensor:
    x = _t(x)
    return torch.deg2rad(x.double() if x.dtype == torch.int64 else _to_float(x))


def rad2deg(x: Any) -> Tensor:
    x = _t(x)
    return torch.rad2deg(x.double() if x.dtype == torch.int64 else _to_float(x))


def i0(x: Any) -> Tensor:
    x = _t(x)
    if x.dtype in (torch.int64, torch.float64):
        dtype = torch.float64
    elif x.dtype in (torch.float16, torch.bfloat16):
        dtype = x.dtype
    else:
        dtype = _floatx()
    return torch.special.i0(x.to(dtype))


def logaddexp(x1: Any, x2: Any) -> Tensor:
    a, b, _ = _promoted(x1, x2, float, weak_scalars=False)
    return torch.logaddexp(a, b)


def logaddexp2(x1: Any, x2: Any) -> Tensor:
    a, b, _ = _promoted(x1, x2, float, weak_scalars=False)
    return torch.logaddexp2(a, b)


# ---------------------------------------------------------------- complex

def _complex_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else torch.from_numpy(np.asarray(x))


def real(x: Any) -> Tensor:
    x = _complex_tensor(x)
    return torch.real(x) if x.is_complex() else x


def imag(x: Any) -> Tensor:
    x = _complex_tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def conjugate(x: Any) -> Tensor:
    return torch.conj(_complex_tensor(x)).resolve_conj()


def conj(x: Any) -> Tensor:
    return conjugate(x)


def angle(x: Any) -> Tensor:
    x = _t(x)
    return torch.angle(x if x.is_complex() else _to_float(x))


# ---------------------------------------------------------------- comparison and logic

def equal(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 == x2
    return torch.eq(*_pair(x1, x2))


def not_equal(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 != x2
    return torch.ne(*_pair(x1, x2))


def greater(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 > x2
    return torch.gt(*_pair(x1, x2))


def greater_equal(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 >= x2
    return torch.ge(*_pair(x1, x2))


def less(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 < x2
    return torch.lt(*_pair(x1, x2))


def less_equal(x1: Any, x2: Any) -> Tensor:
    if _tensor_and_number(x1, x2):
        return x1 <= x2
    return torch.le(*_pair(x1, x2))


def logical_and(x1: Any, x2: Any) -> Tensor:
    return torch.logical_and(*_pair(x1, x2))


def logical_or(x1: Any, x2: Any) -> Tensor:
    return torch.logical_or(*_pair(x1, x2))


def logical_xor(x1: Any, x2: Any) -> Tensor:
    return torch.logical_xor(*_pair(x1, x2))


def logical_not(x: Any) -> Tensor:
    return torch.logical_not(_t(x))


def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    a, b, dtype = _promoted(x1, x2, weak_scalars=False)
    if dtype.is_floating_point or dtype.is_complex:
        return torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return torch.eq(a, b)


def allclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    return torch.all(isclose(x1, x2, rtol, atol, equal_nan))


def isfinite(x: Any) -> Tensor:
    return torch.isfinite(_t(x))


def isinf(x: Any) -> Tensor:
    return torch.isinf(_t(x))


def isnan(x: Any) -> Tensor:
    return torch.isnan(_t(x))


def isneginf(x: Any) -> Tensor:
    return torch.isneginf(_t(x))


def isposinf(x: Any) -> Tensor:
    return torch.isposinf(_t(x))


def isreal(x: Any) -> Tensor:
    return torch.isreal(_t(x))


def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> Tensor:
    a, b = _pair(x1, x2)
    if a.dtype != b.dtype:
        dtype = _dtypes.promote(a.dtype, b.dtype)
        a, b = a.to(dtype), b.to(dtype)
    if a.dtype == torch.bool:
        a, b = a.int(), b.int()
    return torch.isin(a, b, assume_unique=assume_unique, invert=invert)


def _bitwise(fn: Callable, x: Any, y: Any) -> Tensor:
    return fn(*_pair(x, y))


def bitwise_and(x: Any, y: Any) -> Tensor:
    return _bitwise(torch.bitwise_and, x, y)


def bitwise_or(x: Any, y: Any) -> Tensor:
    return _bitwise(torch.bitwise_or, x, y)


def bitwise_xor(x: Any, y: Any) -> Tensor:
    return _bitwise(torch.bitwise_xor, x, y)


def bitwise_invert(x: Any) -> Tensor:
    return torch.bitwise_not(_t(x))


def bitwise_not(x: Any) -> Tensor:
    return bitwise_invert(x)


def bitwise_left_shift(x: Any, y: Any) -> Tensor:
    x = _t(x)
    return torch.bitwise_left_shift(x, y if isinstance(y, int) else _t(y).to(x.device))


def bitwise_right_shift(x: Any, y: Any) -> Tensor:
    x = _t(x)
    return torch.bitwise_right_shift(x, y if isinstance(y, int) else _t(y).to(x.device))


def left_shift(x: Any, y: Any) -> Tensor:
    return bitwise_left_shift(x, y)


def right_shift(x: Any, y: Any) -> Tensor:
    return bitwise_right_shift(x, y)


def where(condition: Any, x1: Any = None, x2: Any = None) -> Any:
    """Elements of `x1` where `condition`, else `x2`; with neither given, the indices where it holds."""
    condition = _t(condition).to(torch.bool)
    if x1 is None and x2 is None:
        return tuple(torch.nonzero(condition, as_tuple=True))
    if x1 is None or x2 is None:
        raise ValueError("where: pass both x1 and x2, or neither (for the indices of true elements).")
    a = x1 if isinstance(x1, (int, float, bool)) else _t(x1)
    b = x2 if isinstance(x2, (int, float, bool)) else _t(x2)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = _t(a)
    return torch.where(condition, a, b)


def select(condlist: Sequence, choicelist: Sequence, default: Any = 0) -> Tensor:
    """The choice of the first true condition per element, `default` where none holds."""
    out = _t(default)
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = torch.where(_t(c).to(torch.bool), _t(v), out)
    return out


# ---------------------------------------------------------------- reductions

def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = stack(x) if isinstance(x, (list, tuple)) else _t(x)
    if _no_axes(axis):
        return x
    # torch sums ints in int64, Keras keeps the dtype (small ints: int32); floats need no dtype argument
    widen = {} if x.is_floating_point() else {"dtype": torch.int32 if x.dtype in _SMALL_INTS else x.dtype}
    if axis is None:
        out = torch.sum(x, **widen)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.sum(x, dim=_axes(axis), keepdim=keepdims, **widen)


def prod(x: Any, axis: Any = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
    x = _t(x)
    if dtype is None:  # Keras's rule: small ints accumulate in int32, 64-bit types fold to 32 bits
        dtype = torch.int32 if x.dtype in _SMALL_INTS else _dtypes.promote(x.dtype)
    else:
        dtype = _torch_dtype(dtype)
    if axis is None:
        out = torch.prod(x, dtype=dtype)
        return out.reshape((1,) * x.ndim) if keepdims else out
    axes = sorted(((a % x.ndim) for a in ((axis,) if isinstance(axis, int) else axis)), reverse=True)
    for a in axes:
        x = torch.prod(x, dim=a, keepdim=keepdims, dtype=dtype)
    return x


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean; integer inputs give float32, float16 computes in float32 then casts back."""
    x = stack(x) if isinstance(x, (list, tuple)) else _t(x)
    if _no_axes(axis):
        return x
    if x.dtype == torch.float32 or x.dtype == torch.float64:  # the common case: no promotion, no casts
        compute = result = x.dtype
    else:
        compute = _dtypes.promote(x.dtype, "float32")
        result = compute if _is_int_or_bool(x) else x.dtype
    if axis is None:
        out = torch.mean(_cast(x, compute))
        out = out.reshape((1,) * x.ndim) if keepdims else out
    else:
        out = torch.mean(_cast(x, compute), dim=_axes(axis), keepdim=keepdims)
    return _cast(out, result)


def _reduce_extreme(fn: Callable, x: Any, axis: Any, keepdims: bool, initial: Any, pick: Callable) -> Tensor:
    x = _t(x)
    if x.numel() == 0:
        if initial is None:
            raise ValueError("max/min: the input is empty; pass `initial` to give the result a value.")
        return torch.full((1,) * x.ndim if keepdims else (), initial, dtype=x.dtype)
    if _no_axes(axis):
        out = x
    else:
        out = fn(x, dim=() if axis is None else _axes(axis), keepdim=keepdims)
    if initial is not None:
        out = pick(out, torch.tensor(initial, dtype=out.dtype, device=out.device))
    return out


def max(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Tensor:
    return _reduce_extreme(torch.amax, x, axis, keepdims, initial, torch.maximum)


def min(x: Any, axis: Any = None, keepdims: bool = False, initial: Any = None) -> Tensor:
    return _reduce_extreme(torch.amin, x, axis, keepdims, initial, torch.minimum)


def amax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    return x if _no_axes(axis) else torch.amax(x, dim=() if axis is None else _axes(axis), keepdim=keepdims)


def amin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    return x if _no_axes(axis) else torch.amin(x, dim=() if axis is None else _axes(axis), keepdim=keepdims)


def all(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if _no_axes(axis):
        return x.to(torch.bool)
    if axis is None:
        out = torch.all(x).bool()
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.all(x, dim=_axes(axis), keepdim=keepdims).bool()


def any(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if _no_axes(axis):
        return x.to(torch.bool)
    if axis is None:
        out = torch.any(x).bool()
        return out.reshape((1,) * x.ndim) if keepdims else out
    return torch.any(x, dim=_axes(axis), keepdim=keepdims).bool()


def _variance(x: Tensor, axis: Any, keepdims: bool) -> Tensor:
    dim = None if axis is None else _axes(axis)
    out = torch.var(x, dim=dim, keepdim=keepdims, correction=0)
    if axis is None and keepdims:
        out = out.reshape((1,) * x.ndim)
    return out


def var(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    compute = _dtypes.promote(x.dtype, "float32")
    result = _float_result(x)
    if _no_axes(axis):
        return torch.zeros_like(x, dtype=result)
    return _variance(x.to(compute), axis, keepdims).to(result)


def std(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if _is_int_or_bool(x):
        x = x.float()
    return torch.sqrt(_variance(x, axis, keepdims))


def average(x: Any, axis: Any = None, weights: Any = None) -> Tensor:
    """Mean along `axis`, weighted by `weights` (same shape as `x`, or 1-D along `axis`)."""
    x = _t(x)
    dtypes = [x.dtype, float]
    if weights is not None:
        weights = _t(weights).to(x.device)
        dtypes.append(weights.dtype)
    dtype = _dtypes.promote(*dtypes)
    x = x.to(dtype)
    if _no_axes(axis):
        return x
    if weights is None:
        return torch.mean(x) if axis is None else torch.mean(x, dim=axis)
    weights = weights.to(dtype)
    if axis is not None and weights.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        weights = weights.reshape(shape)
    weights = torch.broadcast_to(weights, x.shape)
    if axis is None:
        return torch.sum(x * weights) / torch.sum(weights)
    return torch.sum(x * weights, dim=axis) / torch.sum(weights, dim=axis)


def ptp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if _no_axes(axis):
        return torch.zeros_like(x)
    return amax(x, axis, keepdims) - amin(x, axis, keepdims)


def count_nonzero(x: Any, axis: Any = None) -> Tensor:
    x = _t(x)
    if _no_axes(axis):
        return (x != 0).int()
    return torch.count_nonzero(x, dim=_axes(axis)).int()


def _last_axis_view(x: Tensor, axis: Any) -> tuple[Tensor, list | None]:
    """`x` with the reduced axes moved last and merged (all axes when `axis` is None)."""
    if axis is None:
        return x.reshape(-1), None
    axes = [a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
    rest = [d for d in range(x.ndim) if d not in axes]
    y = x.permute(rest + axes)
    return y.reshape([x.shape[d] for d in rest] + [-1]), sorted(axes)


def _quantile(fn: Callable, x: Any, q: Any, axis: Any, method: str, keepdims: bool) -> Tensor:
    x = _t(x)
    compute = _dtypes.promote(x.dtype, "float32")
    result = _float_result(x)
    x = x.to(compute)
    q = _t(q).to(compute).to(x.device)
    y, axes = _last_axis_view(x, axis)
    out = fn(y, q, dim=-1, interpolation=method)
    if keepdims:
        offset = 1 if q.ndim else 0
        for a in (range(x.ndim) if axes is None else axes):
            out = out.unsqueeze(a + offset)
    return out.to(result)


def quantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    """The `q`-th quantiles (q in [0, 1]) along `axis`; `method` as in numpy ('linear', 'lower', ...)."""
    return _quantile(torch.quantile, x, q, axis, method, keepdims)


def nanquantile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    return _quantile(torch.nanquantile, x, q, axis, method, keepdims)


def percentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    return quantile(x, _t(q, config.floatx()) / 100.0, axis, method, keepdims)


def nanpercentile(x: Any, q: Any, axis: Any = None, method: str = "linear", keepdims: bool = False) -> Tensor:
    return nanquantile(x, _t(q, config.floatx()) / 100.0, axis, method, keepdims)


def median(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


def nanmedian(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if _no_axes(axis):
        return x
    return nanquantile(x, 0.5, axis=axis, keepdims=keepdims)


def nansum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = stack(x) if isinstance(x, (list, tuple)) else _t(x)
    dtype = torch.int32 if x.dtype in _SMALL_INTS else x.dtype
    if _no_axes(axis):
        return nan_to_num(x).to(dtype)
    if _is_int_or_bool(x):
        return sum(x, axis, keepdims).to(dtype)
    return torch.nansum(x, dim=_axes(axis), keepdim=keepdims).to(dtype)


def nanprod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if _no_axes(axis):
        return nan_to_num(x, nan=1)
    if not _is_int_or_bool(x):
        x = torch.where(torch.isnan(x), torch.ones((), dtype=x.dtype, device=x.device), x)
    return prod(x, axis=axis, keepdims=keepdims)


def nanmean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    if _no_axes(axis):
        return x
    return torch.nanmean(x.to(_float_result(x)), dim=_axes(axis), keepdim=keepdims)


def nanvar(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    x = x.to(_float_result(x))
    if _no_axes(axis):
        return torch.where(torch.isnan(x), x, torch.zeros((), dtype=x.dtype, device=x.device))
    valid = ~torch.isnan(x)
    centered = torch.where(valid, x - nanmean(x, axis, keepdims=True), torch.zeros((), dtype=x.dtype, device=x.device))
    dim = _axes(axis)
    return (centered * centered).sum(dim=dim, keepdim=keepdims) / valid.sum(dim=dim, keepdim=keepdims)


def nanstd(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return torch.sqrt(nanvar(x, axis, keepdims))


def _nan_extreme(x: Any, axis: Any, keepdims: bool, fill: float, fn: Callable) -> Tensor:
    x = _t(x)
    if _is_int_or_bool(x):
        return fn(x, dim=() if axis is None else _axes(axis), keepdim=keepdims)
    if _no_axes(axis):
        return x
    dim = () if axis is None else _axes(axis)
    nan = torch.isnan(x)
    out = fn(torch.where(nan, torch.tensor(fill, dtype=x.dtype, device=x.device), x), dim=dim, keepdim=keepdims)
    all_nan = torch.all(nan) if axis is None else torch.all(nan, dim=dim, keepdim=keepdims)
    if axis is None and keepdims:
        all_nan = all_nan.reshape((1,) * x.ndim)
    return torch.where(all_nan, torch.tensor(float("nan"), dtype=x.dtype, device=x.device), out)


def nanmax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return _nan_extreme(x, axis, keepdims, float("-inf"), torch.amax)


def nanmin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return _nan_extreme(x, axis, keepdims, float("inf"), torch.amin)


def _nan_arg(x: Any, axis: Any, keepdims: bool, fill: float, fn: Callable) -> Tensor:
    x = _t(x)
    if _is_int_or_bool(x):
        return fn(x, axis, keepdims)
    nan = torch.isnan(x)
    out = fn(torch.where(nan, torch.tensor(fill, dtype=x.dtype, device=x.device), x), axis, keepdims)
    all_nan = torch.all(nan) if axis is None else torch.all(nan, dim=axis, keepdim=keepdims)
    if axis is None and keepdims:
        all_nan = all_nan.reshape((1,) * x.ndim)
    return torch.where(all_nan, torch.tensor(-1, dtype=torch.int32, device=x.device), out)


def nanargmax(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return _nan_arg(x, axis, keepdims, float("-inf"), argmax)


def nanargmin(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    return _nan_arg(x, axis, keepdims, float("inf"), argmin)


def nancumsum(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    return cumsum(nan_to_num(x), axis=axis, dtype=dtype)


def nancumprod(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    return cumprod(nan_to_num(x, nan=1.0), axis=axis, dtype=dtype)


def _cumulative(fn: Callable, x: Any, axis: Any, dtype: Any) -> Tensor:
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    dtype = _dtypes.promote(dtype or x.dtype)
    if dtype == torch.bool:
        dtype = torch.int32
    return fn(x, dim=axis, dtype=dtype)


def cumsum(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    return _cumulative(torch.cumsum, x, axis, dtype)


def cumprod(x: Any, axis: Any = None, dtype: Any = None) -> Tensor:
    return _cumulative(torch.cumprod, x, axis, dtype)


def _arg(fn: Callable, x: Any, axis: Any, keepdims: bool) -> Tensor:
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    out = fn(x, dim=axis, keepdim=keepdims)
    return out.to(torch.int32)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    return _arg(torch.argmax, x, axis, keepdims)


def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Tensor:
    return _arg(torch.argmin, x, axis, keepdims)


def argsort(x: Any, axis: int | None = -1) -> Tensor:
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    if axis is None:
        x, axis = x.reshape(-1), -1
    return torch.argsort(x, dim=axis, stable=True).to(torch.int32)


def sort(x: Any, axis: int | None = -1) -> Tensor:
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.sort(x, dim=axis, stable=True).values


def argpartition(x: Any, kth: int, axis: int | None = -1) -> Tensor:
    """Indices that partition `x` around its `kth` smallest element (a stable full argsort, a valid partition)."""
    x = _t(x)
    if axis is None:
        x, axis = x.reshape(-1), -1
    return argsort(x, axis=axis)


# ---------------------------------------------------------------- shapes and indexing

def ndim(x: Any) -> int:
    return _t(x).ndim


def size(x: Any) -> Tensor:
    x = _t(x)
    return torch.tensor(x.numel(), dtype=torch.int64, device=x.device)


def reshape(x: Any, newshape: Any) -> Tensor:
    return torch.reshape(_t(x), (newshape,) if isinstance(newshape, int) else tuple(newshape))


def ravel(x: Any) -> Tensor:
    return torch.ravel(_t(x))


def transpose(x: Any, axes: Any = None) -> Tensor:
    x = _t(x)
    return x.permute(*reversed(range(x.ndim))) if axes is None else x.permute(*axes)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    return torch.swapaxes(_t(x), axis1, axis2)


def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    return torch.moveaxis(_t(x), source, destination)


def expand_dims(x: Any, axis: Any) -> Tensor:
    x = _t(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out_ndim = x.ndim + len(axes)
    for a in sorted(a % out_ndim for a in axes):
        x = x.unsqueeze(a)
    return x


def squeeze(x: Any, axis: Any = None) -> Tensor:
    x = _t(x)
    if axis is None:
        return torch.squeeze(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has size {x.shape[a]}, expected 1 (input shape {tuple(x.shape)}).")
    return torch.squeeze(x, dim=axes)


def broadcast_to(x: Any, shape: Any) -> Tensor:
    return torch.broadcast_to(_t(x), _shape(shape))


def flip(x: Any, axis: Any = None) -> Tensor:
    x = _t(x)
    dims = tuple(range(x.ndim)) if axis is None else ((axis,) if isinstance(axis, int) else tuple(axis))
    return torch.flip(x, dims)


def fliplr(x: Any) -> Tensor:
    return torch.fliplr(_t(x))


def flipud(x: Any) -> Tensor:
    return torch.flipud(_t(x))


def rot90(array: Any, k: int = 1, axes: tuple = (0, 1)) -> Tensor:
    array = _t(array)
    if array.ndim < 2:
        raise ValueError(f"rot90: the input needs at least 2 dimensions, received shape {tuple(array.shape)}.")
    if len(axes) != 2 or axes[0] % array.ndim == axes[1] % array.ndim:
        raise ValueError(f"rot90: axes must be two different axes, received {axes}.")
    return torch.rot90(array, k, [a % array.ndim for a in axes])


def roll(x: Any, shift: Any, axis: Any = None) -> Tensor:
    return torch.roll(_t(x), shift, dims=axis)


def tile(x: Any, repeats: Any) -> Tensor:
    x = _t(x)
    if isinstance(repeats, Tensor):
        repeats = repeats.tolist()
    return torch.tile(x, (repeats,) if isinstance(repeats, int) else tuple(repeats))


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Tensor:
    x = _t(x)
    if isinstance(repeats, int):
        return torch.repeat_interleave(x, repeats, dim=axis)
    # Counts known on the host also give the output length, so no device read (and meta tensors work).
    total = None if isinstance(repeats, torch.Tensor) else int(np.sum(repeats)) if np.ndim(repeats) else None
    repeats = _t(repeats).to(x.device).long()
    if repeats.ndim == 0:
        repeats = repeats.reshape(1)
    if total is None or repeats.shape[0] == 1:
        return torch.repeat_interleave(x, repeats, dim=axis)
    return torch.repeat_interleave(x, repeats, dim=axis, output_size=total)


def concatenate(xs: Sequence, axis: int | None = 0) -> Tensor:
    xs = [_t(x) for x in xs]
    if axis is None:
        return torch.cat([x.reshape(-1) for x in xs])
    return torch.cat(xs, dim=axis)


def append(x1: Any, x2: Any, axis: int | None = None) -> Tensor:
    a, b = _pair(x1, x2)
    if axis is None:
        return torch.cat((a.reshape(-1), b.reshape(-1)))
    return torch.cat((a, b), dim=axis)


def stack(x: Sequence, axis: int = 0) -> Tensor:
    return torch.stack([_t(e) for e in x], dim=axis)


def hstack(xs: Sequence) -> Tensor:
    return torch.hstack([_t(x) for x in xs])


def vstack(xs: Sequence) -> Tensor:
    return torch.vstack([_t(x) for x in xs])


def dstack(xs: Sequence) -> Tensor:
    return torch.dstack([_t(x) for x in xs])


def _sections(indices_or_sections: Any) -> Any:
    if isinstance(indices_or_sections, int):
        return indices_or_sections
    if isinstance(indices_or_sections, Tensor):
        return indices_or_sections.tolist()
    return [int(i) for i in indices_or_sections]


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list:
    x = _t(x)
    sections = _sections(indices_or_sections)
    if isinstance(sections, int) and x.shape[axis] % sections:
        raise ValueError(
            f"split: axis {axis} of size {x.shape[axis]} does not divide into {sections} equal sections; "
            "use array_split for unequal parts."
        )
    return list(torch.tensor_split(x, sections, dim=axis))


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list:
    return list(torch.tensor_split(_t(x), _sections(indices_or_sections), dim=axis))


def hsplit(x: Any, indices_or_sections: Any) -> list:
    return list(torch.hsplit(_t(x), _sections(indices_or_sections)))


def vsplit(x: Any, indices_or_sections: Any) -> list:
    return list(torch.vsplit(_t(x), _sections(indices_or_sections)))


def dsplit(x: Any, indices_or_sections: Any) -> list:
    return list(torch.dsplit(_t(x), _sections(indices_or_sections)))


def get_item(x: Any, key: Any) -> Tensor:
    return _t(x)[key]


def take(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    """Elements of `x` at `indices` along `axis` (flattened `x` when None); negative indices wrap."""
    x = _t(x)
    indices = _t(indices).to(x.device).long()
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % x.ndim
    size_ = x.shape[axis]
    indices = torch.where(indices < 0, indices + size_, indices)
    out = torch.index_select(x, axis, indices.reshape(-1))
    return out.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1:])


def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> Tensor:
    x = _t(x)
    indices = _t(indices).to(x.device).long()
    if axis is None:
        x, axis = x.reshape(-1), 0
    indices = torch.where(indices < 0, indices + x.shape[axis], indices)
    return torch.take_along_dim(x, indices, dim=axis)


def nonzero(x: Any) -> tuple:
    """Indices of the non-zero elements, one int32 tensor per axis."""
    return tuple(i.to(torch.int32) for i in torch.nonzero(_t(x), as_tuple=True))


def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> Tensor:
    sorted_sequence = _t(sorted_sequence)
    if sorted_sequence.ndim != 1:
        raise ValueError(f"searchsorted: sorted_sequence must be 1-D, received shape {tuple(sorted_sequence.shape)}.")
    values = _t(values).to(sorted_sequence.device)
    return torch.searchsorted(sorted_sequence, values, side=side, out_int32=True)


def digitize(x: Any, bins: Any) -> Tensor:
    x = _t(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    return torch.bucketize(x, _t(bins).to(x.device), right=True).to(torch.int32)


def unravel_index(indices: Any, shape: Any) -> tuple:
    indices = _t(indices)
    dtype = _dtypes.promote(indices.dtype)
    return tuple(i.to(dtype) for i in torch.unravel_index(indices, tuple(shape)))


def bincount(x: Any, weights: Any = None, minlength: int = 0, sparse: bool = False) -> Tensor:
    """Counts of each non-negative int in `x` (per row for 2-D input); `weights` sums weights instead."""
    if sparse:
        raise NotImplementedError("bincount: sparse=True needs sparse tensors, which kerastorch does not produce.")
    x = _t(x)
    if weights is not None:
        weights = _t(weights).to(x.device)
        dtype = _dtypes.promote(x.dtype, weights.dtype)
    else:
        dtype = torch.int32
    x = x.long()
    if x.ndim == 2:  # one bincount over rows shifted into disjoint ranges
        width = builtins.max(minlength, int(x.max()) + 1 if x.numel() else 0)  # the output size depends on the values
        shifted = x + torch.arange(x.shape[0], device=x.device)[:, None] * width
        flat_weights = None if weights is None else weights.reshape(-1)
        counts = torch.bincount(shifted.reshape(-1), flat_weights, minlength=x.shape[0] * width)
        return counts.reshape(x.shape[0], width).to(dtype)
    return torch.bincount(x, weights, minlength).to(dtype)


def histogram(x: Any, bins: int = 10, range: tuple | None = None) -> tuple:
    """Counts of `x` in `bins` equal-width bins over `range` (default: min..max) and the bin edges."""
    x = _t(x).reshape(-1)
    dtype = x.dtype if x.dtype.is_floating_point else _floatx()
    x = x.to(dtype)
    low, high = (x.min(), x.max()) if range is None else (
        torch.tensor(range[0], dtype=dtype, device=x.device), torch.tensor(range[1], dtype=dtype, device=x.device))
    edges = low + (high - low) * torch.arange(bins + 1, dtype=dtype, device=x.device) / bins
    index = torch.bucketize(x, edges[1:-1].contiguous(), right=True)
    inside = (x >= low) & (x <= high)
    counts = torch.zeros(bins, dtype=dtype, device=x.device).index_add_(0, index, inside.to(dtype))
    return counts, edges


def unique(x: Any, sorted: bool = True, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, size: int | None = None,
           fill_value: Any = None) -> Any:
    """Unique elements (or slices along `axis`); `size` pads/truncates to a fixed length with `fill_value`."""
    x = _t(x)
    values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True, dim=axis)
    dim = 0 if axis is None else axis % x.ndim
    outputs = {}
    if return_index:
        flat_inverse = inverse.reshape(-1)
        positions = torch.arange(flat_inverse.shape[0], device=x.device)
        first = torch.full((values.shape[dim],), flat_inverse.shape[0], dtype=torch.int64, device=x.device)
        outputs["index"] = first.scatter_reduce(0, flat_inverse, positions, "amin")
    if size is not None:
        have = values.shape[dim]
        if have >= size:
            values = values.narrow(dim, 0, size)
            counts = counts[:size]
            if return_index:
                outputs["index"] = outputs["index"][:size]
        else:
            pad = [0, 0] * values.ndim
            pad[2 * (values.ndim - 1 - dim) + 1] = size - have
            values = F.pad(values, pad, value=0 if fill_value is None else fill_value)
            counts = F.pad(counts, (0, size - have))
            if return_index:
                outputs["index"] = F.pad(outputs["index"], (0, size - have), value=1)
    result = [values]
    if return_index:
        result.append(outputs["index"])
    if return_inverse:
        result.append(inverse)
    if return_counts:
        result.append(counts)
    return result[0] if len(result) == 1 else tuple(result)


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = None) -> Tensor:
    """Pad each axis by `pad_width[axis] = (before, after)` (or one pair / one int for all axes).

    Modes as in numpy: "constant" (with `constant_values`), "reflect", "symmetric", "edge", "wrap".
    """
    x = _t(x)
    if constant_values is not None and mode != "constant":
        raise ValueError(f"pad: constant_values only applies to mode='constant', received mode={mode!r}.")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else
                             np.full((1, 2), int(pad_width)), (x.ndim, 2)).tolist()
    if mode in ("constant", "empty"):
        flat = [w for pair in reversed(widths) for w in pair]
        return F.pad(x, flat, value=0 if constant_values is None else constant_values)
    if mode in ("linear_ramp", "maximum", "mean", "median", "minimum"):
        raise NotImplementedError(f"pad: mode={mode!r} is not implemented; use constant, reflect, symmetric, edge or wrap.")
    if mode not in ("reflect", "symmetric", "edge", "wrap"):
        raise ValueError(f"pad: mode must be constant, reflect, symmetric, edge or wrap, received {mode!r}.")
    for axis, (before, after) in enumerate(widths):
        if before == 0 and after == 0:
            continue
        n = x.shape[axis]
        if mode == "reflect":
            left = x.narrow(axis, 1, before).flip(axis)
            right = x.narrow(axis, n - 1 - after, after).flip(axis)
        elif mode == "symmetric":
            left = x.narrow(axis, 0, before).flip(axis)
            right = x.narrow(axis, n - after, after).flip(axis)
        elif mode == "edge":
            left = x.narrow(axis, 0, 1).expand(*x.shape[:axis], before, *x.shape[axis + 1:])
            right = x.narrow(axis, n - 1, 1).expand(*x.shape[:axis], after, *x.shape[axis + 1:])
        else:
            left = x.narrow(axis, n - before, before)
            right = x.narrow(axis, 0, after)
        x = torch.cat([left, x, right], dim=axis)
    return x


# ---------------------------------------------------------------- linear algebra-like

def _float_compute(x1: Any, x2: Any) -> tuple[Tensor, Tensor, torch.dtype]:
    """Operands in a float compute dtype plus Keras's result dtype (ints multiply as floats)."""
    a, b = _pair(x1, x2)
    result = _dtypes.promote(a.dtype, b.dtype)
    compute = _dtypes.promote(result, float)
    return a.to(compute), b.to(compute), result


def matmul(x1: Any, x2: Any) -> Tensor:
    a, b = _pair(x1, x2)
    if a.dtype == b.dtype and a.dtype in (torch.float32, torch.bfloat16):
        return torch.matmul(a, b)  # the common case: nothing to promote (Keras folds float64 to float32)
    if a.dtype == torch.int8 and b.dtype == torch.int8:
        result = torch.int32
    else:
        result = _dtypes.promote(a.dtype, b.dtype)
    compute = _floatx() if result == torch.bool else result
    if (compute == torch.float16 and a.device.type == "cpu") or (not compute.is_floating_point and a.device.type == "cuda"):
        compute = torch.float32  # CPU half matmul is slow and lossy; CUDA has no integer matmul
    return _cast(torch.matmul(_cast(a, compute), _cast(b, compute)), result)


def dot(x1: Any, x2: Any) -> Tensor:
    a, b, result = _float_compute(x1, x2)
    if a.ndim == 0 or b.ndim == 0:
        return (a * b).to(result)
    if b.ndim > 2:  # numpy: sum over the last axis of a and the second-to-last of b
        return torch.tensordot(a, b, dims=([a.ndim - 1], [b.ndim - 2])).to(result)
    return torch.matmul(a, b).to(result)


def vdot(x1: Any, x2: Any) -> Tensor:
    a, b, result = _float_compute(x1, x2)
    return torch.vdot(a.reshape(-1), b.reshape(-1)).to(result)


def inner(x1: Any, x2: Any) -> Tensor:
    a, b, result = _float_compute(x1, x2)
    return torch.inner(a, b).to(result)


def outer(x1: Any, x2: Any) -> Tensor:
    a, b = _pair(x1, x2)
    return torch.outer(a.reshape(-1), b.reshape(-1))


def tensordot(x1: Any, x2: Any, axes: Any = 2) -> Tensor:
    a, b, result = _float_compute(x1, x2)
    if isinstance(axes, (list, tuple)):
        first, second = axes
        axes = ([first] if isinstance(first, int) else list(first), [second] if isinstance(second, int) else list(second))
    return torch.tensordot(a, b, dims=axes).to(result)


def kron(x1: Any, x2: Any) -> Tensor:
    return torch.kron(*_pair(x1, x2))


def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None) -> Tensor:
    """Cross product of 3-vectors (2-vectors are zero-extended, as in numpy)."""
    a, b = _pair(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    dtype = _dtypes.promote(a.dtype, b.dtype)
    a = torch.movedim(a.to(dtype), axisa, -1)
    b = torch.movedim(b.to(dtype), axisb, -1)
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    if a.shape[-1] == 2:
        a = F.pad(a, (0, 1))
    if b.shape[-1] == 2:
        b = F.pad(b, (0, 1))
    a, b = torch.broadcast_tensors(a, b)
    return torch.movedim(torch.linalg.cross(a, b, dim=-1), -1, axisc)


def einsum(subscripts: str, *operands: Any, **kwargs: Any) -> Tensor:
    if kwargs:
        raise ValueError(f"einsum: unsupported keyword arguments {sorted(kwargs)}; only subscripts and operands are accepted.")
    operands = [_t(o) for o in operands]
    if operands and builtins.all(o.dtype == torch.int8 for o in operands):
        return torch.einsum(subscripts, *[o.int() for o in operands])
    return torch.einsum(subscripts, *operands)


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    x = _t(x)
    dtype = torch.int32 if x.dtype in _SMALL_INTS else x.dtype
    return torch.sum(torch.diagonal(x, offset, axis1, axis2), dim=-1, dtype=dtype)


def diag(x: Any, k: int = 0) -> Tensor:
    return torch.diag(_t(x), k)


def diagflat(x: Any, k: int = 0) -> Tensor:
    return torch.diagflat(_t(x), k)


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    return torch.diagonal(_t(x), offset, axis1, axis2)


def tril(x: Any, k: int = 0) -> Tensor:
    return torch.tril(_t(x), k)


def triu(x: Any, k: int = 0) -> Tensor:
    return torch.triu(_t(x), k)


def diff(a: Any, n: int = 1, axis: int = -1) -> Tensor:
    return torch.diff(_t(a), n=n, dim=axis)


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Tensor:
    y = _t(y)
    if y.dtype == torch.bool:
        y = y.to(_floatx())
    if x is not None:
        return torch.trapezoid(y, _t(x).to(y.device), dim=axis)
    return torch.trapezoid(y, dx=dx, dim=axis)


def corrcoef(x: Any) -> Tensor:
    x = _t(x)
    if x.dtype == torch.int64:
        x = x.double()
    elif _is_int_or_bool(x):
        x = x.to(_floatx())
    x = x.reshape(1, -1) if x.ndim == 1 else x
    centered = x - x.mean(dim=1, keepdim=True)
    cov = centered @ centered.transpose(0, 1).conj()
    scale = torch.sqrt(torch.diagonal(cov).real)
    out = cov / scale[:, None] / scale[None, :]
    out = out.real.clamp(-1, 1) if not out.is_complex() else out
    return out.squeeze() if out.shape == (1, 1) else out


def correlate(x1: Any, x2: Any, mode: str = "valid") -> Tensor:
    """Cross-correlation of two 1-D sequences (numpy's `correlate`): modes valid, same, full."""
    a, b = _pair(x1, x2)
    dtype = _rt(a.dtype, b.dtype)
    dtype = torch.float64 if dtype == "int64" else _torch_dtype(dtype) if dtype in ("bfloat16", "float16", "float64") else torch.float32
    a, b = a.to(dtype), b.to(dtype)
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"correlate: mode must be 'valid', 'same' or 'full', received {mode!r}.")
    n, m = a.shape[-1], b.shape[-1]
    full_out = F.conv1d(a.reshape(1, 1, n), b.reshape(1, 1, m), padding=m - 1).reshape(-1)
    if mode == "full":
        return full_out
    if mode == "same":
        length = builtins.max(n, m)
        start = (full_out.shape[0] - length) // 2
        return full_out[start:start + length]
    length = builtins.max(n, m) - builtins.min(n, m) + 1
    start = builtins.min(n, m) - 1
    return full_out[start:start + length]


# ---------------------------------------------------------------- misc

def view(x: Any, dtype: Any = None) -> Tensor:
    return _t(x).view(_torch_dtype(dtype))


def vectorize(pyfunc: Callable, *, excluded: Any = None, signature: str | None = None) -> Callable:
    """`pyfunc` lifted to broadcast over array arguments (batched with `torch.vmap`), like `np.vectorize`."""
    excluded = set(excluded or ())
    core_in, core_out = _parse_signature(signature)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            raise ValueError("vectorize: the vectorized function takes positional arguments only.")
        positions = [i for i in range(len(args)) if i not in excluded]
        tensors = [_t(args[i]) for i in positions]
        cores = core_in if core_in is not None else [()] * len(tensors)
        loop_shapes = [t.shape[:t.ndim - len(c)] for t, c in zip(tensors, cores)]
        batch = torch.broadcast_shapes(*loop_shapes)
        flat = [t.expand(*batch, *t.shape[t.ndim - len(c):]).reshape(-1, *t.shape[t.ndim - len(c):])
                for t, c in zip(tensors, cores)]

        def call(*vals: Tensor) -> Any:
            full = list(args)
            for i, v in zip(positions, vals):
                full[i] = v
            return pyfunc(*full)

        out = torch.vmap(call)(*flat)
        if isinstance(out, tuple):
            return tuple(o.reshape(*batch, *o.shape[1:]) for o in out)
        return out.reshape(*batch, *out.shape[1:])

    return wrapped


def _parse_signature(signature: str | None) -> tuple[list | None, list | None]:
    if signature is None:
        return None, None
    try:
        ins, outs = signature.replace(" ", "").split("->")
        parse = lambda s: [tuple(d for d in part.strip("()").split(",") if d) for part in s.split("),(")]
        return parse(ins), parse(outs)
    except ValueError:
        raise ValueError(f"vectorize: signature must look like '(n),(n)->()', received {signature!r}.") from None


def slogdet(x: Any) -> tuple:
    sign_, logabsdet = torch.linalg.slogdet(_t(x))
    return sign_, logabsdet
