"""EinsumDense: a dense layer whose kernel contraction is an einsum equation (Keras's weight layout)."""

from __future__ import annotations

import math
import re
from typing import Any

import torch
import torch.nn.functional as F

from ... import activations, constraints, initializers, regularizers
from ..layer import Layer
from ..lora import LoraMixin, check_lora_rank


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


class EinsumDense(LoraMixin, Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)` with Keras's kernel and bias shapes.

    Args:
        equation: e.g. "ab,bc->ac" (a Dense) or "abc,cde->abde" (multi-head projections).
        output_shape: the output shape without the batch axis (None for axes taken from the input).
        activation, bias_axes (output axes that get a bias), kernel/bias initializers,
        regularizers and constraints.
        lora_rank, lora_alpha: train a low-rank update of the frozen kernel (see `enable_lora`).
    """

    supports_masking = False

    def __init__(self, equation: str, output_shape: Any, activation: Any = None, bias_axes: str | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, lora_rank: int | None = None, lora_alpha: float | None = None,
                 **kwargs: Any):
        check_lora_rank("EinsumDense", lora_rank)
        super().__init__(**kwargs)
        self._init_lora(lora_rank, lora_alpha)
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
        self._build_lora()

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
        return self._lora_config(config)


__all__ = ["EinsumDense"]
