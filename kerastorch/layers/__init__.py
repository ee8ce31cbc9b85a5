"""Keras layers, each a `torch.nn.Module`."""

from .activation import *  # noqa: F401,F403
from .adaptive_pooling import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .augmentation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .bounding_boxes import MaxNumBoundingBoxes
from .core import Activation, Dense, Dropout, Embedding, Identity, Lambda
from .foreign import FlaxLayer, JaxLayer, TFSMLayer
from .input_layer import Input, InputLayer
from .input_spec import InputSpec
from .layer import Layer
from .masking import Masking
from .merging import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pipeline import Pipeline
from .pooling import *  # noqa: F401,F403
from .preprocessing import CenterCrop, Rescaling, Resizing
from .preprocessing import (  # noqa: F401
    CategoryEncoding, Discretization, HashedCrossing, Hashing, IntegerLookup, MelSpectrogram, Normalization,
    StringLookup, STFTSpectrogram, TextVectorization,
)
from .regularization import *  # noqa: F401,F403
from .reversible_embedding import ReversibleEmbedding
from .rnn import *  # noqa: F401,F403
from .reshaping import Flatten, Permute, Reshape
from .reshaping import (  # noqa: F401
    Cropping1D, Cropping2D, Cropping3D, RepeatVector, UpSampling1D, UpSampling2D, UpSampling3D,
    ZeroPadding1D, ZeroPadding2D, ZeroPadding3D,
)
from .serialization import deserialize, serialize
from .spectral_normalization import SpectralNormalization
from .torch_module import TorchModuleWrapper
from .wrapper import Wrapper

# Keras's alternative names: the same classes, so configs and files use the canonical name.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D  # noqa: F405
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (  # noqa: F405
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)  # noqa: F405
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D  # noqa: F405
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D  # noqa: F405
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D  # noqa: F405
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (  # noqa: F405
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)  # noqa: F405
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (  # noqa: F405
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)  # noqa: F405
