"""Loading Xception weights from Keras files and timm checkpoints, and the "imagenet" cache lookup."""

import time

import numpy as np
import pytest
import torch

from kerastorch.applications import Xception
from kerastorch.applications import xception_weights

SIZE = 96


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """A Keras Xception (no top, avg pooling) with random BatchNorm statistics, saved both ways."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    model = keras.applications.Xception(weights=None, include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg")
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    folder = tmp_path_factory.mktemp("keras")
    model.save_weights(folder / "xception.weights.h5")
    with h5py.File(folder / "xception_legacy.h5", "w") as f:  # the format of Keras's ImageNet download
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    x = rng.uniform(-1, 1, (2, SIZE, SIZE, 3)).astype("float32")
    return folder, x, model.predict(x, verbose=0)


@pytest.fixture(scope="module")
def timm_state():
    """A timm legacy_xception state dict with non-trivial BatchNorm statistics."""
    import timm

    model = timm.create_model("legacy_xception", num_classes=1000)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0, 0.1, generator=generator)
                module.eps = 1e-3  # Keras's epsilon, so the reference below is comparable
    return model.eval()


def test_keras_weight_files_load_and_outputs_match(keras_files):
    """Keras 3's `.weights.h5` and the legacy `.h5` layout (Keras's ImageNet files) both load."""
    folder, x, expected = keras_files
    model = Xception(weights=str(folder / "xception.weights.h5"), include_top=False, input_shape=(SIZE, SIZE, 3),
                     pooling="avg")
    with torch.no_grad():
        np.testing.assert_allclose(model(torch.from_numpy(x)).numpy(), expected, atol=1e-4)
        for weight in model.weights:
            weight.zero_()
        xception_weights.load_xception_weights(model, str(folder / "xception_legacy.h5"))
        np.testing.assert_allclose(model(torch.from_numpy(x)).numpy(), expected, atol=1e-4)


def test_timm_pth_and_safetensors_load_with_every_tensor_mapped(timm_state, tmp_path):
    from safetensors.torch import save_file

    state = timm_state.state_dict()
    torch.save(state, tmp_path / "xception.pth")
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "xception.safetensors")
    model = Xception(weights=str(tmp_path / "xception.pth"), input_shape=(SIZE, SIZE, 3), classifier_activation=None)
    arrays = xception_weights.timm_to_keras(model, state, "in-memory")  # raises on any missing/extra tensor
    assert sorted(arrays) == sorted(model._keras_weight_order)
    assert sum(sum(a.size for a in v) for v in arrays.values()) == model.count_params()
    mapped_prefixes = set(xception_weights.timm_names().values())
    assert {k.rsplit(".", 1)[0].removesuffix(".conv1").removesuffix(".pointwise") for k in state} == mapped_prefixes
    x = torch.randn(2, SIZE, SIZE, 3)
    with torch.no_grad():
        from_pth = model(x)
        # The same weights in timm; only the pooling padding at even sizes differs from Keras's "same".
        torch.testing.assert_close(from_pth, timm_state(x.permute(0, 3, 1, 2)), atol=5e-2, rtol=0)
        for weight in model.weights:
            weight.zero_()
        xception_weights.load_xception_weights(model, str(tmp_path / "xception.safetensors"))
        torch.testing.assert_close(model(x), from_pth, atol=0, rtol=0)


def test_timm_checkpoint_with_missing_or_extra_tensors_is_refused(timm_state, tmp_path):
    state = dict(timm_state.state_dict())
    model = Xception(weights=None, include_top=False, input_shape=(SIZE, SIZE, 3))
    before = [w.clone() for w in model.weights[:3]]
    broken = dict(state)
    del broken["block4.rep.2.running_var"]
    torch.save(broken, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match="lacks 1 tensors"):
        xception_weights.load_xception_weights(model, str(tmp_path / "missing.pth"))
    extra = dict(state, **{"head.extra.weight": torch.zeros(3)})
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(ValueError, match="no place in the model"):
        xception_weights.load_xception_weights(model, str(tmp_path / "extra.pth"))
    wrong = dict(state, **{"conv1.weight": torch.zeros(32, 3, 5, 5)})
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(ValueError, match="block1_conv1"):
        xception_weights.load_xception_weights(model, str(tmp_path / "wrong.pth"))
    assert all(torch.equal(a, b) for a, b in zip(before, model.weights[:3]))  # a failed load changes nothing


def test_keras_file_for_a_different_head_is_refused(keras_files):
    folder, _, _ = keras_files
    with pytest.raises(ValueError, match="layers/dense"):
        Xception(weights=str(folder / "xception.weights.h5"), input_shape=(SIZE, SIZE, 3), classes=10)


def test_imagenet_offline_without_cache_fails_fast_naming_file_and_cache(tmp_path, monkeypatch):
    import timm  # noqa: F401  (imports are not what is timed)

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("KERASTORCH_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ValueError) as error:
        Xception(include_top=False)
    assert time.perf_counter() - start < 1.0
    message = str(error.value)
    assert "xception_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(tmp_path / "keras" / "models") in message


def test_imagenet_reuses_a_cached_timm_checkpoint(timm_state, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("KERASTORCH_OFFLINE", "1")
    cached = tmp_path / "torch" / "hub" / "checkpoints" / xception_weights.TIMM_FILE
    cached.parent.mkdir(parents=True)
    torch.save(timm_state.state_dict(), cached)
    model = Xception(include_top=False, input_shape=(SIZE, SIZE, 3))
    expected = timm_state.conv1.weight.detach().permute(2, 3, 1, 0).numpy()
    np.testing.assert_array_equal(model.get_layer("block1_conv1").get_weights()[0], expected)
