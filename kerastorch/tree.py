"""Nested structures (lists, tuples, named tuples, dicts of tensors), with Keras's one ordering rule.

`keras.tree`'s rule everywhere: a dict's leaves come in sorted-key order (an `OrderedDict` keeps its
own order), `None` is a leaf unless `none_is_leaf=False`, and anything that is not a list, tuple or
dict is a leaf. Graph nodes, model inputs/outputs, data batches and configs all use this module, so
a model's flat inputs, its outputs and its batches line up the same way.
"""

from __future__ import annotations

import warnings
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


def map_structure(func: Callable, *structures: Any, none_is_leaf: bool = True) -> Any:
    """`func` applied to every leaf, keeping lists, tuples (named too) and dicts (their key order too).

    With several structures (nested the same way, see `assert_same_structure`), `func` receives the
    leaves at the same position in each. With `none_is_leaf=False`, `None` entries stay `None` and
    `func` never sees them.
    """
    if len(structures) != 1:
        return _map_many(func, structures, none_is_leaf)
    return _map_one(func, structures[0], none_is_leaf)


def _map_one(func: Callable, structure: Any, none_is_leaf: bool) -> Any:
    if isinstance(structure, list):
        return [_map_one(func, item, none_is_leaf) for item in structure]
    if isinstance(structure, tuple):
        items = [_map_one(func, item, none_is_leaf) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else type(structure)(items)
    if isinstance(structure, dict):
        mapped = {key: _map_one(func, value, none_is_leaf) for key, value in structure.items()}
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




class MAP_TO_NONE:
    """Returned by a `traverse` function to replace a sub-structure with `None`."""


def _node_kind(value: Any) -> Any:
    """What must match between two structures at one node: dict kinds match each other, named tuples by type."""
    if isinstance(value, dict):
        return dict
    return type(value)


def assert_same_structure(a: Any, b: Any, check_types: bool | None = None) -> None:
    """Raise `ValueError` unless `a` and `b` nest the same way: the same container types (a list is not a
    tuple; any dict matches any dict) with the same lengths and keys. `check_types` is accepted as in
    Keras, where it is deprecated and has no effect."""
    if check_types is not None:
        warnings.warn("assert_same_structure: `check_types` has no effect (deprecated in Keras); remove it.",
                      DeprecationWarning, stacklevel=2)
    _check_same(a, b)


def _check_same(a: Any, b: Any) -> None:
    nested_a, nested_b = is_nested(a), is_nested(b)
    if not nested_a and not nested_b:
        return
    if nested_a != nested_b or _node_kind(a) is not _node_kind(b):
        raise ValueError(
            f"The two structures don't have the same nested structure: {type(a).__name__} {_short(a)} against "
            f"{type(b).__name__} {_short(b)}."
        )
    if isinstance(a, dict):
        if set(a) != set(b):
            raise ValueError(
                f"The two structures don't have the same nested structure: dict keys {sorted(map(str, a))} against "
                f"{sorted(map(str, b))}."
            )
        for key in a:
            _check_same(a[key], b[key])
        return
    if len(a) != len(b):
        raise ValueError(
            f"The two structures don't have the same nested structure: {type(a).__name__} of {len(a)} items "
            f"against {len(b)}."
        )
    for item_a, item_b in zip(a, b):
        _check_same(item_a, item_b)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _map_many(func: Callable, structures: tuple, none_is_leaf: bool) -> Any:
    if not structures:
        raise TypeError("map_structure expected at least one structure after `func`, received none.")
    first = structures[0]
    for other in structures[1:]:
        _check_same(first, other)
    columns = zip(*(flatten(s) for s in structures))

    def apply(leaves: tuple) -> Any:
        if not none_is_leaf and leaves[0] is None:
            if any(leaf is not None for leaf in leaves):
                raise ValueError(f"map_structure: some leaves at one position are None and others not: {leaves}.")
            return None
        return func(*leaves)

    return pack_sequence_as(first, [apply(leaves) for leaves in columns])


def flatten_with_path(structure: Any) -> list[tuple[tuple, Any]]:
    """`(path, leaf)` pairs in `flatten`'s order; a path holds list/tuple indices and dict keys."""
    pairs: list[tuple[tuple, Any]] = []
    _extend_paths(pairs, (), structure)
    return pairs


def _extend_paths(pairs: list, prefix: tuple, structure: Any) -> None:
    if isinstance(structure, (list, tuple)):
        for index, item in enumerate(structure):
            _extend_paths(pairs, prefix + (index,), item)
    elif isinstance(structure, dict):
        for key in _keys(structure):
            _extend_paths(pairs, prefix + (key,), structure[key])
    else:
        pairs.append((prefix, structure))


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise `ValueError` unless `a` and `b` have the same leaf paths (container types may differ)."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError(
            "`a` and `b` don't have the same paths: only in `a`: "
            f"{sorted(map(str, paths_a - paths_b))}; only in `b`: {sorted(map(str, paths_b - paths_a))}."
        )


def map_structure_up_to(shallow_structure: Any, func: Callable, *structures: Any) -> Any:
    """`func` applied to the sub-structures of `structures` found at the leaves of `shallow_structure`.

    The structures must match `shallow_structure` down to its leaves and may be deeper there; the
    result has `shallow_structure`'s layout.
    """
    if not structures:
        raise TypeError("map_structure_up_to expected at least one structure after `func`, received none.")
    return _up_to(shallow_structure, func, structures)


def _up_to(shallow: Any, func: Callable, structures: tuple) -> Any:
    if not is_nested(shallow):
        return func(*structures)
    for structure in structures:
        if not is_nested(structure) or _node_kind(structure) is not _node_kind(shallow) or (
                len(structure) != len(shallow)) or (isinstance(shallow, dict) and set(structure) != set(shallow)):
            raise ValueError(
                f"map_structure_up_to: the structure {_short(structure)} does not match the shallow structure "
                f"{_short(shallow)} (it may be deeper, never shallower or differently nested)."
            )
    if isinstance(shallow, dict):
        mapped = {key: _up_to(shallow[key], func, tuple(s[key] for s in structures)) for key in shallow}
        return OrderedDict(mapped) if isinstance(shallow, OrderedDict) else mapped
    items = [_up_to(item, func, tuple(s[i] for s in structures)) for i, item in enumerate(shallow)]
    return _rebuild(shallow, items)


def _rebuild(template: Any, items: list) -> Any:
    if isinstance(template, list):
        return items
    return type(template)(*items) if hasattr(template, "_fields") else type(template)(items)


def traverse(func: Callable, structure: Any, top_down: bool = True) -> Any:
    """Visit every sub-structure depth-first; a non-None result of `func` replaces it.

    Top-down, a replaced sub-structure is not entered; bottom-up, `func` sees the already traversed
    children. Return `MAP_TO_NONE` to replace with `None`. Dicts come back in sorted-key order, as Keras's.
    """
    if not callable(func):
        raise TypeError(f"traverse expected a callable `func`, received {func!r}.")
    return _traverse(func, structure, top_down)


def _traverse(func: Callable, structure: Any, top_down: bool) -> Any:
    def children() -> Any:
        if isinstance(structure, dict):
            mapped = {key: _traverse(func, structure[key], top_down) for key in _keys(structure)}
            return OrderedDict(mapped) if isinstance(structure, OrderedDict) else mapped
        if isinstance(structure, (list, tuple)):
            return _rebuild(structure, [_traverse(func, item, top_down) for item in structure])
        return structure

    if top_down:
        result = func(structure)
        if result is None:
            return children()
    else:
        structure = children()
        result = func(structure)
        if result is None:
            return structure
    return None if result is MAP_TO_NONE else result


def lists_to_tuples(structure: Any) -> Any:
    """The same structure with every list turned into a tuple."""
    return traverse(lambda node: tuple(node) if isinstance(node, list) else None, structure, top_down=False)


def _is_shape(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, int) or v is None for v in value)


def map_shape_structure(func: Callable, structure: Any) -> Any:
    """`map_structure` where a list/tuple of ints and `None` (a shape) is a leaf passed whole to `func`."""
    if _is_shape(structure):
        return func(structure)
    if isinstance(structure, dict):
        mapped = {key: map_shape_structure(func, structure[key]) for key in _keys(structure)}
        return OrderedDict(mapped) if isinstance(structure, OrderedDict) else mapped
    if isinstance(structure, (list, tuple)):
        return _rebuild(structure, [map_shape_structure(func, item) for item in structure])
    return func(structure)


__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten", "flatten_with_path", "is_nested",
    "lists_to_tuples", "map_shape_structure", "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse",
]
