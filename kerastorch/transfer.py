"""freeze_weights / unfreeze_weights: set `trainable` on a range of a model's layers."""

from __future__ import annotations

from typing import Any


def freeze_weights(model: Any, from_: str | int | None = None, to: str | int | None = None) -> None:
    """Freeze layers `from_`..`to` (inclusive; names or 0-based positions, negative from the end).

    `freeze_weights(model, to=-2)` freezes all but the last layer. Frozen layers stop gradients
    and keep their BatchNorm statistics fixed, as `layer.trainable = False` does in Keras.
    """
    _set_trainable(model, from_, to, False)


def unfreeze_weights(model: Any, from_: str | int | None = None, to: str | int | None = None) -> None:
    """Unfreeze layers `from_`..`to` (same addressing as `freeze_weights`); re-`compile` afterwards."""
    _set_trainable(model, from_, to, True)


def _set_trainable(model: Any, from_: Any, to: Any, value: bool) -> None:
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if not layers:
        raise ValueError(f"Model {model.name!r} has no layers to (un)freeze.")
    start = 0 if from_ is None else _position(model, layers, from_, "from_")
    stop = len(layers) - 1 if to is None else _position(model, layers, to, "to")
    if start > stop:
        raise ValueError(
            f"Model {model.name!r}: from_={from_!r} (layer {start}) comes after to={to!r} (layer {stop}); "
            "swap them."
        )
    for layer in layers[start:stop + 1]:
        layer.trainable = value
    if value:
        model._trainable = True  # a model with any trainable layer is trainable


def _position(model: Any, layers: list, key: str | int, argument: str) -> int:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"{argument} must be a layer name or an integer position, received {key!r}.")
    if isinstance(key, int):
        if not -len(layers) <= key < len(layers):
            raise ValueError(
                f"{argument}={key} is out of range for model {model.name!r}, which has {len(layers)} layers."
            )
        return key % len(layers)
    for position, layer in enumerate(layers):
        if layer.name == key:
            return position
    raise ValueError(
        f"{argument}={key!r} names no layer of model {model.name!r}; its layers are {[l.name for l in layers]}."
    )
