"""Nested structures (lists, tuples, named tuples, dicts of tensors), with Keras's one ordering rule.

`keras.tree`'s rule everywhere: a dict's leaves come in sorted-key order (an `OrderedDict` keeps its
own order), `None` is a leaf unless `none_is_leaf=False`, and anything that is not a list, tuple or
dict is a leaf. Graph nodes, model inputs/outputs, data batches and configs all use this module, so
a model's flat inputs, its outputs and its batches line up the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable


def is_nested(structure: Any) -> bool:
    """Whether `structure` is a list, tuple or dict (not a leaf)."""
    return isinstance(structure, (list, tuple, dict))


def _keys(mapping: dict) -> list:
    return list(mapping) if isinstance(mapping, OrderedDict) else sorted(mapping)


def flatten(structure: Any) -> list[Any]:
    """The leaves of `structure` in order: dicts by sorted key, lists and tuples as they are."""
    if not isinstance(structure, (list, tuple, dict)):
        return [structure]
    leaves: list[Any] = []
    _extend(leaves, structure)
    return leaves


def _extend(leaves: list, structure: Any) -> None:
    if isinstance(structure, (list, tuple)):
        for item in structure:
            if isinstance(item, (list, tuple, dict)):
                _extend(leaves, item)
            else:
                leaves.append(item)
    elif isinstance(structure, dict):
        for key in _keys(structure):
            _extend(leaves, structure[key])
    else:
        leaves.append(structure)


def map_structure(func: Callable, structure: Any, none_is_leaf: bool = True) -> Any:
    """`func` applied to every leaf, keeping lists, tuples (named too) and dicts (their key order too).

    With `none_is_leaf=False`, `None` entries stay `None` and `func` never sees them.
    """
    if isinstance(structure, list):
        return [map_structure(func, item, none_is_leaf) for item in structure]
    if isinstance(structure, tuple):
        items = [map_structure(func, item, none_is_leaf) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    if isinstance(structure, dict):
        mapped = {key: map_structure(func, value, none_is_leaf) for key, value in structure.items()}
        return OrderedDict(mapped) if isinstance(structure, OrderedDict) else mapped
    if structure is None and not none_is_leaf:
        return None
    return func(structure)


def pack_sequence_as(structure: Any, flat_sequence: list[Any]) -> Any:
    """`flat_sequence` (ordered as `flatten(structure)` orders leaves) put back into `structure`'s shape."""
    flat = list(flat_sequence)
    count = len(flatten(structure))
    if count != len(flat):
        raise ValueError(
            f"pack_sequence_as: the structure has {count} leaves but the flat sequence has {len(flat)} items."
        )
    return _pack(structure, iter(flat))


def _pack(structure: Any, leaves: Any) -> Any:
    if isinstance(structure, (list, tuple)):
        items = [_pack(item, leaves) for item in structure]
        if isinstance(structure, list):
            return items
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    if isinstance(structure, dict):
        packed = {key: _pack(structure[key], leaves) for key in _keys(structure)}
        mapped = {key: packed[key] for key in structure}  # the caller's key order
        return OrderedDict(mapped) if isinstance(structure, OrderedDict) else mapped
    return next(leaves)


__all__ = ["flatten", "is_nested", "map_structure", "pack_sequence_as"]
