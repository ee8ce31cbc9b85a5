"""`kt.utils`: Keras 3's `keras.utils`."""

from .rng_utils import set_random_seed  # noqa: E402,F401
from .data_utils import pack_x_y_sample_weight, unpack_x_y_sample_weight  # noqa: E402,F401
from .graph_utils import get_source_inputs, is_keras_tensor  # noqa: E402,F401
from .numerical_utils import normalize, to_categorical  # noqa: E402,F401
from .sequence_utils import pad_sequences  # noqa: E402,F401
from .py_dataset import PyDataset, Sequence  # noqa: E402,F401
from .model_visualization import model_to_dot, plot_model  # noqa: E402,F401
from .image_dataset import image_dataset_from_directory  # noqa: E402,F401
from .text_dataset import text_dataset_from_directory  # noqa: E402,F401
from .audio_dataset import audio_dataset_from_directory  # noqa: E402,F401
from .timeseries_dataset import timeseries_dataset_from_array  # noqa: E402,F401
from .dataset_split import split_dataset  # noqa: E402,F401
from .image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: E402,F401
from ..saving.object_registration import (  # noqa: E402,F401
    CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name, get_registered_object,
    register_keras_serializable,
)
from ..saving.serialization import deserialize_keras_object, serialize_keras_object  # noqa: E402,F401
from .progbar import Progbar  # noqa: E402,F401
from .file_utils import get_file  # noqa: E402,F401
from .global_state import clear_session  # noqa: E402,F401
from .config_obj import Config  # noqa: E402,F401
from .dtype_utils import standardize_dtype  # noqa: E402,F401
from .io_utils import (  # noqa: E402,F401
    disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled,
)
from .feature_space import FeatureSpace  # noqa: E402,F401
from . import bounding_boxes, legacy  # noqa: E402,F401
