"""HashedCrossing: crosses categorical features and hashes each combination into `num_bins`, with the
fingerprints TensorFlow's `sparse.cross_hashed` uses, so bucket numbers equal Keras's."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..arguments import positive_int
from .category_encoding import check_output_mode, encode_categorical, refuse_sparse
from .fingerprint import fingerprint64, fingerprint_cat64
from .hashing import value_bytes
from .host import HostLayer, host_array, is_text

_CROSS_KEY = 0xDECAFCAFFE  # TensorFlow's default key for hashed crosses


class HashedCrossing(HostLayer):
    """Hashes the cross of two or more categorical features (strings or integers) into `num_bins`.

    Args:
        num_bins: the number of buckets.
        output_mode: "int" (bucket ids) or "one_hot".
        sparse: Keras's TensorFlow-only sparse output; `True` raises NotImplementedError.

    Inputs: a list or tuple of features, each of shape `()`, `(batch,)` or `(batch, 1)`.
    """

    def __init__(self, num_bins: int, output_mode: str = "int", sparse: bool = False, name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        output_mode = check_output_mode("HashedCrossing", output_mode, ("int", "one_hot"))
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        refuse_sparse("HashedCrossing", sparse)
        self.num_bins = positive_int("HashedCrossing", "num_bins", num_bins)
        self.output_mode = output_mode
        self.sparse = False
        self.built = True

    def get_config(self) -> dict[str, Any]:
        result = super().get_config()
        result.pop("trainable")  # Keras's HashedCrossing takes no `trainable`
        return result

    def forward(self, inputs: Any) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(
                f"Layer {self.name!r} (HashedCrossing) expected a list or tuple of at least two features, received "
                f"{type(inputs).__name__}; call it as layer((feature_a, feature_b))."
            )
        arrays = [host_array(x) for x in inputs]
        device = arrays[0][1]
        features = [a for a, _ in arrays]
        shape = features[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1) or any(f.shape != shape for f in features):
            raise ValueError(
                f"Layer {self.name!r} (HashedCrossing) expected features of equal shape (), (batch,) or (batch, 1), "
                f"received shapes {[f.shape for f in features]}."
            )
        for feature in features:
            if not (is_text(feature) or feature.dtype.kind in "iu"):
                raise ValueError(
                    f"Layer {self.name!r} (HashedCrossing) expected integer or string features, received "
                    f"{feature.dtype}."
                )
        # A string feature contributes its fingerprint; an integer feature its own value (as TensorFlow does).
        columns = [[fingerprint64(value_bytes(v)) if is_text(f) else int(v) & ((1 << 64) - 1) for v in f.reshape(-1)]
                   for f in features]
        buckets = []
        for row in zip(*columns):
            combined = _CROSS_KEY
            for value in row:
                combined = fingerprint_cat64(combined, value)
            buckets.append(combined % self.num_bins)
        indices = torch.as_tensor(np.array(buckets, dtype=np.int64).reshape(shape), device=device)
        dtype = self._dtype if self.output_mode == "int" else torch.float32
        return encode_categorical(indices, self.output_mode, self.num_bins, dtype)
