"""`Pipeline`: a flat chain of layers applied in order, as one layer (typically preprocessing)."""

from __future__ import annotations

from typing import Any

from torch import nn

from .layer import Layer


class Pipeline(Layer):
    """Applies `layers` one after the other; `training=` and masks are passed to the layers that take them.

    Unlike a `Sequential` model it is a plain layer (no input shape, no graph), which is what Keras
    uses for augmentation/preprocessing chains inside a data pipeline or a model. Without `training=`
    each layer follows its own mode, as every kerastorch layer does (in train mode under `fit`,
    inference otherwise; Keras's Pipeline alone defaults to training).

    Args:
        layers: the layers to chain (kerastorch layers or any `torch.nn.Module`).
        name: the layer's name.
    """

    def __init__(self, layers: list[Any], name: str | None = None):
        from .torch_module import as_layer

        if not isinstance(layers, (list, tuple)):
            raise TypeError(f"Pipeline expected `layers` to be a list of layers, received {type(layers).__name__}.")
        super().__init__(name=name)
        self.layers = nn.ModuleList(as_layer(layer) for layer in layers)  # Keras files keep them under `layers/`

    def forward(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        from .masking import eager_mask, takes_mask

        outputs = inputs
        for layer in self.layers:
            kwargs = {}
            if mask is not None and takes_mask(layer):
                kwargs["mask"] = mask
            if training is not None:
                kwargs["training"] = training
            outputs = layer(inputs, **kwargs)
            mask = eager_mask(outputs)
            inputs = outputs
        return outputs

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the layers as serialized entries (so `from_config` builds new ones) and the name."""
        from ..saving.serialization import serialize_layer

        return {"layers": [serialize_layer(layer) for layer in self.layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Pipeline":
        from ..saving.serialization import deserialize_keras_object

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(f"A Pipeline config needs `layers`, a list of serialized layers; received {layers!r}.")
        layers = [deserialize_keras_object(x) if isinstance(x, dict) else x for x in layers]
        return cls(layers, name=config.get("name"))
