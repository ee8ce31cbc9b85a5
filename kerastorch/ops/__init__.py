"""`kt.ops`: Keras 3's `keras.ops`, each a thin function over torch.

The groups live in their own modules (`numpy`, `nn`, `math`, `linalg`, `image`, `core`), as in Keras;
this package re-exports every public name of each group.
"""

from . import core
from .core import *  # noqa: F401,F403
