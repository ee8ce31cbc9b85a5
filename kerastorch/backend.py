"""`kt.backend`: the public names of `keras.backend` (settings, dtype helpers, session state).

The backend itself is torch: `backend()` answers "torch" and tensors are plain `torch.Tensor`s.
"""

from __future__ import annotations

from .config import backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx, set_image_data_format
from .utils.dtype_utils import is_float_dtype, is_int_dtype, result_type, standardize_dtype
from .utils.global_state import clear_session, get_uid
from .utils.graph_utils import is_keras_tensor

__all__ = [
    "backend", "clear_session", "epsilon", "floatx", "get_uid", "image_data_format", "is_float_dtype",
    "is_int_dtype", "is_keras_tensor", "result_type", "set_epsilon", "set_floatx", "set_image_data_format",
    "standardize_dtype",
]
