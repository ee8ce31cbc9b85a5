"""Recurrent layers: `RNN(cell)` for any cell, and `SimpleRNN`, `LSTM`, `GRU` over the built-in cells.

Masks follow Keras: at a masked step the states are carried over unchanged and the output repeats
the previous one (zeros with `zero_output_for_mask`). `SimpleRNN`, `LSTM` and `GRU` run on torch's
fused recurrent kernels (`torch._VF.rnn_tanh/lstm/gru`, cuDNN on GPU) when their configuration
allows it: tanh/sigmoid activations, no recurrent dropout, not unrolled, and no mask or a
right-padded one (then as a packed sequence). Otherwise, and inside `torch.compile`, a step loop
runs the same math: one matmul projects every step's input, then the recurrence runs per step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.utils import rnn as rnn_utils

from ... import activations
from ...tree import map_structure
from ..input_spec import InputSpec
from ..layer import Layer
from .cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells, _Cell, call_cell, initial_state_of


class RNN(Layer):
    """Runs a cell over the time axis of `(batch, steps, features)` inputs.

    Args:
        cell: a cell (`call(inputs, states) -> (output, new_states)` and `state_size`), or a list of
            cells (stacked).
        return_sequences: return every step's output, not only the last.
        return_state: also return the final states (`output, *states`).
        go_backwards: process the sequence in reverse (outputs come in processing order).
        stateful: keep the final states of each batch as the next batch's initial states.
        unroll: run the per-step loop (never the fused kernel); it needs a fixed number of steps.
            Keras's torch backend also runs a Python loop either way, so the results are the same.
        zero_output_for_mask: masked steps output zeros instead of repeating the previous output.
    """

    supports_masking = True
    _mask_flow = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call") and not callable(cell):
            raise ValueError(f"RNN expected a cell with a `call(inputs, states)` method, received {cell!r}.")
        state_size = getattr(cell, "state_size", None)
        if state_size is None or not isinstance(state_size, (int, list, tuple)):
            raise ValueError(
                f"RNN: the cell {cell!r} needs a `state_size` (an int, or a list of ints, one per state); "
                f"received {state_size!r}."
            )
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.state_size = list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]
        self.states: list | None = None
        self.input_spec = InputSpec(min_ndim=3)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "RNN":
        from ...saving.serialization import deserialize_keras_object

        config = dict(config)
        cell = config.get("cell")
        if isinstance(cell, dict):
            config["cell"] = deserialize_keras_object(cell)
        elif isinstance(cell, list):
            config["cell"] = [deserialize_keras_object(c) if isinstance(c, dict) else c for c in cell]
        return cls(**config)

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        if self.unroll and sequences_shape[1] is None:
            raise ValueError(
                f"Layer {self.name!r}: unroll=True needs a fixed number of time steps, received input shape "
                f"{tuple(sequences_shape)}; give kt.Input a shape with the steps, or pass unroll=False."
            )
        step_shape = (sequences_shape[0], *sequences_shape[2:])
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True
        if self.stateful:
            if sequences_shape[0] is None:
                raise ValueError(
                    f"Layer {self.name!r}: a stateful RNN needs a fixed batch size, received input shape "
                    f"{tuple(sequences_shape)}; pass batch_size= to kt.Input (or batch_input_shape)."
                )
            self.states = None  # created with the first batch, on its device

    # ------------------------------------------------------------------------------------ states

    def get_initial_state(self, batch_size: int) -> list:
        cell = self._modules["cell"]
        if hasattr(cell, "get_initial_state"):
            return initial_state_of(cell, batch_size)
        dtype, device = self._state_dtype_device()
        return initial_state_of(cell, batch_size, dtype, device)

    def _state_dtype_device(self) -> tuple[torch.dtype, Any]:
        weight = next(self.cell.parameters(), None) if isinstance(self.cell, torch.nn.Module) else None
        if weight is None:
            return self._dtype, None
        return weight.dtype, weight.device

    def reset_states(self) -> None:
        """Zero the kept states of a stateful layer."""
        self.reset_state()

    def reset_state(self) -> None:
        if self.states is not None:
            self.states = [torch.zeros_like(s) for s in self.states]

    # ------------------------------------------------------------------------------------- masks

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        while isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # ------------------------------------------------------------------------------------- calls

    def forward(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
                training: bool | None = None) -> Any:
        training = self.training if training is None else bool(training)
        while isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        batch = sequences.shape[0]
        if initial_state is None:
            if self.stateful and self.states is not None:
                if self.states[0].shape[0] != batch:
                    raise ValueError(
                        f"Layer {self.name!r} is stateful with batch size {self.states[0].shape[0]}, received a "
                        f"batch of {batch}; feed batches of one size or call reset_states() after rebuilding."
                    )
                initial_state = self.states
            else:
                initial_state = self.get_initial_state(batch)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if not all(isinstance(s, torch.Tensor) for s in states):
            states = map_structure(
                lambda s: s if isinstance(s, torch.Tensor) else torch.as_tensor(s, dtype=sequences.dtype,
                                                                                 device=sequences.device), states)
        last, outputs, states = self._run(sequences, states, mask, training)
        if self.stateful:
            self.states = [s.detach() for s in states]  # kept values, not part of the next batch's graph
        output = outputs if self.return_sequences else last
        if self.return_state:
            return (output, *states)
        return output

    def _run(self, sequences: torch.Tensor, states: list, mask: Any, training: bool) -> tuple:
        return self._loop(sequences, states, mask, training)

    def _loop(self, sequences: torch.Tensor, states: list, mask: Any, training: bool) -> tuple:
        """Keras's recurrence, one step at a time (built-in cells project all inputs in one matmul)."""
        if self.go_backwards:
            sequences = sequences.flip(1)
            mask = None if mask is None else mask.flip(1)
        cell = self.cell
        builtin = isinstance(cell, _Cell)
        if builtin:
            inputs = cell.project(sequences, training).unbind(1)
            recurrent_mask = cell.recurrent_masks(states, training)
        else:
            inputs = sequences.unbind(1)
        flat_states = _flatten_states(states)
        steps = None if mask is None else mask.to(torch.bool).unbind(1)
        outputs, previous = [], None
        for t, step_input in enumerate(inputs):
            if builtin:
                output, new_states = cell.step(step_input, flat_states, recurrent_mask)
            else:
                output, new_states = call_cell(cell, step_input, _unflatten(cell, flat_states), training)
                new_states = _flatten_states(new_states)
            if steps is not None:
                if previous is None:
                    previous = torch.zeros_like(output)
                fallback = torch.zeros_like(output) if self.zero_output_for_mask else previous
                output = torch.where(_per_sample(steps[t], output), output, fallback)
                new_states = [torch.where(_per_sample(steps[t], new), new, old) for new, old in zip(new_states, flat_states)]
            flat_states, previous = new_states, output
            if self.return_sequences:
                outputs.append(output)
        sequence = torch.stack(outputs, 1) if self.return_sequences else None
        return previous, sequence, _unflatten(cell, flat_states)


def _per_sample(keep: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A `(batch,)` step mask shaped to broadcast over `like` (vectors, or ConvLSTM feature maps)."""
    return keep.reshape(keep.shape[0], *([1] * (like.dim() - 1)))


def _flatten_states(states: Any) -> list:
    flat = []
    for state in states:
        if isinstance(state, (list, tuple)):
            flat.extend(_flatten_states(state))
        else:
            flat.append(state)
    return flat


def _unflatten(cell: Any, flat: list) -> list:
    """Flat states back into the cell's nesting (StackedRNNCells keeps one entry per cell)."""
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    if not any(isinstance(s, (list, tuple)) for s in sizes):
        return list(flat)
    nested, position = [], 0
    for size in sizes:
        if isinstance(size, (list, tuple)):
            nested.append(list(flat[position:position + len(size)]))
            position += len(size)
        else:
            nested.append(flat[position])
            position += 1
    return nested


# ------------------------------------------------------------------------------ fused kernels


def _right_padded_lengths(mask: torch.Tensor) -> torch.Tensor | None:
    """Per-sequence lengths when every mask row is `True...True False...False` (and not empty)."""
    mask = mask.to(torch.bool)
    lengths = mask.sum(1)
    steps = torch.arange(mask.shape[1], device=mask.device)
    if not bool(torch.equal(mask, steps < lengths.unsqueeze(1))) or bool((lengths == 0).any()):
        return None
    return lengths


class _FusedRNN(RNN):
    """SimpleRNN/LSTM/GRU: the cell's weights, read in place by torch's fused recurrent kernels."""

    _kernel_name = ""

    def __init__(self, cell: _Cell, use_cudnn: Any = "auto", **kwargs: Any):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                f"{type(self).__name__} expected `use_cudnn` to be 'auto', True or False, received {use_cudnn!r}."
            )
        super().__init__(cell, **kwargs)
        self.use_cudnn = use_cudnn
        self.input_spec = InputSpec(ndim=3)

    def _fused_ok(self) -> bool:
        cell = self._modules["cell"]
        return (self.use_cudnn is not False and not self.unroll and cell.recurrent_dropout == 0
                and cell.activation is activations.tanh and self._gates_ok(cell))

    def _gates_ok(self, cell: _Cell) -> bool:
        return cell.recurrent_activation is activations.sigmoid

    def _run(self, sequences: torch.Tensor, states: list, mask: Any, training: bool) -> tuple:
        fused = self._fused_ok()
        if self.use_cudnn is True and not fused:
            raise ValueError(
                f"Layer {self.name!r}: use_cudnn=True needs tanh/sigmoid activations, no recurrent dropout and "
                "unroll=False; pass use_cudnn='auto' to fall back to the step loop."
            )
        if not fused or torch.compiler.is_compiling():
            return self._loop(sequences, states, mask, training)
        lengths, within = None, False
        if mask is not None:
            lengths = _right_padded_lengths(mask)
            if lengths is None:
                return self._loop(sequences, states, mask, training)
            if bool((lengths == sequences.shape[1]).all()):
                lengths = None
            within = lengths is not None and self.go_backwards  # reverse each sequence within its length
        cell = self._modules["cell"]
        if training and cell.dropout > 0:
            from .cells import dropout_mask

            sequences = sequences * dropout_mask(sequences[:, :1], cell.dropout, cell._generator)
        steps = None if mask is None else torch.arange(sequences.shape[1], device=sequences.device)
        if within:
            lengths = lengths.to(sequences.device)
            index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
            sequences = sequences.gather(1, index[..., None].expand_as(sequences))
        elif self.go_backwards:
            sequences = sequences.flip(1)
        params = self._params()
        hx = [s.unsqueeze(0) for s in states]
        hx = hx if self._kernel_name == "lstm" else hx[0]
        run = getattr(torch._VF, self._kernel_name)
        if lengths is None:
            result = run(sequences, hx, params, True, 1, 0.0, training, False, True)
            outputs, new_states = result[0], [s.squeeze(0) for s in result[1:]]
            return outputs[:, -1], outputs, new_states
        packed = rnn_utils.pack_padded_sequence(sequences, lengths.cpu(), batch_first=True, enforce_sorted=False)
        order, restore = packed.sorted_indices, packed.unsorted_indices
        hx = [h.index_select(1, order) for h in hx] if isinstance(hx, list) else hx.index_select(1, order)
        result = run(packed.data, packed.batch_sizes, hx, params, True, 1, 0.0, training, False)
        packed_out = rnn_utils.PackedSequence(result[0], packed.batch_sizes, order, restore)
        outputs, _ = rnn_utils.pad_packed_sequence(packed_out, batch_first=True, total_length=sequences.shape[1])
        new_states = [s.index_select(1, restore).squeeze(0) for s in result[1:]]
        rows = torch.arange(outputs.shape[0], device=outputs.device)
        last_valid = outputs[rows, lengths.to(outputs.device) - 1]
        if within:
            # Keras runs the flipped, now left-padded, sequence: the masked steps come first (zero
            # outputs, states untouched), then the valid steps' outputs in processing order.
            shift = (sequences.shape[1] - lengths)[:, None]
            source = (steps - shift).clamp(min=0)
            shifted = outputs.gather(1, source[..., None].expand_as(outputs))
            return last_valid, torch.where((steps >= shift)[..., None], shifted, 0.0), new_states
        keep = mask.to(torch.bool).to(outputs.device)
        if self.zero_output_for_mask:
            last = torch.where(keep[:, -1:], last_valid, torch.zeros_like(last_valid))
        else:
            outputs = torch.where(keep.unsqueeze(-1), outputs, last_valid.unsqueeze(1))
            last = last_valid
        return last, outputs, new_states

    def _zero_bias(self) -> torch.Tensor:
        cell = self._modules["cell"]
        width = cell.kernel.shape[1]
        zeros = self.__dict__.get("_zeros")
        if zeros is None or zeros.shape[0] != width or zeros.device != cell.kernel.device or zeros.dtype != cell.kernel.dtype:
            zeros = torch.zeros(width, dtype=cell.kernel.dtype, device=cell.kernel.device)
            self.__dict__["_zeros"] = zeros
        return zeros

    def _params(self) -> list[torch.Tensor]:
        cell = self._modules["cell"]
        bias = cell.bias if cell.bias is not None else self._zero_bias()
        return [cell.kernel.T, cell.recurrent_kernel.T, bias, self._zero_bias()]

    # Keras exposes the cell's arguments on the layer.
    def __getattr__(self, name: str) -> Any:
        if name in _CELL_ATTRIBUTES:
            return getattr(self._modules["cell"], name)
        return super().__getattr__(name)


_CELL_ATTRIBUTES = {
    "units", "activation", "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "unit_forget_bias", "reset_after",
    "implementation",
}


def _split_kwargs(kwargs: dict) -> dict:
    """The layer-level keywords a cell shares (dtype, trainable), as Keras passes them on."""
    return {k: kwargs[k] for k in ("dtype", "trainable") if k in kwargs}


class SimpleRNN(_FusedRNN):
    """Fully connected RNN (`SimpleRNNCell` over the sequence); fused on torch's `rnn_tanh`/`rnn_relu`.

    Args: units, activation, use_bias, initializers, regularizers, constraints, dropout,
    recurrent_dropout, seed, return_sequences, return_state, go_backwards, stateful, unroll
    (Keras's arguments).
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, seed: int | None = None,
                 **kwargs: Any):
        cell = SimpleRNNCell(units, activation, use_bias, kernel_initializer, recurrent_initializer,
                             bias_initializer, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                             kernel_constraint, recurrent_constraint, bias_constraint, dropout, recurrent_dropout,
                             seed, name="simple_rnn_cell", **_split_kwargs(kwargs))
        super().__init__(cell, use_cudnn="auto", return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)

    def _fused_ok(self) -> bool:
        cell = self._modules["cell"]
        self._kernel_name = "rnn_relu" if cell.activation is activations.relu else "rnn_tanh"
        return (not self.unroll and cell.recurrent_dropout == 0
                and cell.activation in (activations.tanh, activations.relu))


class LSTM(_FusedRNN):
    """Long short-term memory layer (Hochreiter 1997) with Keras's weights; fused on torch's LSTM kernel.

    Args: units, activation, recurrent_activation, use_bias, initializers, unit_forget_bias,
    regularizers, constraints, dropout, recurrent_dropout, seed, return_sequences, return_state,
    go_backwards, stateful, unroll, use_cudnn ("auto": fused when the configuration allows).
    """

    _kernel_name = "lstm"

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", **kwargs: Any):
        cell = LSTMCell(units, activation, recurrent_activation, use_bias, kernel_initializer,
                        recurrent_initializer, bias_initializer, unit_forget_bias, kernel_regularizer,
                        recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
                        bias_constraint, dropout, recurrent_dropout, seed, name="lstm_cell",
                        implementation=kwargs.pop("implementation", 2), **_split_kwargs(kwargs))
        super().__init__(cell, use_cudnn=use_cudnn, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)


class GRU(_FusedRNN):
    """Gated recurrent unit (Cho 2014) with Keras's weights; fused on torch's GRU kernel (`reset_after=True`).

    Args: units, activation, recurrent_activation, use_bias, initializers, regularizers,
    constraints, dropout, recurrent_dropout, seed, return_sequences, return_state, go_backwards,
    stateful, unroll, reset_after, use_cudnn.
    """

    _kernel_name = "gru"

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False, reset_after: bool = True,
                 use_cudnn: Any = "auto", **kwargs: Any):
        cell = GRUCell(units, activation, recurrent_activation, use_bias, kernel_initializer,
                       recurrent_initializer, bias_initializer, kernel_regularizer, recurrent_regularizer,
                       bias_regularizer, kernel_constraint, recurrent_constraint, bias_constraint, dropout,
                       recurrent_dropout, reset_after, seed, name="gru_cell", **_split_kwargs(kwargs))
        super().__init__(cell, use_cudnn=use_cudnn, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)

    def _gates_ok(self, cell: _Cell) -> bool:
        return cell.reset_after and cell.recurrent_activation is activations.sigmoid

    def _params(self) -> list[torch.Tensor]:
        # The cell stores torch's gate order (r, z, n), so these are views of the parameters.
        cell = self._modules["cell"]
        if cell.bias is None:
            return [cell.kernel.T, cell.recurrent_kernel.T, self._zero_bias(), self._zero_bias()]
        return [cell.kernel.T, cell.recurrent_kernel.T, cell.bias[0], cell.bias[1]]


__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU"]
