"""`kt.utils.pad_sequences`: ragged lists to one rectangular numpy array, as Keras pads them."""

from __future__ import annotations

from typing import Any

import numpy as np


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (or cut) each sequence to `maxlen` steps, giving an array `(len(sequences), maxlen, *step)`.

    Args:
        sequences: a list of sequences (lists or arrays, each step a scalar or an array).
        maxlen: the length to reach; `None` uses the longest sequence.
        dtype: the output dtype (`object` for variable-length strings).
        padding: `"pre"` or `"post"`: where the padding values go.
        truncating: `"pre"` or `"post"`: which end of a longer sequence is dropped.
        value: the padding value.
    """
    for argument, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f"pad_sequences expected `{argument}` to be 'pre' or 'post', received {choice!r}.")
    lengths, step_shape = [], None
    for index, sequence in enumerate(sequences):
        try:
            lengths.append(len(sequence))
        except TypeError as error:
            raise ValueError(
                f"pad_sequences expected a list of sequences, received a non-iterable at position {index}: "
                f"{sequence!r}; wrap single values in lists."
            ) from error
        if step_shape is None and len(sequence):
            step_shape = np.asarray(sequence).shape[1:]
    step_shape = step_shape or ()
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    textual = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not textual:
        raise ValueError(
            f"pad_sequences cannot pad dtype {dtype!r} with the string value {value!r}; "
            "pass dtype=object for variable-length strings."
        )
    padded = np.full((len(lengths), maxlen, *step_shape), value, dtype=dtype)
    if maxlen == 0:
        return padded
    for index, sequence in enumerate(sequences):
        if not len(sequence):
            continue
        kept = np.asarray(sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen], dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(
                f"pad_sequences expected every step to have shape {step_shape}, received {kept.shape[1:]} in "
                f"the sequence at position {index}."
            )
        if padding == "post":
            padded[index, : len(kept)] = kept
        else:
            padded[index, -len(kept):] = kept
    return padded
