"""Keras's `Variable` surface on plain torch storage.

Why two small tensor subclasses, and not a wrapper or a patch of torch: a layer's weights must
stay what PyTorch expects (an `nn.Parameter` for trainable weights, a buffer for state) so that
`state_dict`, optimizers, DDP and `torch.compile(fullgraph=True)` see nothing new, yet Keras code
calls `w.assign(...)`, `w.numpy()` (on weights that require grad), `w.path`. A subclass of
`nn.Parameter` (and of `Tensor` for state) gives exactly those methods on the stored object
itself. Both set `__torch_function__` to torch's disabled implementation, as `nn.Parameter`
does, so every op on them runs torch's ordinary dispatch and returns plain tensors; the only cost
is torch's check of that attribute for a non-exact tensor type, tens of nanoseconds per op
argument, which the forward/fit benchmarks do not resolve. Both types are registered where torch's
optimizers look for tensor types that may use the foreach/fused kernels (as torch registers its
own DTensor), so optimizer steps stay on the fast path. Patching `torch.Tensor` would cost
nothing but would change `numpy()` for every tensor in the process; a wrapper would break every
PyTorch tool. `state_dict()` holds plain detached tensors, so files and `weights_only` loading are
unchanged.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import torch
from torch import nn
from torch._C import _disabled_torch_function_impl

from . import config

_AUTO_NAMES: dict[str, int] = {}


class Variable(torch.Tensor):
    """A Keras variable: `kt.Variable(initializer, shape=None, dtype=None, trainable=True, name=None)`.

    Trainable variables are `nn.Parameter`s (a layer attribute set to one registers it as a
    parameter); non-trainable ones are registered as buffers. `initializer` is an initializer
    (name, object or callable, needing `shape`) or an array-like value.

    Args:
        initializer: initial value or initializer.
        shape: the shape, needed when `initializer` is not a value.
        dtype: the dtype (default: the value's floating dtype, else `floatx`).
        trainable: whether gradients flow to it and optimizers update it.
        name: the variable's name (default `variable`, `variable_1`, ...).
    """

    __torch_function__ = _disabled_torch_function_impl

    def __new__(cls, initializer: Any = None, shape: Any = None, dtype: Any = None, trainable: bool = True,
                autocast: bool = True, aggregation: str = "none", synchronization: str = "auto",
                name: str | None = None, **kwargs: Any) -> "Variable":
        if kwargs:
            raise TypeError(f"kt.Variable got unexpected keyword arguments: {sorted(kwargs)}.")
        value = initial_value(initializer, shape, dtype)
        if name is None:
            count = _AUTO_NAMES.get("variable", 0)
            _AUTO_NAMES["variable"] = count + 1
            name = "variable" if count == 0 else f"variable_{count}"
        variable = as_variable(value, trainable)
        variable._keras_name = variable._keras_path = str(name)
        return variable

    def __deepcopy__(self, memo: dict) -> "Variable":
        if id(self) not in memo:
            copy = torch.Tensor._make_subclass(Variable, self.detach().clone(memory_format=torch.preserve_format), False)
            copy.__dict__.update(self.__dict__)  # name and path
            memo[id(self)] = copy
        return memo[id(self)]

    # ------------------------------------------------------------------------- Keras's surface

    def assign(self, value: Any) -> "Variable":
        """Copy `value` (same shape, cast to this dtype) into the variable in place."""
        with torch.no_grad():
            self.copy_(torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value,
                                       device=self.device).to(self.dtype).reshape(self.shape))
        return self

    def assign_add(self, value: Any) -> "Variable":
        with torch.no_grad():
            self.add_(torch.as_tensor(value, device=self.device).to(self.dtype))
        return self

    def assign_sub(self, value: Any) -> "Variable":
        with torch.no_grad():
            self.sub_(torch.as_tensor(value, device=self.device).to(self.dtype))
        return self

    @property
    def value(self) -> torch.Tensor:
        """The current value (the tensor itself: ops on it are differentiable, as in Keras)."""
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The value as a numpy array, on weights that require grad too (Keras's behaviour)."""
        value = self.detach()
        if value.dtype == torch.bfloat16:
            value = value.float()
        return value.cpu().numpy()

    @property
    def name(self) -> str:
        return self.__dict__.get("_keras_name", "variable")

    @property
    def path(self) -> str:
        """Keras's path: the names of the layers that built it, then its name (`dense/kernel`)."""
        return self.__dict__.get("_keras_path", self.name)

    @property
    def trainable(self) -> bool:
        return isinstance(self, nn.Parameter) and self.requires_grad

    @trainable.setter
    def trainable(self, value: bool) -> None:
        if not isinstance(self, nn.Parameter):
            if value:
                raise ValueError(
                    f"Variable {self.path!r} was created non-trainable (a buffer), so it cannot become "
                    "trainable; create it with trainable=True instead."
                )
            return
        self.requires_grad_(bool(value))

    @property
    def constraint(self) -> Any:
        return self.__dict__.get("_keras_constraint")

    @property
    def regularizer(self) -> Any:
        return self.__dict__.get("_keras_regularizer")


class TrainableVariable(Variable, nn.Parameter):
    """A trainable Keras variable: an `nn.Parameter` (optimizers, DDP and state_dict see one)."""

    def __new__(cls, data: torch.Tensor | None = None, requires_grad: bool = True) -> "TrainableVariable":
        return nn.Parameter.__new__(cls, data, requires_grad)  # also what `deepcopy` calls

    __repr__ = nn.Parameter.__repr__
    __reduce_ex__ = nn.Parameter.__reduce_ex__

    def __deepcopy__(self, memo: dict) -> "TrainableVariable":
        if id(self) not in memo:
            copy = type(self)(self.data.clone(memory_format=torch.preserve_format), self.requires_grad)
            copy.__dict__.update(self.__dict__)  # name, path, regularizer, constraint
            memo[id(self)] = copy
        return memo[id(self)]


# torch's optimizers (and grad clipping) pick their multi-tensor foreach/fused kernels only for tensor
# types on these lists, compared exactly; torch registers its own DTensor the same way.
for _module in ("torch.optim.optimizer", "torch.utils._foreach_utils"):
    _registry = importlib.import_module(_module)._foreach_supported_types
    for _kind in (Variable, TrainableVariable):
        if _kind not in _registry:
            _registry.append(_kind)


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


def as_variable(value: torch.Tensor, trainable: bool, requires_grad: bool = True) -> Variable:
    """Storage for a weight: a `TrainableVariable` (parameter) or a `Variable` (buffer) over `value`."""
    if trainable:
        return TrainableVariable(value, requires_grad=requires_grad and (value.is_floating_point() or value.is_complex()))
    return torch.Tensor._make_subclass(Variable, value.detach(), False)


def rewrap_state(old: Any, new: torch.Tensor) -> torch.Tensor:
    """After `.to()` replaced a state tensor, keep it a `Variable` with the same name and path."""
    if not isinstance(old, Variable) or isinstance(new, Variable) or not isinstance(new, torch.Tensor):
        return new
    wrapped = torch.Tensor._make_subclass(Variable, new, False)
    wrapped.__dict__.update(old.__dict__)
    return wrapped


def name_weight(weight: torch.Tensor, name: str, path: str) -> None:
    """Record a weight's Keras name and path on the tensor (what `name`/`path` return)."""
    weight._keras_name = name
    weight._keras_path = path
