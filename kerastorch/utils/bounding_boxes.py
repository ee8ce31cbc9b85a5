"""`kt.utils.bounding_boxes`: Keras's box helpers on torch tensors (formats, clipping, crop/pad shifts,
affine maps, anchor deltas, IoU and CIoU), with Keras's formulas so results match to float precision.

Formats: "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw" (pixels) and "rel_xyxy", "rel_yxyx",
"rel_xywh", "rel_center_xywh" (fractions of the image; conversions to or from them need `height`
and `width`). Every conversion goes through "xyxy". Inputs may be numpy arrays or tensors; results
are tensors on the input's device.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .. import config
from ..ops._dtypes import to_torch

__all__ = [
    "affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou", "convert_format", "crop",
    "decode_deltas_to_boxes", "encode_box_to_deltas", "pad",
]

FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh")


def _tensor(value: Any, dtype: Any = None) -> torch.Tensor:
    tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
    return tensor if dtype is None else tensor.to(to_torch(dtype))


def _columns(boxes: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(boxes[..., i:i + 1] for i in range(4))


def _to_xyxy(boxes: torch.Tensor, fmt: str, height: Any, width: Any) -> torch.Tensor:
    a, b, c, d = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        parts = (b, a, d, c)
    elif fmt == "xywh":
        parts = (a, b, a + c, b + d)
    elif fmt == "center_xywh":
        parts = (a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0)
    elif fmt == "center_yxhw":
        parts = (b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0)
    elif fmt == "rel_xyxy":
        parts = (a * width, b * height, c * width, d * height)
    elif fmt == "rel_yxyx":
        parts = (b * width, a * height, d * width, c * height)
    elif fmt == "rel_xywh":
        parts = (a * width, b * height, (a + c) * width, (b + d) * height)
    else:  # rel_center_xywh
        parts = ((a - c / 2.0) * width, (b - d / 2.0) * height, (a + c / 2.0) * width, (b + d / 2.0) * height)
    return torch.cat(parts, dim=-1)


def _from_xyxy(boxes: torch.Tensor, fmt: str, height: Any, width: Any) -> torch.Tensor:
    x1, y1, x2, y2 = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        parts = (y1, x1, y2, x2)
    elif fmt == "xywh":
        parts = (x1, y1, x2 - x1, y2 - y1)
    elif fmt == "center_xywh":
        parts = (x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1)
    elif fmt == "center_yxhw":
        parts = (y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1)
    elif fmt == "rel_xyxy":
        parts = (x1 / width, y1 / height, x2 / width, y2 / height)
    elif fmt == "rel_yxyx":
        parts = (y1 / height, x1 / width, y2 / height, x2 / width)
    elif fmt == "rel_xywh":
        parts = (x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height)
    else:  # rel_center_xywh
        parts = ((x1 + (x2 - x1) / 2.0) / width, (y1 + (y2 - y1) / 2.0) / height, (x2 - x1) / width,
                 (y2 - y1) / height)
    return torch.cat(parts, dim=-1)


def convert_format(boxes: Any, source: str, target: str, height: Any = None, width: Any = None,
                   dtype: str = "float32") -> Any:
    """Boxes `(..., 4)` from format `source` to `target` (a dict's "boxes" entry is converted in a copy).

    Args:
        boxes: a tensor/array, or a dict with a "boxes" entry. source, target: formats (see the module).
        height, width: the image size, required when either format is relative. dtype: the result dtype.
    """
    if isinstance(boxes, dict):
        return {**boxes, "boxes": convert_format(boxes["boxes"], source, target, height, width, dtype)}
    boxes = _tensor(boxes, dtype)
    if boxes.shape[-1] != 4:
        raise ValueError(f"convert_format: boxes must have a last dimension of 4, received shape {tuple(boxes.shape)}.")
    source, target = source.lower(), target.lower()
    if source not in FORMATS or target not in FORMATS:
        raise ValueError(f"convert_format: formats must be among {FORMATS}, received source={source!r}, "
                         f"target={target!r}.")
    if (source.startswith("rel_") or target.startswith("rel_")) and (height is None or width is None):
        raise ValueError(f"convert_format: converting between {source!r} and {target!r} needs height and width; "
                         f"received height={height}, width={width}.")
    if source == target:
        return boxes
    height = None if height is None else _tensor(height, boxes.dtype).to(boxes.device)
    width = None if width is None else _tensor(width, boxes.dtype).to(boxes.device)
    if source.startswith("rel_") and target.startswith("rel_"):  # both relative: convert as if absolute
        source, target = source[4:], target[4:]
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def _area(boxes: torch.Tensor) -> torch.Tensor:
    x1, y1, x2, y2 = _columns(boxes)
    return (x2 - x1) * (y2 - y1)


def clip_to_image_size(bounding_boxes: dict, height: Any = None, width: Any = None,
                       bounding_box_format: str = "xyxy") -> dict:
    """A copy of `{"boxes", "labels"?}` with boxes clipped to the image; labels of empty boxes become -1.

    Args:
        bounding_boxes: dict with "boxes" and optionally "labels". height, width: the image size
            (needed for "xyxy"). bounding_box_format: "xyxy" or "rel_xyxy" (clipped to [0, 1]).
    """
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(
            f"clip_to_image_size supports 'xyxy' and 'rel_xyxy' boxes (as Keras's), received {bounding_box_format!r}; "
            "convert_format them first."
        )
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("clip_to_image_size: height and width must be set for 'xyxy' boxes.")
    boxes = _tensor(bounding_boxes["boxes"])
    if bounding_box_format == "xyxy":
        limit = torch.tensor([width, height, width, height], dtype=boxes.dtype, device=boxes.device)
    else:
        limit = torch.ones(4, dtype=boxes.dtype, device=boxes.device)
    boxes = torch.minimum(torch.clamp(boxes, min=0), limit)
    result = {**bounding_boxes, "boxes": boxes}
    if bounding_boxes.get("labels") is not None:
        labels = _tensor(bounding_boxes["labels"]).to(boxes.device)
        result["labels"] = torch.where(_area(boxes)[..., 0] > 0, labels, torch.full_like(labels, -1))
    return result


def _xyxy_only(name: str, bounding_box_format: str) -> None:
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            f"{name} supports 'xyxy' boxes only (as Keras's), received {bounding_box_format!r}; convert_format them first."
        )


def crop(boxes: Any, top: Any, left: Any, height: Any, width: Any, bounding_box_format: str = "xyxy") -> torch.Tensor:
    """Boxes in the frame of the crop window at `(top, left)` of size `(height, width)`, clipped to it."""
    _xyxy_only("crop", bounding_box_format)
    x1, y1, x2, y2 = _columns(_tensor(boxes))
    xs = [torch.clamp(x - left, min=0) for x in (x1, x2)]
    ys = [torch.clamp(y - top, min=0) for y in (y1, y2)]
    xs, ys = [torch.clamp(x, max=width) for x in xs], [torch.clamp(y, max=height) for y in ys]
    return torch.cat([xs[0], ys[0], xs[1], ys[1]], dim=-1)


def pad(boxes: Any, top: Any, left: Any, height: Any = None, width: Any = None,
        bounding_box_format: str = "xyxy") -> torch.Tensor:
    """Boxes shifted by the `top`/`left` padding added to the image (`height`/`width` are not needed)."""
    _xyxy_only("pad", bounding_box_format)
    x1, y1, x2, y2 = _columns(_tensor(boxes))
    return torch.cat([x1 + left, y1 + top, x2 + left, y2 + top], dim=-1)


def _inverse_affine(center_x: Any, center_y: Any, angle: torch.Tensor, translate_x: Any, translate_y: Any, scale: Any,
                    shear_x: Any, shear_y: Any, height: Any, width: Any) -> torch.Tensor:
    """Per-sample 3x3 matrices mapping output pixels back to input pixels, as Keras's affine layers build them."""
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    rot = -angle * (math.pi / 180.0)
    tx, ty = -translate_x * (width - 1), -translate_y * (height - 1)
    sx, sy = -shear_x * (math.pi / 180.0), -shear_y * (math.pi / 180.0)
    cos_sy, tan_sx = torch.cos(sy), torch.tan(sx)
    a = torch.cos(rot - sy) / cos_sy
    b = a * tan_sx + torch.sin(rot)
    c = -torch.sin(rot - sy) / cos_sy
    d = torch.cos(rot) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    zeros, ones = torch.zeros_like(angle), torch.ones_like(angle)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], dim=-1).reshape(-1, 3, 3)


def affine_transform(boxes: Any, angle: Any, translate_x: Any, translate_y: Any, scale: Any, shear_x: Any,
                     shear_y: Any, height: Any, width: Any, center_x: Any = None, center_y: Any = None,
                     bounding_box_format: str = "xyxy") -> torch.Tensor:
    """`(batch, boxes, 4)` xyxy boxes moved by per-sample affine parameters (each a `(batch,)` tensor): the
    box around the four transformed corners, as Keras's geometric augmentations move boxes.

    Args:
        angle: degrees. translate_x, translate_y: fractions of the width/height. scale: zoom factor.
        shear_x, shear_y: degrees. height, width: the image size. center_x, center_y: the rotation
        centre as fractions (default 0.5). bounding_box_format: "xyxy" only.
    """
    _xyxy_only("affine_transform", bounding_box_format)
    angle = _tensor(angle)
    matrix = _inverse_affine(0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y, angle,
                             _tensor(translate_x), _tensor(translate_y), _tensor(scale), _tensor(shear_x),
                             _tensor(shear_y), height, width)
    boxes = _tensor(boxes).to(matrix.dtype)
    x1, y1, x2, y2 = (boxes[..., i] for i in range(4))
    corners = torch.stack([x1, y1, x2, y1, x2, y2, x1, y2], dim=-1).reshape(*boxes.shape[:2], 4, 2)
    corners = torch.cat([corners, torch.ones_like(corners[..., :1])], dim=-1)
    moved = torch.einsum("bnxy,byz->bnxz", corners, matrix[:, :2, :].transpose(1, 2))
    return torch.cat([moved.amin(dim=2), moved.amax(dim=2)], dim=-1)


def _check_variance(variance: Any) -> torch.Tensor | None:
    if variance is None:
        return None
    variance = _tensor(variance, "float32")
    if variance.shape[-1] != 4:
        raise ValueError(f"variance must have length 4, received {variance.tolist()}.")
    return variance


def _size(image_shape: Any) -> tuple[Any, Any]:
    return (None, None) if image_shape is None else tuple(image_shape)[:2]


def encode_box_to_deltas(anchors: Any, boxes: Any, anchor_format: str, box_format: str,
                         encoding_format: str = "center_yxhw", variance: Any = None,
                         image_shape: Any = None) -> torch.Tensor:
    """Offsets of `boxes` from `anchors` as detectors regress them: centre shift over anchor size, log size ratio.

    Args:
        anchor_format, box_format: the inputs' formats. encoding_format: "center_yxhw" or "center_xywh".
        variance: 4 divisors applied to the deltas. image_shape: `(height, width, channels)` for relative formats.
    """
    variance = _check_variance(variance)
    if encoding_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"encoding_format must be 'center_xywh' or 'center_yxhw', received {encoding_format!r}.")
    height, width = _size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_size = torch.clamp(anchors[..., 2:], min=config.epsilon())
    box_size = torch.clamp(boxes[..., 2:], min=config.epsilon())
    deltas = torch.cat([(boxes[..., :2] - anchors[..., :2]) / anchor_size, torch.log(box_size / anchor_size)], dim=-1)
    return deltas / variance.to(deltas.device) if variance is not None else deltas


def decode_deltas_to_boxes(anchors: Any, boxes_delta: Any, anchor_format: str, box_format: str,
                           encoded_format: str = "center_yxhw", variance: Any = None, image_shape: Any = None) -> Any:
    """The inverse of `encode_box_to_deltas`; dicts of anchors and deltas (one entry per level) decode per key."""
    variance = _check_variance(variance)
    if encoded_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(f"encoded_format must be 'center_xywh' or 'center_yxhw', received {encoded_format!r}.")
    height, width = _size(image_shape)

    def decode(anchor: Any, delta: Any) -> torch.Tensor:
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = _tensor(delta)
        if variance is not None:
            delta = delta * variance.to(delta.device)
        box = torch.cat([delta[..., :2] * anchor[..., 2:] + anchor[..., :2], torch.exp(delta[..., 2:]) * anchor[..., 2:]],
                        dim=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def compute_iou(boxes1: Any, boxes2: Any, bounding_box_format: str, use_masking: bool = False, mask_val: int = -1,
                image_shape: Any = None) -> torch.Tensor:
    """Pairwise IoU: `(N, M)` for `(N, 4)` and `(M, 4)` boxes, `(B, N, M)` for batched ones.

    Args:
        bounding_box_format: the boxes' format. use_masking: boxes whose coordinates are all negative are
            padding, and their pairs get `mask_val`. image_shape: `(height, width, channels)` for relative formats.
    """
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if _tensor(boxes).dim() not in (2, 3):
            raise ValueError(f"compute_iou: {name} must be 2-D (unbatched) or 3-D (batched), received shape "
                             f"{tuple(_tensor(boxes).shape)}.")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("compute_iou: relative box formats need image_shape.")
    height, width = _size(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    second = boxes2.unsqueeze(-3)  # (..., 1, M, 4) against (..., N, 1, 4)
    first = boxes1.unsqueeze(-2)
    overlap = (torch.minimum(first[..., 2:], second[..., 2:]) - torch.maximum(first[..., :2], second[..., :2]))
    intersection = torch.clamp(overlap, min=0).prod(dim=-1)
    union = _area(boxes1) + _area(boxes2)[..., 0].unsqueeze(-2) - intersection
    iou = intersection / (union + config.epsilon())
    if not use_masking:
        return iou
    padding = (boxes1.amax(dim=-1, keepdim=True) < 0) | (boxes2.amax(dim=-1) < 0).unsqueeze(-2)
    return torch.where(padding, torch.full_like(iou, float(mask_val)), iou)


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str, image_shape: Any = None) -> torch.Tensor:
    """Complete IoU of matching boxes (element-wise): IoU minus the centre-distance and aspect-ratio terms."""
    if "rel" in bounding_box_format:
        raise ValueError("compute_ciou: relative box formats are not supported (as in Keras); convert_format first.")
    height, width = _size(image_shape)
    eps = config.epsilon()
    x1a, y1a, x2a, y2a = _columns(convert_format(boxes1, bounding_box_format, "xyxy", height, width))
    x1b, y1b, x2b, y2b = _columns(convert_format(boxes2, bounding_box_format, "xyxy", height, width))
    width_a, height_a = x2a - x1a, y2a - y1a + eps
    width_b, height_b = x2b - x1b, y2b - y1b + eps
    intersection = (torch.clamp(torch.minimum(x2a, x2b) - torch.maximum(x1a, x1b), min=0)
                    * torch.clamp(torch.minimum(y2a, y2b) - torch.maximum(y1a, y1b), min=0))
    union = width_a * height_a + width_b * height_b - intersection + eps
    iou = (intersection / (union + eps))[..., 0]
    diagonal = ((torch.maximum(x2a, x2b) - torch.minimum(x1a, x1b)) ** 2
                + (torch.maximum(y2a, y2b) - torch.minimum(y1a, y1b)) ** 2 + eps)[..., 0]
    centres = (((x1a + x2a) / 2 - (x1b + x2b) / 2) ** 2 + ((y1a + y2a) / 2 - (y1b + y2b) / 2) ** 2)[..., 0]
    v = (4 / math.pi ** 2 * (torch.atan(width_b / height_b) - torch.atan(width_a / height_a)) ** 2)[..., 0]
    alpha = v / (v - iou + (1 + eps))
    return iou - (centres / diagonal + v * alpha)
