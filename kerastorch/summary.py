"""`model.summary()`: Keras 3's table, drawn with rich.

A model describes itself as `SummaryRow`s (`model._summary_rows(expand_nested)`); this module only
formats them and the parameter totals.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any, Callable

import rich.box
import rich.console
import rich.table
import torch

from .symbolic import SymbolicTensor


@dataclasses.dataclass
class SummaryRow:
    layer: Any
    output_shape: str
    params: int | None
    connected_to: list[str] = dataclasses.field(default_factory=list)
    depth: int = 0


def layer_label(layer: Any) -> str:
    """`name (Type)`; wrapped torch modules show the wrapped class."""
    kind = getattr(layer, "layer_type", type(layer).__name__)
    return f"{getattr(layer, 'name', kind)} ({kind})"


def format_shape(value: Any) -> str:
    """`(None, 2)`, or a list of shapes for several outputs, as Keras prints them."""
    if isinstance(value, (SymbolicTensor, torch.Tensor)):
        return str(tuple(None if d is None else int(d) for d in value.shape))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_shape(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_shape(v) for v in value) + "]"
    return "?"


def count(weights: list[torch.Tensor]) -> tuple[int, int]:
    """(scalars, bytes) over distinct weights."""
    seen: dict[int, torch.Tensor] = {id(w): w for w in weights}
    return (
        sum(w.numel() for w in seen.values()),
        sum(w.numel() * w.element_size() for w in seen.values()),
    )


def readable_size(num_bytes: float) -> str:
    """Keras's byte formatting: `140.00 B`, `45.62 KB`, `1.29 MB` (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if num_bytes < 1024 or unit == "GB":
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    raise AssertionError("unreachable")


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: list[float] | None = None,
    print_fn: Callable[..., Any] | None = None,
    expand_nested: bool = False,
    show_trainable: bool | None = None,
    layer_range: Any = None,
) -> None:
    """Print (or hand to `print_fn`, as one string) the summary table and totals."""
    rows = model._summary_rows(expand_nested)
    if layer_range is not None:
        rows = _select_range(rows, layer_range)
    weights = model.weights
    trainable = [w for w in weights if isinstance(w, torch.nn.Parameter) and w.requires_grad]
    frozen = [w for w in weights if not (isinstance(w, torch.nn.Parameter) and w.requires_grad)]
    if show_trainable is None:
        show_trainable = any(isinstance(w, torch.nn.Parameter) and not w.requires_grad for w in weights)
    show_connections = any(row.connected_to for row in rows)

    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if show_connections else [])
    line_length = line_length or (110 if show_connections else 78)
    if positions is None:
        positions = [0.3, 0.6, 0.7, 1.0] if show_connections else [0.45, 0.84, 1.0]
    # Each column costs 3 characters of borders and padding; Trainable is a fixed 9-wide column.
    room = line_length - 3 * len(headers) - 1 - (12 if show_trainable else 0)
    widths = [max(4, int(round((b - a) * room))) for a, b in zip([0.0] + list(positions[:-1]), positions)]

    table = rich.table.Table(box=rich.box.HEAVY_HEAD, show_lines=True, show_header=True)
    for header, width in zip(headers, widths):
        table.add_column(header, width=width, justify="right" if header == "Param #" else "left", overflow="fold")
    if show_trainable:
        headers.append("Trainable")
        table.add_column("Trainable", width=9, justify="center")
    for row in rows:
        name = ("   " * row.depth + "└ " if row.depth else "") + layer_label(row.layer)
        cells = [name, row.output_shape, "-" if row.params is None else f"{row.params:,}"]
        if show_connections:
            cells.append(", ".join(row.connected_to) if row.connected_to else "-")
        if show_trainable:
            cells.append("Y" if getattr(row.layer, "trainable", True) else "N")
        table.add_row(*cells)

    total, total_bytes = count(weights)
    trainable_count, trainable_bytes = count(trainable)
    frozen_count, frozen_bytes = count(frozen)
    buffer = io.StringIO()
    console = rich.console.Console(
        file=buffer, width=max(line_length + 2, 40), highlight=False, color_system=None, force_terminal=False
    )
    console.print(f'Model: "{model.name}"')
    console.print(table)
    console.print(f" Total params: {total:,} ({readable_size(total_bytes)})")
    console.print(f" Trainable params: {trainable_count:,} ({readable_size(trainable_bytes)})")
    console.print(f" Non-trainable params: {frozen_count:,} ({readable_size(frozen_bytes)})")
    text = buffer.getvalue()
    if print_fn is not None:
        print_fn(text.rstrip("\n"))
    else:
        print(text, end="")


def _select_range(rows: list[SummaryRow], layer_range: Any) -> list[SummaryRow]:
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be (first_name, last_name), received {layer_range!r}.")
    names = [getattr(r.layer, "name", None) for r in rows]
    for name in layer_range:
        if name not in names:
            raise ValueError(f"layer_range names {name!r}, which is not a layer of this model: {names}.")
    start, stop = names.index(layer_range[0]), names.index(layer_range[1])
    return rows[start:stop + 1]


def stack_rows(layers: list[Any], expand_nested: bool, depth: int = 0) -> list[SummaryRow]:
    """Rows for a stack of layers (Sequential, subclassed models), nested models optionally expanded."""
    rows = []
    for layer in layers:
        output = _layer_output(layer)
        rows.append(SummaryRow(layer, format_shape(output) if output is not None else "?",
                               _layer_params(layer), depth=depth))
        inner = getattr(layer, "_summary_rows", None)
        if expand_nested and inner is not None and getattr(layer, "layers", None):
            for row in inner(True):
                row.depth += depth + 1
                row.connected_to = []
                rows.append(row)
    return rows


def _layer_output(layer: Any) -> Any:
    """The layer's symbolic output; for a layer built by an eager call (inside a subclassed model),
    the output its first call would give, inferred on meta tensors from the inputs it saw."""
    try:
        return layer.output
    except (AttributeError, ValueError):
        pass
    seen = getattr(layer, "_first_inputs", None)
    if seen is None:
        return None
    from .symbolic import infer_outputs

    try:
        return infer_outputs(layer, (seen,), {})
    except Exception:  # a layer whose first call needed more than one positional input
        return None


def _layer_params(layer: Any) -> int | None:
    if not getattr(layer, "built", True):
        return None
    from .layers.layer import Layer

    return count(Layer.weights.fget(layer))[0]
