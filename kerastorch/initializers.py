"""Keras weight initializers, drawing with torch's RNG.

Each initializer is called with a shape in Keras layout (Dense `(in, out)`, Conv2D
`(kh, kw, in, out)`), so fan-in and fan-out are computed exactly as Keras does, whatever layout the
layer then stores the tensor in. With `seed=` (an int or a `kt.random.SeedGenerator`) draws go
through `kt.random` with Keras's seed semantics: an int seed gives the same values on every call,
equal to Keras's own; without a seed they come from torch's global RNG (`torch.manual_seed`).
"""

from __future__ import annotations

import math

import torch


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's fan-in/fan-out for a Keras-layout shape (receptive field times channels)."""
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

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal", seed=None):
        if scale <= 0:
            raise ValueError(f"VarianceScaling expected scale > 0, received {scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling expected mode in fan_in/fan_out/fan_avg, received {mode!r}.")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "VarianceScaling expected distribution in truncated_normal/untruncated_normal/uniform, "
                f"received {distribution!r}."
            )
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, _check_seed(seed)

    def __call__(self, shape, dtype=None, device=None):
        fan_in, fan_out = compute_fans(tuple(shape))
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
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _variance_scaling_preset(class_name: str, scale: float, mode: str, distribution: str):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(class_name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config})


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


_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "orthogonal": Orthogonal,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
}
_BY_NAME.update(uniform=RandomUniform, normal=RandomNormal)
_BY_CLASS_NAME = {cls.__name__: cls for cls in _BY_NAME.values()}


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
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Unknown initializer {identifier!r}; expected one of {', '.join(sorted(_BY_NAME))}, "
        "an Initializer instance or a callable(shape, dtype, device)."
    )


def serialize(initializer) -> str | dict:
    """The Keras name of a preset initializer, or its class name and config."""
    for name, cls in _BY_NAME.items():
        if type(initializer) is cls and not initializer.get_config().get("seed") and name not in (
            "constant", "random_normal", "random_uniform", "truncated_normal", "variance_scaling", "orthogonal"
        ):
            return name
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
