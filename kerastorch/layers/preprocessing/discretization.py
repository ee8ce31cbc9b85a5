"""Discretization: bucketizes continuous values by boundaries, given or learned as quantiles by `adapt()`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..layer import Layer
from .category_encoding import check_output_mode, encode_categorical, refuse_sparse
from .host import batches


# Keras's approximate quantiles: a summary is a (2, n) array of sorted values and their weights; batches
# are summarized, merged, and compressed to about 1/epsilon entries by interpolating the cumulative weights.

def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    values = np.sort(values.reshape(-1))
    step = max(values.size * epsilon, 1)
    kept = values[int(step - 1)::int(step)]
    return np.stack([kept, np.full_like(kept, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    values = np.interp(targets, fractions, summary[0])
    cumulative = np.interp(targets, fractions, cumulative)
    weights = np.diff(cumulative, prepend=0.0)
    return np.stack([values, weights]).astype("float32")


def _merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate([first, second], axis=1)
    return _compress(merged[:, np.argsort(merged[0])], epsilon)


class Discretization(Layer):
    """Maps each value to the index of its bucket: bucket `i` holds `boundaries[i-1] <= x < boundaries[i]`.

    Args:
        bin_boundaries: sorted bucket edges; or leave None and give `num_bins`, then call `adapt()`.
        num_bins: the number of buckets `adapt()` learns (as approximate quantiles of the data).
        epsilon: the quantile approximation error `adapt()` allows (Keras's default 0.01).
        output_mode: "int" (bucket indices), "one_hot", "multi_hot" or "count".
        sparse: Keras's TensorFlow-only sparse output; `True` raises NotImplementedError.
    """

    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None, epsilon: float = 0.01,
                 output_mode: str = "int", sparse: bool = False, dtype: Any = None, name: str | None = None,
                 **kwargs: Any):
        super().__init__(dtype=dtype, name=name, **kwargs)
        refuse_sparse("Discretization", sparse)
        self.output_mode = check_output_mode("Discretization", output_mode)
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"Discretization expected `num_bins` >= 0, received {num_bins}.")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Discretization takes `num_bins` or `bin_boundaries`, not both; drop one of them.")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization needs `bin_boundaries`, or `num_bins` and then adapt(data).")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.sparse = False
        self._summary = np.zeros((2, 0), dtype="float32")
        self.built = True

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn `num_bins - 1` boundaries as approximate quantiles of `data` (an array, a tensor, or an
        iterable of batches; `steps` limits how many batches are read)."""
        if self.num_bins is None:
            raise ValueError(
                f"Layer {self.name!r} (Discretization) was created with `bin_boundaries`; create it with `num_bins` "
                "to adapt it."
            )
        if isinstance(data, (np.ndarray, torch.Tensor)):
            parts = [data]  # one batch; a list is a sequence of batches, as in Keras
        else:
            parts = (b for i, b in enumerate(batches(data)) if steps is None or i < steps)
        summary = np.zeros((2, 0), dtype="float32")
        for part in parts:
            values = part.detach().cpu().numpy() if isinstance(part, torch.Tensor) else np.asarray(part)
            summary = _merge(_summarize(values.astype("float32"), self.epsilon), summary, self.epsilon)
        self._summary = summary
        self.bin_boundaries = _compress(summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def forward(self, inputs: Any) -> torch.Tensor:
        if self.bin_boundaries is None:
            raise ValueError(
                f"Layer {self.name!r} (Discretization) has no boundaries yet; pass `bin_boundaries` or call "
                "adapt(data) first."
            )
        inputs = torch.as_tensor(inputs)
        if not inputs.is_floating_point():
            inputs = inputs.to(torch.float32)
        boundaries = torch.tensor(self.bin_boundaries, dtype=inputs.dtype, device=inputs.device)
        indices = torch.bucketize(inputs.contiguous(), boundaries, right=True)
        dtype = torch.int32 if self.output_mode == "int" else self._dtype
        return encode_categorical(indices, self.output_mode, len(self.bin_boundaries) + 1, dtype)

    def get_config(self) -> dict[str, Any]:
        result = super().get_config()
        result.update(bin_boundaries=self.bin_boundaries, num_bins=self.num_bins)
        result.pop("trainable")  # Keras's Discretization takes no `trainable`
        return result

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "Discretization":
        # An adapted layer's config holds both: rebuild from `num_bins`, then restore the boundaries.
        if config_dict.get("bin_boundaries") is not None and config_dict.get("num_bins") is not None:
            config_dict = dict(config_dict)
            boundaries = config_dict.pop("bin_boundaries")
            layer = cls(**config_dict)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config_dict)
