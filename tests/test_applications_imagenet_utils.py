"""ImageNet helpers: class names from timm and Keras's three input scalings (checked against Keras)."""

import numpy as np
import pytest
import torch

from kerastorch.applications import imagenet_utils


def test_class_names_match_keras_style():
    classes = imagenet_utils.imagenet_classes()
    assert len(classes) == 1000
    assert classes[0] == ("n01440764", "tench")
    assert classes[2] == ("n01484850", "great_white_shark")


def test_decode_predictions_orders_by_score_and_checks_shape():
    preds = torch.zeros(2, 1000)
    preds[0, 5], preds[0, 3], preds[1, 999] = 0.5, 0.9, 1.0
    decoded = imagenet_utils.decode_predictions(preds, top=2)
    assert [c[0] for c in decoded[0]] == [imagenet_utils.imagenet_classes()[3][0], imagenet_utils.imagenet_classes()[5][0]]
    assert decoded[1][0][1] == imagenet_utils.imagenet_classes()[999][1]
    with pytest.raises(ValueError, match="samples, 1000"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="top"):
        imagenet_utils.decode_predictions(np.zeros((1, 1000)), top=0)


@pytest.mark.parametrize("mode", ["tf", "torch", "caffe"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_preprocess_modes_match_keras(mode, data_format):
    from keras.src.applications import imagenet_utils as keras_utils

    images = np.random.default_rng(0).uniform(0, 255, (2, 3, 5, 3) if data_format == "channels_last" else (2, 3, 5, 5))
    images = images.astype("float32")
    original = images.copy()
    expected = keras_utils.preprocess_input(images.copy(), data_format=data_format, mode=mode)
    got = imagenet_utils.preprocess_input(images, data_format=data_format, mode=mode)
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-5, atol=1e-4)
    from_tensor = imagenet_utils.preprocess_input(torch.from_numpy(images), data_format=data_format, mode=mode)
    np.testing.assert_allclose(from_tensor.numpy(), np.asarray(expected), rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(images, original)  # the caller's array is not modified


def test_preprocess_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        imagenet_utils.preprocess_input(np.zeros((1, 2, 2, 3)), mode="imagenet")
