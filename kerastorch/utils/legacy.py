"""`kt.utils.legacy`: Keras 2's (tf.keras) `{"class_name", "config"}` format for objects with `get_config`.

Classes are named by their registered name (`package>Name` when registered) and found again through
the custom-object scope, the registry, `custom_objects`, then `module_objects`, as tf.keras did.
Nested objects are marked `__passive_serialization__` so that loading rebuilds them too.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..saving.object_registration import CustomObjectScope, get_registered_name, get_registered_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]

_PASSIVE = "__passive_serialization__"


def serialize_keras_object(instance: Any) -> Any:
    """`{"class_name", "config"}` for an object with `get_config`, a function's registered name, or None."""
    instance = inspect.unwrap(instance)
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        config = {}
        for key, item in instance.get_config().items():
            if isinstance(item, str):
                config[key] = item
                continue
            try:
                nested = serialize_keras_object(item)
            except ValueError:  # a plain value (number, list, dict without get_config): kept as it is
                config[key] = item
                continue
            if isinstance(nested, dict) and not isinstance(item, dict):
                nested[_PASSIVE] = True
            config[key] = nested
        return {"class_name": get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return get_registered_name(instance)
    raise ValueError(f"Cannot serialize {instance!r}: it has no get_config() and no __name__.")


def deserialize_keras_object(identifier: Any, module_objects: dict | None = None, custom_objects: dict | None = None,
                             printable_module_name: str = "object") -> Any:
    """The object a legacy config (a dict, or a registered/known name) describes.

    Args:
        identifier: `{"class_name", "config"}`, a name, a function, or None.
        module_objects: extra `{name: object}` looked up last (a module's namespace, as tf.keras passed).
        custom_objects: `{name: object}` for custom classes and functions.
        printable_module_name: how errors name the kind of object.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        cls, config = _class_and_config(identifier, module_objects, custom_objects, printable_module_name)
        with CustomObjectScope(custom_objects or {}):
            return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    if isinstance(identifier, str):
        found = get_registered_object(identifier, custom_objects, module_objects)
        if found is None:
            raise ValueError(
                f"Unknown {printable_module_name}: {identifier!r}; register it with register_keras_serializable or "
                "pass it in custom_objects."
            )
        return found() if inspect.isclass(found) else found
    if inspect.isfunction(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier!r}.")


def _class_and_config(entry: dict, module_objects: dict | None, custom_objects: dict | None,
                      printable_module_name: str) -> tuple[Any, Any]:
    if "class_name" not in entry or "config" not in entry:
        raise ValueError(f"Improper config format for {entry!r}: expected a dict with 'class_name' and 'config'.")
    cls = get_registered_object(entry["class_name"], custom_objects, module_objects)
    if cls is None:
        raise ValueError(
            f"Unknown {printable_module_name}: {entry['class_name']!r}; register it with register_keras_serializable "
            "or pass it in custom_objects."
        )
    config = entry["config"]
    if isinstance(config, list):
        return cls, config
    config = dict(config)
    for key, item in config.items():
        if key == "name":
            continue
        if isinstance(item, dict) and _PASSIVE in item:
            item = {k: v for k, v in item.items() if k != _PASSIVE}
            config[key] = deserialize_keras_object(item, module_objects, custom_objects, "config_item")
        elif isinstance(item, str) and inspect.isfunction(get_registered_object(item, custom_objects, module_objects)):
            config[key] = get_registered_object(item, custom_objects, module_objects)
    return cls, config
