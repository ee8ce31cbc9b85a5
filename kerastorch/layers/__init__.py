"""Keras layers, each a `torch.nn.Module`."""

from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .core import Activation, Dense, Dropout, Embedding, Identity, Lambda
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer
from .masking import Masking
from .merging import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .preprocessing import Rescaling
from .rnn import *  # noqa: F401,F403
from .reshaping import Flatten, Permute, Reshape
from .serialization import deserialize, serialize
from .torch_module import TorchModuleWrapper
