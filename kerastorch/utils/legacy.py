"""`kt.utils.legacy`: Keras 2's (tf.keras) config format, which kerastorch does not read or write."""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["deserialize_keras_object", "serialize_keras_object"]


def _missing(name: str) -> NoReturn:
    raise NotImplementedError(
        f"kt.utils.legacy.{name} is not implemented: it handles tf.keras (Keras 2) configs, and kerastorch reads "
        "and writes only Keras 3's format; use kt.utils.serialize_keras_object / deserialize_keras_object, or "
        "re-save the model with Keras 3."
    )


def serialize_keras_object(instance: Any) -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("serialize_keras_object")


def deserialize_keras_object(identifier: Any, module_objects: Any = None, custom_objects: Any = None,
                             printable_module_name: str = "object") -> Any:
    """Not implemented (raises NotImplementedError)."""
    _missing("deserialize_keras_object")
