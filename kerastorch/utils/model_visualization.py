"""`kt.utils.plot_model` / `model_to_dot`: a model's layer graph drawn with pydot and graphviz.

Both are optional. As in Keras, a missing one raises `ImportError` saying what to install, except
inside an IPython session, where the message is printed and `plot_model` returns `None` so that a
notebook keeps running.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _load_pydot() -> Any:
    for name in ("pydot", "pydot_ng", "pydotplus"):  # pydot_ng and pydotplus are older forks
        try:
            return __import__(name)
        except ImportError:
            continue
    return None


pydot = _load_pydot()


def check_pydot() -> bool:
    """Whether pydot is importable."""
    return pydot is not None


def check_graphviz() -> bool:
    """Whether pydot can run graphviz's `dot` program (it renders an empty graph)."""
    if not check_pydot():
        return False
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, getattr(pydot, "PydotException", OSError)):
        return False


def _missing_dependency() -> str | None:
    if not check_pydot():
        return "plot_model needs the optional package pydot: install it with `pip install pydot`."
    if not check_graphviz():
        return ("plot_model needs graphviz's `dot` program: install graphviz "
                "(https://graphviz.org/download/, e.g. `apt-get install graphviz`).")
    return None


def _label(layer: Any, node: Any, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
           show_layer_activations: bool, show_trainable: bool) -> str:
    kind = type(layer).__name__
    lines = [f"{layer.name} ({kind})" if show_layer_names else kind]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        name = getattr(activation, "__name__", None) or getattr(activation, "name", None) or str(activation)
        lines.append(f"activation: {name}")
    if show_dtype:
        lines.append(f"dtype: {getattr(layer, 'dtype', None)}")
    if show_shapes and node is not None:
        def shapes(tensors: list) -> str:
            text = ", ".join(str(tuple(t.shape)) for t in tensors)
            return text if len(tensors) == 1 else f"[{text}]"

        from ..tree import flatten
        outputs = [t for t in flatten(node.outputs) if hasattr(t, "shape")]
        if node.input_tensors:
            lines.append(f"input: {shapes(node.input_tensors)}")
        lines.append(f"output: {shapes(outputs)}")
    if show_trainable:
        lines.append(f"trainable: {'yes' if getattr(layer, 'trainable', True) else 'no'}")
    return "\n".join(lines)


def _graph(model: Any) -> tuple[list[tuple[Any, Any]], list[tuple[int, int]]]:
    """(layer, node) pairs in graph order and edges between their ids, for functional and sequential models."""
    if hasattr(model, "_graph_nodes"):
        nodes = model._graph_nodes()
        entries = [(node.layer, node) for node in nodes]
        edges = [(id(parent.layer), id(node.layer)) for node in nodes for parent in node.parent_nodes]
        return entries, edges
    layers = list(model.layers)
    entries = [(layer, (layer._inbound_nodes or [None])[-1] if hasattr(layer, "_inbound_nodes") else None)
               for layer in layers]
    edges = [(id(a), id(b)) for a, b in zip(layers, layers[1:])]
    return entries, edges


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
                 **kwargs: Any) -> Any:
    """The model's layer graph as a `pydot.Dot` (a `pydot.Cluster` when `subgraph=True`).

    Args:
        model: a built kerastorch model.
        show_shapes / show_dtype / show_layer_names / show_layer_activations / show_trainable:
            what each layer's box shows.
        rankdir: graphviz layout direction, `"TB"` (top to bottom) or `"LR"` (left to right).
        expand_nested: draw nested models' layers (not supported yet: raises `NotImplementedError`).
        dpi: image resolution.
        subgraph: return a cluster to embed in another graph.
        splines: how edges are drawn (`"ortho"`, `"curved"`, `"polyline"`, `"spline"`, `"line"`).
    """
    if kwargs:
        raise ValueError(f"model_to_dot received unknown keyword arguments {sorted(kwargs)}; remove them.")
    if not getattr(model, "built", False):
        raise ValueError(f"model_to_dot needs a built model, but {model.name!r} is not built; "
                         "call it on data or on `kt.Input` tensors first.")
    if expand_nested:
        raise NotImplementedError("model_to_dot(expand_nested=True) is not supported yet; nested models "
                                  "are drawn as one box. Pass expand_nested=False.")
    if not check_pydot():
        raise ImportError("model_to_dot needs the optional package pydot: install it with `pip install pydot`.")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name, label=model.name)
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    entries, edges = _graph(model)
    for layer, node in entries:
        label = _label(layer, node, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
        dot.add_node(pydot.Node(str(id(layer)), label=label))
    for source, target in dict.fromkeys(edges):  # one edge per pair of layers, in graph order
        dot.add_edge(pydot.Edge(str(source), str(target), penwidth="2"))
    return dot


def plot_model(model: Any, to_file: str = "model.png", show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = False, rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200,
               show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
               **kwargs: Any) -> Any:
    """Draw the model's layer graph into `to_file` (format from its extension, `png` without one).

    Args: as `model_to_dot`, plus `to_file`, the image path. Needs pydot and graphviz: without them it
    raises `ImportError` (in IPython it prints why and returns `None`). Returns an
    `IPython.display.Image` of the file when IPython is installed (not for pdf), else `None`.
    """
    if not getattr(model, "built", False):
        raise ValueError(f"plot_model needs a built model, but {model.name!r} is not built; "
                         "call it on data or on `kt.Input` tensors first.")
    message = _missing_dependency()
    if message is not None:
        if "IPython.core.magics.namespace" in sys.modules:  # a notebook keeps running, as in Keras
            print(message)
            return None
        raise ImportError(message)
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("plot_model no longer supports `layer_range`; remove it.")
    if kwargs:
        raise ValueError(f"plot_model received unknown keyword arguments {sorted(kwargs)}; remove them.")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable, splines=splines)
    to_file = str(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension != "pdf":
        try:
            from IPython import display
        except ImportError:
            return None
        return display.Image(filename=to_file)
    return None
