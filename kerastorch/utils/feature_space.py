"""`FeatureSpace`: not available in kerastorch (see the error for why and what to use instead)."""

from __future__ import annotations

from typing import Any

__all__ = ["FeatureSpace"]


class FeatureSpace:
    """Keras's structured-data preprocessor. Not implemented: constructing one raises NotImplementedError."""

    def __init__(self, features: Any, output_mode: str = "concat", crosses: Any = None, crossing_dim: int = 32,
                 hashing_dim: int = 32, num_discretization_bins: int = 32, name: str | None = None):
        raise NotImplementedError(
            "kt.utils.FeatureSpace is not implemented: Keras builds it on tf.data pipelines (adapt() reads a "
            "tf.data.Dataset of dicts) and kerastorch has no TensorFlow; compose the preprocessing layers it "
            "wraps instead (kt.layers.Normalization, StringLookup, IntegerLookup, Hashing, CategoryEncoding, "
            "HashedCrossing, Discretization) and concatenate their outputs."
        )
