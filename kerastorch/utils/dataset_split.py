"""`kt.utils.split_dataset`: Keras's left/right split of arrays or a torch Dataset.

Sizes are rounded and checked as Keras does. With `shuffle=True` the samples are picked by the
permutation `torch.utils.data.random_split` draws from a generator seeded with `seed`, as in Keras's
torch backend, so the same seed picks the same samples. Without shuffling the left part is the first
samples and the right part the last ones, as documented (Keras's torch backend shuffles even then,
from the global generator). A DataLoader of single samples (e.g. from `image_dataset_from_directory`)
splits into two DataLoaders with its batch size and workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset


def _sizes(left: Any, right: Any, total: int) -> tuple[int, int]:
    """Keras's rules for `left_size`/`right_size` (fractions in (0, 1) or counts in (0, total))."""
    for name, value in (("left_size", left), ("right_size", right)):
        if value is not None and type(value) not in (int, float):
            raise TypeError(f"split_dataset: `{name}` must be an int, a float or None, received "
                            f"{type(value).__name__} ({value!r}).")
    if left is None and right is None:
        raise ValueError("split_dataset: pass `left_size` or `right_size` (or both), received neither.")
    for name, value in (("left_size", left), ("right_size", right)):
        if (type(value) is int and not 0 < value < total) or (type(value) is float and not 0 < value < 1):
            raise ValueError(f"split_dataset: `{name}` must be a positive integer smaller than {total} (the number "
                             f"of samples) or a float in (0, 1), received {name}={value!r}.")
    if type(left) is float and type(right) is float and left + right > 1:
        raise ValueError(f"split_dataset: left_size + right_size must not exceed 1, received {left} + {right}.")
    left_n = round(left * total) if type(left) is float else left
    right_n = round(right * total) if type(right) is float else right
    left_n = total - right_n if left_n is None else left_n
    right_n = total - left_n if right_n is None else right_n
    if left_n + right_n > total:
        raise ValueError(f"split_dataset: the two sizes ({left_n} + {right_n}) exceed the {total} samples.")
    if left_n == 0 or right_n == 0:
        side = "left" if left_n == 0 else "right"
        raise ValueError(f"split_dataset: with {total} samples, left_size={left!r} and right_size={right!r} leave the "
                         f"{side} split empty; adjust the sizes.")
    return int(left_n), int(right_n)


def _as_dataset(dataset: Any) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, (np.ndarray, torch.Tensor)):
        arrays = [dataset]
    elif isinstance(dataset, (list, tuple)) and dataset:
        arrays = list(dataset)
    else:
        raise TypeError(f"split_dataset expects a torch Dataset, a DataLoader of single samples, an array or a "
                        f"non-empty list/tuple of arrays, received {type(dataset).__name__}.")
    tensors = []
    for i, array in enumerate(arrays):
        if not isinstance(array, (np.ndarray, torch.Tensor)):
            raise TypeError(f"split_dataset expects arrays or tensors, received {type(array).__name__} at index {i}.")
        tensors.append(array if isinstance(array, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(array)))
    if len({len(t) for t in tensors}) > 1:
        raise ValueError(f"split_dataset: all arrays must have the same number of samples, received lengths "
                         f"{[len(t) for t in tensors]}.")
    return TensorDataset(*tensors)


def split_dataset(dataset: Any, left_size: int | float | None = None, right_size: int | float | None = None,
                  shuffle: bool = False, seed: int | None = None, preferred_backend: str | None = None) -> tuple:
    """Split `dataset` into a left and a right part (e.g. train / test).

    Args:
        dataset: a `torch.utils.data.Dataset`, a DataLoader of single samples, an array/tensor, or a
            list/tuple of arrays with the same number of samples.
        left_size: fraction in (0, 1) or number of samples in the left part; default: the rest.
        right_size: fraction or number of samples in the right part; default: the rest.
        shuffle: pick the samples at random (seeded by `seed`) rather than in order.
        seed: seed of the shuffle.
        preferred_backend: None or "torch" (the only backend here).

    Returns:
        `(left, right)`: `torch.utils.data.Subset`s (items are tuples of tensors for array input), or two
        DataLoaders when given a DataLoader.
    """
    if preferred_backend not in (None, "torch"):
        raise ValueError(f"split_dataset: kerastorch builds torch datasets only; `preferred_backend` must be None or "
                         f"'torch', received {preferred_backend!r}.")
    loader = dataset if isinstance(dataset, DataLoader) else None
    if loader is not None:
        if loader.batch_size is None or loader.batch_sampler is None:
            raise ValueError("split_dataset: a DataLoader is split through its dataset of single samples; this one "
                             "has no batch_size (custom batch sampler or unbatched); split its `.dataset` instead.")
        dataset = loader.dataset
    dataset = _as_dataset(dataset)
    total = len(dataset)
    left_n, right_n = _sizes(left_size, right_size, total)
    if shuffle:
        generator = torch.Generator()
        if seed is not None:
            generator.manual_seed(seed)
        else:
            generator.seed()
        # the permutation `random_split` draws, so a seed picks the samples Keras's torch backend picks
        order = torch.randperm(total, generator=generator).tolist()
        left, right = Subset(dataset, order[:left_n]), Subset(dataset, order[total - right_n:])
    else:
        left, right = Subset(dataset, range(left_n)), Subset(dataset, range(total - right_n, total))
    if loader is None:
        return left, right
    return tuple(_like(loader, part) for part in (left, right))


def _like(loader: DataLoader, dataset: Dataset) -> DataLoader:
    """A DataLoader over `dataset` with `loader`'s batching, workers and shuffling, and its class names."""
    shuffled = isinstance(loader.sampler, torch.utils.data.RandomSampler)
    workers = loader.num_workers
    out = DataLoader(dataset, batch_size=loader.batch_size, shuffle=shuffled, num_workers=workers,
                     collate_fn=loader.collate_fn, pin_memory=loader.pin_memory, drop_last=loader.drop_last,
                     persistent_workers=bool(workers) and loader.persistent_workers)
    for name in ("class_names",):
        if hasattr(loader, name):
            setattr(out, name, getattr(loader, name))
    return out

