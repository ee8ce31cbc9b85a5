"""Keras's core ops: conversion, casting, shapes, slicing/scatter and control flow, over torch.

Control flow runs eagerly in Python (`cond` evaluates its predicate), as on Keras's torch backend;
under `torch.compile` the branches and loops are traced like any Python code.
"""

from __future__ import annotations

import builtins
import functools
import inspect
from typing import Any, Callable, Sequence

import numpy as np
import torch

from . import _dtypes

__all__ = [
    "associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient",
    "dtype", "fori_loop", "is_tensor", "map", "saturate_cast", "scan", "scatter", "scatter_update",
    "shape", "slice", "slice_update", "stop_gradient", "switch", "unstack", "vectorized_map",
    "while_loop",
]


def _flat_dtype(values: list) -> str:
    items, stack = [], list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            items.append(item)
    return _dtypes.result_type(*(_dtypes.of(i) for i in items)) if items else _dtypes.result_type()


def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None, ragged: bool | None = None) -> torch.Tensor:
    """A torch tensor from a tensor, numpy array, Python scalar or nested list (Keras's dtype rules).

    Args:
        x: value to convert; tensors pass through (cast only when `dtype` is given).
        dtype: target dtype; by default numpy arrays keep theirs, Python ints become int32 and
            floats `floatx()`.
        sparse, ragged: only `False`/`None`; torch has no such tensors here.
    """
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(_dtypes.to_torch(dtype))
    if sparse or ragged:
        raise ValueError("convert_to_tensor: sparse and ragged tensors do not exist on torch; pass sparse=None, ragged=None.")
    if hasattr(x, "value") and isinstance(getattr(x, "value"), torch.Tensor):  # Keras-style variables
        return convert_to_tensor(x.value, dtype)
    if dtype is not None:
        dtype = _dtypes.to_torch(dtype)
    if isinstance(x, (bool, int, float, complex)):
        return torch.tensor(x, dtype=dtype or scalar_dtype(x))
    if isinstance(x, (list, tuple)):
        if any(isinstance(e, torch.Tensor) for e in x):
            return torch.stack([convert_to_tensor(e, dtype) for e in x])
        if dtype is None:
            dtype = _dtypes.to_torch(_flat_dtype(list(x)))
        return torch.tensor(np.asarray(x), dtype=dtype) if x else torch.zeros((0,), dtype=dtype)
    array = np.asarray(x)
    if array.dtype == np.uint32:
        array = array.astype(np.int64)
    if dtype is None:
        dtype = _dtypes.to_torch(array.dtype)
    if array.dtype.name == "bfloat16":
        array = array.astype(np.float32)
    return torch.from_numpy(np.array(array, copy=True) if not array.flags.writeable else np.ascontiguousarray(array)).to(dtype)


def scalar_dtype(value: bool | int | float | complex) -> torch.dtype:
    """Keras's dtype for a Python scalar: bool, int32 (int64 beyond its range), floatx, complex64."""
    if isinstance(value, bool):
        return torch.bool
    if isinstance(value, int):
        return torch.int32 if -(2**31) <= value < 2**31 else torch.int64
    if isinstance(value, float):
        return _dtypes.promote(float)
    return torch.complex64


def convert_to_numpy(x: Any) -> np.ndarray:
    """A numpy array of a tensor (detached, moved to the host) or of any array-like."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.dtype == torch.bfloat16:
            return x.float().cpu().numpy()
        return x.cpu().numpy()
    if isinstance(x, (list, tuple)):
        return np.array([convert_to_numpy(e) for e in x])
    return np.asarray(x)


def is_tensor(x: Any) -> bool:
    return isinstance(x, torch.Tensor)


def shape(x: Any) -> tuple:
    """The static shape as a tuple of ints."""
    return tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))


def dtype(x: Any) -> str:
    """Keras's dtype name of `x` ("float32", ...)."""
    return _dtypes.name(convert_to_tensor(x).dtype)


def cast(x: Any, dtype: Any) -> torch.Tensor:
    """`x` converted to `dtype` (a Keras name or torch dtype)."""
    return convert_to_tensor(x).to(_dtypes.to_torch(dtype))


def _range(dtype: torch.dtype) -> tuple[float, float]:
    if dtype == torch.bool:
        return 0, 1
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    return info.min, info.max


def _limit(value: float, dtype: torch.dtype, bound: float) -> float:
    """`value` as held in `dtype` (host arithmetic only), nudged toward zero if rounding passed `bound`."""
    if not dtype.is_floating_point:
        return value
    held = torch.tensor(value, dtype=dtype)  # a CPU scalar: no device work
    if abs(held.double().item()) > abs(bound):
        held = torch.nextafter(held, torch.zeros((), dtype=dtype))
    return held.item()


def saturate_cast(x: Any, dtype: Any) -> torch.Tensor:
    """Cast that first clamps `x` into the target's range, so out-of-range values saturate instead of wrapping."""
    x = convert_to_tensor(x)
    target = _dtypes.to_torch(dtype)
    if x.dtype == torch.bool:
        return x.to(target)
    (in_min, in_max), (out_min, out_max) = _range(x.dtype), _range(target)
    low = _limit(max(in_min, out_min), x.dtype, out_min)
    high = _limit(min(in_max, out_max), x.dtype, out_max)
    return torch.clamp(x, low, high).to(target)


def _index(value: Any) -> Any:
    return value if isinstance(value, int) else convert_to_tensor(value)


def slice(inputs: Any, start_indices: Sequence, shape: Sequence) -> torch.Tensor:
    """The block of `inputs` of size `shape` starting at `start_indices` (ints or a tensor)."""
    inputs = convert_to_tensor(inputs)
    if isinstance(start_indices, torch.Tensor):
        out = inputs
        for axis, size in enumerate(shape):
            out = out.narrow(axis, start_indices[axis], size)
        return out
    return inputs[tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))]


def slice_update(inputs: Any, start_indices: Sequence, updates: Any) -> torch.Tensor:
    """A copy of `inputs` with `updates` written at `start_indices`."""
    inputs = convert_to_tensor(inputs)
    updates = convert_to_tensor(updates, inputs.dtype)
    out = inputs.clone()
    if isinstance(start_indices, torch.Tensor):
        view = out
        for axis, size in enumerate(updates.shape):
            view = view.narrow(axis, start_indices[axis], size)
        view.copy_(updates)
        return out
    region = tuple(builtins.slice(int(s), int(s) + n) for s, n in zip(start_indices, updates.shape))
    out[region] = updates
    return out


def scatter(indices: Any, values: Any, shape: Sequence) -> torch.Tensor:
    """A zero tensor of `shape` with `values` added at `indices` (last axis indexes the leading dims)."""
    indices = convert_to_tensor(indices).long()
    values = convert_to_tensor(values)
    out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    depth = indices.shape[-1]
    flat = _flat_positions(indices, tuple(shape)[:depth])
    tail = tuple(shape)[depth:]
    out.view(-1, *tail).index_put_((flat,), values.reshape(-1, *tail), accumulate=True)
    return out


def _flat_positions(indices: torch.Tensor, dims: tuple) -> torch.Tensor:
    strides = [1] * len(dims)
    for i in range(len(dims) - 2, -1, -1):
        strides[i] = strides[i + 1] * dims[i + 1]
    strides_t = torch.tensor(strides, dtype=indices.dtype, device=indices.device)
    return (indices * strides_t).sum(-1).reshape(-1)


def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: str | None = None) -> torch.Tensor:
    """A copy of `inputs` with `updates` at `indices`; `reduction` ("add", "max", "min", "mul")
    combines them with the current values instead of replacing."""
    inputs = convert_to_tensor(inputs)
    indices = convert_to_tensor(indices).long()
    updates = convert_to_tensor(updates, inputs.dtype)
    depth = indices.shape[-1]
    tail = tuple(inputs.shape[depth:])
    flat = _flat_positions(indices, tuple(inputs.shape[:depth]))
    out = inputs.clone()
    target = out.view(-1, *tail)
    updates = updates.reshape(-1, *tail)
    if reduction is None:
        target[flat] = updates
    elif reduction == "add":
        target.index_put_((flat,), updates, accumulate=True)
    elif reduction in ("max", "min", "mul"):
        mode = {"max": "amax", "min": "amin", "mul": "prod"}[reduction]
        index = flat.reshape(-1, *([1] * len(tail))).expand_as(updates)
        target.scatter_reduce_(0, index, updates, mode, include_self=True)
    else:
        raise ValueError(f"scatter_update: reduction must be None, 'add', 'max', 'min' or 'mul', received {reduction!r}.")
    return out


def stop_gradient(variable: Any) -> torch.Tensor:
    return convert_to_tensor(variable).detach()


def unstack(x: Any, num: int | None = None, axis: int = 0) -> list:
    """The slices of `x` along `axis`, as a list; `num`, if given, must equal that axis's size."""
    x = convert_to_tensor(x)
    if num is not None and num != x.shape[axis]:
        raise ValueError(f"unstack: num={num} but axis {axis} of the input (shape {tuple(x.shape)}) has size {x.shape[axis]}.")
    return list(torch.unbind(x, axis))


def cond(pred: Any, true_fn: Callable, false_fn: Callable) -> Any:
    """`true_fn()` if `pred` else `false_fn()` (evaluating a tensor predicate reads it from the device)."""
    return true_fn() if bool(pred) else false_fn()


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """`branches[index](*operands)`, with `index` clamped into range like Keras."""
    index = builtins.max(0, builtins.min(int(index), len(branches) - 1))
    return branches[index](*operands)


def fori_loop(lower: int, upper: int, body_fun: Callable, init_val: Any) -> Any:
    """`val = body_fun(i, val)` for `i` in `range(lower, upper)`."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def while_loop(cond: Callable, body: Callable, loop_vars: Any, maximum_iterations: int | None = None) -> Any:
    """Repeat `loop_vars = body(*loop_vars)` while `cond(*loop_vars)` holds (at most `maximum_iterations`
    times). The loop variables become tensors; a tuple or list comes back as a tuple, a single value alone."""
    several = isinstance(loop_vars, (list, tuple))
    leaves, rebuild = _tree_flatten(tuple(loop_vars) if several else (loop_vars,))
    state = rebuild([convert_to_tensor(v) for v in leaves])
    count = 0
    while (maximum_iterations is None or count < maximum_iterations) and bool(cond(*state)):
        result = body(*state)
        state = tuple(result) if isinstance(result, (list, tuple)) else (result,)
        count += 1
    return state if several else state[0]


def _tree_flatten(tree: Any) -> tuple[list, Callable]:
    import torch.utils._pytree as pytree

    leaves, spec = pytree.tree_flatten(tree)
    return leaves, lambda new: pytree.tree_unflatten(list(new), spec)


def map(f: Callable, xs: Any) -> Any:
    """`f` applied to each slice of `xs` along the first axis, results stacked."""
    leaves, rebuild = _tree_flatten(xs)
    leaves = [convert_to_tensor(v) for v in leaves]
    outs = [f(rebuild([v[i] for v in leaves])) for i in range(leaves[0].shape[0])]
    out_leaves, out_rebuild = _tree_flatten(outs[0])
    columns = [_tree_flatten(o)[0] for o in outs]
    return out_rebuild([torch.stack([convert_to_tensor(c[j]) for c in columns]) for j in range(len(out_leaves))])


def scan(f: Callable, init: Any, xs: Any = None, length: int | None = None, reverse: bool = False, unroll: int = 1) -> tuple:
    """Loop `carry, y = f(carry, x)` over the first axis of `xs`; returns `(carry, stacked ys)`."""
    if xs is None:
        if length is None:
            raise ValueError("scan: pass `xs` or `length` so the number of steps is known.")
        leaves, rebuild, steps = [], None, int(length)
    else:
        leaves, rebuild = _tree_flatten(xs)
        leaves = [convert_to_tensor(v) for v in leaves]
        steps = leaves[0].shape[0] if length is None else int(length)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    carry, ys = init, []
    for i in order:
        x = None if rebuild is None else rebuild([v[i] for v in leaves])
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or ys[0] is None:
        return carry, None
    y_leaves, y_rebuild = _tree_flatten(ys[0])
    columns = [_tree_flatten(y)[0] for y in ys]
    stacked = [torch.stack([convert_to_tensor(c[j]) for c in columns]) for j in range(len(y_leaves))]
    return carry, y_rebuild(stacked)


def associative_scan(f: Callable, elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive scan of the associative `f` along `axis` (parallel prefix, O(log n) steps of `f`)."""
    leaves, rebuild = _tree_flatten(elems)
    leaves = [torch.movedim(convert_to_tensor(v), axis, 0) for v in leaves]
    if reverse:
        leaves = [torch.flip(v, (0,)) for v in leaves]

    def combine(a: list, b: list) -> list:
        out, _ = _tree_flatten(f(rebuild(a), rebuild(b)))
        return out

    def prefix(values: list) -> list:
        n = values[0].shape[0]
        if n < 2:
            return values
        # Pair neighbours, scan the pairs recursively, then fill in the even positions.
        odd = combine([v[0:n - 1:2] for v in values], [v[1::2] for v in values])
        odd = prefix(odd)
        if n % 2 == 0:
            even = combine([v[0:-1] for v in odd], [v[2::2] for v in values])
        else:
            even = combine(odd, [v[2::2] for v in values])
        even = [torch.cat([v[:1], e]) for v, e in zip(values, even)]
        merged = []
        for e, o in zip(even, odd):
            m = torch.empty((n, *e.shape[1:]), dtype=e.dtype, device=e.device)
            m[0::2] = e
            m[1::2] = o
            merged.append(m)
        return merged

    result = prefix(leaves)
    if reverse:
        result = [torch.flip(v, (0,)) for v in result]
    return rebuild([torch.movedim(v, 0, axis) for v in result])


def vectorized_map(function: Callable, elements: Any) -> Any:
    """`function` over the first axis of `elements`, batched with `torch.vmap`."""
    leaves, rebuild = _tree_flatten(elements)
    leaves = [convert_to_tensor(v) for v in leaves]
    return torch.vmap(lambda *vs: function(rebuild(list(vs))))(*leaves)


def custom_gradient(f: Callable) -> Callable:
    """Decorator: `f(*args)` returns `(output, grad_fn)` and backward uses `grad_fn` for the input gradients.

    `grad_fn` is called as Keras's torch backend calls it, `grad_fn(*args, upstream=grad)`, when it takes
    an `upstream` keyword, else as on JAX/TensorFlow, `grad_fn(grad)`.
    """

    class _Function(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            output, grad_fn = f(*args)
            ctx.grad_fn = grad_fn
            ctx.save_for_backward(*[a for a in args if isinstance(a, torch.Tensor)])
            ctx.args = [None if isinstance(a, torch.Tensor) else a for a in args]
            return output

        @staticmethod
        def backward(ctx, *upstream):
            saved = iter(ctx.saved_tensors)
            args = [next(saved) if a is None else a for a in ctx.args]
            grad = upstream[0] if len(upstream) == 1 else upstream
            try:
                takes_upstream = "upstream" in inspect.signature(ctx.grad_fn).parameters
            except (TypeError, ValueError):
                takes_upstream = False
            grads = ctx.grad_fn(*args, upstream=grad) if takes_upstream else ctx.grad_fn(grad)
            grads = tuple(grads) if isinstance(grads, (list, tuple)) else (grads,)
            return grads + (None,) * (len(args) - len(grads))

    @functools.wraps(f)
    def wrapper(*args: Any) -> Any:
        return _Function.apply(*args)

    return wrapper
