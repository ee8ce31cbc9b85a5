"""What the `*_dataset_from_directory` functions share: Keras's file index and split, label encodings,
and the `torch.utils.data.DataLoader` that reads the files.

The index follows Keras exactly (sorted class folders, a sorted walk of each, one shuffle of the whole
list with `numpy.random.RandomState(seed)`, the validation subset cut from the end), so for the same
directory and seed the same files land in the same subset in the same order as in Keras. What Keras
then does with `tf.data` (decode in parallel, shuffle again every epoch, batch, prefetch) is a
DataLoader here: files decoded in worker processes, batches collated to torch tensors (in pinned memory
when a GPU is present), the sample order reshuffled every epoch by a generator seeded with `seed`.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler

LABEL_MODES = ("int", "categorical", "binary", None)


def check_format(caller: str, format: Any) -> None:
    """Keras's `format=` of the dataset readers: only "torch" (a DataLoader) is built here."""
    if format != "torch":
        if format in ("tf", "grain"):
            raise NotImplementedError(f"{caller}: format={format!r} returns a TensorFlow/Grain dataset, which "
                                      "kerastorch does not build; use the default format='torch' (a DataLoader).")
        raise ValueError(f"{caller}: `format` must be 'torch', received {format!r}.")


def check_arguments(caller: str, labels: Any, label_mode: Any, class_names: Any, validation_split: Any,
                    subset: Any, shuffle: bool, seed: Any, batch_size: Any) -> None:
    """Keras's argument checks, shared by the image, text and audio readers."""
    if not (labels is None or isinstance(labels, (list, tuple)) or (isinstance(labels, str) and labels == "inferred")):
        raise ValueError(
            f"{caller}: `labels` should be 'inferred', None or a list/tuple of integer labels (one per file, in the "
            f"sorted order of the file paths), received labels={labels!r}."
        )
    if isinstance(labels, (list, tuple)) and class_names:
        raise ValueError(f"{caller}: `class_names` can only be passed with labels='inferred', received "
                         f"labels={labels!r} and class_names={class_names!r}.")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"{caller}: `label_mode` must be one of 'int', 'categorical', 'binary' or None, "
                         f"received label_mode={label_mode!r}.")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"{caller}: `batch_size` must be a positive integer or None (no batching), "
                         f"received batch_size={batch_size!r}.")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"{caller}: `validation_split` must be between 0 and 1, received {validation_split!r}.")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError(f"{caller}: `subset` and `validation_split` go together; received "
                         f"validation_split={validation_split!r} and subset={subset!r}.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"{caller}: `subset` must be 'training', 'validation' or 'both', received {subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{caller}: with `validation_split` and shuffle=True, pass a `seed` so that the training "
                         "and validation subsets do not overlap.")


def _valid_files(directory: str, follow_links: bool, formats: tuple[str, ...]) -> list[tuple[str, str]]:
    """(folder, file name) of every allowed file under `directory`, folders and names sorted as Keras walks."""
    found = []
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda entry: entry[0]):
        found.extend((root, name) for name in sorted(files) if name.lower().endswith(formats))
    return found


def index_directory(directory: str, labels: Any, formats: tuple[str, ...], class_names: Sequence[str] | None = None,
                    shuffle: bool = True, seed: int | None = None, follow_links: bool = False,
                    verbose: bool = True) -> tuple[list[str], Any, list[str] | None]:
    """Keras's `dataset_utils.index_directory`: `(file_paths, labels, class_names)` in Keras's order.

    Args:
        directory: the folder; with labels="inferred" each sub-folder is a class.
        labels: "inferred", None, or one integer label per file (in sorted path order).
        formats: allowed file name endings, lower case (".png", ".txt", ...).
        class_names: with "inferred", the classes to read and their order (default: sorted sub-folders).
        shuffle, seed: shuffle the list with `numpy.random.RandomState(seed)` (a random seed when None).
        follow_links: also walk folders reached through symbolic links.
        verbose: print how many files and classes were found.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Expected `directory` to be an existing folder, received {directory!r}; check the path.")
    if labels == "inferred":
        subdirs = [name.rstrip("/") for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"`class_names` must name sub-folders of {directory!r}: expected a subset of "
                                 f"{subdirs}, received class_names={list(class_names)!r}.")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("`class_names` can only be passed with labels='inferred' (with explicit labels the "
                             f"class names are the sorted labels), received labels={labels!r}.")
        subdirs = [""]
    file_names, file_labels = [], []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        base = os.path.basename(folder)
        for root, name in _valid_files(folder, follow_links, formats):
            file_names.append(os.path.join(base, os.path.relpath(os.path.join(root, name), folder)))
            file_labels.append(index)
    if labels == "inferred":
        labels = np.asarray(file_labels, dtype="int32")
        class_names = list(subdirs)
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(file_names):
            raise ValueError(f"Expected one label per file: `labels` has {len(labels)} entries but {len(file_names)} "
                             f"files were found in {directory!r}.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = list(labels)
    if verbose:
        if labels is None:
            print(f"Found {len(file_names)} files.")
        else:
            print(f"Found {len(file_names)} files belonging to {len(class_names)} classes.")
    file_paths = [os.path.join(directory, name) for name in file_names]
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(file_paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)  # the same permutation as the paths
    return file_paths, labels, class_names


def training_or_validation_split(samples: list, labels: Any, validation_split: float | None, subset: str | None,
                                 verbose: bool = True) -> tuple[list, Any]:
    """Keras's split: the validation subset is the last `int(validation_split * n)` samples."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        if verbose:
            print(f"Using {len(samples) - num_val} files for training.")
        keep = slice(None, -num_val)
    elif subset == "validation":
        if verbose:
            print(f"Using {num_val} files for validation.")
        keep = slice(-num_val, None)
    else:
        raise ValueError(f"`subset` must be 'training' or 'validation', received {subset!r}.")
    return samples[keep], None if labels is None else labels[keep]


def encode_labels(labels: Any, label_mode: str, num_classes: int) -> torch.Tensor:
    """Labels as Keras yields them: "int" int32 `(n,)`, "binary" float32 `(n, 1)`, "categorical" one-hot float32."""
    index = torch.as_tensor(np.asarray(labels, dtype="int64"))
    if label_mode == "binary":
        return index.to(torch.float32)[:, None]
    if label_mode == "categorical":
        return torch.nn.functional.one_hot(index, num_classes).to(torch.float32)
    return index.to(torch.int32)


class FileDataset(Dataset):
    """One sample per file: `load(path)`, paired with its label when there are labels."""

    def __init__(self, paths: list[str], load: Callable[[str], Any], labels: torch.Tensor | None = None):
        self.paths = list(paths)
        self.load = load
        self.labels = labels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        sample = self.load(self.paths[index])
        return sample if self.labels is None else (sample, self.labels[index])


def default_workers() -> int:
    """Worker processes for reading files: up to 4, never more than the CPUs."""
    return min(4, os.cpu_count() or 1)


def check_workers(num_workers: Any) -> None:
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"`num_workers` must be a non-negative integer, received num_workers={num_workers!r}.")


def make_loader(dataset: Dataset, batch_size: int | None, shuffle: bool, seed: int | None, num_workers: int,
                collate_fn: Callable | None = None, pin_memory: bool | None = None) -> DataLoader:
    """A DataLoader over `dataset`: reshuffled each epoch from a generator seeded with `seed` (so runs repeat)."""
    check_workers(num_workers)
    if shuffle:
        generator = torch.Generator()
        generator.manual_seed(int(seed) if seed is not None else int(torch.empty((), dtype=torch.int64).random_()))
        sampler = RandomSampler(dataset, generator=generator)
    else:
        sampler = SequentialSampler(dataset)
    kwargs: dict[str, Any] = {}
    if collate_fn is not None:
        kwargs["collate_fn"] = collate_fn
    if num_workers:
        kwargs.update(persistent_workers=True, prefetch_factor=2)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory, **kwargs)


def datasets_from_directory(caller: str, directory: Any, *, labels: Any, label_mode: Any, class_names: Any,
                            formats: tuple[str, ...], load: Callable[[str], Any], batch_size: int | None,
                            shuffle: bool, seed: int | None, validation_split: float | None, subset: str | None,
                            follow_links: bool, verbose: bool, num_workers: int | None,
                            collate_fn: Callable | None = None, pin_memory: bool | None = None) -> Any:
    """Index, split and wrap: one DataLoader, or `[training, validation]` for subset="both".

    Each loader carries Keras's `class_names` and `file_paths` attributes.
    """
    check_arguments(caller, labels, label_mode, class_names, validation_split, subset, shuffle, seed, batch_size)
    if num_workers is not None:
        check_workers(num_workers)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, labels, class_names = index_directory(directory, labels, formats, class_names=class_names, shuffle=shuffle,
                                                 seed=seed, follow_links=follow_links, verbose=verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f"{caller}: label_mode='binary' needs exactly 2 classes, received class_names={class_names}.")
    workers = default_workers() if num_workers is None else num_workers
    parts = [("training", shuffle), ("validation", False)] if subset == "both" else [(subset, shuffle)]
    loaders = []
    for part, shuffled in parts:
        part_paths, part_labels = training_or_validation_split(paths, labels, validation_split, part, verbose)
        if not part_paths:
            kind = f"{part} " if subset == "both" else ""
            raise ValueError(f"{caller}: no {kind}files found in {os.fspath(directory)!r} (allowed formats: "
                             f"{', '.join(formats)}); check the folder and `validation_split`.")
        encoded = None if label_mode is None else encode_labels(part_labels, label_mode, len(class_names))
        loader = make_loader(FileDataset(part_paths, load, encoded), batch_size, shuffled, seed,
                             min(workers, len(part_paths)), collate_fn, pin_memory)
        loader.class_names = class_names
        loader.file_paths = part_paths
        loaders.append(loader)
    return loaders if subset == "both" else loaders[0]
