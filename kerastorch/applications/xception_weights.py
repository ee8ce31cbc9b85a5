"""Loading Xception weights: Keras files (`.h5`, `.weights.h5`) and timm `legacy_xception` checkpoints.

Every source becomes one list of Keras-layout arrays per weighted layer, in Keras's layer order; all
shapes are checked before anything is written, so a failed load leaves the model unchanged. Files are
read with h5py, safetensors or `torch.load(weights_only=True)`: loading never runs code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import pretrained

KERAS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
KERAS_FILES = {  # include_top -> (file name, md5), as Keras's Xception downloads them
    True: ("xception_weights_tf_dim_ordering_tf_kernels.h5", "0a58e3b7378bc2990ea3b43d5981f1f6"),
    False: ("xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "b0042744bf5b25fce3cb969f33bebb97"),
}
TIMM_FILE = "xception-43020ad28.pth"  # timm's legacy_xception.tf_in1k (the same Keras-trained weights)

# Keras's class-derived keys in `.weights.h5` files (`layers/<key>/vars/<i>`).
_KERAS3_KEYS = {"Conv2D": "conv2d", "SeparableConv2D": "separable_conv2d",
                "BatchNormalization": "batch_normalization", "Dense": "dense"}


def check_weights_argument(weights: Any) -> None:
    if weights in (None, "imagenet"):
        return
    if not isinstance(weights, (str, os.PathLike)):
        raise TypeError(
            f"Xception: weights must be None, 'imagenet' or a file path, received {type(weights).__name__}."
        )
    if not os.path.isfile(weights):
        raise ValueError(
            f"Xception: weights={os.fspath(weights)!r} is neither None, 'imagenet' nor an existing file; "
            "pass the path of a Keras .h5/.weights.h5 or a timm legacy_xception .pth/.safetensors file."
        )


# ------------------------------------------------------------------------------------- imagenet

def imagenet_candidates(include_top: bool) -> list[Path]:
    """Cached files that hold Xception's ImageNet weights, best match first."""
    keras_dir = pretrained.keras_cache_dir()
    names = [KERAS_FILES[include_top][0]] + ([KERAS_FILES[True][0]] if not include_top else [])
    return [keras_dir / n for n in names] + [pretrained.torch_hub_cache_dir() / TIMM_FILE]


def resolve_imagenet_weights(include_top: bool) -> tuple[Path, str | None]:
    """Where Xception's ImageNet weights are (a cached file) or will go (with the URL to fetch).

    Runs before the model is built, so an offline machine without the file fails at once with a
    message naming the file, the URL and the cache path.
    """
    for candidate in imagenet_candidates(include_top):
        if candidate.is_file():
            return candidate, None
    filename, _ = KERAS_FILES[include_top]
    url = KERAS_URL + filename
    if not pretrained.network_reachable(url):
        raise pretrained.missing_weights(
            "Xception", filename, url, pretrained.keras_cache_dir(),
            alternatives=[f"timm's {TIMM_FILE} at {pretrained.torch_hub_cache_dir() / TIMM_FILE}"],
        )
    return pretrained.keras_cache_dir() / filename, url


def load_imagenet_weights(model: Any, include_top: bool, source: tuple[Path, str | None]) -> None:
    """Load the resolved ImageNet file, downloading it into Keras's cache first when needed."""
    path, url = source
    if url is not None:
        pretrained.download(url, path, md5=KERAS_FILES[include_top][1])
    load_xception_weights(model, str(path))


# ---------------------------------------------------------------------------------- any file

def load_xception_weights(model: Any, path: str) -> None:
    """Load a Keras `.h5`/`.weights.h5` or timm `.pth`/`.safetensors` file into a kerastorch Xception."""
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic == b"\x89HDF\r\n\x1a\n":
        arrays = _read_keras_h5(model, path)
    elif path.endswith(".safetensors"):
        from safetensors.torch import load_file

        arrays = timm_to_keras(model, load_file(path), path)
    elif path.endswith((".pth", ".pt", ".bin")) or magic[:2] == b"PK":
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        for key in ("state_dict", "model", "model_state_dict"):
            if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
                checkpoint = checkpoint[key]
        arrays = timm_to_keras(model, checkpoint, path)
    else:
        raise ValueError(
            f"Xception: cannot tell the format of weights file {path!r}; expected a Keras .h5/.weights.h5 "
            "(HDF5) or a timm legacy_xception .pth/.safetensors checkpoint."
        )
    assign(model, arrays, path)


def weighted_layers(model: Any) -> list[Any]:
    """The model's weighted layers in Keras's order (the order Keras writes weight files in)."""
    order = getattr(model, "_keras_weight_order", None)
    if order is None:
        raise ValueError(
            f"Model {model.name!r} was not built by kt.applications.Xception, so Xception weight files cannot "
            "be mapped onto it; build it with kt.applications.Xception(...)."
        )
    return [model.get_layer(name) for name in order]


def assign(model: Any, arrays: dict[str, list[np.ndarray]], path: str) -> None:
    """Check every layer's arrays against its weights, then write them all."""
    staged = []
    for layer in weighted_layers(model):
        values = arrays[layer.name]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        received = [tuple(np.shape(v)) for v in values]
        if expected != received:
            raise ValueError(
                f"Xception: weights file {path!r} does not fit layer {layer.name!r}: expected weight shapes "
                f"{expected}, received {received}; check that the file is an Xception checkpoint built with the "
                "same include_top/classes."
            )
        staged.append((layer, values))
    for layer, values in staged:
        layer.set_weights(values)


# -------------------------------------------------------------------------------- Keras files

def _read_keras_h5(model: Any, path: str) -> dict[str, list[np.ndarray]]:
    import h5py

    with h5py.File(path, "r") as f:
        if "layers" in f and "layer_names" not in f.attrs:
            return _read_keras3(model, f, path)
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            raise ValueError(
                f"Xception: HDF5 file {path!r} is not a Keras weights file (no 'layers' group or 'layer_names' "
                "attribute); save it with Keras's model.save_weights()."
            )
        return _read_legacy(model, group, path)


def _read_keras3(model: Any, f: Any, path: str) -> dict[str, list[np.ndarray]]:
    """Keras 3 `.weights.h5`: layers keyed by class (`conv2d_3`) in Keras's layer order."""
    counts: dict[str, int] = {}
    arrays: dict[str, list[np.ndarray]] = {}
    group = f["layers"]
    for layer in weighted_layers(model):
        base = _KERAS3_KEYS[type(layer).__name__]
        count = counts.get(base, 0)
        counts[base] = count + 1
        key = base if count == 0 else f"{base}_{count}"
        if key not in group or "vars" not in group[key]:
            raise ValueError(
                f"Xception: weights file {path!r} has no entry layers/{key} for layer {layer.name!r}; "
                "it was not saved from an Xception with the same include_top."
            )
        variables = group[key]["vars"]
        arrays[layer.name] = [np.asarray(variables[str(i)]) for i in range(len(variables))]
    return arrays  # a classifier saved in the file but absent from the model is simply not read


def _read_legacy(model: Any, group: Any, path: str) -> dict[str, list[np.ndarray]]:
    """Keras 2 / legacy `.h5` (the ImageNet download): weighted layers in order, names as attributes."""
    names = [_text(n) for n in group.attrs["layer_names"]]
    stored = []
    for name in names:
        weight_names = [_text(n) for n in group[name].attrs.get("weight_names", [])]
        if weight_names:
            stored.append((name, [np.asarray(group[name][w]) for w in weight_names]))
    layers = weighted_layers(model)
    if len(stored) == len(layers) + 1 and layers[-1].name != "predictions" and stored[-1][0] == "predictions":
        stored = stored[:-1]  # the file has the ImageNet classifier, the model has no top
    if len(stored) != len(layers):
        raise ValueError(
            f"Xception: weights file {path!r} holds {len(stored)} weighted layers but the model has {len(layers)}; "
            "use the file that matches include_top (Keras's *_notop.h5 for include_top=False)."
        )
    arrays = {}
    for layer, (name, values) in zip(layers, stored):
        if name.startswith("block") and name != layer.name:
            raise ValueError(
                f"Xception: weights file {path!r} stores layer {name!r} where the model has {layer.name!r}; "
                "the file is not a Keras Xception weights file."
            )
        arrays[layer.name] = values
    return arrays


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


# ------------------------------------------------------------------------------ timm checkpoints

def timm_names() -> dict[str, str]:
    """Keras layer name -> timm `legacy_xception` module prefix, for every weighted layer."""
    mapping = {"block1_conv1": "conv1", "block1_conv1_bn": "bn1", "block1_conv2": "conv2", "block1_conv2_bn": "bn2"}
    # Keras blocks 2-4 and 13 are timm's block1-3 and block12: ReLU-Sep-BN pairs (block 2 has no first ReLU).
    for keras_block, timm_block in ((2, 1), (3, 2), (4, 3), (13, 12)):
        first = 0 if keras_block == 2 else 1
        for unit, index in ((1, first), (2, first + 3)):
            mapping[f"block{keras_block}_sepconv{unit}"] = f"block{timm_block}.rep.{index}"
            mapping[f"block{keras_block}_sepconv{unit}_bn"] = f"block{timm_block}.rep.{index + 1}"
        mapping[f"residual{keras_block}_conv"] = f"block{timm_block}.skip"
        mapping[f"residual{keras_block}_bn"] = f"block{timm_block}.skipbn"
    for keras_block in range(5, 13):  # middle flow: timm block4-11, three ReLU-Sep-BN units each
        for unit in (1, 2, 3):
            mapping[f"block{keras_block}_sepconv{unit}"] = f"block{keras_block - 1}.rep.{3 * unit - 2}"
            mapping[f"block{keras_block}_sepconv{unit}_bn"] = f"block{keras_block - 1}.rep.{3 * unit - 1}"
    mapping.update({"block14_sepconv1": "conv3", "block14_sepconv1_bn": "bn3",
                    "block14_sepconv2": "conv4", "block14_sepconv2_bn": "bn4", "predictions": "fc"})
    return mapping


def _canonical_names(model: Any) -> list[tuple[Any, str]]:
    """Pair each weighted layer with a stable name (residual layers have auto names in the model)."""
    result, residual_block = [], [2, 2, 3, 3, 4, 4, 13, 13]
    for layer in weighted_layers(model):
        if layer.name.startswith(("block", "predictions")):
            result.append((layer, layer.name))
        else:
            kind = "conv" if type(layer).__name__ == "Conv2D" else "bn"
            result.append((layer, f"residual{residual_block.pop(0)}_{kind}"))
    return result


def timm_to_keras(model: Any, state_dict: dict[str, torch.Tensor], path: str) -> dict[str, list[np.ndarray]]:
    """Map a timm `legacy_xception` state dict onto the model's layers; every tensor must be used."""
    prefixes = timm_names()
    state = {k.removeprefix("module."): v for k, v in state_dict.items()}
    used: set[str] = set()
    missing: list[str] = []

    def take(key: str) -> np.ndarray | None:
        if key not in state:
            missing.append(key)
            return None
        used.add(key)
        return state[key].detach().float().cpu().numpy()

    arrays = {}
    has_top = False
    for layer, name in _canonical_names(model):
        prefix = prefixes[name]
        kind = type(layer).__name__
        if kind == "Conv2D":
            values = [take(f"{prefix}.weight")]
            values = [None if v is None else v.transpose(2, 3, 1, 0) for v in values]
        elif kind == "SeparableConv2D":
            depthwise, pointwise = take(f"{prefix}.conv1.weight"), take(f"{prefix}.pointwise.weight")
            values = [None if depthwise is None else depthwise.transpose(2, 3, 0, 1),
                      None if pointwise is None else pointwise.transpose(2, 3, 1, 0)]
        elif kind == "BatchNormalization":
            values = [take(f"{prefix}.{p}") for p in ("weight", "bias", "running_mean", "running_var")]
            if f"{prefix}.num_batches_tracked" in state:
                used.add(f"{prefix}.num_batches_tracked")
        else:  # Dense
            has_top = True
            weight, bias = take(f"{prefix}.weight"), take(f"{prefix}.bias")
            values = [None if weight is None else weight.T, bias]
        arrays[layer.name] = values
    if missing:
        raise ValueError(
            f"Xception: timm checkpoint {path!r} lacks {len(missing)} tensors the model needs "
            f"(first: {missing[:3]}); pass a legacy_xception state dict (with 'fc.*' only for include_top=True)."
        )
    leftover = sorted(set(state) - used - ({"fc.weight", "fc.bias"} if not has_top else set()))
    if leftover:
        raise ValueError(
            f"Xception: timm checkpoint {path!r} has {len(leftover)} tensors with no place in the model "
            f"(first: {leftover[:3]}); it is not a legacy_xception checkpoint."
        )
    return arrays
