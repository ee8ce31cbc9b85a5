"""EinsumDense: a dense layer whose kernel contraction is an einsum equation (Keras's weight layout)."""

from __future__ import annotations

import math
import re
from typing import Any

import torch
import torch.nn.functional as F

from ... import activations, constraints, initializers, regularizers
from ..layer import Layer


def einsum_shapes(equation: str, bias_axes: str | None, input_shape: tuple, output_shape: Any) -> tuple:
    """Kernel shape, bias shape (or None) and full output shape for an EinsumDense equation, as Keras.

    Supports `ab,bc->ac`, `...ab,bc->...ac` (leading axes elided) and `ab...,bc->ac...`.
    """
    replaced = equation.replace("...", "0")
    left = False
    match = re.fullmatch(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", replaced)
    if match is None:
        match = re.fullmatch(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", replaced)
        left = match is not None
    if match is None:
        match = re.fullmatch(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", replaced)
    if match is None:
        raise ValueError(
            f"EinsumDense: invalid equation {equation!r}; use the forms 'ab,bc->ac', '...ab,bc->...ac' or "
            "'ab...,bc->ac...'."
        )
    input_spec, weight_spec, output_spec = match.groups()
    elided = len(input_shape) - len(input_spec)
    output = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    output.insert(0, input_shape[0])
    if elided > 0 and left:
        for i in range(1, elided):
            output.insert(1, input_shape[i])
    elif elided > 0:
        output.extend(input_shape[len(input_shape) - elided:])
    if left:
        input_map = {d: i + elided - len(input_shape) for i, d in enumerate(input_spec)}
        output_map = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_map = {d: i for i, d in enumerate(input_spec)}
        output_map = {d: i for i, d in enumerate(output_spec)}
    for dim in input_spec:
        if dim in output_map and output[output_map[dim]] is not None \
                and output[output_map[dim]] != input_shape[input_map[dim]]:
            raise ValueError(
                f"EinsumDense {equation!r}: input and output sizes differ on shared axis {dim!r} "
                f"({input_shape[input_map[dim]]} vs {output[output_map[dim]]})."
            )
    kernel = []
    for dim in weight_spec:
        if dim in output_map:
            kernel.append(output[output_map[dim]])
        elif dim in input_map:
            kernel.append(input_shape[input_map[dim]])
        else:
            raise ValueError(f"EinsumDense {equation!r}: kernel axis {dim!r} is in neither the input nor the output.")
    bias = None
    if bias_axes:
        for char in bias_axes:
            if char not in output_spec:
                raise ValueError(f"EinsumDense: bias axis {char!r} is not in the output spec {output_spec!r}.")
        offset = elided if left else 0
        sizes = {char: output[i + offset] for i, char in enumerate(output_spec)}
        first = min(output_spec.find(c) for c in bias_axes)
        bias = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left:
            bias += [1] * max(elided, 0)
    return tuple(kernel), None if bias is None else tuple(bias), tuple(output)


def matmul_split(equation: str) -> tuple[int, int] | None:
    """`(contracted, free)` axis counts when the equation is a plain matrix product: the input ends
    with the contracted axes, the kernel is contracted axes then free ones, and the output is the
    input's leading axes then the free ones (`abc,cde->abde`, `abcd,cde->abe`, `...ab,bc->...ac`).
    Such equations run as one `addmm` on reshaped views (torch.einsum adds permutes and Python
    parsing per call); None for any other equation."""
    match = re.fullmatch(r"(?:\.\.\.)?([a-zA-Z]+),([a-zA-Z]+)->(?:\.\.\.)?([a-zA-Z]+)", equation)
    if match is None or ("..." in equation.split(",")[0]) != ("..." in equation.split("->")[1]):
        return None
    inputs, kernel, output = match.groups()
    contracted = [c for c in kernel if c in inputs and c not in output]
    free = [c for c in kernel if c in output and c not in inputs]
    lead = inputs[:len(inputs) - len(contracted)]
    if (not contracted or not free or kernel != "".join(contracted + free)
            or inputs != lead + "".join(contracted) or output != lead + "".join(free)):
        return None
    return len(contracted), len(free)


class EinsumDense(Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)` with Keras's kernel and bias shapes.

    Args:
        equation: e.g. "ab,bc->ac" (a Dense) or "abc,cde->abde" (multi-head projections).
        output_shape: the output shape without the batch axis (None for axes taken from the input).
        activation, bias_axes (output axes that get a bias), kernel/bias initializers,
        regularizers and constraints.
    """

    supports_masking = False

    def __init__(self, equation: str, output_shape: Any, activation: Any = None, bias_axes: str | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, lora_rank: int | None = None, lora_alpha: float | None = None,
                 **kwargs: Any):
        if lora_rank is not None and (isinstance(lora_rank, bool) or not isinstance(lora_rank, int) or lora_rank <= 0):
            raise ValueError(f"EinsumDense expected `lora_rank` to be a positive int or None, received {lora_rank!r}.")
        super().__init__(**kwargs)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        if not isinstance(equation, str):
            raise TypeError(f"EinsumDense expected `equation` to be a string, received {equation!r}.")
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.bias = None

    def build(self, input_shape: Any) -> None:
        kernel, bias, full = einsum_shapes(self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        self.full_output_shape = full
        split = matmul_split(self.equation)
        # (contracted axis count, their size, the free axes' shape, whether the bias spans exactly the
        # free axes and so joins the addmm) for the matrix-product route
        self._matmul = None if split is None else (
            split[0], math.prod(kernel[:split[0]]), kernel[split[0]:], bias is not None and bias == kernel[split[0]:])
        self.kernel = self.add_weight(kernel, self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if bias is not None:
            self.bias = self.add_weight(bias, self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    # ------------------------------------------------------------------------------------ LoRA

    def enable_lora(self, rank: int, lora_alpha: float | None = None, a_initializer: Any = "he_uniform",
                    b_initializer: Any = "zeros") -> None:
        """Freeze the kernel and train a low-rank update instead (LoRA, Hu et al. 2021), as Keras does.

        The layer then computes with `kernel + (lora_alpha / rank) * lora_kernel_a @ lora_kernel_b`;
        `lora_kernel_a` is `kernel.shape[:-1] + (rank,)` and `lora_kernel_b` is `(rank, kernel.shape[-1])`,
        both float32. Weight files hold the merged kernel, as Keras writes them.

        Args:
            rank: the rank of the update.
            lora_alpha: scale numerator (default: `rank`, a scale of 1).
            a_initializer, b_initializer: initializers of the two factors (B starts at zero, so the
                layer's outputs are unchanged until training moves it).
        """
        if self.kernel_constraint is not None:
            raise ValueError(f"Layer {self.name!r}: LoRA cannot be enabled with a kernel_constraint; remove the "
                             "kernel_constraint argument.")
        if not self.built:
            raise ValueError(f"Layer {self.name!r} is not built yet; build it (call it on an input) before enable_lora().")
        if self.lora_enabled:
            raise ValueError(f"Layer {self.name!r} already has LoRA enabled; enable_lora() can run once per layer.")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
            raise ValueError(f"Layer {self.name!r}: enable_lora expected a positive int rank, received {rank!r}.")
        shape = tuple(self.kernel.shape)
        self.lora_kernel_a = self.add_weight(shape[:-1] + (rank,), a_initializer, dtype="float32",
                                             name="lora_kernel_a", regularizer=self.kernel_regularizer)
        self.lora_kernel_b = self.add_weight((rank, shape[-1]), b_initializer, dtype="float32",
                                             name="lora_kernel_b", regularizer=self.kernel_regularizer)
        self.kernel.requires_grad_(False)
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def _lora_kernel(self) -> torch.Tensor:
        """The kernel the layer computes with while LoRA is enabled (the frozen kernel plus the update)."""
        update = torch.matmul(self.lora_kernel_a, self.lora_kernel_b) * (self.lora_alpha / self.lora_rank)
        return self.kernel + update.to(self.kernel.dtype)

    def keras_file_weights(self) -> tuple[list[torch.Tensor], list[Any], list[torch.Tensor]] | None:
        """What weight files hold for this layer when it differs from `weights` (None otherwise):
        `(tensors, layouts, reset)`. With LoRA, Keras files hold the merged kernel and the bias; loading
        one sets the kernel and zeroes the LoRA factors (`reset`), as Keras does."""
        if not self.lora_enabled:
            return None
        tensors = [self.kernel] + ([self.bias] if self.bias is not None else [])
        return tensors, [_MergedLora(self)] + [None] * (len(tensors) - 1), [self.lora_kernel_a, self.lora_kernel_b]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        plan, bias = self._matmul, self.bias
        kernel = self._lora_kernel() if self.lora_enabled else self.kernel
        if plan is None:
            x = torch.einsum(self.equation, inputs, kernel)
        else:  # the same contraction as one matrix product over views (bias fused when it spans the free axes)
            contracted, size, free, fused = plan  # views only where the axes really are several
            lead = inputs.shape[:inputs.dim() - contracted]
            x = F.linear(inputs if contracted == 1 else inputs.reshape(*lead, size),
                         (kernel if kernel.dim() == 2 else kernel.reshape(size, -1)).T,
                         (bias if bias.dim() == 1 else bias.reshape(-1)) if fused else None)
            x = x if len(free) == 1 else x.reshape(*lead, *free)
            bias = None if fused else bias
        if bias is not None:
            x = x + bias
        activation = self.activation
        return x if activation is activations.linear else activation(x)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["output_shape"] = list(self.partial_output_shape)
        for key in ("lora_rank", "lora_alpha"):  # Keras writes them only when LoRA is set
            if config.get(key) is None or not self.lora_rank:
                config.pop(key, None)
        if self.lora_rank:
            config.update(lora_rank=self.lora_rank, lora_alpha=self.lora_alpha)
        return config


class _MergedLora:
    """The file layout of a LoRA layer's kernel: Keras writes the kernel with the update merged in;
    read back, the value is the kernel itself (the factors are reset to zero beside it)."""

    def __init__(self, layer: EinsumDense):
        self.layer = layer

    def to_keras(self, stored: torch.Tensor) -> torch.Tensor:
        return self.layer._lora_kernel().detach()

    @staticmethod
    def to_stored(value: torch.Tensor) -> torch.Tensor:
        return value


__all__ = ["EinsumDense"]
