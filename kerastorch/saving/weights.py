"""`save_weights` / `load_weights`: `.weights.h5` (Keras layout), `.safetensors` and `.pt`/`.pth`.

Loading first checks every tensor's name, shape and dtype against the model, and reads the whole
file (checking its checksums); only if all is well (or `skip_mismatch=True`) is anything copied,
so a failed load leaves the model exactly as it was. Keras files are read a block at a time, into
the weights themselves where their memory order is Keras's, so no copy of the model is held.
`.safetensors` and `.pt` hold the model's `state_dict()` (PyTorch layouts, loadable with
`model.load_state_dict`); `.pt` files are read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch import nn

from ..layers.layer import keras_layout, stored_layout
from . import keras_h5
from .checksum import corrupt_data_error, state_checksums, verify_state
from .files import atomic_write, check_archived, corrupt_file_error, open_archived, path_string, require_file

H5_SUFFIXES = (".weights.h5", ".h5", ".hdf5")
TORCH_SUFFIXES = (".pt", ".pth")
SUPPORTED = "`.weights.h5`, `.safetensors`, `.pt` or `.pth` (and `.keras` for loading)"


@dataclass
class LoadPlan:
    """What a load would copy, and every reason it cannot (yet) be applied.

    Each copy is `(weight, source, layout)`: the source is a tensor, or an array still in a Keras
    weights file; `layout` (None for a state_dict) turns the source's Keras layout into the weight's.
    """

    copies: list[tuple[torch.Tensor, torch.Tensor | keras_h5.StoredArray, Any]] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)


def _require_built(model: nn.Module, action: str) -> None:
    if not getattr(model, "built", True):
        name = getattr(model, "name", type(model).__name__)
        raise ValueError(
            f"Model {name!r} is not built, so it has no weights to {action}; build it first "
            "(call it on data, call model.build(input_shape), or give it an input shape)."
        )


def weights_format(filepath: str, loading: bool) -> str:
    lower = filepath.lower()
    if lower.endswith(H5_SUFFIXES):
        return "h5"
    if lower.endswith(".safetensors"):
        return "safetensors"
    if lower.endswith(TORCH_SUFFIXES):
        return "torch"
    if loading and lower.endswith(".keras"):
        return "keras"
    raise ValueError(
        f"Cannot tell the weights format of {filepath!r} from its name; use a file ending in {SUPPORTED}."
    )


# ----------------------------------------------------------------------------------------- save

def save_weights(model: nn.Module, filepath, overwrite: bool = True, **kwargs) -> None:
    """Write the model's weights atomically; the format follows the file suffix."""
    if kwargs:
        raise TypeError(f"save_weights got unexpected keyword arguments {sorted(kwargs)}.")
    filepath = path_string(filepath)
    kind = weights_format(filepath, loading=False)
    if kind == "h5" and not filepath.lower().endswith(".weights.h5"):
        raise ValueError(f"Keras weight files must end in `.weights.h5`, received {filepath!r}; rename the file.")
    _require_built(model, "save")
    with atomic_write(filepath, overwrite) as temp:
        if kind == "h5":
            keras_h5.write_h5(model, temp)
        elif kind == "safetensors":
            from safetensors.torch import save_file

            state = _cpu_state(model)
            save_file(state, temp, metadata={"format": "pt", "library": "kerastorch", **state_checksums(state)})
        else:
            with open(temp, "wb") as handle:  # a full disk surfaces as OSError (ENOSPC), as for the other formats
                torch.save(_cpu_state(model), handle)


def unique_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """`state_dict` entries, each tensor once (a shared layer's weights under their first name)."""
    seen: set[int] = set()
    state = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        if tensor is None or id(tensor) in seen:
            continue
        seen.add(id(tensor))
        state[key] = tensor
    return state


def _cpu_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {key: tensor.detach().cpu().contiguous() for key, tensor in unique_state(model).items()}


# ----------------------------------------------------------------------------------------- load

def load_weights(model: nn.Module, filepath, skip_mismatch: bool = False, by_name: bool = False, **kwargs) -> None:
    """Load weights into `model`; checks everything first, so a failed load changes nothing.

    `.weights.h5`/`.keras` are matched by position as Keras does (or by layer name with
    `by_name=True`); `.safetensors`/`.pt` by `state_dict` key. `skip_mismatch=True` loads what
    matches and warns about the rest.
    """
    if kwargs:
        raise TypeError(f"load_weights got unexpected keyword arguments {sorted(kwargs)}.")
    filepath = path_string(filepath)
    kind = weights_format(filepath, loading=True)
    require_file(filepath)
    _require_built(model, "load")
    if kind in ("h5", "keras"):
        with open_keras_weights(filepath, kind) as groups:
            apply_plan(model, plan_h5(model, groups, by_name=by_name), filepath, skip_mismatch)
        return
    if by_name:
        raise ValueError(f"by_name applies to Keras `.weights.h5` files; {filepath!r} is matched by state_dict key already.")
    apply_plan(model, plan_state(model, read_state(filepath, kind)), filepath, skip_mismatch)


@contextlib.contextmanager
def open_keras_weights(filepath: str, kind: str) -> Iterator[dict[str, keras_h5.StoredGroup]]:
    """The `vars` groups of a `.weights.h5` file, or of the weights inside a `.keras` archive (read in
    place); their data can be read while the context is open. A `.keras` archive whose weights carry
    no checksums of their own (written by Keras) has its zip entry's CRC-32 checked first."""
    if kind != "keras":
        with keras_h5.open_h5(filepath, filepath) as groups:
            yield groups
        return
    with open_archived(filepath, "model.weights.h5") as source:
        with keras_h5.open_h5(source, filepath) as groups:
            if not all(array.checksum for group in groups.values() for array in group.arrays):
                check_archived(source, filepath, "model.weights.h5")
            yield groups


def read_state(filepath: str, kind: str) -> dict[str, torch.Tensor]:
    """A flat name -> tensor mapping from a `.safetensors` or `.pt` file, without unpickling objects."""
    if kind == "safetensors":
        from safetensors import safe_open

        try:
            with safe_open(filepath, framework="pt", device="cpu") as handle:
                metadata = handle.metadata()
                state = {key: handle.get_tensor(key) for key in handle.keys()}
        except Exception as error:  # safetensors raises its own SafetensorError for malformed files
            raise corrupt_file_error(filepath, "safetensors file", error) from error
        verify_state(state, metadata, filepath)
        return state
    other = sniff_format(filepath)
    if other is not None:
        raise ValueError(
            f"File {filepath!r} is {other}, not a torch state_dict file, although its name ends in "
            f"{os.path.splitext(filepath)[1]!r}; rename it to match its format."
        )
    _verify_zip_entries(filepath)
    try:
        state = torch.load(filepath, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights_only" not in str(error).lower() and "unsupported" not in str(error).lower():
            raise corrupt_file_error(filepath, "torch state_dict file", error) from error
        raise ValueError(
            f"File {filepath!r} holds Python objects other than tensors, which kerastorch refuses to unpickle; "
            "save a plain state_dict (model.save_weights(path)) instead."
        ) from error
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as error:  # a damaged pickle fails inside the unpickler in many ways
        raise corrupt_file_error(filepath, "torch state_dict file", error) from error
    if isinstance(state, Mapping) and not any(isinstance(v, torch.Tensor) for v in state.values()):
        state = state.get("state_dict", state)
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(
            f"File {filepath!r} does not hold a state_dict (a mapping of names to tensors), received "
            f"{type(state).__name__}; save one with model.save_weights(path) or torch.save(model.state_dict(), path)."
        )
    return dict(state)


def sniff_format(filepath: str) -> str | None:
    """What a file really is when its first bytes say HDF5 or safetensors (None for anything else)."""
    with open(filepath, "rb") as handle:
        head = handle.read(9)
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "an HDF5 file (Keras weights are `.weights.h5`)"
    if len(head) == 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") < 100_000_000:
        return "a safetensors file (`.safetensors`)"
    return None


def _verify_zip_entries(filepath: str) -> None:
    """torch's zip-format `.pt` files carry a CRC-32 per entry, which torch.load never checks; check them."""
    if not zipfile.is_zipfile(filepath):
        return  # the legacy (pre-1.6) format: no checksums to check
    try:
        with zipfile.ZipFile(filepath) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as error:
        raise corrupt_file_error(filepath, "torch state_dict file", error) from error
    if bad is not None:
        raise corrupt_data_error(filepath, bad)


def _describe(shape) -> str:
    return str(tuple(int(s) for s in shape))


def plan_h5(model: nn.Module, groups: dict[str, keras_h5.StoredGroup], by_name: bool = False) -> LoadPlan:
    """Match every weight of `model` to the file's `vars` groups (by Keras path, or by layer name)."""
    plan = LoadPlan()
    slots = keras_h5.weight_slots(model)
    if by_name:
        by_label = {g.name: path for path, g in groups.items() if g.name is not None and g.arrays}
        for slot in slots:
            name = getattr(slot.owner, "name", None)
            if slot.tensors and name in by_label:
                _plan_slot(plan, slot, groups[by_label[name]])
        return plan
    matched: set[str] = set()
    for slot in slots:
        group = groups.get(slot.path)
        if group is not None:
            matched.add(slot.path)
        if not slot.tensors and (group is None or not group.arrays):
            continue
        if group is None:
            plan.mismatches.append(f"{slot.label}: {len(slot.tensors)} weights, missing from the file")
            continue
        _plan_slot(plan, slot, group)
    graph_model = keras_h5._graph_layers(model) is not None
    for path, group in groups.items():
        if group.arrays and path not in matched and (path.startswith("layers/") or not graph_model) and not path.startswith("optimizer"):
            plan.mismatches.append(f"{path} ({group.name!r}): {len(group.arrays)} weights in the file, no such layer in the model")
    return plan


def _plan_slot(plan: LoadPlan, slot: keras_h5.Slot, group: keras_h5.StoredGroup) -> None:
    if len(group.arrays) != len(slot.tensors):
        plan.mismatches.append(
            f"{slot.label}: expected {len(slot.tensors)} weights, the file has {len(group.arrays)}"
            + (f" (saved from layer {group.name!r})" if group.name else "")
        )
        return
    staged, problems = [], []
    for index, (target, layout, array) in enumerate(zip(slot.tensors, slot.layouts, group.arrays)):
        keras_shape = tuple(keras_layout(target.detach(), layout).shape)
        source: torch.Tensor | keras_h5.StoredArray = array
        if keras_shape == () and array.shape == (1,):  # Keras writes some scalars (Normalization's count) as (1,)
            source = array.read().reshape(())
        if tuple(source.shape) != keras_shape:
            problems.append(f"weight {index} expected shape {keras_shape}, the file has {_describe(source.shape)}")
        elif source.dtype != target.dtype:
            problems.append(f"weight {index} expected dtype {_dtype(target)}, the file has {_dtype(source)}")
        else:
            staged.append((target, source, layout))
    if problems:
        plan.mismatches.append(f"{slot.label}: " + "; ".join(problems))
    else:
        plan.copies.extend(staged)
        plan.copies.extend((tensor, torch.zeros_like(tensor), None) for tensor in slot.resets)


def _dtype(tensor: torch.Tensor | keras_h5.StoredArray) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def plan_state(model: nn.Module, state: dict[str, torch.Tensor]) -> LoadPlan:
    """Match a state_dict mapping against the model's own, key by key."""
    plan = LoadPlan()
    own = unique_state(model)
    aliases = set(model.state_dict(keep_vars=True)) - set(own)
    for key, target in own.items():
        value = state.get(key)
        if value is None:
            plan.mismatches.append(f"{key}: missing from the file (expected shape {_describe(target.shape)})")
        elif tuple(value.shape) != tuple(target.shape):
            plan.mismatches.append(f"{key}: expected shape {_describe(target.shape)}, the file has {_describe(value.shape)}")
        elif value.dtype != target.dtype:
            plan.mismatches.append(f"{key}: expected dtype {_dtype(target)}, the file has {_dtype(value)}")
        else:
            plan.copies.append((target, value, None))
    for key in state:
        if key not in own and key not in aliases:
            plan.mismatches.append(f"{key}: in the file, but the model has no such weight")
    return plan


def apply_plan(model: nn.Module, plan: LoadPlan, filepath: str, skip_mismatch: bool, fresh: bool = False) -> None:
    """Copy the planned tensors, or raise listing every mismatch (changing nothing).

    Data still in a weights file is read twice: once to check all of it (its checksums, and that it
    reads at all) and once into the weights, a block at a time, so no copy of the whole model is
    held. A `fresh` model (just built by `load_model`, discarded if this fails) is filled in one pass.
    """
    if plan.mismatches:
        name = getattr(model, "name", type(model).__name__)
        listing = "\n  - ".join(plan.mismatches)
        message = (
            f"Weights in {filepath!r} do not match model {name!r} ({len(plan.mismatches)} mismatches):\n  - {listing}"
        )
        if not skip_mismatch:
            raise ValueError(
                message + "\nNothing was loaded. Build the same architecture that saved the file, or pass "
                "skip_mismatch=True to load only the matching weights."
            )
        warnings.warn(message + "\nThese were skipped; everything else was loaded.", stacklevel=3)
    scratch = keras_h5.Scratch()
    if not fresh:
        for _, source, _ in plan.copies:
            if isinstance(source, keras_h5.StoredArray):
                source.verify(scratch)
    with torch.no_grad():
        for target, source, layout in plan.copies:
            if isinstance(source, torch.Tensor):
                copy_into(target, stored_layout(source, layout))
            elif layout is None or isinstance(layout, tuple):  # Keras layout is a view of the weight
                source.copy_to(keras_layout(target, layout), scratch, verify=fresh)
            else:
                target.copy_(stored_layout(source.read(verify=fresh), layout))


def copy_into(target: torch.Tensor, value: torch.Tensor) -> None:
    """`target.copy_(value)`, through the transposed views when `target` is a transposed matrix (recurrent
    kernels keep torch's gate-major memory order): torch's blocked transpose copy is several times faster."""
    if target.dim() == 2 and not target.is_contiguous() and target.t().is_contiguous():
        target.t().copy_(value.t())
    else:
        target.copy_(value)
