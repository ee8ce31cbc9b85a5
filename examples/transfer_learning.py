"""Transfer learning with kerastorch: the Keras guide's two blueprints and a two-phase fine-tune.

Runs offline on the embedded 8x8 digits (upscaled to RGB images). On a CPU it uses small images, a
subset of the data and random weights by default, so it finishes in about a minute; for a real run:

    python examples/transfer_learning.py --device cuda --size 299 --weights imagenet

On CUDA the forward passes run under bf16 autocast ("mixed_bfloat16" policy) and the NHWC images
reach every convolution as channels_last views, PyTorch's fast layout for tensor cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import kerastorch as kt
from kerastorch.applications import xception
from kerastorch.datasets import digits


def load_images(size: int, limit: int | None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Digits as `(N, size, size, 3)` float images in [-1, 1] (Xception's preprocessing)."""
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[: max(limit // 4, 32)], y_test[: max(limit // 4, 32)]

    def to_rgb(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(images.astype("float32") * (255.0 / 16.0))[:, None]
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        x = x.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).contiguous()  # NHWC, as Keras images are
        return xception.preprocess_input(x.numpy())

    return (to_rgb(x_train), y_train.astype("int64")), (to_rgb(x_test), y_test.astype("int64"))


def blueprint_freeze_all_but_last(device: str, epochs: int) -> None:
    """Blueprint 1: train a Sequential model, then freeze every layer but the last and retrain."""
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), -1).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), -1).astype("float32") / 16
    model = kt.Sequential([
        kt.Input((64,)),
        kt.layers.Dense(64, activation="relu"),
        kt.layers.Dense(32, activation="relu"),
        kt.layers.Dense(10, activation="softmax"),
    ]).to(device)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0)
    kt.freeze_weights(model, to=-2)  # as `for layer in model.layers[:-1]: layer.trainable = False`
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    trainable = sum(w.numel() for w in model.trainable_weights)
    print(f"blueprint 1 (all but the last layer frozen): {trainable} trainable params, test accuracy {accuracy:.3f}")


def make_base(size: int, weights: str | None, device: str) -> kt.Model:
    base = kt.applications.Xception(weights=weights, include_top=False, input_shape=(size, size, 3), pooling="avg")
    return base.to(device)


def blueprint_frozen_base(base: kt.Model, data, device: str, epochs: int, batch_size: int) -> kt.Sequential:
    """Blueprint 2 and phase 1: a frozen pretrained base under a fresh classifier."""
    (x_train, y_train), (x_test, y_test) = data
    base.trainable = False
    model = kt.Sequential() | base | kt.layers.Dense(10, activation="softmax")
    model.to(device)
    model.summary(line_length=100)
    model.compile(optimizer=kt.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_test, y_test), verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    print(f"phase 1 (frozen base): test accuracy {accuracy:.3f} in {time.perf_counter() - start:.1f}s")
    return model


def fine_tune_top_blocks(model: kt.Sequential, base: kt.Model, data, epochs: int, batch_size: int) -> None:
    """Phase 2: unfreeze Xception's last blocks and train again with a low learning rate."""
    (x_train, y_train), (x_test, y_test) = data
    kt.unfreeze_weights(base, from_="block13_sepconv1")
    # Re-compiling makes the optimizer see the newly trainable weights.
    model.compile(optimizer=kt.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    trainable = sum(w.numel() for w in model.trainable_weights)
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_data=(x_test, y_test), verbose=2)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=batch_size, verbose=0)
    print(f"phase 2 (blocks 13-14 unfrozen, {trainable:,} trainable params): test accuracy {accuracy:.3f} "
          f"in {time.perf_counter() - start:.1f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=None, help="image size (default 71 on CPU, 299 on CUDA)")
    parser.add_argument("--weights", default=None, help="None, 'imagenet' or a Keras/timm Xception weights file")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per phase (default 1 on CPU, 3 on CUDA)")
    parser.add_argument("--limit", type=int, default=None, help="training images to use (default 256 on CPU)")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    size = args.size or (299 if cuda else 71)
    epochs = args.epochs or (3 if cuda else 1)
    limit = args.limit if args.limit is not None else (None if cuda else 256)
    weights = None if args.weights in (None, "None", "none") else args.weights
    torch.manual_seed(0)
    if cuda:
        kt.mixed_precision.set_global_policy("mixed_bfloat16")  # fit/evaluate run under bf16 autocast
        torch.backends.cudnn.benchmark = True

    if weights is None:
        print("weights=None: the base is random, so its features carry little signal (expect low accuracy); "
              "pass --weights imagenet (or a local Xception weights file) for real transfer learning.")
    blueprint_freeze_all_but_last(args.device, max(epochs, 5))
    data = load_images(size, limit)
    base = make_base(size, weights, args.device)
    model = blueprint_frozen_base(base, data, args.device, epochs, args.batch_size)
    fine_tune_top_blocks(model, base, data, epochs, args.batch_size)


if __name__ == "__main__":
    main()
