"""`kt.random`: Keras's random ops with Keras's seed semantics, drawing with torch generators.

`seed` is an int (every call with the same int returns the same values), a `SeedGenerator`
(its state advances on each draw, so successive calls differ but replay from the same seed), or
None (a process-wide `SeedGenerator` started from Python's `random`, which
`kt.utils.set_random_seed` reseeds). A seed becomes a `torch.Generator` seeded the way Keras's
torch backend seeds one, so seeded draws equal Keras's own numbers.

Reading a `SeedGenerator`'s state to seed a generator is one host read per draw (as in Keras),
and stops `torch.compile` from tracing the draw; unseeded `dropout` uses torch's own RNG.
"""

from __future__ import annotations

import random as python_random
from typing import Any

import torch
from torch import nn

from . import config

__all__ = [
    "SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint", "shuffle",
    "truncated_normal", "uniform",
]

_GLOBAL: list["SeedGenerator | None"] = [None]


def make_default_seed() -> int:
    return python_random.randint(1, int(1e9))


class SeedGenerator(nn.Module):
    """A random state `[seed, counter]` that advances with each draw that uses it.

    Assigned to a layer, it is a submodule whose int32 `state` buffer moves with the layer and is
    kept in `state_dict()` (integer state is not a Keras weight, so `weights` and Keras weight
    files leave it out, as Keras does).

    Args:
        seed: the starting seed (an int; default: a random one).
        name: the generator's name.
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any):
        super().__init__()
        if kwargs:
            raise ValueError(f"SeedGenerator got unrecognized keyword arguments: {sorted(kwargs)}.")
        from .layers.layer import unique_name
        from .variables import as_variable, name_weight

        self._initial_seed = seed
        if seed is None:
            seed = make_default_seed()
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"SeedGenerator expected an integer `seed`, received seed={seed!r}.")
        self.name = name or unique_name("seed_generator")
        state = as_variable(torch.tensor([_as_int32(seed), 0], dtype=torch.int32), trainable=False)
        name_weight(state, "seed_generator_state", f"{self.name}/seed_generator_state")
        self.register_buffer("state", state)

    def next(self, ordered: bool = True) -> torch.Tensor:
        """The current state (a copy), then advance it: `[s, n] -> [s, n + 1]` (or Keras's hash when unordered)."""
        value = self.state.clone()
        with torch.no_grad():
            if ordered:
                self.state[1] += 1
            else:
                self.state.copy_((self.state + 1) * 5387 % 933199)
        return value

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config_dict: dict) -> "SeedGenerator":
        return cls(**config_dict)

    def extra_repr(self) -> str:
        return f"name={self.name}, seed={self._initial_seed}"


def _as_int32(seed: int) -> int:
    return (seed & 0xFFFFFFFF ^ 0x80000000) - 0x80000000


def global_seed_generator() -> SeedGenerator:
    """The generator behind `seed=None` (created on first use from Python's `random`)."""
    if _GLOBAL[0] is None:
        _GLOBAL[0] = SeedGenerator()
    return _GLOBAL[0]


def reset_global_seed_generator() -> None:
    _GLOBAL[0] = None


def draw_seed(seed: Any) -> torch.Tensor | tuple[int, int]:
    """Keras's `draw_seed`: the `[seed, counter]` pair for one draw."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if isinstance(seed, int) and not isinstance(seed, bool):
        return (_as_int32(seed), 0)
    if seed is None:
        return global_seed_generator().next(ordered=False)
    raise ValueError(f"`seed` must be an integer, a kt.random.SeedGenerator or None, received seed={seed!r}.")


def _seed_value(seed: Any) -> int:
    first, second = draw_seed(seed)
    if isinstance(first, torch.Tensor) or isinstance(second, torch.Tensor):
        first, second = torch.stack([torch.as_tensor(first), torch.as_tensor(second)]).tolist()
    return (first + second) & 0xFFFFFFFF


def _device(seed: Any, device: Any = None) -> torch.device:
    if device is not None:
        return torch.device(device)
    if isinstance(seed, SeedGenerator):
        return seed.state.device
    return torch.get_default_device()


def torch_generator(seed: Any, device: Any = None) -> torch.Generator:
    """A `torch.Generator` seeded from `seed` as Keras's torch backend seeds one."""
    device = _device(seed, device)
    generator = torch.Generator(device=device)
    generator.manual_seed(_seed_value(seed))
    return generator


def _float_dtype(dtype: Any, what: str) -> torch.dtype:
    dtype = config.standardize_dtype(dtype)
    if not dtype.is_floating_point:
        raise ValueError(f"kt.random.{what} needs a floating dtype, received dtype={dtype}.")
    return dtype


def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None,
           device: Any = None) -> torch.Tensor:
    """Samples from a normal distribution.

    Args:
        shape: output shape.
        mean: mean of the distribution.
        stddev: standard deviation.
        dtype: a floating dtype (default `floatx`).
        seed: int, `SeedGenerator` or None.
        device: where to draw (default: the generator's device, else torch's default device).
    """
    device = _device(seed, device)
    return torch.normal(mean, stddev, size=tuple(shape), generator=torch_generator(seed, device),
                        dtype=_float_dtype(dtype, "normal"), device=device)


def uniform(shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None, seed: Any = None,
            device: Any = None) -> torch.Tensor:
    """Samples from a uniform distribution on `[minval, maxval)` (arguments as in `normal`)."""
    device = _device(seed, device)
    shape = tuple(shape)
    draw = torch.rand(shape or (1,), generator=torch_generator(seed, device), dtype=_float_dtype(dtype, "uniform"),
                      device=device)
    draw = (maxval - minval) * draw + minval
    return draw if shape else draw[0]


def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None,
                     device: Any = None) -> torch.Tensor:
    """Normal samples kept within two standard deviations of the mean (Keras's four-draw method)."""
    shape = tuple(shape)
    draws = normal(shape + (4,), 0.0, 1.0, dtype=dtype, seed=seed, device=device)
    first_valid = ((draws > -2) & (draws < 2)).max(-1, keepdim=True)[1]
    return draws.gather(-1, first_valid).squeeze(-1) * stddev + mean


def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32", seed: Any = None,
            device: Any = None) -> torch.Tensor:
    """Integers drawn uniformly from `[minval, maxval)`."""
    torch_dtype = config.standardize_dtype(dtype)
    if torch_dtype.is_floating_point or torch_dtype == torch.bool:
        raise ValueError(f"kt.random.randint needs an integer dtype, received dtype={dtype!r}.")
    device = _device(seed, device)
    return torch.randint(minval, maxval, tuple(shape), generator=torch_generator(seed, device), dtype=torch_dtype,
                         device=device)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """`num_samples` class indices per row of `(batch, classes)` logits."""
    logits = torch.as_tensor(logits)
    if logits.dim() != 2:
        raise ValueError(
            f"kt.random.categorical expects logits of shape (batch_size, num_classes), received {tuple(logits.shape)}."
        )
    probabilities = torch.softmax(logits, dim=-1)
    samples = torch.multinomial(probabilities, num_samples, replacement=True,
                                generator=torch_generator(seed, logits.device))
    return samples.to(config.standardize_dtype(dtype))


def dropout(inputs: torch.Tensor, rate: float, noise_shape: Any = None, seed: Any = None) -> torch.Tensor:
    """Zero a `rate` fraction of `inputs` and scale the rest by `1 / (1 - rate)`.

    Unseeded calls without `noise_shape` use torch's fused dropout; seeded ones draw the keep
    mask from the seed (Keras's numbers).
    """
    if rate == 1.0:
        return torch.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    seeded = seed is not None and not (isinstance(seed, SeedGenerator) and seed._initial_seed is None)
    if not seeded and noise_shape is None:
        return torch.nn.functional.dropout(inputs, p=rate, training=True)
    keep = 1.0 - rate
    shape = inputs.shape if noise_shape is None else [
        inputs.shape[i] if size is None else size for i, size in enumerate(noise_shape)]
    probabilities = torch.full(tuple(shape), keep, device=inputs.device)
    mask = torch.bernoulli(probabilities, generator=torch_generator(seed, inputs.device)).bool()
    return torch.where(mask.broadcast_to(inputs.shape), inputs / keep, torch.zeros_like(inputs))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> torch.Tensor:
    """`x` with its entries along `axis` in a random order (the same order for every trailing slice)."""
    x = torch.as_tensor(x)
    order = torch.rand(x.shape[: axis + 1], generator=torch_generator(seed, x.device), device=x.device).argsort(axis)
    order = order.reshape(*order.shape, *(1,) * (x.dim() - axis - 1)).expand(*x.shape[: axis + 1], *x.shape[axis + 1:])
    return x.gather(axis, order)


def _sample_seeded(distribution: Any, seed: Any, dtype: Any) -> torch.Tensor:
    # Keras seeds torch's global CPU generator for these samplers and restores it afterwards.
    previous = torch.random.get_rng_state()
    torch.manual_seed(_seed_value(seed))
    try:
        return distribution.sample().to(_float_dtype(dtype, "sample"))
    finally:
        torch.random.set_rng_state(previous)


def gamma(shape: Any, alpha: Any, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a gamma distribution with concentration `alpha` and rate 1."""
    shape = tuple(shape)
    alpha = torch.broadcast_to(torch.as_tensor(alpha, dtype=torch.float32), shape)
    return _sample_seeded(torch.distributions.Gamma(alpha, torch.ones(shape)), seed, dtype)


def binomial(shape: Any, counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Numbers of successes in `counts` trials with success probability `probabilities`."""
    shape = tuple(shape)
    counts = torch.broadcast_to(torch.as_tensor(counts, dtype=torch.float32), shape)
    probabilities = torch.broadcast_to(torch.as_tensor(probabilities, dtype=torch.float32), shape)
    return _sample_seeded(torch.distributions.Binomial(total_count=counts, probs=probabilities), seed, dtype)


def beta(shape: Any, alpha: Any, beta: Any, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a beta distribution with concentrations `alpha` and `beta`."""
    shape = tuple(shape)
    alpha = torch.broadcast_to(torch.as_tensor(alpha, dtype=torch.float32), shape)
    beta_ = torch.broadcast_to(torch.as_tensor(beta, dtype=torch.float32), shape)
    return _sample_seeded(torch.distributions.Beta(concentration1=alpha, concentration0=beta_), seed, dtype)
