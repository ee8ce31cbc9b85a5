"""Keras's `keras.ops.linalg` group over `torch.linalg`."""

from __future__ import annotations

from typing import Any, Callable

import torch

from .. import config
from . import _dtypes
from .core import convert_to_tensor

_t = convert_to_tensor
Tensor = torch.Tensor

__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor", "matrix_rank", "norm",
    "pinv", "qr", "solve", "solve_triangular", "svd",
]


def _square(x: Tensor, op: str) -> Tensor:
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op} expects (batched) square matrices, received shape {tuple(x.shape)}.")
    return x


def cholesky(x: Any, upper: bool = False) -> Tensor:
    """Cholesky factor of symmetric positive-definite matrices (lower by default)."""
    return torch.linalg.cholesky(_square(_t(x), "cholesky"), upper=upper)


def cholesky_inverse(x: Any, upper: bool = False) -> Tensor:
    """Inverse of `A` given its Cholesky factor `x`."""
    return torch.cholesky_inverse(_square(_t(x), "cholesky_inverse"), upper=upper)


def det(x: Any) -> Tensor:
    return torch.linalg.det(_square(_t(x), "det"))


def eig(x: Any) -> tuple[Tensor, Tensor]:
    return tuple(torch.linalg.eig(_square(_t(x), "eig")))


def eigh(x: Any) -> tuple[Tensor, Tensor]:
    return tuple(torch.linalg.eigh(_square(_t(x), "eigh")))


def inv(x: Any) -> Tensor:
    return torch.linalg.inv(_square(_t(x), "inv"))


def lu_factor(x: Any) -> tuple[Tensor, Tensor]:
    """Packed LU factorization and 0-based pivot indices (as in SciPy/JAX)."""
    lu, pivots = torch.linalg.lu_factor(_t(x))
    return lu, pivots - 1


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Vector or matrix norm (numpy's `ord` conventions); integer inputs compute in floatx."""
    x = _t(x)
    dtype = config.floatx() if x.dtype == torch.int64 else _dtypes.result_type(x.dtype, float)
    x = x.to(_dtypes.to_torch(dtype))
    if isinstance(axis, list):
        axis = tuple(axis)
    return torch.linalg.norm(x, ord=ord, dim=axis, keepdim=keepdims)


def qr(x: Any, mode: str = "reduced") -> tuple[Tensor, Tensor]:
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', received {mode!r}.")
    return tuple(torch.linalg.qr(_t(x), mode=mode))


def solve(a: Any, b: Any) -> Tensor:
    """`x` with `a @ x = b`."""
    return torch.linalg.solve(_t(a), _t(b))


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Tensor:
    """`x` with `a @ x = b` for triangular `a` (upper unless `lower`); `b` may be a vector."""
    a, b = _t(a), _t(b)
    if b.ndim == a.ndim - 1:
        return torch.linalg.solve_triangular(a, b.unsqueeze(-1), upper=not lower).squeeze(-1)
    return torch.linalg.solve_triangular(a, b, upper=not lower)


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """`(u, s, vh)`, or the singular values alone with `compute_uv=False`."""
    x = _t(x)
    if not compute_uv:
        return torch.linalg.svdvals(x)
    return tuple(torch.linalg.svd(x, full_matrices=full_matrices))


def lstsq(a: Any, b: Any, rcond: float | None = None) -> Tensor:
    """Least-squares solution of `a @ x = b`; `rcond` cuts small singular values (relative)."""
    a, b = _t(a), _t(b)
    if a.device.type == "meta":  # torch has no meta kernel for lstsq: give the solution's shape
        return torch.empty((*a.shape[:-2], a.shape[-1], *b.shape[a.ndim - 1:]), dtype=a.dtype, device="meta")
    if rcond is None:
        return torch.linalg.lstsq(a, b).solution
    vector = b.ndim == a.ndim - 1
    out = torch.linalg.pinv(a, rtol=rcond) @ (b.unsqueeze(-1) if vector else b)
    return out.squeeze(-1) if vector else out


def matrix_rank(x: Any, tol: float | None = None) -> Tensor:
    return torch.linalg.matrix_rank(_t(x), atol=tol).to(torch.int32)


def pinv(x: Any, rcond: float | None = None) -> Tensor:
    return torch.linalg.pinv(_t(x), rtol=rcond)


def jvp(fun: Callable, primals: Any, tangents: Any, has_aux: bool = False) -> tuple:
    """`(fun(*primals), J @ tangents)` (plus the auxiliary output with `has_aux`), by forward-mode AD."""
    return torch.func.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)
