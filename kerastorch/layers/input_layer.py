"""`Input` and `InputLayer`: where a graph starts."""

from __future__ import annotations

from typing import Any

import torch

from ..symbolic import Node, SymbolicTensor
from .layer import Layer


class InputLayer(Layer):
    """The entry point of a graph; holds the symbolic tensor that `Input()` returns."""

    def __init__(
        self,
        shape: tuple | int | None = None,
        batch_size: int | None = None,
        dtype: Any = None,
        batch_shape: tuple | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        if shape is None and batch_shape is None and "input_shape" in kwargs:
            shape = kwargs.pop("input_shape")
        if batch_shape is None and kwargs.get("batch_input_shape") is not None:
            batch_shape = kwargs.pop("batch_input_shape")  # the older Keras spelling, still read by Keras 3
        if shape is not None and batch_shape is not None:
            raise ValueError("InputLayer takes `shape` or `batch_shape`, not both.")
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs a `shape`, for example shape=(784,).")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        batch_shape = tuple(None if s is None else int(s) for s in batch_shape)
        if any(s is not None and s <= 0 for s in batch_shape):
            raise ValueError(f"InputLayer shape must be positive or None, received {batch_shape}.")
        kwargs.pop("batch_input_shape", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        self.batch_shape = batch_shape
        self.built = True
        tensor = SymbolicTensor(batch_shape, dtype if dtype is not None else self._dtype, name=self.name)
        Node(self, (), {}, tensor)
        self._inbound_nodes.append(tensor.node)
        self._input_tensor = tensor

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    @property
    def output(self) -> SymbolicTensor:
        return self._input_tensor

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "name": self.name}


def Input(
    shape: tuple | int | None = None,
    batch_size: int | None = None,
    dtype: Any = None,
    name: str | None = None,
    batch_shape: tuple | None = None,
) -> SymbolicTensor:
    """A symbolic input with batch dimension `None` (or `batch_size`), as `keras.Input`."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name)._input_tensor
