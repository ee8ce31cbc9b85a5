"""Layer wrappers over time: `Bidirectional` (an RNN both ways) and `TimeDistributed` (a layer per step)."""

from __future__ import annotations

from typing import Any

import torch

from ..layer import Layer

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _copy_layer(layer: Layer, **changes: Any) -> Layer:
    """A fresh layer of the same class and config, with `changes` applied (Keras copies via config)."""
    from ...saving.serialization import deserialize_keras_object, serialize_layer

    entry = serialize_layer(layer)
    entry.pop("build_config", None)
    entry["config"].update(changes)
    return deserialize_keras_object(entry)


class Bidirectional(Layer):
    """Runs an RNN forwards and a copy backwards over the sequence, and merges their outputs.

    Args:
        layer: the recurrent layer (`LSTM`, `GRU`, `SimpleRNN`, `RNN`); it is copied, not reused.
        merge_mode: "concat" (default), "sum", "mul", "ave", or None (a list of both outputs).
        backward_layer: an explicit backward layer (must have `go_backwards=True`).
        weights: initial weights, the forward layer's `get_weights()` then the backward layer's,
            loaded when the layer is built (Keras 3 accepts this argument but never loads it).
    """

    supports_masking = True
    _mask_flow = True

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Layer | None = None, **kwargs: Any):
        if not isinstance(layer, Layer) or not hasattr(layer, "go_backwards"):
            raise ValueError(
                f"Bidirectional expected a recurrent kerastorch layer (LSTM, GRU, SimpleRNN, RNN), received {layer!r}."
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(f"Bidirectional expected `backward_layer` to be a layer, received {backward_layer!r}.")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Bidirectional expected `merge_mode` to be one of {_MERGE_MODES}, received {merge_mode!r}."
            )
        if weights is not None and (not isinstance(weights, (list, tuple)) or len(weights) % 2):
            raise ValueError(
                "Bidirectional expected `weights` to be a list of arrays, the forward layer's then the backward "
                f"layer's (an even count), received {weights!r:.80}."
            )
        super().__init__(**kwargs)
        self._initial_weights = None if weights is None else list(weights)
        base = layer.name.removeprefix("forward_")
        self.forward_layer = _copy_layer(layer, name=f"forward_{base}")
        if backward_layer is None:
            backward = layer.name.removeprefix("backward_")
            backward_layer = _copy_layer(layer, name=f"backward_{backward}", go_backwards=not layer.go_backwards)
        self.backward_layer = backward_layer
        if self.forward_layer.go_backwards == self.backward_layer.go_backwards:
            raise ValueError(
                "Bidirectional: the forward and backward layers need different `go_backwards` values, both are "
                f"{self.forward_layer.go_backwards}."
            )
        for attribute in ("stateful", "return_sequences", "return_state"):
            if getattr(self.forward_layer, attribute) != getattr(self.backward_layer, attribute):
                raise ValueError(
                    f"Bidirectional: the forward and backward layers need the same `{attribute}`, received "
                    f"{getattr(self.forward_layer, attribute)} and {getattr(self.backward_layer, attribute)}."
                )
        for inner in (self.forward_layer, self.backward_layer):
            if hasattr(inner, "zero_output_for_mask"):
                inner.zero_output_for_mask = inner.return_sequences  # as Keras forces it
        self.merge_mode = merge_mode
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state

    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        for inner in (self.forward_layer, self.backward_layer):
            if not inner.built:
                inner.build(tuple(sequences_shape))
                inner.built = True
        if self._initial_weights is not None:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None  # loaded once; later builds keep the trained values

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        while isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else mask
        else:
            output_mask = [None, None] if self.merge_mode is None else None
        if self.return_state:
            states = len(getattr(self.forward_layer, "state_size", [0])) * 2
            output_mask = (list(output_mask) if self.merge_mode is None else [output_mask]) + [None] * states
        return output_mask

    def forward(self, sequences: torch.Tensor, initial_state: Any = None, mask: Any = None,
                training: bool | None = None) -> Any:
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        call = torch.nn.Module.__call__  # built with this layer; masks are passed explicitly
        y = call(self.forward_layer, sequences, initial_state=forward_state, mask=mask, training=training)
        y_rev = call(self.backward_layer, sequences, initial_state=backward_state, mask=mask, training=training)
        states: tuple = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            output: Any = torch.cat([y, y_rev], dim=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (*output, *states) if self.merge_mode is None else (output, *states)
        return output

    def reset_states(self) -> None:
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def get_config(self) -> dict[str, Any]:
        from ...saving.serialization import serialize_layer

        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype, "merge_mode": self.merge_mode}
        config["layer"] = serialize_layer(self.forward_layer)
        config["backward_layer"] = serialize_layer(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Bidirectional":
        from ...saving.serialization import deserialize_keras_object

        config = dict(config)
        for key in ("layer", "backward_layer"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key])
        backward = config.get("backward_layer")
        if backward is not None:
            config["backward_layer"] = backward
        return cls(**config)


class TimeDistributed(Layer):
    """Applies `layer` to every time step of `(batch, steps, ...)` inputs (steps folded into the batch).

    Args:
        layer: the layer to apply at each step.
    """

    supports_masking = True

    def __init__(self, layer: Any, **kwargs: Any):
        from ..torch_module import as_layer

        super().__init__(**kwargs)
        self.layer = as_layer(layer)

    def build(self, input_shape: Any) -> None:
        if len(input_shape) < 3:
            raise ValueError(
                f"Layer {self.name!r} (TimeDistributed) expects inputs of rank >= 3 (batch, steps, ...), received "
                f"shape {tuple(input_shape)}."
            )
        if isinstance(self.layer, Layer) and not self.layer.built:
            self.layer.build((None if input_shape[0] is None or input_shape[1] is None
                              else input_shape[0] * input_shape[1], *input_shape[2:]))
            self.layer.built = True

    def forward(self, inputs: torch.Tensor, training: bool | None = None, mask: Any = None) -> torch.Tensor:
        batch, steps = inputs.shape[0], inputs.shape[1]
        flat = inputs.reshape(batch * steps, *inputs.shape[2:])
        from ..masking import takes_mask

        kwargs = {}
        if mask is not None and takes_mask(self.layer):
            kwargs["mask"] = mask.reshape(batch * steps, *mask.shape[2:])
        output = self.layer(flat, **kwargs)
        return output.reshape(batch, steps, *output.shape[1:])

    def get_config(self) -> dict[str, Any]:
        from ...saving.serialization import serialize_layer

        return {"name": self.name, "trainable": self.trainable, "dtype": self.dtype,
                "layer": serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "TimeDistributed":
        from ...saving.serialization import deserialize_keras_object

        config = dict(config)
        if isinstance(config.get("layer"), dict):
            config["layer"] = deserialize_keras_object(config["layer"])
        return cls(**config)


__all__ = ["Bidirectional", "TimeDistributed"]
