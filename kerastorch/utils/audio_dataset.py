"""`kt.utils.audio_dataset_from_directory`: Keras's `.wav` folder reader, without TensorFlow.

Files are listed and split as Keras does; PCM WAV files are decoded with Python's `wave` module into
float32 `(samples, channels)` tensors in [-1, 1] (as `tf.audio.decode_wav`), cut or zero-padded to
`output_sequence_length`, or zero-padded to the longest clip of each batch.
"""

from __future__ import annotations

import functools
import wave
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import default_collate

from .file_dataset import datasets_from_directory

ALLOWED_FORMATS = (".wav",)
_PCM = {1: (np.uint8, 128.0, 128.0), 2: (np.dtype("<i2"), 0.0, 32768.0), 4: (np.dtype("<i4"), 0.0, 2.0 ** 31)}


def read_wav(path: str, sampling_rate: int | None = None, output_sequence_length: int | None = None) -> torch.Tensor:
    """A PCM WAV file as float32 `(samples, channels)` in [-1, 1], cut or zero-padded to `output_sequence_length`."""
    try:
        with wave.open(path, "rb") as f:
            width, channels, rate = f.getsampwidth(), f.getnchannels(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except wave.Error as error:
        raise ValueError(f"audio_dataset_from_directory: {path!r} is not a PCM WAV file ({error}).") from None
    if sampling_rate is not None and rate != sampling_rate:
        raise NotImplementedError(
            f"audio_dataset_from_directory: {path!r} is sampled at {rate} Hz but sampling_rate={sampling_rate}; "
            "kerastorch does not resample audio (Keras needs tensorflow-io for it): resample the files first."
        )
    if width == 3:  # 24-bit: widen each little-endian sample to 32 bits
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        samples = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        samples = np.where(samples >= 1 << 23, samples - (1 << 24), samples).astype(np.float32) / float(1 << 23)
    elif width in _PCM:
        dtype, offset, scale = _PCM[width]
        samples = (np.frombuffer(raw, dtype=dtype).astype(np.float32) - offset) / scale
    else:
        raise ValueError(f"audio_dataset_from_directory: {path!r} has {8 * width}-bit samples; expected 8, 16, 24 "
                         "or 32-bit PCM.")
    audio = torch.from_numpy(samples.reshape(-1, channels).copy())
    if output_sequence_length is not None:
        if audio.shape[0] >= output_sequence_length:
            audio = audio[:output_sequence_length]
        else:
            audio = torch.nn.functional.pad(audio, (0, 0, 0, output_sequence_length - audio.shape[0]))
    return audio


def _pad(clips: list[torch.Tensor]) -> torch.Tensor:
    longest = max(clip.shape[0] for clip in clips)
    return torch.stack([torch.nn.functional.pad(clip, (0, 0, 0, longest - clip.shape[0])) for clip in clips])


def _nested(clips: list[torch.Tensor]) -> torch.Tensor:
    return torch.nested.nested_tensor(clips, layout=torch.jagged)


def _collate(samples: list[Any], batch_clips: Any) -> Any:
    """Batch clips of different lengths (`batch_clips`), labels as usual."""
    if isinstance(samples[0], torch.Tensor):
        return batch_clips(samples)
    clips, labels = zip(*samples)
    return batch_clips(list(clips)), default_collate(list(labels))


def audio_dataset_from_directory(
    directory: Any,
    labels: Any = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    batch_size: int | None = 32,
    sampling_rate: int | None = None,
    output_sequence_length: int | None = None,
    ragged: bool = False,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    verbose: bool = True,
    *,
    num_workers: int | None = None,
) -> Any:
    """Batches of audio clips (and labels) from a folder of class sub-folders of `.wav` files, as a DataLoader.

    Args:
        directory: the folder; with labels="inferred" each sub-folder holds one class's `.wav` files.
        labels: "inferred", None (audio only), or one integer label per file in sorted path order.
        label_mode: "int", "categorical", "binary" or None (as in `image_dataset_from_directory`).
        class_names: with labels="inferred", the sub-folders to read, in label order.
        batch_size: samples per batch; None yields single samples.
        sampling_rate: the files' expected rate in Hz; a file at another rate raises (no resampling here).
        output_sequence_length: cut or zero-pad every clip to this many samples; without it, each batch
            is zero-padded to its longest clip.
        ragged: batch clips of different lengths as a jagged `torch.nested` tensor instead of padding.
        shuffle: shuffle the file list (Keras's seeded order) and the samples every epoch.
        seed: seed of the shuffles and the split.
        validation_split: fraction of the files kept for validation.
        subset: "training", "validation" or "both" (returns `(training, validation)`).
        follow_links: also walk sub-folders reached through symbolic links.
        verbose: print how many files and classes were found.
        num_workers: worker processes decoding the files (default: up to 4, one per CPU).

    Returns:
        A DataLoader yielding float32 `(batch, samples, channels)` clips, or `(clips, labels)` pairs,
        with `class_names` and `file_paths` attributes.
    """
    caller = "audio_dataset_from_directory"
    if ragged and output_sequence_length is not None:
        raise ValueError(f"{caller}: pass only one of `ragged` and `output_sequence_length`.")
    if sampling_rate is not None and (isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int)
                                      or sampling_rate <= 0):
        raise ValueError(f"{caller}: `sampling_rate` must be a positive integer, received {sampling_rate!r}.")
    if output_sequence_length is not None and (isinstance(output_sequence_length, bool)
                                               or not isinstance(output_sequence_length, int)
                                               or output_sequence_length < 1):
        raise ValueError(f"{caller}: `output_sequence_length` must be a positive integer, "
                         f"received {output_sequence_length!r}.")
    collate = None
    if batch_size is not None and output_sequence_length is None:
        collate = functools.partial(_collate, batch_clips=_nested if ragged else _pad)
    loaders = datasets_from_directory(
        caller, directory, labels=labels, label_mode=label_mode, class_names=class_names, formats=ALLOWED_FORMATS,
        load=functools.partial(read_wav, sampling_rate=sampling_rate, output_sequence_length=output_sequence_length),
        batch_size=batch_size, shuffle=shuffle, seed=seed, validation_split=validation_split, subset=subset,
        follow_links=follow_links, verbose=verbose, num_workers=num_workers, collate_fn=collate,
        pin_memory=False if ragged else None)
    return tuple(loaders) if subset == "both" else loaders
