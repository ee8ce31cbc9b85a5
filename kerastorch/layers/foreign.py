"""Keras layers that run another framework's model inside Keras: JAX functions, Flax modules and
TensorFlow SavedModels. They cannot work on torch, so each raises `NotImplementedError` saying why."""

from __future__ import annotations

from typing import Any

from .layer import Layer

__all__ = ["FlaxLayer", "JaxLayer", "TFSMLayer"]


class _Foreign(Layer):
    _reason = ""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(f"kt.layers.{type(self).__name__} is not available: {self._reason}")


class JaxLayer(_Foreign):
    """Keras's wrapper of a JAX function and its parameters (not available here: see the error)."""

    _reason = ("it runs a JAX `call_fn` on JAX arrays, which Keras supports only on its JAX (and TensorFlow) "
               "backends; port the function to torch and wrap it in a kt.layers.Layer, or use "
               "kt.layers.TorchModuleWrapper for a torch module.")


class FlaxLayer(_Foreign):
    """Keras's wrapper of a Flax module (not available here: see the error)."""

    _reason = ("it runs a Flax `nn.Module` on JAX arrays, which Keras supports only on its JAX (and TensorFlow) "
               "backends; port the module to torch (an nn.Module can be added to any model directly).")


class TFSMLayer(_Foreign):
    """Keras's wrapper of a TensorFlow SavedModel for inference (not available here: see the error)."""

    _reason = ("it loads a TensorFlow SavedModel, whose graph only TensorFlow can run, and kerastorch has no "
               "TensorFlow dependency; rebuild the model with kerastorch layers and load its weights from a "
               "`.keras` or `.weights.h5` file.")
