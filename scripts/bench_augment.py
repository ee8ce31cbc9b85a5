"""RandomFlip + RandomRotation + RandomZoom on a batch of images: kerastorch vs torchvision v2 vs Keras 3.

Rounds alternate between the contenders and the ratio is taken per round, then the median, so machine
load affects both sides of each ratio alike. kerastorch draws a flip/angle/zoom per image; torchvision's
v2 transforms draw one per call (per-image draws there would need a Python loop), so the reference does
the same arithmetic with less randomness. Both use fill_mode "constant" (v2's rotation has no reflect
fill); kerastorch's default "reflect" is timed too.

    python scripts/bench_augment.py [--batch 64] [--size 224] [--rounds 5] [--threads 2] [--no-keras]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-keras", action="store_true", help="skip Keras 3 (slow on CPU)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    import kerastorch as kt
    from torchvision.transforms import v2

    nhwc = torch.rand(args.batch, args.size, args.size, 3, device=device)
    nchw = nhwc.permute(0, 3, 1, 2).contiguous()

    def stack(fill_mode: str) -> kt.Sequential:
        model = kt.Sequential([kt.layers.RandomFlip("horizontal"), kt.layers.RandomRotation(0.1, fill_mode=fill_mode),
                               kt.layers.RandomZoom(0.2, fill_mode=fill_mode)])
        model(nhwc[:1])
        return model.to(device).train()

    ours, ours_reflect = stack("constant"), stack("reflect")
    reference = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomRotation(36.0, interpolation=v2.InterpolationMode.BILINEAR),
                            v2.RandomAffine(degrees=0.0, scale=(0.8, 1.2), interpolation=v2.InterpolationMode.BILINEAR)])
    contenders = {
        "kerastorch (constant)": lambda: ours(nhwc),
        "kerastorch (reflect)": lambda: ours_reflect(nhwc),
        "torchvision v2": lambda: reference(nchw),
    }
    if not args.no_keras:
        import keras

        keras_stack = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                                        keras.layers.RandomRotation(0.1, fill_mode="constant"),
                                        keras.layers.RandomZoom(0.2, fill_mode="constant")])
        contenders["Keras 3 (constant)"] = lambda: keras_stack(nhwc, training=True)

    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.no_grad():
        for fn in contenders.values():  # warm-up
            fn()
        sync()
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, fn in contenders.items():
                times[name].append(timed(lambda: (fn(), sync())))
    base = times["torchvision v2"]
    print(f"batch {args.batch}x{args.size}x{args.size}x3 on {device}, {args.threads} threads, {args.rounds} rounds")
    for name, values in times.items():
        ratio = statistics.median(t / b for t, b in zip(values, base))
        print(f"  {name:24s} median {statistics.median(values) * 1e3:9.1f} ms   ratio vs torchvision v2 {ratio:6.2f}")


if __name__ == "__main__":
    main()
