"""Augmentation policies built from the other layers: RandAugment (a few random operations per image) and
AugMix (blends of random augmentation chains). Their operations are sublayers that draw with the policy's
own seed, so one `seed=` makes the whole policy reproducible.
"""

from __future__ import annotations

from typing import Any

import torch

from .base import BaseImageAugmentationLayer, factor_range, gamma, value_range_pair
from .color import (
    AutoContrast, Equalization, RandomBrightness, RandomColorDegeneration, RandomContrast, RandomPosterization,
    RandomSharpness, Solarization,
)
from .geometric import RandomRotation, RandomShear, RandomTranslation

__all__ = ["AugMix", "RandAugment"]


def _operations(factor: tuple[float, float], value_range: Any, interpolation: str, data_format: str,
                geometric_first: bool, colour: bool) -> dict[str, BaseImageAugmentationLayer]:
    """The named operations of Keras's RandAugment and AugMix, all with the policy's `factor` range."""
    geometric = {
        "random_shear": RandomShear(factor, factor, interpolation=interpolation, data_format=data_format),
        "random_translation": RandomTranslation(factor, factor, interpolation=interpolation, data_format=data_format),
        "random_rotation": RandomRotation(factor, interpolation=interpolation, data_format=data_format),
    }
    tonal = {
        "random_posterization": RandomPosterization(max(1, int(8 * factor[1])), value_range=value_range,
                                                    data_format=data_format),
        "solarization": Solarization(factor, factor, value_range=value_range, data_format=data_format),
        "auto_contrast": AutoContrast(value_range=value_range, data_format=data_format),
        "equalization": Equalization(value_range=value_range, data_format=data_format),
    }
    colours = {
        "random_brightness": RandomBrightness(factor, value_range=value_range, data_format=data_format),
        "random_color_degeneration": RandomColorDegeneration(factor, value_range=value_range, data_format=data_format),
        "random_contrast": RandomContrast(factor, value_range=value_range, data_format=data_format),
        "random_sharpness": RandomSharpness(factor, value_range=value_range, data_format=data_format),
    }
    if not geometric_first:  # RandAugment's order
        order = ["random_shear", "random_translation", "random_rotation", "random_brightness",
                 "random_color_degeneration", "random_contrast", "random_sharpness", "random_posterization",
                 "solarization", "auto_contrast", "equalization"]
        everything = {**geometric, **tonal, **colours}
        return {name: everything[name] for name in order}
    return {**geometric, **tonal, **(colours if colour else {})}


class _Policy(BaseImageAugmentationLayer):
    """Shared setup: the factor, value range, interpolation and the operation sublayers (plain attributes,
    not submodules: they hold no state and draw from the policy's generator)."""

    def _setup(self, value_range: Any, factor: Any, interpolation: str, geometric_first: bool, colour: bool) -> None:
        name = type(self).__name__
        self._range = value_range_pair(name, value_range)
        self.value_range = value_range
        self.factor = factor_range(name, "factor", factor, 0.0, 1.0, symmetric=False)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{name} expected `interpolation` to be 'nearest' or 'bilinear', received "
                             f"interpolation={interpolation!r}.")
        self.interpolation = interpolation
        object.__setattr__(self, "_ops", _operations(self.factor, value_range, interpolation, self.data_format,
                                                     geometric_first, colour))


class RandAugment(_Policy):
    """Applies `num_ops` operations to each image, each chosen per image among Keras's eleven (shear,
    translation, rotation, brightness, colour degeneration, contrast, sharpness, posterization, solarization,
    auto-contrast, equalization), all with magnitudes drawn from `factor`. (Keras picks the operations once
    per batch; here each image picks its own, at the same cost: every operation runs on the batch and each
    image keeps its pick.)

    Args:
        value_range: the `(min, max)` of the input values.
        num_ops: how many operations each image gets.
        factor: a number `f` (magnitudes drawn in `[0, f]`) or a pair, within [0, 1].
        interpolation: "bilinear" or "nearest", for the geometric operations.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, value_range: Any = (0, 255), num_ops: int = 2, factor: Any = 0.5,
                 interpolation: str = "bilinear", seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(num_ops, bool) or not isinstance(num_ops, int) or num_ops < 0:
            raise ValueError(f"RandAugment expected a non-negative int `num_ops`, received num_ops={num_ops!r}.")
        self.num_ops = num_ops
        self._setup(value_range, factor, interpolation, geometric_first=False, colour=True)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, list]:
        picks = torch.randint(0, len(self._ops), (images.shape[0], self.num_ops), generator=generator,
                              device=images.device)
        return picks, [op._draw(images, generator) for op in self._ops.values()]

    def _apply(self, images: torch.Tensor, params: tuple, masks: bool) -> torch.Tensor:
        picks, op_params = params
        for step in range(self.num_ops):
            chosen = picks[:, step].view(-1, 1, 1, 1)
            for index, (op, p) in enumerate(zip(self._ops.values(), op_params)):
                out = op._transform_masks(images, p) if masks else op._transform(images, p, self.interpolation)
                images = torch.where(chosen == index, out, images)
        return images

    def _transform(self, images: torch.Tensor, params: tuple, interpolation: str) -> torch.Tensor:
        return self._apply(images, params, masks=False)

    def _transform_masks(self, masks: torch.Tensor, params: tuple) -> torch.Tensor:
        return self._apply(masks, params, masks=True)


class AugMix(_Policy):
    """AugMix: `num_chains` chains of up to `chain_depth` random operations (a step may be skipped), blended
    with Dirichlet(`alpha`) weights, then blended with the original image by a Beta(`alpha`, `alpha`) weight,
    and clipped to `value_range`. The weights and each operation's magnitudes are drawn per image; the
    operation of each chain step is picked once per batch (as in Keras, whose pick is unseeded; here it comes
    from the layer's seed, on the host).

    Args:
        value_range: the `(min, max)` of the input values.
        num_chains: the number of chains.
        chain_depth: the largest number of operations in a chain.
        factor: a number `f` (magnitudes drawn in `[0, f]`) or a pair, within [0, 1].
        alpha: the Dirichlet and Beta concentration (positive).
        all_ops: also use brightness, colour degeneration, contrast and sharpness.
        interpolation: "bilinear" or "nearest", for the geometric operations.
        seed: an int for reproducible draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, value_range: Any = (0, 255), num_chains: int = 3, chain_depth: int = 3, factor: Any = 0.3,
                 alpha: float = 1.0, all_ops: bool = True, interpolation: str = "bilinear", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        for name, value in (("num_chains", num_chains), ("chain_depth", chain_depth)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"AugMix expected a positive int `{name}`, received {name}={value!r}.")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
            raise ValueError(f"AugMix expected a positive number `alpha`, received alpha={alpha!r}.")
        if not isinstance(all_ops, bool):
            raise TypeError(f"AugMix expected a bool `all_ops`, received all_ops={all_ops!r}.")
        self.num_chains, self.chain_depth, self.alpha, self.all_ops = num_chains, chain_depth, alpha, all_ops
        self._setup(value_range, factor, interpolation, geometric_first=True, colour=all_ops)

    def _draw(self, images: torch.Tensor, generator: torch.Generator | None) -> tuple:
        batch, device = images.shape[0], images.device
        # Chain weights (Dirichlet) and the blend weight (Beta) from one gamma draw per image.
        draws = gamma(torch.full((batch, self.num_chains + 2), float(self.alpha), device=device), generator)
        chain_weights = draws[:, :self.num_chains] / draws[:, :self.num_chains].sum(1, keepdim=True)
        blend = draws[:, -2] / (draws[:, -2] + draws[:, -1])
        host = None if generator is None else torch.Generator().manual_seed(generator.initial_seed())
        names = list(self._ops)
        picks = torch.randint(0, len(names) + 1, (self.num_chains, self.chain_depth), generator=host).tolist()
        chains = [[(names[i], self._ops[names[i]]._draw(images, generator)) for i in row if i < len(names)]
                  for row in picks]
        return chain_weights, blend, chains

    def _mix(self, images: torch.Tensor, params: tuple, masks: bool) -> torch.Tensor:
        chain_weights, blend, chains = params
        mixed = torch.zeros_like(images)
        for index, chain in enumerate(chains):
            out = images
            for name, p in chain:
                op = self._ops[name]
                out = op._transform_masks(out, p) if masks else op._transform(out, p, self.interpolation)
            mixed = mixed + out * chain_weights[:, index].to(images.dtype).view(-1, 1, 1, 1)
        blend = blend.to(images.dtype).view(-1, 1, 1, 1)
        return blend * images + (1.0 - blend) * mixed

    def _transform(self, images: torch.Tensor, params: tuple, interpolation: str) -> torch.Tensor:
        return self._mix(images, params, masks=False).clamp(*self._range)

    def _transform_masks(self, masks: torch.Tensor, params: tuple) -> torch.Tensor:
        return self._mix(masks, params, masks=True)
