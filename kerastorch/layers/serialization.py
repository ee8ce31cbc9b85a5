"""`kt.layers.serialize` / `kt.layers.deserialize`: a layer's Keras config entry and back."""

from __future__ import annotations

from typing import Any


def serialize(layer: Any) -> dict[str, Any]:
    """Keras's entry for `layer`: `{"module", "class_name", "config", "registered_name", ...}`."""
    from ..saving.serialization import serialize_layer

    return serialize_layer(layer)


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Any:
    """The layer (or model) a `serialize` entry describes; custom classes come from `custom_objects`."""
    from ..saving.serialization import deserialize_keras_object

    return deserialize_keras_object(config, custom_objects)
