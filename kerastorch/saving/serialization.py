"""Keras 3's JSON config format for layers and models, written and read by kerastorch.

Each layer is `{"module": "keras.layers", "class_name": "Dense", "config": {...},
"registered_name": None, "build_config": {...}}` with Keras's argument names; initializers and
dtypes are nested objects in the same shape, activations are names. The `Layer` base already
records constructor arguments in `get_config()`; this module only converts values to and from
Keras's spelling, so configs are exchangeable with Keras 3 both ways.

Reading a config never imports modules named in it and never runs code: classes come from
kerastorch itself or from `custom_objects`, and a `Lambda` holding Python bytecode is refused
unless `safe_mode=False`, as in Keras.
"""

from __future__ import annotations

import base64
import builtins
import functools
import inspect
import marshal
import types
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import activations, config as kt_config, initializers
from ..layers.layer import Layer
from .object_registration import (  # noqa: F401  (the registry, re-exported here)
    CustomObjectScope, current_scope, custom_object_scope, get_custom_objects, get_registered_name,
    get_registered_object, loading_scope, lookup_objects, register_keras_serializable,
)

# Layer-base arguments that a config never needs (the input shape lives in an InputLayer entry).
_DROPPED_ARGUMENTS = {"input_shape", "batch_size", "input_dim", "batch_input_shape", "input_length"}
# Keras-only arguments that are safe to ignore when they hold their neutral value.
_NEUTRAL = (None, False, [], {}, ())


registered_name = get_registered_name  # the name a custom class or function is stored under


def _is_builtin(cls: type) -> bool:
    return cls.__module__.startswith("kerastorch.")


# =========================================================================== kerastorch -> Keras

def serialize_keras_object(obj: Any) -> Any:
    """A JSON-ready Keras-format description of a layer, model, initializer or plain value."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {str(key): serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, torch.dtype):
        return kt_config.dtype_name(obj)
    if isinstance(obj, (slice, type(Ellipsis), np.ndarray, torch.Tensor)):
        return serialize_value(obj)
    if isinstance(obj, nn.Module):
        return serialize_layer(obj)
    if isinstance(obj, initializers.Initializer):
        return serialize_initializer(obj)
    if isinstance(obj, types.FunctionType) or (callable(obj) and not hasattr(obj, "get_config")):
        return serialize_function(obj)
    if hasattr(obj, "get_config"):
        cls = type(obj)
        if _is_builtin(cls):  # kerastorch.regularizers.L1 is keras.regularizers.L1
            module = "keras." + cls.__module__.split(".")[1]
            return {"module": module, "class_name": cls.__name__,
                    "config": serialize_keras_object(obj.get_config()), "registered_name": None}
        return {"module": cls.__module__, "class_name": cls.__name__,
                "config": serialize_keras_object(obj.get_config()), "registered_name": registered_name(cls)}
    raise TypeError(f"Cannot serialize {obj!r} ({type(obj).__name__}) to a Keras config: it has no get_config().")


def serialize_value(obj: Any) -> dict[str, Any]:
    """Keras's entries for the constants an ops call may hold: slices, `...`, arrays and tensors."""
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start), "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, np.ndarray) and obj.ndim == 0:
        return obj.item()
    kind = "__numpy__" if isinstance(obj, np.ndarray) else "__tensor__"
    array = obj if isinstance(obj, np.ndarray) else obj.detach().cpu().numpy()
    return {"class_name": kind, "config": {"value": array.tolist(), "dtype": kt_config.dtype_name(obj.dtype)}}


_VALUE_CLASSES = ("__slice__", "__ellipsis__", "__numpy__", "__tensor__")


def deserialize_value(value: Any) -> Any:
    """The constant a `serialize_value` entry (or a list/dict of them) stands for; anything else as is."""
    if isinstance(value, list):
        return [deserialize_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get("class_name")
    if kind not in _VALUE_CLASSES:
        return {k: deserialize_value(v) for k, v in value.items()}
    config = value.get("config") or {}
    if kind == "__slice__":
        return slice(config.get("start"), config.get("stop"), config.get("step"))
    if kind == "__ellipsis__":
        return Ellipsis
    array = np.asarray(config.get("value"), dtype=np.dtype(str(config.get("dtype"))))
    return array if kind == "__numpy__" else torch.from_numpy(array)


def serialize_initializer(value: Any) -> Any:
    if value is None:
        return None
    initializer = initializers.get(value)
    if not isinstance(initializer, initializers.Initializer):
        return serialize_function(initializer)
    cls = type(initializer)
    builtin = _is_builtin(cls)
    return {
        "module": "keras.initializers" if builtin else cls.__module__,
        "class_name": cls.__name__,
        "config": serialize_keras_object(initializer.get_config()),
        "registered_name": None if builtin else cls.__name__,
    }


def serialize_activation(value: Any) -> Any:
    if value is None:
        return "linear"
    if isinstance(value, str):
        return value
    name = activations.serialize(value)
    return name if isinstance(name, str) else serialize_function(value)


def serialize_function(fn: Callable) -> Any:
    """A named function by reference (resolved from `custom_objects` on load), a lambda as bytecode."""
    name = getattr(fn, "__name__", None)
    if isinstance(fn, types.FunctionType) and name == "<lambda>":
        return {
            "class_name": "__lambda__",
            "config": {
                "code": base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii"),
                "defaults": serialize_keras_object(fn.__defaults__),
                "closure": serialize_keras_object(tuple(c.cell_contents for c in fn.__closure__))
                if fn.__closure__ else None,
            },
        }
    if name is None:
        raise TypeError(f"Cannot serialize {fn!r} to a Keras config: it is neither a named function nor a layer.")
    return {"module": "builtins", "class_name": "function", "config": registered_name(fn), "registered_name": "function"}


def dtype_policy(dtype: Any) -> dict[str, Any]:
    name = kt_config.dtype_name(kt_config.standardize_dtype(dtype)) if not isinstance(dtype, str) else dtype
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def layer_config(layer: Layer) -> dict[str, Any]:
    """`layer.get_config()` with values in Keras's spelling."""
    from ..layers.core import Lambda
    from ..layers.input_layer import InputLayer

    own = _own_arguments(type(layer))
    result = {}
    for key, value in layer.get_config().items():
        if key in _DROPPED_ARGUMENTS and key not in own:
            continue
        if key not in ("name", "trainable", "dtype") and _is_plain(layer.__dict__.get(key, _MISSING)):
            value = layer.__dict__[key]  # the normalized value, as Keras writes it: kernel_size=3 -> (3, 3)
        if key == "dtype" and not isinstance(layer, InputLayer):
            result[key] = dtype_policy(value)
        elif key.endswith("_initializer"):
            result[key] = serialize_initializer(value)
        elif key == "activation" or key.endswith("_activation"):
            result[key] = serialize_activation(value)
        elif key == "function" and isinstance(layer, Lambda):
            result[key] = serialize_function(value)
        else:
            result[key] = serialize_keras_object(value)
    if isinstance(layer, InputLayer):
        result.update(sparse=False, ragged=False, optional=False)  # Keras's InputLayer flags, never set here
    return result


_MISSING = object()


def _is_plain(value: Any) -> bool:
    """JSON-like values (numbers, strings, None and lists/tuples of them)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, (list, tuple)) and all(_is_plain(v) for v in value)


def _own_arguments(cls: type) -> set[str]:
    """Arguments declared by the layer's own classes (not the Layer base): Embedding's `input_dim`."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is Layer or not issubclass(klass, Layer):
            break
        init = klass.__dict__.get("__init__")
        if init is not None:
            names |= set(inspect.signature(init).parameters)
    return names


def serialize_layer(layer: nn.Module) -> dict[str, Any]:
    """The Keras-format entry for one layer or model (its graph included for models)."""
    from ..layers.torch_module import TorchModuleWrapper
    from ..ops.node import is_operation, serialize_operation

    if is_operation(layer):
        return serialize_operation(layer)
    if isinstance(layer, TorchModuleWrapper) or not isinstance(layer, Layer):
        name = getattr(layer, "name", type(layer).__name__)
        raise ValueError(
            f"Layer {name!r} wraps a plain torch module ({getattr(layer, 'layer_type', type(layer).__name__)}), "
            "which has no Keras config, so the model cannot be saved as `.keras` or JSON; save its weights "
            "with model.save_weights('model.safetensors') and rebuild the architecture in code."
        )
    cls = type(layer)
    builtin = _is_builtin(cls)
    if getattr(layer, "_keras_graph_model", False):  # Sequential/functional: get_config() is Keras's format
        entry = {"module": cls._keras_module if builtin else cls.__module__, "class_name": cls.__name__,
                 "config": layer.get_config(),
                 "registered_name": cls._keras_registered_name if builtin else registered_name(cls)}
        build_config = layer.get_build_config()
        if build_config is not None:
            entry["build_config"] = build_config
    else:
        entry = {"module": "keras.layers" if builtin else cls.__module__, "class_name": cls.__name__,
                 "config": layer_config(layer), "registered_name": None if builtin else registered_name(cls)}
        own_build_config = getattr(layer, "get_build_config", None)  # layers built from several shapes (attention)
        shape = None if own_build_config is not None else _build_input_shape(layer)
        if own_build_config is not None and own_build_config() is not None:
            entry["build_config"] = own_build_config()
        elif shape is not None:
            entry["build_config"] = {"input_shape": shape}
    if getattr(layer, "compiled", False):
        from .compile_state import get_compile_config

        compile_config = get_compile_config(layer)
        if compile_config is not None:
            entry["compile_config"] = compile_config
    return entry


def _build_input_shape(layer: Layer) -> Any:
    from ..layers.input_layer import InputLayer

    if isinstance(layer, InputLayer) or not layer.built:
        return None
    if layer._inbound_nodes and layer._inbound_nodes[0].input_tensors:
        shapes = [list(t.shape) for t in layer._inbound_nodes[0].input_tensors]
    else:  # built eagerly, outside any graph (a subclassed model): the shape its first call saw
        seen = getattr(layer, "_build_shapes", None)
        if seen is None:
            return None
        many = isinstance(seen, list) and all(isinstance(s, (tuple, list)) for s in seen)
        shapes = [[None, *s[1:]] for s in (seen if many else [seen])]
    return shapes[0] if len(shapes) == 1 else shapes


# =========================================================================== Keras -> kerastorch

@functools.lru_cache(maxsize=None)
def builtin_classes() -> dict[str, type]:
    """Every kerastorch layer and model class, by Keras class name."""
    from .. import layers

    table = {
        name: value for name in dir(layers)
        if isinstance(value := getattr(layers, name), type) and issubclass(value, Layer)
    }
    # Model classes (defined in `models/`, which imports this module) are found as Layer subclasses.
    for cls in _subclasses(Layer):
        if cls.__dict__.get("_keras_module") is not None and _is_builtin(cls):
            for name in (cls.__name__, *cls.__dict__.get("_keras_aliases", ())):
                table[name] = cls
    return table


def _subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def _resolve(entry: dict, custom_objects: dict | None) -> type | None:
    objects = lookup_objects(custom_objects)
    for key in (entry.get("registered_name"), entry.get("class_name")):
        if key is not None and key in objects:
            return objects[key]
    from ..ops.node import Operation, is_operation_entry, known_operation

    if is_operation_entry(entry):  # `keras.src.ops.numpy` `Mean`: an ops node
        return Operation if known_operation(entry["module"], entry.get("class_name")) else None
    module = entry.get("module") or ""
    if module == "keras" or module.startswith("keras.") or module.startswith("kerastorch"):
        return builtin_classes().get(entry.get("class_name"))
    return None


def _layer_entries(entry: Any) -> list[dict]:
    """This entry and every layer entry nested in it (the layers of Sequential/functional configs)."""
    if not isinstance(entry, dict):
        return []
    config = entry.get("config")
    children = config.get("layers", []) if isinstance(config, dict) else []
    found = [entry]
    for child in children if isinstance(children, list) else []:
        found += _layer_entries(child)
    return found


def check_config(entry: Any, custom_objects: dict | None = None, safe_mode: bool = True) -> None:
    """Refuse a config up front: unknown classes (all listed) and, in safe mode, Python bytecode."""
    if not isinstance(entry, dict) or "class_name" not in entry or "config" not in entry:
        raise ValueError(
            "Expected a Keras layer/model config: a dict with 'class_name' and 'config' keys, received "
            f"{type(entry).__name__}{' with keys ' + str(sorted(entry)) if isinstance(entry, dict) else ''}."
        )
    entries = _layer_entries(entry)
    unknown = sorted({f"{e.get('class_name')} (module {e.get('module')!r})" for e in entries
                      if _resolve(e, custom_objects) is None})
    if unknown:
        raise ValueError(
            f"The config uses classes that kerastorch does not know: {', '.join(unknown)}; pass custom "
            "classes as custom_objects={'Name': cls}."
        )
    if safe_mode:
        lambdas = [e["config"].get("name", "?") for e in entries if _holds_bytecode(e.get("config"))]
        if lambdas:
            raise ValueError(
                f"The config holds Python bytecode (Lambda layers {lambdas}), and loading it would run "
                "arbitrary code, so it is refused; if you trust the file, pass safe_mode=False."
            )


def _holds_bytecode(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("class_name") == "__lambda__":
            return True
        return any(_holds_bytecode(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_bytecode(v) for v in value)
    return False


def deserialize_keras_object(entry: Any, custom_objects: dict | None = None, safe_mode: bool | None = None) -> Any:
    """The object a Keras-format config describes: a layer or model (its config checked as a whole first), a
    function, a loss, metric, optimizer, initializer, regularizer or constraint; plain values come back as
    they are (lists and dicts with their items read).

    `safe_mode=None` keeps the surrounding load's setting (True outside any load).
    """
    with loading_scope(custom_objects, safe_mode) as (objects, safe):
        if isinstance(entry, list):
            return [deserialize_keras_object(item) for item in entry]
        if not isinstance(entry, dict):
            return entry
        if "class_name" not in entry:
            return {key: deserialize_keras_object(value) for key, value in entry.items()}
        if entry["class_name"] in ("function", "__lambda__"):
            return function_from(entry, objects, safe)
        if entry["class_name"] in _VALUE_CLASSES:
            return deserialize_value(entry)
        reader = _OBJECT_READERS.get(entry.get("module"))
        if reader is not None:
            return reader(entry, lookup_objects(objects))
        kind = _compile_kind(entry.get("module"))
        if kind is not None:
            from .compile_state import _object_from

            return _object_from(entry, kind, objects)
        check_config(entry, objects, safe)
        return _deserialize(entry, objects, safe)


def _compile_kind(module: Any) -> str | None:
    """"losses", "metrics" or "optimizers" for Keras's (and kerastorch's) modules of those objects."""
    for kind in ("losses", "metrics", "optimizers"):
        if isinstance(module, str) and (module in (f"keras.{kind}", f"kerastorch.{kind}")
                                        or module.startswith((f"keras.{kind}.", f"kerastorch.{kind}.",
                                                              f"keras.src.{kind}.", f"keras.src.backend.torch.{kind}"))):
            return kind
    return None


def _read_regularizer(entry: dict, custom_objects: dict) -> Any:
    from .. import regularizers

    return regularizers.deserialize(entry, custom_objects)


def _read_constraint(entry: dict, custom_objects: dict) -> Any:
    from .. import constraints

    return constraints.deserialize(entry, custom_objects)


# Keras objects other than layers that a config may hold, by their Keras module.
_OBJECT_READERS: dict[str, Callable[[dict, dict], Any]] = {
    "keras.regularizers": _read_regularizer,
    "keras.constraints": _read_constraint,
    "keras.initializers": lambda entry, custom_objects: initializer_from(entry, custom_objects),
}


def _deserialize(entry: dict, custom_objects: dict | None, safe_mode: bool) -> Layer:
    cls = _resolve(entry, custom_objects)
    config = entry["config"]
    from ..ops.node import Operation

    if cls is Operation:
        return Operation.from_config(entry["module"], entry["class_name"], config)
    if getattr(cls, "_keras_graph_model", False) and isinstance(config, dict) and (
            "layers" in config or "input_layers" in config):
        return cls.from_config(config)  # Sequential/functional: reads its layers in the current scope
    arguments = layer_arguments(cls, config, custom_objects, safe_mode)
    model = cls.from_config(arguments) if hasattr(cls, "from_config") else cls(**arguments)
    shape = (entry.get("build_config") or {}).get("input_shape")
    if isinstance(model, Layer) and not model.built and shape is not None:
        model.build(_shape_tuple(shape))
        model.built = True
    return model


def _shape_tuple(shape: Any) -> Any:
    if isinstance(shape, list) and shape and all(isinstance(s, list) for s in shape):
        return [tuple(s) for s in shape]
    return tuple(shape)


def accepted_arguments(cls: type) -> set[str]:
    """Keyword arguments `cls(...)` accepts, following `**kwargs` up to the Layer base."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names |= {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if klass is Layer:
            return (names | {"batch_input_shape", "autocast", "input_length"}) - {"self"}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            return names - {"self"}
    return names - {"self"}


def layer_arguments(cls: type, config: dict, custom_objects: dict | None, safe_mode: bool) -> dict[str, Any]:
    """Constructor arguments for `cls` from a Keras config: values converted, Keras-only extras dropped."""
    from ..layers.core import Lambda

    arguments = {}
    for key, value in config.items():
        if key == "dtype":
            value = _dtype_from(value)
        elif key.endswith("_initializer") and isinstance(value, dict):
            value = initializer_from(value, custom_objects)
        elif (key == "activation" or key.endswith("_activation")) and isinstance(value, dict):
            value = function_from(value, custom_objects, safe_mode)
        elif key == "function" and issubclass(cls, Lambda):
            value = function_from(value, custom_objects, safe_mode)
        arguments[key] = value
    if issubclass(cls, Layer):
        accepted = accepted_arguments(cls)
        unsupported = {k: v for k, v in arguments.items() if k not in accepted and v not in _NEUTRAL}
        if unsupported:
            raise ValueError(
                f"The config of {cls.__name__} {config.get('name')!r} sets arguments kerastorch's {cls.__name__} "
                f"does not support: {unsupported}; remove them from the config or use a custom layer."
            )
        arguments = {k: v for k, v in arguments.items() if k in accepted}
    return arguments


def _dtype_from(value: Any) -> Any:
    if isinstance(value, dict):
        return (value.get("config") or {}).get("name", kt_config.floatx())
    return value


def initializer_from(entry: dict, custom_objects: dict | None = None) -> Any:
    class_name = entry.get("class_name")
    cls = (custom_objects or {}).get(class_name) or initializers._BY_CLASS_NAME.get(class_name)
    if cls is None:
        raise ValueError(f"Unknown initializer class {class_name!r} in the config; pass it in custom_objects.")
    config = dict(entry.get("config") or {})
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unsupported = {k: v for k, v in config.items() if k not in accepted and v not in _NEUTRAL}
    if unsupported:
        raise ValueError(f"Initializer {class_name} in the config sets unsupported arguments {unsupported}.")
    return cls(**{k: v for k, v in config.items() if k in accepted})


def function_from(entry: Any, custom_objects: dict | None, safe_mode: bool) -> Callable:
    """A function from its config: a name, a reference (via custom_objects), or, if allowed, bytecode."""
    if isinstance(entry, str):
        return (custom_objects or {}).get(entry) or activations.get(entry)
    if not isinstance(entry, dict):
        raise ValueError(f"Expected a function config, received {entry!r}.")
    if entry.get("class_name") == "__lambda__":
        if safe_mode:
            raise ValueError(
                "The config holds a Python lambda as bytecode; loading it would run arbitrary code, so it is "
                "refused. If you trust the file, pass safe_mode=False."
            )
        return _function_from_bytecode(entry["config"])
    name = entry.get("config")
    if not isinstance(name, str):
        raise ValueError(f"Expected a function config naming the function, received {entry!r}.")
    found = lookup_function(name, entry.get("registered_name"), custom_objects)
    if found is not None:
        return found
    try:
        return activations.get(entry.get("config"))
    except ValueError:
        raise ValueError(
            f"The config refers to function {name!r} (module {entry.get('module')!r}), which kerastorch does not "
            f"know; pass it as custom_objects={{{name!r}: fn}}."
        ) from None


def lookup_function(name: str, registered: str | None = None, custom_objects: dict | None = None) -> Callable | None:
    """A custom function a config names: by its `package>name` (registry or scope) or, as Keras reads files
    written before 3.7 that saved only the plain name, by a `custom_objects` key or a registered `*>name`."""
    objects = lookup_objects(custom_objects)
    for key in (name, name.split(">")[-1], registered):
        if key in objects and key != "function":
            return objects[key]
    if ">" not in name:
        matches = [obj for key, obj in objects.items() if key.endswith(f">{name}")]
        if matches:
            return matches[0]
    return None


def _function_from_bytecode(config: dict) -> Callable:
    """Rebuild a lambda from Keras's base64 marshal format (only ever called with safe_mode=False)."""
    try:
        code = marshal.loads(base64.decodebytes(config["code"].encode("ascii")))
    except (ValueError, EOFError, TypeError) as error:
        raise ValueError(
            "Cannot rebuild the Lambda function: its bytecode was written by another Python version or is "
            f"corrupt ({error}); recreate the layer in code."
        ) from error
    defaults = tuple(config["defaults"]) if config.get("defaults") is not None else None
    closure = tuple(types.CellType(v) for v in config["closure"]) if config.get("closure") else None
    scope = {"__builtins__": builtins, "torch": torch}
    return types.FunctionType(code, scope, code.co_name, defaults, closure)
