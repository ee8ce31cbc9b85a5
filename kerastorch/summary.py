"""`model.summary()`: Keras 3's table, drawn with rich exactly as Keras draws it.

A model describes itself as `SummaryRow`s (`model._summary_rows(expand_nested)`); this module
turns them into the same rich table Keras builds (same columns, widths from `line_length` /
`positions` / the terminal, same cell markup, so rich wraps and truncates identically) and adds the
parameter totals, the optimizer's state included once it exists.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
from typing import Any, Callable

import rich.console
import rich.markup
import rich.table
import torch

from . import config
from .symbolic import SymbolicTensor

# Keras's summary palette (rich markup); invisible when the text is captured without colors.
_NUMBER = "color(34)"
_NONE = "color(45)"
_SYMBOL = "color(33)"


@dataclasses.dataclass
class SummaryRow:
    """One table row: the layer, its output shape text, its parameter count (None: unbuilt),
    its inbound tensors (`name[node][tensor]`) and how deep it sits inside expanded models."""

    layer: Any
    output_shape: str
    params: int | None
    connected_to: list[str] = dataclasses.field(default_factory=list)
    depth: int = 0
    name: str | None = None  # for plain torch modules, which have no `name`: their attribute path


def layer_label(layer: Any) -> str:
    """`name (Type)`; wrapped torch modules show the wrapped class."""
    kind = getattr(layer, "layer_type", type(layer).__name__)
    return f"{getattr(layer, 'name', kind)} ({kind})"


def format_shape(value: Any) -> str:
    """Keras's shape text: `(None, 2)` (one axis: `(None)`); several outputs keep their structure,
    `[(None, 2), (None, 3)]` or `{a: (None, 2)}`."""
    leaves = _shape_texts(value)
    flat = _leaves(leaves)
    return flat[0] if len(flat) == 1 else str(leaves).replace("'", "")


def _shape_texts(value: Any) -> Any:
    if isinstance(value, (SymbolicTensor, torch.Tensor)):
        return "(" + ", ".join("None" if d is None else str(int(d)) for d in value.shape) + ")"
    if isinstance(value, dict):
        return {k: _shape_texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape_texts(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_shape_texts(v) for v in value)
    return "?"


def _leaves(structure: Any) -> list[str]:
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in _leaves(v)]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in _leaves(v)]
    return [structure]


def count(weights: list[Any]) -> tuple[int, int]:
    """(scalars, bytes) over distinct weights; bytes from each weight's dtype."""
    seen = {id(w): w for w in weights}.values()
    return sum(math.prod(w.shape) for w in seen), sum(math.prod(w.shape) * _itemsize(w) for w in seen)


def _itemsize(weight: Any) -> int:
    if isinstance(weight, torch.Tensor):
        return weight.element_size()
    dtype = weight.dtype
    if not isinstance(dtype, torch.dtype):
        dtype = getattr(torch, str(dtype).replace("torch.", ""))
    return torch.empty((), dtype=dtype).element_size()


def readable_size(num_bytes: float) -> str:
    """Keras's byte formatting: `140.00 B`, `45.62 KB`, `1.29 MB` (powers of 1024, up to PB; like
    Keras, a size past 1024 PB is divided once more and still labelled PB)."""
    units = ("B", "KB", "MB", "GB", "TB", "PB")
    for unit in units:
        if num_bytes < 1024:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} {units[-1]}"


# ------------------------------------------------------------------------------------ the table


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: list[float] | None = None,
    print_fn: Callable[[str], Any] | None = None,
    expand_nested: bool = False,
    show_trainable: bool | None = None,
    layer_range: Any = None,
) -> None:
    """Print Keras 3's summary of `model`.

    Args:
        model: a built kerastorch model.
        line_length: table width in characters; by default Keras's (88, or 108 with the
            `Connected to` column, plus 12 with the `Trainable` column), capped at the terminal
            width minus 4.
        positions: right edge of each column as a fraction of `line_length`.
        print_fn: called once with the whole summary text (rich's capture, no colors); by default
            the summary is printed to stdout through rich (colors on a terminal).
        expand_nested: also list the layers inside nested models, indented.
        show_trainable: add the `Trainable` column (`Y`, `N`, `-` for layers without weights);
            `None` shows it when any weight is frozen.
        layer_range: `(first, last)` name patterns (`re.match`): only the top-level layers from the
            first match of `first` to the last match of `last` are listed.
    """
    if line_length is not None and (not isinstance(line_length, int) or isinstance(line_length, bool)):
        raise TypeError(f"summary() of model {model.name!r}: line_length must be an int, received {line_length!r}.")
    # Expanded models list their `layers` as Keras does: ops nodes inside them get no row.
    rows = [row for row in model._summary_rows(expand_nested)
            if row.depth == 0 or isinstance(row.layer, torch.nn.Module)]
    if layer_range is not None:
        rows = _select_range(rows, layer_range)
    weights = model.weights
    trainable = [w for w in weights if isinstance(w, torch.nn.Parameter) and w.requires_grad]
    frozen = [w for w in weights if not (isinstance(w, torch.nn.Parameter) and w.requires_grad)]
    if show_trainable is None:
        show_trainable = any(isinstance(w, torch.nn.Parameter) and not w.requires_grad for w in weights)
    sequential_like = getattr(model, "_is_sequential_like", lambda: True)()

    if sequential_like:
        headers, justify, default_length = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"], 88
        default_positions = [0.45, 0.80, 1.0]
    else:
        headers, justify, default_length = (
            ["Layer (type)", "Output Shape", "Param #", "Connected to"], ["left", "left", "right", "left"], 108)
        default_positions = [0.3, 0.56, 0.74, 1.0]
    positions = list(positions) if positions else default_positions
    if len(positions) != len(headers):
        raise ValueError(
            f"summary() of model {model.name!r}: `positions` needs one entry per column {headers}, "
            f"received {positions}."
        )
    if show_trainable:
        default_length += 12
        positions = [p * 0.9 for p in positions] + [1.0]
        headers, justify = headers + ["Trainable"], justify + ["center"]
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(positions, line_length, model)

    table = rich.table.Table(
        *(rich.table.Column(h, justify=j, width=w) for h, j, w in zip(headers, justify, widths)),
        width=line_length,
        show_lines=True,
    )
    for row in rows:
        cells = [_name_cell(row), _shape_cell(row.output_shape), _params_cell(row.params)]
        if not sequential_like:
            cells.append(_connections_cell(row.connected_to))
        if show_trainable:
            cells.append(_trainable_cell(row.layer))
        table.add_row(*cells)

    totals = [("Total params", *count(weights)), ("Trainable params", *count(trainable)),
              ("Non-trainable params", *count(frozen))]
    optimizer_variables = _optimizer_variables(model)
    if optimizer_variables is not None:
        totals.append(("Optimizer params", *count(optimizer_variables)))
        totals[0] = ("Total params", totals[0][1] + totals[-1][1], totals[0][2] + totals[-1][2])

    if print_fn is None and not config.is_interactive_logging_enabled():
        from .utils.io_utils import print_msg

        print_fn = print_msg  # to the logging module, as Keras routes it
    if print_fn is None:
        console = rich.console.Console(highlight=False)
    else:
        console = rich.console.Console(highlight=False, force_terminal=False, color_system=None)
        console.begin_capture()
    console.print(f'[bold]Model: "{rich.markup.escape(model.name)}"[/]')
    console.print(table)
    for label, scalars, num_bytes in totals:
        console.print(f"[bold] {label}: [/][{_NUMBER}]{scalars:,}[/] ({readable_size(num_bytes)})")
    if print_fn is not None:
        print_fn(console.end_capture())


def _column_widths(positions: list[float], line_length: int, model: Any) -> list[int]:
    """Each column's width: its right edge (`position * line_length`, floored) minus the previous."""
    widths, edge = [], 0
    for position in positions:
        width = int(position * line_length) - edge
        if width < 4:
            raise ValueError(
                f"summary() of model {model.name!r}: line_length={line_length} with positions {positions} "
                f"leaves a column {width} characters wide (at least 4 needed); pass a larger line_length."
            )
        widths.append(width)
        edge += width
    return widths


def _name_cell(row: SummaryRow) -> str:
    prefix = "   " * row.depth + "└ " if row.depth else ""
    kind = getattr(row.layer, "layer_type", type(row.layer).__name__)
    name = row.name or getattr(row.layer, "name", kind)
    return f"{rich.markup.escape(prefix + name)} ([{_SYMBOL}]{rich.markup.escape(kind)}[/])"


def _shape_cell(text: str) -> str:
    return re.sub(r"\bNone\b|\b\d+\b",
                  lambda m: f"[{_NONE if m.group(0) == 'None' else _NUMBER}]{m.group(0)}[/]", text)


def _params_cell(params: int | None) -> str:
    return f"[{_NUMBER}]0[/] (unbuilt)" if params is None else f"[{_NUMBER}]{params:,}[/]"


def _connections_cell(connected_to: list[str]) -> str:
    if not connected_to or connected_to == ["-"]:
        return "-"
    return ", ".join(
        re.sub(r"\[(\d+)\]\[(\d+)\]$", rf"[[{_NUMBER}]\1[/]][[{_NUMBER}]\2[/]]", rich.markup.escape(label))
        for label in connected_to
    )


def _trainable_cell(layer: Any) -> str:
    """`Y`/`N` from the layer's trainable flag for layers with weights, `-` for the others; a layer
    whose parameters were all frozen the torch way (`requires_grad_(False)`) is `N` too."""
    if not _weights_of(layer):
        return "[bold]-[/]"
    parameters = list(layer.parameters()) if isinstance(layer, torch.nn.Module) else []
    trainable = getattr(layer, "trainable", True) and (not parameters or any(p.requires_grad for p in parameters))
    return "[bold][color(34)]Y[/][/]" if trainable else "[bold][color(9)]N[/][/]"


def _optimizer_variables(model: Any) -> list[Any] | None:
    """The optimizer's variables (Keras's list) once it has been built by training, else None."""
    optimizer = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    if optimizer is None:
        return None
    if isinstance(optimizer, torch.optim.Optimizer):  # a torch optimizer: its state, once it has any
        state = [t for s in optimizer.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
        return state or None
    if not getattr(optimizer, "built", False):
        return None
    return list(getattr(optimizer, "variables", []))


def _select_range(rows: list[SummaryRow], layer_range: Any) -> list[SummaryRow]:
    """Keras's `layer_range`: top-level rows from the first match of the first pattern to the
    last match of the second (nested rows travel with their model)."""
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ValueError(
            f"summary(layer_range=...) must be a list or tuple of 2 layer names, received {layer_range!r}."
        )
    if not all(isinstance(name, str) for name in layer_range):
        raise ValueError(f"summary(layer_range=...) takes layer names (str), received {layer_range!r}.")
    blocks: list[list[SummaryRow]] = []
    for row in rows:
        if row.depth == 0 or not blocks:
            blocks.append([])
        blocks[-1].append(row)
    names = [getattr(block[0].layer, "name", "") for block in blocks]
    lower = [i for i, name in enumerate(names) if re.match(layer_range[0], name)]
    upper = [i for i, name in enumerate(names) if re.match(layer_range[1], name)]
    if not lower or not upper:
        raise ValueError(
            f"summary(layer_range={list(layer_range)}) matches no layer of the model for "
            f"{layer_range[0] if not lower else layer_range[1]!r}; its layers are {names}."
        )
    start, stop = (min(upper), max(lower) + 1) if min(lower) > max(upper) else (min(lower), max(upper) + 1)
    return [row for block in blocks[start:stop] for row in block]


# ------------------------------------------------------------------------------------------- rows


def stack_rows(layers: list[Any], expand_nested: bool, depth: int = 0) -> list[SummaryRow]:
    """Rows for a stack of layers (Sequential, subclassed models), nested models optionally expanded.

    An entry may be a `(name, module)` pair: a plain torch module has no name of its own.
    """
    rows = []
    for entry in layers:
        name, layer = entry if isinstance(entry, tuple) else (None, entry)
        output = _layer_output(layer)
        rows.append(SummaryRow(layer, format_shape(output) if output is not None else "?",
                               _layer_params(layer), depth=depth, name=name))
        inner = getattr(layer, "_summary_rows", None)
        if expand_nested and inner is not None and getattr(layer, "layers", None):
            for row in inner(True):
                row.depth += depth + 1
                row.connected_to = []
                rows.append(row)
    return rows


def attribute_layers(model: torch.nn.Module) -> list[Any]:
    """A subclassed model's sublayers in attribute order, as Keras lists them: kerastorch layers,
    plain torch modules (Keras would wrap them) as `(attribute path, module)`, and the items of
    `nn.ModuleList`/`nn.ModuleDict` containers one by one (Keras tracks lists of layers that way)."""
    from .layers.layer import Layer

    entries: list[Any] = []
    for name, module in model.named_children():
        if isinstance(module, (torch.nn.ModuleList, torch.nn.ModuleDict)):
            entries += [entry if isinstance(entry, Layer) else (f"{name}.{entry[0]}", entry[1])
                        for entry in attribute_layers(module)]
        else:
            entries.append(module if isinstance(module, Layer) else (name, module))
    return entries


def _layer_output(layer: Any) -> Any:
    """The output of the layer's latest graph node (as Keras shows); for a layer built by an eager
    call (inside a subclassed model), the output its first call would give, inferred on meta
    tensors from the inputs it saw."""
    nodes = getattr(layer, "_inbound_nodes", None)
    if nodes:
        return nodes[-1].outputs
    seen = getattr(layer, "_first_inputs", None)
    if seen is None:
        try:  # a Sequential built by its first call has a graph of its own
            return layer.output if hasattr(layer, "_summary_rows") else None
        except (AttributeError, ValueError):
            return None
    from .symbolic import infer_outputs

    try:
        return infer_outputs(layer, (seen,), {})
    except Exception:  # a layer whose first call needed more than one positional input
        return None


def _weights_of(layer: Any) -> list[torch.Tensor]:
    from .layers.layer import Layer

    if isinstance(layer, Layer):
        return Layer.weights.fget(layer)  # models too, built or not (Model.weights raises when unbuilt)
    if isinstance(layer, torch.nn.Module):
        return list(layer.parameters()) + [b for b in layer.buffers() if b.is_floating_point()]
    return []


def _layer_params(layer: Any) -> int | None:
    """The layer's parameter count; None for an unbuilt layer (Keras prints `0 (unbuilt)`)."""
    if not getattr(layer, "built", True):
        return None
    return count(_weights_of(layer))[0]
