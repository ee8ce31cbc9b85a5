"""Keras's `Variable` surface on plain torch storage.

A layer's weights stay exactly what PyTorch expects, an `nn.Parameter` for trainable weights and a
plain tensor buffer for state (DESIGN principle 1: no custom tensor class on the eager path), so
`state_dict`, optimizers (foreach/fused kernels included), DDP and `torch.compile(fullgraph=True)`
see nothing new and no op pays anything. Keras code still calls `w.assign(...)`, `w.numpy()` on
weights that require grad, `w.path`: those few methods are installed on `torch.Tensor` (and
`numpy` on `nn.Parameter`) when kerastorch is imported. Each is new to torch except two: `name`
(torch's read-only tensor name, still returned for tensors that have no Keras name) and
`nn.Parameter.numpy`, which detaches first instead of raising. Why not a tensor subclass: measured
here, a `Parameter` subclass costs 0.6-0.8 us per op argument (torch's `__torch_function__` check
for non-exact tensor types), about +15% on a small MLP's forward and +6% on its train step, and
torch's optimizers drop their multi-tensor kernels for unregistered tensor types.

A weight's Keras name and path live in the tensor's `__dict__` (and in its layer, which restores
them after `copy.deepcopy` or a `.to()` that replaced a buffer).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from . import config

_AUTO_NAMES: dict[str, int] = {}
_TORCH_NAME = torch._C.TensorBase.name  # torch's own (read-only) tensor name


# ------------------------------------------------------------------------ the Keras surface


def _as_value(tensor: torch.Tensor, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        value = torch.as_tensor(np.asarray(value))
    return value.to(device=tensor.device, dtype=tensor.dtype)


def assign(self: torch.Tensor, value: Any) -> torch.Tensor:
    """Copy `value` (cast to this dtype, same number of entries) into the variable in place."""
    with torch.no_grad():
        self.copy_(_as_value(self, value).reshape(self.shape))
    return self


def assign_add(self: torch.Tensor, value: Any) -> torch.Tensor:
    """Add `value` to the variable in place (outside autograd)."""
    with torch.no_grad():
        self.add_(_as_value(self, value))
    return self


def assign_sub(self: torch.Tensor, value: Any) -> torch.Tensor:
    """Subtract `value` from the variable in place (outside autograd)."""
    with torch.no_grad():
        self.sub_(_as_value(self, value))
    return self


def _value(self: torch.Tensor) -> torch.Tensor:
    """The current value: the tensor itself (ops on it are differentiable, as in Keras)."""
    return self


def _name(self: torch.Tensor) -> Any:
    """The Keras name of a weight (`kernel`); torch's own tensor name for other tensors."""
    name = self.__dict__.get("_keras_name")
    return _TORCH_NAME.__get__(self) if name is None else name


def _path(self: torch.Tensor) -> str | None:
    """Keras's path: the names of the layers that built the weight, then its name (`dense/kernel`)."""
    return self.__dict__.get("_keras_path")


def _trainable(self: torch.Tensor) -> bool:
    return isinstance(self, nn.Parameter) and self.requires_grad


def _set_trainable(self: torch.Tensor, value: bool) -> None:
    if isinstance(self, nn.Parameter):
        self.requires_grad_(bool(value))
    elif value:
        raise ValueError(
            f"Variable {self.__dict__.get('_keras_path')!r} is state (a buffer), so it cannot become trainable; "
            "create it with trainable=True instead."
        )


def _numpy(self: nn.Parameter, *, force: bool = False) -> np.ndarray:
    """The value as numpy, also while it requires grad (Keras's `Variable.numpy()`)."""
    value = self.detach()
    if value.dtype == torch.bfloat16:
        value = value.float()
    return torch.Tensor.numpy(value, force=force)


_TENSOR_SURFACE = {
    "assign": assign, "assign_add": assign_add, "assign_sub": assign_sub,
    "value": property(_value), "name": property(_name), "path": property(_path),
    "trainable": property(_trainable, _set_trainable),
    "regularizer": property(lambda self: self.__dict__.get("_keras_regularizer")),
    "constraint": property(lambda self: self.__dict__.get("_keras_constraint")),
}


def _install() -> None:
    for attribute, value in _TENSOR_SURFACE.items():
        existing = torch.Tensor.__dict__.get(attribute)
        if existing is not None and getattr(existing, "fget", existing) is not getattr(value, "fget", value):
            raise RuntimeError(f"torch.Tensor already defines {attribute!r}; kerastorch will not replace it.")
        setattr(torch.Tensor, attribute, value)
    nn.Parameter.numpy = _numpy


_install()


# ------------------------------------------------------------------------------- creating them


class _VariableType(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, nn.Parameter) or (
            isinstance(instance, torch.Tensor) and "_keras_path" in instance.__dict__)


class Variable(metaclass=_VariableType):
    """`kt.Variable(initializer, shape=None, dtype=None, trainable=True, name=None)`.

    Returns an `nn.Parameter` (trainable; a layer attribute set to one registers it as a
    parameter) or a plain tensor (non-trainable; registered as a buffer when set on a layer), with
    Keras's variable methods. `isinstance(w, kt.Variable)` holds for parameters and Keras state.

    Args:
        initializer: initial value (array-like) or initializer (name, object or callable; needs `shape`).
        shape: the shape, needed when `initializer` is not a value.
        dtype: the dtype (default: numpy's dtype for numpy values, else `floatx`/int32).
        trainable: whether gradients flow to it and optimizers update it.
        name: the variable's name (default `variable`, `variable_1`, ...).
    """

    def __new__(cls, initializer: Any = None, shape: Any = None, dtype: Any = None, trainable: bool = True,
                autocast: bool = True, aggregation: str = "none", synchronization: str = "auto",
                name: str | None = None, **kwargs: Any) -> torch.Tensor:
        if kwargs:
            raise TypeError(f"kt.Variable got unexpected keyword arguments: {sorted(kwargs)}.")
        value = initial_value(initializer, shape, dtype)
        if name is None:
            count = _AUTO_NAMES.get("variable", 0)
            _AUTO_NAMES["variable"] = count + 1
            name = "variable" if count == 0 else f"variable_{count}"
        variable = as_variable(value, trainable)
        name_weight(variable, str(name), scoped_path(str(name)))
        return variable


def initial_value(initializer: Any, shape: Any, dtype: Any) -> torch.Tensor:
    """The starting tensor of a variable from a value or an initializer plus a shape."""
    from . import initializers

    if isinstance(initializer, (str, dict, initializers.Initializer)) or (
            callable(initializer) and not isinstance(initializer, torch.Tensor)):
        if shape is None:
            raise ValueError(
                f"kt.Variable with initializer {initializer!r} needs a `shape`; pass shape=... or an initial value."
            )
        torch_dtype = config.standardize_dtype(dtype)
        return torch.as_tensor(initializers.get(initializer)(tuple(shape), dtype=torch_dtype), dtype=torch_dtype)
    if isinstance(initializer, torch.Tensor):
        value = initializer
    elif isinstance(initializer, np.ndarray | np.generic):
        value = torch.as_tensor(initializer)  # numpy keeps its dtype, as in Keras
    else:  # Python numbers and lists: floats in floatx, ints in int32, as in Keras
        array = np.asarray(initializer)
        value = torch.as_tensor(array.astype(config.floatx() if array.dtype.kind == "f" else
                                             "int32" if array.dtype.kind in "iu" else array.dtype))
    if dtype is not None:
        value = value.to(config.standardize_dtype(dtype))
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError(
            f"kt.Variable received an initial value of shape {tuple(value.shape)} but shape={tuple(shape)}; "
            "make them agree."
        )
    return value.detach().clone()


def as_variable(value: torch.Tensor, trainable: bool, requires_grad: bool = True) -> torch.Tensor:
    """Storage for a weight: an `nn.Parameter` (trainable) or the plain tensor itself (state)."""
    if trainable:
        return nn.Parameter(value, requires_grad=requires_grad and (value.is_floating_point() or value.is_complex()))
    return value.detach()


_KERAS_ATTRIBUTES = ("_keras_name", "_keras_path", "_keras_regularizer", "_keras_constraint")


def rewrap_state(old: Any, new: Any) -> Any:
    """After `.to()` replaced a state tensor, give the new one the old one's Keras name and path."""
    if isinstance(old, torch.Tensor) and isinstance(new, torch.Tensor) and new is not old:
        for attribute in _KERAS_ATTRIBUTES:
            if attribute in old.__dict__:
                new.__dict__[attribute] = old.__dict__[attribute]
    return new


_NAME_SCOPES: list["name_scope"] = []


class name_scope:
    """Put the paths of weights and variables created inside under `name` (`outer/dense/kernel`),
    as `keras.name_scope` does.

    Args:
        name: the scope's name (no "/").
        caller: the object that opened the scope; with `deduplicate`, the same caller re-entering a
            scope of the same name adds no level.
        deduplicate: see `caller`.
        override_parent: a path ("x/y") that replaces the enclosing scopes' path inside this one.
    """

    def __init__(self, name: str, caller: Any = None, deduplicate: bool = True, override_parent: str | None = None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"name_scope expects a name without '/', received {name!r}.")
        self.name, self.caller, self.deduplicate, self.override_parent = name, caller, deduplicate, override_parent
        self._entered = False

    def __enter__(self) -> "name_scope":
        parent = _NAME_SCOPES[-1] if _NAME_SCOPES else None
        repeated = parent is not None and self.caller is not None and parent.caller is self.caller and parent.name == self.name
        if not (self.deduplicate and repeated):
            _NAME_SCOPES.append(self)
            self._entered = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._entered:
            _NAME_SCOPES.remove(self)
            self._entered = False


def scoped_path(path: str) -> str:
    """`path` under the enclosing `name_scope` blocks."""
    parts: list[str] = []
    for scope in _NAME_SCOPES:
        if scope.override_parent is not None:
            parts = [part for part in scope.override_parent.split("/") if part]
        parts.append(scope.name)
    return "/".join([*parts, path])


def name_weight(weight: torch.Tensor, name: str, path: str) -> None:
    """Record a weight's Keras name and path on the tensor (what `name`/`path` return)."""
    weight._keras_name = name
    weight._keras_path = path
