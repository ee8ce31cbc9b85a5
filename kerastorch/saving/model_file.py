"""Keras 3's `.keras` model files: a zip of `config.json`, `metadata.json`, `model.weights.h5` and
`assets/` (files such as a lookup layer's learned vocabulary).

Saving writes the archive atomically; loading reads the three members into memory (nothing is
extracted), checks the whole config before building anything, rebuilds the model from it and
loads the weights with the same all-or-nothing check as `load_weights`.
"""

from __future__ import annotations

import datetime
import json
import os
import zipfile
from typing import Any

from torch import nn

from ..layers.layer import weight_budget

from . import keras_h5
from .compile_state import compile_from_config
from .files import adopt_as_zip_entry, atomic_write, corrupt_file_error, path_string, read_zip_members, require_file
from .serialization import deserialize_keras_object, serialize_keras_object
from .weights import apply_plan, open_keras_weights, plan_h5

CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
ASSETS_FOLDER = "assets"
# The Keras file format version this writer follows; Keras itself only records, never checks, it.
KERAS_FORMAT_VERSION = "3.0.0"


def save_model(model: nn.Module, filepath, overwrite: bool = True, **kwargs: Any) -> None:
    """Write `model` as a Keras 3 `.keras` archive (architecture, compile state and weights)."""
    zipped = kwargs.pop("zipped", True)
    if kwargs:
        raise TypeError(f"save_model got unexpected keyword arguments {sorted(kwargs)}.")
    if zipped is not True:
        raise ValueError("kerastorch writes zipped `.keras` files only; leave zipped=True.")
    filepath = path_string(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(
            f"Model files must end in `.keras`, received {filepath!r}; use model.save_weights() for "
            "`.weights.h5`, `.safetensors` or `.pt` files."
        )
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model {getattr(model, 'name', '?')!r} is not built, so it cannot be saved; build it first "
            "(call it on data or give it an input shape)."
        )
    from .. import __version__

    config = json.dumps(serialize_keras_object(model))  # fails early, before touching the file
    metadata = json.dumps({
        "keras_version": KERAS_FORMAT_VERSION,
        "kerastorch_version": __version__,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    })
    with atomic_write(filepath, overwrite) as temp:
        # The weights file is written first, where the archive keeps it: HDF5 leaves its first bytes
        # (a "user block") free for the entry's zip header, and the other entries follow it.
        keras_h5.write_h5(model, temp, userblock_size=_WEIGHTS_HEADER_BYTES)
        with open(temp, "r+b") as handle:
            weights = adopt_as_zip_entry(handle, WEIGHTS_FILE, _WEIGHTS_HEADER_BYTES)
            handle.seek(0, os.SEEK_END)
            with zipfile.ZipFile(handle, "w") as archive:
                archive.filelist.append(weights)
                archive.NameToInfo[WEIGHTS_FILE] = weights
                archive.writestr(METADATA_FILE, metadata)
                archive.writestr(CONFIG_FILE, config)
                for name, data in _assets(model).items():
                    archive.writestr(name, data)


# Bytes before the weights' HDF5 data in a `.keras` file written here: the smallest HDF5 user block,
# room for the entry's zip header.
_WEIGHTS_HEADER_BYTES = 512


def load_model(filepath, custom_objects: dict | None = None, compile: bool = True, safe_mode: bool = True) -> nn.Module:
    """Rebuild a model from a `.keras` file written by kerastorch or Keras 3."""
    filepath = require_file(path_string(filepath))
    if not filepath.endswith(".keras"):
        hint = (" It looks like a weights file: build the model in code and call model.load_weights()."
                if filepath.endswith((".h5", ".safetensors", ".pt", ".pth")) else "")
        raise ValueError(f"load_model reads Keras 3 `.keras` files, received {filepath!r}.{hint}")
    if not zipfile.is_zipfile(filepath):
        raise corrupt_file_error(filepath, "Keras `.keras` archive", ValueError("not a zip archive"))
    members = read_zip_members(filepath, (CONFIG_FILE,))
    if CONFIG_FILE not in members:
        raise ValueError(f"File {filepath!r} is a zip archive without `{CONFIG_FILE}`, so not a Keras `.keras` file.")
    try:
        config = json.loads(members[CONFIG_FILE])
    except RecursionError as error:
        raise ValueError(f"File {filepath!r}: `{CONFIG_FILE}` is nested too deeply to be a model config.") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise corrupt_file_error(filepath, "Keras `.keras` archive (config.json)", error) from error
    if not isinstance(config, dict):
        raise ValueError(f"File {filepath!r}: `{CONFIG_FILE}` holds a {type(config).__name__}, expected a model config (a dict).")
    compile_config = config.get("compile_config")
    if compile_config is not None and not isinstance(compile_config, dict):
        raise ValueError(
            f"File {filepath!r}: `compile_config` in `{CONFIG_FILE}` is a {type(compile_config).__name__}, expected "
            "a dict (or null); the file is damaged — re-save the model."
        )
    with open_keras_weights(filepath, "keras") as groups:
        stored = sum(array.nbytes for group in groups.values() for array in group.arrays)
        try:
            with weight_budget(stored + _BUDGET_SLACK, f"File {filepath!r}"):
                model = model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
        except RecursionError as error:
            raise ValueError(f"File {filepath!r}: `{CONFIG_FILE}` is nested too deeply to be a model config.") from error
        apply_plan(model, plan_h5(model, groups), filepath, skip_mismatch=False, fresh=True)
    _load_assets(model, filepath)
    if compile and compile_config and hasattr(model, "compile"):
        compile_from_config(model, compile_config, custom_objects)
    return model


def _asset_folder(path: str) -> str:
    return f"{ASSETS_FOLDER}/{path}/" if path else f"{ASSETS_FOLDER}/"


def _assets(model: nn.Module) -> dict[str, bytes]:
    """Files layers keep beside their weights (a lookup layer's learned vocabulary), under
    `assets/<the layer's weights path>/`, where Keras keeps them."""
    files = {}
    for slot in keras_h5.weight_slots(model):
        if hasattr(slot.owner, "keras_assets"):
            for name, data in slot.owner.keras_assets().items():
                files[_asset_folder(slot.path) + name] = data
    return files


def _load_assets(model: nn.Module, filepath: str) -> None:
    """Give each layer that reads assets its files from the archive (read into memory, not extracted)."""
    owners = [slot for slot in keras_h5.weight_slots(model) if hasattr(slot.owner, "load_keras_assets")]
    if not owners:
        return
    with zipfile.ZipFile(filepath) as archive:
        names = [n for n in archive.namelist() if n.startswith(f"{ASSETS_FOLDER}/") and not n.endswith("/")]
    members = read_zip_members(filepath, tuple(names))
    for slot in owners:
        folder = _asset_folder(slot.path)
        files = {n[len(folder):]: data for n, data in members.items() if n.startswith(folder) and "/" not in n[len(folder):]}
        if files:
            slot.owner.load_keras_assets(files)


# Weights a model may create beyond what its file stores (state that is never saved, rounding).
_BUDGET_SLACK = 16 << 20


def model_from_config(config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> nn.Module:
    """A layer or model from its Keras-format config."""
    return deserialize_keras_object(config, custom_objects=custom_objects, safe_mode=safe_mode)


def model_to_json(model: nn.Module, **kwargs: Any) -> str:
    """The model's Keras-format config as a JSON string (`model.to_json()`)."""
    return json.dumps(serialize_keras_object(model), **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None, safe_mode: bool = True) -> nn.Module:
    """A model (with fresh weights) from `model.to_json()` output, kerastorch's or Keras's."""
    try:
        config = json.loads(json_string)
        return model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
    except RecursionError as error:
        raise ValueError("model_from_json: the JSON is nested too deeply to be a model config.") from error
    except (TypeError, json.JSONDecodeError) as error:
        if not isinstance(error, json.JSONDecodeError) and isinstance(json_string, (str, bytes)):
            raise
        raise ValueError(f"model_from_json expected a JSON string from model.to_json(), which failed to parse: {error}.") from error
