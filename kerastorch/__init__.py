"""kerastorch: Keras 3's model-building API, where every layer and model is a torch.nn.Module."""

from . import activations, config, initializers, layers, ops, utils
from . import callbacks, datasets, losses, metrics, mixed_precision, models, optimizers
from . import applications
from .layers import Input, InputLayer, Layer
from .models import Model, Sequential
from .transfer import freeze_weights, unfreeze_weights
from . import constraints, random, regularizers
from . import backend, dtype_policies, preprocessing, saving, tree
from .variables import Variable, name_scope
from .losses import Loss
from .metrics import Metric
from .initializers import Initializer
from .layers import InputSpec
from .mixed_precision import DTypePolicy
from .optimizers import Optimizer
from .placement import device
from .regularizers import Regularizer
from .remat import remat
from .symbolic import SymbolicTensor as KerasTensor

from .dtype_policies import FloatDTypePolicy

__version__ = "0.1.0"


def version() -> str:
    """The installed kerastorch version (`keras.version()`)."""
    return __version__

__all__ = [
    "Input", "InputLayer", "Layer", "Model", "Sequential", "activations", "applications", "callbacks", "config",
    "datasets", "freeze_weights", "initializers", "layers", "losses", "metrics", "mixed_precision", "models",
    "ops", "optimizers", "unfreeze_weights", "utils", "Variable", "constraints", "random", "regularizers",
    "backend", "dtype_policies", "preprocessing", "saving", "tree",
    "Loss", "Metric", "Initializer", "InputSpec", "DTypePolicy", "FloatDTypePolicy", "Optimizer", "device",
    "Regularizer", "KerasTensor", "version", "name_scope", "remat",
]
