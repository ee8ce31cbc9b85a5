"""Graph building cost: functional build time per Dense layer on a 300-layer chain, and a
10,000-layer chain built, summarized, run and saved (no recursion limit anywhere on the way).

    python scripts/bench_graph.py [--rounds 7] [--long 10000]

Prints the median per-layer build time (layer creation, build and shape inference included) and
the part spent creating the layers alone, measured in alternating rounds.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch

import kerastorch as kt


def chain(depth: int, width: int = 16) -> kt.Model:
    x = inputs = kt.Input((width,))
    for _ in range(depth):
        x = kt.layers.Dense(width)(x)
    return kt.Model(inputs, x)


def layers_only(depth: int, width: int = 16) -> list:
    return [kt.layers.Dense(width) for _ in range(depth)]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--long", type=int, default=10_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    depth = 300
    chain(depth)  # warm-up
    builds, creations = [], []
    for _ in range(args.rounds):
        builds.append(timed(lambda: chain(depth)))
        creations.append(timed(lambda: layers_only(depth)))
    build, create = statistics.median(builds), statistics.median(creations)
    print(f"functional {depth}-Dense chain: {build / depth * 1e3:.3f} ms per layer "
          f"(creating the Dense layers alone: {create / depth * 1e3:.3f} ms, graph and shapes: "
          f"{(build - create) / depth * 1e3:.3f} ms)")
    start = time.perf_counter()
    model = chain(args.long)
    built = time.perf_counter() - start
    text = io.StringIO()
    summarized = timed(lambda: model.summary(print_fn=lambda line, *a, **k: text.write(line)))
    x = torch.randn(4, 16)
    ran = timed(lambda: model(x))
    with tempfile.TemporaryDirectory() as folder:
        saved = timed(lambda: model.save(os.path.join(folder, "long.keras")))
        loaded = timed(lambda: kt.models.load_model(os.path.join(folder, "long.keras")))
    print(f"{args.long}-layer chain: build {built:.1f} s, summary {summarized:.1f} s, forward {ran * 1e3:.0f} ms, "
          f".keras save {saved:.1f} s, load {loaded:.1f} s")


if __name__ == "__main__":
    main()
