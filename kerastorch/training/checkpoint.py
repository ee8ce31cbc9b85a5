"""Atomic, pickle-free training checkpoints: safetensors tensors plus a JSON header.

A checkpoint is one `.safetensors` file: the model's `state_dict` under `model.*`, the optimizer's
tensor state under `optimizer.*`, and, in the file's metadata, a JSON document with everything
else (epoch, optimizer scalars and parameter groups, RNG states as lists). Keeping both in one file
means a single `os.replace` publishes them together: a reader sees the old checkpoint or the new
one, never half of each, and a process killed mid-write leaves only a stray temporary file.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

import numpy as np
import torch

from ..saving.checksum import state_checksums, verify_state
from ..saving.files import atomic_write, corrupt_file_error

_META_KEY = "kerastorch_checkpoint"


def _safetensors() -> Any:
    """safetensors.torch, imported when a checkpoint is first written or read."""
    try:
        import safetensors.torch
    except ImportError as error:
        raise ImportError(
            "Training checkpoints need the `safetensors` package; install it with `pip install safetensors`."
        ) from error
    return safetensors.torch


# ------------------------------------------------------------------------------------ RNG state


def rng_state() -> dict[str, Any]:
    """torch (CPU and CUDA), numpy and Python RNG states as JSON-friendly lists."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "torch": torch.get_rng_state().tolist(),
        "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [py_state[0], list(py_state[1]), py_state[2]],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


# ------------------------------------------------------------------------------ optimizer state


def _split_optimizer_state(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A torch optimizer `state_dict` as (tensors for safetensors, the rest for JSON)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for index, entry in state["state"].items():
        plain = {}
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{name}"] = value.detach().contiguous()
            else:
                plain[name] = value
        scalars["state"][str(index)] = plain
    return tensors, scalars


def _join_optimizer_state(tensors: dict[str, torch.Tensor], scalars: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {int(i): dict(v) for i, v in scalars["state"].items()}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        state.setdefault(int(index), {})[name] = value
    return {"state": state, "param_groups": scalars["param_groups"]}


def _torch_optimizer(optimizer: Any) -> torch.optim.Optimizer | None:
    return getattr(optimizer, "torch_optimizer", optimizer)


# --------------------------------------------------------------------------- save and load


def save_training_state(path: str, model: torch.nn.Module, optimizer: Any = None, epoch: int | None = None,
                        extra: dict[str, Any] | None = None, scaler: Any = None) -> None:
    """Write model weights, optimizer state and RNG states to `path`, atomically."""
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {"format": 1, "epoch": epoch, "rng": rng_state(), "extra": extra or {}}
    torch_opt = _torch_optimizer(optimizer)
    if torch_opt is not None:
        opt_tensors, opt_scalars = _split_optimizer_state(torch_opt.state_dict())
        tensors.update(opt_tensors)
        meta["optimizer"] = opt_scalars
        iterations = getattr(optimizer, "iterations", None)
        meta["optimizer_iterations"] = None if iterations is None else int(iterations)
        meta["learning_rate"] = getattr(optimizer, "learning_rate", None)
    if scaler is not None:
        meta["grad_scaler"] = scaler.state_dict()
    tensors = {k: (v.cpu() if v.device.type != "cpu" else v) for k, v in tensors.items()}
    _share_free(tensors)
    save_file = _safetensors().save_file
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path) as temp:
        save_file(tensors, temp, metadata={_META_KEY: json.dumps(meta), **state_checksums(tensors)})


def _share_free(tensors: dict[str, torch.Tensor]) -> None:
    # safetensors refuses tensors that share storage (tied weights); give each its own copy.
    seen: set[int] = set()
    for key, value in tensors.items():
        pointer = value.untyped_storage().data_ptr() if value.numel() else id(value)
        if pointer in seen:
            tensors[key] = value.clone()
        seen.add(pointer)


def read_training_state(path: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The tensors and JSON metadata of a checkpoint, checked (checksums included) before anything changes."""
    try:
        with _safetensors().safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
            if _META_KEY not in metadata:
                raise ValueError(f"{path!r} is not a kerastorch training checkpoint (no {_META_KEY!r} metadata).")
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        meta = json.loads(metadata[_META_KEY])
    except ValueError:
        raise
    except Exception as error:  # safetensors' own errors for truncated or garbled files
        raise corrupt_file_error(path, "training checkpoint", error) from error
    verify_state(tensors, metadata, path)
    if not isinstance(meta, dict) or "rng" not in meta:
        raise ValueError(f"Checkpoint {path!r} has damaged metadata (no RNG state); it cannot resume training.")
    return tensors, meta


def load_training_state(path: str, model: torch.nn.Module, optimizer: Any = None, scaler: Any = None,
                        restore_rng: bool = True) -> dict[str, Any]:
    """Restore what `save_training_state` wrote; returns the JSON metadata (epoch, extra, ...)."""
    tensors, meta = read_training_state(path)
    weights = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    own = model.state_dict()
    if set(weights) != set(own):
        raise ValueError(
            f"Checkpoint {path!r} does not match model {getattr(model, 'name', type(model).__name__)!r}: "
            f"missing {sorted(set(own) - set(weights))[:5]}, unexpected {sorted(set(weights) - set(own))[:5]}; "
            "restore it into the model that wrote it."
        )
    for key, value in weights.items():
        if tuple(own[key].shape) != tuple(value.shape):
            raise ValueError(
                f"Checkpoint {path!r}: weight {key!r} has shape {tuple(value.shape)}, the model expects "
                f"{tuple(own[key].shape)}; restore it into the model that wrote it."
            )
    model.load_state_dict(weights)
    torch_opt = _torch_optimizer(optimizer)
    if torch_opt is not None and "optimizer" in meta:
        opt_tensors = {k: v for k, v in tensors.items() if k.startswith("optimizer.")}
        torch_opt.load_state_dict(_join_optimizer_state(opt_tensors, meta["optimizer"]))
        if meta.get("optimizer_iterations") is not None and hasattr(optimizer, "iterations"):
            optimizer.iterations = int(meta["optimizer_iterations"])
        if meta.get("learning_rate") is not None and hasattr(optimizer, "torch_optimizer"):
            optimizer._learning_rate = float(meta["learning_rate"])
    if scaler is not None and meta.get("grad_scaler"):
        scaler.load_state_dict(meta["grad_scaler"])
    if restore_rng:
        set_rng_state(meta["rng"])
    return meta
