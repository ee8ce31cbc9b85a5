"""`add_loss` / `losses`: Keras's per-forward loss collection, paid for only where it is used.

Keras clears every layer's added losses at the start of each outermost layer call, then collects
`add_loss` terms (activity regularization included) during the call; weight regularization terms
are computed from the current weights whenever `losses` is read. Here:

- a *scope* is the call of a layer that may add losses: a Keras-style layer (one that implements
  `call`, entered by `Layer.forward`), a layer with an `activity_regularizer` (entered by two
  forward hooks on that layer only), and a model whose `losses` have been read (hooks added on the
  first read, so the model's own call clears its whole tree from then on). The outermost scope
  clears the losses of its subtree before running;
- built-in layers without activity regularization never enter a scope, and while no layer in the
  process has ever added a loss, scopes skip the clearing and `losses` returns `[]` at once.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

# Nesting depth of open loss scopes; the scope entered at depth 0 clears its subtree's losses.
_DEPTH = [0]
# How many layers have ever added (or been set up to add) losses, and how many weights have a
# regularizer; while both are 0, `losses` is `[]` without looking at any module.
_SOURCES = [0]
_PENALTIES = [0]


def mark_source(layer: nn.Module) -> None:
    """Record that `layer` adds losses during its calls (an `add_loss` or an activity regularizer)."""
    if not layer.__dict__.get("_loss_source", False):
        layer.__dict__["_loss_source"] = True
        _SOURCES[0] += 1


def clear_losses(root: nn.Module) -> None:
    """Empty the `add_loss` lists of `root` and every layer inside it."""
    for module in root.modules():
        losses = module.__dict__.get("_losses")
        if losses:
            losses.clear()


def enter_scope(root: nn.Module) -> None:
    if _DEPTH[0] == 0 and _SOURCES[0]:
        clear_losses(root)
    _DEPTH[0] += 1


def exit_scope() -> None:
    _DEPTH[0] -= 1


def _enter_hook(module: nn.Module, args: Any) -> None:
    enter_scope(module)


def _exit_hook(module: nn.Module, args: Any, output: Any) -> None:
    exit_scope()


def add_scope_hooks(module: nn.Module) -> None:
    """Make `module`'s own calls loss scopes (two forward hooks; the exit runs even on errors)."""
    if module.__dict__.get("_loss_scope_hooks") is None:
        module.__dict__["_loss_scope_hooks"] = (
            module.register_forward_pre_hook(_enter_hook),
            module.register_forward_hook(_exit_hook, always_call=True),
        )


def remove_scope_hooks(module: nn.Module) -> None:
    handles = module.__dict__.pop("_loss_scope_hooks", None)
    for handle in handles or ():
        handle.remove()


def activity_hook(module: nn.Module, args: Any, output: Any) -> None:
    """Keras's activity regularization: the penalty of each output tensor, divided by its batch size."""
    regularizer = module.__dict__.get("_activity_regularizer")
    if regularizer is None:
        return
    from ..symbolic import flatten

    for tensor in flatten(output):
        if isinstance(tensor, torch.Tensor):
            loss = regularizer(tensor)
            if tensor.dim() > 0:
                batch = tensor.shape[0]
                loss = loss / batch if batch else torch.zeros_like(loss)
            module.add_loss(loss)


def keras_view(layer: nn.Module, name: str, weight: torch.Tensor) -> torch.Tensor:
    """`weight` seen in Keras layout (an axis permutation is a free view), so penalties see Keras's axes."""
    from .layer import keras_layout  # layer imports this module

    return keras_layout(weight, layer.__dict__.get("_keras_layouts", {}).get(name))


def collect_losses(root: nn.Module) -> list[torch.Tensor]:
    """`root.losses`: `add_loss` terms of `root` and its sublayers, then weight penalties.

    Weight penalties are evaluated now on trainable weights (Keras skips frozen ones), in weight
    order. A model read this way gets scope hooks, so its next call clears its tree first.
    """
    if not (_SOURCES[0] or _PENALTIES[0]):
        return []
    added: list[torch.Tensor] = []
    penalties: list[torch.Tensor] = []
    has_sources = False
    for module in root.modules():
        state = module.__dict__
        losses = state.get("_losses")
        if losses:
            added.extend(losses)
        has_sources = has_sources or state.get("_loss_source", False)
        regularizers = state.get("_regularizers")
        if regularizers:
            for name, regularizer in regularizers.items():
                weight = module._parameters.get(name)
                if weight is not None and weight.requires_grad:
                    penalties.append(regularizer(keras_view(module, name, weight)))
    if has_sources and not _is_scoped(root):
        add_scope_hooks(root)
    return added + penalties


def scope_if_sources(parent: nn.Module, child: nn.Module) -> None:
    """Give `parent` scope hooks when `child` (or anything inside it) adds losses."""
    if not _is_scoped(parent) and any(m.__dict__.get("_loss_source", False) for m in child.modules()):
        add_scope_hooks(parent)


def _is_scoped(module: nn.Module) -> bool:
    from .layer import Layer

    if module.__dict__.get("_loss_scope_hooks") is not None:
        return True
    return isinstance(module, Layer) and type(module).forward is Layer.forward
