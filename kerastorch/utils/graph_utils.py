"""Questions about symbolic tensors: is this one, and which `Input`s does it come from."""

from __future__ import annotations

from typing import Any

from ..symbolic import SymbolicTensor
from ..tree import flatten


def is_keras_tensor(x: Any) -> bool:
    """Whether `x` is a symbolic tensor (from `kt.Input` or a layer called on one), not real data."""
    return isinstance(x, SymbolicTensor)


def get_source_inputs(tensor: Any) -> Any:
    """The input tensors a symbolic `tensor` is computed from, in first-seen order without repeats.

    Args:
        tensor: a symbolic tensor; anything else is returned unchanged, as in Keras.
    """
    if not isinstance(tensor, SymbolicTensor):
        return tensor
    node = tensor.node
    if node is None:
        return [tensor]
    if node.is_input:
        return [t for t in flatten(node.outputs) if isinstance(t, SymbolicTensor)]
    sources: list[SymbolicTensor] = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not seen for seen in sources):
                sources.append(source)
    return sources
