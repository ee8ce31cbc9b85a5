"""Sequential: a plain stack of layers, grown with `add` or `|`."""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn

from .. import config
from ..layers.input_layer import Input, InputLayer
from ..layers.layer import Layer, build_device, converted_dtype, weight_path_scope
from ..layers.masking import with_keras_masks
from ..layers.torch_module import as_layer
from ..saving.serialization import (
    check_config, deserialize_keras_object, dtype_policy, loading_scope, serialize_layer,
)
from ..symbolic import SymbolicTensor
from .model import Model


_call = nn.Module.__call__


class Sequential(Model):
    """A linear stack of layers; `Sequential() | Dense(2) | Dense(3)` builds one.

    With an input shape (a leading `kt.Input`, `input_shape=`, or a first layer given
    `input_shape=`) every layer is built as it is added and has a symbolic `input`/`output`;
    otherwise the first call builds the whole stack from the shape it sees. Layers are registered
    as children "0", "1", ... so `state_dict()` keys do not depend on auto names.
    """

    def __init__(
        self,
        layers: Iterable[Any] | None = None,
        name: str | None = None,
        input_shape: tuple | int | None = None,
        trainable: bool = True,
        **kwargs: Any,
    ):
        super().__init__(name=name, trainable=trainable, input_shape=input_shape, **kwargs)
        self._stack: list[Layer] = []
        self._graph_input: SymbolicTensor | None = None
        self._graph_outputs: list[Any] = []
        self._input_dtype: torch.dtype | None = None  # inputs are cast to it, as Keras does
        self._mask_plans: dict = {}
        self._mask_steps: tuple | None = None  # None: no mask flows, the plain loop runs
        if self._batch_input_shape is not None:
            self._start_graph(Input(batch_shape=self._batch_input_shape))
        for layer in layers or ():
            self.add(layer)

    # ------------------------------------------------------------------------------ building up

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (any `nn.Module`, or a `kt.Input` to fix the input shape)."""
        if isinstance(layer, (SymbolicTensor, InputLayer)):
            tensor = layer if isinstance(layer, SymbolicTensor) else layer.output
            if self._stack:
                raise ValueError(
                    f"Model {self.name!r}: an Input can only be the first thing added to a Sequential model, "
                    f"but it already has {len(self._stack)} layers."
                )
            self._start_graph(tensor)
            return
        layer = as_layer(layer)
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(
                f"All layers added to a Sequential model should have unique names. Name {layer.name!r} is "
                f"already the name of a layer in model {self.name!r}; pass name=... to tell them apart."
            )
        if not self._stack and self._graph_input is None and layer._batch_input_shape is not None:
            self._start_graph(Input(batch_shape=layer._batch_input_shape))
        elif not self._stack and self._graph_input is None and isinstance(layer, Model) and layer.built:
            inputs = getattr(layer, "inputs", None)  # a built model first (Keras builds on its input shape)
            if inputs is not None and len(inputs) == 1:
                self._start_graph(Input(batch_shape=inputs[0].shape, dtype=inputs[0].dtype))
        if self._graph_input is not None:
            previous = self._graph_outputs[-1] if self._graph_outputs else self._graph_input
            with weight_path_scope(self):
                self._graph_outputs.append(layer(previous))  # builds the layer; raises before any change
        self.add_module(str(len(self._stack)), layer)
        self._stack.append(layer)
        nn.Module.train(layer, self.training)
        self.built = self._graph_input is not None
        self._plan_masks()

    def __or__(self, layer: Any) -> "Sequential":
        """`model | layer` appends in place and returns the model."""
        self.add(layer)
        return self

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ValueError(f"Model {self.name!r} has no layers to pop; add a layer first.")
        layer = self._stack.pop()
        del self._modules[str(len(self._stack))]
        if self._graph_outputs:
            output = self._graph_outputs.pop()
            layer._inbound_nodes = [n for n in layer._inbound_nodes if n.outputs is not output]
        self._plan_masks()
        return layer

    def _start_graph(self, tensor: SymbolicTensor) -> None:
        self._graph_input = tensor
        self._input_dtype = tensor.dtype
        self._graph_outputs = []
        self.built = True

    def build(self, input_shape: Any = None) -> None:
        """Build every layer for inputs of `input_shape` (batch included, e.g. (None, 16))."""
        self._build_graph(input_shape, None)

    def _build_for(self, inputs: Any) -> None:
        device = inputs.device if isinstance(inputs, torch.Tensor) else torch.device("cpu")
        dtype = getattr(inputs, "dtype", None)
        dtype = None if dtype is None else config.standardize_dtype(dtype)  # numpy dtypes too
        if dtype is not None and dtype.is_floating_point and self._stack and isinstance(self._stack[0], Layer):
            dtype = self._stack[0]._dtype  # Keras builds on the first layer's dtype, then casts inputs to it
        with build_device(device if device.type != "meta" else "cpu"):
            self._build_graph(tuple(inputs.shape), dtype)

    def _build_graph(self, input_shape: Any, dtype: Any) -> None:
        if input_shape is None:
            raise ValueError(f"Model {self.name!r}: build() needs an input shape, for example (None, 16).")
        layers = list(self._stack)
        self._graph_input = Input(batch_shape=tuple(input_shape), dtype=dtype)
        self._input_dtype = self._graph_input.dtype
        self._graph_outputs = []
        for layer in layers:
            previous = self._graph_outputs[-1] if self._graph_outputs else self._graph_input
            with weight_path_scope(self):
                self._graph_outputs.append(layer(previous))
        self.built = True
        self._plan_masks()

    # ------------------------------------------------------------------------------------ config

    _keras_graph_model = True  # Keras-format get_config()/from_config over `layers`; weights under layers/
    _keras_module = "keras"
    _keras_registered_name = None

    def get_config(self) -> dict[str, Any]:
        """Keras's Sequential config: name, layer configs (InputLayer first once built), build shape."""
        layers = []
        if self._graph_input is not None and self._graph_input.node is not None:
            layers.append(serialize_layer(self._graph_input.node.layer))
        layers += [serialize_layer(layer) for layer in self._stack]
        result = {"name": self.name, "trainable": self.trainable, "dtype": dtype_policy(self.dtype), "layers": layers}
        if self._graph_input is not None:
            result["build_input_shape"] = list(self._graph_input.shape)
        return result

    def get_build_config(self) -> dict[str, Any] | None:
        """Keras's `build_config`: the input shape once the model is built."""
        if self.built and self._graph_input is not None:
            return {"input_shape": list(self._graph_input.shape)}
        return None

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "Sequential":
        """Rebuild a Sequential model from Keras's config (every layer entry is checked first)."""
        with loading_scope(custom_objects) as (objects, safe_mode):
            entries = config.get("layers", [])
            if not isinstance(entries, list):
                raise ValueError(
                    f"The config of Sequential model {config.get('name')!r} has `layers` of type "
                    f"{type(entries).__name__}; expected a list of layer configs."
                )
            for entry in entries:
                check_config(entry, objects, safe_mode)
            model = cls(name=config.get("name"))
            for entry in entries:
                model.add(deserialize_keras_object(entry))  # an InputLayer entry starts the graph
            shape = config.get("build_input_shape")
            if not model.built and shape:
                model.build(tuple(shape))
            if config.get("trainable") is False:
                model.trainable = False
            return model

    # ----------------------------------------------------------------------------------- calling

    def forward(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if training is not None and training != self.training:
            return self._forward_in_mode(inputs, training)
        if not isinstance(inputs, torch.Tensor) and hasattr(inputs, "__array__"):
            inputs = self._input_tensor(inputs, self._input_dtype)
        if isinstance(inputs, torch.Tensor) and self._input_dtype is not None and inputs.dtype != self._input_dtype:
            inputs = inputs.to(self._input_dtype)  # like Keras: a float64 batch into a float32 model
        if self._mask_steps is not None or mask is not None:
            return with_keras_masks(*self._call_with_masks(inputs, mask))
        graph = self._graph_input
        if (graph is not None and isinstance(inputs, torch.Tensor) and len(self._graph_outputs) == len(self._stack)
                and inputs.dim() == len(graph.shape)
                and all(size is None or inputs.shape[axis] == size for axis, size in enumerate(graph.shape) if axis)):
            # The input matches the shape the stack was built for, and every layer's input was checked
            # then: call the layers as plain modules (hooks still run), as the functional plan does.
            for layer in self._stack:
                inputs = _call(layer, inputs)
            return inputs
        for layer in self._stack:
            inputs = layer(inputs)  # each layer checks its input and names itself in any error
        return inputs

    # ------------------------------------------------------------------------------------- masks

    _mask_flow = False  # masks are planned when the stack is built, not looked up per call

    def _plan_masks(self) -> None:
        """Decide once, when the stack is built, whether masks flow through it (else: the plain loop)."""
        self._mask_plans = {}
        self._mask_steps = None
        if self._graph_input is not None and len(self._graph_outputs) == len(self._stack):
            plan = self._mask_plan(None)
            self._mask_steps = None if plan is None else plan[0]

    def _mask_plan(self, input_mask: Any) -> tuple | None:
        """Per layer `(layer, pass mask, compute mask, nested model)` and the output's meta mask;
        None when no mask flows. Worked out on meta tensors, once per kind of input mask."""
        from ..layers.masking import plan_call

        key = input_mask is not None
        if key not in self._mask_plans:
            steps, flowing, tensor = [], input_mask, self._graph_input
            any_mask = input_mask is not None
            for layer, output in zip(self._stack, self._graph_outputs):
                current, carried = tensor, flowing
                fills, previous, flowing = plan_call(layer, (current,), {}, lambda t: carried if t is current else None)
                steps.append((layer, bool(fills), flowing is not None, hasattr(layer, "_call_with_masks")))
                any_mask = any_mask or flowing is not None
                tensor = output
            self._mask_plans[key] = (tuple(steps), flowing) if any_mask else None
        return self._mask_plans[key]

    def _plan_output_masks(self, input_mask: Any) -> Any:
        """The meta mask of the output for a (meta) input mask: how an outer model plans this one."""
        plan = self._mask_plan(input_mask)
        return None if plan is None else plan[1]

    def _call_with_masks(self, inputs: Any, mask: Any = None) -> tuple[Any, Any]:
        """Run the stack carrying the mask next to the tensor, as planned: `(outputs, output mask)`."""
        plan = self._mask_plan(mask)
        if plan is None:
            return self.forward(inputs), None
        for layer, pass_mask, compute, nested in plan[0]:
            if nested:
                inputs, mask = layer._call_with_masks(inputs, mask)
                continue
            outputs = nn.Module.__call__(layer, inputs, mask=mask) if pass_mask else nn.Module.__call__(layer, inputs)
            mask = layer.compute_mask(inputs, mask) if compute else None
            inputs = outputs
        return inputs, mask

    def _apply(self, fn: Any, recurse: bool = True) -> "Sequential":
        """After `.to(dtype)`/`.half()`, inputs are cast to the new dtype instead of the old one."""
        result = super()._apply(fn, recurse)
        if self._input_dtype is not None:
            self._input_dtype = converted_dtype(fn, self._input_dtype)
        return result

    # ----------------------------------------------------------------------------- graph access

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    @property
    def inputs(self) -> list[SymbolicTensor]:
        self._require_graph("inputs")
        return [self._graph_input]

    @property
    def outputs(self) -> list[Any]:
        self._require_graph("outputs")
        return [self._graph_outputs[-1] if self._graph_outputs else self._graph_input]

    @property
    def input(self) -> SymbolicTensor:
        return self.inputs[0]

    @property
    def output(self) -> Any:
        return self.outputs[0]

    def _require_graph(self, what: str) -> None:
        if self._graph_input is None:
            raise AttributeError(
                f"Sequential model {self.name!r} has no {what} yet: it is not built. Give it an input "
                "shape (kt.Input(shape) first, or input_shape=...) or call it on data."
            )
