"""Recurrent cells with Keras's weights: `SimpleRNNCell`, `LSTMCell`, `GRUCell`, `StackedRNNCells`.

A cell computes one time step: `cell(inputs, states) -> (output, new_states)`. Weights keep Keras's
names, shapes and gate order (LSTM: i, f, c, o; GRU: z, r, h), so `get_weights()` and Keras weight
files match (GRU parameters hold torch's r, z, n order behind a layout, see `GRUCell`). The RNN layer runs a whole sequence either on torch's fused kernels or step by step
through `project` (one matmul for every step's input) and `step` (the recurrence).
"""

from __future__ import annotations

from typing import Any

import torch

from ... import activations, constraints, initializers, regularizers
from ..arguments import positive_int
from ..layer import Layer


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Recurrent cells expect `{name}` to be a float in [0, 1], received {value!r}.")
    return min(1.0, max(0.0, float(value)))  # Keras clips the rates


def dropout_mask(like: torch.Tensor, rate: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """One dropout mask (scaled by 1 / (1 - rate)) reused at every step of a sequence, as Keras does."""
    if generator is not None and generator.device == like.device:
        noise = torch.rand(like.shape, generator=generator, device=like.device, dtype=like.dtype)
    else:
        noise = torch.rand_like(like)
    return (noise >= rate).to(like.dtype) / (1.0 - rate)


class _Cell(Layer):
    """What the built-in cells share: units, activations, initializers, penalties, dropout rates."""

    _gates = 1

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.units = positive_int(type(self).__name__, "units", units)
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate("dropout", dropout)
        self.recurrent_dropout = _rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        # Keras seeds the cell's own dropout generator; here a CPU generator (device inputs use torch's).
        self._generator = torch.Generator().manual_seed(int(seed)) if seed is not None else None
        self.bias = None

    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def _add_weights(self, input_dim: int, bias_shape: tuple, bias_initializer: Any) -> None:
        width = self._gates * self.units
        self.kernel = self.add_weight((input_dim, width), self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        # (in, width) like Keras, over (width, in) memory: torch's fused kernels read `kernel.T` in place.
        self.kernel.data = self.kernel.data.t().contiguous().t()
        self.recurrent_kernel = self.add_weight(
            (self.units, width), self.recurrent_initializer, name="recurrent_kernel",
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint)
        self.recurrent_kernel.data = self.recurrent_kernel.data.t().contiguous().t()
        if self.use_bias:
            self.bias = self.add_weight(bias_shape, bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def get_initial_state(self, batch_size: int) -> list[torch.Tensor]:
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) else [self.state_size]
        return [torch.zeros(batch_size, size, dtype=self.kernel.dtype, device=self.kernel.device) for size in sizes]

    # The sequence path: every step's input projection in one matmul, then the recurrence per step.

    def project(self, sequences: torch.Tensor, training: bool) -> torch.Tensor:
        if training and self.dropout > 0:
            sequences = sequences * dropout_mask(sequences[:, :1], self.dropout, self._generator)
        bias = self.bias if self.bias is not None and self.bias.dim() == 1 else (
            self.bias[0] if self.bias is not None else None)
        projected = torch.matmul(sequences, self.kernel)
        return projected if bias is None else projected + bias

    def recurrent_masks(self, states: list[torch.Tensor], training: bool) -> Any:
        if training and self.recurrent_dropout > 0:
            return dropout_mask(states[0], self.recurrent_dropout, self._generator)
        return None

    def call(self, inputs: torch.Tensor, states: Any, training: bool = False) -> tuple[torch.Tensor, list]:
        """One step on `(batch, features)` inputs, Keras's cell API."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        projected = self.project(inputs.unsqueeze(1), bool(training)).squeeze(1)
        output, new_states = self.step(projected, states, self.recurrent_masks(states, bool(training)))
        return output, new_states


class SimpleRNNCell(_Cell):
    """One step of a fully connected RNN: `activation(x @ kernel + h @ recurrent_kernel + bias)`.

    Args: units, activation, use_bias, kernel/recurrent/bias initializers, regularizers and
    constraints, dropout, recurrent_dropout, seed (Keras's arguments).
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        super().__init__(
            units, activation, "sigmoid", use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
            kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
            bias_constraint, dropout, recurrent_dropout, seed, **kwargs)

    def build(self, input_shape: Any) -> None:
        self._add_weights(input_shape[-1], (self.units,), self.bias_initializer)

    def step(self, projected: torch.Tensor, states: list, recurrent_mask: Any) -> tuple[torch.Tensor, list]:
        h = states[0] if recurrent_mask is None else states[0] * recurrent_mask
        output = self.activation(projected + torch.matmul(h, self.recurrent_kernel))
        return output, [output]


class LSTMCell(_Cell):
    """One LSTM step; Keras's gate order i, f, c, o (torch's i, f, g, o) in `(in, 4 * units)` kernels.

    Args: units, activation, recurrent_activation, use_bias, initializers, unit_forget_bias
    (forget-gate bias starts at 1), regularizers, constraints, dropout, recurrent_dropout, seed.
    """

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs: Any):
        implementation = kwargs.pop("implementation", 2)
        if implementation not in (1, 2):
            raise ValueError(f"LSTMCell expected `implementation` 1 or 2, received {implementation!r}.")
        super().__init__(
            units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
            bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.implementation = implementation  # both compute the same function; kept for Keras configs

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def build(self, input_shape: Any) -> None:
        initializer = self.bias_initializer
        if self.unit_forget_bias:
            units, base = self.units, self.bias_initializer

            def initializer(shape, dtype=None, device=None):
                parts = [base((units,), dtype=dtype, device=device), torch.ones(units, dtype=dtype, device=device),
                         base((2 * units,), dtype=dtype, device=device)]
                return torch.cat([torch.as_tensor(p, dtype=dtype, device=device) for p in parts])
        self._add_weights(input_shape[-1], (4 * self.units,), initializer)

    def step(self, projected: torch.Tensor, states: list, recurrent_mask: Any) -> tuple[torch.Tensor, list]:
        h, c = states
        if recurrent_mask is not None:
            h = h * recurrent_mask
        z = projected + torch.matmul(h, self.recurrent_kernel)
        i, f, g, o = z.chunk(4, dim=-1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        h = self.recurrent_activation(o) * self.activation(c)
        return h, [h, c]


class _TorchGateOrder:
    """The stored layout of GRU weights: gate blocks along the last axis in torch's order (r, z, n).

    Keras orders them z, r, h. Storing torch's order lets the fused kernel read the weights in
    place (no copy per call); `get_weights`, `set_weights`, weight files, regularizers and
    constraints see Keras's order through this layout (swapping the first two blocks maps either
    order to the other).
    """

    @staticmethod
    def to_keras(stored: torch.Tensor) -> torch.Tensor:
        u = stored.shape[-1] // 3
        return torch.cat([stored[..., u:2 * u], stored[..., :u], stored[..., 2 * u:]], -1)

    to_stored = to_keras

    def __repr__(self) -> str:
        return "TorchGateOrder"


TORCH_GATE_ORDER = _TorchGateOrder()


class GRUCell(_Cell):
    """One GRU step; `reset_after=True` (default) is torch's GRU math.

    Weights have Keras's names and shapes and `get_weights()` gives Keras's gate order (z, r, h);
    the parameters themselves hold torch's order (r, z, n), which the fused kernel reads in place.

    Args: units, activation, recurrent_activation, use_bias, initializers, regularizers,
    constraints, dropout, recurrent_dropout, reset_after, seed. With `reset_after` the bias is
    `(2, 3 * units)`: input bias, then recurrent bias.
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: int | None = None, **kwargs: Any):
        kwargs.pop("implementation", None)
        super().__init__(
            units, activation, recurrent_activation, use_bias, kernel_initializer, recurrent_initializer,
            bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
            recurrent_constraint, bias_constraint, dropout, recurrent_dropout, seed, **kwargs)
        self.reset_after = bool(reset_after)

    def build(self, input_shape: Any) -> None:
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self._add_weights(input_shape[-1], shape, self.bias_initializer)
        with torch.no_grad():
            for name in ("kernel", "recurrent_kernel", "bias"):
                weight = getattr(self, name)
                if weight is not None:  # initialized in Keras's order, stored in torch's
                    weight.copy_(TORCH_GATE_ORDER.to_stored(weight))
                    self._keras_layouts[name] = TORCH_GATE_ORDER

    def step(self, projected: torch.Tensor, states: list, recurrent_mask: Any) -> tuple[torch.Tensor, list]:
        h_prev = states[0]
        h = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        x_r, x_z, x_h = projected.chunk(3, dim=-1)  # torch's gate order
        if self.reset_after:
            inner = torch.matmul(h, self.recurrent_kernel)
            if self.bias is not None:
                inner = inner + self.bias[1]
            r_r, r_z, r_h = inner.chunk(3, dim=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            candidate = self.activation(x_h + r * r_h)
        else:
            u = self.units
            r = self.recurrent_activation(x_r + torch.matmul(h, self.recurrent_kernel[:, :u]))
            z = self.recurrent_activation(x_z + torch.matmul(h, self.recurrent_kernel[:, u:2 * u]))
            candidate = self.activation(x_h + torch.matmul(r * h, self.recurrent_kernel[:, 2 * u:]))
        output = z * h_prev + (1 - z) * candidate
        return output, [output]


class StackedRNNCells(Layer):
    """Several cells run as one: each step feeds the previous cell's output to the next.

    Args:
        cells: a list of cells (anything with `state_size` and `call(inputs, states)`).
    """

    def __init__(self, cells: list, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells expected a non-empty list of cells, received {cells!r}.")
        for cell in cells:
            if not hasattr(cell, "call") or not hasattr(cell, "state_size"):
                raise ValueError(
                    f"StackedRNNCells: every cell needs a `call` method and a `state_size`, received {cell!r}."
                )
        self.cells = torch.nn.ModuleList(cells)

    @property
    def state_size(self) -> list:
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self) -> int:
        last = self.cells[-1]
        return getattr(last, "output_size", None) or _first_size(last.state_size)

    def build(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell.build(shape)
                cell.built = True
            shape = (shape[0], getattr(cell, "output_size", None) or _first_size(cell.state_size))

    def get_initial_state(self, batch_size: int) -> list:
        return [initial_state_of(cell, batch_size) for cell in self.cells]

    def call(self, inputs: torch.Tensor, states: Any, training: bool = False) -> tuple[torch.Tensor, list]:
        new_states = []
        for cell, state in zip(self.cells, states):
            state = list(state) if isinstance(state, (list, tuple)) else [state]
            inputs, state = call_cell(cell, inputs, state, training)
            new_states.append(state if isinstance(cell.state_size, (list, tuple)) else state[0])
        return inputs, new_states


def _first_size(state_size: Any) -> int:
    while isinstance(state_size, (list, tuple)):
        state_size = state_size[0]
    return int(state_size)


def initial_state_of(cell: Any, batch_size: int, dtype: torch.dtype = torch.float32,
                     device: Any = None) -> Any:
    """A cell's zero state: its own `get_initial_state`, else zeros of each `state_size`."""
    getter = getattr(cell, "get_initial_state", None)
    if getter is not None:
        state = getter(batch_size)
        return list(state) if isinstance(state, (list, tuple)) else [state]
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [torch.zeros(batch_size, size, dtype=dtype, device=device) for size in sizes]


def call_cell(cell: Any, inputs: torch.Tensor, states: list, training: bool) -> tuple[torch.Tensor, list]:
    """`cell(inputs, states)` for any cell, passing `training` when its call takes it."""
    from ..masking import call_signature

    signature = call_signature(cell)
    if signature is not None and "training" in signature.parameters:
        output, new_states = cell(inputs, states, training=training)
    else:
        output, new_states = cell(inputs, states)
    return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]


__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]
