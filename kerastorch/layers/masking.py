"""Keras masks: which mask arguments a call receives, how layers compute output masks, `Masking`.

A mask is a boolean `(batch, steps)` tensor saying which time steps are real. Keras attaches it to
tensors and lets every layer call look it up; here models decide when they are built whether any
mask flows through them (a meta-device pass over `compute_mask`), and only then run a path that
carries masks explicitly next to the tensors. A model without masks runs its plain path unchanged.
Standalone eager calls of mask-producing or mask-consuming layers still attach `_keras_mask` to
their outputs, so Keras code that reads `x._keras_mask` works.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import torch

from ..symbolic import SymbolicTensor, flatten, map_structure
from .layer import Layer

_SIGNATURES: dict[type, inspect.Signature | None] = {}


def call_signature(layer: Any) -> inspect.Signature | None:
    """The signature of a layer's `call` (or `forward`), without `self`; cached per class."""
    cls = type(layer)
    if cls not in _SIGNATURES:
        function = getattr(cls, "call", None) or getattr(cls, "forward", None)
        try:
            signature = inspect.signature(function)
            parameters = list(signature.parameters.values())[1:]
            _SIGNATURES[cls] = signature.replace(parameters=parameters)
        except (TypeError, ValueError):
            _SIGNATURES[cls] = None
    return _SIGNATURES[cls]


def takes_mask(layer: Any) -> bool:
    """Whether the layer's call has an explicit `mask` argument (Keras fills it from the inputs)."""
    signature = call_signature(layer)
    return signature is not None and "mask" in signature.parameters


def _is_tensor(value: Any) -> bool:
    return isinstance(value, (torch.Tensor, SymbolicTensor))


def mask_arguments(layer: Any, args: tuple, kwargs: dict) -> list[tuple[str, Any]]:
    """Keras's rule for the mask arguments of one call: `(argument name, tensor structure)` pairs.

    With one tensor argument, `mask` gets that argument's masks; with several (attention's
    `query`, `value`, `key`), each `<name>_mask` argument the call declares gets its tensor's mask.
    Arguments the caller passed explicitly are never replaced.
    """
    signature = call_signature(layer)
    if signature is None:
        return []
    parameters = signature.parameters
    if not any(name == "mask" or name.endswith("_mask") for name in parameters):
        return []
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return []
    arguments = bound.arguments
    tensors = {
        name: value for name, value in arguments.items()
        if not (name == "mask" or name.endswith("_mask")) and any(_is_tensor(leaf) for leaf in flatten(value))
    }
    fills = []
    if len(tensors) == 1:
        if "mask" in parameters and arguments.get("mask") is None:
            fills.append(("mask", next(iter(tensors.values()))))
    else:
        for name, value in tensors.items():
            if f"{name}_mask" in parameters and arguments.get(f"{name}_mask") is None:
                fills.append((f"{name}_mask", value))
    return fills


def first_argument(args: tuple, kwargs: dict) -> Any:
    return args[0] if args else kwargs.get("inputs")


def has_any(structure: Any) -> bool:
    return any(leaf is not None for leaf in flatten(structure))


def computes_mask(layer: Any) -> bool:
    """Whether the layer may produce a mask of its own (it overrides `compute_mask`)."""
    compute = getattr(type(layer), "compute_mask", None)
    return compute is not None and compute is not Layer.compute_mask and bool(getattr(layer, "supports_masking", False))


def apply_with_masks(
    layer: Any, args: tuple, kwargs: dict, mask_of: Callable[[Any], Any], call: Callable
) -> tuple[Any, Any]:
    """One Keras layer call with masks: fill mask arguments, call, compute the output masks.

    `mask_of(tensor)` gives the mask carried by an input tensor (or None); `call` runs the layer.
    Returns `(outputs, output_masks)`.
    """
    kwargs = dict(kwargs)
    for name, value in mask_arguments(layer, args, kwargs):
        masks = map_structure(lambda leaf: mask_of(leaf) if _is_tensor(leaf) else None, value)
        if has_any(masks):
            kwargs[name] = masks
    first = first_argument(args, kwargs)
    masked_call = getattr(layer, "_call_with_masks", None)
    previous = kwargs.get("mask")
    if previous is None:
        previous = map_structure(lambda leaf: mask_of(leaf) if _is_tensor(leaf) else None, first)
    if masked_call is not None:  # a nested model: outputs and masks from one run of its graph
        return masked_call(first, previous if has_any(previous) else None)
    outputs = call(*args, **kwargs)
    if not getattr(layer, "supports_masking", False):
        return outputs, None
    if not has_any(previous) and not computes_mask(layer):
        return outputs, None
    return outputs, layer.compute_mask(first, previous if has_any(previous) else None)


def eager_mask(tensor: Any) -> Any:
    """The mask Keras code attaches to an eager tensor (`tensor._keras_mask`), or None."""
    return tensor.__dict__.get("_keras_mask") if isinstance(tensor, torch.Tensor) else None


def any_eager_mask(args: tuple, kwargs: dict) -> bool:
    """Whether any input tensor of a call carries a Keras mask (cheap: one dict lookup per tensor)."""
    for value in (*args, *kwargs.values()):
        for leaf in (value if isinstance(value, (list, tuple)) else (value,)):
            if isinstance(leaf, torch.Tensor) and leaf.__dict__.get("_keras_mask") is not None:
                return True
    return False


def attach_masks(outputs: Any, masks: Any) -> None:
    """Set `_keras_mask` on eager outputs, as Keras does after each standalone layer call."""
    if masks is None:
        return
    flat_outputs = flatten(outputs)
    flat_masks = flatten(masks) if isinstance(masks, (list, tuple, dict)) else [masks]
    for tensor, mask in zip(flat_outputs, flat_masks):
        if isinstance(tensor, torch.Tensor) and mask is not None:
            tensor._keras_mask = mask


def with_keras_masks(outputs: Any, masks: Any) -> Any:
    """A masked model's outputs carrying their masks as `_keras_mask`, as Keras's do (so losses and
    metrics skip masked steps); `torch.compile` replays the attribute on its outputs too."""
    if masks is not None:
        attach_masks(outputs, masks)
    return outputs


def meta_like(tensor: SymbolicTensor, placeholder: int = 83) -> torch.Tensor:
    """A meta tensor standing for a symbolic one (unknown sizes get a placeholder)."""
    return torch.zeros([placeholder if s is None else s for s in tensor.shape], dtype=tensor.dtype, device="meta")


def to_meta(structure: Any) -> Any:
    return map_structure(lambda leaf: meta_like(leaf) if isinstance(leaf, SymbolicTensor) else leaf, structure)


def plan_call(layer: Any, args: tuple, kwargs: dict, mask_of: Callable[[Any], Any]) -> tuple[list, Any, Any]:
    """What one call does with masks, worked out on `meta` tensors when a model is built.

    `args`/`kwargs` hold symbolic tensors, `mask_of(symbolic)` gives the meta mask each carries.
    Returns `(fills, previous, output_masks)`: the mask arguments to pass (name, tensor structure),
    the previous mask (`"mask"` argument or the first input's masks) and the meta output masks.
    """
    fills, filled = [], {}
    for name, value in mask_arguments(layer, args, kwargs):
        masks = map_structure(lambda leaf: mask_of(leaf) if isinstance(leaf, SymbolicTensor) else None, value)
        if has_any(masks):
            fills.append((name, value))
            filled[name] = masks
    first = first_argument(args, kwargs)
    if "mask" in filled:
        previous = filled["mask"]
    elif kwargs.get("mask") is not None:
        previous = to_meta(kwargs["mask"])
    else:
        previous = map_structure(lambda leaf: mask_of(leaf) if isinstance(leaf, SymbolicTensor) else None, first)
    previous = previous if has_any(previous) else None
    nested = getattr(layer, "_plan_output_masks", None)
    try:
        if nested is not None:
            return fills, previous, nested(previous)
        if not getattr(layer, "supports_masking", False) or (previous is None and not computes_mask(layer)):
            return fills, previous, None
        return fills, previous, layer.compute_mask(to_meta(first), previous)
    except ValueError:
        raise
    except Exception as error:
        raise ValueError(
            f"Layer {getattr(layer, 'name', layer)!r} ({type(layer).__name__}) failed to compute its output mask "
            f"({type(error).__name__}: {error}); its compute_mask(inputs, mask) must work on any device's tensors."
        ) from error


class Masking(Layer):
    """Masks time steps whose features all equal `mask_value`: they are zeroed and skipped downstream.

    Args:
        mask_value: the padding value; a step is masked when every feature equals it.
    """

    supports_masking = True
    _mask_flow = True
    _makes_masks = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise TypeError(f"Masking expected a number as `mask_value`, received {mask_value!r}.")
        self.mask_value = float(mask_value)
        self.built = True

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor:
        return torch.any(inputs != self.mask_value, dim=-1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        keep = torch.any(inputs != self.mask_value, dim=-1, keepdim=True)
        return torch.where(keep, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
