"""Pretrained bases: Keras's Xception built from kerastorch layers, and any timm model as a layer.

`Xception` is layer for layer Keras's (names, parameter counts, outputs). The other Keras names
(`ResNet50`, `EfficientNetB0`, `ConvNeXtTiny`, ...) are timm models of the same architecture wrapped
in a `TimmBackbone`; their docstrings say what differs from Keras. `kt.applications.<family>`
(`xception`, `resnet50`, `efficientnet`, ...) carries each family's `preprocess_input` and
`decode_predictions`, as `keras.applications.<family>` does.
"""

from . import imagenet_utils, xception
from .imagenet_utils import decode_predictions
from .timm_backbone import TimmBackbone, preprocess_input, resolve_data_config
from .timm_models import APPLICATIONS as _APPLICATIONS
from .timm_models import FAMILIES as _FAMILIES
from .timm_models import ImageNormalization
from .xception import Xception

globals().update(_APPLICATIONS)
globals().update(_FAMILIES)

__all__ = [
    "ImageNormalization", "TimmBackbone", "Xception", "decode_predictions", "preprocess_input",
    "imagenet_utils", "resolve_data_config", "xception", *_APPLICATIONS, *_FAMILIES,
]
