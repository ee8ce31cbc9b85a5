"""Keras weight initializers, drawing with torch's RNG.

Each initializer is called with a shape in Keras layout (Dense `(in, out)`, Conv2D
`(kh, kw, in, out)`), so fan-in and fan-out are computed exactly as Keras does, whatever layout the
layer then stores the tensor in. With `seed=` (an int or a `kt.random.SeedGenerator`) draws go
through `kt.random` with Keras's seed semantics: an int seed gives the same values on every call,
equal to Keras's own; without a seed they come from torch's global RNG (`torch.manual_seed`).
"""

from __future__ import annotations

import math

import numpy as np
import torch


def compute_fans(shape: tuple[int, ...], input_axes=None, output_axes=None) -> tuple[int, int]:
    """Keras's fan-in/fan-out for a Keras-layout shape (receptive field times channels), or, with both
    `input_axes` and `output_axes`, the products of those axes' sizes (e.g. EinsumDense kernels)."""
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _check_seed(seed):
    from .random import SeedGenerator

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, SeedGenerator))):
        raise ValueError(f"Initializer `seed` must be an int, a kt.random.SeedGenerator or None, received {seed!r}.")
    return seed


def _draw_dtype(dtype):
    return dtype if dtype is not None and dtype.is_floating_point else None


class Initializer:
    """Base class: `initializer(shape, dtype=None, device=None)` returns a new tensor."""

    def __call__(self, shape, dtype=None, device=None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)


class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def __call__(self, shape, dtype=None, device=None):
        return torch.full(tuple(shape), self.value, dtype=dtype, device=device)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, _check_seed(seed)

    def __call__(self, shape, dtype=None, device=None):
        if self.seed is not None:
            from . import random

            return random.normal(shape, self.mean, self.stddev, _draw_dtype(dtype), self.seed, device)
        return torch.empty(tuple(shape), dtype=dtype, device=device).normal_(self.mean, self.stddev)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, _check_seed(seed)

    def __call__(self, shape, dtype=None, device=None):
        if self.seed is not None:
            from . import random

            return random.uniform(shape, self.minval, self.maxval, _draw_dtype(dtype), self.seed, device)
        return torch.empty(tuple(shape), dtype=dtype, device=device).uniform_(self.minval, self.maxval)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Normal draws re-drawn outside two standard deviations, as Keras does."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, _check_seed(seed)

    def __call__(self, shape, dtype=None, device=None):
        if self.seed is not None:
            from . import random

            return random.truncated_normal(shape, self.mean, self.stddev, _draw_dtype(dtype), self.seed, device)
        tensor = torch.empty(tuple(shape), dtype=dtype, device=device)
        low, high = self.mean - 2 * self.stddev, self.mean + 2 * self.stddev
        return torch.nn.init.trunc_normal_(tensor, self.mean, self.stddev, low, high)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """The family behind glorot/he/lecun: variance `scale / fan`, normal or uniform."""

    # Keras divides by the stddev of a unit normal truncated at +-2 so the variance comes out right.
    _TRUNCATION_CORRECTION = 0.87962566103423978

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling expected scale > 0, received {scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling expected mode in fan_in/fan_out/fan_avg, received {mode!r}.")
        distribution = str(distribution).lower()
        if distribution == "normal":  # Keras's older name for the truncated normal
            distribution = "truncated_normal"
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "VarianceScaling expected distribution in truncated_normal/untruncated_normal/uniform, "
                f"received {distribution!r}."
            )
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, _check_seed(seed)
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)

    def __call__(self, shape, dtype=None, device=None):
        fan_in, fan_out = compute_fans(tuple(shape), self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.seed is not None:
            return self._seeded(shape, variance, _draw_dtype(dtype), device)
        tensor = torch.empty(tuple(shape), dtype=dtype, device=device)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return tensor.uniform_(-limit, limit)
        if self.distribution == "untruncated_normal":
            return tensor.normal_(0.0, math.sqrt(variance))
        stddev = math.sqrt(variance) / self._TRUNCATION_CORRECTION
        return torch.nn.init.trunc_normal_(tensor, 0.0, stddev, -2 * stddev, 2 * stddev)

    def _seeded(self, shape, variance, dtype, device):
        from . import random

        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return random.uniform(shape, -limit, limit, dtype, self.seed, device)
        if self.distribution == "untruncated_normal":
            return random.normal(shape, 0.0, math.sqrt(variance), dtype, self.seed, device)
        stddev = math.sqrt(variance) / self._TRUNCATION_CORRECTION
        return random.truncated_normal(shape, 0.0, stddev, dtype, self.seed, device)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _variance_scaling_preset(class_name: str, scale: float, mode: str, distribution: str):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}

    doc = (f"`VarianceScaling(scale={scale}, mode={mode!r}, distribution={distribution!r})`.\n\n"
           "    Args:\n        seed: an int or `kt.random.SeedGenerator` for reproducible draws, or None.\n"
           "        input_axes, output_axes: axes whose sizes give fan-in and fan-out (both, or neither).\n")
    return type(class_name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _variance_scaling_preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _variance_scaling_preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _variance_scaling_preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _variance_scaling_preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _variance_scaling_preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _variance_scaling_preset("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(Initializer):
    def __init__(self, gain: float = 1.0, seed=None):
        self.gain, self.seed = gain, _check_seed(seed)

    def __call__(self, shape, dtype=None, device=None):
        # Keras flattens all but the last axis; torch's orthogonal_ flattens all but the first.
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializes tensors of rank 2 or more, received shape={shape}.")
        if self.seed is not None:
            return self._seeded(shape, _draw_dtype(dtype), device)
        rows = math.prod(shape[:-1]) if len(shape) > 1 else 1
        flat = torch.empty((shape[-1], rows), dtype=dtype, device=device)
        torch.nn.init.orthogonal_(flat, self.gain)
        return flat.t().reshape(shape).contiguous()

    def _seeded(self, shape, dtype, device):
        """Keras's construction: QR of a seeded normal matrix, signs fixed by R's diagonal."""
        from . import random

        rows, cols = (math.prod(shape[:-1]) if len(shape) > 1 else 1), shape[-1]
        q, r = torch.linalg.qr(random.normal((max(rows, cols), min(rows, cols)), dtype=dtype, seed=self.seed,
                                             device=device))
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """`gain` times the identity matrix (2D shapes only; non-square gives ones on the main diagonal).

    Args:
        gain: the diagonal's value.
    """

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None, device=None):
        shape = tuple(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity initializes 2D matrices only, received shape={shape} of rank {len(shape)}.")
        return self.gain * torch.eye(*shape, dtype=dtype, device=device)

    def get_config(self):
        # Keras's Identity writes an empty config (a gain is lost on its round trip); a non-default gain is kept here.
        return {} if self.gain == 1.0 else {"gain": self.gain}


def _window(name: str, length: int, periodic: bool, dtype, device) -> torch.Tensor:
    """A named window of `length` samples: torch's own windows, else SciPy's (as Keras uses) if installed."""
    torch_window = getattr(torch.signal.windows, name, None) if name in _TORCH_WINDOWS else None
    if torch_window is not None:
        return torch_window(length, sym=not periodic, dtype=dtype, device=device)
    try:
        from scipy.signal import get_window
    except ImportError as error:
        raise ValueError(
            f"STFT window {name!r} is not one of torch's windows ({', '.join(sorted(_TORCH_WINDOWS))}) and SciPy, "
            "which provides the others, is not installed; pip install scipy or pass the window as an array."
        ) from error
    return torch.as_tensor(get_window(name, length, periodic), dtype=dtype, device=device)


_TORCH_WINDOWS = {"hann", "hamming", "blackman", "bartlett"}


class STFT(Initializer):
    """Kernels of a short-time Fourier transform as a convolution: shape `(frame_length, channels, bins)`,
    the real (cosine) or imaginary (sine) part, windowed and scaled.

    Args:
        side: "real" or "imag".
        window: a window name ("hann", "hamming", ... ; SciPy names when SciPy is installed), an array
            of `frame_length` values, or None for no window.
        scaling: "density" (divide by the window's L2 norm), "spectrum" (by its sum) or None.
        periodic: a periodic (DFT-even) window instead of a symmetric one.
    """

    def __init__(self, side: str = "real", window="hann", scaling: str | None = "density", periodic: bool = False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT expected side='real' or 'imag', received side={side!r}.")
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT expected scaling=None, 'density' or 'spectrum', received scaling={scaling!r}.")
        if isinstance(window, str):
            _window(window, 1, periodic, torch.float32, "cpu")  # an unknown name fails here, not at build
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None, device=None):
        frame_length, _, bins = tuple(shape)
        dtype = dtype or torch.float32
        time = torch.arange(frame_length, dtype=dtype, device=device).reshape(frame_length, 1, 1)
        frequency = torch.arange(bins, dtype=dtype, device=device).reshape(1, 1, bins) / ((bins - 1) * 2)
        angles = -2 * time * frequency * math.pi
        kernel = torch.cos(angles) if self.side == "real" else torch.sin(angles)
        if self.window is None:
            return kernel
        window = self.window
        if isinstance(window, str):
            window = _window(window, frame_length, self.periodic, dtype, device)
        window = torch.as_tensor(window, dtype=dtype, device=device)
        if window.shape != (frame_length,):
            raise ValueError(f"STFT expected a window of shape ({frame_length},), received {tuple(window.shape)}.")
        window = window.reshape(frame_length, 1, 1)
        scale = {"density": lambda: window.square().sum().sqrt(), "spectrum": lambda: window.abs().sum(),
                 None: lambda: 1}[self.scaling]()
        return kernel * window / scale

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "orthogonal": Orthogonal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal, "identity": Identity, "stft": STFT,
}
_BY_NAME.update(uniform=RandomUniform, normal=RandomNormal, one=Ones, zero=Zeros)
_BY_CLASS_NAME = {cls.__name__: cls for cls in _BY_NAME.values()}
_BY_CLASS_NAME.update(IdentityInitializer=Identity, STFTInitializer=STFT, OrthogonalInitializer=Orthogonal)

# Keras's other public names for the same classes.
IdentityInitializer, STFTInitializer, OrthogonalInitializer = Identity, STFT, Orthogonal
constant, zeros, ones, identity, stft, orthogonal = Constant, Zeros, Ones, Identity, STFT, Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_normal, glorot_uniform = VarianceScaling, GlorotNormal, GlorotUniform
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform


def get(identifier) -> Initializer:
    """Resolve a Keras initializer name, class name, config dict, class or instance."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, dict) and "class_name" in identifier:
        cls = _BY_CLASS_NAME.get(identifier["class_name"])
        if cls is not None:
            return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, str):
        cls = _BY_NAME.get(identifier) or _BY_CLASS_NAME.get(identifier)
        if cls is not None:
            return cls()
    if isinstance(identifier, (np.ndarray, np.generic, torch.Tensor)):
        return _from_array(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Unknown initializer {identifier!r}; expected one of {', '.join(sorted(_BY_NAME))}, "
        "an Initializer instance, an array or a callable(shape, dtype, device)."
    )


def _from_array(value):
    """Keras's array initializer: the weight starts as a copy of `value`, whose shape must match."""
    value = torch.as_tensor(value)

    def initialize(shape, dtype=None, device=None):
        if tuple(shape) != tuple(value.shape):
            raise ValueError(f"An array initializer of shape {tuple(value.shape)} cannot fill a weight of shape "
                             f"{tuple(shape)}; pass an array of the weight's shape.")
        return value.to(dtype=dtype or value.dtype, device=device, copy=True)

    return initialize


def deserialize(config, custom_objects: dict | None = None) -> Initializer:
    """The initializer a Keras config describes (`{"class_name", "config"}`, or a name); classes not built
    in come from `custom_objects`."""
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"initializers.deserialize expected a name or a dict with 'class_name', received {config!r}.")
    cls = (custom_objects or {}).get(config["class_name"])
    if cls is not None:
        arguments = config.get("config") or {}
        return cls.from_config(arguments) if hasattr(cls, "from_config") else cls(**arguments)
    name = config["class_name"]
    cls = _BY_CLASS_NAME.get(name) or _BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"Unknown initializer {name!r}; expected one of {', '.join(sorted(_BY_CLASS_NAME))} "
                         "or a class passed in custom_objects.")
    return cls.from_config(dict(config.get("config") or {}))


def serialize(initializer) -> dict:
    """Keras's entry for an initializer: `{"module": "keras.initializers", "class_name", "config", ...}`."""
    from .saving.serialization import serialize_initializer

    return serialize_initializer(initializer)
