"""`kt.utils.bounding_boxes`: Keras's box-format helpers, not implemented in kerastorch yet.

Each function raises NotImplementedError naming itself: kerastorch's augmentation layers do not
transform bounding boxes, so these converters have no user yet; convert boxes with torchvision's
`torchvision.ops.box_convert` / `box_iou` meanwhile.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = [
    "affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
    "decode_deltas_to_boxes", "encode_box_to_deltas", "pad",
]


def _missing(name: str) -> NoReturn:
    raise NotImplementedError(
        f"kt.utils.bounding_boxes.{name} is not implemented: kerastorch's augmentation layers do not transform "
        "bounding boxes, so Keras's box helpers are not ported; use torchvision.ops (box_convert, box_iou, "
        "complete_box_iou) on torch tensors instead."
    )


def affine_transform(boxes: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any,
                     shear_y: Any, height: Any, width: Any, center_x: Any = None, center_y: Any = None,
                     bounding_box_format: str = "xyxy") -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("affine_transform")


def clip_to_image_size(bounding_boxes: Any, height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("clip_to_image_size")


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None) -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("compute_ciou")


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False, mask_val: int = -1,
                image_shape: Any = None) -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("compute_iou")


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: str = "float32") -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("convert_format")


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("crop")


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("decode_deltas_to_boxes")


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("encode_box_to_deltas")


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None,
        bounding_box_format: str = "xyxy") -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("pad")
