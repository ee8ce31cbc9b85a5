"""Regularizers, constraints and `add_loss`/`losses`, differential against Keras 3.

One harness builds the same model in both libraries, copies Keras's weights into kerastorch and
compares `model.losses` term by term, the evaluated loss, and (for constraints) the weights after
a few SGD steps.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch import constraints as C
from kerastorch import regularizers as R
from kerastorch.constraints import apply_constraints, constrained_weights


def _numpy(value):
    return np.asarray(keras.ops.convert_to_numpy(value)) if not isinstance(value, torch.Tensor) else \
        value.detach().cpu().numpy()


def _pair(build, x):
    """The same model from `build(lib)` in both libraries, kerastorch holding Keras's weights."""
    k_model, t_model = build(keras), build(kt)
    k_model(x)
    t_model(torch.as_tensor(x))
    t_model.set_weights(k_model.get_weights())
    return k_model, t_model


def _losses(model, x, lib):
    model(x if lib is keras else torch.as_tensor(x))
    return [float(_numpy(term)) for term in model.losses]


# ------------------------------------------------------------------------------ the table

def _dense(lib, **kwargs):
    return lib.Sequential([lib.Input((6,)), lib.layers.Dense(4, **kwargs)])


def _conv(lib, **kwargs):
    return lib.Sequential([lib.Input((7, 7, 3)), lib.layers.Conv2D(4, 3, **kwargs)])


ROWS = {
    "dense_l1_kernel": (lambda lib: _dense(lib, kernel_regularizer=lib.regularizers.L1(0.03)), (5, 6)),
    "dense_l2_bias_string": (lambda lib: _dense(lib, bias_regularizer="l2", bias_initializer="ones"), (5, 6)),
    "dense_l1l2_activity": (
        lambda lib: _dense(lib, kernel_regularizer=lib.regularizers.L1L2(0.01, 0.02),
                           activity_regularizer=lib.regularizers.L2(0.05)), (5, 6)),
    "dense_orthogonal_rows": (
        lambda lib: _dense(lib, kernel_regularizer=lib.regularizers.OrthogonalRegularizer(0.1)), (3, 6)),
    "dense_orthogonal_columns": (
        lambda lib: _dense(lib, kernel_regularizer=lib.regularizers.OrthogonalRegularizer(0.2, "columns")), (3, 6)),
    "conv_kernel_and_activity": (
        lambda lib: _conv(lib, kernel_regularizer="l1", activity_regularizer="l2"), (2, 7, 7, 3)),
    "depthwise": (lambda lib: lib.Sequential([
        lib.Input((6, 6, 2)),
        lib.layers.DepthwiseConv2D(3, depthwise_regularizer=lib.regularizers.L2(0.1), bias_regularizer="l1",
                                   bias_initializer="ones")]), (2, 6, 6, 2)),
    "separable": (lambda lib: lib.Sequential([
        lib.Input((6, 6, 2)),
        lib.layers.SeparableConv2D(3, 3, depthwise_regularizer="l2", pointwise_regularizer=lib.regularizers.L1(0.2))]),
        (2, 6, 6, 2)),
    "embedding": (lambda lib: lib.Sequential([
        lib.Input((5,), dtype="int32"), lib.layers.Embedding(10, 3, embeddings_regularizer="l2")]), None),
    "batchnorm_gamma_beta": (lambda lib: lib.Sequential([
        lib.Input((4,)), lib.layers.BatchNormalization(gamma_regularizer="l2", beta_regularizer="l1",
                                                       beta_initializer="ones")]), (3, 4)),
    "layernorm_gamma": (lambda lib: lib.Sequential([
        lib.Input((4,)), lib.layers.LayerNormalization(gamma_regularizer=lib.regularizers.L2(0.3))]), (3, 4)),
    "functional_shared_activity": (lambda lib: _shared_functional(lib), (4, 5)),
}


def _shared_functional(lib):
    inputs = lib.Input((5,))
    dense = lib.layers.Dense(5, activity_regularizer="l1", kernel_regularizer="l2")
    outputs = dense(dense(inputs))  # a shared layer: both calls add an activity term
    return lib.Model(inputs, lib.layers.Dense(2, bias_regularizer="l2")(outputs))


@pytest.mark.parametrize("row", sorted(ROWS))
def test_losses_equal_keras(row):
    build, shape = ROWS[row]
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, (2, 5)).astype("int32") if shape is None else rng.normal(size=shape).astype("float32")
    k_model, t_model = _pair(build, x)
    expected, got = _losses(k_model, x, keras), _losses(t_model, x, kt)
    assert len(got) == len(expected) > 0
    np.testing.assert_allclose(sorted(got), sorted(expected), rtol=2e-5, atol=1e-7)
    assert _losses(t_model, x, kt) == pytest.approx(got)  # recomputed, not accumulated, on the next call


def test_evaluated_loss_includes_penalties_like_keras():
    build = ROWS["dense_l1l2_activity"][0]
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 6)).astype("float32"), rng.normal(size=(8, 4)).astype("float32")
    k_model, t_model = _pair(build, x)
    k_model.compile(loss="mse")
    t_model.compile(loss="mse")
    expected = k_model.evaluate(x, y, batch_size=8, verbose=0)
    got = t_model.evaluate(x, y, batch_size=8, verbose=0)
    with torch.no_grad():
        plain = float(torch.nn.functional.mse_loss(t_model(torch.as_tensor(x)), torch.as_tensor(y)))
    assert got == pytest.approx(expected, rel=1e-5)
    assert got > plain + 1e-3  # the penalties are really in it


CONSTRAINT_ROWS = {
    "non_neg": lambda lib: dict(kernel_constraint="non_neg"),
    "max_norm": lambda lib: dict(kernel_constraint=lib.constraints.MaxNorm(0.5), bias_constraint="max_norm"),
    "unit_norm_axis1": lambda lib: dict(kernel_constraint=lib.constraints.UnitNorm(axis=1)),
    "min_max_norm": lambda lib: dict(kernel_constraint=lib.constraints.MinMaxNorm(0.5, 0.8, rate=0.7)),
}


@pytest.mark.parametrize("row", sorted(CONSTRAINT_ROWS))
def test_constraints_after_fit_steps_equal_keras(row):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(16, 6)).astype("float32"), rng.normal(size=(16, 3)).astype("float32")

    def build(lib):
        return lib.Sequential([lib.Input((6,)), lib.layers.Dense(3, **CONSTRAINT_ROWS[row](lib))])

    k_model, t_model = _pair(build, x)
    for model, lib in ((k_model, keras), (t_model, kt)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for expected, got in zip(k_model.get_weights(), t_model.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_conv_constraint_sees_keras_axes():
    # MaxNorm(axis=[0, 1, 2]) bounds each filter of a (kh, kw, in, out) kernel, whatever the stored layout.
    layer = kt.layers.Conv2D(4, 3, kernel_constraint=C.MaxNorm(0.3, axis=[0, 1, 2]))
    layer(torch.ones(1, 5, 5, 2))
    apply_constraints(layer)
    kernel = layer.get_weights()[0]
    norms = np.sqrt((kernel ** 2).sum(axis=(0, 1, 2)))
    assert kernel.shape == (3, 3, 2, 4) and np.all(norms <= 0.3 + 1e-5) and norms.max() > 0.29
    reference = keras.constraints.MaxNorm(0.3, axis=[0, 1, 2])(keras.ops.convert_to_tensor(kernel * 10))
    layer.set_weights([kernel * 10, layer.get_weights()[1]])
    apply_constraints(layer)
    np.testing.assert_allclose(layer.get_weights()[0], _numpy(reference), rtol=1e-5, atol=1e-6)


def test_constrained_weights_lists_trainable_constrained_weights_only():
    model = kt.Sequential([kt.Input((3,)), kt.layers.Dense(2, kernel_constraint="non_neg"),
                           kt.layers.Dense(2, bias_constraint=C.MaxNorm(1.0))])
    pairs = constrained_weights(model)
    assert [weight is w for (weight, _), w in zip(pairs, [model.layers[0].kernel, model.layers[1].bias])] == [True] * 2
    model.layers[0].trainable = False
    assert [weight is model.layers[1].bias for weight, _ in constrained_weights(model)] == [True]
    assert constrained_weights(kt.Sequential([kt.Input((3,)), kt.layers.Dense(2)])) == []


# ------------------------------------------------------------------------------- add_loss

class ActivityRegularization(kt.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * torch.sum(inputs))
        return inputs


class KerasActivityRegularization(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * keras.ops.sum(inputs))
        return inputs


def test_add_loss_cleared_per_outermost_call_and_nested():
    class Outer(kt.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = ActivityRegularization(0.5)
            self.dense = kt.layers.Dense(2, kernel_regularizer=R.L2(1e-3))

        def call(self, inputs):
            return self.dense(self.inner(self.inner(inputs)))  # the inner layer runs twice per call

    layer = Outer()
    assert layer.losses == []
    x = torch.ones(2, 3)
    layer(x)
    first = [float(t.detach()) for t in layer.losses]
    layer(x)
    assert [float(t.detach()) for t in layer.losses] == pytest.approx(first)
    assert len(first) == 3 and first[0] == first[1] == pytest.approx(3.0)
    assert len(layer.inner.losses) == 2


def test_add_loss_model_equal_keras_and_trains_without_compiled_loss():
    def build(lib, reg):
        inputs = lib.Input((4,))
        hidden = lib.layers.Dense(3)(inputs)
        return lib.Model(inputs, reg(0.1)(hidden))

    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4)).astype("float32")
    k_model, t_model = build(keras, KerasActivityRegularization), build(kt, ActivityRegularization)
    k_model(x)
    t_model(torch.as_tensor(x))
    t_model.set_weights(k_model.get_weights())
    assert _losses(t_model, x, kt) == pytest.approx(_losses(k_model, x, keras), rel=1e-5)
    for model, lib in ((k_model, keras), (t_model, kt)):
        model.compile(optimizer=lib.optimizers.SGD(0.01))  # the endpoint pattern: no compiled loss
        model.fit(x, batch_size=6, epochs=2, verbose=0)
    for expected, got in zip(k_model.get_weights(), t_model.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_add_loss_rejects_non_tensors():
    layer = ActivityRegularization()
    with pytest.raises(ValueError, match="add_loss"):
        layer.add_loss(1.0)
    assert layer.losses == []


def test_frozen_weights_are_not_penalized():
    model = kt.Sequential([kt.Input((3,)), kt.layers.Dense(2, kernel_regularizer="l2")])
    assert len(model.losses) == 1
    model.trainable = False
    assert model.losses == []


@pytest.mark.slow
def test_compile_fullgraph_with_regularizers_and_variables():
    # Keras variables (parameter and buffer kinds), an activity regularizer's hooks and a weight penalty.
    model = kt.Sequential([kt.Input((5,)), kt.layers.Dense(4, activity_regularizer="l2", kernel_regularizer="l1"),
                           kt.layers.BatchNormalization(), kt.layers.Dense(2)])
    x = torch.randn(3, 5)
    eager = model(x)
    expected = [float(t.detach()) for t in model.losses]
    compiled = torch.compile(model, fullgraph=True)
    torch.testing.assert_close(compiled(x), eager)
    assert [float(t.detach()) for t in model.losses] == pytest.approx(expected)
    compiled(x)
    assert len(model.losses) == 2


# ------------------------------------------------------------------ identifiers and configs

@pytest.mark.parametrize("module, name, cls, config", [
    (R, "l1", R.L1, {"l1": 0.01}),
    (R, "l2", R.L2, {"l2": 0.01}),
    (R, "l1_l2", R.L1L2, {"l1": 0.01, "l2": 0.01}),
    (R, "orthogonal_regularizer", R.OrthogonalRegularizer, {"factor": 0.01, "mode": "rows"}),
    (C, "non_neg", C.NonNeg, {}),
    (C, "max_norm", C.MaxNorm, {"max_value": 2, "axis": 0}),
    (C, "unit_norm", C.UnitNorm, {"axis": 0}),
    (C, "min_max_norm", C.MinMaxNorm, {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
])
def test_get_serialize_deserialize(module, name, cls, config):
    obj = module.get(name)
    assert type(obj) is cls and obj.get_config() == config
    serialized = module.serialize(obj)
    keras_module = keras.regularizers if module is R else keras.constraints
    keras_obj = keras_module.deserialize(serialized)  # our config loads in Keras
    assert type(keras_obj).__name__ == cls.__name__
    assert {k: pytest.approx(v) if isinstance(v, float) else v for k, v in keras_obj.get_config().items()} == config
    back = module.deserialize(keras_module.serialize(keras_obj))  # Keras's config loads here
    assert type(back) is cls and {k: pytest.approx(v) if isinstance(v, float) else v
                                  for k, v in back.get_config().items()} == config
    assert module.get(cls) is not None and module.get(None) is None


def test_callables_and_bad_identifiers():
    def penalty(w):
        return 0.5 * w.sum()

    layer = kt.layers.Dense(2, kernel_regularizer=penalty, kernel_initializer="ones")
    layer(torch.ones(1, 3))
    assert [float(t.detach()) for t in layer.losses] == [3.0]
    with pytest.raises(ValueError, match="l3"):
        R.get("l3")
    with pytest.raises(ValueError, match="non-negative"):
        R.L2(-1.0)
    with pytest.raises(ValueError, match="mode"):
        R.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank-2"):
        R.OrthogonalRegularizer()(torch.ones(2, 2, 2))
    with pytest.raises(ValueError, match="unit_norms"):
        C.get("unit_norms")


def test_regularizers_equal_keras_on_tensors():
    x = np.random.default_rng(4).normal(size=(5, 3)).astype("float32")
    for ours, theirs in [(R.L1(0.3), keras.regularizers.L1(0.3)), (R.L2(0.2), keras.regularizers.L2(0.2)),
                         (R.L1L2(0.1, 0.4), keras.regularizers.L1L2(0.1, 0.4)),
                         (R.OrthogonalRegularizer(0.5, "columns"), keras.regularizers.OrthogonalRegularizer(0.5, "columns"))]:
        # A Keras tensor: Keras's numpy path of OrthogonalRegularizer normalizes columns on the wrong axis.
        assert float(ours(torch.as_tensor(x))) == pytest.approx(
            float(_numpy(theirs(keras.ops.convert_to_tensor(x)))), rel=1e-5)
    for ours, theirs in [(C.MaxNorm(1.0, axis=1), keras.constraints.MaxNorm(1.0, axis=1)), (C.NonNeg(), keras.constraints.NonNeg()),
                         (C.UnitNorm(), keras.constraints.UnitNorm()),
                         (C.MinMaxNorm(0.2, 0.9, 0.5), keras.constraints.MinMaxNorm(0.2, 0.9, 0.5))]:
        np.testing.assert_allclose(ours(torch.as_tensor(x)).numpy(), _numpy(theirs(x)), rtol=1e-5, atol=1e-7)
