"""Weight and model file speed and memory: `.weights.h5` and `.keras` vs `torch.save`/`torch.load`.

A 20M-parameter MLP (2000 inputs, five Dense(2000) layers) is saved and loaded by each side;
times are medians over alternating rounds, printed with their ratio to torch's. The load side of
torch is `model.load_state_dict(torch.load(path, weights_only=True))`, the same job `load_weights`
does. Extra peak memory (the peak resident set during the call minus the resident set before it,
measured in a fresh process per case via /proc's peak-RSS reset, after one call on a tiny model) is printed for kerastorch, torch
and Keras 3.

    python scripts/bench_files.py [--rounds 7] [--no-memory]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch

import kerastorch as kt
from bench_forward import compare

WIDTH, DEPTH = 2000, 5


def make_model(width: int = WIDTH) -> kt.Model:
    return kt.Sequential([kt.Input((width,))] + [kt.layers.Dense(width) for _ in range(DEPTH)])


def make_keras_model(width: int = WIDTH):
    import keras

    return keras.Sequential([keras.Input((width,))] + [keras.layers.Dense(width) for _ in range(DEPTH)])


def operations(folder: str, width: int = WIDTH) -> dict:
    """name -> (setup() -> state, run(state)) for each measured call."""
    paths = {kind: os.path.join(folder, f"bench{width}{kind}") for kind in (".pt", ".weights.h5", ".keras")}
    keras_paths = {kind: os.path.join(folder, f"keras_bench{width}{kind}") for kind in (".weights.h5", ".keras")}

    def ours():
        return make_model(width)

    def theirs():
        return make_keras_model(width)

    return {
        "torch.save": (ours, lambda m: torch.save(m.state_dict(), paths[".pt"])),
        "torch.load": (ours, lambda m: m.load_state_dict(torch.load(paths[".pt"], weights_only=True))),
        "kerastorch .weights.h5 save": (ours, lambda m: m.save_weights(paths[".weights.h5"])),
        "kerastorch .weights.h5 load": (ours, lambda m: m.load_weights(paths[".weights.h5"])),
        "kerastorch .keras save": (ours, lambda m: m.save(paths[".keras"])),
        "kerastorch .keras load": (ours, lambda m: kt.models.load_model(paths[".keras"])),
        "keras .weights.h5 save": (theirs, lambda m: m.save_weights(keras_paths[".weights.h5"])),
        "keras .weights.h5 load": (theirs, lambda m: m.load_weights(keras_paths[".weights.h5"])),
        "keras .keras save": (theirs, lambda m: m.save(keras_paths[".keras"])),
        "keras .keras load": (theirs, lambda m: __import__("keras").models.load_model(keras_paths[".keras"])),
    }


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_memory(name: str, folder: str) -> None:
    """Child process: print the extra peak RSS (MB) of one operation, after the same operation on a
    tiny model (what a process pays once: imports and first uses of library code, 2-12 MB, is not
    the call's memory)."""
    setup, run = operations(folder, width=8)[name]
    if name.endswith("load"):  # the tiny model's file
        save = operations(folder, width=8)[name.replace("load", "save")]
        save[1](save[0]())
    run(setup())
    setup, run = operations(folder)[name]
    state = setup()  # the file a load reads was written by the parent: no freed save buffers here
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark (Linux)
    before = _status("VmRSS")
    run(state)
    print((_status("VmHWM") - before) / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.child:
        measure_memory(args.child, args.folder)
        return
    with tempfile.TemporaryDirectory() as folder:
        ops = operations(folder)
        model = make_model()
        print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters, "
              f"{sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20:.0f} MB")
        for name in ("torch.save", "kerastorch .weights.h5 save", "kerastorch .keras save"):
            ops[name][1](model)  # files for the loads, and a warm-up
        for what in ("save", "load"):
            sides = {"torch": (lambda r=ops[f"torch.{what}"][1]: r(model))}
            for kind in (".weights.h5", ".keras"):
                run = ops[f"kerastorch {kind} {what}"][1]
                sides[kind] = (lambda r=run: r(model))
            compare(f"20M-parameter model {what}", sides, args.rounds, repeats=1, warm_up=True)
        if args.no_memory:
            return
        for name in ("keras .weights.h5 save", "keras .keras save"):
            setup, run = ops[name]
            run(setup())
        print("extra peak memory (MB, fresh process each):")
        for name in ops:
            result = subprocess.run([sys.executable, __file__, "--child", name, "--folder", folder],
                                    capture_output=True, text=True)
            value = result.stdout.strip().splitlines()[-1] if result.returncode == 0 else f"failed: {result.stderr[-200:]}"
            print(f"  {name:<30} {value if not value[0].isdigit() else f'{float(value):8.1f}'}", flush=True)


if __name__ == "__main__":
    main()
