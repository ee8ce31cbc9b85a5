"""Training and prediction speed of `fit`/`predict` vs a hand-written PyTorch loop (and Keras 3).

For the MLP (784-256-256-10, batch 128) and the CNN (2 x Conv+Pool on 32x32x3, batch 64) of
`bench_forward.py`, every side trains the same network on the same data with Adam (Keras's
epsilon) for one shuffled epoch; the hand-written loop indexes a `randperm` like `fit` does and sums
its loss on the device. Before timing, one unshuffled epoch from identical weights must end with
identical weights on both sides. Prints median seconds per epoch / per predict pass and the ratios
to the torch loop, measured in alternating rounds so machine noise hits every side alike.

The small-batch cases (MLP 32-64-64-1 regression at batch 8 and 16: fit, evaluate, predict and
a one-step `fit()` call) compare with a minimal loop of identical math (fused `mse_loss`).

    python scripts/bench_fit.py [--rounds 11] [--only mlp,cnn,small8,small16] [--threads 1]

Every side runs with the same thread count (one by default, see --threads).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import torch
import torch.nn.functional as F

import kerastorch as kt
from bench_forward import cnn_case, compare, mlp_case


def torch_fit(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
              batch_size: int, shuffle: bool = True) -> float:
    """The hand-written reference: one epoch, loss summed on the device and read once at the end."""
    model.train()
    n = len(x)
    order = torch.randperm(n) if shuffle else torch.arange(n)
    total = torch.zeros(())
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        xb, yb = x[index], y[index]
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(index)
    model.eval()
    return float(total) / n


def torch_predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()


def check_same_training(model: kt.Model, reference: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                        batch_size: int) -> None:
    """One unshuffled epoch from the same weights must give the same weights on both sides.

    Checked with SGD: Adam turns rounding-level gradient differences (the two sides multiply by
    differently laid-out weights) into learning-rate-sized steps, so it cannot be compared this way.
    """
    x, y = x[:4 * batch_size], y[:4 * batch_size]  # a few steps: later ReLU/max-pool flips amplify rounding
    model.compile(kt.optimizers.SGD(0.01), kt.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
    torch_fit(reference, torch.optim.SGD(reference.parameters(), lr=0.01), x, y, batch_size, shuffle=False)
    np.testing.assert_allclose(torch_predict(reference, x[:256], batch_size), model.predict(x[:256], verbose=0),
                               atol=1e-4, rtol=1e-4)


def run_case(title: str, make: Callable, samples: int, rounds: int, keras) -> None:
    model, reference, x_one, _, make_keras = make()
    batch_size = int(x_one.shape[0])
    x = torch.randn(samples, *x_one.shape[1:])
    y = torch.randint(0, 10, (samples,))
    check_same_training(model, reference, x, y, batch_size)

    model.compile(kt.optimizers.Adam(), kt.losses.SparseCategoricalCrossentropy(from_logits=True))
    torch_optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3, eps=1e-7)
    sides_fit = {
        "torch": lambda: torch_fit(reference, torch_optimizer, x, y, batch_size),
        "kerastorch": lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0),
    }
    sides_predict = {
        "torch": lambda: torch_predict(reference, x, batch_size),
        "kerastorch": lambda: model.predict(x, batch_size=batch_size, verbose=0),
    }
    if keras is not None:
        keras_model = make_keras(keras)
        keras_model.set_weights(model.get_weights())
        keras_model.compile(keras.optimizers.Adam(), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        x_np, y_np = x.numpy(), y.numpy()
        sides_fit["keras"] = lambda: keras_model.fit(x_np, y_np, batch_size=batch_size, epochs=1, verbose=0)
        sides_predict["keras"] = lambda: keras_model.predict(x_np, batch_size=batch_size, verbose=0)
    for what, sides in (("fit epoch", sides_fit), ("predict", sides_predict)):
        for fn in sides.values():  # warm-up once; each timed call is a whole epoch or predict pass
            fn()
        compare(f"{title} {what}", sides, rounds, repeats=1, warm_up=False)


def torch_fit_mse(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                  batch_size: int) -> float:
    """The minimal hand-written regression epoch: shuffled batches, one fused MSE, loss summed on device."""
    model.train()
    n = len(x)
    order = torch.randperm(n)
    total = torch.zeros(())
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        loss = F.mse_loss(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(index)
    model.eval()
    return float(total) / n


def torch_evaluate_mse(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    model.eval()
    total = torch.zeros(())
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            total += F.mse_loss(model(xb), yb) * len(xb)
    return float(total) / len(x)


def small_case(batch_size: int, samples: int, rounds: int) -> None:
    """MLP 32-64-64-1 regression at a small batch: where per-step Python overhead shows."""
    model = kt.Sequential([kt.Input((32,)), kt.layers.Dense(64, activation="relu"),
                           kt.layers.Dense(64, activation="relu"), kt.layers.Dense(1)])
    reference = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                    torch.nn.ReLU(), torch.nn.Linear(64, 1))
    with torch.no_grad():
        for dense, linear in zip(model.layers, [reference[0], reference[2], reference[4]]):
            linear.weight.copy_(dense.kernel.T)
            linear.bias.copy_(dense.bias)
    x, y = torch.randn(samples, 32), torch.randn(samples, 1)
    model.compile(kt.optimizers.Adam(), "mse")
    torch_optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3, eps=1e-7)
    one_x, one_y = x[:batch_size], y[:batch_size]
    title = f"MLP 32-64-64-1 b{batch_size}"
    cases = {
        "fit epoch": {"torch": lambda: torch_fit_mse(reference, torch_optimizer, x, y, batch_size),
                      "kerastorch": lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)},
        "evaluate": {"torch": lambda: torch_evaluate_mse(reference, x, y, batch_size),
                     "kerastorch": lambda: model.evaluate(x, y, batch_size=batch_size, verbose=0)},
        "predict": {"torch": lambda: torch_predict(reference, x, batch_size),
                    "kerastorch": lambda: model.predict(x, batch_size=batch_size, verbose=0)},
        "one-step fit() call": {
            "torch": lambda: torch_fit_mse(reference, torch_optimizer, one_x, one_y, batch_size),
            "kerastorch": lambda: model.fit(one_x, one_y, batch_size=batch_size, epochs=1, verbose=0)},
    }
    for what, sides in cases.items():
        for fn in sides.values():
            fn()
        repeats = 0 if what == "one-step fit() call" else 1
        compare(f"{title} {what}", sides, rounds, repeats=repeats, warm_up=False)


CASES = {"mlp": ("MLP 784-256-256-10 b128", mlp_case, 2048), "cnn": ("CNN 2xConv+Pool 32x32 b64", cnn_case, 512)}
SMALL = {"small8": 8, "small16": 16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads; 1 (default) keeps timings stable on a shared machine, 0 = torch's choice")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import keras
    except ImportError:
        keras = None
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, keras "
          f"{keras.__version__ if keras else 'not installed'}")
    torch.manual_seed(0)
    for key, (title, make, samples) in CASES.items():
        if not args.only or key in args.only.split(","):
            run_case(title, make, samples, args.rounds, keras)
    for key, batch_size in SMALL.items():
        if not args.only or key in args.only.split(","):
            small_case(batch_size, 64 * batch_size, args.rounds)


if __name__ == "__main__":
    main()
