"""The Keras "Sequential model" guide, run on kerastorch, ending with a real training run.

Walks through: building a stack with `|`, summaries before and after build, the conv-net
"add layers and print the summary" debugging workflow, feature extraction, freezing for transfer
learning, and finally a small CNN trained on the embedded 8x8 handwritten digits.

    python examples/sequential_model.py [--epochs 15]
"""

from __future__ import annotations

import argparse
import time

import torch

import kerastorch as kt
from kerastorch import layers
from kerastorch.datasets import digits


def section(title: str) -> None:
    print(f"\n=== {title}")


def guide_walkthrough() -> None:
    section("A stack built with |, built by its first call")
    model = kt.Sequential() | layers.Dense(2, activation="relu") | layers.Dense(3, activation="relu") | layers.Dense(4)
    try:
        model.weights
    except ValueError as error:
        print("Before the first call:", error)
    y = model(kt.ops.ones((1, 4)))
    print("Output shape:", tuple(y.shape), "| number of weights after calling the model:", len(model.weights))
    model.summary()

    section("Known input shape: built as layers are added")
    model = kt.Sequential(input_shape=(4,)) | layers.Dense(2, activation="relu", name="layer1")
    model.summary()

    section("Debugging a conv stack one block at a time")
    model = kt.Sequential() | kt.Input(shape=(250, 250, 3))
    model | layers.Conv2D(32, 5, strides=2, activation="relu") | layers.Conv2D(32, 3, activation="relu")
    model | layers.MaxPooling2D(3)
    model.summary()
    model | layers.Conv2D(32, 3, activation="relu") | layers.Conv2D(32, 3, activation="relu") | layers.MaxPooling2D(3)
    model | layers.Conv2D(32, 3, activation="relu") | layers.Conv2D(32, 3, activation="relu") | layers.MaxPooling2D(2)
    model.summary()
    model | layers.GlobalMaxPooling2D() | layers.Dense(10)

    section("Feature extraction from every layer")
    extractor = kt.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    features = extractor(torch.ones(1, 250, 250, 3))
    print("Feature shapes:", [tuple(f.shape) for f in features[:3]], "...")

    section("Transfer learning: freeze all but the last layer")
    model = kt.Sequential([kt.Input(shape=(784,))] + [layers.Dense(32, activation="relu") for _ in range(3)] + [layers.Dense(10)])
    kt.freeze_weights(model, to=-2)
    model.summary()


def train_digits(epochs: int) -> float:
    section("Training a small CNN on the embedded 8x8 digits")
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train, x_test = x_train[..., None], x_test[..., None]  # (N, 8, 8, 1), channels_last
    model = kt.Sequential(
        [
            kt.Input(shape=(8, 8, 1)),
            layers.Rescaling(1 / 16),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(10),
        ],
        name="digits_cnn",
    )
    model.summary()
    model.compile(
        optimizer="adam",
        loss=kt.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=epochs, validation_split=0.1, verbose=2)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Trained {epochs} epochs in {seconds:.1f} s; test loss {loss:.3f}, test accuracy {accuracy:.3f}")
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    guide_walkthrough()
    train_digits(args.epochs)


if __name__ == "__main__":
    main()
