"""Train a small CNN on the embedded 8x8 handwritten digits with `compile` / `fit` and callbacks.

Runs offline in a few seconds on a CPU: a validation split, a live progress bar (on a terminal;
one line per epoch otherwise), early stopping that restores the best weights, learning-rate
reduction on plateaus, a CSV log and a weights checkpoint, then `evaluate` and `predict`.

    python examples/train_digits.py [--epochs 20] [--out /tmp/digits_run]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np
import torch

import kerastorch as kt
from kerastorch import layers
from kerastorch.datasets import digits


def build_model() -> kt.Sequential:
    return kt.Sequential(
        [
            kt.Input(shape=(8, 8, 1)),
            layers.Rescaling(1 / 16),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dropout(0.2),
            layers.Dense(10),
        ],
        name="digits_cnn",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default=None, help="folder for the CSV log and checkpoint (default: a temp dir)")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="digits_")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train, x_test = x_train[..., None].astype("float32"), x_test[..., None].astype("float32")  # NHWC

    model = build_model()
    model.summary()
    model.compile(
        optimizer=kt.optimizers.Adam(learning_rate=3e-3),
        loss=kt.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train, y_train,
        batch_size=32,
        epochs=args.epochs,
        validation_split=0.15,
        callbacks=[
            kt.callbacks.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True, verbose=1),
            kt.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, verbose=1),
            kt.callbacks.ModelCheckpoint(os.path.join(out, "best.safetensors"), monitor="val_accuracy",
                                         save_best_only=True, save_weights_only=True),
            kt.callbacks.CSVLogger(os.path.join(out, "log.csv")),
        ],
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test[:10], verbose=0).argmax(axis=-1)
    print(f"{len(history.epoch)} epochs; best val_accuracy {max(history.history['val_accuracy']):.3f}")
    print(f"test loss {loss:.3f}, test accuracy {accuracy:.3f}")
    print(f"first test digits {y_test[:10].tolist()} predicted as {predictions.tolist()}")
    print(f"log and checkpoint in {out}")
    if accuracy < 0.9:
        raise SystemExit(f"unexpectedly low test accuracy {accuracy:.3f}")
    assert np.isfinite(loss)


if __name__ == "__main__":
    main()
