"""CategoryEncoding, and the one-hot / multi-hot / count encoder the other categorical layers share."""

from __future__ import annotations

from typing import Any

import torch

from ..arguments import positive_int
from ..layer import Layer

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def check_output_mode(layer: str, output_mode: str, allowed: tuple[str, ...] = OUTPUT_MODES) -> str:
    """Keras's output mode spellings ("binary" is "multi_hot", "tf-idf" is "tf_idf"), or a clear error."""
    output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
    if output_mode not in allowed:
        raise ValueError(f"{layer} expected `output_mode` to be one of {allowed}, received {output_mode!r}.")
    return output_mode


def refuse_sparse(layer: str, sparse: bool) -> None:
    """Keras's `sparse=True` outputs are TensorFlow sparse tensors; torch layers return dense ones."""
    if sparse:
        raise NotImplementedError(
            f"{layer}(sparse=True) returns a TensorFlow SparseTensor in Keras, which has no torch counterpart "
            "here; leave sparse=False for a dense output."
        )


def _one_hot(indices: torch.Tensor, depth: int, dtype: torch.dtype) -> torch.Tensor:
    # A comparison rather than F.one_hot: indices outside [0, depth) give an all-zero row (Keras does
    # this for negative ones), with no host synchronisation to check them.
    classes = torch.arange(depth, device=indices.device, dtype=indices.dtype)
    return (indices.unsqueeze(-1) == classes).to(dtype)


def encode_categorical(indices: torch.Tensor, output_mode: str, depth: int, dtype: torch.dtype,
                       count_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Integer indices as Keras's categorical encodings: "int" casts; "one_hot" adds a `depth` axis
    (replacing a trailing axis of size 1); "multi_hot"/"count" reduce axis 1 (axis 0 for 1-D input)."""
    if output_mode == "int":
        return indices.to(dtype)
    if indices.dim() == 0:
        indices = indices.unsqueeze(-1)
    if indices.is_floating_point():
        indices = indices.long()
    if output_mode == "one_hot":
        if indices.dim() > 1 and indices.shape[-1] == 1:
            indices = indices.squeeze(-1)
        return _one_hot(indices, depth, dtype)
    axis = 1 if indices.dim() > 1 else 0
    if output_mode == "multi_hot":
        return _one_hot(indices, depth, dtype).amax(dim=axis)
    if count_weights is not None:
        dtype = count_weights.dtype
        return (_one_hot(indices, depth, dtype) * count_weights.unsqueeze(-1)).sum(dim=axis)
    return _one_hot(indices, depth, dtype).sum(dim=axis)


class CategoryEncoding(Layer):
    """Encodes integer category ids as one-hot, multi-hot or count vectors of length `num_tokens`.

    Args:
        num_tokens: the number of categories; inputs must lie in `[0, num_tokens)`.
        output_mode: "multi_hot" (default; "binary" is the same), "one_hot" or "count".
        sparse: Keras's TensorFlow-only sparse output; `True` raises NotImplementedError.

    `call(inputs, count_weights=None)`: `count_weights` weighs each input in "count" mode.
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if num_tokens is None:
            raise ValueError("CategoryEncoding needs `num_tokens`; for an unknown number of categories use "
                             "IntegerLookup instead.")
        self.num_tokens = positive_int("CategoryEncoding", "num_tokens", num_tokens)
        self.output_mode = check_output_mode("CategoryEncoding", output_mode, ("count", "one_hot", "multi_hot"))
        refuse_sparse("CategoryEncoding", sparse)
        self.sparse = False
        self.built = True

    def get_config(self) -> dict[str, Any]:
        result = super().get_config()
        result.pop("sparse")  # Keras's CategoryEncoding leaves it out of its config
        return result

    def forward(self, inputs: Any, count_weights: Any = None) -> torch.Tensor:
        inputs = torch.as_tensor(inputs)
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(
                    f"Layer {self.name!r} (CategoryEncoding) uses `count_weights` only with output_mode='count', "
                    f"but its output_mode is {self.output_mode!r}; drop count_weights or change the mode."
                )
            count_weights = torch.as_tensor(count_weights, device=inputs.device).to(self._dtype)
        return encode_categorical(inputs, self.output_mode, self.num_tokens, self._dtype, count_weights)
