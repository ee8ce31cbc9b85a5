"""`kt.utils.text_dataset_from_directory`: Keras's text folder reader, without TensorFlow.

The same files in the same order and split as Keras; each batch is a list of Python strings (torch
has no string tensor), with labels as torch tensors.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

from .file_dataset import check_format, datasets_from_directory


def read_text(path: str, max_length: int | None) -> str:
    """A file's text (UTF-8), cut to its first `max_length` characters."""
    with open(path, "r", encoding="utf-8") as f:
        text = f.read()
    return text if max_length is None else text[:max_length]


def text_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    format: str = "torch",
    verbose: bool = True,
    *,
    num_workers: int | None = 0,
) -> Any:
    """Batches of texts (and labels) from a folder of class sub-folders of `.txt` files, as a DataLoader.

    Args:
        directory: the folder; with labels="inferred" each sub-folder holds one class's `.txt` files.
        labels: "inferred", None (texts only), or one integer label per file in sorted path order.
        label_mode: "int", "categorical", "binary" or None (as in `image_dataset_from_directory`).
        class_names: with labels="inferred", the sub-folders to read, in label order.
        batch_size: samples per batch; None yields single samples.
        max_length: keep only the first `max_length` characters of each text.
        shuffle: shuffle the file list (Keras's seeded order) and the samples every epoch.
        seed: seed of the shuffles and the split.
        validation_split: fraction of the files kept for validation.
        subset: "training", "validation" or "both" (returns `[training, validation]`).
        follow_links: also walk sub-folders reached through symbolic links.
        format: "torch" (the default here); Keras's "tf" and "grain" raise.
        verbose: print how many files and classes were found.
        num_workers: worker processes reading the files (default 0: reading text is cheap).

    Returns:
        A DataLoader yielding lists of strings, or `(texts, labels)` pairs; `class_names` and
        `file_paths` attributes as Keras's dataset has.
    """
    caller = "text_dataset_from_directory"
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 0):
        raise ValueError(f"{caller}: `max_length` must be a non-negative integer or None, received {max_length!r}.")
    check_format(caller, format)
    return datasets_from_directory(
        caller, directory, labels=labels, label_mode=label_mode, class_names=class_names, formats=(".txt",),
        load=functools.partial(read_text, max_length=max_length), batch_size=batch_size, shuffle=shuffle, seed=seed,
        validation_split=validation_split, subset=subset, follow_links=follow_links, verbose=verbose,
        num_workers=num_workers, pin_memory=False)
