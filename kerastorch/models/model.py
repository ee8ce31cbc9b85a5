"""Model: what Sequential, functional and subclassed models share (layers, summary, training, saving)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..layers.layer import Layer, shape_of
from ..training.trainer import Trainer


class Model(Trainer, Layer):
    """`kt.Model(inputs, outputs)` builds a functional model; subclass it for a custom `call`."""

    def __new__(cls, *args: Any, **kwargs: Any):
        from .functional import Functional

        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            return Functional.__new__(Functional, *args, **kwargs)
        if not issubclass(cls, Functional) and _functional_arguments(args, kwargs):
            # Keras's rule: a Model subclass given (inputs, outputs) is a functional model that keeps
            # the subclass's methods (train_step, metrics, ...): an instance of `(Subclass, Functional)`.
            return super().__new__(_functional_subclass(cls))
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any):
        if type(self) is Model and (args or "inputs" in kwargs):
            raise TypeError("kt.Model(inputs, outputs) needs both `inputs` and `outputs`.")
        super().__init__(*args, **kwargs)

    # ---------------------------------------------------------------------------------- layers

    @property
    def layers(self) -> list[Layer]:
        """The model's direct sublayers (for subclassed models, those set as attributes)."""
        return [m for m in self.children() if isinstance(m, Layer)]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A sublayer by `name` or by position `index` (one of the two)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer takes exactly one of `name` or `index`.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Model {self.name!r} has {len(layers)} layers, so index {index} is out of range."
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name!r} in model {self.name!r}. Existing layers are: {[l.name for l in layers]}."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "Model":
        """`kt.Model.from_config(functional_model.get_config())` rebuilds the functional model."""
        if cls is Model and "input_layers" in config:
            from .functional import Functional

            return Functional.from_config(config, custom_objects)
        return super().from_config(config)

    def build(self, input_shape: Any = None) -> None:
        """Subclassed models: create every weight by running `call` once on symbolic inputs."""
        if input_shape is None:
            return
        from ..layers.input_layer import Input

        many = isinstance(input_shape, list) and all(isinstance(s, (tuple, list)) for s in input_shape)
        inputs = [Input(batch_shape=tuple(s)) for s in input_shape] if many else Input(batch_shape=tuple(input_shape))
        self.built = True  # so the symbolic call below runs `call` instead of building again
        try:
            self(inputs)
        except Exception:
            self.built = False
            raise

    def _build_for(self, inputs: Any) -> None:
        # A subclassed model's first call builds its sublayers as they run: no separate build pass.
        if type(self).build is Model.build:
            self._build_shapes = shape_of(inputs)  # saved as Keras's build_config, to rebuild on load
            self.built = True
        else:
            super()._build_for(inputs)

    def _input_tensor(self, value: Any, dtype: torch.dtype | None) -> torch.Tensor:
        """An array-like model input as a tensor on the model's device (numpy in, like Keras)."""
        try:
            return torch.as_tensor(np.asarray(value), dtype=dtype, device=self._model_device())
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"Model {self.name!r} expected tensors or arrays as inputs, received {type(value).__name__}."
            ) from error

    def _forward_in_mode(self, inputs: Any, training: bool) -> Any:
        """Keras's `model(x, training=...)`: run with that mode for this call only."""
        previous = self.training
        self.train(training)
        try:
            return self.forward(inputs)
        finally:
            self.train(previous)

    @property
    def weights(self) -> list[torch.Tensor]:
        self._require_built("weights")
        return Layer.weights.fget(self)

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Weights for model {self.name!r} have not yet been created, so its {what} cannot be read. "
                "Build the model first: call it on a batch of data (model(x)), call "
                "model.build(input_shape), or give it an input shape (a leading kt.Input(shape) or "
                "input_shape=...)."
            )

    # --------------------------------------------------------------------------------- summary

    def summary(
        self,
        line_length: int | None = None,
        positions: list[float] | None = None,
        print_fn: Any = None,
        expand_nested: bool = False,
        show_trainable: bool | None = None,
        layer_range: Any = None,
    ) -> None:
        """Print Keras 3's summary table (see `kerastorch.summary`)."""
        from ..summary import print_summary

        self._require_built("summary")
        print_summary(
            self, line_length=line_length, positions=positions, print_fn=print_fn,
            expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range,
        )

    def _summary_rows(self, expand_nested: bool) -> list:
        from ..summary import attribute_layers, stack_rows

        # Subclassed models list plain torch modules set as attributes too (Keras wraps those).
        subclassed = type(self).layers is Model.layers
        return stack_rows(attribute_layers(self) if subclassed else self.layers, expand_nested)

    # ---------------------------------------------------------------------------------- saving

    def save(self, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
        """Save architecture, weights and compile state to a Keras 3 `.keras` file."""
        from ..saving import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def to_json(self, **kwargs: Any) -> str:
        """The model's Keras-format config as JSON; `kt.models.model_from_json` reads it back."""
        from ..saving import model_to_json

        return model_to_json(self, **kwargs)

    def save_weights(self, filepath: str, overwrite: bool = True, **kwargs: Any) -> None:
        """Save weights to `.weights.h5` (Keras layout), `.safetensors` or `.pt`/`.pth`."""
        from ..saving import save_weights

        save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath: str, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load weights saved by kerastorch or Keras; a failed load changes nothing."""
        from ..saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)


_FUNCTIONAL_SUBCLASSES: dict[type, type] = {}


def _functional_subclass(cls: type) -> type:
    """`cls` with `Functional` behind it (one class per subclass, named like it)."""
    from .functional import Functional

    if cls not in _FUNCTIONAL_SUBCLASSES:
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional), {"__module__": cls.__module__,
                                                                             "__qualname__": cls.__qualname__})
    return _FUNCTIONAL_SUBCLASSES[cls]


def _functional_arguments(args: tuple, kwargs: dict) -> bool:
    """Whether a constructor call is Keras's functional `(inputs, outputs)` form on symbolic tensors."""
    from ..symbolic import SymbolicTensor, flatten

    if len(args) == 2:
        inputs = args[0]
    elif len(args) == 1 and "outputs" in kwargs:
        inputs = args[0]
    elif "inputs" in kwargs and "outputs" in kwargs:
        inputs = kwargs["inputs"]
    else:
        return False
    leaves = flatten(inputs)
    return bool(leaves) and all(isinstance(t, SymbolicTensor) for t in leaves)
