"""kerastorch: Keras 3's model-building API, where every layer and model is a torch.nn.Module."""

from . import activations, config, initializers, layers, ops
from . import callbacks, losses, metrics, mixed_precision, optimizers
from .layers import Input, InputLayer, Layer
from .models import Model, Sequential
from .transfer import freeze_weights, unfreeze_weights
from . import applications

__version__ = "0.1.0"

__all__ = [
    "Input", "InputLayer", "Layer", "Model", "Sequential", "activations", "applications", "config", "freeze_weights",
    "initializers", "layers", "ops", "unfreeze_weights",
    "callbacks", "losses", "metrics", "mixed_precision", "optimizers",
]
