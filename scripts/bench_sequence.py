"""Speed of kerastorch's sequence layers vs hand-written torch twins (and Keras 3): LSTM, GRU, attention.

Each case builds the kerastorch model, a torch twin with the same weights and math (`nn.LSTM`,
`nn.GRU`, a hand-written multi-head SDPA block) and, when installed, the same Keras 3 model; outputs
are checked equal, then forward (inference) and fit-step (forward, MSE loss, backward, SGD step)
times are measured over alternating rounds in one process, and the ratios to torch are printed.

    python scripts/bench_sequence.py [--rounds 9] [--only lstm,gru,attention] [--no-keras] [--threads 1] [--cpu-time]

On a loaded machine, `--threads 1 --cpu-time` times each side by the CPU time of the calling thread
(all of torch's work with one thread), so waiting for a core does not count.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_forward  # noqa: E402
from bench_forward import compare  # noqa: E402  (the shared alternating-rounds timer)

import kerastorch as kt  # noqa: E402

BATCH, STEPS, FEATURES, UNITS, HEADS = 32, 50, 32, 64, 4


class RecurrentTwin(nn.Module):
    """`nn.LSTM`/`nn.GRU` then a linear head on the last output: what a torch user writes."""

    def __init__(self, kind: type):
        super().__init__()
        self.rnn = kind(FEATURES, UNITS, batch_first=True)
        self.head = nn.Linear(UNITS, 10)

    def forward(self, x):
        return self.head(self.rnn(x)[0][:, -1])


def lstm_case():
    model = kt.Sequential([kt.Input((STEPS, FEATURES)), kt.layers.LSTM(UNITS), kt.layers.Dense(10)])
    twin = RecurrentTwin(nn.LSTM)
    cell, dense = model.layers[0].cell, model.layers[1]
    with torch.no_grad():
        twin.rnn.weight_ih_l0.copy_(cell.kernel.T)
        twin.rnn.weight_hh_l0.copy_(cell.recurrent_kernel.T)
        twin.rnn.bias_ih_l0.copy_(cell.bias)
        twin.rnn.bias_hh_l0.zero_()
        twin.head.weight.copy_(dense.kernel.T)
        twin.head.bias.copy_(dense.bias)
    return model, twin, lambda keras: keras.Sequential(
        [keras.Input((STEPS, FEATURES)), keras.layers.LSTM(UNITS), keras.layers.Dense(10)])


def gru_case():
    model = kt.Sequential([kt.Input((STEPS, FEATURES)), kt.layers.GRU(UNITS), kt.layers.Dense(10)])
    twin = RecurrentTwin(nn.GRU)
    cell, dense = model.layers[0].cell, model.layers[1]
    with torch.no_grad():  # the cell's parameters hold torch's gate order (get_weights gives Keras's)
        twin.rnn.weight_ih_l0.copy_(cell.kernel.T)
        twin.rnn.weight_hh_l0.copy_(cell.recurrent_kernel.T)
        twin.rnn.bias_ih_l0.copy_(cell.bias[0])
        twin.rnn.bias_hh_l0.copy_(cell.bias[1])
        twin.head.weight.copy_(dense.kernel.T)
        twin.head.bias.copy_(dense.bias)
    return model, twin, lambda keras: keras.Sequential(
        [keras.Input((STEPS, FEATURES)), keras.layers.GRU(UNITS), keras.layers.Dense(10)])


class AttentionTwin(nn.Module):
    """Hand-written multi-head self-attention (SDPA), mean pooling and a linear head."""

    def __init__(self):
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(FEATURES, FEATURES) for _ in range(3))
        self.out = nn.Linear(FEATURES, FEATURES)
        self.head = nn.Linear(FEATURES, 10)

    def forward(self, x):
        b, t, _ = x.shape

        def heads(projection):
            return projection(x).view(b, t, HEADS, FEATURES // HEADS).transpose(1, 2)

        attended = F.scaled_dot_product_attention(heads(self.q), heads(self.k), heads(self.v))
        attended = self.out(attended.transpose(1, 2).reshape(b, t, FEATURES))
        return self.head(attended.mean(1))


def attention_case():
    def make(lib):
        inputs = lib.Input((STEPS, FEATURES))
        attended = lib.layers.MultiHeadAttention(HEADS, FEATURES // HEADS)(inputs, inputs)
        return lib.Model(inputs, lib.layers.Dense(10)(lib.layers.GlobalAveragePooling1D()(attended)))

    model = make(kt)
    twin = AttentionTwin()
    mha = model.layers[1]
    with torch.no_grad():
        for name, linear in (("query", twin.q), ("key", twin.k), ("value", twin.v)):
            dense = getattr(mha, f"{name}_dense")
            linear.weight.copy_(dense.kernel.reshape(FEATURES, FEATURES).T)
            linear.bias.copy_(dense.bias.reshape(-1))
        twin.out.weight.copy_(mha.output_dense.kernel.reshape(FEATURES, FEATURES).T)
        twin.out.bias.copy_(mha.output_dense.bias)
        twin.head.weight.copy_(model.layers[-1].kernel.T)
        twin.head.bias.copy_(model.layers[-1].bias)
    return model, twin, make


CASES = {"lstm": lstm_case, "gru": gru_case, "attention": attention_case}


def fit_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def forward(model: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        with torch.no_grad():
            model(x)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--cpu-time", action="store_true", help="time by thread CPU time (needs --threads 1)")
    args = parser.parse_args()
    if args.cpu_time:
        if args.threads != 1:
            parser.error("--cpu-time measures the calling thread only; pass --threads 1 with it.")
        bench_forward.CLOCK = time.thread_time
    if args.threads:
        torch.set_num_threads(args.threads)
    keras = None
    if not args.no_keras:
        try:
            import keras
        except ImportError:
            keras = None
    torch.manual_seed(0)
    x, y = torch.randn(BATCH, STEPS, FEATURES), torch.randn(BATCH, 10)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; batch {BATCH}, {STEPS} steps, "
          f"{FEATURES} features, {UNITS} units, {HEADS} heads")
    for name in args.only.split(","):
        model, twin, make_keras = CASES[name]()
        model.train()
        twin.train()
        torch.testing.assert_close(model(x), twin(x), rtol=1e-4, atol=1e-5)
        sides = {"torch": twin, "kerastorch": model}
        if keras is not None:
            reference = make_keras(keras)
            reference.set_weights(model.get_weights())
            torch.testing.assert_close(reference(x).detach(), model(x).detach(), rtol=1e-4, atol=1e-5)
            sides["keras"] = reference
        compare(f"{name} forward", {side: forward(m, x) for side, m in sides.items()}, args.rounds, 0)
        compare(f"{name} fit step", {side: fit_step(m, x, y) for side, m in sides.items()}, args.rounds, 0)


if __name__ == "__main__":
    main()
