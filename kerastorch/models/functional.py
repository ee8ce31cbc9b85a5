"""Functional models: a Model over a graph of layers called on symbolic inputs.

`kt.Model(inputs, outputs)` walks the nodes recorded while layers were called on `kt.Input`
tensors, orders them once (as Keras does: by depth, then by traversal order) and turns the graph
into a flat plan: a list of steps `(layer, kind, where its inputs are, where its outputs go,
what can be dropped)` over a list of tensors indexed by position. The forward pass runs that plan;
it never touches a symbolic tensor, a node or a dict keyed by name.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import config as kt_config
from ..layers.layer import Layer, converted_dtype
from ..layers.masking import with_keras_masks
from ..ops.node import Operation
from ..saving.serialization import (
    check_config, current_scope, deserialize_keras_object, deserialize_value, loading_scope, serialize_keras_object,
    serialize_layer,
)
from ..symbolic import Node, SymbolicTensor
from ..tree import flatten, map_structure
from .model import Model

# Step kinds: how a node's arguments are gathered from the flat list of tensors.
_ONE = 0  # layer(values[i])
_LIST = 1  # layer([values[i], values[j], ...])
_GENERAL = 2  # layer(*args, **kwargs) rebuilt from a template (constant arguments, nesting)
# Steps of ops nodes call the plain torch function with its constant arguments bound (`Operation.fast`).
_OP_ONE = 3  # fn(values[i])
_OP_ARGS = 4  # fn(values[i] or a constant, ...)
_OP_GENERAL = 5  # operation.run(*args, **kwargs) rebuilt from a template

_call = torch.nn.Module.__call__


class _Slot:
    """A placeholder in an argument template: "the tensor at position `index`"."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


class Functional(Model):
    """A model defined by its input and output symbolic tensors.

    Inputs and outputs may be one tensor, a list, or a dict; a shared layer is one module called
    at several nodes; a model can be called as a layer inside another graph. `layers` lists the
    input layers too, in Keras's order, and they are registered as children "0", "1", ... so
    `state_dict()` keys do not depend on auto-generated names.
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True, **kwargs: Any):
        flat_inputs = _check_symbolic("inputs", inputs)
        flat_outputs = _check_symbolic("outputs", outputs)
        if len({id(t) for t in flat_inputs}) != len(flat_inputs):
            raise ValueError(
                "kt.Model received the same tensor more than once in `inputs`; list each input once."
            )
        # Everything is validated before the model (or any layer) is touched.
        nodes_by_depth, layers = _map_graph(flat_inputs, flat_outputs)
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._flat_inputs = flat_inputs
        self._flat_outputs = flat_outputs
        self._nodes_by_depth = nodes_by_depth
        self._layer_list = layers
        # Ops nodes are not modules: children "0", "1", ... are the layers alone.
        for index, layer in enumerate(l for l in layers if isinstance(l, torch.nn.Module)):
            self.add_module(str(index), layer)
        self._compile_plan()
        self._plan_masks()
        self.built = True

    # ------------------------------------------------------------------------------ the plan

    def _compile_plan(self) -> None:
        """Turn the node graph into positions in a flat list of tensors and a list of steps."""
        slots: dict[int, int] = {id(t): i for i, t in enumerate(self._flat_inputs)}
        ordered = [n for d in sorted(self._nodes_by_depth, reverse=True) for n in self._nodes_by_depth[d]
                   if not n.is_input]
        steps, consumers = [], []
        for node in ordered:
            runner, kind, where = _gather_spec(node, slots)
            consumers.append({id(t) for t in node.input_tensors})
            targets = []
            for flat_index, tensor in enumerate(flatten(node.outputs)):
                if isinstance(tensor, SymbolicTensor) and id(tensor) not in slots:
                    slots[id(tensor)] = len(slots)
                    targets.append((flat_index, slots[id(tensor)]))
            single = isinstance(node.outputs, SymbolicTensor)
            steps.append([runner, kind, where, targets[0][1] if single else tuple(targets), ()])
        # Drop each intermediate tensor right after its last use, so inference memory stays flat.
        keep = {slots[id(t)] for t in self._flat_outputs}
        last_use: dict[int, int] = {}
        for position, used in enumerate(consumers):
            for tensor_id in used:
                last_use[slots[tensor_id]] = position
        for slot, position in last_use.items():
            if slot not in keep:
                steps[position][4] += (slot,)
        self._steps = [tuple(step) for step in steps]
        self._num_slots = len(slots)
        self._output_slots = map_structure(lambda t: slots[id(t)], self._outputs_struct)
        # Like Keras, the batch axis is never checked: an Input seen with batch 1 accepts any batch.
        self._input_checks = [
            (t.dtype, len(t.shape), tuple((axis, size) for axis, size in enumerate(t.shape) if size is not None
                                          and axis > 0))
            for t in self._flat_inputs
        ]
        if isinstance(self._inputs_struct, dict):
            self._input_keys = sorted(self._inputs_struct)  # the order `flatten` gives the inputs
        else:
            self._input_keys = [t.name for t in self._flat_inputs]

    # ------------------------------------------------------------------------------- calling

    def forward(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        """Run the graph on `inputs`: a tensor, a list (one per input) or a dict by input name."""
        if training is not None and training != self.training:
            return self._forward_in_mode(inputs, training)
        if self._mask_steps is not None or mask is not None:
            return with_keras_masks(*self._call_with_masks(inputs, mask))
        values = self._standardize_inputs(inputs)
        # Layers are called through nn.Module.__call__ (hooks run as usual): every layer is built
        # and every shape was checked when the graph was made, so Layer.__call__'s checks for
        # symbolic inputs, deferred builds and input specs would only repeat work.
        for layer, kind, where, target, drop in self._steps:
            if kind == _ONE:
                result = _call(layer, values[where])
            elif kind == _OP_ONE:
                result = layer(values[where])
            elif kind == _OP_ARGS:
                result = layer(*[values[i] if i >= 0 else constant for i, constant in where])
            elif kind == _LIST:
                result = _call(layer, [values[i] for i in where])
            else:
                call_args, call_kwargs = map_structure(
                    lambda leaf: values[leaf.index] if isinstance(leaf, _Slot) else leaf, where
                )
                if kind == _GENERAL:
                    result = _call(layer, *call_args, **call_kwargs)
                else:
                    result = layer(*call_args, **call_kwargs)
            if isinstance(target, int):
                values[target] = result
            else:
                flat = flatten(result)
                for flat_index, slot in target:
                    values[slot] = flat[flat_index]
            for slot in drop:
                values[slot] = None
        return self._pack_outputs(values)

    # --------------------------------------------------------------------------------- masks

    _mask_flow = False  # masks are planned when the graph is built, not looked up per call

    def _plan_masks(self) -> None:
        """Decide once, when the graph is built, whether masks flow through it (else: the plain plan)."""
        self._mask_plans: dict = {}
        plan = self._mask_plan(None)
        self._mask_steps = None if plan is None else plan[0]

    def _mask_plan(self, input_masks: Any) -> tuple | None:
        """The graph's steps with masks carried next to tensors, worked out once per kind of input
        masks on meta tensors; None when no mask flows anywhere."""
        from ..layers.masking import plan_call

        count = len(self._flat_inputs)
        flat_masks = [None] * count if input_masks is None else list(flatten(input_masks))
        flat_masks += [None] * (count - len(flat_masks))
        key = tuple(m is not None for m in flat_masks)
        if key in self._mask_plans:
            return self._mask_plans[key]
        slots: dict[int, int] = {id(t): i for i, t in enumerate(self._flat_inputs)}
        meta: dict[int, Any] = {i: m for i, m in enumerate(flat_masks) if m is not None}

        def template(structure: Any) -> Any:
            return map_structure(lambda leaf: _Slot(slots[id(leaf)]) if isinstance(leaf, SymbolicTensor) else leaf,
                                 structure)

        steps, any_mask = [], any(key)
        ordered = [n for d in sorted(self._nodes_by_depth, reverse=True) for n in self._nodes_by_depth[d]
                   if not n.is_input]
        for node in ordered:
            layer, args, kwargs = node.layer, node.args, node.kwargs
            fills, previous, out_masks = plan_call(layer, args, kwargs, lambda t: meta.get(slots.get(id(t))))
            first = args[0] if args else kwargs.get("inputs")
            if previous is None:
                previous_raw = None
            elif any(name == "mask" for name, _ in fills) or kwargs.get("mask") is None:
                previous_raw = (True, dict(fills).get("mask", first))  # read from the masks
            else:
                previous_raw = (False, kwargs["mask"])  # an explicit mask tensor argument
            outputs = flatten(node.outputs)
            if out_masks is None:
                flat_out_masks = [None] * len(outputs)
            elif isinstance(node.outputs, SymbolicTensor):
                flat_out_masks = [out_masks]
            else:
                flat_out_masks = list(flatten(out_masks)) + [None] * len(outputs)
            targets, mask_targets = [], []
            for flat_index, tensor in enumerate(outputs):
                if isinstance(tensor, SymbolicTensor) and id(tensor) not in slots:
                    slots[id(tensor)] = len(slots)
                    targets.append((flat_index, slots[id(tensor)]))
                    if flat_out_masks[flat_index] is not None:
                        meta[slots[id(tensor)]] = flat_out_masks[flat_index]
                        mask_targets.append((flat_index, slots[id(tensor)]))
            any_mask = any_mask or bool(fills) or bool(mask_targets)
            steps.append((layer, args, kwargs, fills, first, previous_raw, tuple(targets), tuple(mask_targets)))
        if not any_mask:  # the common case: no slot templates needed
            self._mask_plans[key] = None
            return None
        steps = [
            (layer, template(list(args)), template(dict(kwargs)), tuple((n, template(v)) for n, v in fills),
             template(first), None if previous is None else (previous[0], template(previous[1])),
             hasattr(layer, "_call_with_masks"), targets, mask_targets)
            for layer, args, kwargs, fills, first, previous, targets, mask_targets in steps
        ]
        output_masks = map_structure(lambda t: meta.get(slots[id(t)]), self._outputs_struct)
        self._mask_plans[key] = (tuple(steps), output_masks)
        return self._mask_plans[key]

    def _plan_output_masks(self, input_masks: Any) -> Any:
        """The meta masks of the outputs for (meta) input masks: how an outer model plans this one."""
        plan = self._mask_plan(input_masks)
        if plan is None:
            return None
        masks = plan[1]
        return masks[0] if isinstance(masks, list) and len(masks) == 1 else masks

    def _call_with_masks(self, inputs: Any, mask: Any = None) -> tuple[Any, Any]:
        """Run the graph carrying masks next to tensors, as planned: `(outputs, output masks)`."""
        plan = self._mask_plan(mask)
        if plan is None:
            return self.forward(inputs), None
        values = self._standardize_inputs(inputs)
        masks: list = [None] * self._num_slots
        if mask is not None:
            for index, value in enumerate(flatten(mask)):
                masks[index] = value

        def resolve(structure: Any, source: list) -> Any:
            return map_structure(lambda leaf: source[leaf.index] if isinstance(leaf, _Slot) else leaf, structure)

        for layer, args_t, kwargs_t, fills, first_t, previous_t, nested, targets, mask_targets in plan[0]:
            first = resolve(first_t, values)
            previous = None if previous_t is None else resolve(previous_t[1], masks if previous_t[0] else values)
            if nested:
                result, out_masks = layer._call_with_masks(first, previous)
            else:
                kwargs = resolve(kwargs_t, values)
                for name, fill in fills:
                    kwargs[name] = resolve(fill, masks)
                if isinstance(layer, Operation):
                    result = layer.run(*resolve(args_t, values), **kwargs)
                else:
                    result = _call(layer, *resolve(args_t, values), **kwargs)
                out_masks = layer.compute_mask(first, previous) if mask_targets else None
            flat = flatten(result)
            for flat_index, slot in targets:
                values[slot] = flat[flat_index]
            if mask_targets:
                flat_masks = [out_masks] if isinstance(out_masks, torch.Tensor) else flatten(out_masks)
                for flat_index, slot in mask_targets:
                    masks[slot] = flat_masks[flat_index]
        output_masks = self._pack_outputs(masks)
        return self._pack_outputs(values), output_masks

    def _pack_outputs(self, values: list) -> Any:
        slots = self._output_slots
        if isinstance(slots, int):
            return values[slots]
        if isinstance(slots, list) and len(slots) == 1 and isinstance(slots[0], int):
            return values[slots[0]]  # Keras unpacks a one-element output list
        return map_structure(lambda slot: values[slot], slots)

    def _standardize_inputs(self, inputs: Any) -> list:
        """Flat list of input tensors (plus room for the rest), checked against the `Input` shapes."""
        count = len(self._flat_inputs)
        if isinstance(inputs, dict):
            missing = [k for k in self._input_keys if k not in inputs]
            if missing:
                raise ValueError(
                    f"Model {self.name!r} expected inputs named {self._input_keys}, received a dict with keys "
                    f"{list(inputs)}; missing {missing}."
                )
            flat = [inputs[k] for k in self._input_keys]
        elif isinstance(inputs, (list, tuple)):
            flat = list(inputs)
            if count == 1 and len(flat) != 1:
                flat = [inputs]  # one input given as a (nested) list of numbers
        else:
            flat = [inputs]
        if len(flat) != count:
            raise ValueError(
                f"Model {self.name!r} expects {count} input(s) {self._input_keys}, received {len(flat)}; "
                "pass a list (or a dict by input name) with one tensor per input."
            )
        values = [None] * self._num_slots
        for index, (x, (dtype, rank, fixed)) in enumerate(zip(flat, self._input_checks)):
            if not isinstance(x, torch.Tensor):
                x = self._input_tensor(x, dtype)
            elif x.dtype != dtype:
                x = x.to(dtype)
            if x.dim() != rank or any(x.shape[axis] != size for axis, size in fixed):
                raise ValueError(
                    f"Input {index} ({self._input_keys[index]!r}) of model {self.name!r} expected shape "
                    f"{self._flat_inputs[index].shape}, received {tuple(x.shape)}; None marks a free axis."
                )
            values[index] = x
        return values

    def _apply(self, fn: Any, recurse: bool = True) -> "Functional":
        """After `.to(dtype)`/`.half()`, float inputs are cast to the new dtype instead of the old one."""
        result = super()._apply(fn, recurse)
        self._input_checks = [(converted_dtype(fn, dtype), rank, fixed) for dtype, rank, fixed in self._input_checks]
        return result

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built when it is created."""
        self.built = True

    def __setattr__(self, name: str, value: Any) -> None:
        # PyTorch tools swap submodules with setattr (FSDP and activation-checkpointing wrappers,
        # quantization): the plan then calls the new module wherever it called the old one.
        old = self.__dict__.get("_modules", {}).get(name)
        super().__setattr__(name, value)
        if old is not None and value is not old and isinstance(value, torch.nn.Module) and "_steps" in self.__dict__:
            self._steps = [(value if step[0] is old else step[0], *step[1:]) for step in self._steps]
            self._layer_list = [value if layer is old else layer for layer in self._layer_list]

    # ------------------------------------------------------------------------------ graph access

    @property
    def layers(self) -> list[Layer]:
        """Every layer of the graph, input layers included, in Keras's order (ops nodes are not layers)."""
        return [layer for layer in self._layer_list if not isinstance(layer, Operation)]

    @property
    def operations(self) -> list[Any]:
        """Every layer and ops node (`Mean`, `Add`, ...) of the graph, in Keras's order."""
        return list(self._layer_list)

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._flat_inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._flat_outputs)

    @property
    def input(self) -> Any:
        return self._flat_inputs[0] if len(self._flat_inputs) == 1 else self._inputs_struct

    @property
    def output(self) -> Any:
        return self._flat_outputs[0] if len(self._flat_outputs) == 1 else self._outputs_struct

    @property
    def input_shape(self) -> Any:
        shapes = [t.shape for t in self._flat_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [t.shape for t in self._flat_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    _keras_graph_model = True  # Keras-format get_config()/from_config over `layers`; weights under layers/
    _keras_module = "keras.src.models.functional"
    _keras_registered_name = "Functional"
    _keras_aliases = ("Model",)

    def get_config(self) -> dict[str, Any]:
        """Keras's functional config: each layer with its calls (`inbound_nodes`), plus the model's ends."""
        in_graph = {id(node) for node in self._graph_nodes()}
        node_positions: dict[int, int] = {}
        for layer in self._layer_list:
            for position, node in enumerate(n for n in layer._inbound_nodes if id(n) in in_graph):
                node_positions[id(node)] = position

        def history(tensor: SymbolicTensor) -> list:
            return [tensor.node.layer.name, node_positions[id(tensor.node)], tensor.index]

        def argument(leaf: Any) -> Any:
            if isinstance(leaf, SymbolicTensor):
                return {"class_name": "__keras_tensor__", "config": {
                    "shape": list(leaf.shape), "dtype": kt_config.dtype_name(leaf.dtype), "keras_history": history(leaf)}}
            return serialize_keras_object(leaf)

        layers = []
        for layer in self._layer_list:
            entry = serialize_layer(layer)
            entry["name"] = layer.name
            entry["inbound_nodes"] = [
                {"args": map_structure(argument, list(node.args)), "kwargs": map_structure(argument, dict(node.kwargs))}
                for node in layer._inbound_nodes if id(node) in in_graph and not node.is_input
            ]
            layers.append(entry)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layers,
            "input_layers": map_structure(history, self._inputs_struct),
            "output_layers": map_structure(history, self._outputs_struct),
        }

    def get_build_config(self) -> dict[str, Any]:
        return {"input_shape": None}  # Keras's entry: a functional model is built from its config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "Functional":
        """Recreate the layers, then replay each recorded call on symbolic tensors, as Keras does."""
        with loading_scope(custom_objects):
            return _functional_from_config(cls, config)

    # -------------------------------------------------------------------------------- summary

    def _graph_nodes(self) -> list[Node]:
        return [n for nodes in self._nodes_by_depth.values() for n in nodes]

    def _is_sequential_like(self) -> bool:
        """Keras drops the `Connected to` column for a chain: one node per depth, one input each."""
        for nodes in self._nodes_by_depth.values():
            if len(nodes) > 1 or (len(nodes) == 1 and len(nodes[0].input_tensors) > 1):
                return False
        in_graph = set(map(id, self._graph_nodes()))
        return all(sum(id(n) in in_graph for n in layer._inbound_nodes) <= 1 for layer in self._layer_list)

    def _summary_rows(self, expand_nested: bool) -> list:
        """One row per layer, with Keras's `Connected to` (`layer[node][tensor]`) for non-linear graphs."""
        from ..summary import SummaryRow, _layer_params, format_shape

        in_graph = set(map(id, self._graph_nodes()))
        linear = self._is_sequential_like()
        rows = []
        for layer in self._layer_list:
            nodes = [n for n in layer._inbound_nodes if id(n) in in_graph]
            connected = [] if linear else [_tensor_label(t) for n in nodes for t in n.input_tensors]
            if not linear and not connected:
                connected = ["-"]
            shape = format_shape(nodes[-1].outputs) if nodes else "?"
            rows.append(SummaryRow(layer, shape, _layer_params(layer), connected))
            inner = getattr(layer, "_summary_rows", None)
            if expand_nested and inner is not None and getattr(layer, "layers", None):
                for row in inner(True):
                    row.depth += 1
                    row.connected_to = []
                    rows.append(row)
        return rows


# ----------------------------------------------------------------------------------- helpers


def _check_symbolic(what: str, structure: Any) -> list[SymbolicTensor]:
    flat = flatten(structure)
    if not flat:
        raise ValueError(f"kt.Model needs at least one tensor in `{what}`, received {structure!r}.")
    for leaf in flat:
        if not isinstance(leaf, SymbolicTensor):
            raise TypeError(
                f"kt.Model expected `{what}` to hold symbolic tensors (from kt.Input and layer calls), "
                f"received {type(leaf).__name__}; build the graph by calling layers on kt.Input(...) tensors."
            )
    return flat


def _tensor_label(tensor: SymbolicTensor) -> str:
    node = tensor.node
    layer = node.layer
    return f"{layer.name}[{layer._inbound_nodes.index(node)}][{tensor.index}]"


def _describe(tensor: SymbolicTensor) -> str:
    return f"{tensor.name!r} (shape {tensor.shape})"


def _map_graph(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> tuple[dict, list]:
    """Nodes grouped by depth (0 at the outputs) and layers in Keras's order; raises on a bad graph."""
    input_ids = {id(t) for t in inputs}
    ordered: list[Node] = []  # nodes from inputs to outputs
    finished: set[int] = set()
    in_progress: set[int] = set()
    first_seen: dict[int, int] = {}  # id(layer) -> traversal index
    stray: dict[int, list] = {}  # output position -> graph inputs outside `inputs`

    def visit(root: SymbolicTensor, output_position: int) -> None:
        """Depth-first, parents before children, with an explicit stack: no recursion limit."""
        stack: list[list] = [[root, None]]  # [tensor, iterator over its node's inputs once entered]
        while stack:
            frame = stack[-1]
            tensor, parents = frame
            node = tensor.node
            if parents is None:
                if id(tensor) in input_ids:
                    if node is None or not node.is_input:
                        stack.pop()  # an intermediate tensor used as an input: the graph is cut here
                        continue
                elif node is None or node.is_input:
                    stray.setdefault(output_position, []).append(tensor)
                    stack.pop()
                    continue
                if id(node) in finished:
                    stack.pop()
                    continue
                if id(node) in in_progress:
                    raise ValueError(f"kt.Model: tensor {_describe(tensor)} is part of a cycle.")
                first_seen.setdefault(id(node.layer), len(first_seen))
                in_progress.add(id(node))
                parents = frame[1] = iter(node.input_tensors)
            parent = next(parents, None)
            if parent is not None:
                stack.append([parent, None])
                continue
            in_progress.discard(id(node))
            finished.add(id(node))
            ordered.append(node)
            stack.pop()

    for position, output in enumerate(outputs):
        visit(output, position)
    if stray:
        position, tensors = next(iter(stray.items()))
        output = outputs[position]
        reached = _reachable_inputs(output, input_ids)
        if not reached:
            raise ValueError(
                f"kt.Model: output {_describe(output)} is not connected to `inputs` "
                f"{[t.name for t in inputs]}; it is computed from {[t.name for t in tensors]}. Pass the "
                "inputs it was built from, or build the output from the given inputs."
            )
        raise ValueError(
            f"kt.Model: the graph uses input {_describe(tensors[0])}, which is not in `inputs` "
            f"{[t.name for t in inputs]}; add it to `inputs` (output {output.name!r} depends on it)."
        )

    # Depth: the longest path to an output; a shared layer takes the depth of its deepest node.
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    in_graph = {id(n) for n in ordered}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    layers_by_id = {id(n.layer): n.layer for n in ordered}
    for tensor in inputs:  # unused inputs still belong to the model
        node = tensor.node
        if node is not None and node.is_input and id(node.layer) not in layer_depth:
            layer_depth[id(node.layer)] = 0
            first_seen[id(node.layer)] = -1
            node_depth[id(node)] = 0
            layers_by_id[id(node.layer)] = node.layer
            ordered.append(node)

    nodes_by_depth: dict[int, list[Node]] = {}
    for node in ordered:
        nodes_by_depth.setdefault(node_depth[id(node)], []).append(node)
    layers = sorted(layers_by_id.values(), key=lambda l: (-layer_depth[id(l)], first_seen[id(l)]))

    names: dict[str, int] = {}
    for layer in layers:
        names[layer.name] = names.get(layer.name, 0) + 1
    duplicates = sorted(name for name, count in names.items() if count > 1)
    if duplicates:
        raise ValueError(
            f"kt.Model: the layer name {duplicates[0]!r} is used {names[duplicates[0]]} times in the model; "
            "all layer names must be unique, so pass a distinct name=... to each layer."
        )
    for layer in layers:
        if not isinstance(layer, (torch.nn.Module, Operation)):
            raise TypeError(f"kt.Model: graph node {layer!r} is neither a torch.nn.Module nor a kt.ops operation.")
    return nodes_by_depth, layers


def _reachable_inputs(tensor: SymbolicTensor, input_ids: set[int]) -> bool:
    """Whether any declared input lies upstream of `tensor`."""
    stack, seen = [tensor], set()
    while stack:
        current = stack.pop()
        if id(current) in input_ids:
            return True
        node = current.node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(node.input_tensors)
    return False


def _gather_spec(node: Node, slots: dict[int, int]) -> tuple[Any, int, Any]:
    """What a step calls and how it fetches its arguments: one tensor, a list of tensors, or a template."""
    args, kwargs = node.args, node.kwargs
    if isinstance(node.layer, Operation):
        return _op_spec(node.layer, args, kwargs, slots)
    if not kwargs and len(args) == 1:
        first = args[0]
        if isinstance(first, SymbolicTensor):
            return node.layer, _ONE, slots[id(first)]
        if isinstance(first, list) and first and all(isinstance(t, SymbolicTensor) for t in first):
            return node.layer, _LIST, tuple(slots[id(t)] for t in first)
    return node.layer, _GENERAL, _template(args, kwargs, slots)


def _template(args: tuple, kwargs: dict, slots: dict[int, int]) -> Any:
    return map_structure(lambda leaf: _Slot(slots[id(leaf)]) if isinstance(leaf, SymbolicTensor) else leaf,
                         (list(args), dict(kwargs)))


def _op_spec(operation: Operation, args: tuple, kwargs: dict, slots: dict[int, int]) -> tuple[Any, int, Any]:
    """An ops node calls its plain function directly when its arguments are tensors and plain constants."""
    fast = operation.fast
    nested = any(isinstance(a, (list, tuple, dict)) and any(isinstance(leaf, SymbolicTensor) for leaf in flatten(a))
                 for a in args)
    if fast is not None and not kwargs and not nested:
        if len(args) == 1 and isinstance(args[0], SymbolicTensor):
            return fast, _OP_ONE, slots[id(args[0])]
        return fast, _OP_ARGS, tuple((slots[id(a)], None) if isinstance(a, SymbolicTensor) else (-1, a) for a in args)
    return operation.run, _OP_GENERAL, _template(args, kwargs, slots)


class _NotReady(Exception):
    """A node whose input tensors are not created yet."""


def _config_error(config: dict, problem: str) -> ValueError:
    return ValueError(
        f"The functional config of model {config.get('name')!r} cannot be rebuilt: {problem}; the file or "
        "config is damaged or was written by another program, so re-save the model."
    )


def _functional_from_config(cls: type, config: dict) -> "Functional":
    objects, safe_mode = current_scope()
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise _config_error(config, f"`layers` should be a list of layer configs, found {type(entries).__name__}")
    for key in ("input_layers", "output_layers"):
        if key not in config:
            raise _config_error(config, f"it has no `{key}` entry")
    for entry in entries:
        check_config(entry, objects, safe_mode)
    created: dict[str, Layer] = {}
    outputs: dict[tuple[str, int], list] = {}
    pending = []
    for entry in entries:
        name = entry.get("name") or entry["config"].get("name")
        layer = deserialize_keras_object(entry)
        created[name] = layer
        if not entry.get("inbound_nodes") and hasattr(layer, "_input_tensor"):
            outputs[(name, 0)] = [layer._input_tensor]
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise _config_error(config, f"layer {name!r} has `inbound_nodes` of type {type(nodes).__name__}")
        pending += [(name, index, node) for index, node in enumerate(nodes)]

    def tensor_of(history: Any, strict: bool = False) -> Any:
        if not _is_history(history):
            raise _config_error(config, f"{history!r} is not a [layer name, node index, tensor index] reference")
        name, node_index, tensor_index = history
        if name not in created:
            raise _config_error(config, f"it refers to layer {name!r}, which is not among its layers")
        key = (name, node_index)
        if key not in outputs:
            if strict:
                raise _config_error(config, f"layer {name!r} has no call number {node_index}")
            raise _NotReady
        if not 0 <= tensor_index < len(outputs[key]):
            raise _config_error(
                config, f"layer {name!r} call {node_index} has {len(outputs[key])} output(s), not an output {tensor_index}"
            )
        return outputs[key][tensor_index]

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return tensor_of((value.get("config") or {}).get("keras_history"))
        if isinstance(value, dict) and str(value.get("class_name")).startswith("__"):
            return deserialize_value(value)  # a slice, `...`, array or tensor argument of an ops call
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    while pending:
        progressed = False
        for item in list(pending):
            name, index, node = item
            if index > 0 and (name, index - 1) not in outputs:
                continue
            if not isinstance(node, dict):
                raise _config_error(config, f"a call of layer {name!r} is {type(node).__name__}, not a dict")
            try:
                args = resolve(node.get("args", []))
                kwargs = resolve(node.get("kwargs", {}))
            except _NotReady:
                continue
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise _config_error(config, f"a call of layer {name!r} has malformed `args`/`kwargs`")
            kwargs = {k: v for k, v in kwargs.items() if not (k in ("mask", "training") and v is None)}
            result = created[name](*args, **kwargs)
            outputs[(name, index)] = flatten(result)
            pending.remove(item)
            progressed = True
        if not progressed:
            raise _config_error(
                config, f"the calls of layers {sorted({p[0] for p in pending})} use tensors that no layer produces"
            )

    def ends(structure: Any) -> Any:
        if _is_history(structure):
            return tensor_of(structure, strict=True)
        if isinstance(structure, list) and structure:
            return [ends(s) for s in structure]
        if isinstance(structure, dict) and structure:
            return {k: ends(v) for k, v in structure.items()}
        raise _config_error(config, f"its input/output entry {structure!r} is not a [layer, node, tensor] reference")

    model = Functional(ends(config["input_layers"]), ends(config["output_layers"]), name=config.get("name"))
    if config.get("trainable") is False:
        model.trainable = False
    return model


def _is_history(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


__all__ = ["Functional"]
