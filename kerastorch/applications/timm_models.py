"""Keras application names backed by timm models with the same architecture.

`kt.applications.ResNet50(include_top=..., weights=..., pooling=..., input_shape=..., classes=...)`
returns a `kt.Sequential` holding a `TimmBackbone`. The weights are timm's, so each family's
`preprocess_input` (e.g. `kt.applications.resnet50.preprocess_input`) prepares 0-255 RGB images the way
*those* weights expect; where Keras puts preprocessing inside the model (EfficientNet, EfficientNetV2,
MobileNetV3, ConvNeXt) the model takes 0-255 images too and `preprocess_input` passes them through.

Parameter counts (Keras counts BatchNorm moving statistics; so do we) differ from Keras where the
implementations differ; each function's docstring states its numbers, measured with both libraries.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
from typing import Any, Callable

import torch

from .. import config
from ..layers.core import Activation
from ..layers.pooling import GlobalAveragePooling2D, GlobalMaxPooling2D
from ..layers.layer import Layer
from .timm_backbone import TimmBackbone, preprocess_input as _normalise


@dataclasses.dataclass(frozen=True)
class _Spec:
    keras_name: str          # the Keras function name
    model_name: str          # Keras's default model name
    timm_name: str           # timm model name with the pretrained tag used for weights="imagenet"
    size: int                # Keras's default input size
    family: str              # module name for preprocess_input (kt.applications.<family>)
    inside: bool             # Keras normalises inside the model (preprocess_input is a pass-through)
    keras_params: tuple[int, int]   # Keras count_params() with top / without top
    ours_params: tuple[int, int]    # ours with top / without top
    note: str
    leading: tuple[tuple[str, Any], ...] = ()  # Keras's parameters before include_top (MobileNet, NASNet)


class ImageNormalization(Layer):
    """`(x / 255 - mean) / std` per channel, so a model fed 0-255 images matches its weights' statistics."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...], data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.data_format = config.standardize_data_format(data_format)
        shape = (-1,) if self.data_format == "channels_last" else (-1, 1, 1)
        std_t = torch.tensor(self.std)
        self.register_buffer("scale", (1.0 / (255.0 * std_t)).reshape(shape), persistent=False)
        self.register_buffer("offset", (-torch.tensor(self.mean) / std_t).reshape(shape), persistent=False)
        self.built = True

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not inputs.is_floating_point():
            inputs = inputs.to(self._dtype)
        return inputs * self.scale.to(inputs.dtype) + self.offset.to(inputs.dtype)


def _build(spec: _Spec, include_top: bool, weights: Any, input_tensor: Any, input_shape: Any, pooling: str | None,
           classes: int, classifier_activation: Any, name: str | None, timm_kwargs: dict | None = None) -> Any:
    from ..models.sequential import Sequential

    where = f"kt.applications.{spec.keras_name}"
    if not (weights in ("imagenet", None) or isinstance(weights, str) or hasattr(weights, "__fspath__")):
        raise ValueError(f"{where}: weights must be None, 'imagenet' or a file path, received {weights!r}.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"{where}: weights='imagenet' with include_top=True needs classes=1000, received classes={classes}; "
            "use include_top=False and add your own classifier."
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"{where}: pooling must be None, 'avg' or 'max', received {pooling!r}.")
    if input_shape is None:
        side = spec.size if include_top else None
        input_shape = (3, side, side) if config.image_data_format() == "channels_first" else (side, side, 3)
    # Keras's pooling is a global pooling of the last feature map; only ConvNeXt keeps its head's
    # LayerNorm without the top (after the pooling, which is exactly timm's head with num_classes=0).
    convnext = spec.family == "convnext" and not include_top
    backbone = TimmBackbone(
        spec.timm_name,  # the tag also picks the data config (mean/std) matching the weights
        weights=weights,
        pooling=pooling if convnext else None,
        num_classes=classes if include_top else 0,
        layer_name=spec.timm_name.split(".")[0],
        head_norm=convnext and pooling is None,
        **(timm_kwargs or {}),
    )
    model = Sequential(name=name or spec.model_name)
    model.add(input_tensor if input_tensor is not None else _input(input_shape))
    if spec.inside:
        cfg = backbone.data_config
        model.add(ImageNormalization(cfg["mean"], cfg["std"], name="normalization"))
    model.add(backbone)
    if not include_top and not convnext and pooling is not None:
        model.add(GlobalAveragePooling2D(name="avg_pool") if pooling == "avg" else GlobalMaxPooling2D(name="max_pool"))
    if include_top and classifier_activation is not None:
        model.add(Activation(classifier_activation, name="predictions"))
    return model


def _input(shape: tuple) -> Any:
    from ..layers.input_layer import Input

    return Input(shape=tuple(shape))


_COMMON = (("include_top", True), ("weights", "imagenet"), ("input_tensor", None), ("input_shape", None),
           ("pooling", None), ("classes", 1000), ("classifier_activation", "softmax"), ("name", None))


def _signature(spec: _Spec) -> inspect.Signature:
    """Keras's signature: its leading parameters (if any), then the common application arguments."""
    leading = dict(spec.leading)
    common = [(k, v) for k, v in _COMMON if k not in leading]
    names = [k for k, _ in spec.leading] + [k for k, _ in common]
    defaults = {**dict(common), **leading}
    return inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=defaults[n])
                              for n in names])


def _make(spec: _Spec) -> Callable[..., Any]:
    signature = _signature(spec)

    def application(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        extra = {k: arguments.pop(k) for k, _ in spec.leading if k not in dict(_COMMON)}
        timm_kwargs = _LEADING_HANDLERS[spec.keras_name](spec, arguments, **extra) if extra else None
        return _build(spec, timm_kwargs=timm_kwargs, **arguments)

    application.__signature__ = signature
    keras_top, keras_notop = spec.keras_params
    ours_top, ours_notop = spec.ours_params
    application.__name__ = application.__qualname__ = spec.keras_name
    application.__doc__ = (
        f"Keras's `{spec.keras_name}` on timm's `{spec.timm_name}` (default input {spec.size}x{spec.size}x3).\n\n"
        f"{spec.note}\n\n"
        f"Parameters (BatchNorm statistics included, as Keras counts them): "
        f"with top {ours_top:,} (Keras {keras_top:,}), without top {ours_notop:,} (Keras {keras_notop:,}).\n"
        + ("The model normalises 0-255 RGB input itself, as Keras's does; "
           f"`kt.applications.{spec.family}.preprocess_input` passes images through."
           if spec.inside else
           f"Feed it `kt.applications.{spec.family}.preprocess_input(images_0_255)`, which applies the "
           "normalisation timm's weights were trained with (not necessarily Keras's preprocessing).")
    )
    return application


def _family(spec: _Spec) -> types.SimpleNamespace:
    """A stand-in for `keras.applications.<family>` with `preprocess_input` and `decode_predictions`."""
    from .imagenet_utils import decode_predictions

    if spec.inside:
        def preprocess_input(x: Any, data_format: str | None = None) -> Any:
            """Pass-through: the model normalises its 0-255 input itself (as in Keras)."""
            return x
    else:
        def preprocess_input(x: Any, data_format: str | None = None) -> Any:
            """0-255 RGB images -> the normalisation timm's weights expect."""
            return _normalise(x, _data_config(spec.timm_name), data_format)
    return types.SimpleNamespace(preprocess_input=preprocess_input, decode_predictions=decode_predictions)


def _data_config(timm_name: str) -> dict[str, Any]:
    from timm.data import resolve_data_config
    from timm.models import get_pretrained_cfg

    return resolve_data_config(pretrained_cfg=get_pretrained_cfg(timm_name).to_dict())


_EFFNET = ("timm's TensorFlow port of the same EfficientNet (TF 'same' padding) with the AutoAugment weights "
           "(`aa_in1k`). Keras's model counts 7 more parameters: the mean, variance and count of its "
           "Normalization layer; ours normalises with timm's constants instead.")
_EFFNET_V2 = "timm's TensorFlow port of the same EfficientNetV2 (TF 'same' padding), ImageNet-1k weights."
_MOBILENET_V3 = "timm's TensorFlow port of the same network with the official TF weights."
_DENSENET = "timm's DenseNet has Keras's blocks; torchvision weights."
_INCEPTION = ("Keras's BatchNormalization layers here have no scale (gamma), timm's have one: timm counts one "
              "extra parameter per BatchNorm channel.")
_CONVNEXT = ("timm's ConvNeXt has Keras's blocks. As in Keras, the model normalises 0-255 input itself, and "
             "without the top it still ends with the head's LayerNorm (after the pooling, if any).")
_VGG = ("timm's VGG (torchvision weights) stores the fully connected top as 7x7/1x1 convolutions: the same "
        "parameters as Keras's Flatten + Dense top, which is dropped without the top.")
_RESNET_V2 = ("timm's ResNetV2 is the same pre-activation bottleneck network, but its convolutions have no bias "
              "(Keras's stem, shortcut and last 1x1 convolutions have one, hence Keras's larger count) and each stage "
              "downsamples in its first block (Keras: in its last).")
_NASNET = ("timm's NASNet-A Large (6 @ 4032) with the TensorFlow-trained weights: Keras's count with the top; without "
           "it, ours is the with-top count less the classifier, Keras 3.15's no-top graph is 28,896 smaller.")
_MOBILENET = ("timm's MobileNet v1 (width 1.0) has Keras's layers, with timm's own weights (RA4 recipe), not "
              "Keras's; the classifier is a Linear layer where Keras uses a 1x1 convolution (same parameters).")
_RESNET = ("timm's ResNet is v1.5 (stride 2 in the 3x3 convolution, convolutions without bias); Keras's is v1 "
           "(stride in the first 1x1, biased convolutions), hence the smaller count. torchvision weights.")

_SPECS = [
    _Spec("EfficientNetB0", "efficientnetb0", "tf_efficientnet_b0.aa_in1k", 224, "efficientnet", True,
          (5_330_571, 4_049_571), (5_330_564, 4_049_564), _EFFNET),
    _Spec("EfficientNetB1", "efficientnetb1", "tf_efficientnet_b1.aa_in1k", 240, "efficientnet", True,
          (7_856_239, 6_575_239), (7_856_232, 6_575_232), _EFFNET),
    _Spec("EfficientNetB2", "efficientnetb2", "tf_efficientnet_b2.aa_in1k", 260, "efficientnet", True,
          (9_177_569, 7_768_569), (9_177_562, 7_768_562), _EFFNET),
    _Spec("EfficientNetB3", "efficientnetb3", "tf_efficientnet_b3.aa_in1k", 300, "efficientnet", True,
          (12_320_535, 10_783_535), (12_320_528, 10_783_528), _EFFNET),
    _Spec("EfficientNetB4", "efficientnetb4", "tf_efficientnet_b4.aa_in1k", 380, "efficientnet", True,
          (19_466_823, 17_673_823), (19_466_816, 17_673_816), _EFFNET),
    _Spec("EfficientNetB5", "efficientnetb5", "tf_efficientnet_b5.aa_in1k", 456, "efficientnet", True,
          (30_562_527, 28_513_527), (30_562_520, 28_513_520), _EFFNET),
    _Spec("EfficientNetB6", "efficientnetb6", "tf_efficientnet_b6.aa_in1k", 528, "efficientnet", True,
          (43_265_143, 40_960_143), (43_265_136, 40_960_136), _EFFNET),
    _Spec("EfficientNetB7", "efficientnetb7", "tf_efficientnet_b7.aa_in1k", 600, "efficientnet", True,
          (66_658_687, 64_097_687), (66_658_680, 64_097_680), _EFFNET),
    _Spec("EfficientNetV2B0", "efficientnetv2-b0", "tf_efficientnetv2_b0.in1k", 224, "efficientnet_v2", True,
          (7_200_312, 5_919_312), (7_200_312, 5_919_312), _EFFNET_V2),
    _Spec("EfficientNetV2B1", "efficientnetv2-b1", "tf_efficientnetv2_b1.in1k", 240, "efficientnet_v2", True,
          (8_212_124, 6_931_124), (8_212_124, 6_931_124), _EFFNET_V2),
    _Spec("EfficientNetV2B2", "efficientnetv2-b2", "tf_efficientnetv2_b2.in1k", 260, "efficientnet_v2", True,
          (10_178_374, 8_769_374), (10_178_374, 8_769_374), _EFFNET_V2),
    _Spec("EfficientNetV2B3", "efficientnetv2-b3", "tf_efficientnetv2_b3.in1k", 300, "efficientnet_v2", True,
          (14_467_622, 12_930_622), (14_467_622, 12_930_622), _EFFNET_V2),
    _Spec("EfficientNetV2S", "efficientnetv2-s", "tf_efficientnetv2_s.in1k", 384, "efficientnet_v2", True,
          (21_612_360, 20_331_360), (21_612_360, 20_331_360), _EFFNET_V2),
    _Spec("EfficientNetV2M", "efficientnetv2-m", "tf_efficientnetv2_m.in1k", 480, "efficientnet_v2", True,
          (54_431_388, 53_150_388), (54_431_388, 53_150_388), _EFFNET_V2),
    _Spec("EfficientNetV2L", "efficientnetv2-l", "tf_efficientnetv2_l.in1k", 480, "efficientnet_v2", True,
          (119_027_848, 117_746_848), (119_027_848, 117_746_848), _EFFNET_V2),
    _Spec("MobileNetV2", "mobilenetv2_1.00_224", "mobilenetv2_100.ra_in1k", 224, "mobilenet_v2", False,
          (3_538_984, 2_257_984), (3_538_984, 2_257_984),
          "timm's MobileNetV2 (width 1.0) has Keras's layers but pads stride-2 convolutions symmetrically where "
          "Keras zero-pads right/bottom; the weights are timm's (RandAugment recipe), not Keras's."),
    _Spec("MobileNetV3Small", "MobileNetV3Small", "tf_mobilenetv3_small_100.in1k", 224, "mobilenet_v3", True,
          (2_554_968, 939_120), (2_554_968, 939_120), _MOBILENET_V3),
    _Spec("MobileNetV3Large", "MobileNetV3Large", "tf_mobilenetv3_large_100.in1k", 224, "mobilenet_v3", True,
          (5_507_432, 2_996_352), (5_507_432, 2_996_352), _MOBILENET_V3),
    _Spec("DenseNet121", "densenet121", "densenet121.tv_in1k", 224, "densenet", False, (8_062_504, 7_037_504), (8_062_504, 7_037_504), _DENSENET),
    _Spec("DenseNet169", "densenet169", "densenet169.tv_in1k", 224, "densenet", False, (14_307_880, 12_642_880), (14_307_880, 12_642_880), _DENSENET),
    _Spec("DenseNet201", "densenet201", "densenet201.tv_in1k", 224, "densenet", False, (20_242_984, 18_321_984), (20_242_984, 18_321_984), _DENSENET),
    _Spec("InceptionV3", "inception_v3", "inception_v3.tf_in1k", 299, "inception_v3", False,
          (23_851_784, 21_802_784), (23_869_000, 21_820_000), "timm's InceptionV3 with the TensorFlow-trained weights, no "
          "auxiliary classifier (as Keras). " + _INCEPTION),
    _Spec("InceptionResNetV2", "inception_resnet_v2", "inception_resnet_v2.tf_in1k", 299, "inception_resnet_v2",
          False, (55_873_736, 54_336_736), (55_904_008, 54_367_008),
          "timm's Inception-ResNet-v2 with the TensorFlow-trained weights. " + _INCEPTION),
    _Spec("ConvNeXtTiny", "convnext_tiny", "convnext_tiny.fb_in1k", 224, "convnext", True,
          (28_589_128, 27_820_128), (28_589_128, 27_820_128), _CONVNEXT),
    _Spec("ConvNeXtSmall", "convnext_small", "convnext_small.fb_in1k", 224, "convnext", True,
          (50_223_688, 49_454_688), (50_223_688, 49_454_688), _CONVNEXT),
    _Spec("ConvNeXtBase", "convnext_base", "convnext_base.fb_in1k", 224, "convnext", True,
          (88_591_464, 87_566_464), (88_591_464, 87_566_464), _CONVNEXT),
    _Spec("ConvNeXtLarge", "convnext_large", "convnext_large.fb_in1k", 224, "convnext", True,
          (197_767_336, 196_230_336), (197_767_336, 196_230_336), _CONVNEXT),
    _Spec("ConvNeXtXLarge", "convnext_xlarge", "convnext_xlarge.fb_in22k_ft_in1k", 224, "convnext", True,
          (350_196_968, 348_147_968), (350_196_968, 348_147_968), _CONVNEXT),
    _Spec("VGG16", "vgg16", "vgg16.tv_in1k", 224, "vgg16", False, (138_357_544, 14_714_688), (138_357_544, 14_714_688), _VGG),
    _Spec("VGG19", "vgg19", "vgg19.tv_in1k", 224, "vgg19", False, (143_667_240, 20_024_384), (143_667_240, 20_024_384), _VGG),
    _Spec("ResNet50", "resnet50", "resnet50.tv_in1k", 224, "resnet50", False, (25_636_712, 23_587_712), (25_610_152, 23_561_152), _RESNET),
    _Spec("ResNet101", "resnet101", "resnet101.tv_in1k", 224, "resnet", False, (44_707_176, 42_658_176), (44_654_504, 42_605_504), _RESNET),
    _Spec("ResNet152", "resnet152", "resnet152.tv_in1k", 224, "resnet", False, (60_419_944, 58_370_944), (60_344_232, 58_295_232), _RESNET),
    _Spec("ResNet50V2", "resnet50v2", "resnetv2_50.a1h_in1k", 224, "resnet_v2", False,
          (25_613_800, 23_564_800), (25_594_792, 23_545_792), _RESNET_V2),
    _Spec("ResNet101V2", "resnet101v2", "resnetv2_101.a1h_in1k", 224, "resnet_v2", False,
          (44_675_560, 42_626_560), (44_639_144, 42_590_144), _RESNET_V2),
    _Spec("ResNet152V2", "resnet152v2", "resnetv2_152", 224, "resnet_v2", False,
          (60_380_648, 58_331_648), (60_328_872, 58_279_872),
          _RESNET_V2 + " timm publishes no ImageNet weights for it: weights='imagenet' raises; use None or a file."),
    _Spec("MobileNet", "mobilenet_1.00_224", "mobilenetv1_100.ra4_e3600_r224_in1k", 224, "mobilenet", False,
          (4_253_864, 3_228_864), (4_253_864, 3_228_864), _MOBILENET,
          leading=(("input_shape", None), ("alpha", 1.0), ("depth_multiplier", 1), ("dropout", 1e-3))),
    _Spec("NASNetLarge", "nasnet_large", "nasnetalarge.tf_in1k", 331, "nasnet", False,
          (88_949_818, 84_887_922), (88_949_818, 84_916_818), _NASNET, leading=(("input_shape", None),)),
]


def _mobilenet_arguments(spec: _Spec, arguments: dict[str, Any], alpha: float, depth_multiplier: int,
                         dropout: float) -> dict[str, Any]:
    """Keras's MobileNet arguments: timm has width 1.0 and depth multiplier 1 only; dropout is timm's drop_rate."""
    if alpha != 1.0:
        raise NotImplementedError(f"kt.applications.MobileNet: alpha={alpha!r} is not available; timm's MobileNet "
                                  "v1 exists at width 1.0 only (mobilenetv1_100). Use alpha=1.0.")
    if depth_multiplier != 1:
        raise NotImplementedError(f"kt.applications.MobileNet: depth_multiplier={depth_multiplier!r} is not "
                                  "available; timm's MobileNet v1 has depth multiplier 1 only. Use 1.")
    if arguments["name"] is None:  # Keras names the model after its width and input rows
        shape = arguments["input_shape"]
        rows = shape[1 if config.image_data_format() == "channels_first" else 0] if shape else None
        arguments["name"] = f"mobilenet_{alpha:0.2f}_{rows or spec.size}"
    return dict(drop_rate=float(dropout))


_LEADING_HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {"MobileNet": _mobilenet_arguments}


def NASNetMobile(input_shape: tuple | None = None, include_top: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Any = "softmax", name: str = "nasnet_mobile") -> Any:
    """Keras's `NASNetMobile` (NASNet-A 4 @ 1056), with Keras's signature; not available.

    timm implements NASNet-A only in its Large configuration (6 cells per stage, 4032 filters;
    `kt.applications.NASNetLarge`) and has neither the Mobile network nor its weights. Keras 3.15 itself
    refuses `NASNetMobile` on its torch backend, so there is no Keras count to compare with either.
    """
    raise NotImplementedError(
        "kt.applications.NASNetMobile is not available: timm has no NASNet-A Mobile (4 @ 1056) network or weights, "
        "only NASNet-A Large; use kt.applications.NASNetLarge, or MobileNet/MobileNetV2/MobileNetV3Small for a "
        "small ImageNet base."
    )


APPLICATIONS: dict[str, Callable[..., Any]] = {spec.keras_name: _make(spec) for spec in _SPECS}
APPLICATIONS["NASNetMobile"] = NASNetMobile
FAMILIES: dict[str, types.SimpleNamespace] = {}
for _spec in _SPECS:
    FAMILIES.setdefault(_spec.family, _family(_spec))
SPECS: dict[str, _Spec] = {spec.keras_name: spec for spec in _SPECS}
