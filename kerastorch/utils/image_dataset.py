"""`kt.utils.image_dataset_from_directory`: Keras's image folder reader, without TensorFlow.

Files are listed and split exactly as Keras lists and splits them (`file_dataset`), decoded with
Pillow in DataLoader worker processes and resized with `kt.ops.image.resize` (Keras's resize
semantics), and arrive as float32 torch batches ready for `fit`.

Decoding and resizing follow Keras's TensorFlow-free ("grain") path, which is what the tests compare
against. Keras's default `tf.data` path differs in two details: it converts colour files to grayscale
with TensorFlow's decoder (Pillow's luma weights here), and `pad_to_aspect_ratio` there resizes first
and pads after (here, as in Keras's `ops.image.resize`, the image is padded first and then resized).
Each epoch's sample order comes from a seeded torch generator, not from tf.data's shuffle buffer.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np
import torch

from .. import config
from ..ops import image as image_ops
from .file_dataset import check_format, datasets_from_directory

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def pil_image() -> Any:
    """Pillow's `Image` module, or an ImportError saying how to install it."""
    try:
        from PIL import Image
    except ImportError as error:  # pragma: no cover - Pillow is a dependency
        raise ImportError("Reading and writing images needs Pillow: `pip install pillow`.") from error
    return Image


def convert_mode(img: Any, color_mode: str) -> Any:
    """Keras's colour conversion: grayscale keeps 8/16/32-bit grey images as they are."""
    if color_mode == "grayscale":
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    wanted = "RGBA" if color_mode == "rgba" else "RGB"
    return img if img.mode == wanted else img.convert(wanted)


def load_image(path: str, image_size: tuple[int, int], color_mode: str, interpolation: str, data_format: str,
               crop_to_aspect_ratio: bool, pad_to_aspect_ratio: bool) -> torch.Tensor:
    """One file as a float32 `(height, width, channels)` tensor (or channels first) of size `image_size`."""
    with pil_image().open(path) as img:  # an animated GIF opens on its first frame, as Keras reads it
        array = np.asarray(convert_mode(img, color_mode))
    x = torch.from_numpy(array.astype(np.float32))
    if x.ndim == 2:
        x = x[:, :, None]
    if tuple(x.shape[:2]) != tuple(image_size) or crop_to_aspect_ratio or pad_to_aspect_ratio:
        x = image_ops.resize(x, image_size, interpolation=interpolation, crop_to_aspect_ratio=crop_to_aspect_ratio,
                             pad_to_aspect_ratio=pad_to_aspect_ratio, data_format="channels_last")
    if data_format == "channels_first":
        x = x.permute(2, 0, 1)
    return x.contiguous()


def image_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: int | Sequence[int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    format: str = "torch",
    verbose: bool = True,
    *,
    num_workers: int | None = None,
) -> Any:
    """Batches of images (and labels) from a folder of class sub-folders, as a `torch.utils.data.DataLoader`.

    Args:
        directory: the folder; with labels="inferred" each sub-folder holds one class's images
            (.bmp, .gif, .jpeg, .jpg, .png; an animated GIF gives its first frame).
        labels: "inferred" (from the sub-folders), None (images only), or a list/tuple with one integer
            label per file in the sorted order of the file paths.
        label_mode: "int" (int32 `(batch,)`), "categorical" (one-hot float32), "binary" (float32
            `(batch, 1)`, exactly 2 classes) or None (images only).
        class_names: with labels="inferred", the sub-folders to read, in label order (default: all, sorted).
        color_mode: "grayscale", "rgb" or "rgba" (1, 3 or 4 channels).
        batch_size: samples per batch; None yields single samples.
        image_size: `(height, width)` (or one int) every image is resized to.
        shuffle: shuffle the file list (Keras's seeded order) and the samples again every epoch; False
            keeps the sorted order.
        seed: seed of both shuffles (and of the training/validation split).
        validation_split: fraction of the files kept for validation (taken from the end of the shuffled list).
        subset: "training", "validation" or "both" (returns `[training, validation]`); needs `validation_split`.
        interpolation: resize method: "bilinear", "nearest", "bicubic", "area" (sizes that divide the
            image's), "lanczos3" or "lanczos5".
        follow_links: also walk sub-folders reached through symbolic links.
        crop_to_aspect_ratio: crop the largest centred window of the target aspect ratio before resizing.
        pad_to_aspect_ratio: pad with zeros to the target aspect ratio before resizing.
        data_format: "channels_last" (default) or "channels_first" for the image tensors.
        format: "torch" (the default here); Keras's "tf" and "grain" need those libraries and raise.
        verbose: print how many files and classes were found and how they were split.
        num_workers: worker processes that decode images (default: up to 4, one per CPU); 0 reads in the
            training loop's process.

    Returns:
        A DataLoader yielding float32 `(batch, height, width, channels)` images, with labels as
        `(images, labels)` pairs; its `class_names` and `file_paths` attributes list the classes and
        the files in index order. With subset="both", a list `[training, validation]`.
    """
    caller = "image_dataset_from_directory"
    if color_mode not in _CHANNELS:
        raise ValueError(f"{caller}: `color_mode` must be 'grayscale', 'rgb' or 'rgba', received {color_mode!r}.")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if not isinstance(image_size, (list, tuple)) or len(image_size) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_size):
        raise ValueError(f"{caller}: `image_size` must be (height, width) with positive integers, "
                         f"received image_size={image_size!r}.")
    interpolation = str(interpolation).lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{caller}: `interpolation` must be one of {INTERPOLATIONS}, received {interpolation!r}.")
    if interpolation in ("gaussian", "mitchellcubic"):
        raise NotImplementedError(
            f"{caller}: interpolation={interpolation!r} is TensorFlow's resampling kernel, which kerastorch does not "
            "implement; use 'bilinear', 'bicubic', 'lanczos3' or 'lanczos5'."
        )
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{caller}: pass only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio`.")
    check_format(caller, format)
    data_format = config.standardize_data_format(data_format)
    load = functools.partial(load_image, image_size=tuple(image_size), color_mode=color_mode,
                             interpolation=interpolation, data_format=data_format,
                             crop_to_aspect_ratio=bool(crop_to_aspect_ratio),
                             pad_to_aspect_ratio=bool(pad_to_aspect_ratio))
    return datasets_from_directory(
        caller, directory, labels=labels, label_mode=label_mode, class_names=class_names, formats=ALLOWLIST_FORMATS,
        load=load, batch_size=batch_size, shuffle=shuffle, seed=seed, validation_split=validation_split,
        subset=subset, follow_links=follow_links, verbose=verbose, num_workers=num_workers)
