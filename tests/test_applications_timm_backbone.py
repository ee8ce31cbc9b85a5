"""TimmBackbone: any timm model as a channels_last layer with real counts and symbolic shapes."""

import time

import numpy as np
import pytest
import timm
import torch

import kerastorch as kt
from kerastorch.applications import TimmBackbone, preprocess_input, resolve_data_config

NAME = "resnet18"


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(0)
    return timm.create_model(NAME, num_classes=0).eval()


@pytest.fixture(scope="module")
def checkpoint(reference, tmp_path_factory):
    path = tmp_path_factory.mktemp("timm") / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    return str(path)


def test_channels_last_in_and_out_matches_timm(reference, checkpoint):
    layer = TimmBackbone(NAME, weights=checkpoint)
    x = torch.randn(2, 64, 64, 3)
    with torch.no_grad():
        out = layer(x)
        expected = reference.forward_features(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert out.shape == (2, 2, 2, 512)
    assert out.is_contiguous()  # NCHW result in channels_last memory: the permute back is free
    torch.testing.assert_close(out, expected)
    assert layer.count_params() == sum(p.numel() for p in reference.parameters()) + sum(
        b.numel() for b in reference.buffers() if b.is_floating_point()
    )


def test_input_reaches_timm_as_a_zero_copy_view():
    layer = TimmBackbone(NAME)
    seen = {}
    layer.model.conv1.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    x = torch.randn(1, 32, 32, 3)
    with torch.no_grad():
        layer(x)
    assert seen["x"].data_ptr() == x.data_ptr()
    assert seen["x"].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("pooling, reducer", [("avg", torch.mean), ("max", torch.amax)])
def test_pooling(reference, checkpoint, pooling, reducer):
    layer = TimmBackbone(NAME, weights=checkpoint, pooling=pooling)
    x = torch.randn(2, 64, 64, 3)
    with torch.no_grad():
        expected = reducer(reference.forward_features(x.permute(0, 3, 1, 2)), dim=(2, 3))
        torch.testing.assert_close(layer(x), expected)


def test_features_only_with_out_indices():
    layer = TimmBackbone(NAME, features_only=True, out_indices=(1, 3))
    outputs = layer(torch.randn(1, 64, 64, 3))
    assert [tuple(o.shape) for o in outputs] == [(1, 16, 16, 64), (1, 4, 4, 256)]
    symbolic = kt.Input((64, 64, 3)) | layer
    assert [s.shape for s in symbolic] == [(None, 16, 16, 64), (None, 4, 4, 256)]


def test_channels_first_data_format():
    layer = TimmBackbone(NAME, data_format="channels_first")
    assert layer(torch.randn(1, 3, 64, 64)).shape == (1, 512, 2, 2)


def test_head_only_modules_are_dropped_without_a_classifier():
    vgg = TimmBackbone("vgg11")  # timm keeps fc6/fc7 (pre_logits) even with num_classes=0
    assert not any(name.startswith("pre_logits") for name, _ in vgg.model.named_parameters())
    assert vgg.count_params() == 9_220_480


def test_classifier_kept_with_num_classes():
    layer = TimmBackbone(NAME, num_classes=7)
    assert layer(torch.randn(2, 64, 64, 3)).shape == (2, 7)


def test_symbolic_shapes_sequential_summary_and_freezing(checkpoint):
    layer = TimmBackbone(NAME, weights=checkpoint, pooling="avg", input_shape=(64, 64, 3))
    model = kt.Sequential() | layer | kt.layers.Dense(3)
    assert tuple(model.outputs[0].shape) == (None, 3)
    layer.trainable = False
    model.train()
    assert not layer.model.bn1.training  # frozen torch BatchNorm stays in inference mode
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Trainable" in text and f"{layer.count_params():,}" in text
    assert sum(w.numel() for w in model.trainable_weights) == 512 * 3 + 3


def test_data_config_and_preprocessing():
    layer = TimmBackbone(NAME)
    config = resolve_data_config(layer)
    assert config["input_size"] == (3, 224, 224) and len(config["mean"]) == 3
    assert resolve_data_config(kt.Sequential([layer])) == config
    images = np.full((1, 2, 2, 3), 255, dtype=np.uint8)
    expected = (1.0 - np.array(config["mean"])) / np.array(config["std"])
    np.testing.assert_allclose(layer.preprocess_input(images)[0, 0, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(preprocess_input(torch.from_numpy(images), config)[0, 0, 0].numpy(), expected,
                               rtol=1e-5)


def test_get_config_round_trip():
    layer = TimmBackbone(NAME, pooling="max", layer_name="base")
    config = layer.get_config()
    assert config["name"] == NAME and config["layer_name"] == "base" and config["pooling"] == "max"
    clone = TimmBackbone.from_config(config)
    assert clone.name == "base" and clone.count_params() == layer.count_params()


def test_argument_errors():
    with pytest.raises(ValueError, match="not a timm model"):
        TimmBackbone("no_such_model_xyz")
    with pytest.raises(ValueError, match="pooling"):
        TimmBackbone(NAME, pooling="mean")
    with pytest.raises(ValueError, match="out_indices needs features_only"):
        TimmBackbone(NAME, out_indices=(1,))
    with pytest.raises(ValueError, match="resnet18.a1_in1k"):  # the valid tags are listed
        TimmBackbone(NAME + ".no_such_tag")
    with pytest.raises(TypeError, match="timm model name"):
        TimmBackbone(torch.nn.Linear(2, 2))


def test_pretrained_offline_fails_fast_naming_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="resnet18.a1_in1k") as error:
        TimmBackbone(NAME, pretrained=True)
    assert time.perf_counter() - start < 1.0
    assert str(tmp_path / "hf") in str(error.value)
    # An untagged name means timm's default tag, not the alphabetically first one (ra4_e3600_...).
    with pytest.raises(ValueError, match=r"efficientnet_b0\.ra_in1k/"):
        TimmBackbone("efficientnet_b0", pretrained=True)
