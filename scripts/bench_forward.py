"""Forward (inference) speed of kerastorch models vs the same network hand-written in torch.nn.

Prints, per case, the median time of each implementation and the ratio kerastorch / torch (and
Keras 3 / torch when Keras is installed), measured in one process over alternating rounds so that
machine noise hits every side alike. The torch reference gets the same weights, and outputs are
checked equal before timing.

    python scripts/bench_forward.py [--rounds 15] [--only mlp,cnn,...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch
from torch import nn

import kerastorch as kt
from kerastorch import layers


def timed(fn: Callable[[], object], repeats: int) -> float:
    """Seconds per call, averaged over `repeats` calls after one warm-up call."""
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def compare(name: str, sides: dict[str, Callable[[], object]], rounds: int, repeats: int) -> dict[str, float]:
    """Median seconds per side, sides timed in turn within each round."""
    samples: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(rounds):
        for side, fn in sides.items():
            samples[side].append(timed(fn, repeats))
    medians = {side: statistics.median(values) for side, values in samples.items()}
    line = f"{name:<28}" + "".join(f" {side} {medians[side] * 1e3:8.3f} ms" for side in sides)
    reference = medians["torch"]
    ratios = "".join(f"  {side}/torch {medians[side] / reference:5.3f}" for side in sides if side != "torch")
    print(line + ratios, flush=True)
    return medians


# ------------------------------------------------------------------------------------------ models


def mlp_case():
    model = kt.Sequential(
        [kt.Input(shape=(784,)), layers.Dense(256, activation="relu"), layers.Dense(256, activation="relu"),
         layers.Dense(10)]
    )
    reference = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    with torch.no_grad():
        for dense, linear in zip(model.layers, [reference[0], reference[2], reference[4]]):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)
    x = torch.randn(128, 784)
    return model, reference, x, x, lambda keras: keras.Sequential(
        [keras.Input((784,)), keras.layers.Dense(256, activation="relu"), keras.layers.Dense(256, activation="relu"),
         keras.layers.Dense(10)]
    )


class TorchCNN(nn.Module):
    """The hand-written twin of the kerastorch CNN, taking the same NHWC tensor."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.dense = nn.Linear(64 * 6 * 6, 10)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)  # NHWC data, channels_last memory: torch's fast CPU/GPU path
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.dense(x.permute(0, 2, 3, 1).flatten(1))


def cnn_case():
    model = kt.Sequential(
        [kt.Input(shape=(32, 32, 3)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
         layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10)]
    )
    reference = TorchCNN()
    reference.load_state_dict(
        {"conv1.weight": model.layers[0].kernel, "conv1.bias": model.layers[0].bias,
         "conv2.weight": model.layers[2].kernel, "conv2.bias": model.layers[2].bias,
         "dense.weight": model.layers[5].kernel.T, "dense.bias": model.layers[5].bias}
    )
    x = torch.randn(64, 32, 32, 3)
    return model, reference, x, x, lambda keras: keras.Sequential(
        [keras.Input((32, 32, 3)), keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
         keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
         keras.layers.Dense(10)]
    )


CASES = {"mlp": ("MLP 784-256-256-10 b128", mlp_case), "cnn": ("CNN 2xConv+Pool 32x32 b64", cnn_case)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", default="", help="comma-separated case names")
    args = parser.parse_args()
    try:
        import keras
    except ImportError:
        keras = None
    cases = CASES
    selected = [c for c in cases if not args.only or c in args.only.split(",")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, keras "
          f"{keras.__version__ if keras else 'not installed'}")
    for key in selected:
        title, make = cases[key]
        model, reference, x, reference_x, make_keras = make()
        model.eval()
        reference.eval()
        with torch.inference_mode():
            torch.testing.assert_close(model(x), reference(reference_x), atol=1e-4, rtol=1e-4)
            sides = {"torch": lambda: reference(reference_x), "kerastorch": lambda: model(x)}
            if keras is not None and make_keras is not None:
                keras_model = make_keras(keras)
                keras_model.set_weights(model.get_weights())
                np.testing.assert_allclose(
                    keras.ops.convert_to_numpy(keras_model(x, training=False)), model(x).numpy(), atol=1e-4
                )
                sides["keras"] = lambda: keras_model(x, training=False)
            compare(title, sides, args.rounds, args.repeats)


if __name__ == "__main__":
    main()
