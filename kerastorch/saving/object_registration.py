"""What a config may name: registered objects, the active custom-object scope, and `custom_objects`.

`register_keras_serializable` records classes *and* functions under `package>Name`; every reader of
configs (layers, activations, losses and metrics of a compile state, regularizers, constraints)
resolves names through `lookup_objects`, so a registered function loads as a registered class does.
Lookup order is Keras's: the active scope, then the registry, then the explicit `custom_objects`.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, Callable, Iterator

GLOBAL_CUSTOM_OBJECTS: dict[str, Any] = {}  # "package>Name" -> class or function
GLOBAL_CUSTOM_NAMES: dict[Any, str] = {}  # class or function -> "package>Name"

# (custom objects, safe mode) of the load or scope in progress; the bottom entry is the default.
_SCOPE: list[tuple[dict, bool]] = [({}, True)]


def register_keras_serializable(package: str = "Custom", name: str | None = None) -> Callable[[Any], Any]:
    """Decorator: the class or function is saved as `package>name` and loads without `custom_objects`.

    Args:
        package: the first part of the key (`"Custom"` unless given).
        name: the second part; the object's `__name__` by default.
    """

    def register(obj: Any) -> Any:
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"register_keras_serializable: class {obj.__name__} has no get_config(), so it cannot be "
                "serialized; define get_config() returning its constructor arguments."
            )
        key = f"{package}>{name if name is not None else obj.__name__}"
        GLOBAL_CUSTOM_OBJECTS[key] = obj
        GLOBAL_CUSTOM_NAMES[obj] = key
        return obj

    return register


def get_registered_name(obj: Any) -> str:
    """The name `obj` is saved under: its registered `package>Name`, else its `__name__`."""
    try:
        found = GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:  # an unhashable object cannot be registered
        found = None
    return found if found is not None else obj.__name__


def get_registered_object(name: str, custom_objects: dict | None = None,
                          module_objects: dict | None = None) -> Any:
    """The class or function known as `name` (scope, registry, `custom_objects`, `module_objects`), or None."""
    scope = _SCOPE[-1][0]
    for table in (scope, GLOBAL_CUSTOM_OBJECTS, custom_objects or {}, module_objects or {}):
        if name in table:
            return table[name]
    return None


def get_custom_objects() -> dict[str, Any]:
    """The live registry (`package>Name` -> object); entries added to it are found by loads, as in Keras."""
    return GLOBAL_CUSTOM_OBJECTS


def lookup_objects(custom_objects: dict | None = None) -> dict[str, Any]:
    """One table in Keras's priority order (scope over registry over `custom_objects`), for readers of configs."""
    return {**(custom_objects or {}), **GLOBAL_CUSTOM_OBJECTS, **_SCOPE[-1][0]}


@contextlib.contextmanager
def loading_scope(custom_objects: dict | None = None, safe_mode: bool | None = None) -> Iterator[tuple[dict, bool]]:
    """Custom objects and safe mode for every config read inside the block (models' `from_config` too);
    `kt.config.enable_unsafe_deserialization()` turns safe mode off for every load, as in Keras."""
    from ..config import _unsafe_deserialization_enabled

    outer_objects, outer_safe = _SCOPE[-1]
    safe = outer_safe if safe_mode is None else bool(safe_mode)
    scope = ({**outer_objects, **(custom_objects or {})}, safe and not _unsafe_deserialization_enabled())
    _SCOPE.append(scope)
    try:
        yield scope
    finally:
        _SCOPE.pop()


def current_scope() -> tuple[dict, bool]:
    """(custom objects, safe mode) of the load in progress."""
    return _SCOPE[-1]


class CustomObjectScope:
    """`with CustomObjectScope({"name": obj}):` loads inside the block find these objects by name.

    Args:
        custom_objects: `{name: class or function}`; further dicts may follow and are merged.
    """

    def __init__(self, custom_objects: dict | None = None, *more: dict | None):
        for table in (custom_objects, *more):
            if table is not None and not isinstance(table, dict):
                raise TypeError(
                    f"CustomObjectScope expected dicts of {{name: object}}, received {type(table).__name__}; "
                    "pass e.g. {'MyLayer': MyLayer}."
                )
        self.custom_objects: dict[str, Any] = {}
        for table in (custom_objects, *more):
            self.custom_objects.update(table or {})
        self._scope: contextlib.AbstractContextManager | None = None

    def __enter__(self) -> "CustomObjectScope":
        self._scope = loading_scope(self.custom_objects)
        self._scope.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        scope, self._scope = self._scope, None
        scope.__exit__(*exc_info)


custom_object_scope = CustomObjectScope
