"""`kt.ops`: Keras 3's `keras.ops`, each a thin function over torch.

The groups live in their own modules (`numpy`, `nn`, `math`, `linalg`, `image`, `core`, `einops`), as
in Keras.
Every name in a group's `__all__` is wrapped once here (`node.wrap`), in the group module and in
this namespace: a call on symbolic tensors becomes a graph node, any other call runs the torch
function directly. `kt.ops` holds every group's names except `image`'s, which stay under
`kt.ops.image` as in Keras.
"""

import importlib as _importlib

from . import node as _node

_GROUPS = ("numpy", "nn", "math", "linalg", "core", "einops", "image")


def _wrap_groups() -> dict:
    """Wrap each group's public functions in place; return the names `kt.ops` exports."""
    exported = {}
    for group in _GROUPS:
        module = _importlib.import_module(f"{__name__}.{group}")
        exported[group] = module
        for name in module.__all__:
            wrapped = _node.wrap(getattr(module, name), name, group)
            setattr(module, name, wrapped)
            if group != "image":
                exported[name] = wrapped
    return exported


globals().update(_wrap_groups())
__all__ = sorted(name for name in globals() if not name.startswith("_") and name != "node")
