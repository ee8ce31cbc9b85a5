"""Keras's preprocessing layers: image resizing, normalization, categorical encodings, hashing, lookups,
text vectorization and audio spectrograms. Strings are handled on the host, without TensorFlow."""

from .audio import MelSpectrogram, STFTSpectrogram
from .category_encoding import CategoryEncoding
from .discretization import Discretization
from .hashed_crossing import HashedCrossing
from .hashing import Hashing
from .image import CenterCrop, Rescaling, Resizing
from .lookup import IntegerLookup, StringLookup
from .normalization import Normalization
from .text_vectorization import TextVectorization
