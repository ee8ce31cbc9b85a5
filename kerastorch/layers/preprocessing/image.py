"""Preprocessing layers that run inside the model: Rescaling, Resizing, CenterCrop."""

from __future__ import annotations

from typing import Any

import torch

from ... import config
from ..arguments import positive_int
from ..layer import Layer


class Rescaling(Layer):
    """`inputs * scale + offset`, casting integer images to the layer's float dtype first."""

    supports_masking = True

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not inputs.is_floating_point():
            inputs = inputs.to(self._dtype)
        return inputs * self.scale + self.offset


def _per_part(layer: Layer, inputs: Any, transform: Any, mask_interpolation: str | None = None) -> Any:
    """Keras's image preprocessing inputs: a batch (or one image), or a dict whose `images` and
    `segmentation_masks` (with `mask_interpolation`, if given) are transformed; `labels` pass through."""
    if not isinstance(inputs, dict):
        return transform(inputs, None)
    unknown = set(inputs) - {"images", "labels", "segmentation_masks"}
    if "bounding_boxes" in unknown:
        raise NotImplementedError(
            f"Layer {layer.name!r} ({type(layer).__name__}) does not transform bounding boxes yet; pass "
            "images (and segmentation_masks/labels) only."
        )
    if unknown or "images" not in inputs:
        raise ValueError(
            f"Layer {layer.name!r} ({type(layer).__name__}) expected a dict with 'images' and optionally "
            f"'labels' and 'segmentation_masks', received keys {sorted(inputs)}."
        )
    outputs = dict(inputs)
    outputs["images"] = transform(inputs["images"], None)
    if "segmentation_masks" in inputs:
        outputs["segmentation_masks"] = transform(inputs["segmentation_masks"], mask_interpolation)
    return outputs


class Resizing(Layer):
    """Resizes images to `(height, width)` with torch's fused `interpolate` on a channels_last view.

    Args:
        height, width: the output size.
        interpolation: "bilinear", "nearest", "bicubic", "area", "lanczos3" or "lanczos5".
        crop_to_aspect_ratio: first crop the largest centered window of the target aspect ratio.
        pad_to_aspect_ratio: first pad (with `fill_value`) to the target aspect ratio instead.
        fill_mode: "constant" (the only mode Keras's resize takes).
        fill_value: the padding value for `pad_to_aspect_ratio`.
        antialias: low-pass filter when downsampling.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.height = positive_int("Resizing", "height", height)
        self.width = positive_int("Resizing", "width", width)
        modes = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5")
        if interpolation not in modes:
            raise ValueError(f"Resizing expected `interpolation` to be one of {modes}, received {interpolation!r}.")
        if fill_mode != "constant":
            raise ValueError(f"Resizing expected `fill_mode` to be 'constant', received {fill_mode!r}.")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Resizing takes only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio`; set the other to False.")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)
        self.data_format = config.standardize_data_format(data_format)
        self.built = True

    def forward(self, inputs: Any) -> Any:
        return _per_part(self, inputs, self._resize, mask_interpolation="nearest")

    def _resize(self, images: torch.Tensor, interpolation: str | None) -> torch.Tensor:
        from ...ops.image import resize

        return resize(images, (self.height, self.width), interpolation=interpolation or self.interpolation,
                      antialias=self.antialias, crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                      pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_mode=self.fill_mode,
                      fill_value=self.fill_value, data_format=self.data_format)


class CenterCrop(Layer):
    """Crops the central `(height, width)` window (a view); an image smaller than that on either axis
    is instead cropped to the target aspect ratio and resized bilinearly, as Keras does.

    Args:
        height, width: the output size.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.height = positive_int("CenterCrop", "height", height)
        self.width = positive_int("CenterCrop", "width", width)
        self.data_format = config.standardize_data_format(data_format)
        self.built = True

    def forward(self, inputs: Any) -> Any:
        return _per_part(self, inputs, self._crop)

    def _crop(self, images: torch.Tensor, _: None) -> torch.Tensor:  # masks are cropped like images, as in Keras
        if images.dim() not in (3, 4):
            raise ValueError(
                f"Layer {self.name!r} (CenterCrop) expected a 3-D image or a 4-D batch, received shape "
                f"{tuple(images.shape)}."
            )
        images = images.to(self._dtype)
        rows = images.dim() - (2 if self.data_format == "channels_first" else 3)
        height, width = images.shape[rows], images.shape[rows + 1]
        if height < self.height or width < self.width:
            from ...ops.image import resize

            return resize(images, (self.height, self.width), interpolation="bilinear", crop_to_aspect_ratio=True,
                          data_format=self.data_format)
        top, left = (height - self.height) // 2, (width - self.width) // 2
        index = [slice(None)] * images.dim()
        index[rows], index[rows + 1] = slice(top, top + self.height), slice(left, left + self.width)
        return images[tuple(index)]
