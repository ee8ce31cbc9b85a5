"""`kt.preprocessing.sequence`: Keras's alias of `kt.utils.pad_sequences`."""

from ..utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]
