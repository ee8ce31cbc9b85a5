"""Audio front ends: MelSpectrogram (torch.stft, a mel filter bank, decibels) and STFTSpectrogram
(the STFT as a strided convolution with trainable Fourier kernels, Keras's weights)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ... import config
from ...ops.math import stft
from ...ops.nn import conv
from ..input_spec import InputSpec
from ..layer import Layer

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def _hertz_to_mel(hertz: torch.Tensor) -> torch.Tensor:
    return _MEL_HIGH_Q * torch.log(1.0 + hertz / _MEL_BREAK_HZ)


def mel_filter_bank(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float, lower_edge_hertz: float,
                    upper_edge_hertz: float, dtype: torch.dtype = torch.float32,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """HTK-style triangular filters with peak 1: `(num_spectrogram_bins, num_mel_bins)`, first row zero."""
    nyquist = torch.tensor(sampling_rate, dtype=dtype, device=device) / 2.0
    frequencies = torch.linspace(0.0, 1.0, num_spectrogram_bins, dtype=dtype, device=device) * nyquist
    bins_mel = _hertz_to_mel(frequencies[1:]).unsqueeze(1)
    edges = torch.linspace(_hertz_to_mel(torch.tensor(lower_edge_hertz, dtype=dtype)).item(),
                           _hertz_to_mel(torch.tensor(upper_edge_hertz, dtype=dtype)).item(), num_mel_bins + 2,
                           dtype=dtype, device=device)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = torch.clamp_min(torch.minimum(rising, falling), 0.0)
    return torch.nn.functional.pad(weights, (0, 0, 1, 0))


class MelSpectrogram(Layer):
    """Mel-scaled spectrograms of raw audio: `(batch, samples)` -> `(batch, num_mel_bins, frames)`.

    Args:
        fft_length: the FFT size; sequence_length (the window, default fft_length) must not exceed it.
        sequence_stride: the hop between frames.
        window: "hann", "hamming" or None.
        sampling_rate: samples per second of the input.
        num_mel_bins: the number of mel bands.
        min_freq, max_freq: the band edges in Hz (max_freq defaults to sampling_rate / 2).
        power_to_db: convert to decibels, clipped to `top_db` below the batch's maximum (as Keras does).
        mag_exp: the exponent of the magnitude (2 gives power).
        min_power, ref_power: the floor and reference of the decibel scale.
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, sequence_length: int | None = None,
                 window: str | None = "hann", sampling_rate: int = 16000, num_mel_bins: int = 128,
                 min_freq: float = 20.0, max_freq: float | None = None, power_to_db: bool = True,
                 top_db: float = 80.0, mag_exp: float = 2.0, min_power: float = 1e-10, ref_power: float = 1.0,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError(
                f"MelSpectrogram expected `fft_length` ({fft_length}) >= `sequence_length` ({self.sequence_length})."
            )
        if window not in ("hann", "hamming", None):
            raise ValueError(f"MelSpectrogram expected `window` to be 'hann', 'hamming' or None, received {window!r}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        self.built = True

    def forward(self, inputs: Any) -> torch.Tensor:
        inputs = torch.as_tensor(inputs)
        dtype = inputs.dtype if inputs.dtype in (torch.float32, torch.float64) else torch.float32
        real, imag = stft(inputs.to(dtype), self.sequence_length, self.sequence_stride, self.fft_length,
                          window=self.window, center=True)
        spectrum = torch.sqrt(real.square() + imag.square()) ** self.mag_exp
        filters = mel_filter_bank(self.num_mel_bins, spectrum.shape[-1], self.sampling_rate, self.min_freq,
                                  self.max_freq, dtype=dtype, device=spectrum.device)
        outputs = spectrum @ filters
        if self.power_to_db:
            outputs = 10.0 * torch.log10(torch.clamp_min(outputs, self.min_power))
            outputs = outputs - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
            outputs = torch.maximum(outputs, outputs.max() - self.top_db)
        return outputs.transpose(-1, -2).to(self._dtype)


def _window(window: Any, length: int, periodic: bool) -> np.ndarray:
    if not isinstance(window, str):
        return np.asarray(window, dtype="float64")
    try:
        import scipy.signal
    except ImportError as error:  # torch's few windows differ in details; scipy's are Keras's
        raise ImportError(f"STFTSpectrogram(window={window!r}) computes the window with scipy: pip install scipy.") from error
    return scipy.signal.get_window(window, length, fftbins=periodic)


class _FourierKernel:
    """Keras's STFT initializer: windowed cosines ("real") or sines ("imag") for `(frames, 1, bins)`."""

    def __init__(self, side: str, window: Any, scaling: str | None, periodic: bool):
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape: tuple[int, ...], dtype: torch.dtype = torch.float32, device: Any = None) -> torch.Tensor:
        frame_length, _, bins = shape
        # In float32 step by step, as Keras computes it, so fresh kernels agree to the last bits.
        time = torch.arange(frame_length, dtype=torch.float32).reshape(frame_length, 1, 1)
        freq = torch.arange(bins, dtype=torch.float32).reshape(1, 1, bins) / ((bins - 1) * 2)
        angles = (-2 * time) * freq * torch.arccos(torch.tensor(-1.0))
        kernel = torch.cos(angles) if self.side == "real" else torch.sin(angles)
        if self.window is not None:
            win = torch.as_tensor(_window(self.window, frame_length, self.periodic), dtype=torch.float32)
            if win.shape != (frame_length,):
                raise ValueError(f"STFTSpectrogram: the window must have shape ({frame_length},), received {tuple(win.shape)}.")
            scale = {"density": lambda: torch.sqrt(torch.sum(win ** 2)), "spectrum": lambda: torch.sum(torch.abs(win))}
            kernel = kernel * win.reshape(frame_length, 1, 1) / (scale[self.scaling]() if self.scaling else 1)
        return torch.as_tensor(kernel, dtype=dtype, device=device)


class STFTSpectrogram(Layer):
    """Short-time Fourier transform of `(batch, time, channels)` signals as a strided convolution whose
    kernels (`real_kernel`, `imag_kernel`, shape `(frame_length, 1, fft_length // 2 + 1)`) are weights,
    as in Keras (so they load from Keras files and can be fine-tuned).

    Args:
        mode: "log" (default), "magnitude", "psd", "real", "imag", "angle" or "stft" (real and imag).
        frame_length: the window length; frame_step: the hop (default frame_length // 2).
        fft_length: the FFT size (default: the next power of two >= frame_length).
        window: a scipy window name, an array of length frame_length, or None; periodic: periodic window.
        scaling: "density", "spectrum" or None (the kernel normalization).
        padding: "valid" or "same"; expand_dims: keep channels as a separate axis.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step: int | None = None,
                 fft_length: int | None = None, window: Any = "hann", periodic: bool = False,
                 scaling: str | None = "density", padding: str = "valid", expand_dims: bool = False,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError(f"STFTSpectrogram expected 1 <= frame_step <= frame_length ({frame_length}), received {frame_step}.")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(f"STFTSpectrogram expected fft_length >= frame_length ({frame_length}), received {fft_length}.")
        modes = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
        if mode not in modes:
            raise ValueError(f"STFTSpectrogram expected `mode` to be one of {modes}, received {mode!r}.")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFTSpectrogram expected `scaling` to be None, 'density' or 'spectrum', received {scaling!r}.")
        if padding not in ("valid", "same"):
            raise ValueError(f"STFTSpectrogram expected `padding` to be 'valid' or 'same', received {padding!r}.")
        if isinstance(window, str):
            _window(window, 1, periodic)  # an unknown window name fails here, not at build
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = config.standardize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                shape, _FourierKernel("real", self.window, self.scaling, self.periodic), name="real_kernel")
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                shape, _FourierKernel("imag", self.window, self.scaling, self.periodic), name="imag_kernel")

    def _convolve(self, inputs: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """Each channel convolved separately: `(batch, channels, bins, frames)`."""
        if self.data_format == "channels_last":
            inputs = inputs.transpose(1, 2)
        batch, channels, time = inputs.shape
        signals = inputs.reshape(-1, 1, time)
        outputs = conv(signals, kernel.to(inputs.dtype), strides=self._frame_step, padding=self.padding,
                       data_format="channels_first")
        return outputs.reshape(batch, channels, outputs.shape[1], outputs.shape[2])

    def _arranged(self, outputs: torch.Tensor) -> torch.Tensor:
        batch, channels, bins, frames = outputs.shape
        if self.expand_dims:
            return outputs.permute(0, 3, 2, 1) if self.data_format == "channels_last" else outputs.transpose(2, 3)
        outputs = outputs.reshape(batch, channels * bins, frames)
        return outputs.transpose(1, 2) if self.data_format == "channels_last" else outputs

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dtype not in (torch.float16, torch.float32, torch.float64):
            raise TypeError(
                f"Layer {self.name!r} (STFTSpectrogram) expected float16/32/64 inputs, received {inputs.dtype}."
            )
        real = self._convolve(inputs, self.real_kernel) if self.mode != "imag" else None
        imag = self._convolve(inputs, self.imag_kernel) if self.mode != "real" else None
        if self.mode == "real":
            return self._arranged(real)
        if self.mode == "imag":
            return self._arranged(imag)
        if self.mode == "angle":
            return self._arranged(torch.atan2(imag, real))
        if self.mode == "stft":
            return self._arranged(torch.cat([real, imag], dim=2))
        power = real.square() + imag.square()
        if self.mode == "psd":  # one-sided density: the interior bins count twice
            return self._arranged(power + torch.nn.functional.pad(power[:, :, 1:-1, :], (0, 0, 1, 1)))
        magnitude = self._arranged(torch.sqrt(torch.clamp_min(power, config.epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return torch.log(torch.clamp_min(magnitude, config.epsilon()))
