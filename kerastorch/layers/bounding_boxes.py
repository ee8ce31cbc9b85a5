"""`MaxNumBoundingBoxes`: pads or truncates each image's bounding boxes to a fixed count, so detection
batches stack into dense tensors."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .. import config
from .layer import Layer


class MaxNumBoundingBoxes(Layer):
    """Keeps the first `max_number` boxes (and labels) per image and pads shorter lists with `fill_value`.

    Inputs are Keras's detection dicts, `{"images", "bounding_boxes": {"boxes", "labels"}, ...}`,
    batched (`boxes` of shape `(batch, n, 4)`) or for one image (`(n, 4)`); images, labels and
    segmentation masks pass through unchanged, as does a plain image tensor. It acts in training and
    inference alike.

    Args:
        max_number: the number of boxes each image ends up with.
        fill_value: the value padded boxes and labels take.
        bounding_box_format: the boxes' format (e.g. "xyxy"); required, as in Keras, when boxes are given.
        data_format: "channels_last" (default from `kt.config`) or "channels_first" images.
    """

    def __init__(self, max_number: int, fill_value: int = -1, bounding_box_format: str | None = None,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        if self.max_number <= 0:
            raise ValueError(f"MaxNumBoundingBoxes expected `max_number` > 0, received {max_number!r}.")
        self.fill_value = int(fill_value)
        self.bounding_box_format = bounding_box_format
        self.data_format = config.standardize_data_format(data_format)
        self.built = True

    def forward(self, data: Any, training: bool | None = None) -> Any:
        if not isinstance(data, dict) or "bounding_boxes" not in data:
            return data
        if not self.bounding_box_format:
            raise ValueError(
                f"Layer {self.name!r} (MaxNumBoundingBoxes) received 'bounding_boxes' but has no "
                "`bounding_box_format`; pass one, e.g. MaxNumBoundingBoxes(..., bounding_box_format='xyxy')."
            )
        boxes_in = data["bounding_boxes"]
        if not isinstance(boxes_in, dict) or not {"boxes", "labels"} <= set(boxes_in):
            raise ValueError(
                f"Layer {self.name!r} (MaxNumBoundingBoxes) expects 'bounding_boxes' to be a dict with 'boxes' and "
                f"'labels', received {type(boxes_in).__name__} with keys {sorted(boxes_in) if isinstance(boxes_in, dict) else None}."
            )
        boxes, labels = torch.as_tensor(boxes_in["boxes"]), torch.as_tensor(boxes_in["labels"])
        single = boxes.dim() == 2
        if single:
            boxes, labels = boxes[None], labels[None]
        if boxes.dim() != 3 or boxes.shape[-1] != 4 or labels.shape != boxes.shape[:2]:
            raise ValueError(
                f"Layer {self.name!r} (MaxNumBoundingBoxes) expects boxes of shape (batch, n, 4) and labels "
                f"(batch, n) (or without the batch axis), received {tuple(boxes_in['boxes'].shape)} and "
                f"{tuple(boxes_in['labels'].shape)}."
            )
        pad = max(self.max_number - boxes.shape[1], 0)
        boxes = F.pad(boxes[:, : self.max_number], (0, 0, 0, pad), value=self.fill_value)
        labels = F.pad(labels[:, : self.max_number], (0, pad), value=self.fill_value)
        if single:
            boxes, labels = boxes[0], labels[0]
        return {**data, "bounding_boxes": {**boxes_in, "boxes": boxes, "labels": labels}}

    def get_config(self) -> dict[str, Any]:
        """Keras's keys; `fill_value` only when not the default (Keras's config leaves it out), and
        `bounding_box_format` when set."""
        result = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                  "data_format": self.data_format, "max_number": self.max_number}
        if self.bounding_box_format is not None:
            result["bounding_box_format"] = self.bounding_box_format
        if self.fill_value != -1:
            result["fill_value"] = self.fill_value
        return result
