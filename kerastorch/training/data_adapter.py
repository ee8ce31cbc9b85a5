"""Turn what `fit`/`evaluate`/`predict` receive into batches on the model's device.

In-memory data (numpy arrays, tensors, lists/dicts of them) is batched by indexing, the way a
hand-written loop would, with a fresh `torch.randperm` per epoch from torch's global generator (so
`torch.manual_seed` makes runs repeatable). Datasets, DataLoaders and Python generators are
iterated as they are. On CUDA, small in-memory data is copied to the device once; otherwise each
batch goes through pinned memory with a non-blocking copy.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset

from ..tree import flatten, map_structure
from ..utils.py_dataset import PyDataset, PyDatasetLoader
from .distributed import Shard, loss_scale, rank_slice, same_on_all_ranks

_ON_DEVICE_LIMIT = 2 << 30  # in-memory data up to 2 GiB is moved to the GPU once


# --------------------------------------------------------------------------------- structures


def tree_map(fn: Callable, tree: Any) -> Any:
    """`fn` on every array of a batch structure; `None` entries (no y, no weights) stay `None`."""
    return map_structure(fn, tree, none_is_leaf=False)


def tree_leaves(tree: Any) -> list[Any]:
    """The arrays of a batch structure (dicts by sorted key, as everywhere), without `None` entries."""
    return [leaf for leaf in flatten(tree) if leaf is not None]


def to_tensor(value: Any) -> torch.Tensor:
    """numpy/lists to tensors; float64 becomes float32 (Keras's floatx), other dtypes are kept."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.dtype == torch.float64 else value
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    if array.dtype == object:
        raise TypeError(f"Expected numeric arrays or tensors as model data, received an object array {value!r:.80}.")
    return torch.from_numpy(np.ascontiguousarray(array))


def unpack(batch: Any) -> tuple[Any, Any, Any]:
    """Keras's rule: a tuple/list of 1-3 items is (x, y, sample_weight); anything else is x."""
    if isinstance(batch, (list, tuple)) and 1 <= len(batch) <= 3:
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


def num_samples(tree: Any) -> int:
    leaves = tree_leaves(tree)
    if not leaves:
        raise ValueError("No data given: pass x (and y) as arrays, tensors, a Dataset or a DataLoader.")
    return _common_size(leaves)


def _common_size(arrays: list[Any]) -> int:
    sizes = {int(array.shape[0]) for array in arrays}
    if len(sizes) > 1:
        raise ValueError(
            f"All arrays passed as data must have the same number of samples, received sizes {sorted(sizes)}; "
            "check that x, y and sample_weight line up."
        )
    return sizes.pop()


def class_weights_for(y: torch.Tensor, class_weight: dict[int, float]) -> torch.Tensor:
    """Per-sample weights from a {class: weight} dict, with labels read as Keras reads them."""
    labels = y
    if labels.ndim > 1:
        labels = labels.argmax(dim=-1) if labels.shape[-1] != 1 else labels.squeeze(-1)
    labels = torch.round(labels.float()).long() if labels.is_floating_point() else labels.long()
    size = max(int(k) for k in class_weight) + 1
    table = torch.ones(size + 1, dtype=torch.float32)  # the extra last entry: classes not in the dict
    for key, value in class_weight.items():
        table[int(key)] = float(value)
    # no host sync: labels beyond the table (weight 1.0) are clamped onto its last entry
    return table.to(labels.device)[labels.clamp(0, size)]


def _move(value: Any, device: torch.device) -> Any:
    def move(t: torch.Tensor) -> torch.Tensor:
        if not isinstance(t, torch.Tensor) or t.device == device:
            return t
        if device.type == "cuda" and t.device.type == "cpu":
            if not t.is_pinned():
                t = t.pin_memory()
            return t.to(device, non_blocking=True)
        return t.to(device)

    return tree_map(move, value)


@dataclass
class Batch:
    """One step's data on this process, with what the loss and the trackers need to know."""

    x: Any
    y: Any
    sample_weight: torch.Tensor | None
    size: int  # samples on this process, padding included
    real: int  # real samples on this process
    loss_scale: float = 1.0  # makes DDP's gradient average match one process (1 when not distributed)
    mask: torch.Tensor | None = None  # 1 for real samples, 0 for padding (None: no padding)


# ------------------------------------------------------------------------------- array data


def padded_batch(x: Any, y: Any, w: Any, size: int, real: int, global_real: int, shard: Shard,
                 device: torch.device) -> Batch:
    """A rank's share of a global batch; padding samples (beyond `real`) get weight 0."""
    mask = None
    if real < size:
        mask = torch.zeros(size, dtype=torch.float32)
        mask[:real] = 1.0
        mask = mask.to(device)
        w = mask if w is None else w * mask
    return Batch(x, y, w, size, real, loss_scale(size, global_real, shard), mask)


def epoch_order(n: int, batch_size: int, shuffle: bool | str) -> torch.Tensor:
    """One epoch's sample order: a permutation, or with `shuffle="batch"` (as Keras's torch backend)
    the contiguous full batches in a random order, the partial batch (if any) last."""
    if shuffle != "batch":
        return torch.randperm(n)
    full = n // batch_size
    blocks = (torch.randperm(full)[:, None] * batch_size + torch.arange(batch_size)).reshape(-1)
    return torch.cat([blocks, torch.arange(full * batch_size, n)])


class ArrayAdapter:
    """In-memory data batched by index: what a hand-written training loop does."""

    def __init__(self, x: Any, y: Any, sample_weight: Any, batch_size: int, shuffle: bool | str,
                 device: torch.device, shard: Shard = Shard(), steps: int | None = None,
                 class_weight: dict | None = None, contiguous_shards: bool = False):
        if _single_arrays(x, y):
            self.x, self.y = to_tensor(x), None if y is None else to_tensor(y)  # one array each: no tree walks
            self.n = _common_size([self.x] if self.y is None else [self.x, self.y])
        else:
            self.x, self.y = tree_map(to_tensor, x), tree_map(to_tensor, y)
            self.n = num_samples([self.x, self.y])
        self.sample_weight = None if sample_weight is None else to_tensor(sample_weight).float()
        if self.sample_weight is not None and self.sample_weight.shape[0] != self.n:
            raise ValueError(
                f"sample_weight has {self.sample_weight.shape[0]} entries but the data has {self.n} samples; "
                "pass one weight per sample."
            )
        if class_weight:
            if self.y is None or not isinstance(self.y, torch.Tensor):
                raise ValueError("class_weight needs a single target array y; use sample_weight for other targets.")
            weights = class_weights_for(self.y, class_weight)
            self.sample_weight = weights if self.sample_weight is None else self.sample_weight * weights
        self.batch_size = int(batch_size)
        self.shuffle = shuffle if shuffle == "batch" else bool(shuffle)
        self.device = device
        self.shard = shard
        self.contiguous_shards = contiguous_shards
        self._global_steps = math.ceil(self.n / self.batch_size)
        self.steps = self._global_steps if steps is None else min(int(steps), self._global_steps)
        self._on_device = False
        self._single = isinstance(self.x, torch.Tensor) and (self.y is None or isinstance(self.y, torch.Tensor))
        self._in_place = all(t.device == device for t in (
            [t for t in (self.x, self.y, self.sample_weight) if t is not None] if self._single
            else tree_leaves([self.x, self.y, self.sample_weight])))
        if device.type == "cuda":
            nbytes = sum(t.numel() * t.element_size() for t in tree_leaves([self.x, self.y, self.sample_weight]))
            free = torch.cuda.mem_get_info(device)[0]
            if nbytes <= min(_ON_DEVICE_LIMIT, free // 4):
                self.x, self.y, self.sample_weight = _move((self.x, self.y, self.sample_weight), device)
                self._on_device = True

    def first_x(self) -> Any:
        return _move(tree_map(lambda t: t[:2], self.x), self.device)

    def _take(self, index: torch.Tensor | slice) -> tuple[Any, Any, Any]:
        if self._single:  # one x array (and y, weights): plain indexing, as a hand-written loop does
            if isinstance(index, slice):
                parts = (self.x[index], None if self.y is None else self.y[index],
                         None if self.sample_weight is None else self.sample_weight[index])
            else:
                parts = (self.x.index_select(0, index), None if self.y is None else self.y.index_select(0, index),
                         None if self.sample_weight is None else self.sample_weight.index_select(0, index))
            if self._on_device or self._in_place:
                return parts
            return _move(parts, self.device)
        take = (lambda t: t[index]) if isinstance(index, slice) else (lambda t: t.index_select(0, index))
        parts = tree_map(take, (self.x, self.y, self.sample_weight))
        return parts if self._on_device else _move(parts, self.device)

    def __iter__(self) -> Iterator[Batch]:
        if self.shard.active and self.contiguous_shards:
            return self._contiguous_epoch()
        order = epoch_order(self.n, self.batch_size, self.shuffle) if self.shuffle else None
        if order is not None and self.shard.active:
            order = same_on_all_ranks(order)
        if order is not None and self._on_device:
            order = order.pin_memory().to(self.device, non_blocking=True)
        if self._single and not self.shard.active and (self._on_device or self._in_place):
            return self._plain_epoch(order)
        return self._indexed_epoch(order)

    def _indexed_epoch(self, order: torch.Tensor | None) -> Iterator[Batch]:
        """The general epoch: any structure, moved to the device per batch, sharded across ranks."""
        for step in range(self.steps):
            start, stop = step * self.batch_size, min((step + 1) * self.batch_size, self.n)
            if not self.shard.active:
                index = slice(start, stop) if order is None else order[start:stop]
                x, y, w = self._take(index)
                yield Batch(x, y, w, stop - start, stop - start)
                continue
            indices = torch.arange(start, stop) if order is None else order[start:stop].cpu()
            mine, real = rank_slice(indices, self.shard)
            x, y, w = self._take(mine.to(self.device) if self._on_device else mine)
            yield padded_batch(x, y, w, len(mine), real, stop - start, self.shard, self.device)

    def plain_x_batches(self) -> Iterator[torch.Tensor] | None:
        """Prediction's batches as bare `x` slices when an epoch is plain slicing (one array, already on
        the device, one process, no shuffle); None otherwise."""
        if not (self._single and not self.shard.active and not self.shuffle and (self._on_device or self._in_place)):
            return None
        x, size = self.x, self.batch_size
        return (x[start:start + size] for start in range(0, min(self.steps * size, self.n), size))

    def _plain_epoch(self, order: torch.Tensor | None) -> Iterator[Batch]:
        """One array each, already on the device, one process: the slices a hand-written loop takes."""
        x, y, w, size, n = self.x, self.y, self.sample_weight, self.batch_size, self.n
        for start in range(0, min(self.steps * size, n), size):
            stop = min(start + size, n)
            if order is None:
                yield Batch(x[start:stop], None if y is None else y[start:stop],
                            None if w is None else w[start:stop], stop - start, stop - start)
            else:
                index = order if stop - start == n else order[start:stop]  # one batch: the whole order
                yield Batch(x.index_select(0, index), None if y is None else y.index_select(0, index),
                            None if w is None else w.index_select(0, index), stop - start, stop - start)

    def _contiguous_epoch(self) -> Iterator[Batch]:
        """Prediction under DDP: each rank takes one contiguous block, so gathering keeps the order."""
        per = math.ceil(self.n / self.shard.world_size)
        begin = self.shard.rank * per
        end = min(begin + per, self.n)
        indices = torch.arange(begin, end)
        if len(indices) < per:  # pad with the first sample; the padding is trimmed after gathering
            indices = torch.cat([indices, torch.zeros(per - len(indices), dtype=torch.long)])
        for start in range(0, per, self.batch_size):
            part = indices[start:start + self.batch_size]
            x, y, w = self._take(part.to(self.device) if self._on_device else part)
            yield Batch(x, y, w, len(part), len(part))


# ------------------------------------------------------------------------------ other inputs


class _Indexed(Dataset):
    """A map-style dataset read through an index plan (used to shard a Dataset across ranks)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def __len__(self) -> int:
        return len(self.dataset)


class IterableAdapter:
    """Datasets, DataLoaders and generators: each item is a batch (or a sample for Datasets)."""

    def __init__(self, data: Any, batch_size: int | None, shuffle: bool, device: torch.device,
                 shard: Shard = Shard(), steps: int | None = None, class_weight: dict | None = None):
        self.device = device
        self.shard = shard
        self.class_weight = class_weight
        self._plan_dataset: Dataset | None = None
        self._loader_kwargs: dict[str, Any] = {}
        self._peeked: list[Any] = []
        if isinstance(data, DataLoader):
            if shard.active and _is_map_style(data.dataset) and data.batch_size is not None:
                self._plan_from(data.dataset, data.batch_size,
                                isinstance(data.sampler, torch.utils.data.RandomSampler),
                                collate_fn=data.collate_fn, num_workers=data.num_workers, pin_memory=data.pin_memory)
            self.source: Any = data
        elif isinstance(data, Dataset) and _is_map_style(data):
            self._plan_from(data, batch_size or 32, shuffle)
            self.source = None
        elif isinstance(data, IterableDataset):
            self.source = DataLoader(data, batch_size=batch_size or 32)
        elif hasattr(data, "__iter__") or hasattr(data, "__next__"):
            self.source = data
        else:
            raise TypeError(
                f"Unsupported data of type {type(data).__name__}; pass numpy arrays, tensors, a "
                "torch Dataset or DataLoader, or a generator of (x, y) batches."
            )
        self._iterator = data if hasattr(data, "__next__") else None  # generators are consumed across epochs
        length = None
        if self._plan_dataset is not None:
            length = math.ceil(len(self._plan_dataset) / self._batch_size)
        elif self._iterator is None:
            try:
                length = len(self.source)
            except TypeError:
                length = None
        self.steps = steps if steps is not None else length
        if steps is not None and length is not None:
            self.steps = min(int(steps), length)

    def _plan_from(self, dataset: Dataset, batch_size: int, shuffle: bool, **loader_kwargs: Any) -> None:
        self._plan_dataset = dataset
        self._batch_size = int(batch_size)
        self._shuffle = shuffle if shuffle == "batch" else bool(shuffle)
        self._loader_kwargs = {k: v for k, v in loader_kwargs.items() if v is not None}

    def _planned_epoch(self) -> Iterator[tuple[Any, int, int, int]]:
        n = len(self._plan_dataset)
        order = epoch_order(n, self._batch_size, self._shuffle) if self._shuffle else torch.arange(n)
        if self._shuffle and self.shard.active:
            order = same_on_all_ranks(order)
        plan = []
        for start in range(0, n, self._batch_size):
            indices = order[start:start + self._batch_size]
            mine, real = rank_slice(indices, self.shard)
            plan.append((mine.tolist(), real, len(indices)))
        loader = DataLoader(_Indexed(self._plan_dataset), batch_sampler=[p[0] for p in plan], **self._loader_kwargs)
        for batch, (indices, real, global_real) in zip(loader, plan):
            yield batch, len(indices), real, global_real

    def first_x(self) -> Any:
        if self._plan_dataset is not None:
            collate = self._loader_kwargs.get("collate_fn") or torch.utils.data.default_collate
            batch = collate([self._plan_dataset[0]])
        else:
            try:
                if self._iterator is not None:
                    batch = next(self._iterator)
                    self._peeked.append(batch)
                elif isinstance(self.source, PyDatasetLoader):
                    batch = self.source.peek()  # not a pass over the data: no epoch hooks
                else:
                    batch = next(iter(self.source))
            except StopIteration:
                raise ValueError("The data produced no batches; pass a non-empty Dataset, DataLoader or generator.") from None
        x, _, _ = unpack(batch)
        return _move(tree_map(to_tensor, x), self.device)

    def _raw(self) -> Iterator[tuple[Any, int | None, int | None, int | None]]:
        if self._plan_dataset is not None:
            yield from self._planned_epoch()
            return
        if self._iterator is not None:
            while self._peeked:
                yield self._peeked.pop(0), None, None, None
            for batch in self._iterator:
                yield batch, None, None, None
            return
        for batch in self.source:
            yield batch, None, None, None

    def __iter__(self) -> Iterator[Batch]:
        # islice stops before reading a batch past `steps` (a generator keeps it for the next epoch)
        for batch, size, real, global_real in itertools.islice(self._raw(), self.steps):
            x, y, w = unpack(batch)
            x, y, w = _move(tree_map(to_tensor, (x, y, w)), self.device)
            if w is not None:
                w = w.float()
            if self.class_weight and y is not None:
                weights = class_weights_for(y, self.class_weight)
                w = weights if w is None else w * weights
            if size is None:
                size = real = num_samples(x)
                yield Batch(x, y, w, size, real)
                continue
            yield padded_batch(x, y, w, size, real, global_real, self.shard, self.device)


def _is_map_style(dataset: Any) -> bool:
    return isinstance(dataset, Dataset) and not isinstance(dataset, IterableDataset) and hasattr(dataset, "__len__")


def _single_arrays(x: Any, y: Any) -> bool:
    """One x array and at most one y array (tensors or numpy)."""
    return isinstance(x, (torch.Tensor, np.ndarray)) and (y is None or isinstance(y, (torch.Tensor, np.ndarray)))


def is_array_like(value: Any) -> bool:
    leaves = tree_leaves(value)
    return bool(leaves) and all(isinstance(v, (np.ndarray, torch.Tensor, list, np.generic, int, float))
                                for v in leaves)


def adapt(x: Any, y: Any = None, sample_weight: Any = None, *, batch_size: int | None, shuffle: bool,
          device: torch.device, shard: Shard = Shard(), steps: int | None = None,
          class_weight: dict | None = None, contiguous_shards: bool = False) -> ArrayAdapter | IterableAdapter:
    """The adapter for whatever `x` is (arrays vs Datasets/DataLoaders/generators)."""
    if _single_arrays(x, y):  # the common case, told apart without walking a structure
        return ArrayAdapter(x, y, sample_weight, batch_size or 32, shuffle, device, shard, steps, class_weight,
                            contiguous_shards)
    if isinstance(x, PyDataset):  # batches by index, shuffled in batch order like Keras
        x = PyDatasetLoader(x, shuffle)
    if isinstance(x, (Dataset, DataLoader)) or (not is_array_like(x) and x is not None and not isinstance(x, (dict, list, tuple))):
        if y is not None:
            raise ValueError(
                f"`y` must not be given when x is a {type(x).__name__}: the data should yield (x, y) batches."
            )
        if sample_weight is not None:
            raise ValueError(f"`sample_weight` must not be given when x is a {type(x).__name__}; yield (x, y, w).")
        return IterableAdapter(x, batch_size, shuffle, device, shard, steps, class_weight)
    return ArrayAdapter(x, y, sample_weight, batch_size or 32, shuffle, device, shard, steps, class_weight,
                        contiguous_shards)


def split_for_validation(x: Any, y: Any, sample_weight: Any, validation_split: float) -> tuple[tuple, tuple]:
    """Keras's split: the *last* `validation_split` fraction of the samples, taken before shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), received {validation_split!r}.")
    if not is_array_like(x):
        raise ValueError(
            f"validation_split is only supported for arrays and tensors, received {type(x).__name__}; "
            "pass validation_data instead."
        )
    n = num_samples(tree_map(to_tensor, x))
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at in (0, n):
        raise ValueError(
            f"validation_split={validation_split} leaves an empty training or validation set for {n} samples; "
            "use a different fraction or pass validation_data."
        )

    def cut(lo: int, hi: int | None) -> Callable:
        return lambda t: to_tensor(t)[lo:hi]

    train = tuple(tree_map(cut(0, split_at), part) for part in (x, y, sample_weight))
    val = tuple(tree_map(cut(split_at, None), part) for part in (x, y, sample_weight))
    return train, val
