"""BatchNormalization and LayerNormalization against real Keras 3 (torch backend)."""

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt

ATOL = 1e-5


def to_numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()


def random_weights(reference, rng):
    """Random arrays shaped like `reference`'s weights; variances kept positive."""
    arrays = [rng.normal(size=w.shape).astype("float32") for w in reference.get_weights()]
    for w, array in zip(reference.weights, arrays):
        if "variance" in w.path:
            array[...] = np.abs(array) + 0.5
    return arrays


def paired_batchnorm(shape, rng, **kwargs):
    """A Keras and a kerastorch BatchNormalization built for `shape` with the same random weights."""
    ours = kt.layers.BatchNormalization(**kwargs)
    ours(torch.zeros(shape))
    theirs = keras.layers.BatchNormalization(**kwargs)
    theirs.build(shape)
    weights = random_weights(theirs, rng)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


BN_CASES = [((6, 3), {}), ((2, 5, 3), {}), ((2, 4, 4, 6), {}), ((2, 6, 4, 4), {"axis": 1}),
            ((2, 3, 4, 5, 2), {}), ((3, 4), {"center": False}), ((3, 4), {"scale": False, "epsilon": 0.1})]


@pytest.mark.parametrize("shape,kwargs", BN_CASES)
def test_batchnorm_inference_matches_keras(shape, kwargs):
    rng = np.random.default_rng(0)
    ours, theirs = paired_batchnorm(shape, rng, **kwargs)
    x = (rng.normal(size=shape) * 3 + 1).astype("float32")
    expected = to_numpy(theirs(x, training=False))
    np.testing.assert_allclose(to_numpy(ours(torch.from_numpy(x))), expected, atol=ATOL)
    assert ours.count_params() == theirs.count_params()
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]


@pytest.mark.parametrize("shape,kwargs", BN_CASES)
def test_batchnorm_training_step_matches_keras(shape, kwargs):
    # momentum 0.5 makes the moving statistics sensitive to the batch statistics' exact definition.
    rng = np.random.default_rng(1)
    ours, theirs = paired_batchnorm(shape, rng, momentum=0.5, **kwargs)
    x = (rng.normal(size=shape) * 3 + 1).astype("float32")
    expected = to_numpy(theirs(x, training=True))
    np.testing.assert_allclose(to_numpy(ours(torch.from_numpy(x), training=True)), expected, atol=ATOL)
    for got, want in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(got, want, atol=ATOL)


def test_moving_variance_follows_the_biased_batch_variance():
    layer = kt.layers.BatchNormalization(momentum=0.0)  # keep only the batch statistics
    x = torch.randn(5, 3) * 2 + 1
    layer(x, training=True)
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(0).numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), x.var(0, unbiased=False).numpy(), atol=1e-5)


def test_batchnorm_train_mode_comes_from_module_mode():
    layer = kt.layers.BatchNormalization(momentum=0.0)
    x = torch.randn(8, 3) * 4 + 2
    layer(x)  # eval by default: inference, statistics untouched
    assert torch.equal(layer.moving_mean, torch.zeros(3)) and torch.equal(layer.moving_variance, torch.ones(3))
    layer.train()
    out = layer(x)
    np.testing.assert_allclose(out.detach().mean(0).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(layer.moving_mean.numpy(), x.mean(0).numpy(), atol=1e-5)


def test_frozen_batchnorm_runs_in_inference_under_train():
    layer = kt.layers.BatchNormalization()
    x = torch.randn(8, 3) * 4 + 2
    layer(x)
    layer.trainable = False
    layer.train()
    before = [w.copy() for w in layer.get_weights()]
    out = layer(x)
    expected = (x - 0.0) / torch.sqrt(torch.tensor(1.0 + 1e-3))
    torch.testing.assert_close(out.detach(), expected)
    for b, a in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    # explicit training=True is also ignored by a frozen layer, as in Keras
    torch.testing.assert_close(layer(x, training=True).detach(), expected)


def test_batchnorm_weights_layout_and_kinds():
    layer = kt.layers.BatchNormalization()
    assert layer.weights == [] and not layer.built
    layer(torch.zeros(2, 4, 4, 5))
    assert [tuple(w.shape) for w in layer.weights] == [(5,)] * 4
    names = [n for n, _ in layer.named_parameters()] + [n for n, _ in layer.named_buffers()]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert all(isinstance(w, torch.nn.Parameter) for w in layer.trainable_weights)
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    assert all(b.dtype == torch.float32 for b in layer.buffers())
    assert layer.count_params() == 20
    assert sorted(layer.state_dict()) == ["beta", "gamma", "moving_mean", "moving_variance"]


def test_batchnorm_channels_last_is_zero_copy_and_returns_contiguous_nhwc():
    layer = kt.layers.BatchNormalization()
    x = torch.randn(2, 5, 5, 8)
    layer(x)
    for training in (False, True):
        out = layer(x, training=training)
        assert out.shape == x.shape and out.is_contiguous()


def test_batchnorm_gradients_match_keras():
    rng = np.random.default_rng(2)
    ours, theirs = paired_batchnorm((6, 4), rng)
    x = rng.normal(size=(6, 4)).astype("float32")
    x_ours = torch.tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    upstream = torch.from_numpy(rng.normal(size=(6, 4)).astype("float32"))
    (ours(x_ours, training=True) * upstream).sum().backward()
    (theirs(x_theirs, training=True) * upstream).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), atol=1e-4)
    gamma_grad = theirs.gamma.value.grad
    np.testing.assert_allclose(ours.gamma.grad.numpy(), gamma_grad.cpu().numpy(), atol=1e-4)


def test_batchnorm_symbolic_build_and_sequential_counts():
    inputs = kt.Input((8, 8, 3))
    out = kt.layers.BatchNormalization()(inputs)
    assert out.shape == (None, 8, 8, 3)
    model = kt.Sequential([kt.Input((16,)), kt.layers.Dense(4), kt.layers.BatchNormalization()])
    reference = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])
    assert model.count_params() == reference.count_params() == 68 + 16


def test_batchnorm_wrong_channel_count_is_a_clear_error():
    layer = kt.layers.BatchNormalization(name="bn_shape")
    layer(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"bn_shape.*axis -1.*value 3.*\(2, 4\)"):
        layer(torch.zeros(2, 4))


@pytest.mark.parametrize("kwargs,error", [({"axis": 5}, ValueError), ({"axis": 1.5}, TypeError),
                                          ({"momentum": 2.0}, ValueError), ({"renorm": True}, ValueError), ({"synchronized": True}, ValueError),
                                          ({"epsilon": 0}, ValueError)])
def test_batchnorm_bad_arguments(kwargs, error):
    with pytest.raises(error, match="BatchNormalization|bn"):
        layer = kt.layers.BatchNormalization(name="bn", **kwargs)
        layer(torch.zeros(2, 3))


@pytest.mark.parametrize("shape,kwargs", [
    ((3, 7), {}), ((2, 3, 4, 5), {}), ((2, 3, 4, 5), {"axis": [-2, -1]}), ((2, 3, 4, 5), {"axis": [1, 2, 3]}),
    ((2, 3, 4), {"center": False}), ((2, 3, 4), {"scale": False, "epsilon": 1e-5}),
])
def test_layernorm_matches_keras(shape, kwargs):
    rng = np.random.default_rng(3)
    ours = kt.layers.LayerNormalization(**kwargs)
    ours(torch.zeros(shape))
    theirs = keras.layers.LayerNormalization(**kwargs)
    theirs.build(shape)
    weights = random_weights(theirs, rng)
    theirs.set_weights(weights)
    ours.set_weights(weights)
    x = (rng.normal(size=shape) * 2 + 0.5).astype("float32")
    np.testing.assert_allclose(to_numpy(ours(torch.from_numpy(x))), to_numpy(theirs(x)), atol=ATOL)
    assert ours.count_params() == theirs.count_params()


@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
def test_layernorm_rms_scaling_matches_keras():
    rng = np.random.default_rng(4)
    ours = kt.layers.LayerNormalization(rms_scaling=True)
    theirs = keras.layers.LayerNormalization(rms_scaling=True)
    x = (rng.normal(size=(3, 4, 6)) + 1).astype("float32")
    ours(torch.from_numpy(x))
    theirs.build(x.shape)
    weights = random_weights(theirs, rng)
    assert len(weights) == 1  # gamma only
    theirs.set_weights(weights)
    ours.set_weights(weights)
    np.testing.assert_allclose(to_numpy(ours(torch.from_numpy(x))), to_numpy(theirs(x)), atol=ATOL)


@pytest.mark.parametrize("axis", [1, [1, 3], [2, 1]])
def test_layernorm_on_non_trailing_axes(axis):
    # Keras's torch fast path mishandles these axes, so the reference is written out in numpy.
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    layer = kt.layers.LayerNormalization(axis=axis, epsilon=1e-3)
    layer(torch.from_numpy(x))
    axes = tuple(sorted(axis)) if isinstance(axis, list) else (axis,)
    gamma = rng.normal(size=[x.shape[a] for a in axes]).astype("float32")
    beta = rng.normal(size=gamma.shape).astype("float32")
    layer.set_weights([gamma, beta])
    broadcast = [x.shape[d] if d in axes else 1 for d in range(4)]
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma.reshape(broadcast) + beta.reshape(broadcast)
    np.testing.assert_allclose(to_numpy(layer(torch.from_numpy(x))), expected, atol=ATOL)


def test_layernorm_errors_name_the_layer():
    layer = kt.layers.LayerNormalization(name="ln_check")
    layer(torch.zeros(2, 6))
    with pytest.raises(ValueError, match=r"ln_check.*value 6.*\(2, 5\)"):
        layer(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="ln_axis.*out of range"):
        kt.layers.LayerNormalization(axis=3, name="ln_axis")(torch.zeros(2, 6))
    with pytest.raises(TypeError, match="LayerNormalization"):
        kt.layers.LayerNormalization(axis="last")


@pytest.mark.parametrize("cls", ["BatchNormalization", "LayerNormalization"])
def test_config_round_trip(cls):
    layer = getattr(kt.layers, cls)(epsilon=0.01, center=False, name=f"{cls.lower()}_cfg")
    config = layer.get_config()
    clone = getattr(kt.layers, cls).from_config(config)
    assert clone.get_config() == config
    x = torch.randn(4, 3)
    layer(x)
    clone(x)
    clone.set_weights(layer.get_weights())
    torch.testing.assert_close(clone(x), layer(x))


def test_batchnorm_traces_with_torch_compile_fullgraph():
    # The "eager" backend checks that dynamo captures the whole forward (no graph breaks) cheaply.
    layer, reference = kt.layers.BatchNormalization(momentum=0.5), kt.layers.BatchNormalization(momentum=0.5)
    x = torch.randn(4, 3, 3, 5) * 2 + 1
    layer(x)
    reference(x)
    compiled = torch.compile(layer, fullgraph=True, backend="eager")
    layer.train()
    reference.train()
    torch.testing.assert_close(compiled(x), reference(x))
    torch.testing.assert_close(layer.moving_variance, reference.moving_variance)
    norm = kt.layers.LayerNormalization(axis=[1, 3])
    norm(x)
    torch.testing.assert_close(torch.compile(norm, fullgraph=True, backend="eager")(x), norm(x))
