"""Keras's math ops (`keras.ops.segment_sum`, `top_k`, `logsumexp`, FFTs, STFT, `erf`, ...) over torch.

Complex results are returned as Keras returns them: `(real, imag)` pairs of float tensors, and the
FFT functions take such pairs as input.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from . import _dtypes
from .core import convert_to_tensor

_t = convert_to_tensor
Tensor = torch.Tensor

__all__ = [
    "cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "istft",
    "logdet", "logsumexp", "rfft", "rsqrt", "segment_max", "segment_min", "segment_prod", "segment_sum", "stft",
    "top_k", "view_as_complex", "view_as_real",
]


def _segment(data: Any, segment_ids: Any, num_segments: int | None, reduce: str, fill: float) -> Tensor:
    """Reduce rows of `data` sharing a segment id; ids outside `[0, num_segments)` are dropped."""
    data = _t(data)
    ids = _t(segment_ids).to(data.device).long()
    if ids.ndim != 1 or ids.shape[0] != data.shape[0]:
        raise ValueError(f"segment ops: segment_ids must be 1-D with data's leading size {data.shape[0]}, "
                         f"received shape {tuple(ids.shape)}.")
    if num_segments is None:
        num_segments = int(ids.max()) + 1  # the output size depends on the ids: one read from the device
    ids = torch.where((ids >= 0) & (ids < num_segments), ids, num_segments)  # extra slot collects the dropped rows
    values = data.float() if not data.dtype.is_floating_point else data
    out = torch.full((num_segments + 1, *data.shape[1:]), fill, dtype=values.dtype, device=data.device)
    index = ids.reshape(-1, *([1] * (data.ndim - 1))).expand_as(values)
    out = out.scatter_reduce(0, index, values, reduce)
    return out[:-1].to(data.dtype)


def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:
    """Sum of the rows of `data` in each segment (`sorted` is a hint; any order works)."""
    return _segment(data, segment_ids, num_segments, "sum", 0.0)


def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:
    return _segment(data, segment_ids, num_segments, "amax", float("-inf"))


def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:
    return _segment(data, segment_ids, num_segments, "amin", float("inf"))


def segment_prod(data: Any, segment_ids: Any, num_segments: int | None = None, sorted: bool = False) -> Tensor:
    return _segment(data, segment_ids, num_segments, "prod", 1.0)


def top_k(x: Any, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:
    """The `k` largest values along the last axis and their indices."""
    return torch.topk(_t(x), k, sorted=sorted)


def in_top_k(targets: Any, predictions: Any, k: int) -> Tensor:
    """Whether each target class scores among the `k` highest predictions of its row (ties count)."""
    predictions = _t(predictions)
    targets = _t(targets).to(predictions.device).long()[:, None]
    kth = torch.topk(predictions, k).values[:, -1:]
    return torch.any(torch.take_along_dim(predictions, targets, dim=-1) >= kth, dim=-1)


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    x = _t(x)
    dim = tuple(range(x.ndim)) if axis is None else axis
    return torch.logsumexp(x, dim=dim, keepdim=keepdims)


def cdist(x: Any, y: Any) -> Tensor:
    """Euclidean distances between the rows of `x` and `y` (batched over leading axes)."""
    x, y = _t(x), _t(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"cdist: inputs must be at least 2-D, received shapes {tuple(x.shape)} and {tuple(y.shape)}.")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist: the last axes must match, received {x.shape[-1]} and {y.shape[-1]}.")
    diff = x.unsqueeze(-2) - y.unsqueeze(-3)
    return torch.sqrt(torch.sum(diff * diff, dim=-1))


def extract_sequences(x: Any, sequence_length: int, sequence_stride: int) -> Tensor:
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis."""
    return _t(x).unfold(-1, sequence_length, sequence_stride)


def _complex(x: Any) -> Tensor:
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"Expected a (real, imag) pair of float tensors, received {type(x).__name__}.")
    real, imag = _t(x[0]), _t(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"real and imag parts must have the same shape, received {tuple(real.shape)} and {tuple(imag.shape)}.")
    if not real.is_floating_point() or not imag.is_floating_point():
        raise ValueError(f"real and imag parts must be float tensors, received {real.dtype} and {imag.dtype}.")
    return torch.complex(real, imag)


def _pair(z: Tensor) -> tuple[Tensor, Tensor]:
    return z.real, z.imag


def fft(x: tuple) -> tuple[Tensor, Tensor]:
    """FFT over the last axis of a `(real, imag)` pair."""
    return _pair(torch.fft.fft(_complex(x)))


def fft2(x: tuple) -> tuple[Tensor, Tensor]:
    return _pair(torch.fft.fft2(_complex(x)))


def ifft2(x: tuple) -> tuple[Tensor, Tensor]:
    return _pair(torch.fft.ifft2(_complex(x)))


def rfft(x: Any, fft_length: int | None = None) -> tuple[Tensor, Tensor]:
    """FFT of a real signal over the last axis: the `fft_length // 2 + 1` unique bins as (real, imag)."""
    return _pair(torch.fft.rfft(_t(x), n=fft_length, dim=-1))


def irfft(x: tuple, fft_length: int | None = None) -> Tensor:
    return torch.fft.irfft(_complex(x), n=fft_length, dim=-1)


def _window(window: Any, length: int, dtype: torch.dtype, device: torch.device) -> Tensor | None:
    if window is None:
        return None
    if isinstance(window, str):
        if window == "hann":
            return torch.hann_window(length, periodic=True, dtype=dtype, device=device)
        if window == "hamming":
            return torch.hamming_window(length, periodic=True, dtype=dtype, device=device)
        raise ValueError(f"window must be 'hann', 'hamming', a tensor or None, received {window!r}.")
    win = _t(window).to(device, dtype)
    if win.shape != (length,):
        raise ValueError(f"window must have shape ({length},), the sequence_length; received {tuple(win.shape)}.")
    return win


def stft(x: Any, sequence_length: int, sequence_stride: int, fft_length: int, window: Any = "hann",
         center: bool = True) -> tuple[Tensor, Tensor]:
    """Short-time Fourier transform over the last axis: `(..., frames, fft_length // 2 + 1)` (real, imag)."""
    x = _t(x)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"stft: the input must be float32 or float64, received {_dtypes.name(x.dtype)}.")
    if fft_length < sequence_length:
        raise ValueError(f"stft: fft_length ({fft_length}) must be at least sequence_length ({sequence_length}).")
    win = _window(window, sequence_length, x.dtype, x.device)
    if win is None:
        win = torch.ones(sequence_length, dtype=x.dtype, device=x.device)
    batch = x.shape[:-1]
    z = torch.stft(x.reshape(-1, x.shape[-1]), fft_length, sequence_stride, sequence_length, win, center=center,
                   return_complex=True)
    z = z.reshape(*batch, *z.shape[-2:]).transpose(-2, -1)
    return z.real, z.imag


def istft(x: tuple, sequence_length: int, sequence_stride: int, fft_length: int, length: int | None = None,
          window: Any = "hann", center: bool = True) -> Tensor:
    """Inverse of `stft`: overlap-add of the inverse frames, normalized by the summed squared window."""
    z = _complex(x)
    dtype = z.real.dtype
    win = _window(window, sequence_length, dtype, z.device)
    frames = torch.fft.irfft(z, n=fft_length, dim=-1)  # (..., num_frames, fft_length)
    num_frames = frames.shape[-2]
    total = sequence_stride * (num_frames - 1) + fft_length
    # torch.istft's case (window as long as the FFT, centered): divide by the true summed-window envelope.
    exact = win is not None and center and sequence_length == fft_length
    if win is not None:
        left = (fft_length - sequence_length) // 2
        win = F.pad(win, (left, fft_length - sequence_length - left))
        if exact:
            frames = frames * win
        else:
            # Keras's general case: the periodic sum of squared windows over one hop.
            reps = -(-fft_length // sequence_stride)
            squares = F.pad(win * win, (0, reps * sequence_stride - fft_length)).reshape(reps, sequence_stride).sum(0)
            frames = frames * (win / squares.repeat(reps)[:fft_length])
    signal = _overlap_add(frames, sequence_stride, total)
    if exact:
        envelope = _overlap_add((win * win).expand(num_frames, fft_length), sequence_stride, total)
        signal = signal / torch.where(envelope > 1e-11, envelope, torch.ones_like(envelope))
    start = fft_length // 2 if center else 0
    if length is not None:
        out = signal[..., start:start + length]
        return F.pad(out, (0, length - out.shape[-1])) if out.shape[-1] < length else out
    end = total - fft_length // 2 if center else total
    return signal[..., start:end]


def _overlap_add(frames: Tensor, stride: int, total: int) -> Tensor:
    """Sum frames `(..., n, width)` placed every `stride` samples into signals of length `total`."""
    batch, (n, width) = frames.shape[:-2], frames.shape[-2:]
    columns = frames.reshape(-1, n, width).transpose(1, 2)
    return F.fold(columns, (1, total), (1, width), stride=(1, stride)).reshape(*batch, total)


def rsqrt(x: Any) -> Tensor:
    return torch.rsqrt(_t(x))


def erf(x: Any) -> Tensor:
    return torch.erf(_t(x))


def erfc(x: Any) -> Tensor:
    return torch.erfc(_t(x))


def erfinv(x: Any) -> Tensor:
    return torch.erfinv(_t(x))


def logdet(x: Any) -> Tensor:
    """Log-determinant of (batched) square matrices."""
    return torch.logdet(_t(x))


def view_as_complex(x: Any) -> Tensor:
    """A complex64 tensor from a real one whose last axis holds (real, imag)."""
    x = _t(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last axis must have size 2 (real, imag), received shape {tuple(x.shape)}.")
    return torch.complex(x[..., 0].float(), x[..., 1].float())


def view_as_real(x: Any) -> Tensor:
    """A real tensor with a last axis of size 2 holding (real, imag) of `x`."""
    x = _t(x)
    if not x.is_complex():
        return torch.stack((x, torch.zeros_like(x)), dim=-1)
    return torch.stack((x.real, x.imag), dim=-1)
