"""Keras's config format for its families of small named callables (regularizers, constraints).

Each family resolves Keras's string identifiers, reads and writes `{"module", "class_name", "config",
"registered_name"}` entries, and records plain functions by name; only the family's tables differ.
"""

from __future__ import annotations

import types
from typing import Any, Callable


class NamedFamily:
    """Serialization of one family: `kind` names it in errors, `module` is Keras's module path."""

    def __init__(self, kind: str, module: str, by_name: dict[str, Callable], by_class_name: dict[str, type]):
        self.kind, self.module = kind, module
        self.by_name, self.by_class_name = by_name, by_class_name

    def serialize(self, obj: Any) -> Any:
        """Keras's entry for `obj`; a plain function is recorded by name, as Keras does."""
        if obj is None:
            return None
        if isinstance(obj, types.FunctionType):
            from .saving.object_registration import get_registered_name  # saving imports this module

            return {"module": "builtins", "class_name": "function", "config": get_registered_name(obj),
                    "registered_name": "function"}
        class_name = type(obj).__name__
        return {
            "module": self.module,
            "class_name": class_name,
            "config": obj.get_config(),
            "registered_name": None if class_name in self.by_class_name else class_name,
        }

    def deserialize(self, config_dict: Any, custom_objects: dict | None = None) -> Any:
        """An object from `serialize`'s output or a string identifier, looking in `custom_objects` first."""
        from .saving.object_registration import lookup_objects  # saving imports this module

        custom_objects = lookup_objects(custom_objects)  # scope, registry (`package>Name`), then these
        if isinstance(config_dict, str):
            found = (custom_objects.get(config_dict) or self.by_name.get(config_dict)
                     or self.by_class_name.get(config_dict))
            if found is None:
                raise ValueError(
                    f"Unknown {self.kind} {config_dict!r}; expected one of {sorted(self.by_name)} or a name in "
                    "custom_objects."
                )
            # Classes and Keras's presets are called for their default instance; a custom function is itself.
            is_factory = isinstance(found, type) or any(found is value for value in self.by_name.values())
            return found() if is_factory else found
        if not isinstance(config_dict, dict) or "class_name" not in config_dict:
            raise TypeError(
                f"{self.kind}s.deserialize expected a config dict or a name, received {config_dict!r}."
            )
        if config_dict["class_name"] == "function":
            name = str(config_dict.get("config"))
            function = custom_objects.get(name) or custom_objects.get(name.split(">")[-1])
            if function is None:
                raise ValueError(
                    f"{self.kind.capitalize()} function {config_dict.get('config')!r} is not known; pass it in "
                    "custom_objects."
                )
            return function
        name = config_dict.get("registered_name") or config_dict["class_name"]
        cls = (custom_objects.get(name) or custom_objects.get(config_dict["class_name"])
               or self.by_class_name.get(config_dict["class_name"]))
        if cls is None:
            raise ValueError(
                f"Unknown {self.kind} class {config_dict['class_name']!r}; pass it in custom_objects to load it."
            )
        return cls.from_config(config_dict.get("config") or {})
