"""Core layers: Dense, Activation, Dropout, Identity, Embedding, Lambda."""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from .. import activations, constraints, initializers, regularizers
from .arguments import positive_int
from .input_spec import InputSpec
from .layer import Layer
from .lora import LoraMixin, check_lora_rank


class Dense(LoraMixin, Layer):
    """`activation(inputs @ kernel + bias)`; the kernel is stored `(in, out)` like Keras's.

    Args:
        units: the output width.
        activation, use_bias, kernel/bias initializers, regularizers and constraints,
        activity_regularizer: as in Keras.
        lora_rank, lora_alpha: train a low-rank update of the frozen kernel (see `enable_lora`).
    """

    supports_masking = True  # a time-distributed Dense keeps the steps' mask, as in Keras

    def __init__(
        self,
        units: int,
        activation: str | Callable | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        **kwargs: Any,
    ):
        check_lora_rank("Dense", lora_rank)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_lora(lora_rank, lora_alpha)
        self.units = positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.bias = None

    def build(self, input_shape: tuple) -> None:
        in_features = input_shape[-1]
        if in_features is None:
            raise ValueError(f"Layer {self.name!r} (Dense) needs a known last input dimension, received shape {input_shape}.")
        self.kernel = self.add_weight((in_features, self.units), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight((self.units,), self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: in_features})
        self.built = True
        self._build_lora()

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        bias, kernel = self.bias, self._lora_kernel() if self.lora_enabled else self.kernel
        if bias is not None and inputs.dim() == 2:  # the common case: nn.Linear's own kernel call
            return self.activation(torch.addmm(bias, inputs, kernel))
        return self.activation(F.linear(inputs, kernel.T, bias))

    def get_config(self) -> dict[str, Any]:
        return self._lora_config(super().get_config())


class Activation(Layer):
    """Applies a Keras activation by name or any callable."""

    supports_masking = True

    def __init__(self, activation: str | Callable, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(inputs)


class Dropout(Layer):
    """Zeroes a `rate` fraction of inputs in training mode (scaling the rest), identity otherwise."""

    supports_masking = True

    def __init__(self, rate: float, noise_shape: tuple | None = None, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"Dropout expected `rate` in [0, 1], received {rate!r}.")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        if seed is not None:  # Keras's seeded masks: reproducible, and equal to Keras's for the same seed
            from ..random import SeedGenerator

            self.seed_generator = SeedGenerator(seed)
        self.built = True

    def forward(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        training = self.training if training is None else training
        if not training or self.rate == 0:
            return inputs
        if self.seed is not None:
            from ..random import dropout

            return dropout(inputs, self.rate, self.noise_shape, seed=self.seed_generator)
        if self.noise_shape is None:
            return F.dropout(inputs, self.rate, True)
        shape = [inputs.shape[i] if s is None else s for i, s in enumerate(self.noise_shape)]
        keep = torch.rand(shape, device=inputs.device) >= self.rate
        return inputs * keep.to(inputs.dtype) / (1 - self.rate)


class Identity(Layer):
    """Returns its input unchanged."""

    supports_masking = True

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.built = True

    def forward(self, inputs: Any) -> Any:
        return inputs


class Embedding(Layer):
    """Looks up rows of an `(input_dim, output_dim)` table for integer inputs."""

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        **kwargs: Any,
    ):
        kwargs.pop("input_length", None)
        super().__init__(**kwargs)
        self.input_dim = positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = positive_int("Embedding", "output_dim", output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self._mask_flow = self._makes_masks = self.mask_zero  # standalone calls attach `_keras_mask` only then

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(
            (self.input_dim, self.output_dim), self.embeddings_initializer, name="embeddings",
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint,
        )

    @property
    def supports_masking(self) -> bool:
        return self.mask_zero

    def compute_mask(self, inputs: torch.Tensor, mask: Any = None) -> torch.Tensor | None:
        """With `mask_zero=True`, index 0 is padding: the mask is `inputs != 0`."""
        if not self.mask_zero:
            return None
        return inputs != 0

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.is_floating_point():
            inputs = inputs.long()
        return F.embedding(inputs, self.embeddings)


class Lambda(Layer):
    """Wraps a Python function as a layer (not serializable safely, as in Keras)."""

    def __init__(self, function: Callable, output_shape: Any = None, arguments: dict | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expected a callable, received {function!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.built = True

    def forward(self, inputs: Any) -> Any:
        return self.function(inputs, **self.arguments)
