"""Merging layers: combine a list of tensors (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot), plus Keras's functional shortcuts (`add([a, b])`, `concatenate([a, b])`, ...)."""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from .. import config
from .layer import Layer

__all__ = [
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot",
]


def _shape_text(shape: Any) -> Any:
    return tuple(None if s is None else int(s) for s in shape)


def _describe_value(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"one tensor of shape {tuple(value.shape)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {[type(v).__name__ for v in value]}"
    return f"a {type(value).__name__}"


class Merge(Layer):
    """Base of the merging layers: checks that the input is a list of compatible tensors.

    Element-wise layers follow Keras's rules: sizes must match or be 1 (broadcast), and an input of
    lower rank gets size-1 axes inserted after the batch axis.
    """

    _min_inputs = 1
    _max_inputs: int | None = None
    _broadcasts = True  # element-wise layers; Concatenate and Dot take inputs as they are
    _mask_flow = False  # masks combine inside models only: the eager hot path stays the arithmetic

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """A step is kept when any input keeps it (Keras ORs the masks; one unmasked input: no mask)."""
        if mask is None or any(m is None for m in mask):
            return None
        output = mask[0]
        for m in mask[1:]:
            output = torch.logical_or(output, m)
        return output

    def __init__(self, **kwargs: Any):  # keeps get_config() to Keras's keys
        super().__init__(**kwargs)

    def _describe(self) -> str:
        return f"Layer {self.name!r} ({type(self).__name__})"

    def _check_list(self, is_list: bool, shapes: Sequence[Any], received: Any) -> None:
        count = "exactly 2" if self._max_inputs == 2 else f"at least {self._min_inputs}"
        if not is_list:
            raise ValueError(
                f"{self._describe()} should be called on a list of {count} tensors, received {received}; "
                "pass the tensors as a list, e.g. layer([a, b])."
            )
        if len(shapes) < self._min_inputs or (self._max_inputs is not None and len(shapes) > self._max_inputs):
            raise ValueError(
                f"{self._describe()} should be called on a list of {count} tensors, received {len(shapes)} "
                f"with shapes {[_shape_text(s) for s in shapes]}."
            )

    def _check_shapes(self, shapes: Sequence[Any]) -> None:
        """Element-wise compatibility: same batch size, other sizes equal or 1 (aligned from the right)."""
        batch_sizes = {s[0] for s in shapes if len(s) and s[0] is not None}
        compatible = len(batch_sizes) <= 1
        rank = max(len(s) for s in shapes)
        for position in range(1, rank):
            sizes = {s[position - rank + len(s)] for s in shapes if position - rank + len(s) >= 1}
            sizes -= {None, 1}
            compatible = compatible and len(sizes) <= 1
        if not compatible:
            raise ValueError(
                f"{self._describe()} received inputs with incompatible shapes "
                f"{[_shape_text(s) for s in shapes]}; all inputs need the same batch size and sizes that "
                "are equal (or 1) on every other axis."
            )

    def build(self, input_shape: Any) -> None:
        is_list = isinstance(input_shape, list) and all(isinstance(s, tuple) for s in input_shape)
        self._check_list(is_list, input_shape, f"one input of shape {input_shape}")
        self._check_shapes(input_shape)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        # The graph was checked when the layer was built; eager calls are checked only when something
        # is off, so the hot path is the arithmetic alone.
        is_sequence = isinstance(inputs, (list, tuple))
        if is_sequence and len(inputs) == 2 and inputs[0].shape == inputs[1].shape:
            return self._merge(inputs)  # the common case (a residual Add): nothing to check or align
        count = len(inputs) if is_sequence else 0
        if count < self._min_inputs or (self._max_inputs is not None and count > self._max_inputs):
            self._validate(inputs)
        batch = inputs[0].shape[0]
        if any(x.shape[0] != batch for x in inputs):  # torch would broadcast a batch of 1; Keras refuses
            self._validate(inputs)
        try:
            return self._merge(self._same_rank(inputs) if self._broadcasts else list(inputs))
        except (RuntimeError, AttributeError, TypeError):
            self._validate(inputs)
            raise

    def _validate(self, inputs: Any) -> None:
        """Raise the clear error for a bad input list (wrong type, count or shapes)."""
        is_list = isinstance(inputs, (list, tuple)) and all(isinstance(x, torch.Tensor) for x in inputs)
        shapes = [x.shape for x in inputs] if is_list else []
        self._check_list(is_list, shapes, _describe_value(inputs))
        self._check_shapes(shapes)

    def _same_rank(self, tensors: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        """Insert size-1 axes after the batch axis of lower-rank inputs, as Keras does."""
        rank = tensors[0].dim()
        if all(x.dim() == rank for x in tensors):
            return tensors
        rank = max(x.dim() for x in tensors)
        return [x if x.dim() == rank else x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:])
                for x in tensors]

    def _merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


class Add(Merge):
    """Element-wise sum of the inputs."""

    def _merge(self, tensors):
        output = tensors[0]
        for x in tensors[1:]:
            output = output + x
        return output


class Subtract(Merge):
    """`inputs[0] - inputs[1]`, for exactly two inputs."""

    _min_inputs = 2
    _max_inputs = 2

    def _merge(self, tensors):
        return tensors[0] - tensors[1]


class Multiply(Merge):
    """Element-wise product of the inputs."""

    def _merge(self, tensors):
        output = tensors[0]
        for x in tensors[1:]:
            output = output * x
        return output


class Average(Merge):
    """Element-wise mean of the inputs."""

    def _merge(self, tensors):
        output = tensors[0]
        for x in tensors[1:]:
            output = output + x
        return output / len(tensors)


class Maximum(Merge):
    """Element-wise maximum of the inputs; masked steps take the other inputs' values, as in Keras."""

    _op = staticmethod(torch.maximum)

    def forward(self, inputs: Sequence[torch.Tensor], mask: Any = None) -> torch.Tensor:
        if mask is None or all(m is None for m in mask):
            return super().forward(inputs)
        return _masked_merge(self._op, inputs, mask)

    def _merge(self, tensors):
        output = tensors[0]
        for x in tensors[1:]:
            output = self._op(output, x)
        return output


class Minimum(Maximum):
    """Element-wise minimum of the inputs; masked steps take the other inputs' values, as in Keras."""

    _op = staticmethod(torch.minimum)


def _masked_merge(op: Any, inputs: Sequence[torch.Tensor], masks: Sequence[Any]) -> torch.Tensor:
    """Keras's masked Maximum/Minimum: a masked input position takes the running result's value."""
    output, output_mask = None, None
    for x, mask in zip(inputs, masks):
        if mask is not None:
            mask = mask.unsqueeze(-1).expand(x.shape)
        if output is None:
            output, output_mask = x, mask
            continue
        if mask is not None:
            x = torch.where(mask, x, output)
        if output_mask is not None:
            output = torch.where(output_mask, output, x)
        output_mask = torch.logical_or(output_mask, mask) if mask is not None and output_mask is not None else None
        output = op(output, x)
    return output


class Concatenate(Merge):
    """Joins the inputs along `axis` (the last by default); all other sizes must match."""

    _broadcasts = False

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate expected `axis` to be an int, received {axis!r}.")
        self.axis = axis

    def _check_shapes(self, shapes):
        ranks = {len(s) for s in shapes}
        rank = len(shapes[0])
        ok = len(ranks) == 1 and -rank <= self.axis < rank
        if ok:
            axis = self.axis % rank
            for position in range(rank):
                sizes = {s[position] for s in shapes} - {None}
                ok = ok and (position == axis or len(sizes) <= 1)
        if not ok:
            raise ValueError(
                f"{self._describe()} requires inputs of one rank whose sizes match on every axis except the "
                f"concatenation axis ({self.axis}), received shapes {[_shape_text(s) for s in shapes]}."
            )

    def _merge(self, tensors):
        return torch.cat(tensors, dim=self.axis)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """Masks joined along `axis` (an unmasked input counts as all kept), reduced over features."""
        if mask is None or all(m is None for m in mask):
            return None
        parts = []
        for x, m in zip(inputs, mask):
            if m is None:
                parts.append(torch.ones_like(x, dtype=torch.bool))
            elif m.dim() < x.dim():
                parts.append(m.unsqueeze(-1).expand(x.shape))
            else:
                parts.append(m.to(torch.bool))
        return torch.any(torch.cat(parts, dim=self.axis), dim=-1)


class Dot(Merge):
    """Batched dot product of two inputs along `axes` (an int, or one axis per input).

    Like Keras's `batch_dot`: the result keeps the first input's remaining axes, then the second's,
    and a result with only the batch axis left gets a trailing axis of size 1. With
    `normalize=True` both inputs are L2-normalized along their axis first (cosine proximity).
    """

    _min_inputs = 2
    _max_inputs = 2
    _broadcasts = False

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None  # Keras: a dot product has no steps left to mask

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        valid = isinstance(axes, int) or (
            isinstance(axes, (list, tuple)) and len(axes) == 2 and all(isinstance(a, int) for a in axes)
        )
        if not valid or isinstance(axes, bool):
            raise TypeError(f"Dot expected `axes` to be an int or a pair of ints, received {axes!r}.")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self.normalize = bool(normalize)

    def _resolve_axes(self, shapes) -> tuple[int, int]:
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else self.axes
        return tuple(a % len(s) if -len(s) <= a < len(s) else -1 for a, s in zip(axes, shapes))

    def _check_shapes(self, shapes):
        axis1, axis2 = self._resolve_axes(shapes)
        ok = min(len(s) for s in shapes) >= 2 and axis1 > 0 and axis2 > 0
        if ok:
            size1, size2 = shapes[0][axis1], shapes[1][axis2]
            batch1, batch2 = shapes[0][0], shapes[1][0]
            ok = (size1 is None or size2 is None or size1 == size2) and (
                batch1 is None or batch2 is None or batch1 == batch2
            )
        if not ok:
            raise ValueError(
                f"{self._describe()} with axes={self.axes} needs two inputs of rank >= 2 with the same batch size "
                f"and equal sizes on the dot axes, received shapes {[_shape_text(s) for s in shapes]}."
            )

    def _merge(self, tensors):
        x1, x2 = tensors
        axis1, axis2 = self._resolve_axes([x1.shape, x2.shape])
        if self.normalize:
            x1 = F.normalize(x1, dim=axis1, eps=config.epsilon())
            x2 = F.normalize(x2, dim=axis2, eps=config.epsilon())
        # (batch, rest1..., k) @ (batch, k, rest2...) as one batched matmul.
        a = x1.movedim(axis1, -1)
        b = x2.movedim(axis2, 1)
        rest1, rest2 = a.shape[1:-1], b.shape[2:]
        output = torch.bmm(a.reshape(a.shape[0], -1, a.shape[-1]), b.reshape(b.shape[0], b.shape[1], -1))
        output = output.reshape(a.shape[0], *rest1, *rest2)
        return output.unsqueeze(-1) if output.dim() == 1 else output


def add(inputs: list, **kwargs: Any) -> Any:
    """`Add(**kwargs)(inputs)`."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs: Any) -> Any:
    """`Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any) -> Any:
    """`Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any) -> Any:
    """`Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs: Any) -> Any:
    """`Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs: Any) -> Any:
    """`Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list, axis: int = -1, **kwargs: Any) -> Any:
    """`Concatenate(axis, **kwargs)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list, axes: int | Sequence[int] = -1, normalize: bool = False, **kwargs: Any) -> Any:
    """`Dot(axes, normalize, **kwargs)(inputs)`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
