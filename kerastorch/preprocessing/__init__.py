"""`kt.preprocessing`: Keras's `keras.preprocessing` names, which are aliases of `kt.utils` functions.

`image` holds the image file helpers (and `smart_resize`), `sequence` holds `pad_sequences`; the
dataset builders are the ones in `kt.utils`.
"""

from ..utils.image_dataset import image_dataset_from_directory
from ..utils.text_dataset import text_dataset_from_directory
from ..utils.timeseries_dataset import timeseries_dataset_from_array
from . import image, sequence

__all__ = [
    "image", "image_dataset_from_directory", "sequence", "text_dataset_from_directory", "timeseries_dataset_from_array",
]
