"""Saving and loading: Keras `.keras` / `.weights.h5`, safetensors and torch state dicts."""

from .model_file import load_model, model_from_config, model_from_json, model_to_json, save_model
from .serialization import (
    custom_object_scope, deserialize_keras_object, get_custom_objects, register_keras_serializable,
    serialize_keras_object,
)
from .object_registration import CustomObjectScope, get_registered_name, get_registered_object
from .weights import load_weights, save_weights

__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object", "get_custom_objects",
    "get_registered_name", "get_registered_object", "load_model",
    "load_weights", "model_from_config", "model_from_json",
    "model_to_json", "register_keras_serializable", "save_model", "save_weights", "serialize_keras_object",
]
