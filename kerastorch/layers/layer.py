"""The Layer base class: a `torch.nn.Module` with Keras's naming, deferred build and weight API.

A layer is the module itself. Parameters are ordinary `nn.Parameter`s, non-trainable state is a
buffer, and once `build()` has run nothing lazy is left on the call path but one `built` test and,
where a layer declares an `InputSpec`, a shape comparison.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import re
import sys
import types
from typing import Any, Iterator

import numpy as np

import torch
from torch import nn

from .. import config, constraints, initializers, regularizers, variables
from . import loss_tracking
from .input_spec import InputSpec

_NAME_COUNTS: dict[str, int] = {}
_BUILD_DEVICE: list[torch.device] = [torch.device("cpu")]
_FIRST_CALLS: list["Layer"] = []  # layers inside their first (building) call: Keras's weight paths


def unique_name(base: str) -> str:
    """Keras's per-process auto names: `dense`, `dense_1`, `dense_2`, ..."""
    count = _NAME_COUNTS.get(base, 0)
    _NAME_COUNTS[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def snake_case(name: str) -> str:
    """`Conv2DTranspose` -> `conv2d_transpose`, `R2Score` -> `r2_score`: Keras's one rule for auto
    names and for the group names of weight files."""
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# While a model file is read, the bytes its weights may take (what the file stores): a config that
# declares far bigger weights is refused before they are allocated. Empty: no limit.
_WEIGHT_BUDGET: list[list] = []
_IN_TRAIN_SWITCH: list["Layer"] = []  # the layer whose train()/eval() call is walking its tree
# Bumped whenever a layer gains or loses a submodule, weight or other object attribute, or is converted
# (`.to()`): what the trainer read from a model's tree stays valid while this number is unchanged.
STRUCTURE_VERSION = [0]
# Attribute values nn.Module.__setattr__ would only store: set directly (layer construction sets dozens).
_PLAIN_VALUE_TYPES = frozenset({str, int, float, bool, type(None), tuple, list, dict, set, types.FunctionType,
                                torch.dtype, torch.device})


def _is_metric(value: Any) -> bool:
    """Whether `value` is a kerastorch metric (none can exist before the metrics module is imported)."""
    module = sys.modules.get("kerastorch.metrics.metric")
    return module is not None and isinstance(value, module.Metric)


@contextlib.contextmanager
def weight_budget(limit_bytes: int, source: str) -> Iterator[None]:
    """Refuse (ValueError) any `add_weight` in this block that would take the total beyond `limit_bytes`."""
    _WEIGHT_BUDGET.append([int(limit_bytes), source])
    try:
        yield
    finally:
        _WEIGHT_BUDGET.pop()


def _UNINITIALIZED(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Memory for a weight that a model file is about to fill: no random numbers drawn."""
    return torch.empty(shape, dtype=dtype, device=device)


def _charge_weight(layer: "Layer", name: str | None, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    budget = _WEIGHT_BUDGET[-1]
    size = math.prod(shape) * torch.empty(0, dtype=dtype).element_size()
    if size > budget[0]:
        raise ValueError(
            f"{budget[1]}: layer {layer.name!r} declares a weight {name or ''!r} of shape {shape} ({size:,} bytes), "
            f"more than the file's weights hold in all ({budget[0]:,} bytes left), so the config does not match "
            "its weights; nothing was allocated. The file is damaged or crafted."
        )
    budget[0] -= size


@contextlib.contextmanager
def build_device(device: torch.device | str) -> Iterator[None]:
    """Weights created by `add_weight` inside this block go to `device` (the input's device)."""
    _BUILD_DEVICE.append(torch.device(device))
    try:
        yield
    finally:
        _BUILD_DEVICE.pop()


@contextlib.contextmanager
def weight_path_scope(layer: "Layer") -> Iterator[None]:
    """Weights created in this block get Keras paths under `layer` (`sequential/dense/kernel`)."""
    if _FIRST_CALLS and _FIRST_CALLS[-1] is layer:
        yield
        return
    _FIRST_CALLS.append(layer)
    try:
        yield
    finally:
        _FIRST_CALLS.pop()


def shape_of(inputs: Any) -> Any:
    """Shape tuple(s) of a tensor, symbolic tensor, or list/tuple/dict of them."""
    if isinstance(inputs, (list, tuple)):
        return [shape_of(x) for x in inputs]
    if isinstance(inputs, dict):
        return {k: shape_of(v) for k, v in inputs.items()}
    shape = getattr(inputs, "shape", None)
    return None if shape is None else tuple(shape)


def first_tensor(inputs: Any) -> Any:
    """The first leaf of a (possibly nested) input structure; it decides symbolic vs eager."""
    while isinstance(inputs, (list, tuple, dict)):
        if not inputs:
            return None
        inputs = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs[0]
    return inputs


def cast_floats(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A float tensor in `dtype` (Keras's input autocast); ints and autocast regions pass unchanged."""
    if tensor.dtype == dtype or not tensor.is_floating_point() or not dtype.is_floating_point:
        return tensor
    if torch.is_autocast_enabled(tensor.device.type):
        return tensor  # mixed precision: torch.autocast picks the compute dtype per op
    return tensor.to(dtype)


def converted_dtype(fn: Any, dtype: torch.dtype) -> torch.dtype:
    """The dtype a module conversion (`fn` given to `nn.Module._apply`) turns `dtype` into."""
    try:
        return fn(torch.empty(0, dtype=dtype)).dtype
    except Exception:  # a conversion that cannot run on an empty CPU tensor leaves dtypes alone
        return dtype


def _is_weight_buffer(tensor: torch.Tensor) -> bool:
    # Keras counts float state (BatchNorm moving statistics) as weights; integer counters are not,
    # unless a layer marks one that Keras saves (Normalization's `count`).
    return tensor.is_floating_point() or tensor.is_complex() or getattr(tensor, "_keras_int_weight", False)


class Layer(nn.Module):
    """Base class of every kerastorch layer and model.

    Subclasses either implement `forward` like any module, or Keras-style `build(input_shape)` and
    `call(inputs)`. Constructor arguments are recorded automatically, so `get_config()` returns them
    and `from_config()` rebuilds the layer without each layer writing its own.
    """

    def __new__(cls, *args, **kwargs):
        layer = super().__new__(cls)
        object.__setattr__(layer, "_init_arguments", (args, kwargs))
        return layer

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            cls.build = _marking_built(build)
        if "_mask_flow" not in cls.__dict__ and ("compute_mask" in cls.__dict__ or _call_takes_mask(cls)):
            cls._mask_flow = True  # a custom layer that makes or reads masks gets them in eager calls too
        if "compute_mask" in cls.__dict__ and "_makes_masks" not in cls.__dict__:
            cls._makes_masks = not cls.__module__.startswith("kerastorch.")  # a user's compute_mask may make one

    def __init__(
        self,
        *,
        name: str | None = None,
        trainable: bool = True,
        dtype: Any = None,
        input_shape: tuple | int | None = None,
        batch_size: int | None = None,
        input_dim: int | None = None,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ):
        super().__init__()
        unknown = set(kwargs) - {"batch_input_shape", "autocast", "input_length"}
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(unknown)}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, received {name!r}.")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.built = False
        self.training = False  # like Keras, calling a layer means inference until fit() or .train()
        self._trainable = bool(trainable)
        self._dtype = config.standardize_dtype(dtype)
        self.input_spec: InputSpec | None = None
        self._inbound_nodes: list = []
        self._keras_layouts: dict[str, tuple[int, ...]] = {}
        self._pending_weight_names: dict[int, str] = {}
        self._losses: list[torch.Tensor] = []  # add_loss terms of the current call (see loss_tracking)
        self._regularizers: dict[str, Any] = {}  # weight name -> penalty, evaluated when `losses` is read
        self._constraints: dict[str, Any] = {}  # weight name -> projection applied after optimizer steps
        if activity_regularizer is not None:
            self.activity_regularizer = activity_regularizer
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if isinstance(input_shape, int):
            input_shape = (input_shape,)
        batch_input_shape = kwargs.get("batch_input_shape")
        if input_shape is not None:
            batch_input_shape = (batch_size, *input_shape)
        self._batch_input_shape = tuple(batch_input_shape) if batch_input_shape is not None else None

    # ----------------------------------------------------------------------------------- naming

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    @property
    def dtype(self) -> str:
        """The weights' dtype as Keras spells it ("float32")."""
        return config.dtype_name(self._dtype)

    # ------------------------------------------------------------------------------------ build

    def build(self, input_shape: Any) -> None:
        """Create the layer's weights for `input_shape`; the default layer has none."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.built and args and isinstance(args[0], torch.Tensor):  # the hot path: one test, one check
            if self.input_spec is not None:
                self.input_spec.check(self, args[0])
            if kwargs:
                kwargs = _drop_unaccepted(self, kwargs)
            if self._mask_flow and not torch.compiler.is_compiling():
                return self._eager_call_with_masks(args, kwargs)
            return nn.Module.__call__(self, *args, **kwargs)
        if not self.built and (not _FIRST_CALLS or _FIRST_CALLS[-1] is not self):
            with weight_path_scope(self):  # weights built inside get paths `outer/inner/kernel`, as in Keras
                return Layer.__call__(self, *args, **kwargs)
        if kwargs:
            kwargs = _drop_unaccepted(self, kwargs)
        if args and isinstance(first_tensor(args[0]), np.ndarray):
            args = (self._arrays_as_tensors(args[0]), *args[1:])  # numpy in, like Keras and Sequential
        inputs = args[0] if args else kwargs.get("inputs")
        if _is_symbolic(first_tensor(inputs)):
            from ..symbolic import call_symbolic

            return call_symbolic(self, args, kwargs)
        if not self.built:
            if isinstance(inputs, torch.Tensor) and args and args[0] is inputs:
                inputs = cast_floats(inputs, self._dtype)  # Keras casts float inputs to the layer's dtype
                args = (inputs, *args[1:])
            self._build_for(inputs)
        if self.input_spec is not None and isinstance(inputs, torch.Tensor):
            self.input_spec.check(self, inputs)
        if self._mask_flow and not torch.compiler.is_compiling():
            return self._eager_call_with_masks(args, kwargs)
        return nn.Module.__call__(self, *args, **kwargs)

    # ------------------------------------------------------------------------------------ masks

    # Layers that produce or consume masks (Embedding, Masking, RNNs, attention, mask-taking custom
    # calls) set this, so standalone eager calls read and attach `_keras_mask` as Keras does; models
    # carry masks explicitly instead, decided when they are built (see `layers/masking.py`).
    _mask_flow = False

    @property
    def supports_masking(self) -> bool:
        """Whether `compute_mask` gives this layer's output mask (else masks stop here), as in Keras."""
        value = self.__dict__.get("_supports_masking")
        if value is None:  # Keras: a layer that overrides compute_mask supports masking
            return type(self).compute_mask is not Layer.compute_mask
        return value

    @supports_masking.setter
    def supports_masking(self, value: bool) -> None:
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> Any:
        """The output mask for `inputs` given their mask; by default the mask passes through."""
        return previous_mask

    # Whether the layer makes a mask from unmasked inputs (Embedding(mask_zero), Masking, a custom
    # compute_mask); other mask-flow layers only carry masks they receive.
    _makes_masks = False

    def _eager_call_with_masks(self, args: tuple, kwargs: dict) -> Any:
        from .masking import any_eager_mask, apply_with_masks, attach_masks, eager_mask

        if not self._makes_masks and not any_eager_mask(args, kwargs):  # nothing to carry: a plain call
            return nn.Module.__call__(self, *args, **kwargs)
        outputs, masks = apply_with_masks(self, args, kwargs, eager_mask, functools.partial(nn.Module.__call__, self))
        attach_masks(outputs, masks)
        return outputs

    def _arrays_as_tensors(self, inputs: Any) -> Any:
        """Numpy arrays in `inputs` as tensors on the layer's device, floats in the layer's dtype."""
        if isinstance(inputs, (list, tuple)):
            return type(inputs)(self._arrays_as_tensors(x) for x in inputs)
        if isinstance(inputs, dict):
            return {k: self._arrays_as_tensors(v) for k, v in inputs.items()}
        if not isinstance(inputs, np.ndarray):
            return inputs
        state = next(self.parameters(), None)
        if state is None:
            state = next(self.buffers(), None)
        device = _BUILD_DEVICE[-1] if state is None else state.device
        return cast_floats(torch.as_tensor(inputs, device=device), self._dtype)

    def _build_for(self, inputs: Any) -> None:
        """Build from real or symbolic inputs, on the device of real ones."""
        device = getattr(first_tensor(inputs), "device", None)
        if device is None or device.type == "meta":
            device = _BUILD_DEVICE[-1]
        with build_device(device):
            self.build(shape_of(inputs))
        self.built = True
        if device.type != "meta" and getattr(first_tensor(inputs), "device", device).type != "meta":
            # What the first real call saw, so a summary can show output shapes without a graph.
            from ..symbolic import symbolic_like

            self._first_inputs = symbolic_like(inputs)

    def _apply(self, fn: Any, recurse: bool = True) -> "Layer":
        """`.to(dtype)`, `.half()`, `.double()`: the layer's dtype follows, so inputs are cast to it.

        State tensors replaced by the conversion stay Keras variables (parameters are kept in place).
        """
        STRUCTURE_VERSION[0] += 1
        states = {k: b for k, b in self._buffers.items() if isinstance(b, variables.Variable)}
        result = super()._apply(fn, recurse)
        for key, old in states.items():
            self._buffers[key] = variables.rewrap_state(old, self._buffers[key])
        self._dtype = converted_dtype(fn, self._dtype)
        return result

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Keras-style layers implement `call`; built-in layers override `forward` directly.

        Like Keras, a `call` is a loss scope (the outermost one clears `losses` first), and an
        explicit `training=` sets the mode of everything inside for this call, whether or not
        `call` takes the argument itself.
        """
        call = getattr(self, "call", None)
        if call is None:
            raise NotImplementedError(f"Layer {self.name!r} ({type(self).__name__}) implements neither call() nor forward().")
        training = kwargs.get("training")
        if kwargs and not _accepts(call, "training"):
            kwargs.pop("training", None)
        if training is not None and bool(training) != self.training:
            previous = self.training
            self.train(bool(training))
            try:
                return self.forward(*args, **kwargs)
            finally:
                self.train(previous)
        loss_tracking.enter_scope(self)
        try:
            return call(*args, **kwargs)
        finally:
            loss_tracking.exit_scope()

    # ----------------------------------------------------------------------------------- losses

    def add_loss(self, loss: Any) -> None:
        """Add a scalar loss term (a tensor, or a list of them) to `losses` for the current call."""
        from ..symbolic import flatten

        terms = flatten(loss)
        for term in terms:
            if not isinstance(term, torch.Tensor):
                raise ValueError(
                    f"Layer {self.name!r}: add_loss() expected tensors computed in call(), received {term!r}; "
                    "wrap constants with torch.tensor or kt.ops.convert_to_tensor."
                )
        loss_tracking.mark_source(self)
        self._losses.extend(t for t in terms if t.device.type != "meta")  # shape inference adds nothing

    @property
    def losses(self) -> list[torch.Tensor]:
        """Scalar losses of the last call (`add_loss`, activity penalties, sublayers'), then weight penalties."""
        return loss_tracking.collect_losses(self)

    @property
    def activity_regularizer(self) -> Any:
        """A penalty of the layer's outputs (divided by the batch size) added to `losses` each call."""
        return self.__dict__.get("_activity_regularizer")

    @activity_regularizer.setter
    def activity_regularizer(self, value: Any) -> None:
        value = regularizers.get(value)
        self.__dict__["_activity_regularizer"] = value
        if value is not None and self.__dict__.get("_activity_hook") is None:
            loss_tracking.mark_source(self)
            self.__dict__["_activity_hook"] = self.register_forward_hook(loss_tracking.activity_hook)
            loss_tracking.remove_scope_hooks(self)  # the scope must close after the penalty: register it last
            loss_tracking.add_scope_hooks(self)

    def add_module(self, name: str, module: nn.Module | None) -> None:
        """Register a child; a child that adds losses makes this layer's calls clear them first."""
        STRUCTURE_VERSION[0] += 1
        super().add_module(name, module)
        if loss_tracking._SOURCES[0] and module is not None:
            loss_tracking.scope_if_sources(self, module)

    def __ror__(self, inputs: Any) -> Any:
        """`x | layer` is `layer(x)`, for tensors and symbolic inputs alike."""
        return self(inputs)

    # ---------------------------------------------------------------------------------- weights

    def add_weight(
        self,
        shape: tuple[int, ...] | None = None,
        initializer: Any = "glorot_uniform",
        dtype: Any = None,
        trainable: bool = True,
        name: str | None = None,
        layout: tuple[int, ...] | None = None,
        regularizer: Any = None,
        constraint: Any = None,
        autocast: bool = True,
        aggregation: str = "none",
        overwrite_with_gradient: bool = False,
    ) -> torch.Tensor:
        """Create a weight (a Parameter, or a buffer when `trainable=False`) and register it.

        `shape` is in Keras layout; `layout` is the permutation that turns it into the stored
        layout (Conv2D stores `(out, in, kh, kw)` = Keras `(kh, kw, in, out)`.permute(3, 2, 0, 1)),
        and `get_weights`/`set_weights` undo it so they always speak Keras layout. `regularizer`
        adds its penalty of the weight to `losses`; `constraint` projects the weight after each
        optimizer step (both see the weight in Keras layout).
        """
        _check_weight_options(self, name, autocast, aggregation, overwrite_with_gradient)
        shape = tuple(int(s) for s in (shape or ()))
        dtype = config.standardize_dtype(dtype) if dtype is not None else self._dtype
        if _WEIGHT_BUDGET:
            _charge_weight(self, name, shape, dtype)
            initializer = _UNINITIALIZED  # the file's values replace every weight (or the load fails)
        with torch.no_grad():
            try:
                value = initializers.get(initializer)(shape, dtype=dtype, device=_BUILD_DEVICE[-1])
            except RuntimeError as error:
                if dtype.is_floating_point or dtype.is_complex:
                    raise
                raise ValueError(
                    f"Layer {self.name!r} has dtype {config.dtype_name(dtype)}, but its weight {name or ''!r} uses "
                    f"initializer {initializer!r}, which needs a floating dtype; pass dtype='float32' (or another "
                    "float) to the layer."
                ) from error
            value = torch.as_tensor(value, dtype=dtype, device=_BUILD_DEVICE[-1])
            if layout is not None:
                value = value.permute(layout)
            value = value.contiguous()
        if name is None:
            name = f"variable_{len(self._parameters) + len(self._buffers)}" if (
                self._parameters or self._buffers
            ) else "variable"
        if layout is not None:
            self._keras_layouts[name] = tuple(layout)
        if self.__dict__.get(name, 0) is None:
            del self.__dict__[name]  # a placeholder such as `self.bias = None` set in __init__
        weight = variables.as_variable(value, trainable, requires_grad=self._trainable)
        STRUCTURE_VERSION[0] += 1
        if trainable:
            self.register_parameter(name, weight)
        else:
            self.register_buffer(name, weight)
        scope = _FIRST_CALLS[: _FIRST_CALLS.index(self) + 1] if self in _FIRST_CALLS else [*_FIRST_CALLS, self]
        path = variables.scoped_path("/".join([layer.name for layer in scope] + [name]))
        variables.name_weight(weight, name, path)
        self.__dict__.setdefault("_weight_names", {})[name] = (name, path)  # restored after deepcopy
        if regularizer is not None:
            weight._keras_regularizer = self._regularizers[name] = regularizers.get(regularizer)
            loss_tracking._PENALTIES[0] += 1
        if constraint is not None:
            weight._keras_constraint = self._constraints[name] = constraints.get(constraint)
        self._pending_weight_names[id(weight)] = name
        return weight

    def __setattr__(self, name: str, value: Any) -> None:
        if value.__class__ in _PLAIN_VALUE_TYPES:  # most attributes: nothing for nn.Module to register
            state = self.__dict__
            if "_modules" in state and name not in state["_parameters"] and name not in state["_buffers"] \
                    and name not in state["_modules"]:
                object.__setattr__(self, name, value)
                return
        STRUCTURE_VERSION[0] += 1
        # `self.w = self.add_weight(name="kernel")` keeps one registration, under the attribute name.
        pending = self.__dict__.get("_pending_weight_names")
        if pending and isinstance(value, torch.Tensor) and pending.get(id(value), name) != name:
            old = pending.pop(id(value))
            is_buffer = old in self._buffers
            (self._buffers if is_buffer else self._parameters).pop(old)
            for by_name in (self._keras_layouts, self._regularizers, self._constraints,
                            self.__dict__.get("_weight_names", {})):
                if old in by_name:
                    by_name[name] = by_name.pop(old)
            if is_buffer:
                self.register_buffer(name, value)
                return
        elif isinstance(value, variables.Variable) and not isinstance(value, nn.Parameter) and "_buffers" in self.__dict__:
            self.register_buffer(name, value)  # `self.v = kt.Variable(..., trainable=False)` is layer state
            return
        if _is_metric(value):  # `model.metrics` reads the attributes of layers that ever held a metric
            self.__dict__["_holds_metrics"] = True
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        STRUCTURE_VERSION[0] += 1
        super().__delattr__(name)

    def register_parameter(self, name: str, param: nn.Parameter | None) -> None:
        STRUCTURE_VERSION[0] += 1
        super().register_parameter(name, param)

    @property
    def weights(self) -> list[torch.Tensor]:
        """All weights in Keras order: each layer's parameters, then its state, then sublayers'."""
        seen: set[int] = set()
        result: list[torch.Tensor] = []
        for module in _layer_order(self):
            for key, (name, path) in module.__dict__.get("_weight_names", {}).items():
                weight = module._parameters.get(key)
                if weight is None:
                    weight = module._buffers.get(key)
                if weight is not None and "_keras_path" not in weight.__dict__:  # a deepcopy drops them
                    variables.name_weight(weight, name, path)
            for weight in _own_weights(module):
                if id(weight) not in seen:
                    seen.add(id(weight))
                    result.append(weight)
        return result

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        return [w for w in self.weights if isinstance(w, nn.Parameter) and w.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        return [w for w in self.weights if not (isinstance(w, nn.Parameter) and w.requires_grad)]

    @property
    def variables(self) -> list[torch.Tensor]:
        return self.weights

    @property
    def trainable_variables(self) -> list[torch.Tensor]:
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[torch.Tensor]:
        return self.non_trainable_weights

    def count_params(self) -> int:
        """Number of scalars in `weights` (float state included, as in Keras)."""
        if not self.built:
            raise ValueError(
                f"Layer {self.name!r} is not built yet, so it has no weights to count; "
                "call it on an input (or call build(input_shape)) first."
            )
        return sum(w.numel() for w in self.weights)

    def _weight_layouts(self) -> list[tuple[int, ...] | None]:
        """Per weight (in `weights` order), the Keras->stored permutation or None."""
        layouts: dict[int, tuple[int, ...]] = {}
        for module in _layer_order(self):
            if isinstance(module, Layer):
                for name, perm in module._keras_layouts.items():
                    tensor = module._parameters.get(name)
                    if tensor is None:
                        tensor = module._buffers.get(name)
                    if tensor is not None:
                        layouts[id(tensor)] = perm
        return [layouts.get(id(w)) for w in self.weights]

    def get_weights(self) -> list[np.ndarray]:
        """Weights as numpy arrays in Keras's layout and order."""
        arrays = []
        for weight, perm in zip(self.weights, self._weight_layouts()):
            value = keras_layout(weight.detach(), perm)
            arrays.append(value.to("cpu", copy=True).numpy() if value.dtype != torch.bfloat16
                          else value.float().cpu().numpy())
        return arrays

    def set_weights(self, weights: list[Any]) -> None:
        """Load Keras-layout arrays; checks every shape first so a bad list changes nothing."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(
                f"Layer {self.name!r} expected {len(own)} weight arrays (as returned by get_weights()), "
                f"received {len(weights)}."
            )
        staged = []
        for index, (target, perm, value) in enumerate(zip(own, self._weight_layouts(), weights)):
            value = torch.as_tensor(np.asarray(value))
            keras_shape = tuple(keras_layout(target.detach(), perm).shape)
            if tuple(value.shape) != keras_shape:
                raise ValueError(
                    f"Layer {self.name!r}: weight {index} expected shape {keras_shape}, "
                    f"received {tuple(value.shape)}; pass arrays in Keras layout and get_weights() order."
                )
            staged.append(stored_layout(value, perm))
        with torch.no_grad():
            for target, value in zip(own, staged):
                target.copy_(value.to(dtype=target.dtype))

    # -------------------------------------------------------------------------------- trainable

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze or unfreeze this layer and everything inside it, as Keras does.

        Frozen layers stop gradients, and their BatchNorm statistics stay frozen too (they run in
        inference mode even while the model trains).
        """
        value = bool(value)
        for module in self.modules():
            if isinstance(module, Layer):
                module._trainable = value
            for param in module.parameters(recurse=False):
                param.requires_grad_(value)
        self._sync_batchnorm_modes()

    def train(self, mode: bool = True) -> "Layer":
        # nn.Module.train recurses through the children's train(); only the outermost call walks the
        # tree for frozen BatchNorm modules (one walk, not one per nesting level).
        if _IN_TRAIN_SWITCH:
            return super().train(mode)
        _IN_TRAIN_SWITCH.append(self)
        try:
            super().train(mode)
        finally:
            _IN_TRAIN_SWITCH.pop()
        self._sync_batchnorm_modes()
        return self

    def _sync_batchnorm_modes(self) -> None:
        # torch BatchNorm modules inside frozen kerastorch layers (a frozen timm backbone) must not
        # update their statistics; kerastorch's own BatchNormalization checks `trainable` itself.
        for module in self.modules():
            if isinstance(module, Layer) and not module._trainable:
                for inner in module.modules():
                    if isinstance(inner, nn.modules.batchnorm._BatchNorm):
                        nn.Module.train(inner, False)

    # ---------------------------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (defaults filled in), with the layer's actual name."""
        args, kwargs = self.__dict__.get("_init_arguments", ((), {}))
        signature = inspect.signature(type(self).__init__)
        bound = signature.bind_partial(self, *args, **kwargs)
        bound.apply_defaults()
        config_dict: dict[str, Any] = {}
        for key, value in list(bound.arguments.items())[1:]:
            parameter = signature.parameters[key]
            if parameter.kind == parameter.VAR_KEYWORD:
                config_dict.update(value)
            elif parameter.kind != parameter.VAR_POSITIONAL:
                config_dict[key] = value
        config_dict.update(name=self.name, trainable=self.trainable, dtype=self.dtype)
        return config_dict

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "Layer":
        return cls(**config_dict)

    # ------------------------------------------------------------------------------- graph I/O

    def _single_node(self, what: str):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer {self.name!r} has no {what} yet: it is not connected to a graph. Call it on a "
                "kt.Input (or build its model with an input shape) first."
            )
        if len(self._inbound_nodes) > 1:
            raise AttributeError(
                f"Layer {self.name!r} has been called {len(self._inbound_nodes)} times, so its {what} is "
                "ambiguous; use layer.get_" + what + "_at(node_index)."
            )
        return self._inbound_nodes[0]

    @property
    def input(self):
        node = self._single_node("input")
        return node.input_tensors[0] if len(node.input_tensors) == 1 else list(node.input_tensors)

    @property
    def output(self):
        return self._single_node("output").outputs

    def get_input_at(self, node_index: int):
        node = self._inbound_nodes[node_index]
        return node.input_tensors[0] if len(node.input_tensors) == 1 else list(node.input_tensors)

    def get_output_at(self, node_index: int):
        return self._inbound_nodes[node_index].outputs


_ACCEPTS: dict[tuple[Any, str], bool] = {}


def _accepts(function: Any, argument: str) -> bool:
    """Whether `function` (a layer's `call`/`forward`) takes `argument` by name (or **kwargs)."""
    key = (getattr(function, "__func__", function), argument)
    accepted = _ACCEPTS.get(key)
    if accepted is None:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            parameters = ()
        accepted = any(p.name == argument or p.kind == p.VAR_KEYWORD for p in parameters)
        _ACCEPTS[key] = accepted
    return accepted


def _drop_unaccepted(layer: "Layer", kwargs: dict) -> dict:
    """Keras drops `training=`/`mask=` for layers whose call does not take them.

    Layers in the mask flow receive `mask=` through `layers/masking.py`, which decides for them;
    Keras-style layers keep `training=` so `forward` can set the mode of their sublayers.
    """
    forward = type(layer).forward
    keras_style = forward is Layer.forward
    for argument in ("mask",) if keras_style else ("training", "mask"):
        if argument == "mask" and getattr(layer, "_mask_flow", False):
            continue
        if argument in kwargs and not _accepts(type(layer).call if keras_style else forward, argument):
            kwargs = {k: v for k, v in kwargs.items() if k != argument}
    return kwargs


def _call_takes_mask(cls: type) -> bool:
    call = cls.__dict__.get("call")
    if call is None:
        return False
    try:
        return "mask" in inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False


def _marking_built(build):
    """Wrap a subclass's `build` so a direct `layer.build(shape)` call marks the layer built."""

    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        return result

    wrapper._marks_built = True
    return wrapper


def inverse_permutation(perm: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation that undoes `perm` (from a stored layout back to Keras's)."""
    inverse = [0] * len(perm)
    for position, axis in enumerate(perm):
        inverse[axis] = position
    return tuple(inverse)


def keras_layout(stored: torch.Tensor, layout: Any) -> torch.Tensor:
    """A stored weight in Keras layout. `layout` is None, an axis permutation (a free view), or an
    object with `to_keras`/`to_stored` (e.g. GRU gates stored in torch's order; a copy)."""
    if layout is None:
        return stored
    if isinstance(layout, tuple):
        return stored.permute(inverse_permutation(layout))
    return layout.to_keras(stored)


def stored_layout(value: torch.Tensor, layout: Any) -> torch.Tensor:
    """A Keras-layout value in the weight's stored layout (the inverse of `keras_layout`)."""
    if layout is None:
        return value
    if isinstance(layout, tuple):
        return value.permute(layout)
    return layout.to_stored(value)


def _is_symbolic(value: Any) -> bool:
    from ..symbolic import SymbolicTensor

    return isinstance(value, SymbolicTensor)


def _layer_order(module: nn.Module) -> Iterator[nn.Module]:
    """Modules in Keras weight order: a module, then its children depth-first."""
    yield module
    for child in module.children():
        yield from _layer_order(child)


def _own_weights(module: nn.Module) -> list[torch.Tensor]:
    params = [p for p in module._parameters.values() if p is not None]
    buffers = [
        b for n, b in module._buffers.items()
        if b is not None and n not in module._non_persistent_buffers_set and _is_weight_buffer(b)
    ]
    return params + buffers


def _check_weight_options(layer: Any, name: Any, autocast: bool, aggregation: str, overwrite: bool) -> None:
    """Keras's `add_weight` options that only matter where torch cannot follow them: refused there.

    `aggregation` is how Keras combines a variable across replicas; in one process (and for
    DDP's trainable weights, averaged through their gradients) every value means the same.
    """
    if aggregation not in (None, "none", "mean", "sum", "only_first_replica"):
        raise ValueError(f"Layer {layer.name!r}: add_weight(aggregation=) must be 'none', 'mean', 'sum' or "
                         f"'only_first_replica', received {aggregation!r} for weight {name!r}.")
    if overwrite:
        raise NotImplementedError(f"Layer {layer.name!r}: add_weight(overwrite_with_gradient=True) (weight {name!r}) "
                                  "is not supported; update the weight in a custom train_step instead.")
    if not autocast:
        from ..mixed_precision import global_policy

        if global_policy().is_mixed:
            raise NotImplementedError(
                f"Layer {layer.name!r}: add_weight(autocast=False) (weight {name!r}) cannot be honoured under the "
                f"{global_policy().name!r} policy, where torch.autocast casts per operation; use the float32 policy.")
