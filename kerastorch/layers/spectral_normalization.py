"""`SpectralNormalization`: keeps a layer's kernel at spectral norm 1, estimated by power iteration."""

from __future__ import annotations

from typing import Any

import torch

from .. import initializers
from ..ops import nn as nn_ops
from .input_spec import InputSpec
from .layer import keras_layout
from .wrapper import Wrapper


class SpectralNormalization(Wrapper):
    """Divides the wrapped layer's `kernel` (or `embeddings`) by its largest singular value in training.

    As in Keras, each training call runs `power_iterations` steps from the stored estimate `vector_u`
    and writes the normalized kernel back into the layer's weight (no gradient flows through the
    estimate); inference calls use the kernel as it is. The wrapper lists the kernel as its own weight
    too, so `get_weights()` and weight files follow Keras's order: kernel, `vector_u`, then the rest
    of the layer's weights.

    Args:
        layer: a layer with a `kernel` or `embeddings` weight (Dense, Conv*, Embedding, ...).
        power_iterations: power-iteration steps per training call (a positive int).
    """

    def __init__(self, layer: Any, power_iterations: int = 1, **kwargs: Any):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError(
                f"SpectralNormalization expected `power_iterations` to be a positive int, "
                f"received power_iterations={power_iterations!r}."
            )
        self.power_iterations = power_iterations

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        name = next((n for n in ("kernel", "embeddings") if n in self.layer._parameters), None)
        if name is None:
            raise ValueError(
                f"Layer {self.name!r} (SpectralNormalization) wraps {type(self.layer).__name__} "
                f"{self.layer.name!r}, which has neither a `kernel` nor an `embeddings` weight; wrap a Dense, "
                "convolution or Embedding layer."
            )
        kernel = self.layer._parameters[name]
        self.register_parameter("kernel", kernel)  # the same tensor, listed first as in Keras
        layout = self.layer._keras_layouts.get(name)
        if layout is not None and not isinstance(layout, tuple):
            raise NotImplementedError(
                f"Layer {self.name!r} (SpectralNormalization): the {name} of {self.layer.name!r} is stored in a "
                "reordered layout that is not a view of Keras's, so it cannot be normalized in place."
            )
        if layout is not None:
            self._keras_layouts["kernel"] = layout
        self._kernel_layout = layout
        columns = keras_layout(kernel, layout).shape[-1]
        self.vector_u = self.add_weight((1, columns), initializers.TruncatedNormal(stddev=0.02), dtype=kernel.dtype,
                                        trainable=False, name="vector_u")

    def normalized_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The next `vector_u` and the kernel divided by its estimated spectral norm (Keras layout)."""
        kernel = keras_layout(self.kernel, self._kernel_layout)
        weights = kernel.reshape(-1, kernel.shape[-1])
        vector_u = self.vector_u
        for _ in range(self.power_iterations):
            vector_v = nn_ops.normalize(vector_u @ weights.T, axis=None)
            vector_u = nn_ops.normalize(vector_v @ weights, axis=None)
        vector_u, vector_v = vector_u.detach(), vector_v.detach()
        sigma = (vector_v @ weights) @ vector_u.T
        return vector_u, kernel / sigma

    def forward(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if self.training if training is None else training:
            with torch.no_grad():
                vector_u, kernel = self.normalized_weights()
                zero = torch.all(self.kernel == 0)  # Keras leaves an all-zero kernel (and u) alone
                self.vector_u.copy_(torch.where(zero, self.vector_u, vector_u))
                stored = keras_layout(self.kernel, self._kernel_layout)
                stored.copy_(torch.where(zero, stored, kernel))  # a view: writes the stored weight
        outputs = self.layer(inputs)
        return outputs.to(inputs.dtype) if inputs.is_floating_point() else outputs
