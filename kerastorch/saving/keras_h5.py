"""Keras 3's HDF5 weights layout (`.weights.h5`, and `model.weights.h5` inside `.keras` files).

Keras addresses weights by position, not by (auto-generated) layer names: a model's layers sit in
`layers/<snake_case class name>[_<n>]` (the n-th layer of that class, counting from 0), their own
weights in a `vars` subgroup as datasets `0`, `1`, ... in creation order (trainable first), and the
layer's name only as the `vars` group's `name` attribute. Sublayers held as attributes sit under
the attribute name. Arrays are in Keras layout (a Conv2D kernel is `(kh, kw, in, out)`).
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from ..layers.layer import Layer, _is_weight_buffer, keras_layout, snake_case
from .checksum import CHECKSUM_KEY, corrupt_data_error, new_hasher, raw_bytes, recorded_checksum
from .files import corrupt_file_error


@dataclass
class Slot:
    """One object's own weights and the HDF5 group that holds them."""

    path: str
    owner: nn.Module
    tensors: list[torch.Tensor] = field(default_factory=list)
    layouts: list[tuple[int, ...] | None] = field(default_factory=list)
    resets: list[torch.Tensor] = field(default_factory=list)  # zeroed when the slot is loaded (LoRA factors)

    @property
    def label(self) -> str:
        name = getattr(self.owner, "name", None)
        kind = type(self.owner).__name__
        return f"{self.path or '<model>'} ({kind} {name!r})" if isinstance(name, str) else f"{self.path} ({kind})"


def weight_slots(model: nn.Module) -> list[Slot]:
    """Every object of `model` that Keras would give an HDF5 group, in Keras's walking order."""
    slots: list[Slot] = []
    _walk(model, "", slots, set())
    return slots


def _join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _graph_layers(module: nn.Module) -> list[nn.Module] | None:
    """The layers Keras lists under `layers/` for Sequential and functional models, else None."""
    # Functional layers include the input layers, in Keras's order (dicts flattened by sorted key).
    return module.layers if getattr(module, "_keras_graph_model", False) else None


def _walk(module: nn.Module, path: str, slots: list[Slot], visited: set[int]) -> None:
    if id(module) in visited:
        return
    visited.add(id(module))
    slots.append(_own_slot(module, path))
    graph_layers = _graph_layers(module)
    if graph_layers is not None:
        _walk_container(graph_layers, _join(path, "layers"), slots, visited)
    for name, child in sorted(module.named_children(), key=lambda item: _private_last(item[0])):
        if id(child) in visited:
            continue
        if isinstance(child, (nn.ModuleList, nn.ModuleDict)):
            _walk_container(list(child.children()), _join(path, name), slots, visited)
        else:
            _walk(child, _join(path, name), slots, visited)


def _walk_container(children: list[nn.Module], path: str, slots: list[Slot], visited: set[int]) -> None:
    used: dict[str, int] = {}
    for child in children:
        base = getattr(type(child), "_keras_path_name", None) or snake_case(type(child).__name__)  # Keras's class name
        used[base] = used.get(base, -1) + 1
        name = base if used[base] == 0 else f"{base}_{used[base]}"
        if isinstance(child, (nn.ModuleList, nn.ModuleDict)):
            _walk_container(list(child.children()), _join(path, name), slots, visited)
        else:
            _walk(child, _join(path, name), slots, visited)


def _private_last(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _own_slot(module: nn.Module, path: str) -> Slot:
    """The module's own weights (parameters, then float state), with their Keras layouts; or what the
    layer's `keras_file_weights()` says Keras files hold for it (a LoRA layer's merged kernel)."""
    custom = module.keras_file_weights() if isinstance(module, Layer) and hasattr(module, "keras_file_weights") else None
    if custom is not None:
        return Slot(path, module, *custom)
    names = [n for n, p in module._parameters.items() if p is not None]
    names += [
        n for n, b in module._buffers.items()
        if b is not None and n not in module._non_persistent_buffers_set and _is_weight_buffer(b)
    ]
    layouts = module._keras_layouts if isinstance(module, Layer) else {}
    tensors = [module._parameters[n] if n in module._parameters else module._buffers[n] for n in names]
    return Slot(path, module, tensors, [layouts.get(n) for n in names])


def _h5py():
    try:
        import h5py
    except ImportError as error:
        raise ImportError("Keras `.keras` and `.weights.h5` files need h5py: pip install h5py.") from error
    return h5py




# ------------------------------------------------------------------------------------------ blocks
# Weights in Keras's C order are written from and read into their own memory. The rest (a
# recurrent kernel over torch's (gates, in) memory, a conv kernel) move in blocks of whole rows (in
# Keras layout) of about this many bytes through one reused scratch buffer, which is also what a
# load's checking pass reads into: the extra memory of a save or load stays near this size.
BLOCK_BYTES = 1 << 16
_MIN_ROWS = 16  # a transposed matrix copies fast only with whole cache lines (16 floats) per column
_DIRECT_BLOCK_BYTES = 1 << 28  # reads straight into a weight need no buffer: few, large system calls
_DEVICE_BLOCK_BYTES = 1 << 22  # blocks bound for an accelerator: fewer, larger host-to-device copies
_TILE = 256  # columns per copy: a tile of a transposed kernel stays in the CPU's L1 cache


def _blocks(shape: tuple[int, ...], itemsize: int, budget: int = BLOCK_BYTES,
            min_rows: int = 1) -> Iterator[tuple[slice, ...]]:
    """Index tuples that cover an array of `shape` in C order, each a run of whole trailing rows of
    about `budget` bytes (2-D arrays at least `min_rows` rows; a single row may be split)."""
    if not shape:
        yield ()
        return
    row = math.prod(shape[1:]) * itemsize
    if row <= budget or len(shape) == 1:
        step = max(1, budget // max(row, 1), min_rows if len(shape) == 2 else 1)
        for start in range(0, shape[0], step):
            yield (slice(start, min(start + step, shape[0])),)
        return
    for start in range(shape[0]):
        for rest in _blocks(shape[1:], itemsize, budget, min_rows):
            yield (slice(start, start + 1), *rest)


def _block_shape(shape: tuple[int, ...], index: tuple[slice, ...]) -> tuple[int, ...]:
    return tuple(s.stop - s.start for s in index) + tuple(shape[len(index):])


class Scratch:
    """One growable CPU buffer, viewed as whatever block a transfer needs."""

    def __init__(self) -> None:
        self._buffer = torch.empty(0, dtype=torch.uint8)

    def block(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        nbytes = math.prod(shape) * dtype.itemsize
        if self._buffer.numel() < nbytes:
            self._buffer = torch.empty(max(nbytes, BLOCK_BYTES), dtype=torch.uint8)
        return self._buffer[:nbytes].view(dtype).view(shape)


def _copy_tiled(target: torch.Tensor, source: torch.Tensor) -> None:
    """`target.copy_(source)` in column tiles: copying a transposed matrix into C order a tile at a
    time keeps the source's cache lines hot (2x faster than one copy of the whole block)."""
    if target.dim() == 0 or target.shape[-1] <= _TILE:
        target.copy_(source)
        return
    for start in range(0, target.shape[-1], _TILE):
        target[..., start:start + _TILE].copy_(source[..., start:start + _TILE])


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """A CPU tensor as numpy, bfloat16 as Keras stores it (raw 2-byte values)."""
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(np.dtype("V2"))
    return tensor.numpy()


# ------------------------------------------------------------------------------------------ write

def write_h5(model: nn.Module, target: Any, userblock_size: int = 0) -> None:
    """Write `model`'s weights in Keras's layout to a path or a binary file object, each dataset with
    the checksum of its bytes (Keras ignores the attribute). Weights already in Keras's C order are
    written straight from their memory; others (recurrent kernels over torch's gate-major memory,
    conv kernels) a block at a time.
    `userblock_size` bytes at the start of the file are left free (for a `.keras` entry header)."""
    h5py = _h5py()
    scratch = Scratch()
    with h5py.File(target, "w", userblock_size=userblock_size) as h5:
        for slot in weight_slots(model):
            name = getattr(slot.owner, "name", None)
            if not slot.tensors and not isinstance(name, str):
                continue
            group = h5.create_group(_join(slot.path, "vars"))
            if isinstance(name, str):
                group.attrs["name"] = name
            for index, (tensor, layout) in enumerate(zip(slot.tensors, slot.layouts)):
                _write_dataset(group, str(index), keras_layout(tensor.detach(), layout).cpu(), scratch)


def _write_dataset(group: Any, key: str, value: torch.Tensor, scratch: Scratch) -> None:
    hasher = new_hasher()
    if value.is_contiguous():
        array = _numpy(value)
        dataset = group.create_dataset(key, data=array)
        hasher.update(raw_bytes(value))
    else:
        dtype = _numpy(torch.empty(0, dtype=value.dtype)).dtype
        dataset = group.create_dataset(key, shape=tuple(value.shape), dtype=dtype)
        for index in _blocks(tuple(value.shape), value.element_size(), min_rows=_MIN_ROWS):
            block = scratch.block(_block_shape(tuple(value.shape), index), value.dtype)
            _copy_tiled(block, value[index])
            dataset.write_direct(_numpy(block), dest_sel=index or None)
            hasher.update(raw_bytes(block))
    dataset.attrs[CHECKSUM_KEY] = hasher.intdigest()  # kerastorch checks it on load
    if value.dtype == torch.bfloat16:
        dataset.attrs["dtype"] = "bfloat16"


# ------------------------------------------------------------------------------------------- read

@dataclass
class StoredArray:
    """One weight of an open Keras weights file: its shape and dtype, with its data read on demand."""

    dataset: Any
    shape: tuple[int, ...]
    dtype: torch.dtype
    checksum: tuple[str, int] | None  # (kind, value) when kerastorch recorded one
    filepath: str
    location: tuple[Any, int] | None = None  # (raw binary file, byte offset) of plain stored data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def blocks(self, scratch: Scratch, verify: bool = True,
               target: torch.Tensor | None = None) -> Iterator[tuple[tuple[slice, ...], torch.Tensor]]:
        """`(index, block)` pairs that cover the array in C order, read into the scratch buffer (or
        straight into `target[index]` when `target`, in Keras layout, is a C-ordered CPU tensor); the
        recorded checksum is checked after the last block (ValueError if the bytes differ)."""
        hasher = new_hasher(self.checksum[0]) if verify and self.checksum else None
        direct = target is not None and target.device.type == "cpu" and target.is_contiguous()
        if direct:
            budget, min_rows = _DIRECT_BLOCK_BYTES, 1
        elif target is not None and target.device.type != "cpu":
            budget, min_rows = _DEVICE_BLOCK_BYTES, 1
        else:  # the checking pass (no target), or a strided CPU weight
            budget, min_rows = BLOCK_BYTES, 1 if target is None else _MIN_ROWS
        try:
            for index in _blocks(self.shape, self.dtype.itemsize, budget, min_rows):
                block = target[index] if direct else scratch.block(_block_shape(self.shape, index), self.dtype)
                self._read(index, block)
                if hasher is not None:
                    hasher.update(raw_bytes(block))
                yield index, block
        except (OSError, RuntimeError, TypeError) as error:  # HDF5 read errors: a truncated or damaged file
            raise corrupt_file_error(self.filepath, "Keras HDF5 weights file", error) from error
        if hasher is not None and hasher.intdigest() != self.checksum[1]:
            raise corrupt_data_error(self.filepath, self.dataset.name)

    def _read(self, index: tuple[slice, ...], block: torch.Tensor) -> None:
        if self.location is None:
            self.dataset.read_direct(_numpy(block), source_sel=index or None)
            return
        # Plain stored data is read straight from the file: half the time of HDF5's reader here.
        start = sum(s.start * math.prod(self.shape[k + 1:]) for k, s in enumerate(index)) * self.dtype.itemsize
        self._read_plain(start, raw_bytes(block))

    def _read_plain(self, start: int, view: memoryview) -> None:
        """Fill `view` with the plain stored bytes from `start` on (OSError if the file ends first)."""
        handle, offset = self.location
        handle.seek(offset + start)
        filled = 0
        while filled < len(view):
            count = handle.readinto(view[filled:])
            if not count:
                raise OSError(f"the file ends inside dataset {self.dataset.name}")
            filled += count

    def verify(self, scratch: Scratch) -> None:
        """Read every byte (so a damaged file fails here, before anything is copied) and check it.

        Plain stored bytes inside the file cannot fail to read, so only their checksum needs a pass,
        and that pass is a tight loop of reads and hash updates (a quarter of the general one's time).
        """
        if self.location is None:
            for _ in self.blocks(scratch):
                pass
            return
        if not self.checksum:
            return
        view = raw_bytes(scratch.block((BLOCK_BYTES,), torch.uint8))
        hasher = new_hasher(self.checksum[0])
        try:
            for start in range(0, self.nbytes, BLOCK_BYTES):
                chunk = view[:min(BLOCK_BYTES, self.nbytes - start)]
                self._read_plain(start, chunk)
                hasher.update(chunk)
        except OSError as error:
            raise corrupt_file_error(self.filepath, "Keras HDF5 weights file", error) from error
        if hasher.intdigest() != self.checksum[1]:
            raise corrupt_data_error(self.filepath, self.dataset.name)

    def copy_to(self, target: torch.Tensor, scratch: Scratch, verify: bool = False) -> None:
        """Stream the data into `target`, a view of a weight in Keras layout (any strides, any device)."""
        for index, block in self.blocks(scratch, verify, target):
            if block.data_ptr() != target[index].data_ptr():
                target[index].copy_(block)

    def read(self, verify: bool = True) -> torch.Tensor:
        """The whole array as a new tensor (for weights whose stored layout is not a view)."""
        value = torch.empty(self.shape, dtype=self.dtype)
        self.copy_to(value, Scratch(), verify)
        return value


@dataclass
class StoredGroup:
    """The arrays of one `vars` group, in index order, and the layer name Keras recorded."""

    arrays: list[StoredArray]
    name: str | None


# A dataset may declare at most this many times the bytes it stores (beyond 1 GiB): a compressed
# "bomb" that would expand to exhaust memory is refused before it is read.
_MAX_EXPANSION = 1000
_BOMB_FLOOR_BYTES = 1 << 30


@contextlib.contextmanager
def open_h5(source: Any, filepath: str) -> Iterator[dict[str, StoredGroup]]:
    """Every `vars` group of a Keras weights file, keyed by owner path, with its arrays' shapes and
    dtypes; their data is read while the context is open. Links and external or virtual datasets
    (which would read other files) are refused."""
    h5py = _h5py()
    try:
        h5 = h5py.File(source, "r")
    except (OSError, KeyError, RuntimeError, TypeError, ValueError) as error:
        raise corrupt_file_error(filepath, "Keras HDF5 weights file", error) from error
    with h5, contextlib.ExitStack() as cleanup:
        if isinstance(source, str):
            handle = cleanup.enter_context(open(source, "rb", buffering=0))
            extent = (handle, 0, os.fstat(handle.fileno()).st_size)
        else:  # a `.keras` archive's entry (`files.open_archived`) knows where it lies in its file
            extent = source.extent() if hasattr(source, "extent") else None
        try:
            groups = _stored_groups(h5, filepath, extent)
        except ValueError:
            raise
        except (OSError, KeyError, RuntimeError, TypeError) as error:
            raise corrupt_file_error(filepath, "Keras HDF5 weights file", error) from error
        yield groups


def _stored_groups(h5: Any, filepath: str, extent: tuple[Any, int, int] | None) -> dict[str, StoredGroup]:
    h5py = _h5py()
    if "model_weights" in h5 or "layer_names" in h5.attrs:
        raise ValueError(
            f"File {filepath!r} uses the legacy Keras 2 `.h5` layout, which kerastorch does not read; "
            "re-save it with Keras 3 as `.weights.h5` or `.keras`."
        )
    found: list[tuple[str, Any]] = []
    h5.visititems(lambda name, obj: found.append((name, obj)) if (
        isinstance(obj, h5py.Group) and name.rsplit("/", 1)[-1] == "vars") else None)
    groups: dict[str, StoredGroup] = {}
    for name, group in found:
        owner = name[: -len("vars")].rstrip("/")
        keys = list(group.keys())
        if not all(k.isdigit() for k in keys):
            raise ValueError(
                f"File {filepath!r} is not in Keras's weights layout: group {name!r} holds {keys}, "
                "expected datasets named 0, 1, ...; re-save it with save_weights()."
            )
        arrays = [_stored_array(group, key, filepath, extent) for key in sorted(keys, key=int)]
        label = group.attrs.get("name")
        groups[owner] = StoredGroup(arrays, label.decode() if isinstance(label, bytes) else label)
    return groups


def _stored_array(group: Any, key: str, filepath: str, extent: tuple[Any, int, int] | None) -> StoredArray:
    h5py = _h5py()
    link = group.get(key, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise ValueError(f"File {filepath!r} links {group.name}/{key} elsewhere ({type(link).__name__}); refusing to follow it.")
    dataset = group[key]
    if not isinstance(dataset, h5py.Dataset) or dataset.external or dataset.is_virtual:
        raise ValueError(
            f"File {filepath!r}: {group.name}/{key} is not a plain stored dataset (external or virtual data "
            "would read other files); refusing to load it."
        )
    declared = int(np.prod(dataset.shape, dtype=np.int64)) * dataset.dtype.itemsize
    if declared > _BOMB_FLOOR_BYTES and declared > _MAX_EXPANSION * dataset.id.get_storage_size():
        raise ValueError(
            f"File {filepath!r}: {group.name}/{key} declares {declared} bytes but stores far fewer; refusing a "
            "possible decompression bomb."
        )
    kind = dataset.dtype
    if dataset.attrs.get("dtype") == "bfloat16" and kind.itemsize == 2:
        dtype = torch.bfloat16
    elif kind.kind in "biuf":
        dtype = torch.from_numpy(np.empty(0, kind.newbyteorder("="))).dtype
    else:
        raise ValueError(
            f"File {filepath!r}: {group.name}/{key} holds {kind} data, not numbers; it is not a weights file."
        )
    stored = StoredArray(dataset, tuple(int(s) for s in dataset.shape), dtype, recorded_checksum(dataset.attrs), filepath)
    stored.location = _plain_location(dataset, stored.nbytes, extent)
    return stored


def _plain_location(dataset: Any, nbytes: int, extent: tuple[Any, int, int] | None) -> tuple[Any, int] | None:
    """`(file, offset)` of a dataset's bytes when they lie in the file as they are in memory
    (contiguous, unfiltered, native byte order, inside the file), else None (HDF5 reads them)."""
    if extent is None or dataset.chunks is not None or dataset.dtype.byteorder == ">" or nbytes == 0:
        return None
    offset = dataset.id.get_offset()
    handle, start, size = extent
    if offset is None or offset + nbytes > size:
        return None
    return handle, start + offset
