"""Keras's `keras.ops.nn` group: activations, convolutions, pooling, normalization, losses and
attention as thin torch calls.

Spatial ops take Keras's layouts: channels_last by default (`data_format` overrides), kernels
`(*kernel_size, in, out)`. A channels_last input reaches torch as a zero-copy channels_first view.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from .. import config
from . import _dtypes
from ..layers.padding import pad_same, same_padding, torch_pads
from .core import convert_to_tensor

_t = convert_to_tensor
Tensor = torch.Tensor

__all__ = [
    "adaptive_average_pool", "adaptive_max_pool", "average_pool", "batch_normalization",
    "binary_crossentropy", "categorical_crossentropy", "celu", "conv", "conv_transpose", "ctc_decode",
    "ctc_loss", "depth_to_space", "depthwise_conv", "dot_product_attention", "elu", "fold", "gelu", "glu",
    "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "layer_normalization",
    "leaky_relu", "log_sigmoid", "log_softmax", "max_pool", "moments", "multi_hot", "normalize", "one_hot",
    "polar", "psnr", "relu", "relu6", "rms_normalization", "selu", "separable_conv", "sigmoid", "silu",
    "soft_shrink", "softmax", "softplus", "softsign", "space_to_depth", "sparse_categorical_crossentropy",
    "sparse_plus", "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink", "threshold", "unfold",
]


# ---------------------------------------------------------------- activations

def relu(x: Any) -> Tensor:
    return F.relu(_t(x))


def relu6(x: Any) -> Tensor:
    return F.relu6(_t(x))


def sigmoid(x: Any) -> Tensor:
    return torch.sigmoid(_t(x))


def sparse_sigmoid(x: Any) -> Tensor:
    """0 below -1, 1 above 1, linear `(x + 1) / 2` between."""
    return torch.clamp(0.5 * (_t(x) + 1), 0.0, 1.0)


def tanh_shrink(x: Any) -> Tensor:
    return F.tanhshrink(_t(x))


def softplus(x: Any) -> Tensor:
    return F.softplus(_t(x))


def softsign(x: Any) -> Tensor:
    return F.softsign(_t(x))


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    return F.softshrink(_t(x), threshold)


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    return F.hardshrink(_t(x), threshold)


def sparse_plus(x: Any) -> Tensor:
    """0 below -1, `(x + 1)**2 / 4` on [-1, 1), `x` above."""
    x = _t(x)
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def silu(x: Any) -> Tensor:
    return F.silu(_t(x))


def swish(x: Any) -> Tensor:
    return F.silu(_t(x))


def squareplus(x: Any, b: float = 4) -> Tensor:
    x = _t(x)
    return (x + torch.sqrt(x * x + b)) / 2


def log_sigmoid(x: Any) -> Tensor:
    return F.logsigmoid(_t(x))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    return F.leaky_relu(_t(x), negative_slope)


def hard_sigmoid(x: Any) -> Tensor:
    return F.hardsigmoid(_t(x))


def hard_silu(x: Any) -> Tensor:
    return F.hardswish(_t(x))


def hard_swish(x: Any) -> Tensor:
    return F.hardswish(_t(x))


def hard_tanh(x: Any) -> Tensor:
    return F.hardtanh(_t(x))


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    return F.elu(_t(x), alpha)


def selu(x: Any) -> Tensor:
    return F.selu(_t(x))


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    return F.celu(_t(x), alpha)


def gelu(x: Any, approximate: bool = True) -> Tensor:
    return F.gelu(_t(x), approximate="tanh" if approximate else "none")


def glu(x: Any, axis: int = -1) -> Tensor:
    return F.glu(_t(x), axis)


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    return F.threshold(_t(x), threshold, default_value)


def _over_axes(fn: Any, x: Tensor, axis: Any) -> Tensor:
    """Apply a last-axis function over one axis, several axes (merged) or all (`None`)."""
    if axis is None:
        return fn(x.reshape(-1), -1).reshape(x.shape)
    if isinstance(axis, int):
        return fn(x, axis)
    axes = [a % x.ndim for a in axis]
    keep = [d for d in range(x.ndim) if d not in axes]
    moved = x.permute(keep + axes)
    out = fn(moved.reshape(*moved.shape[:len(keep)], -1), -1).reshape(moved.shape)
    return out.permute([(keep + axes).index(d) for d in range(x.ndim)])


def softmax(x: Any, axis: Any = -1) -> Tensor:
    """Softmax over `axis` (an int, a tuple of axes, or None for all); float16 on CPU computes in float32."""
    x = _t(x)
    if x.dtype == torch.float16 and x.device.type == "cpu":
        return _over_axes(F.softmax, x.float(), axis).half()
    return _over_axes(F.softmax, x, axis)


def log_softmax(x: Any, axis: Any = -1) -> Tensor:
    x = _t(x)
    if x.dtype == torch.float16 and x.device.type == "cpu":
        return _over_axes(F.log_softmax, x.float(), axis).half()
    return _over_axes(F.log_softmax, x, axis)


def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """Euclidean projection of `x` onto the probability simplex along `axis` (sparse softmax)."""
    x = _t(x)
    z = torch.movedim(x, axis, -1)
    sorted_z = torch.sort(z, dim=-1, descending=True).values
    ranks = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    cumulative = sorted_z.cumsum(-1)
    support = (1 + ranks * sorted_z) > cumulative
    k = support.sum(-1, keepdim=True)
    tau = (torch.gather(cumulative, -1, k - 1) - 1) / k.to(z.dtype)
    return torch.movedim(torch.clamp(z - tau, min=0), -1, axis)


# ---------------------------------------------------------------- spatial helpers

def _tuple(value: Any, rank: int, name: str) -> tuple[int, ...]:
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank:
        raise ValueError(f"{name} must be an int or {rank} ints for {rank}-D inputs, received {value!r}.")
    return tuple(int(v) for v in values)


def _to_cf(x: Tensor, data_format: str) -> Tensor:
    return x if data_format == "channels_first" else x.permute(0, x.ndim - 1, *range(1, x.ndim - 1))


def _from_cf(y: Tensor, data_format: str) -> Tensor:
    return y if data_format == "channels_first" else y.permute(0, *range(2, y.ndim), 1)


def _rank(x: Tensor, op: str) -> int:
    rank = x.ndim - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{op} expects a 3-D, 4-D or 5-D input (batch, spatial axes, channels), received shape {tuple(x.shape)}.")
    return rank


def _padding(padding: str, op: str) -> str:
    value = str(padding).lower()
    if value not in ("valid", "same"):
        raise ValueError(f"{op}: padding must be 'valid' or 'same', received {padding!r}.")
    return value


# ---------------------------------------------------------------- pooling

def max_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Max over windows; "same" padding never picks a padded element."""
    data_format = config.standardize_data_format(data_format)
    x = _to_cf(_t(inputs), data_format)
    rank = _rank(x, "max_pool")
    pool_size = _tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, rank, "strides")
    pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[rank - 1]
    if _padding(padding, "max_pool") == "valid":
        return _from_cf(pool(x, pool_size, strides), data_format)
    lowest = float("-inf") if x.is_floating_point() else torch.iinfo(x.dtype).min
    x, pad = pad_same(x, same_padding(tuple(x.shape[2:]), pool_size, strides, (1,) * rank), lowest)
    return _from_cf(pool(x, pool_size, strides, pad), data_format)


def average_pool(inputs: Any, pool_size: Any, strides: Any = None, padding: str = "valid", data_format: str | None = None) -> Tensor:
    """Mean over windows; with "same" padding each window divides by its count of real elements."""
    data_format = config.standardize_data_format(data_format)
    x = _to_cf(_t(inputs), data_format)
    rank = _rank(x, "average_pool")
    pool_size = _tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, rank, "strides")
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[rank - 1]
    if _padding(padding, "average_pool") == "valid":
        return _from_cf(pool(x, pool_size, strides), data_format)
    pads = same_padding(tuple(x.shape[2:]), pool_size, strides, (1,) * rank)
    if all(a == b for a, b in pads):
        return _from_cf(pool(x, pool_size, strides, [a for a, _ in pads], count_include_pad=False), data_format)
    flat = torch_pads(pads)
    ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
    out = pool(F.pad(x, flat), pool_size, strides) / pool(F.pad(ones, flat), pool_size, strides)
    return _from_cf(out, data_format)


def _adaptive(fns: tuple, inputs: Any, output_size: Any, data_format: str | None, op: str) -> Tensor:
    data_format = config.standardize_data_format(data_format)
    x = _to_cf(_t(inputs), data_format)
    rank = _rank(x, op)
    out = fns[rank - 1](x, _tuple(output_size, rank, "output_size"))
    return _from_cf(out[0] if isinstance(out, tuple) else out, data_format)


def adaptive_average_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> Tensor:
    """Average pooling to a fixed `output_size` (int or per spatial axis)."""
    return _adaptive((F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d), inputs, output_size,
                     data_format, "adaptive_average_pool")


def adaptive_max_pool(inputs: Any, output_size: Any, data_format: str | None = None) -> Tensor:
    return _adaptive((F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d), inputs, output_size,
                     data_format, "adaptive_max_pool")


# ---------------------------------------------------------------- convolution

_CONV = (F.conv1d, F.conv2d, F.conv3d)
_CONV_T = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)


def _torch_kernel(kernel: Tensor) -> Tensor:
    """Keras `(*k, in, out)` -> torch `(out, in, *k)` (a view)."""
    rank = kernel.ndim - 2
    return kernel.permute(rank + 1, rank, *range(rank))


def conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: str | None = None,
         dilation_rate: Any = 1) -> Tensor:
    """N-D convolution; `kernel` is `(*kernel_size, in_channels / groups, out_channels)` like Keras."""
    data_format = config.standardize_data_format(data_format)
    x = _to_cf(_t(inputs), data_format)
    rank = _rank(x, "conv")
    w = _torch_kernel(_t(kernel).to(x.device))
    if x.shape[1] % w.shape[1]:
        raise ValueError(f"conv: input channels ({x.shape[1]}) must be a multiple of the kernel's input channels ({w.shape[1]}).")
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    pad: Any = 0
    if _padding(padding, "conv") == "same":
        x, pad = pad_same(x, same_padding(tuple(x.shape[2:]), tuple(w.shape[2:]), strides, dilation))
    out = _CONV[rank - 1](x, w, None, strides, pad, dilation, x.shape[1] // w.shape[1])
    return _from_cf(out, data_format)


def depthwise_conv(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", data_format: str | None = None,
                   dilation_rate: Any = 1) -> Tensor:
    """Per-channel convolution; `kernel` is `(*kernel_size, in_channels, multiplier)`."""
    kernel = _t(kernel)
    grouped = kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1])
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


def separable_conv(inputs: Any, depthwise_kernel: Any, pointwise_kernel: Any, strides: Any = 1, padding: str = "valid",
                   data_format: str | None = None, dilation_rate: Any = 1) -> Tensor:
    """Depthwise convolution followed by a 1x1 pointwise convolution."""
    y = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(y, pointwise_kernel, 1, "valid", data_format, 1)


def conv_transpose(inputs: Any, kernel: Any, strides: Any = 1, padding: str = "valid", output_padding: Any = None,
                   data_format: str | None = None, dilation_rate: Any = 1) -> Tensor:
    """Transposed convolution; `kernel` is `(*kernel_size, out_channels, in_channels)` like Keras."""
    from ..layers.conv import transpose_crops  # the layers' own geometry; imported late to keep ops importable alone

    data_format = config.standardize_data_format(data_format)
    x = _to_cf(_t(inputs), data_format)
    rank = _rank(x, "conv_transpose")
    kernel = _t(kernel).to(x.device)
    w = kernel.permute(rank + 1, rank, *range(rank))  # (*k, out, in) -> (in, out, *k)
    strides = _tuple(strides, rank, "strides")
    dilation = _tuple(dilation_rate, rank, "dilation_rate")
    extra = None if output_padding is None else _tuple(output_padding, rank, "output_padding")
    crops = transpose_crops(tuple(w.shape[2:]), strides, dilation, _padding(padding, "conv_transpose"), extra)
    y = _CONV_T[rank - 1](x, w, None, strides, 0, 0, 1, dilation)
    index = [slice(None), slice(None)] + [slice(max(a, 0), y.shape[2 + i] - max(b, 0)) for i, (a, b) in enumerate(crops)]
    y = y[tuple(index)]
    if any(a < 0 or b < 0 for a, b in crops):
        y = F.pad(y, torch_pads([(max(-a, 0), max(-b, 0)) for a, b in crops]))
    return _from_cf(y, data_format)


def unfold(x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """Sliding blocks of an NCHW batch as columns `(N, C * kh * kw, L)` (torch's `unfold`)."""
    return F.unfold(_t(x), kernel_size, dilation, padding, stride)


def fold(x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """Sum sliding-block columns back into an NCHW batch (inverse layout of `unfold`)."""
    return F.fold(_t(x), output_size, kernel_size, dilation, padding, stride)


def depth_to_space(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move channel blocks into `block_size x block_size` spatial tiles."""
    data_format = config.standardize_data_format(data_format)
    if block_size < 2:
        raise ValueError(f"depth_to_space: block_size must be at least 2, received {block_size}.")
    x, b = _t(x), block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        return x.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, c // (b * b))
    n, c, h, w = x.shape
    return x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c // (b * b), h * b, w * b)


def space_to_depth(x: Any, block_size: int, data_format: str = "channels_last") -> Tensor:
    """Move `block_size x block_size` spatial tiles into channels (inverse of `depth_to_space`)."""
    data_format = config.standardize_data_format(data_format)
    if block_size < 2:
        raise ValueError(f"space_to_depth: block_size must be at least 2, received {block_size}.")
    x, b = _t(x), block_size
    if data_format == "channels_last":
        n, h, w, c = x.shape
        return x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, c * b * b)
    n, c, h, w = x.shape
    return x.reshape(n, c, h // b, b, w // b, b).permute(0, 1, 3, 5, 2, 4).reshape(n, c * b * b, h // b, w // b)


# ---------------------------------------------------------------- encodings

def one_hot(x: Any, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False) -> Tensor:
    """One-hot vectors along `axis`; negative indices give all zeros."""
    if sparse:
        raise NotImplementedError("one_hot: sparse=True needs sparse tensors, which kerastorch does not produce.")
    x = _t(x).long()
    out = F.one_hot(x.clamp(min=0), num_classes) * (x >= 0).unsqueeze(-1)
    out = out.to(_dtypes.to_torch(dtype or config.floatx()))
    if axis != -1 and axis != out.ndim - 1:
        out = torch.movedim(out, -1, axis)
    return out


def multi_hot(inputs: Any, num_classes: int | None = None, axis: int = -1, dtype: Any = None, sparse: bool = False,
              **kwargs: Any) -> Tensor:
    """For each sample, 1 at every class index present in it (batch of index lists -> `(batch, classes)`)."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected keyword arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot: pass num_classes, the number of classes.")
    x = _t(inputs)
    reduce_axis = 1 if x.ndim > 1 else 0
    return torch.amax(one_hot(x.int(), num_classes, axis=axis, dtype=dtype, sparse=sparse), dim=reduce_axis)


# ---------------------------------------------------------------- normalization

def moments(x: Any, axes: Any, keepdims: bool = False, synchronized: bool = False) -> tuple[Tensor, Tensor]:
    """Mean and variance over `axes`; float16 computes in float32 (clipped back into float16's range)."""
    if synchronized:
        raise NotImplementedError("moments: synchronized=True needs a distributed all-reduce, which this op does not run; "
                                  "reduce across processes with torch.distributed instead.")
    x = _t(x)
    dtype = x.dtype
    if dtype == torch.float16:
        x = x.float()
    dims = (axes,) if isinstance(axes, int) else tuple(axes)
    mean = torch.mean(x, dim=dims, keepdim=True)
    variance = torch.mean(torch.square(x), dim=dims, keepdim=True) - torch.square(mean)
    if not keepdims:
        mean, variance = mean.squeeze(dims), variance.squeeze(dims)
    if dtype == torch.float16:
        limit = torch.finfo(torch.float16).max
        mean, variance = mean.clamp(-limit, limit).half(), variance.clamp(-limit, limit).half()
    return mean, variance


def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None, scale: Any = None,
                        epsilon: float = 1e-3) -> Tensor:
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, the 1-D statistics laid along `axis`."""
    x = _t(x)
    shape = [1] * x.ndim
    shape[axis] = -1
    inv = torch.rsqrt(_t(variance).reshape(shape) + epsilon)
    if scale is not None:
        inv = inv * _t(scale).reshape(shape)
    out = (x - _t(mean).reshape(shape)) * inv
    return out if offset is None else out + _t(offset).reshape(shape)


def _contiguous(axes: list[int], ndim: int) -> bool:
    return axes == list(range(axes[0], ndim))


def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: Any = -1, epsilon: float | None = None,
                        **kwargs: Any) -> Tensor:
    """Normalize over `axis` to zero mean and unit variance, then scale by `gamma` and shift by `beta`."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected keyword arguments {sorted(kwargs)}.")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = _t(x)
    dtype = x.dtype
    x = x.to(_dtypes.promote(dtype, "float32"))
    axes = sorted(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    shape = [x.shape[d] if d in axes else 1 for d in range(x.ndim)]
    gamma = None if gamma is None else _t(gamma).to(x.dtype)
    beta = None if beta is None else _t(beta).to(x.dtype)
    if rms_scaling:  # Keras's deprecated flag: divides by the standard deviation, keeps the mean
        out = x * torch.rsqrt(torch.var(x, dim=axes, keepdim=True, correction=0) + epsilon)
        out = out if gamma is None else out * gamma.reshape(shape)
    elif _contiguous(axes, x.ndim):
        normalized = tuple(x.shape[d] for d in axes)
        reshape = lambda v: None if v is None else v.reshape(normalized)
        out = F.layer_norm(x, normalized, reshape(gamma), reshape(beta), epsilon)
    else:
        mean, variance = moments(x, axes, keepdims=True)
        out = (x - mean) * torch.rsqrt(variance + epsilon)
        out = out if gamma is None else out * gamma.reshape(shape)
        out = out if beta is None else out + beta.reshape(shape)
    return out.to(dtype)


def rms_normalization(x: Any, scale: Any = None, axis: Any = -1, epsilon: float | None = None) -> Tensor:
    """`x / sqrt(mean(x**2) + epsilon) * scale` over `axis`."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = _t(x)
    dtype = x.dtype
    x = x.to(_dtypes.promote(dtype, "float32"))
    axes = sorted(a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    scale = None if scale is None else _t(scale).to(x.dtype)
    if _contiguous(axes, x.ndim):
        normalized = tuple(x.shape[d] for d in axes)
        out = F.rms_norm(x, normalized, None if scale is None else scale.reshape(normalized), epsilon)
    else:
        out = x * torch.rsqrt(torch.mean(x * x, dim=axes, keepdim=True) + epsilon)
        out = out if scale is None else out * scale
    return out.to(dtype)


def normalize(x: Any, axis: int = -1, order: int = 2, epsilon: float | None = None) -> Tensor:
    """`x` divided by its `order`-norm along `axis` (at least `epsilon`)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: order must be an int >= 1, received {order!r}.")
    x = _t(x)
    if x.ndim == 0:
        x = x.reshape(1)
    epsilon = config.epsilon() if epsilon is None else epsilon
    if order == 2:
        inv = torch.rsqrt(torch.sum(x * x, dim=axis, keepdim=True))
        return x * torch.clamp(inv, max=1.0 / epsilon)
    norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=epsilon)


# ---------------------------------------------------------------- losses and metrics

def _same_shape(target: Tensor, output: Tensor, op: str) -> None:
    if target.shape != output.shape:
        raise ValueError(f"{op}: target and output must have the same shape, received {tuple(target.shape)} and {tuple(output.shape)}.")


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    """Elementwise binary cross-entropy; probabilities are clipped to [epsilon, 1 - epsilon]."""
    target, output = _t(target), _t(output)
    _same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target.to(output.dtype), reduction="none")
    eps = config.epsilon()
    return F.binary_cross_entropy(output.clamp(eps, 1 - eps), target.to(output.dtype), reduction="none")


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Cross-entropy between one-hot (or soft) `target` and `output` along `axis`."""
    target, output = _t(target), _t(output)
    _same_shape(target, output, "categorical_crossentropy")
    if target.ndim < 1:
        raise ValueError("categorical_crossentropy: target and output must be at least 1-D, received scalars.")
    if from_logits:
        log_prob = F.log_softmax(output, dim=axis)
    else:
        eps = config.epsilon()
        log_prob = torch.log((output / output.sum(dim=axis, keepdim=True)).clamp(eps, 1 - eps))
    return -(target * log_prob).sum(dim=axis)


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False, axis: int = -1) -> Tensor:
    """Cross-entropy between integer class `target` and `output` scores along `axis`."""
    target, output = _t(target).long(), _t(output)
    if output.ndim < 1:
        raise ValueError("sparse_categorical_crossentropy: output must be at least 1-D, received a scalar.")
    if target.ndim == output.ndim and target.shape[axis] == 1:
        target = target.squeeze(axis)
    expected = list(output.shape)
    del expected[axis]
    if list(target.shape) != expected:
        raise ValueError(f"sparse_categorical_crossentropy: target shape {tuple(target.shape)} must equal the output "
                         f"shape without its class axis, {tuple(expected)}.")
    scores = torch.movedim(output, axis, -1)
    if from_logits:
        log_prob = F.log_softmax(scores, dim=-1)
    else:
        eps = config.epsilon()
        log_prob = torch.log((scores / scores.sum(dim=-1, keepdim=True)).clamp(eps, 1 - eps))
    return -torch.gather(log_prob, -1, target.unsqueeze(-1)).squeeze(-1)


def psnr(x1: Any, x2: Any, max_val: Any) -> Tensor:
    """Peak signal-to-noise ratio in dB: `20 log10(max_val) - 10 log10(mse)`."""
    x1, x2 = _t(x1), _t(x2)
    _same_shape(x1, x2, "psnr")
    max_val = _t(max_val, x1.dtype).to(x1.device)
    return 20 * torch.log10(max_val) - 10 * torch.log10(torch.mean((x1 - x2) ** 2))


def polar(abs_: Any, angle: Any) -> Tensor:
    """The complex number with magnitude `abs_` and phase `angle`."""
    abs_, angle = _t(abs_), _t(angle)
    return torch.complex(abs_ * torch.cos(angle), abs_ * torch.sin(angle))


def ctc_loss(target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0) -> Tensor:
    """Per-sample CTC loss of `output` logits `(batch, time, classes)`; `mask_index` is the blank class."""
    target, output = _t(target), _t(output)
    output = output.to(_dtypes.promote(output.dtype, "float32"))
    if output.device.type == "meta":  # torch has no meta kernel for ctc_loss: one loss per sample
        return torch.empty(output.shape[0], dtype=output.dtype, device="meta")
    log_probs = F.log_softmax(output.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, target.long(), _t(output_length).long(), _t(target_length).long(), blank=mask_index,
                      reduction="none")


def ctc_decode(inputs: Any, sequence_lengths: Any, strategy: str = "greedy", beam_width: int = 100, top_paths: int = 1,
               merge_repeated: bool = True, mask_index: int = 0) -> tuple[Tensor, Tensor]:
    """Decode CTC scores `(batch, time, classes)`: the best label sequences (padded with -1) and their scores.

    "greedy" takes the best class per step (`merge_repeated` collapses repeats); "beam_search" keeps
    `beam_width` prefixes and returns `top_paths` sequences per sample. `mask_index` is the blank class.
    """
    x = _t(inputs)
    x = x.to(_dtypes.promote(x.dtype, "float32"))
    lengths = _t(sequence_lengths).to(x.device).int()
    if strategy == "greedy":
        return _greedy_decode(x, lengths, merge_repeated, mask_index)
    if strategy == "beam_search":
        if not merge_repeated:
            raise NotImplementedError("ctc_decode: beam search always merges repeated labels (CTC's collapse rule); "
                                      "merge_repeated=False is only available with strategy='greedy'.")
        return _beam_decode(x, lengths, beam_width, top_paths, mask_index)
    raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search', received {strategy!r}.")


def _greedy_decode(x: Tensor, lengths: Tensor, merge_repeated: bool, blank: int) -> tuple[Tensor, Tensor]:
    batch, steps, classes = x.shape
    best, indices = x.max(dim=-1)
    indices = indices.int()
    beyond = torch.arange(steps, device=x.device)[None, :] >= lengths[:, None]
    indices = torch.where(beyond, blank, indices)
    best = torch.where(beyond, torch.zeros((), dtype=x.dtype, device=x.device), best)
    if merge_repeated:
        repeat = F.pad(indices[:, 1:] == indices[:, :-1], (1, 0))
        indices = torch.where(repeat, blank, indices)
    dropped = indices == blank
    # Stable sort moves kept labels to the front, keeping their order; dropped ones become -1.
    order = torch.argsort(dropped.to(torch.int8), dim=-1, stable=True)
    decoded = torch.where(dropped, -1, indices).gather(-1, order)
    return decoded.unsqueeze(0), -best.sum(dim=1, keepdim=True)


def _beam_decode(x: Tensor, lengths: Tensor, beam_width: int, top_paths: int, blank: int) -> tuple[Tensor, Tensor]:
    """CTC prefix beam search over log-probabilities (per sample; prefixes tracked as tuples)."""
    batch, steps, classes = x.shape
    if x.device.type == "meta":  # shapes only (symbolic calls): the search itself reads values
        return (torch.empty((top_paths, batch, steps), dtype=torch.int32, device="meta"),
                torch.empty((batch, top_paths), dtype=x.dtype, device="meta"))
    log_probs = F.log_softmax(x, dim=-1)
    host = log_probs.detach().cpu().double().numpy()
    step_counts = lengths.cpu().tolist()
    neg_inf = -math.inf

    def add(a: float, b: float) -> float:
        if a == neg_inf:
            return b
        if b == neg_inf:
            return a
        m = max(a, b)
        return m + math.log(math.exp(a - m) + math.exp(b - m))

    paths, scores = [], []
    for b in range(batch):
        beams = {(): (0.0, neg_inf)}  # prefix -> (log p ending in blank, log p ending in a label)
        for t in range(int(step_counts[b])):
            row = host[b, t]
            nxt: dict = {}
            for prefix, (p_blank, p_label) in beams.items():
                total = add(p_blank, p_label)
                nb, nl = nxt.get(prefix, (neg_inf, neg_inf))
                nxt[prefix] = (add(nb, total + row[blank]), nl)
                for c in range(classes):
                    if c == blank:
                        continue
                    extended = prefix + (c,)
                    eb, el = nxt.get(extended, (neg_inf, neg_inf))
                    if prefix and prefix[-1] == c:
                        # A repeat only extends after a blank; without one it merges into the same prefix.
                        nxt[extended] = (eb, add(el, p_blank + row[c]))
                        sb, sl = nxt[prefix]
                        nxt[prefix] = (sb, add(sl, p_label + row[c]))
                    else:
                        nxt[extended] = (eb, add(el, total + row[c]))
            ranked = sorted(nxt.items(), key=lambda kv: add(*kv[1]), reverse=True)
            beams = dict(ranked[:beam_width])
        ranked = sorted(beams.items(), key=lambda kv: add(*kv[1]), reverse=True)[:top_paths]
        while len(ranked) < top_paths:
            ranked.append(((), (neg_inf, neg_inf)))
        paths.append([list(p) + [-1] * (steps - len(p)) for p, _ in ranked])
        scores.append([add(*s) for _, s in ranked])
    decoded = torch.tensor(paths, dtype=torch.int32, device=x.device).permute(1, 0, 2)
    return decoded, torch.tensor(scores, dtype=x.dtype, device=x.device)


# ---------------------------------------------------------------- attention

def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None, scale: float | None = None,
                          is_causal: bool = False, flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> Tensor:
    """Scaled dot-product attention on `(batch, seq, heads, head_dim)` tensors (Keras's layout).

    Args:
        bias: added to the logits; mask: boolean, True keeps a position (only one of the two).
        scale: logit scale, default `1 / sqrt(head_dim)`. is_causal: mask future positions.
        flash_attention: None picks torch's best kernel; True requires the flash kernel.
        attn_logits_soft_cap: if set, logits become `cap * tanh(logits / cap)` before the softmax.
    Grouped-query attention (fewer key/value heads than query heads) is supported.
    """
    q, k, v = _t(query), _t(key), _t(value)
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(f"dot_product_attention expects 4-D (batch, seq, heads, dim) inputs, received shapes "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}.")
    if bias is not None and mask is not None:
        raise ValueError("dot_product_attention: pass bias or mask, not both.")
    dtype = _dtypes.promote(q.dtype, k.dtype, v.dtype)
    q, k, v = (t.to(dtype).transpose(1, 2) for t in (q, k, v))
    if q.shape[1] != k.shape[1]:
        if q.shape[1] % k.shape[1]:
            raise ValueError(f"dot_product_attention: query heads ({q.shape[1]}) must be a multiple of key heads ({k.shape[1]}).")
        groups = q.shape[1] // k.shape[1]
        k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    attn_mask = None
    if mask is not None:
        attn_mask = _t(mask).to(q.device).bool()
        if is_causal:
            attn_mask = attn_mask & torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
            is_causal = False
    elif bias is not None:
        attn_mask = _t(bias).to(q.device, dtype)
    if attn_logits_soft_cap is not None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
        logits = torch.matmul(q, k.transpose(-1, -2)) * scale
        logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
        if is_causal:
            attn_mask = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        if attn_mask is not None:
            logits = logits.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else logits + attn_mask
        out = torch.matmul(torch.softmax(logits, dim=-1), v)
    elif flash_attention:
        with torch.nn.attention.sdpa_kernel([torch.nn.attention.SDPBackend.FLASH_ATTENTION]):
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    else:
        with config._attention_kernel_scope(flash_attention):  # off the flash kernel when disabled
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=is_causal, scale=scale)
    return out.transpose(1, 2)
