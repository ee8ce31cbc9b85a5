"""Any timm model as a kerastorch layer, channels_last in and out like a Keras application.

The timm module is held as is (its parameters are the layer's parameters), so pretrained timm
weights, `torch.compile` and timm's own tooling keep working. Images enter as `(N, H, W, C)` and reach
timm as a zero-copy `permute` view (already `channels_last` in memory); feature maps leave the same way.
Features come from timm's own classifier API (`forward_features`, `forward_head(pre_logits=True)`), so
a pooled backbone computes exactly what `timm.create_model(name, num_classes=0, global_pool=pooling)`
computes, and checkpoints load through timm's loader with every tensor accounted for.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import logging
import os
import re
import warnings
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree

from .. import config
from ..layers.layer import Layer
from . import pretrained as pretrained_files

# Values of timm's `global_pool` tried when a model refuses the one asked for, to list the ones it takes.
_POOLING_CANDIDATES = ("avg", "max", "avgmax", "catavgmax", "token", "map", "prr", "fast", "")


class TimmBackbone(Layer):
    """`timm.create_model(name, ...)` as a layer with Keras's image conventions.

    Args:
        name: a timm model name, optionally with a pretrained tag (`"resnet50.a1_in1k"`).
        weights: `None` (random), `"imagenet"` (timm's pretrained weights for the name or tag, from the
            Hugging Face / torch hub cache or downloaded) or the path of a local checkpoint (a timm
            state dict as `.safetensors`, `.pth`/`.bin` read with `weights_only=True`, or `.npz`).
        pretrained: `True` is `weights="imagenet"` (timm's spelling).
        pooling: `None` returns `forward_features` (feature maps channels_last, tokens for token
            models, lists/dicts as timm returns them); only what `forward_features` uses is kept, so
            counts are those of the features. Any value timm's `global_pool` accepts for the model
            (`"avg"`, `"max"`, `"avgmax"`, `"token"`, `"map"`, ...) returns exactly the features of
            `timm.create_model(name, num_classes=0, global_pool=pooling)`, pre-logits blocks included;
            others raise a `ValueError` listing the ones the model takes.
        strict: a checkpoint tensor the model has no place for, or a model tensor the checkpoint lacks,
            raises a `ValueError`; `strict=False` loads the rest and warns (Python `warnings`) listing
            each such key. The classifier of a checkpoint is not part of a headless backbone
            (`num_classes=0`) and is left out, as timm does.
        features_only, out_indices: timm's feature-pyramid API (a list of channels_last maps).
        head_norm: with `pooling=None`, keep the head's LayerNorm (`model.head.norm`, ConvNeXt) and
            apply it over channels, as Keras's ConvNeXt without top does.
        input_shape, data_format, layer_name, trainable, dtype: as for any layer (`layer_name` is the
            layer's name; `name` is timm's).
        **timm_kwargs: passed to `timm.create_model` (`num_classes=k` keeps a classifier and returns
            logits, `img_size=...`, `drop_path_rate=...`).
    """

    def __init__(
        self,
        name: str,
        pretrained: bool = False,
        pooling: str | None = None,
        features_only: bool = False,
        out_indices: Sequence[int] | None = None,
        input_shape: tuple | None = None,
        data_format: str | None = None,
        weights: Any = None,
        layer_name: str | None = None,
        trainable: bool = True,
        head_norm: bool = False,
        strict: bool = True,
        dtype: Any = None,
        **timm_kwargs: Any,
    ):
        import timm

        if not isinstance(name, str):
            raise TypeError(f"TimmBackbone expected a timm model name (str), received {type(name).__name__}.")
        if pooling is not None and not isinstance(pooling, str):
            raise TypeError(f"TimmBackbone {name!r}: pooling must be None or a string, received {pooling!r}.")
        if features_only and pooling is not None:
            raise ValueError(f"TimmBackbone {name!r}: pooling does not apply with features_only=True; drop one of them.")
        if out_indices is not None and not features_only:
            raise ValueError(f"TimmBackbone {name!r}: out_indices needs features_only=True.")
        if "global_pool" in timm_kwargs:
            raise ValueError(f"TimmBackbone {name!r}: pass the pooling as pooling=..., not global_pool=....")
        weights = _standardize_weights(name, weights, pretrained)
        if not timm.is_model(name.split(".")[0]):
            raise ValueError(
                f"TimmBackbone: {name!r} is not a timm model name; see timm.list_models('pattern*') for the choices."
            )
        if "." in name and name not in timm.list_pretrained(name):
            architecture = name.split(".")[0]
            raise ValueError(
                f"TimmBackbone: timm has no pretrained tag {name!r}; choose one of "
                f"{timm.list_pretrained(architecture + '.*')} or drop the tag for timm's default."
            )
        self.data_format = config.standardize_data_format(data_format)
        if input_shape is not None:
            input_shape = tuple(input_shape)
        super().__init__(
            name=layer_name or name.split(".")[0].replace("-", "_"), dtype=dtype, input_shape=input_shape
        )

        create_kwargs = dict(timm_kwargs)
        if features_only:
            create_kwargs["features_only"] = True
            if out_indices is not None:
                create_kwargs["out_indices"] = tuple(out_indices)
        else:
            create_kwargs.setdefault("num_classes", 0)
        self.headless = not features_only and create_kwargs.get("num_classes") == 0
        if pooling is not None and not self.headless:
            raise ValueError(
                f"TimmBackbone {name!r}: pooling={pooling!r} applies to a headless backbone; drop pooling to keep "
                "timm's classifier (num_classes) or drop num_classes to get pooled features."
            )
        if self.headless and pooling is not None:
            create_kwargs["global_pool"] = pooling

        self.timm_name = name
        self.pooling = pooling
        self.features_only = bool(features_only)
        self.strict = bool(strict)
        self.model = _create(name, weights, create_kwargs, self.strict)
        if self._dtype != torch.float32:
            self.model.to(self._dtype)
        nn.Module.train(self, False)
        self._nhwc_features = getattr(self.model, "output_fmt", "NCHW") == "NHWC"
        self.head_norm = bool(head_norm)
        norm = getattr(getattr(self.model, "head", None), "norm", None)
        if self.head_norm and not (self.headless and pooling is None and isinstance(norm, nn.Module)
                                   and hasattr(norm, "weight")):
            raise ValueError(
                f"TimmBackbone {name!r}: head_norm=True needs pooling=None on a headless model whose head has a "
                "`norm` layer (as timm's ConvNeXt); pooled features already include it. Drop head_norm."
            )
        if self.headless and pooling is None:
            _drop_unused(self.model, self._probe_shape(create_kwargs), keep=norm if self.head_norm else None)
        self.built = True
        if not trainable:
            self.trainable = False

    def get_config(self) -> dict[str, Any]:
        config_dict = super().get_config()
        config_dict["layer_name"], config_dict["name"] = config_dict["name"], self.timm_name
        return config_dict

    # --------------------------------------------------------------------------------- forward

    def forward(self, inputs: torch.Tensor) -> Any:
        if self.data_format == "channels_last":
            inputs = inputs.permute(0, 3, 1, 2)  # a view, channels_last-contiguous already
        if self.features_only:
            return [self._image_out(f, nhwc=False) for f in self.model(inputs)]
        if not self.headless:
            return self.model(inputs)
        features = self.model.forward_features(inputs)
        if self.pooling is not None:
            return self.model.forward_head(features, pre_logits=True)
        if self.head_norm:
            norm = self.model.head.norm
            x = features if self._nhwc_features else features.movedim(1, -1)
            features = torch.nn.functional.layer_norm(x, x.shape[-1:], norm.weight, norm.bias, norm.eps)
            return features if self.data_format == "channels_last" else features.movedim(-1, 1)
        return pytree.tree_map(lambda t: self._image_out(t, nhwc=self._nhwc_features), features)

    def _image_out(self, x: Any, nhwc: bool) -> Any:
        if not isinstance(x, torch.Tensor) or x.ndim != 4:
            return x
        if self.data_format == "channels_last" and not nhwc:
            return x.permute(0, 2, 3, 1)
        if self.data_format == "channels_first" and nhwc:
            return x.permute(0, 3, 1, 2)
        return x

    # ------------------------------------------------------------------------------- freezing

    def _sync_batchnorm_modes(self) -> None:
        """A frozen backbone keeps every running statistic (BatchNorm, EvoNorm, ...) as it is."""
        super()._sync_batchnorm_modes()
        if not self._trainable:
            for module in self.model.modules():
                if any(n.startswith("running_") and b.is_floating_point() for n, b in module.named_buffers(recurse=False)):
                    module.training = False  # this module only: dropout elsewhere keeps training mode

    # -------------------------------------------------------------------------------- helpers

    @property
    def layer_type(self) -> str:
        return f"TimmBackbone[{self.timm_name}]"

    @property
    def data_config(self) -> dict[str, Any]:
        """timm's preprocessing config for this model (input_size, mean, std, interpolation, crop_pct)."""
        return resolve_data_config(self)

    def preprocess_input(self, x: Any) -> Any:
        """Normalise 0-255 RGB images the way this model's weights expect (see `preprocess_input`)."""
        return preprocess_input(x, self.data_config, data_format=self.data_format)

    def _probe_shape(self, create_kwargs: dict[str, Any]) -> tuple[int, ...]:
        """An input shape (N, C, H, W) the model accepts: the layer's, else `img_size`, else timm's default."""
        if self._batch_input_shape is not None and None not in self._batch_input_shape[1:]:
            shape = self._batch_input_shape[1:]
            return (1, *(shape if self.data_format == "channels_first" else (shape[2], shape[0], shape[1])))
        channels, height, width = tuple(self.model.pretrained_cfg.get("input_size", (3, 224, 224)))
        size = create_kwargs.get("img_size")
        if size is not None:
            height, width = (size, size) if isinstance(size, int) else tuple(size)
        return (1, create_kwargs.get("in_chans", channels), height, width)


# ------------------------------------------------------------------------------------ creation

def _standardize_weights(name: str, weights: Any, pretrained: bool) -> Any:
    """None, "imagenet" or a local file path (checked to exist)."""
    if weights is not None and not isinstance(weights, (str, bytes)) and not hasattr(weights, "__fspath__"):
        raise TypeError(f"TimmBackbone {name!r}: weights must be None, 'imagenet' or a file path, "
                        f"received {type(weights).__name__}.")
    if pretrained:
        if weights not in (None, "imagenet"):
            raise ValueError(f"TimmBackbone {name!r}: pretrained=True and weights={weights!r} ask for two sources; "
                             "pass only one.")
        return "imagenet"
    if weights is None or weights == "imagenet":
        return weights
    path = os.fsdecode(weights)
    if not os.path.isfile(path):
        raise ValueError(f"TimmBackbone {name!r}: weights file {path!r} does not exist; pass the path of a timm "
                         "checkpoint (.safetensors, .pth, .bin, .npz), 'imagenet' or None.")
    return path


def _create(name: str, weights: Any, create_kwargs: dict[str, Any], strict: bool) -> nn.Module:
    """Create the timm model, loading `weights` with every checkpoint tensor accounted for."""
    import timm

    overlay = None
    source = weights
    if weights == "imagenet":
        cfg = _pretrained_cfg(name)
        cached = pretrained_files.timm_weights_or_error(name, cfg)  # None: timm downloads it
        if cached is not None:
            overlay, source = dict(file=cached), cached
        else:
            source = f"timm's pretrained weights for {name!r}"
    elif weights is not None:
        overlay = dict(file=weights)
    if overlay is not None and not overlay["file"].endswith(".npz"):
        overlay["custom_load"] = False  # a state dict file, not the original .npz that some configs expect
    report = _LoadReport()
    try:
        with report.capture(enabled=weights is not None):
            model = timm.create_model(name, pretrained=weights is not None, pretrained_cfg_overlay=overlay,
                                      **create_kwargs)
    except Exception as error:
        if isinstance(error, RuntimeError) and "state_dict" in str(error):
            raise ValueError(f"TimmBackbone {name!r}: the checkpoint {source} does not fit the model: {error}") from error
        pooling = create_kwargs.get("global_pool")
        if pooling is None:
            raise
        supported = _supported_poolings(name, create_kwargs)
        if pooling in supported:
            raise
        raise ValueError(
            f"TimmBackbone {name!r}: timm's model does not take pooling={pooling!r} ({type(error).__name__}: "
            f"{error}); it takes pooling=None or one of {supported}."
        ) from None
    if weights is not None:
        report.check(name, source, model, create_kwargs, strict)
    return model


class _LoadReport(logging.Handler):
    """Collects the keys timm's loader reports as missing or unexpected (it only logs them)."""

    _PATTERN = re.compile(r"^(Missing|Unexpected) keys \((.*)\) (?:discovered|found) while loading", re.S)

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.missing: list[str] = []
        self.unexpected: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = self._PATTERN.match(record.getMessage())
        if match:
            keys = [k for k in match.group(2).split(", ") if k]
            (self.missing if match.group(1) == "Missing" else self.unexpected).extend(keys)

    @contextlib.contextmanager
    def capture(self, enabled: bool) -> Iterator[None]:
        if not enabled:
            yield
            return
        logger = logging.getLogger("timm.models._builder")
        level = logger.level
        logger.addHandler(self)
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # timm reports missing keys at INFO
        try:
            yield
        finally:
            logger.removeHandler(self)
            logger.setLevel(level)

    def check(self, name: str, source: Any, model: nn.Module, create_kwargs: dict[str, Any], strict: bool) -> None:
        cfg = getattr(model, "pretrained_cfg", {}) or {}
        classifiers = cfg.get("classifier") or ()
        classifiers = (classifiers,) if isinstance(classifiers, str) else tuple(classifiers)
        # A new classifier (num_classes differs from the checkpoint's) starts untrained, as asked.
        missing = [k for k in self.missing if not any(k.startswith(c + ".") for c in classifiers)]
        unexpected = list(self.unexpected)
        if not (missing or unexpected):
            return
        hint = ""
        if create_kwargs.get("global_pool") is not None:
            hint = (f" pooling={create_kwargs['global_pool']!r} builds timm's model for that pooling, whose tensors "
                    "can differ from the checkpoint's (a ViT with 'avg' uses fc_norm, not the final norm); use the "
                    "pooling the checkpoint was trained with, or pooling=None.")
        what = f"checkpoint tensors without a place in the model {unexpected}" if unexpected else ""
        what += ("; " if what else "") + (f"model tensors the checkpoint lacks {missing}" if missing else "")
        if strict:
            raise ValueError(f"TimmBackbone {name!r}: the checkpoint {source} does not fit the model: {what}."
                             f"{hint} Pass strict=False to load the rest with a warning.")
        if unexpected:
            warnings.warn(f"TimmBackbone {name!r}: strict=False dropped these checkpoint tensors of {source}: "
                          f"{unexpected}.", stacklevel=4)
        if missing:
            warnings.warn(f"TimmBackbone {name!r}: strict=False left these model tensors at their random "
                          f"initialisation ({source} lacks them): {missing}.", stacklevel=4)


def _supported_poolings(name: str, create_kwargs: dict[str, Any]) -> list[str]:
    """The `global_pool` values timm's model accepts, found by building it (on `meta`, no memory) with each."""
    import timm

    supported = []
    for candidate in _POOLING_CANDIDATES:
        kwargs = {**create_kwargs, "global_pool": candidate}
        try:
            with torch.device("meta"):
                timm.create_model(name, pretrained=False, **kwargs)
        except Exception:
            continue
        supported.append(candidate)
    return supported


def _drop_unused(model: nn.Module, input_shape: tuple[int, ...], keep: nn.Module | None = None) -> None:
    """Replace by `Identity` each submodule none of whose tensors `forward_features` reads.

    What counts is the tensors an operation receives (seen by a torch-function mode while the model
    runs on `meta` copies), not which modules get called: tensors reached through methods or
    attributes (MaxViT's relative-position `get_bias()`) count as used.
    """
    used = _tensors_read(model, input_shape)
    if used is None:
        return  # the model could not run on meta or at its default size: keep it whole
    if keep is not None:
        used.update(id(t) for t in itertools.chain(keep.parameters(), keep.buffers()))
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            tensors = [id(t) for t in itertools.chain(child.parameters(), child.buffers())]
            if tensors and not any(t in used for t in tensors):
                setattr(parent, child_name, nn.Identity())


class _Reads(TorchFunctionMode):
    """Records every tensor handed to a torch operation."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[int] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for leaf in pytree.tree_leaves((args, kwargs)):
            if isinstance(leaf, torch.Tensor):
                self.seen.add(id(leaf))
        return func(*args, **kwargs)


def _tensors_read(model: nn.Module, input_shape: tuple[int, ...]) -> set[int] | None:
    """Ids of the model's tensors `forward_features` reads, from a run on a meta copy (or, failing that, on CPU).

    The copy shares nothing with the model (`torch.func.functional_call` is not used: it leaves meta
    tensors behind in models that register one submodule twice, as CoaT does).
    """
    tensors = list(itertools.chain(model.parameters(), model.buffers()))
    memo: dict[int, Any] = {}
    for tensor in tensors:
        meta = torch.empty_like(tensor, device="meta")
        memo[id(tensor)] = nn.Parameter(meta, tensor.requires_grad) if isinstance(tensor, nn.Parameter) else meta
    originals = {id(memo[id(t)]): id(t) for t in tensors}
    try:
        runs = [(copy.deepcopy(model, memo), "meta", originals)]
    except Exception:
        runs = []
    runs.append((model, "cpu", {id(t): id(t) for t in tensors}))
    for runner, device, to_original in runs:
        reads = _Reads()
        try:
            with torch.no_grad(), reads:
                runner.forward_features(torch.zeros(input_shape, device=device))
        except Exception:
            continue
        return {to_original[i] for i in reads.seen if i in to_original}
    return None


def _pretrained_cfg(name: str) -> Any:
    """The config of the weights timm itself loads for `name` (its default tag when none is given)."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url or cfg.file):
        raise ValueError(f"TimmBackbone: timm has no pretrained weights for {name!r}; use weights=None or a local file.")
    return cfg


def resolve_data_config(layer_or_model: Any) -> dict[str, Any]:
    """timm's data config (input_size, mean, std, interpolation, crop_pct, crop_mode) for a backbone."""
    from timm.data import resolve_model_data_config

    model = layer_or_model
    if isinstance(model, TimmBackbone):
        model = model.model
    else:
        found = next((m for m in getattr(model, "modules", lambda: [])() if isinstance(m, TimmBackbone)), None)
        if found is not None:
            model = found.model
    if not isinstance(model, nn.Module):
        raise TypeError(f"resolve_data_config expected a TimmBackbone or timm model, received {type(model).__name__}.")
    return resolve_model_data_config(model)


def preprocess_input(x: Any, data_config: Any, data_format: str | None = None) -> Any:
    """Scale 0-255 RGB images to [0, 1], then normalise by a timm data config's mean and std.

    `data_config` is a config dict or a backbone (its config is resolved). Takes numpy arrays or torch
    tensors, channels_last by default, and returns the same kind (float).
    """
    if not isinstance(data_config, dict):
        data_config = resolve_data_config(data_config)
    data_format = config.standardize_data_format(data_format)
    mean = np.asarray(data_config["mean"], dtype=np.float32)
    std = np.asarray(data_config["std"], dtype=np.float32)
    shape = (-1,) if data_format == "channels_last" else (-1, 1, 1)
    scale, offset = (1.0 / (255.0 * std)).reshape(shape), (-mean / std).reshape(shape)
    if isinstance(x, torch.Tensor):
        x = x.float() if not x.is_floating_point() else x
        return x * torch.as_tensor(scale, dtype=x.dtype, device=x.device) + torch.as_tensor(
            offset, dtype=x.dtype, device=x.device
        )
    x = np.asarray(x)
    x = x.astype(np.float32) if not np.issubdtype(x.dtype, np.floating) else x
    return (x * scale + offset).astype(x.dtype)
