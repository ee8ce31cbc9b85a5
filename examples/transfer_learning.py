"""Transfer learning and fine-tuning with kerastorch: the Keras guide's workflow, offline.

The guide fine-tunes an ImageNet Xception on a folder of cat and dog photos. This script runs the same
steps on data it writes itself, so it needs no download:

1. blueprint 1: freeze every layer of a trained model but the last and retrain it;
2. a "pretrained" base: by default a small convnet with BatchNormalization trained here on the digits
   0-7 (this example's ImageNet) and saved to a weights file, or `--base xception` for Keras's Xception
   (`--weights imagenet` or a local weights file for a real run);
3. a small image folder of a new task, 8s against 9s (PNG files in two class sub-folders), read with
   `kt.utils.image_dataset_from_directory` into training and validation DataLoaders;
4. a model with augmentation layers (RandomFlip, RandomRotation), input scaling, the frozen base called
   with `training=False`, pooling, dropout and a fresh one-unit head; the head is trained with the base
   frozen, then the whole base is unfrozen and fine-tuned at a low learning rate. BatchNormalization
   keeps its statistics throughout, because the base runs in inference mode.

On two CPU cores the default run takes well under a minute. A real run on a GPU:

    python examples/transfer_learning.py --device cuda --base xception --weights imagenet --size 150
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

import kerastorch as kt
from kerastorch.datasets import digits

SOURCE_CLASSES = range(8)  # what the base is pretrained on
TARGET_CLASSES = {"eight": 8, "nine": 9}  # the new task, in the image folder


def blueprint_freeze_all_but_last(device: str) -> None:
    """Blueprint 1: train a Sequential model, then freeze every layer but the last and retrain it."""
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
    model.fit(x_train, y_train, batch_size=64, epochs=5, verbose=0)
    kt.freeze_weights(model, to=-2)  # as `for layer in model.layers[:-1]: layer.trainable = False`
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=5, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    trainable = sum(w.numel() for w in model.trainable_weights)
    print(f"blueprint 1 (all but the last layer frozen): {trainable} trainable params, test accuracy {accuracy:.3f}")


def all_digits() -> tuple[np.ndarray, np.ndarray]:
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])


def to_pixels(images: np.ndarray, size: int) -> np.ndarray:
    """8x8 digits (0-16) as `(N, size, size, 3)` RGB pixel values in [0, 255], like decoded photos."""
    x = torch.from_numpy(images.astype("float32") * (255.0 / 16.0))[:, None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.expand(-1, 3, -1, -1).permute(0, 2, 3, 1).clamp(0, 255).numpy()


def write_image_folder(root: str, file_size: int = 20) -> None:
    """The new task's images as PNG files, one sub-folder per class (the layout the guide downloads)."""
    images, labels = all_digits()
    for name, digit in TARGET_CLASSES.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i, pixels in enumerate(to_pixels(images[labels == digit], file_size)):
            kt.utils.save_img(os.path.join(root, name, f"{name}_{i:03d}.png"), pixels, scale=False)


def digits_base(size: int) -> kt.Sequential:
    """A small convnet base with BatchNormalization, channels_last feature maps as Xception's."""
    layers = kt.layers
    return kt.Sequential([
        kt.Input((size, size, 3)),
        layers.Conv2D(16, 3, padding="same", use_bias=False), layers.BatchNormalization(), layers.Activation("relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", use_bias=False), layers.BatchNormalization(), layers.Activation("relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", use_bias=False), layers.BatchNormalization(), layers.Activation("relu"),
    ], name="digits_base")


def pretrain_digits_base(size: int, path: str, device: str) -> None:
    """Train the base (with a throwaway classifier) on the source classes and save its weights to `path`."""
    images, labels = all_digits()
    keep = np.isin(labels, list(SOURCE_CLASSES))
    x = to_pixels(images[keep], size) / 127.5 - 1.0  # the scaling the transfer model applies
    base = digits_base(size)
    model = kt.Sequential([base, kt.layers.GlobalAveragePooling2D(), kt.layers.Dense(len(SOURCE_CLASSES))]).to(device)
    model.compile(optimizer=kt.optimizers.Adam(3e-3),
                  loss=kt.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, labels[keep], batch_size=64, epochs=3, verbose=0)
    print(f"pretrained the base on digits 0-7: accuracy {history.history['accuracy'][-1]:.3f} "
          f"in {time.perf_counter() - start:.1f}s")
    base.save_weights(path)


def make_base(args: argparse.Namespace, workdir: str) -> kt.Model:
    if args.base == "xception":
        weights = None if args.weights in (None, "None", "none") else args.weights
        if weights is None:
            print("--base xception with weights=None: the base is random, so expect little transfer; "
                  "pass --weights imagenet (or a local Xception weights file).")
        return kt.applications.Xception(weights=weights, include_top=False, input_shape=(args.size, args.size, 3))
    path = os.path.join(workdir, "digits_base.weights.h5")
    pretrain_digits_base(args.size, path, args.device)
    base = digits_base(args.size)
    base.load_weights(path)  # the pretrained weights, read back as any weights file would be
    return base


def build_model(base: kt.Model, size: int) -> kt.Model:
    """The guide's model: augmentation, scaling to [-1, 1], the base in inference mode, a new head."""
    augmentation = kt.Sequential([kt.layers.RandomFlip("horizontal"), kt.layers.RandomRotation(0.1)],
                                 name="augmentation")
    inputs = kt.Input((size, size, 3))
    x = augmentation(inputs)
    x = kt.layers.Rescaling(scale=1 / 127.5, offset=-1)(x)
    # training=False: the base's BatchNormalization layers stay in inference mode, even once unfrozen
    x = base(x, training=False)
    x = kt.layers.GlobalAveragePooling2D()(x)
    x = kt.layers.Dropout(0.2)(x)
    outputs = kt.layers.Dense(1)(x)
    return kt.Model(inputs, outputs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--base", choices=("digits", "xception"), default="digits")
    parser.add_argument("--weights", default=None, help="Xception weights: None, 'imagenet' or a local file")
    parser.add_argument("--size", type=int, default=None, help="image size (default 16; 150 for Xception)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per phase (default 8 head, 4 fine-tuning)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--head-lr", type=float, default=1e-2, help="learning rate of phase 1 (the guide: 1e-3)")
    parser.add_argument("--tune-lr", type=float, default=1e-4, help="learning rate of fine-tuning (the guide: 1e-5)")
    parser.add_argument("--workdir", default=None, help="where the image folder is written (default: a temp dir)")
    args = parser.parse_args()
    args.size = args.size or (150 if args.base == "xception" else 16)
    head_epochs, tune_epochs = (args.epochs, args.epochs) if args.epochs else (8, 4)
    kt.utils.set_random_seed(1337)
    if args.device.startswith("cuda"):
        kt.mixed_precision.set_global_policy("mixed_bfloat16")  # fit/evaluate run under bf16 autocast
        torch.backends.cudnn.benchmark = True
    elif args.base == "digits":
        # 16x16 images through a small convnet: one thread is as fast as several for ops this small, and
        # does not slow to a crawl when other processes share the cores (OpenMP threads wait on each other)
        torch.set_num_threads(1)

    blueprint_freeze_all_but_last(args.device)

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        folder = os.path.join(workdir, "eights_and_nines")
        write_image_folder(folder)
        # Keras's call, Keras's split: the same files land in the same subset as in Keras for this seed
        train_ds, validation_ds = kt.utils.image_dataset_from_directory(
            folder, validation_split=0.2, subset="both", seed=1337, image_size=(args.size, args.size),
            batch_size=args.batch_size)
        images, labels = next(iter(train_ds))
        print(f"classes {train_ds.class_names}; a batch: images {tuple(images.shape)} {images.dtype}, "
              f"labels {tuple(labels.shape)} {labels.dtype}")

        base = make_base(args, workdir)
        model = build_model(base, args.size).to(args.device)

        base.trainable = False
        model.summary(show_trainable=True)
        model.compile(optimizer=kt.optimizers.Adam(args.head_lr), loss=kt.losses.BinaryCrossentropy(from_logits=True),
                      metrics=[kt.metrics.BinaryAccuracy()])
        start = time.perf_counter()
        model.fit(train_ds, epochs=head_epochs, validation_data=validation_ds)
        _, head_accuracy = model.evaluate(validation_ds, verbose=0)
        print(f"head trained on the frozen base: validation accuracy {head_accuracy:.3f} "
              f"({time.perf_counter() - start:.1f}s)")

        # Fine-tuning: unfreeze the base and train end to end at a low learning rate. Re-compiling makes
        # the optimizer see the newly trainable weights; the base still runs in inference mode.
        base.trainable = True
        model.summary(show_trainable=True)
        model.compile(optimizer=kt.optimizers.Adam(args.tune_lr), loss=kt.losses.BinaryCrossentropy(from_logits=True),
                      metrics=[kt.metrics.BinaryAccuracy()])
        start = time.perf_counter()
        model.fit(train_ds, epochs=tune_epochs, validation_data=validation_ds)
        _, tuned_accuracy = model.evaluate(validation_ds, verbose=0)
        print(f"fine-tuned end to end: validation accuracy {tuned_accuracy:.3f} "
              f"(was {head_accuracy:.3f}; {time.perf_counter() - start:.1f}s)")


if __name__ == "__main__":
    main()
