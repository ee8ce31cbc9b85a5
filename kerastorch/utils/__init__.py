"""`kt.utils`: Keras 3's `keras.utils`."""

from .rng_utils import set_random_seed  # noqa: E402,F401
