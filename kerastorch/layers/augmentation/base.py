"""The base of the image augmentation layers, and the argument checks and random draws they share.

Every layer is active only in training (identity, apart from the cast to the layer's float dtype, at
inference, as in Keras; `AutoContrast` and `ContrastLimitedAdaptiveHistogramEqualization` apply at
inference too, as Keras's do), draws its per-sample parameters in one batched call on the input's
device, and takes a `seed=` that makes the sequence of draws reproducible. A seeded layer keeps its
`SeedGenerator` on the host (not a submodule, so `.to(device)` leaves it there): reading its state never
waits for the device. The state is saved in `state_dict()` under `seed_generator_state` (Keras keeps it
as a non-trainable variable), so a resumed checkpoint continues the sequence; like Keras it is not a
weight and stays out of `weights` and Keras weight files.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from ... import config
from ...random import SeedGenerator, torch_generator
from ..layer import Layer

_SEED_KEY = "seed_generator_state"


def factor_range(layer: str, name: str, factor: Any, low: float, high: float, low_open: bool = False,
                 symmetric: bool = True) -> tuple[float, float]:
    """Keras's `factor`: a number `f` means `(-f, f)` (clipped to the lower bound unless `symmetric`),
    a pair means `(min, max)`; every value must lie in `[low, high]` (`(low, high]` when `low_open`)."""
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{layer} expected `{name}` to be a number or a pair of numbers, received {name}={factor!r}.")
        if value > high or value < low or (low_open and value == low):
            bounds = f"({low}, {high}]" if low_open else f"[{low}, {high}]"
            raise ValueError(f"{layer} expected `{name}` within {bounds}, received {name}={factor!r}.")
        return float(value)

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{layer} expected `{name}` to be a number or a pair of numbers, received {name}={factor!r}.")
        lower, upper = sorted(check(value) for value in factor)
        return lower, upper
    value = abs(check(factor))
    return (-value if symmetric else max(-value, low)), value


def choice(layer: str, name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{layer} expected `{name}` to be one of {choices}, received {name}={value!r}.")
    return value


def value_range_pair(layer: str, value_range: Any) -> tuple[float, float]:
    """`value_range` as a sorted `(min, max)` of numbers."""
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value_range)):
        raise ValueError(f"{layer} expected `value_range` to be a pair of numbers such as (0, 255), "
                         f"received value_range={value_range!r}.")
    low, high = sorted(value_range)
    return low, high


def rescale(images: torch.Tensor, source: tuple[float, float], target: tuple[float, float]) -> torch.Tensor:
    """Map values linearly from the `source` range to the `target` range (no-op when they are equal)."""
    if tuple(source) == tuple(target):
        return images
    return (images - source[0]) / (source[1] - source[0]) * (target[1] - target[0]) + target[0]


def uniform(shape: tuple, low: float, high: float, device: torch.device, generator: torch.Generator | None
            ) -> torch.Tensor:
    """Uniform `[low, high)` float32 draws on `device`, one batched call."""
    return low + (high - low) * torch.rand(shape, generator=generator, device=device, dtype=torch.float32)


def coin(probability: tuple[float, float], batch: int, device: torch.device, generator: torch.Generator | None
         ) -> torch.Tensor:
    """Keras's per-image "apply?" draw: a probability in the `probability` range, then a coin with it."""
    chance = uniform((batch,), *probability, device, generator)
    return uniform((batch,), 0.0, 1.0, device, generator) < chance


@contextlib.contextmanager
def _seeded_global_rng(device: torch.device, generator: torch.Generator | None):
    """Torch's global RNG of `device`, seeded from `generator` for the block and restored after it: for
    samplers that take no `generator` argument (gamma). The seed is the generator's host-side initial
    seed, so nothing waits for the device."""
    if generator is None:
        yield
        return
    seed = generator.initial_seed()
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)
            yield
        return
    index = device.index if device.index is not None else torch.get_device_module(device.type).current_device()
    with torch.random.fork_rng(devices=[index], device_type=device.type):
        with torch.get_device_module(device.type).device(index):
            torch.get_device_module(device.type).manual_seed(seed)  # this device's generator only
            yield


def gamma(alpha: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Gamma(alpha, 1) draws on `alpha`'s device, one call; `generator` (when given) makes them reproducible."""
    with _seeded_global_rng(alpha.device, generator):
        return torch._standard_gamma(alpha)


def beta(shape: tuple, alpha: float, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
    """Beta(alpha, alpha) draws as a ratio of two gamma draws."""
    draws = gamma(torch.full((2, *shape), float(alpha), device=device), generator)
    return draws[0] / (draws[0] + draws[1]).clamp_min(torch.finfo(draws.dtype).tiny)


def gaussian_blur(nchw: torch.Tensor, kernel_size: tuple[int, int], sigmas: torch.Tensor) -> torch.Tensor:
    """Blur each image of an `(N, C, H, W)` batch with its own Gaussian (`sigmas` `(N, 2)`: height, width
    standard deviations), zero padding to the same size: two grouped 1-D convolutions for the whole batch."""
    batch, channels, height, width = nchw.shape
    out = nchw.reshape(1, batch * channels, height, width)
    for axis, size in enumerate(kernel_size):
        offsets = torch.arange(size, dtype=nchw.dtype, device=nchw.device) - (size - 1) / 2
        weights = torch.exp(-0.5 * (offsets / sigmas[:, axis:axis + 1].to(nchw.dtype)) ** 2)
        weights = (weights / weights.sum(1, keepdim=True)).repeat_interleave(channels, dim=0)
        shape, padding = ((size, 1), (size // 2, 0)) if axis == 0 else ((1, size), (0, size // 2))
        out = torch.nn.functional.conv2d(out, weights.view(batch * channels, 1, *shape), padding=padding,
                                         groups=batch * channels)
    return out.view(batch, channels, height, width)


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else -3


class BaseImageAugmentationLayer(Layer):
    """Shared machinery of the augmentation layers: training gate, batching, dicts, seeded draws.

    Subclasses implement `_draw(images, generator)` (random parameters for the `(N, ...)` batch, drawn
    with `self._rand` or the helpers above) and `_transform(images, params, interpolation)`; geometric
    layers set `_moves_pixels` so segmentation masks follow the images (with nearest interpolation).
    `_transform_labels` mixes labels (CutMix, MixUp); `_infer` gives the inference output.
    """

    _moves_pixels = True

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"{type(self).__name__} expected an integer `seed` or None, received seed={seed!r}.")
        self.seed = seed
        self.data_format = config.standardize_data_format(data_format)
        # Plain attribute on purpose: the seed state stays on the host whatever device the layer moves to.
        object.__setattr__(self, "_seed_generator", None if seed is None else SeedGenerator(seed))
        self.built = True

    # -------------------------------------------------------------------- seed state in state_dict

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)
        if self._seed_generator is not None:  # shares storage, like parameters: loaders copy into it in place
            state = self._seed_generator.state
            destination[prefix + _SEED_KEY] = state if keep_vars else state.detach()

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        key = prefix + _SEED_KEY
        value = state_dict.pop(key, None) if self._seed_generator is not None else None
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        if self._seed_generator is None:
            return
        if value is None:
            if strict:
                missing_keys.append(key)
        elif tuple(value.shape) != (2,):
            error_msgs.append(f"size mismatch for {key}: expected a seed state of shape (2,), received "
                              f"{tuple(value.shape)}.")
        else:
            with torch.no_grad():
                self._seed_generator.state.copy_(value.detach().to("cpu", torch.int32))

    # -------------------------------------------------------------------------------- the call

    @property
    def _spatial_axes(self) -> tuple[int, int]:
        """Height and width axes of a 4-D batch."""
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    @property
    def _channel_axis(self) -> int:
        return channel_axis(self.data_format)

    def _size(self, images: torch.Tensor) -> tuple[int, int]:
        rows, cols = self._spatial_axes
        return images.shape[rows], images.shape[cols]

    def _rand(self, shape: tuple, device: torch.device, generator: torch.Generator | None) -> torch.Tensor:
        """Uniform `[0, 1)` float32 draws on `device`: one batched call, from the seed when seeded."""
        return torch.rand(shape, generator=generator, device=device, dtype=torch.float32)

    def _generator(self, device: torch.device) -> torch.Generator | None:
        """A generator for this call's draws (advancing the seed state), or None for torch's global RNG."""
        return None if self._seed_generator is None else torch_generator(self._seed_generator, device)

    def forward(self, inputs: Any, training: bool | None = None) -> Any:
        training = self.training if training is None else training
        if isinstance(inputs, dict):
            unknown = set(inputs) - {"images", "labels", "segmentation_masks"}
            if "bounding_boxes" in unknown:
                raise NotImplementedError(
                    f"Layer {self.name!r} ({type(self).__name__}) does not transform bounding boxes yet; pass "
                    "images (and segmentation_masks/labels) only.")
            if unknown or "images" not in inputs:
                raise ValueError(
                    f"Layer {self.name!r} ({type(self).__name__}) expected a dict with 'images' and optionally "
                    f"'labels' and 'segmentation_masks', received keys {sorted(inputs)}.")
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        images = torch.as_tensor(images)
        if images.dim() not in (3, 4):
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) expected a 3-D image or a 4-D batch of images, "
                f"received shape {tuple(images.shape)}.")
        single = images.dim() == 3
        batch = images.unsqueeze(0) if single else images
        batch = batch.to(self._dtype)
        params = self._draw(batch, self._generator(batch.device)) if training else None
        out = self._transform(batch, params, self._interpolation()) if training else self._infer(batch)
        out = out.squeeze(0) if single else out
        if not isinstance(inputs, dict):
            return out
        outputs = dict(inputs, images=out)
        if "segmentation_masks" in inputs:
            masks = torch.as_tensor(inputs["segmentation_masks"])
            masks = (masks.unsqueeze(0) if single else masks).to(self._dtype)
            masks = self._transform_masks(masks, params) if training else self._infer_masks(masks)
            outputs["segmentation_masks"] = masks.squeeze(0) if single else masks
        if "labels" in inputs and training:
            labels = torch.as_tensor(inputs["labels"])
            labels = self._transform_labels(labels.unsqueeze(0) if single else labels, params)
            outputs["labels"] = labels.squeeze(0) if single else labels
        return outputs

    def _interpolation(self) -> str:
        return getattr(self, "interpolation", "bilinear")

    def _infer(self, images: torch.Tensor) -> torch.Tensor:
        """The inference-mode output: the images unchanged (RandomCrop, AutoContrast and CLAHE override this)."""
        return images

    def _infer_masks(self, masks: torch.Tensor) -> torch.Tensor:
        return self._infer(masks) if self._moves_pixels else masks

    def _transform_masks(self, masks: torch.Tensor, params: Any) -> torch.Tensor:
        """Segmentation masks follow geometric transforms (nearest sampling); colour changes leave them."""
        return self._transform(masks, params, "nearest") if self._moves_pixels else masks

    def _transform_labels(self, labels: torch.Tensor, params: Any) -> torch.Tensor:
        return labels

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> Any:
        raise NotImplementedError

    def _transform(self, images: torch.Tensor, params: Any, interpolation: str) -> torch.Tensor:
        raise NotImplementedError
