"""`Wrapper`: the base of layers that hold one inner layer and add behaviour around it."""

from __future__ import annotations

from typing import Any

from .layer import Layer


class Wrapper(Layer):
    """Holds `layer` (under the attribute `layer`, where Keras files keep its weights) and builds it
    with the wrapper; subclasses implement `call`/`forward`.

    Args:
        layer: the wrapped layer (a kerastorch layer, or any `torch.nn.Module`).
    """

    def __init__(self, layer: Any, **kwargs: Any):
        from .torch_module import as_layer

        super().__init__(**kwargs)
        self.layer = as_layer(layer)

    def build(self, input_shape: Any = None) -> None:
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
            self.layer._build_shapes = input_shape  # the inner layer's build_config in saved configs, as in Keras

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the wrapped layer as its serialized entry, so `from_config` builds a new one."""
        from ..saving.serialization import serialize_layer

        return {**super().get_config(), "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Wrapper":
        from ..saving.serialization import deserialize_keras_object

        config = dict(config)
        if isinstance(config.get("layer"), dict):
            config["layer"] = deserialize_keras_object(config["layer"])
        return cls(**config)
