"""Xception (Chollet, 2017) as a functional model of kerastorch layers, layer for layer Keras's.

Same layer names (`block1_conv1` ... `block14_sepconv2_act`, `avg_pool`, `predictions`), BatchNorm
epsilon 1e-3 and "same" pooling, so Keras weight files load by position and outputs match Keras's.
The unnamed residual layers get auto names (`conv2d`, `batch_normalization`, `add`, ...) as in Keras.
"""

from __future__ import annotations

import os
from typing import Any

from .. import config
from .. import layers
from .imagenet_utils import decode_predictions as _decode_predictions
from .imagenet_utils import preprocess_input as _preprocess_input

__all__ = ["Xception", "preprocess_input", "decode_predictions"]

DEFAULT_SIZE = 299
MIN_SIZE = 71


def Xception(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "xception",
) -> Any:
    """Keras's Xception: 22,910,480 parameters with the top, 20,861,480 without (54,528 non-trainable).

    `weights`: None (random), "imagenet" (Keras's weights from the Keras, torch hub or timm cache, or
    downloaded), or a local file: a Keras `.h5`/`.weights.h5` or a timm `legacy_xception` `.pth`/`.safetensors`.
    Input: channels_last `(None, 299, 299, 3)` by default; without the top any size from 71 up works.
    Feed it `preprocess_input(images_0_255)` (scales to [-1, 1]).
    """
    from ..layers.input_layer import Input
    from ..models.functional import Functional
    from ..symbolic import SymbolicTensor
    from .xception_weights import (
        check_weights_argument, load_imagenet_weights, load_xception_weights, resolve_imagenet_weights,
    )

    check_weights_argument(weights)
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"Xception: weights='imagenet' with include_top=True needs classes=1000, received classes={classes}; "
            "use include_top=False and add your own classifier, or weights=None."
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"Xception: pooling must be None, 'avg' or 'max', received {pooling!r}.")
    channels_first = config.image_data_format() == "channels_first"
    input_shape = _input_shape(input_shape, include_top, weights, channels_first)
    source = resolve_imagenet_weights(include_top) if weights == "imagenet" else None
    if input_tensor is None:
        inputs = Input(shape=input_shape)
    elif isinstance(input_tensor, SymbolicTensor):
        inputs = input_tensor
    else:
        raise TypeError(
            f"Xception: input_tensor must be a symbolic tensor from kt.Input(...), received {type(input_tensor).__name__}."
        )
    order: list = []
    outputs = _graph(inputs, include_top, pooling, classes, classifier_activation, channels_first, order)
    model = Functional(inputs, outputs, name=name)
    # Keras's `model.layers` order of the weighted layers: Keras weight files are written in it.
    model._keras_weight_order = tuple(layer.name for layer in order)
    if weights == "imagenet":
        load_imagenet_weights(model, include_top, source)
    elif weights is not None:
        load_xception_weights(model, os.fspath(weights))
    return model


def _input_shape(input_shape: Any, include_top: bool, weights: Any, channels_first: bool) -> tuple:
    """Keras's rules: a fixed 299x299x3 with the ImageNet top, any size >= 71 with 3 channels otherwise."""
    default = (3, DEFAULT_SIZE, DEFAULT_SIZE) if channels_first else (DEFAULT_SIZE, DEFAULT_SIZE, 3)
    if input_shape is None:
        if include_top:
            return default
        return (3, None, None) if channels_first else (None, None, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"Xception: input_shape must have 3 entries (height, width, channels), received {input_shape}.")
    channels = input_shape[0] if channels_first else input_shape[-1]
    spatial = input_shape[1:] if channels_first else input_shape[:2]
    if weights == "imagenet" and include_top and input_shape != default:
        raise ValueError(
            f"Xception: with include_top=True and weights='imagenet' the input shape must be {default}, "
            f"received {input_shape}; use include_top=False for other sizes."
        )
    if weights is not None and channels != 3:
        raise ValueError(f"Xception: pretrained weights need 3 input channels, received input_shape={input_shape}.")
    if any(s is not None and s < MIN_SIZE for s in spatial):
        raise ValueError(
            f"Xception: input height and width must be at least {MIN_SIZE}, received input_shape={input_shape}."
        )
    return input_shape


def _graph(x: Any, include_top: bool, pooling: str | None, classes: int, classifier_activation: Any,
           channels_first: bool, order: list) -> Any:
    axis = 1 if channels_first else -1

    def keep(layer):
        order.append(layer)
        return layer

    def bn(name: str | None = None):
        return layers.BatchNormalization(axis=axis, name=name)

    def sepconv(filters: int, name: str):
        return layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)

    # Entry flow stem.
    x = keep(layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1"))(x)
    x = keep(bn("block1_conv1_bn"))(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = keep(layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2"))(x)
    x = keep(bn("block1_conv2_bn"))(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    # Entry flow: three downsampling blocks with strided 1x1 residual projections.
    for block, (first, second) in zip((2, 3, 4, 13), ((128, 128), (256, 256), (728, 728), (728, 1024))):
        residual_conv = layers.Conv2D(second, (1, 1), strides=(2, 2), padding="same", use_bias=False)
        residual_bn = bn()
        residual = residual_bn(residual_conv(x))
        if block != 2:  # block 2 follows the stem's activation directly
            x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
        x = keep(sepconv(first, f"block{block}_sepconv1"))(x)
        x = keep(bn(f"block{block}_sepconv1_bn"))(x)
        x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
        x = keep(sepconv(second, f"block{block}_sepconv2"))(x)
        x = keep(bn(f"block{block}_sepconv2_bn"))(x)
        keep(residual_conv), keep(residual_bn)
        x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"block{block}_pool")(x)
        x = layers.Add()([x, residual])
        if block == 4:
            x = _middle_flow(x, sepconv, lambda name: keep(bn(name)), keep)

    # Exit flow.
    x = keep(sepconv(1536, "block14_sepconv1"))(x)
    x = keep(bn("block14_sepconv1_bn"))(x)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = keep(sepconv(2048, "block14_sepconv2"))(x)
    x = keep(bn("block14_sepconv2_bn"))(x)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keep(layers.Dense(classes, activation=classifier_activation, name="predictions"))(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D()(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D()(x)
    return x


def _middle_flow(x: Any, sepconv: Any, bn: Any, keep: Any) -> Any:
    """Blocks 5-12: three ReLU-SeparableConv-BN units around an identity shortcut."""
    for block in range(5, 13):
        residual = x
        for unit in (1, 2, 3):
            x = layers.Activation("relu", name=f"block{block}_sepconv{unit}_act")(x)
            x = keep(sepconv(728, f"block{block}_sepconv{unit}"))(x)
            x = bn(f"block{block}_sepconv{unit}_bn")(x)
        x = layers.Add()([x, residual])
    return x


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Scale 0-255 RGB images to [-1, 1], the input Xception's ImageNet weights expect."""
    return _preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """Top-`top` `(class_id, class_name, score)` per image of an ImageNet prediction batch."""
    return _decode_predictions(preds, top=top)
