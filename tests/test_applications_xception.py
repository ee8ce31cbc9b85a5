"""Xception: Keras's architecture, names, parameter counts and outputs; feature extraction; freezing."""

import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.applications import Xception, xception

SIZE = 96


@pytest.fixture(scope="module")
def keras():
    import keras

    return keras


@pytest.fixture(scope="module")
def keras_top(keras):
    """Keras's Xception with a 10-class top at the smallest size (building it takes seconds)."""
    return keras.applications.Xception(weights=None, input_shape=(71, 71, 3), classes=10, classifier_activation=None)


@pytest.fixture(scope="module")
def base():
    return Xception(weights=None, include_top=False, input_shape=(SIZE, SIZE, 3))


def test_parameter_counts_match_keras():
    model = Xception(weights=None)  # with the top: (None, 299, 299, 3)
    assert model.count_params() == 22_910_480
    assert sum(w.numel() for w in model.non_trainable_weights) == 54_528
    assert tuple(model.inputs[0].shape) == (None, 299, 299, 3)
    assert tuple(model.outputs[0].shape) == (None, 1000)
    assert model.name == "xception"


def test_no_top_counts_names_and_shapes(base, keras_top):
    assert base.count_params() == 20_861_480
    assert sum(w.numel() for w in base.trainable_weights) == 20_861_480 - 54_528
    named = [l.name for l in keras_top.layers if l.name.startswith("block")]
    ours = [l.name for l in base.layers if l.name.startswith("block")]
    assert ours == named  # same named layers, same (Keras) order
    assert base.layers[-1].name == "block14_sepconv2_act"
    assert tuple(base.outputs[0].shape) == (None, 3, 3, 2048)
    assert base.get_layer("block1_conv1_bn").epsilon == 1e-3


def test_any_size_from_71_without_top_and_input_tensor():
    inputs = kt.Input((71, 71, 3))
    small = Xception(weights=None, include_top=False, input_tensor=inputs, pooling="max")
    assert small.inputs[0] is inputs
    assert tuple(small.outputs[0].shape) == (None, 2048)
    with pytest.raises(ValueError, match="at least 71"):
        Xception(weights=None, include_top=False, input_shape=(70, 70, 3))


def test_matches_keras_with_top_and_custom_classes(keras_top):
    """Same weights in both (copied with get_weights/set_weights) give the same logits."""
    shape = (71, 71, 3)
    reference = keras_top
    ours = Xception(weights=None, input_shape=shape, classes=10, classifier_activation=None)
    assert ours.count_params() == reference.count_params()
    ours.set_weights(reference.get_weights())
    x = np.random.default_rng(0).uniform(-1, 1, (2, *shape)).astype("float32")
    expected = reference.predict(x, verbose=0)
    got = ours(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_feature_extraction_by_layer_name(base):
    features = kt.Model(base.inputs, base.get_layer("block13_sepconv2_bn").output)
    out = features(torch.zeros(1, SIZE, SIZE, 3))
    assert tuple(out.shape) == (1, 6, 6, 1024)
    assert tuple(base.get_layer("block13_sepconv2_bn").output.shape) == (None, 6, 6, 1024)


def test_channels_last_input_is_never_copied(base):
    """NHWC reaches every convolution as a view: no copy, clone or layout change runs in the forward."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class RecordOps(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.names = set()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.names.add(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    x = torch.randn(1, SIZE, SIZE, 3)
    with torch.no_grad(), RecordOps() as recorded:
        out = base(x)
    assert out.shape == (1, 3, 3, 2048) and out.is_contiguous()
    assert "convolution" in recorded.names
    assert not recorded.names & {"clone", "copy_", "_to_copy", "contiguous"}, recorded.names


def test_argument_errors():
    with pytest.raises(ValueError, match="classes=1000"):
        Xception(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="pooling"):
        Xception(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="existing file"):
        Xception(weights="/nonexistent/xception.h5")
    with pytest.raises(TypeError, match="input_tensor"):
        Xception(weights=None, input_tensor=torch.zeros(1, 299, 299, 3))


def test_preprocess_input_scales_to_minus_one_one():
    images = np.array([[[[0, 127.5, 255]]]], dtype="float32")
    np.testing.assert_allclose(xception.preprocess_input(images), [[[[-1.0, 0.0, 1.0]]]])
    tensor = xception.preprocess_input(torch.tensor([[[[0, 255, 255]]]], dtype=torch.uint8))
    assert tensor.dtype == torch.float32 and tensor.tolist() == [[[[-1.0, 1.0, 1.0]]]]


def test_decode_predictions_names_the_top_classes():
    preds = np.zeros((1, 1000), dtype="float32")
    preds[0, 1], preds[0, 207] = 0.7, 0.2
    top = xception.decode_predictions(preds, top=2)[0]
    assert [t[0] for t in top] == ["n01443537", "n02099601"]
    assert top[0][1] == "goldfish" and top[0][2] == pytest.approx(0.7)


def test_frozen_base_blueprint_trains_only_the_head_and_keeps_batchnorm_statistics():
    """The guide's blueprint: a frozen pooling="avg" base, a fresh Dense on top, one step of fit."""
    base = Xception(weights=None, include_top=False, input_shape=(71, 71, 3), pooling="avg")
    base.trainable = False
    model = kt.Sequential() | base | kt.layers.Dense(1000, activation="softmax")
    x = np.random.default_rng(0).uniform(-1, 1, (4, 71, 71, 3)).astype("float32")
    y = np.array([0, 1, 2, 3])
    model(torch.from_numpy(x[:1]))
    trainable = sum(w.numel() for w in model.trainable_weights)
    assert trainable == 2_049_000
    statistics = [w.detach().clone() for w in base.non_trainable_weights]
    kernel_before = model.layers[-1].kernel.detach().clone()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)

    def optimized():
        return sum(p.numel() for group in model.optimizer.param_groups for p in group["params"])

    assert optimized() == 2_049_000  # the optimizer holds only the trainable head
    for before, after in zip(statistics, base.non_trainable_weights):
        assert torch.equal(before, after)
    assert not torch.equal(kernel_before, model.layers[-1].kernel)

    # Phase 2: unfreeze the top blocks; re-compiling hands their weights to the optimizer.
    kt.unfreeze_weights(base, from_="block13_sepconv1")
    top, bottom = base.get_layer("block14_sepconv2").pointwise_kernel, base.get_layer("block1_conv1").kernel
    top_before, bottom_before = top.detach().clone(), bottom.detach().clone()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert optimized() == sum(w.numel() for w in model.trainable_weights) > 2_049_000
    assert not torch.equal(top_before, top) and torch.equal(bottom_before, bottom)


def test_unfreezing_top_blocks_after_freezing(base):
    kt.freeze_weights(base)
    assert not base.trainable_weights
    kt.unfreeze_weights(base, from_="block13_sepconv1")
    assert base.get_layer("block13_sepconv1").trainable
    assert not base.get_layer("block12_sepconv3").trainable
    trainable = {id(w) for w in base.trainable_weights}
    assert id(base.get_layer("block14_sepconv2").pointwise_kernel) in trainable
    assert id(base.get_layer("block1_conv1").kernel) not in trainable
    kt.unfreeze_weights(base)


@pytest.mark.cuda
def test_cuda_bf16_autocast_keeps_channels_last():
    model = Xception(weights=None, include_top=False, input_shape=(SIZE, SIZE, 3), pooling="avg").cuda()
    x = torch.randn(2, SIZE, SIZE, 3, device="cuda")
    with torch.no_grad():
        expected = model(x)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            features = kt.Model(model.inputs, model.get_layer("block14_sepconv2_act").output)(x)
            pooled = model(x)
    assert features.shape == (2, 3, 3, 2048) and features.is_contiguous()  # NHWC out, no copies
    assert pooled.dtype == torch.bfloat16
    # Random-weight features are ~1e-5, so an absolute tolerance would pass anything: compare relatively.
    error = (pooled.float() - expected).norm() / expected.norm()
    assert error < 0.05, f"bf16 features differ from float32 by {error:.3f} (relative)"
