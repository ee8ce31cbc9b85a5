"""Keras-named applications on timm: arguments, parameter counts against Keras, preprocessing."""

import numpy as np
import pytest
import timm
import torch

import kerastorch as kt
from kerastorch.applications import timm_models


def _count(name, **kwargs):
    with torch.device("meta"):  # counts and shapes need no memory
        model = getattr(kt.applications, name)(weights=None, **kwargs)
    return model, model.count_params()


def test_every_keras_name_is_exported_with_its_family():
    for name, spec in timm_models.SPECS.items():
        assert callable(getattr(kt.applications, name))
        assert callable(getattr(kt.applications, spec.family).preprocess_input)
        if "." in spec.timm_name:
            assert spec.timm_name in timm.list_pretrained(spec.timm_name)  # the tag exists in timm
        else:  # no timm weights: the docstring says so
            assert not timm.list_pretrained(spec.timm_name) and "no ImageNet weights" in spec.note
        doc = getattr(kt.applications, name).__doc__
        assert f"{spec.ours_params[0]:,}" in doc and f"{spec.keras_params[1]:,}" in doc


@pytest.mark.parametrize("name", ["MobileNet", "ResNet50V2", "NASNetLarge", "NASNetMobile"])
def test_signatures_are_keras(name):
    import inspect

    import keras

    ours = inspect.signature(getattr(kt.applications, name)).parameters
    theirs = inspect.signature(getattr(keras.applications, name)).parameters
    assert list(ours) == list(theirs)
    assert all(ours[k].default == theirs[k].default for k in ours if k != "name")


@pytest.mark.slow  # builds Keras's models
@pytest.mark.parametrize("name", ["MobileNetV3Small", "MobileNet"])
def test_counts_equal_keras(name):
    import keras

    for include_top in (True, False):
        with torch.device("meta"):
            reference = getattr(keras.applications, name)(weights=None, include_top=include_top)
        _, ours = _count(name, include_top=include_top)
        assert ours == reference.count_params()


@pytest.mark.parametrize("name", ["EfficientNetB0", "DenseNet121", "InceptionV3", "ConvNeXtTiny", "VGG16", "ResNet50",
                                  "MobileNet", "ResNet50V2", "ResNet101V2", "ResNet152V2", "NASNetLarge"])
def test_documented_counts_hold(name):
    """The counts in the docstrings (Keras's measured with Keras 3.15, ours with this code)."""
    spec = timm_models.SPECS[name]
    model, with_top = _count(name)
    assert with_top == spec.ours_params[0]
    assert tuple(model.inputs[0].shape) == (None, spec.size, spec.size, 3)
    assert tuple(model.outputs[0].shape) == (None, 1000)
    assert model.name == spec.model_name
    _, without_top = _count(name, include_top=False)
    assert without_top == spec.ours_params[1]


@pytest.mark.slow  # builds Keras's models
@pytest.mark.parametrize("name", ["ResNet50V2"])
def test_documented_keras_counts_hold(name):
    import keras

    spec = timm_models.SPECS[name]
    for include_top, expected in zip((True, False), spec.keras_params):
        with torch.device("meta"):
            assert getattr(keras.applications, name)(weights=None, include_top=include_top).count_params() == expected


@pytest.mark.parametrize("name, pooling, width, count", [
    ("VGG16", "avg", 512, 14_714_688), ("MobileNetV3Small", "max", 576, 939_120), ("ConvNeXtTiny", "avg", 768, 27_820_128),
])
def test_pooling_is_keras_global_pooling_of_the_feature_maps(name, pooling, width, count):
    """Keras pools the last feature map (timm's pre-logits blocks, VGG's fc6/fc7, are part of the top)."""
    model, params = _count(name, include_top=False, pooling=pooling)
    assert tuple(model.outputs[0].shape) == (None, width) and params == count


def test_mobilenet_arguments():
    model, _ = _count("MobileNet", input_shape=(160, 160, 3), include_top=False)
    assert model.name == "mobilenet_1.00_160"
    assert model.layers[-1].model.drop_rate == 1e-3  # Keras's dropout before the classifier
    with pytest.raises(NotImplementedError, match="alpha=0.5"):
        kt.applications.MobileNet(alpha=0.5, weights=None)
    with pytest.raises(NotImplementedError, match="depth_multiplier=2"):
        kt.applications.MobileNet(depth_multiplier=2, weights=None)
    with pytest.raises(NotImplementedError, match="NASNet-A Mobile"):
        kt.applications.NASNetMobile(weights=None)
    with pytest.raises(ValueError, match="no pretrained weights for 'resnetv2_152'"):
        kt.applications.ResNet152V2()


def test_pooling_input_shape_and_classes():
    model, _ = _count("ResNet50", include_top=False, pooling="avg", input_shape=(96, 96, 3))
    assert tuple(model.outputs[0].shape) == (None, 2048)
    model, _ = _count("ResNet50", classes=10, classifier_activation=None)
    assert tuple(model.outputs[0].shape) == (None, 10) and model.layers[-1].name == "resnet50"


def test_argument_errors():
    with pytest.raises(ValueError, match="classes=1000"):
        kt.applications.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="pooling"):
        kt.applications.ResNet50(weights=None, include_top=False, pooling="sum")
    with pytest.raises(ValueError, match="weights"):
        kt.applications.ResNet50(weights=3)


def test_normalisation_inside_matches_timm_on_normalised_input(tmp_path):
    """EfficientNet takes 0-255 images (as in Keras) and equals timm fed timm-normalised images."""
    reference = timm.create_model("tf_efficientnet_b0", num_classes=0).eval()
    torch.save(reference.state_dict(), tmp_path / "b0.pth")
    model = kt.applications.EfficientNetB0(weights=str(tmp_path / "b0.pth"), include_top=False, pooling="avg",
                                           input_shape=(64, 64, 3))
    images = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    assert kt.applications.efficientnet.preprocess_input(images) is images
    config = kt.applications.resolve_data_config(model)
    normalised = kt.applications.preprocess_input(images, config)
    with torch.no_grad():
        expected = reference(normalised.permute(0, 3, 1, 2))
        torch.testing.assert_close(model(images), expected, atol=1e-4, rtol=1e-4)


def test_preprocess_input_follows_the_weights():
    images = np.full((1, 1, 1, 3), 255.0, dtype="float32")
    config = timm.data.resolve_data_config(pretrained_cfg=timm.models.get_pretrained_cfg("resnet50.tv_in1k").to_dict())
    expected = (1 - np.array(config["mean"])) / np.array(config["std"])
    np.testing.assert_allclose(kt.applications.resnet50.preprocess_input(images)[0, 0, 0], expected, rtol=1e-5)
    # Inception weights from TensorFlow expect [-1, 1], which timm's config encodes as mean = std = 0.5.
    np.testing.assert_allclose(kt.applications.inception_v3.preprocess_input(images * 0)[0, 0, 0], [-1, -1, -1])


def test_frozen_shortcut_base_keeps_batchnorm_statistics_in_train_mode():
    base = kt.applications.MobileNetV2(weights=None, include_top=False, pooling="avg", input_shape=(32, 32, 3))
    base.trainable = False
    model = kt.Sequential() | base | kt.layers.Dense(2)
    model.train()
    statistics = [b.clone() for b in base.buffers() if b.is_floating_point()]
    model(torch.randn(4, 32, 32, 3)).sum().backward()
    assert all(torch.equal(a, b) for a, b in zip(statistics, (b for b in base.buffers() if b.is_floating_point())))
    assert all(p.grad is None for p in base.parameters())
