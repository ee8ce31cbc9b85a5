"""InputSpec: the shape a built layer accepts, checked with a few integer comparisons per call."""

from __future__ import annotations

from typing import Any


class InputSpec:
    """Expected rank (`ndim`, `min_ndim`) and fixed axis sizes (`axes={-1: 4}`) of a layer's input."""

    def __init__(self, ndim: int | None = None, min_ndim: int | None = None, axes: dict[int, int] | None = None):
        self.ndim = ndim
        self.min_ndim = min_ndim
        self.axes = dict(axes or {})

    def check(self, layer: Any, inputs: Any) -> None:
        shape = inputs.shape
        rank = len(shape)
        if self.ndim is not None and rank != self.ndim:
            raise ValueError(
                f"Input 0 of layer {layer.name!r} ({type(layer).__name__}) expected ndim={self.ndim}, "
                f"received ndim={rank} with shape {_show(shape)}; reshape the input or rebuild the layer."
            )
        if self.min_ndim is not None and rank < self.min_ndim:
            raise ValueError(
                f"Input 0 of layer {layer.name!r} ({type(layer).__name__}) expected min_ndim={self.min_ndim}, "
                f"received ndim={rank} with shape {_show(shape)}."
            )
        for axis, size in self.axes.items():
            if -rank <= axis < rank and shape[axis] is not None and shape[axis] != size:
                raise ValueError(
                    f"Input 0 of layer {layer.name!r} ({type(layer).__name__}) is incompatible with the layer: "
                    f"expected axis {axis} of the input shape to have value {size}, but received input "
                    f"with shape {_show(shape)}. The layer was built for that size; create a new layer "
                    "for inputs of another size."
                )

    def __repr__(self) -> str:
        return f"InputSpec(ndim={self.ndim}, min_ndim={self.min_ndim}, axes={self.axes})"


def _show(shape: Any) -> tuple:
    return tuple(None if s is None else int(s) for s in shape)
