"""Augmentation layers on a batch of images: kerastorch vs torchvision v2 (vs Keras 3 for the first case).

Cases: "stack" is RandomFlip + RandomRotation + RandomZoom (target ratio <= 1.10 vs torchvision v2);
"color" is RandomColorJitter (brightness, contrast, saturation, hue) vs v2.ColorJitter; "perspective" is
RandomPerspective vs v2.RandomPerspective; "blur" is RandomGaussianBlur vs v2.GaussianBlur.

Rounds alternate between the contenders and the ratio is taken per round, then the median, so machine
load affects both sides of each ratio alike. kerastorch draws its parameters per image; torchvision's
v2 transforms draw one set per call (per-image draws there would need a Python loop), so the reference does
the same arithmetic with less randomness. The stack uses fill_mode "constant" (v2's rotation has no reflect
fill); kerastorch's default "reflect" is timed too.

    python scripts/bench_augment.py [--case stack color perspective blur] [--batch 64] [--size 224]
                                    [--rounds 5] [--threads 2] [--no-keras]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def contenders(case: str, nhwc: torch.Tensor, nchw: torch.Tensor, device: torch.device, with_keras: bool
               ) -> dict[str, Callable[[], object]]:
    """The timed calls of one case: kerastorch's layers (training mode) and the torchvision v2 reference."""
    import kerastorch as kt
    from torchvision.transforms import v2

    def ours(*layers) -> kt.Sequential:
        model = kt.Sequential(list(layers))
        model(nhwc[:1])
        return model.to(device).train()

    bilinear = v2.InterpolationMode.BILINEAR
    if case == "stack":
        stack = ours(kt.layers.RandomFlip("horizontal"), kt.layers.RandomRotation(0.1, fill_mode="constant"),
                     kt.layers.RandomZoom(0.2, fill_mode="constant"))
        reflect = ours(kt.layers.RandomFlip("horizontal"), kt.layers.RandomRotation(0.1),
                       kt.layers.RandomZoom(0.2))
        reference = v2.Compose([v2.RandomHorizontalFlip(), v2.RandomRotation(36.0, interpolation=bilinear),
                                v2.RandomAffine(degrees=0.0, scale=(0.8, 1.2), interpolation=bilinear)])
        calls = {"kerastorch (constant)": lambda: stack(nhwc), "kerastorch (reflect)": lambda: reflect(nhwc),
                 "torchvision v2": lambda: reference(nchw)}
        if with_keras:
            import keras

            keras_stack = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                                            keras.layers.RandomRotation(0.1, fill_mode="constant"),
                                            keras.layers.RandomZoom(0.2, fill_mode="constant")])
            calls["Keras 3 (constant)"] = lambda: keras_stack(nhwc, training=True)
        return calls
    if case == "color":
        jitter = ours(kt.layers.RandomColorJitter(value_range=(0, 1), brightness_factor=0.2, contrast_factor=0.2,
                                                  saturation_factor=(0.3, 0.7), hue_factor=0.1))
        reference = v2.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.4, hue=0.05)
        return {"kerastorch": lambda: jitter(nhwc), "torchvision v2": lambda: reference(nchw)}
    if case == "perspective":
        perspective = ours(kt.layers.RandomPerspective(factor=(1.0, 1.0), scale=0.5))
        reference = v2.RandomPerspective(distortion_scale=0.5, p=1.0, interpolation=bilinear)
        return {"kerastorch": lambda: perspective(nhwc), "torchvision v2": lambda: reference(nchw)}
    if case == "blur":
        blur = ours(kt.layers.RandomGaussianBlur(factor=(1.0, 1.0), kernel_size=5, sigma=(0.1, 1.0), value_range=(0, 1)))
        reference = v2.GaussianBlur(kernel_size=5, sigma=(0.1, 1.0))
        return {"kerastorch": lambda: blur(nhwc), "torchvision v2": lambda: reference(nchw)}
    raise ValueError(f"bench_augment: unknown case {case!r}; expected stack, color, perspective or blur.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", default=["stack", "color", "perspective", "blur"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-keras", action="store_true", help="skip Keras 3 (slow on CPU)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    nhwc = torch.rand(args.batch, args.size, args.size, 3, device=device)
    nchw = nhwc.permute(0, 3, 1, 2).contiguous()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    print(f"batch {args.batch}x{args.size}x{args.size}x3 on {device}, {args.threads} threads, {args.rounds} rounds")
    for case in args.case:
        calls = contenders(case, nhwc, nchw, device, with_keras=not args.no_keras)
        with torch.no_grad():
            for fn in calls.values():  # warm-up
                fn()
            sync()
            times: dict[str, list[float]] = {name: [] for name in calls}
            for _ in range(args.rounds):
                for name, fn in calls.items():
                    times[name].append(timed(lambda: (fn(), sync())))
        base = times["torchvision v2"]
        print(f"{case}:")
        for name, values in times.items():
            ratio = statistics.median(t / b for t, b in zip(values, base))
            print(f"  {name:24s} median {statistics.median(values) * 1e3:9.1f} ms   ratio vs torchvision v2 {ratio:6.2f}")


if __name__ == "__main__":
    main()
