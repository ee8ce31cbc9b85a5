"""`clone_model`: the same architecture with new layers (and freshly initialized weights), as in Keras."""

from __future__ import annotations

import copy
from typing import Any, Callable

from torch import nn

from ..layers.input_layer import Input
from ..layers.layer import Layer
from ..layers.torch_module import TorchModuleWrapper
from ..ops.node import Operation
from ..symbolic import SymbolicTensor
from ..tree import flatten, map_structure
from .functional import Functional
from .sequential import Sequential


def clone_model(
    model: nn.Module,
    input_tensors: Any = None,
    clone_function: Callable[[Layer], Layer] | None = None,
    call_function: Callable | None = None,
    recursive: bool = False,
    **kwargs: Any,
) -> nn.Module:
    """A copy of a Sequential or functional model's graph built from new layers.

    Each layer is rebuilt from its config by default (same names, new weights), or by
    `clone_function(layer)`; `call_function(layer, *args, **kwargs)` may replace each call in a
    functional graph. `input_tensors` gives the clone new inputs. A nested Sequential/functional
    model is passed to `clone_function` as a whole, or with `recursive=True` cloned graph by graph
    so that `clone_function` (and `call_function`) reach the layers inside it, as in Keras.
    """
    if kwargs:
        raise TypeError(f"clone_model got unexpected keyword arguments {sorted(kwargs)}.")
    clone = clone_function or _clone_layer
    if recursive:
        def clone(layer: nn.Module, _outer: Callable = clone) -> nn.Module:
            if isinstance(layer, (Sequential, Functional)):
                return clone_model(layer, clone_function=clone_function, call_function=call_function, recursive=True)
            return _outer(layer)
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone, call_function)
    raise ValueError(
        f"clone_model expected a Sequential or functional model, received {type(model).__name__}; a subclassed "
        "model has no graph to clone, so create a new instance of its class instead."
    )


def _clone_layer(layer: nn.Module) -> nn.Module:
    """The default clone: a new layer from the old one's config (fresh weights, same name)."""
    if isinstance(layer, (Sequential, Functional)):
        return clone_model(layer)
    if isinstance(layer, TorchModuleWrapper):
        module = copy.deepcopy(layer.module)
        for inner in module.modules():
            reset = getattr(inner, "reset_parameters", None)
            if callable(reset):
                reset()
        return TorchModuleWrapper(module, name=layer.name, trainable=layer.trainable)
    if isinstance(layer, Operation):  # an ops node, recreated from its config as Keras does
        return Operation.from_config(layer.spec.module, layer.spec.class_name, layer.get_config())
    if not isinstance(layer, Layer):
        raise TypeError(f"clone_model cannot clone {type(layer).__name__}; pass clone_function=... for it.")
    return type(layer).from_config(layer.get_config())


def _clone_sequential(model: Sequential, input_tensors: Any, clone: Callable) -> Sequential:
    new = Sequential(name=model.name, trainable=model.trainable)
    if input_tensors is not None:
        tensors = flatten(input_tensors)
        if len(tensors) != 1 or not isinstance(tensors[0], SymbolicTensor):
            raise ValueError(f"clone_model: a Sequential model takes one input tensor, received {input_tensors!r}.")
        new.add(tensors[0])
    elif model._graph_input is not None:
        source = model._graph_input
        new.add(Input(batch_shape=source.shape, dtype=source.dtype, name=source.name))
    for layer in model.layers:
        new.add(clone(layer))
    return new


def _clone_functional(model: Functional, input_tensors: Any, clone: Callable, call: Callable | None) -> Functional:
    old_inputs = model.inputs
    if input_tensors is not None:
        new_inputs = flatten(input_tensors)
        if len(new_inputs) != len(old_inputs) or not all(isinstance(t, SymbolicTensor) for t in new_inputs):
            raise ValueError(
                f"clone_model: model {model.name!r} has {len(old_inputs)} inputs, received input_tensors={input_tensors!r}."
            )
    else:
        new_inputs = [Input(batch_shape=t.shape, dtype=t.dtype, name=t.name) for t in old_inputs]
    tensors = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    layers: dict[int, nn.Module] = {}
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.is_input:
                continue
            if id(node.layer) not in layers:
                layers[id(node.layer)] = clone(node.layer)
            layer = layers[id(node.layer)]
            args, kwargs = map_structure(
                lambda leaf: tensors[id(leaf)] if isinstance(leaf, SymbolicTensor) else leaf,
                (list(node.args), dict(node.kwargs)),
            )
            outputs = call(layer, *args, **kwargs) if call is not None else layer(*args, **kwargs)
            for old, new in zip(flatten(node.outputs), flatten(outputs)):
                tensors[id(old)] = new
    new_inputs_struct = map_structure(lambda t: tensors[id(t)], model._inputs_struct)
    outputs = map_structure(lambda t: tensors[id(t)], model._outputs_struct)
    clone_ = Functional(new_inputs_struct, outputs, name=model.name)
    if not model.trainable:
        clone_.trainable = False
    return clone_
