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
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch
from torch import nn

import kerastorch as kt
from kerastorch import layers


# Wall time by default; `time.thread_time` (this thread's CPU time) when the machine is shared: with
# one torch thread all the work runs on the calling thread, and time spent waiting for a core is left out.
CLOCK = time.perf_counter


def timed(fn: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """Seconds per call, averaged over `repeats` calls (after one warm-up call unless told not to)."""
    if warm_up:
        fn()
    start = CLOCK()
    for _ in range(repeats):
        fn()
    return (CLOCK() - start) / repeats


def compare(name: str, sides: dict[str, Callable[[], object]], rounds: int, repeats: int,
            warm_up: bool = True) -> dict[str, float]:
    """Median seconds per side; each round times every side, in an order rotated round by round so
    that no side always follows the same neighbour (caches and allocator state left behind)."""
    samples: dict[str, list[float]] = {side: [] for side in sides}
    order = list(sides)
    if repeats <= 0:  # auto: about 0.1 s per timing, from one call of the first side
        repeats = max(1, round(0.1 / timed(sides[order[0]], 1)))
    for round_index in range(rounds):
        shift = round_index % len(order)
        for side in order[shift:] + order[:shift]:
            samples[side].append(timed(sides[side], repeats, warm_up))
    medians = {side: statistics.median(values) for side, values in samples.items()}
    line = f"{name:<36}" + "".join(f" {side} {medians[side] * 1e3:8.3f} ms" for side in sides)
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


def residual_case():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_functional import functional_residual_mlp

    model, reference = functional_residual_mlp()
    x = torch.randn(64, 256)

    def make_keras(keras):
        inputs = keras.Input((256,))
        hidden = keras.layers.Dense(512, activation="relu")(inputs)
        for _ in range(4):
            branch = keras.layers.Dense(512)(keras.layers.Dense(512, activation="relu")(hidden))
            hidden = keras.layers.Add()([hidden, branch])
        return keras.Model(inputs, keras.layers.Dense(10)(hidden))

    return model, reference, x, x, make_keras


class TorchAttentionPool(nn.Module):
    """The hand-written twin of the ops-node model: self-attention, residual, mean pool, head."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(64, 64)
        self.head = nn.Linear(64, 10)

    def forward(self, x):
        h = self.proj(x)
        weights = torch.softmax(h @ h.transpose(1, 2) / 8.0, dim=-1)
        pooled = (weights @ h + x).mean(dim=1)
        return self.head(torch.relu(pooled) * 2 - 1)


def ops_case():
    """A functional model whose graph is mostly `kt.ops` calls and Python operators (ten ops nodes)."""

    def build(lib):
        inputs = lib.Input((16, 64))
        h = lib.layers.Dense(64)(inputs)
        weights = lib.ops.softmax(lib.ops.matmul(h, lib.ops.transpose(h, (0, 2, 1))) / 8.0, axis=-1)
        pooled = lib.ops.mean(lib.ops.matmul(weights, h) + inputs, axis=1)
        return lib.Model(inputs, lib.layers.Dense(10)(lib.ops.relu(pooled) * 2 - 1))

    model, reference = build(kt), TorchAttentionPool()
    proj, head = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
    with torch.no_grad():
        for dense, linear in ((proj, reference.proj), (head, reference.head)):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)
    x = torch.randn(32, 16, 64)
    return model, reference, x, x, build


class TimmFeatures(nn.Module):
    """timm's legacy_xception without its head, fed the same NHWC tensor as a channels_last view."""

    def __init__(self):
        super().__init__()
        import timm

        self.net = timm.create_model("legacy_xception", pretrained=False, num_classes=0)

    def forward(self, x):
        return self.net.forward_features(x.permute(0, 3, 1, 2))


def xception_case():
    model = kt.applications.Xception(weights=None, include_top=False, input_shape=(299, 299, 3))
    x = torch.randn(8, 299, 299, 3)
    # Same architecture and parameter count, but timm's BatchNorm epsilon and pooling padding differ
    # from Keras's, so outputs are compared by shape only.
    return model, TimmFeatures(), x, x, lambda keras: keras.applications.Xception(
        weights=None, include_top=False, input_shape=(299, 299, 3)
    )


CASES = {
    "mlp": ("MLP 784-256-256-10 b128", mlp_case, True),
    "cnn": ("CNN 2xConv+Pool 32x32 b64", cnn_case, True),
    "residual": ("Functional residual MLP b64", residual_case, True),
    "ops": ("Functional with 10 ops nodes b32", ops_case, True),
    "xception": ("Xception no top 299 b8", xception_case, False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=0, help="calls per timing (0: about 0.1 s worth)")
    parser.add_argument("--only", default="", help=f"comma-separated case names: {','.join(CASES)}")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    try:
        import keras
    except ImportError:
        keras = None
    if args.threads:
        torch.set_num_threads(args.threads)
    cases = CASES
    selected = [c for c in cases if not args.only or c in args.only.split(",")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, keras "
          f"{keras.__version__ if keras else 'not installed'}")
    for key in selected:
        title, make, same_numbers = cases[key]
        model, reference, x, reference_x, make_keras = make()
        model.eval()
        reference.eval()
        with torch.inference_mode():
            ours, theirs = model(x), reference(reference_x)
            if same_numbers:
                torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
            else:
                assert ours.numel() == theirs.numel(), (ours.shape, theirs.shape)
            sides = {"torch": lambda: reference(reference_x), "kerastorch": lambda: model(x)}
            if keras is not None and make_keras is not None:
                keras_model = make_keras(keras)
                keras_model.set_weights(model.get_weights())
                np.testing.assert_allclose(
                    keras.ops.convert_to_numpy(keras_model(x, training=False)), ours.numpy(), atol=1e-4
                )
                sides["keras"] = lambda: keras_model(x, training=False)
            compare(title, sides, args.rounds, args.repeats)


if __name__ == "__main__":
    main()
