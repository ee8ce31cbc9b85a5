"""Any timm model as a kerastorch layer, channels_last in and out like a Keras application.

The timm module is held as is (its parameters are the layer's parameters), so pretrained timm
weights, `torch.compile` and timm's own tooling keep working. Images enter as `(N, H, W, C)` and reach
timm as a zero-copy `permute` view (already `channels_last` in memory); feature maps leave the same way.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from .. import config
from ..layers.layer import Layer
from . import pretrained as pretrained_files

_POOLINGS = (None, "avg", "max")


class TimmBackbone(Layer):
    """`timm.create_model(name, ...)` as a layer with Keras's image conventions.

    - Without a classifier (`num_classes=0`, the default) the layer returns `forward_features`:
      a feature map, or with `pooling="avg"`/`"max"` its global average/max over space (as Keras's
      `include_top=False, pooling=...`). Modules that only the dropped head used are removed, so
      parameter counts are those of the features alone.
    - `num_classes=k` (a timm keyword) keeps timm's classifier and returns logits.
    - `features_only=True` returns the list of feature maps at `out_indices` (timm's feature API).
    - `head_norm=True` keeps the classifier head's normalisation (`model.head.norm`, e.g. ConvNeXt's
      LayerNorm) and applies it over channels after pooling, as Keras's ConvNeXt without top does.
    - `pretrained=True` uses cached timm weights (Hugging Face or torch hub cache) or downloads them;
      `weights=path` loads a local checkpoint through timm's `pretrained_cfg_overlay=dict(file=path)`.
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
        weights: str | None = None,
        layer_name: str | None = None,
        trainable: bool = True,
        head_norm: bool = False,
        dtype: Any = None,
        **timm_kwargs: Any,
    ):
        import timm

        if not isinstance(name, str):
            raise TypeError(f"TimmBackbone expected a timm model name (str), received {type(name).__name__}.")
        if pooling not in _POOLINGS:
            raise ValueError(f"TimmBackbone {name!r}: pooling must be None, 'avg' or 'max', received {pooling!r}.")
        if features_only and pooling is not None:
            raise ValueError(f"TimmBackbone {name!r}: pooling does not apply with features_only=True; drop one of them.")
        if out_indices is not None and not features_only:
            raise ValueError(f"TimmBackbone {name!r}: out_indices needs features_only=True.")
        if weights is not None and not isinstance(weights, (str, bytes)) and not hasattr(weights, "__fspath__"):
            raise TypeError(f"TimmBackbone {name!r}: weights must be a file path, received {type(weights).__name__}.")
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
        if self.headless and pooling is not None:
            create_kwargs.setdefault("global_pool", pooling)

        load = bool(pretrained) or weights is not None
        if weights is not None:
            create_kwargs["pretrained_cfg_overlay"] = dict(file=str(weights))
        elif pretrained:
            cfg = _pretrained_cfg(name)
            cached = pretrained_files.timm_weights_or_error(name, cfg)
            if cached is not None:
                create_kwargs["pretrained_cfg_overlay"] = dict(file=cached)

        self.timm_name = name
        self.pooling = pooling
        self.features_only = bool(features_only)
        self.model = timm.create_model(name, pretrained=load, **create_kwargs)
        if self._dtype != torch.float32:
            self.model.to(self._dtype)
        nn.Module.train(self, False)
        self._nhwc_features = getattr(self.model, "output_fmt", "NCHW") == "NHWC"
        self.head_norm = bool(head_norm)
        norm = getattr(getattr(self.model, "head", None), "norm", None)
        if self.head_norm and not (self.headless and isinstance(norm, nn.Module) and hasattr(norm, "weight")):
            raise ValueError(
                f"TimmBackbone {name!r}: head_norm=True needs a headless model whose head has a `norm` layer "
                "(as timm's ConvNeXt); drop head_norm or num_classes/features_only."
            )
        if self.headless:
            self._drop_head_only_modules(keep=norm if self.head_norm else None)
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
        if features.ndim != 4:  # tokens (ViT-like): timm's own pooling knows the class token
            return features if self.pooling is None else self.model.forward_head(features, pre_logits=True)
        spatial = (1, 2) if self._nhwc_features else (2, 3)
        if self.pooling == "avg":
            features = features.mean(spatial)
        elif self.pooling == "max":
            features = features.amax(spatial)
        else:
            features = self._image_out(features, nhwc=self._nhwc_features)
        if self.head_norm:
            norm = self.model.head.norm
            channels_first = features.ndim == 4 and self.data_format == "channels_first"
            x = features.movedim(1, -1) if channels_first else features
            x = torch.nn.functional.layer_norm(x, x.shape[-1:], norm.weight, norm.bias, norm.eps)
            features = x.movedim(-1, 1) if channels_first else x
        return features

    def _image_out(self, x: torch.Tensor, nhwc: bool) -> torch.Tensor:
        if x.ndim != 4:
            return x
        if self.data_format == "channels_last" and not nhwc:
            return x.permute(0, 2, 3, 1)
        if self.data_format == "channels_first" and nhwc:
            return x.permute(0, 3, 1, 2)
        return x

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

    def _drop_head_only_modules(self, keep: nn.Module | None = None) -> None:
        """Replace modules that `forward_features` never calls (dropped head layers) by Identity."""
        size = tuple(self.model.pretrained_cfg.get("input_size", (3, 224, 224)))
        called: set[int] = set() if keep is None else {id(keep)}
        hooks = [m.register_forward_pre_hook(lambda mod, _args: called.add(id(mod))) for m in self.model.modules()]
        try:
            probe = _FeaturesOnly(self.model)
            tensors = itertools.chain(probe.named_parameters(remove_duplicate=False),
                                      probe.named_buffers(remove_duplicate=False))
            state = {k: torch.empty_like(v, device="meta") for k, v in tensors}
            with torch.no_grad():
                out = torch.func.functional_call(probe, state, (torch.empty((1, *size), device="meta"),), strict=False)
        except Exception:
            return  # shape probing failed (unusual model): keep everything, counts are then timm's
        finally:
            for hook in hooks:
                hook.remove()
        if out.ndim != 4:
            return  # token models pool through their head; keep it
        for parent in list(self.model.modules()):
            for child_name, child in list(parent.named_children()):
                unused = not any(id(m) in called for m in child.modules())
                if unused and any(True for _ in child.parameters()):
                    setattr(parent, child_name, nn.Identity())


class _FeaturesOnly(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(x)


def _pretrained_cfg(name: str) -> Any:
    """The config of the weights timm itself loads for `name` (its default tag when none is given)."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None or not (cfg.hf_hub_id or cfg.url or cfg.file):
        raise ValueError(f"TimmBackbone: timm has no pretrained weights for {name!r}; use pretrained=False.")
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
