"""The `compile_config` of `.keras` files: optimizer, loss and metrics, as Keras 3 writes them.

Only the configuration travels (the optimizer's slots do not): a loaded model is compiled the
same way and its optimizer starts fresh, as with Keras files whose optimizer state is skipped.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from torch import nn

_KERAS_MODULES = {"optimizers": "keras.optimizers", "losses": "keras.losses", "metrics": "keras.metrics"}


def get_compile_config(model: nn.Module) -> dict[str, Any] | None:
    """The arguments `model.compile()` received, in Keras's JSON form; None if nothing can be written."""
    from .. import optimizers

    if not getattr(model, "compiled", False):
        return None
    optimizer = model.optimizer
    if not isinstance(optimizer, optimizers.Optimizer):
        warnings.warn(
            f"Model {model.name!r} was compiled with a {type(optimizer).__name__} optimizer, which has no Keras "
            "config, so the file holds no compile state; compile the loaded model yourself.", stacklevel=3)
        return None
    loss, metrics = model._compiled_loss, model._compiled_metrics
    try:
        return {
            "optimizer": _object_config(optimizer, "optimizers"),
            "loss": _value_config(loss.spec, "losses"),
            "loss_weights": loss.weights,
            "metrics": _value_config(metrics.spec, "metrics"),
            "weighted_metrics": _value_config(metrics.weighted_spec, "metrics"),
            "run_eagerly": bool(getattr(model, "run_eagerly", False)),
            "steps_per_execution": getattr(model, "steps_per_execution", 1),
            "jit_compile": bool(model.jit_compile),
        }
    except TypeError as error:
        warnings.warn(f"Model {model.name!r}: the compile state is not saved ({error}).", stacklevel=3)
        return None


def _object_config(obj: Any, kind: str) -> dict[str, Any]:
    from .serialization import get_registered_name, serialize_keras_object

    cls = type(obj)
    builtin = cls.__module__.startswith("kerastorch.")
    return {"module": _KERAS_MODULES[kind] if builtin else cls.__module__, "class_name": cls.__name__,
            "config": serialize_keras_object(obj.get_config()),
            "registered_name": None if builtin else get_registered_name(cls)}


def _value_config(value: Any, kind: str) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_value_config(v, kind) for v in value]
    if isinstance(value, dict):
        return {k: _value_config(v, kind) for k, v in value.items()}
    if hasattr(value, "get_config"):
        return _object_config(value, kind)
    name = getattr(value, "__name__", None)
    if name is not None:
        from .object_registration import get_registered_name

        registered = get_registered_name(value)
        if registered != name:  # a registered function: Keras's entry names it `package>name`
            return {"module": "builtins", "class_name": "function", "config": registered, "registered_name": "function"}
        return {"module": getattr(value, "__module__", None), "class_name": "function", "config": name,
                "registered_name": name}
    raise TypeError(f"{value!r} has no Keras config")


def compile_from_config(model: nn.Module, config: dict[str, Any], custom_objects: dict | None = None) -> None:
    """Compile `model` from a `compile_config`; warns (and leaves it uncompiled) if a part is unknown."""
    try:
        arguments = {
            "optimizer": _object_from(config.get("optimizer") or "rmsprop", "optimizers", custom_objects),
            "loss": _value_from(config.get("loss"), "losses", custom_objects),
            "loss_weights": config.get("loss_weights"),
            "metrics": _value_from(config.get("metrics"), "metrics", custom_objects),
            "weighted_metrics": _value_from(config.get("weighted_metrics"), "metrics", custom_objects),
            "jit_compile": config.get("jit_compile") is True,
        }
    except (ValueError, TypeError) as error:
        warnings.warn(f"The saved compile state could not be restored ({error}); compile the model yourself.",
                      stacklevel=3)
        return
    model.compile(**arguments)


def _object_from(entry: Any, kind: str, custom_objects: dict | None) -> Any:
    import importlib

    if isinstance(entry, str) or entry is None:
        return entry
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ValueError(f"unexpected {kind} entry {entry!r}")
    name = entry["class_name"]
    from .object_registration import lookup_objects
    from .serialization import lookup_function

    if entry.get("class_name") == "function":
        name = str(entry.get("config"))
        found = lookup_function(name, entry.get("registered_name"), custom_objects)
        if found is None:
            raise ValueError(f"function {name!r} is neither registered nor in custom_objects")
        return found
    objects = lookup_objects(custom_objects)
    cls = objects.get(entry.get("registered_name") or name) or objects.get(name)
    if cls is None:
        module = importlib.import_module(f"kerastorch.{kind}")  # our own module only, never one named in the file
        cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise ValueError(f"unknown {kind[:-1]} class {name!r}")
    config = dict(entry.get("config") or {})
    accepted = _accepted(cls)
    if accepted is not None:
        config = {k: v for k, v in config.items() if k in accepted}
    return cls(**config)


def _value_from(value: Any, kind: str, custom_objects: dict | None) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list):
        return [_value_from(v, kind, custom_objects) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _value_from(v, kind, custom_objects) for k, v in value.items()}
    return _object_from(value, kind, custom_objects)


def _accepted(cls: type) -> set[str] | None:
    """Keyword arguments of `cls`, following `**kwargs` up the class chain; None if open-ended."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        parameters = list(inspect.signature(init).parameters.values())
        names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names
    return None
