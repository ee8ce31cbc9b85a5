"""`kt.utils.bounding_boxes` against `keras.utils.bounding_boxes` on the same boxes, a row per call."""

import itertools

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.utils.bounding_boxes import FORMATS

RNG = np.random.default_rng(0)
H, W = 40, 60


def _xyxy(*shape):
    corner = RNG.uniform(0, 30, (*shape, 2))
    return np.concatenate([corner, corner + RNG.uniform(1, 25, (*shape, 2))], axis=-1).astype("float32")


BOXES = _xyxy(2, 5)


def _close(ours, theirs, atol=1e-5):
    if isinstance(theirs, dict):
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            _close(ours[key], theirs[key], atol)
        return
    ours, theirs = np.asarray(ours.cpu() if hasattr(ours, "cpu") else ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, atol=atol, rtol=1e-5)


@pytest.mark.parametrize("source,target", list(itertools.product(FORMATS, FORMATS)), ids=str)
def test_convert_format_matches_keras(source, target):
    boxes = np.asarray(keras.utils.bounding_boxes.convert_format(BOXES, "xyxy", source, height=H, width=W))
    _close(kt.utils.bounding_boxes.convert_format(boxes, source, target, height=H, width=W),
           keras.utils.bounding_boxes.convert_format(boxes, source, target, height=H, width=W))


def _call(name, *args, **kwargs):
    return getattr(kt.utils.bounding_boxes, name)(*args, **kwargs), getattr(keras.utils.bounding_boxes, name)(
        *args, **kwargs)


def test_clip_crop_pad_match_keras():
    labels = np.arange(10, dtype="int32").reshape(2, 5)
    wide = BOXES * 2.5 - 20  # some boxes leave the image, some vanish
    for fmt, boxes, size in (("xyxy", wide, dict(height=H, width=W)), ("rel_xyxy", wide / 50.0, {})):
        _close(*_call("clip_to_image_size", {"boxes": boxes, "labels": labels}, bounding_box_format=fmt, **size))
    _close(*_call("crop", BOXES, 5, 7, 20, 30))
    _close(*_call("pad", BOXES, 5, 7))
    for name in ("crop", "pad"):
        with pytest.raises(NotImplementedError):
            getattr(kt.utils.bounding_boxes, name)(BOXES, 1, 1, 5, 5, bounding_box_format="yxyx")


def test_affine_transform_matches_keras():
    batch = 2
    params = dict(angle=np.array([15.0, -30.0], "float32"), translate_x=np.array([0.1, -0.05], "float32"),
                  translate_y=np.array([0.0, 0.2], "float32"), scale=np.array([1.2, 0.8], "float32"),
                  shear_x=np.array([5.0, 0.0], "float32"), shear_y=np.array([0.0, -10.0], "float32"))
    ours = kt.utils.bounding_boxes.affine_transform(BOXES, height=H, width=W, **params)
    theirs = keras.utils.bounding_boxes.affine_transform(
        BOXES, height=H, width=W, **{k: keras.ops.convert_to_tensor(v) for k, v in params.items()})
    _close(ours, theirs, atol=1e-3)
    assert ours.shape == (batch, 5, 4)


@pytest.mark.parametrize("encoding", ["center_yxhw", "center_xywh"])
def test_box_deltas_match_keras(encoding):
    anchors, boxes = _xyxy(7), _xyxy(7)
    for variance in (None, [0.1, 0.1, 0.2, 0.2]):
        deltas = _call("encode_box_to_deltas", anchors, boxes, "xyxy", "xyxy", encoding, variance)
        _close(*deltas)
        _close(*_call("decode_deltas_to_boxes", anchors, deltas[1], "xyxy", "yxyx", encoding, variance))
    levels = {"p3": anchors[:3], "p4": anchors[3:]}
    deltas = {"p3": torch.randn(3, 4), "p4": torch.randn(4, 4)}  # Keras multiplies them by tensors
    _close(*_call("decode_deltas_to_boxes", levels, deltas, "xyxy", "xyxy", encoding))
    with pytest.raises(ValueError):
        kt.utils.bounding_boxes.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy", "xyxy")


def test_iou_and_ciou_match_keras():
    unbatched_a, unbatched_b = _xyxy(5), _xyxy(3)
    batched_a, batched_b = _xyxy(2, 5), _xyxy(2, 3)
    padded_b = batched_b.copy()
    padded_b[:, -1] = -1  # padding rows
    for a, b, kwargs in ((unbatched_a, unbatched_b, {}), (batched_a, batched_b, {}),
                         (batched_a, padded_b, {"use_masking": True, "mask_val": -2})):
        _close(*_call("compute_iou", a, b, "xyxy", **kwargs))
        _close(*_call("compute_iou", a[..., [1, 0, 3, 2]], b[..., [1, 0, 3, 2]], "yxyx", **kwargs))
    rel = unbatched_a / np.array([W, H, W, H], "float32")
    _close(*_call("compute_iou", rel, rel[:3], "rel_xyxy", image_shape=(H, W, 3)))
    _close(*_call("compute_ciou", batched_a, _xyxy(2, 5), "xyxy"))
    _close(*_call("compute_ciou", unbatched_a, _xyxy(5), "center_xywh"))
