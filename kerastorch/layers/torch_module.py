"""Any `torch.nn.Module` as a layer: a name, a summary row, weights and freezing."""

from __future__ import annotations

from typing import Any

from torch import nn

from .layer import Layer, _accepts, snake_case, unique_name


class TorchModuleWrapper(Layer):
    """Holds a plain module (an `nn.LSTM`, a timm model) so it can sit in a kerastorch model.

    The module itself is kept, not copied: its parameters are the layer's parameters, its
    `state_dict` keys gain one `module.` prefix, and its outputs pass through unchanged (an
    LSTM still returns `(output, (h, c))`). Weights are reported in the module's own layout.
    """

    def __init__(self, module: nn.Module, name: str | None = None, **kwargs: Any):
        if not isinstance(module, nn.Module):
            raise TypeError(f"TorchModuleWrapper expected a torch.nn.Module, received {type(module).__name__}.")
        super().__init__(name=name or unique_name(snake_case(type(module).__name__)), **kwargs)
        self.module = module
        nn.Module.train(self, False)  # inference until fit() or .train(), like every kerastorch layer
        self.built = not any(isinstance(p, nn.parameter.UninitializedParameter) for p in module.parameters())
        if not self._trainable:
            self.trainable = False

    def forward(self, *args: Any, training: bool | None = None, mask: Any = None, **kwargs: Any) -> Any:
        """Call the module; `training=` sets its mode for this call, `mask=` reaches it if its forward takes one."""
        if mask is not None and _accepts(type(self.module).forward, "mask"):
            kwargs["mask"] = mask
        if training is None or bool(training) == self.module.training:
            return self.module(*args, **kwargs)
        previous = self.module.training
        self.module.train(bool(training))
        try:
            return self.module(*args, **kwargs)
        finally:
            self.module.train(previous)

    @property
    def layer_type(self) -> str:
        return type(self.module).__name__


def as_layer(value: Any) -> Layer:
    """A kerastorch layer as is; any other `nn.Module` wrapped; anything else a TypeError."""
    if isinstance(value, Layer):
        return value
    if isinstance(value, nn.Module):
        return TorchModuleWrapper(value)
    raise TypeError(
        f"Expected a kerastorch layer or a torch.nn.Module, received {type(value).__name__} ({value!r}); "
        "wrap a plain function in kt.layers.Lambda."
    )
