"""`kt.utils.PyDataset` (alias `Sequence`): Keras 3's indexable batch source, read by `fit`/`evaluate`/`predict`.

A subclass returns whole batches from `__getitem__(index)`; `PyDatasetLoader` turns it into one
pass of batches per epoch: shuffled batch order when asked (as Keras shuffles batch indices), read
in this thread, by a thread pool (`workers > 1`), or by a `torch.utils.data.DataLoader` with
`batch_size=None` and `workers` processes (`use_multiprocessing=True`).
"""

from __future__ import annotations

import itertools
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import torch
from torch.utils.data import DataLoader


class PyDataset:
    """Base class for Python batch sources: implement `__len__` (or `num_batches`) and `__getitem__`.

    Args:
        workers: how many workers read batches in parallel (threads, or processes when
            `use_multiprocessing=True`); 1 reads them in the training loop's thread.
        use_multiprocessing: read batches in `workers` worker processes (a torch `DataLoader`);
            the subclass and its data must then be picklable.
        max_queue_size: how many batches may be read ahead of the training loop.

    `__getitem__(index)` returns `x`, `(x, y)` or `(x, y, sample_weight)` for batch `index`;
    `on_epoch_begin()` / `on_epoch_end()` run around every pass over the data.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PyDataset expects `{name}` to be a positive integer, received {value!r}.")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    def _setting(self, name: str, default: Any) -> Any:
        if not hasattr(self, name):  # a subclass that did not call super().__init__()
            warnings.warn(
                f"{type(self).__name__} should call `super().__init__(**kwargs)` in its constructor so that "
                "`workers`, `use_multiprocessing` and `max_queue_size` take effect; using the defaults.",
                stacklevel=3,
            )
            self._workers, self._use_multiprocessing, self._max_queue_size = 1, False, 10
        return getattr(self, name)

    @property
    def workers(self) -> int:
        return self._setting("_workers", 1)

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return self._setting("_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return self._setting("_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement `__getitem__(index)` returning a batch.")

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch (`len(self)`), or `None` for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__len__` or the `num_batches` property (None: endless)."
        )

    def __iter__(self) -> Iterator[Any]:
        indices = range(self.num_batches) if self.num_batches is not None else itertools.count()
        for index in indices:
            yield self[index]

    def on_epoch_begin(self) -> None:
        """Called before each pass over the data."""

    def on_epoch_end(self) -> None:
        """Called after each pass over the data (also when `steps` ended it early)."""


Sequence = PyDataset


class PyDatasetLoader:
    """One pass over a PyDataset per `iter()`, with its epoch hooks; `len()` is its batch count."""

    def __init__(self, dataset: PyDataset, shuffle: bool):
        self.dataset = dataset
        self.num_batches = dataset.num_batches
        if shuffle and self.num_batches is None:
            warnings.warn(f"shuffle=True is ignored for the endless {type(dataset).__name__}; "
                          "it should shuffle its own batches.", stacklevel=4)
        self.shuffle = bool(shuffle) and self.num_batches is not None

    def __len__(self) -> int:
        if self.num_batches is None:
            raise TypeError(f"{type(self.dataset).__name__} is endless (num_batches is None); pass `steps`.")
        return self.num_batches

    def peek(self) -> Any:
        """Batch 0, without running the epoch hooks (used to build an unbuilt model)."""
        return self.dataset[0]

    def _order(self) -> Any:
        if self.num_batches is None:
            return itertools.count()
        return torch.randperm(self.num_batches).tolist() if self.shuffle else range(self.num_batches)

    def _threaded(self, order: Any, workers: int, ahead: int) -> Iterator[Any]:
        """Batches read by a thread pool, at most `ahead` of them waiting, returned in order."""
        with ThreadPoolExecutor(workers) as pool:
            pending: deque = deque()
            indices = iter(order)
            try:
                for index in itertools.islice(indices, ahead):
                    pending.append(pool.submit(self.dataset.__getitem__, index))
                while pending:
                    batch = pending.popleft().result()
                    for index in itertools.islice(indices, 1):
                        pending.append(pool.submit(self.dataset.__getitem__, index))
                    yield batch
            finally:
                for future in pending:
                    future.cancel()

    def __iter__(self) -> Iterator[Any]:
        dataset = self.dataset
        workers, ahead = dataset.workers, max(dataset.max_queue_size, 1)
        dataset.on_epoch_begin()
        try:
            order = self._order()
            if dataset.use_multiprocessing:
                yield from DataLoader(dataset, batch_size=None, sampler=order, num_workers=workers,
                                      prefetch_factor=max(1, ahead // workers))
            elif workers > 1:
                yield from self._threaded(order, workers, ahead)
            else:
                for index in order:
                    yield dataset[index]
        finally:
            dataset.on_epoch_end()
