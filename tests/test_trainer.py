"""compile / fit / evaluate / predict: Keras semantics, data formats, modes and no per-step syncs."""

import sys

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils.data import DataLoader, TensorDataset

import kerastorch as kt
from kerastorch.datasets import digits


def _digits(n=None):
    (x, y), (xt, yt) = digits.load_data()
    x = x.reshape(-1, 64).astype("float32") / 16
    xt = xt.reshape(-1, 64).astype("float32") / 16
    return (x[:n], y[:n].astype("int64")), (xt, yt.astype("int64"))


def _blobs(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y


def _mlp(classes=2, activation=None):
    return kt.Sequential([kt.layers.Dense(16, activation="relu"), kt.layers.Dense(classes, activation=activation)])


# ------------------------------------------------------------------------------ learning


def test_learns_digits_with_validation_split_and_history():
    torch.manual_seed(0)
    (x, y), (xt, yt) = _digits()
    model = kt.Sequential([kt.Input((64,)), kt.layers.Dense(64, activation="relu"),
                           kt.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=kt.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=64, epochs=6, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 6 and all(isinstance(f, float) for f in v) for v in history.history.values())
    assert history.epoch == list(range(6)) and model.history is history
    assert history.history["val_accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(xt, yt, verbose=0)
    assert accuracy > 0.9 and loss == pytest.approx(model.evaluate(xt, yt, verbose=0, return_dict=True)["loss"])
    probs = model.predict(xt, batch_size=50, verbose=0)
    assert isinstance(probs, np.ndarray) and probs.shape == (len(xt), 10) and probs.dtype == np.float32
    assert (probs.argmax(1) == yt).mean() == pytest.approx(accuracy, abs=1e-6)


def test_fit_matches_keras_with_validation_split_class_and_sample_weights():
    keras = pytest.importorskip("keras")
    (x, y), _ = _digits(300)
    theirs = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                               keras.layers.Dense(10, activation="softmax")])
    ours = kt.Sequential([kt.Input((64,)), kt.layers.Dense(16, activation="relu"),
                          kt.layers.Dense(10, activation="softmax")])
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"],
                   weighted_metrics=["accuracy"])
    ours.compile(kt.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"],
                 weighted_metrics=["accuracy"])
    sample_weight = np.linspace(0.5, 1.5, 300).astype("float32")
    runs = [dict(class_weight={0: 2.0, 3: 0.5}, epochs=2), dict(sample_weight=sample_weight, epochs=1)]
    for kwargs in runs:  # validation_split takes the last 20% before shuffling, as in Keras
        expected = theirs.fit(x, y, batch_size=32, validation_split=0.2, shuffle=False, verbose=0, **kwargs).history
        got = ours.fit(x, y, batch_size=32, validation_split=0.2, shuffle=False, verbose=0, **kwargs).history
        assert set(got) == set(expected)
        for key in expected:
            np.testing.assert_allclose(got[key], expected[key], atol=1e-5, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), atol=1e-5)



def test_accuracy_string_resolves_like_keras():
    """"accuracy" picks binary / sparse / categorical from the shapes, as Keras does."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)  # fixed weights: no prediction within rounding of a threshold
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    labels = rng.integers(0, 3, size=40)
    cases = [  # (units, activation, loss, y, kerastorch metric class)
        (3, "softmax", "sparse_categorical_crossentropy", labels, "SparseCategoricalAccuracy"),
        (3, "softmax", "sparse_categorical_crossentropy", labels[:, None], "SparseCategoricalAccuracy"),
        (3, "softmax", "categorical_crossentropy", np.eye(3, dtype="float32")[labels], "CategoricalAccuracy"),
        (1, "sigmoid", "binary_crossentropy", (labels[:, None] > 0).astype("float32"), "BinaryAccuracy"),
        (1, "sigmoid", "binary_crossentropy", (labels > 0).astype("float32"), "BinaryAccuracy"),
    ]
    for units, activation, loss, y, kind in cases:
        theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(units, activation=activation)])
        ours = kt.Sequential([kt.Input((5,)), kt.layers.Dense(units, activation=activation)])
        ours.set_weights(theirs.get_weights())
        theirs.compile("sgd", loss, metrics=["accuracy", "acc"])
        ours.compile("sgd", loss, metrics=["accuracy", "acc"])
        expected = theirs.evaluate(x, y, verbose=0, return_dict=True)
        got = ours.evaluate(x, y, verbose=0, return_dict=True)
        assert got == pytest.approx(expected, abs=1e-6), (loss, y.shape)
        # Keras's layout: the loss tracker, then compile_metrics holding the resolved metrics
        assert [type(m).__name__ for m in ours.metrics] == ["LossTracker", "CompileMetrics"]
        assert [type(m).__name__ for m in ours.metrics[1].metrics] == [kind, kind]

    # Deliberate difference: with a from_logits binary loss the threshold is 0 (a probability of 0.5);
    # Keras keeps 0.5 on the logits, which misreads them.
    ours = kt.Sequential([kt.Input((5,)), kt.layers.Dense(1)])
    ours.compile("sgd", kt.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
    y = (labels > 0).astype("float32")
    logits = ours.predict(x, verbose=0)[:, 0]
    accuracy = ours.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(((logits > 0) == (y > 0.5)).mean())

def test_class_weight_changes_the_loss_as_keras_does():
    x, y = _blobs(64)
    model = _mlp(2, "softmax")
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.build((None, 8))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    plain = model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0).history["loss"][0]
    model.load_state_dict(state)
    weighted = model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0,
                         class_weight={1: 3.0}).history["loss"][0]
    model.load_state_dict(state)
    with torch.no_grad():
        probs = model(x)
        values = -torch.log(probs.clamp(1e-7, 1 - 1e-7))[torch.arange(64), y]
        weights = torch.where(y == 1, 3.0, 1.0)
    assert plain == pytest.approx(values.mean().item(), rel=1e-5)
    assert weighted == pytest.approx((values * weights).sum().item() / 64, rel=1e-5)
    with pytest.raises(ValueError, match="either class_weight or sample_weight"):
        model.fit(x, y, class_weight={1: 2.0}, sample_weight=np.ones(64), verbose=0)


# ------------------------------------------------------------------------------- data kinds


@pytest.mark.parametrize("kind", ["numpy", "tensor", "dataset", "dataloader", "generator"])
def test_fit_accepts_every_data_kind(kind):
    torch.manual_seed(0)
    x, y = _blobs(96)
    data = {
        "numpy": lambda: dict(x=x.numpy().astype("float64"), y=y.numpy()),
        "tensor": lambda: dict(x=x, y=y),
        "dataset": lambda: dict(x=TensorDataset(x, y)),
        "dataloader": lambda: dict(x=DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)),
        "generator": lambda: dict(x=((x[i:i + 32], y[i:i + 32]) for _ in range(3) for i in range(0, 96, 32)),
                                  steps_per_epoch=3),
    }[kind]()
    model = _mlp()
    model.compile(kt.optimizers.Adam(0.01), kt.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(**data, batch_size=None if kind in ("dataloader", "generator") else 32, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.predict(TensorDataset(x), verbose=0).shape == (96, 2)


def test_an_exhausted_generator_ends_training_with_a_warning():
    x, y = _blobs(64)
    model = _mlp()
    model.compile("adam", kt.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.warns(UserWarning, match="ran out in epoch 2"):
        history = model.fit(((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.raises(ValueError, match="produced no batches"):
        model.fit(iter([]), epochs=1, verbose=0)


def test_multi_input_multi_output_with_dict_losses_weights_and_metrics():
    class TwoHeads(kt.Model):
        def __init__(self):
            super().__init__()
            self.trunk = kt.layers.Dense(8, activation="relu")
            self.cls = kt.layers.Dense(3)
            self.reg = kt.layers.Dense(1)

        def call(self, inputs):
            h = self.trunk(torch.cat([inputs["a"], inputs["b"]], dim=-1))
            return {"cls": self.cls(h), "reg": self.reg(h)}

    torch.manual_seed(0)
    a, b = torch.randn(64, 3), torch.randn(64, 2)
    targets = {"cls": torch.randint(0, 3, (64,)), "reg": torch.randn(64, 1)}
    model = TwoHeads()
    model.compile("adam", loss={"cls": kt.losses.SparseCategoricalCrossentropy(from_logits=True), "reg": "mse"},
                  loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    history = model.fit({"a": a, "b": b}, targets, batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"}
    total = history.history["loss"][-1]
    assert total == pytest.approx(history.history["cls_loss"][-1] + 0.5 * history.history["reg_loss"][-1], rel=1e-5)
    out = model.predict({"a": a, "b": b}, batch_size=10, verbose=0)
    assert out["cls"].shape == (64, 3) and out["reg"].shape == (64, 1)
    logs = model.evaluate({"a": a, "b": b}, targets, verbose=0, return_dict=True)
    assert set(logs) == set(history.history)


def test_functional_multi_output_names_and_values_match_keras():
    keras = pytest.importorskip("keras")

    def build(lib):
        inputs = lib.Input((8,))
        hidden = lib.layers.Dense(16, activation="relu")(inputs)
        return lib.Model(inputs, [lib.layers.Dense(3, name="cls")(hidden), lib.layers.Dense(1, name="reg")(hidden)])

    theirs, ours = build(keras), build(kt)
    ours.set_weights(theirs.get_weights())
    for model, lib in ((theirs, keras), (ours, kt)):
        model.compile(lib.optimizers.SGD(0.1),
                      loss={"cls": lib.losses.SparseCategoricalCrossentropy(from_logits=True), "reg": "mse"},
                      loss_weights={"cls": 1.0, "reg": 0.3}, metrics={"cls": ["accuracy"], "reg": ["mae"]})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = [rng.integers(0, 3, 64), rng.normal(size=(64, 1)).astype("float32")]
    expected = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    got = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert sorted(got) == sorted(expected) == ["cls_accuracy", "cls_loss", "loss", "reg_loss", "reg_mae"]
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], atol=1e-5, err_msg=key)


# ------------------------------------------------------------------------------- behaviour


def test_fit_trains_in_train_mode_restores_mode_and_predict_is_inference():
    seen = []

    def spy(x):
        seen.append((torch.is_grad_enabled(), torch.is_inference_mode_enabled()))
        return x

    torch.manual_seed(0)
    x, y = _blobs(32)
    model = kt.Sequential([kt.layers.Dense(4), kt.layers.Dropout(0.5), kt.layers.Lambda(spy), kt.layers.Dense(2)])
    model.compile("sgd", kt.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert model.training is False
    modes = []
    model.fit(x, y, batch_size=16, verbose=0,
              callbacks=[kt.callbacks.LambdaCallback(on_train_batch_end=lambda b, l: modes.append(model.layers[1].training))])
    assert modes == [True, True] and model.training is False and not model.layers[1].training
    model.train()
    model.fit(x, y, batch_size=32, verbose=0)
    assert model.training is True
    seen.clear()
    model.predict(x, verbose=0)
    assert seen and all(inference and not grad for grad, inference in seen)
    assert model.training is True


def test_lean_step_matches_the_full_step_bit_for_bit(monkeypatch):
    """The common case (one loss, no metrics) takes a leaner per-batch path; it must compute exactly what
    the full step computes: the same weights after fit, the same history and evaluate loss."""
    x, y = torch.randn(96, 8), torch.randn(96, 1)
    results = []
    for lean in (True, False):
        if not lean:
            monkeypatch.setattr(kt.Model, "_lean_step", lambda self, training: None)
        torch.manual_seed(0)
        model = kt.Sequential([kt.Input((8,)), kt.layers.Dense(16, activation="relu"), kt.layers.Dense(1)])
        model.compile(kt.optimizers.Adam(0.01), "mse")
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0).history
        assert (model._lean_step(True) is not None) == lean  # the first batch resolved the loss
        results.append((model.get_weights(), history["loss"], model.evaluate(x, y, batch_size=8, verbose=0)))
    (weights_a, loss_a, eval_a), (weights_b, loss_b, eval_b) = results
    assert all(np.array_equal(a, b) for a, b in zip(weights_a, weights_b))
    assert loss_a == loss_b and eval_a == eval_b


def test_lazy_model_gets_optimizer_after_build_and_torch_optimizers_work():
    x, y = _blobs(64)
    for optimizer in ("rmsprop", lambda params: torch.optim.SGD(params, lr=0.1), torch.optim.Adam):
        model = _mlp()  # no input shape: parameters exist only after the first batch
        model.compile(optimizer, kt.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=32, verbose=0)
        assert model.built
    prebuilt = _mlp()
    prebuilt.build((None, 8))
    opt = torch.optim.SGD(prebuilt.parameters(), lr=0.1)
    prebuilt.compile(opt, torch.nn.CrossEntropyLoss())  # a torch loss module takes (input, target)
    before = [p.detach().clone() for p in prebuilt.parameters()]
    logs = prebuilt.fit(x, y, batch_size=64, verbose=0).history
    assert prebuilt.optimizer is opt and logs["loss"][0] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, prebuilt.parameters()))


def test_torchmetrics_metrics_are_updated_and_reported():
    import torchmetrics
    x, y = _blobs(96)
    model = _mlp()
    model.compile("adam", kt.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", torchmetrics.classification.MulticlassAccuracy(num_classes=2, average="micro")])
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "multiclass_accuracy"}
    np.testing.assert_allclose(history.history["multiclass_accuracy"], history.history["accuracy"], atol=1e-6)


def test_single_batch_methods_and_evaluate_returns():
    x, y = _blobs(32)
    model = _mlp()
    model.compile("adam", kt.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    loss, accuracy = model.train_on_batch(x, y)
    assert isinstance(loss, float) and 0 <= accuracy <= 1
    assert set(model.test_on_batch(x, y, return_dict=True)) == {"loss", "accuracy"}
    assert model.predict_on_batch(x).shape == (32, 2)
    assert model.metrics_names == ["loss", "compile_metrics"]  # Keras 3's answer
    model.compile("adam", kt.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_training_loop_never_reads_device_values_per_step():
    """Only epoch ends (and no per-step code) convert device values to Python numbers."""

    class Reads(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.count = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in ("item", "tolist", "__float__", "__int__", "__bool__", "cpu", "numpy", "__index__"):
                if "/kerastorch/" in sys._getframe(1).f_code.co_filename:
                    self.count += 1
            return func(*args, **(kwargs or {}))

    x, y = _blobs(640)
    model = _mlp()
    model.compile("adam", kt.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    reads = Reads()
    with reads:
        model.fit(x, y, batch_size=32, epochs=3, validation_split=0.25, verbose=0)  # 15 steps/epoch
    assert reads.count <= 2 * 3  # one read of the train logs and one of the val logs per epoch


def test_verbose_modes_print_keras_style(capsys):
    x, y = _blobs(64)
    model = _mlp()
    model.compile("adam", kt.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=2, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2"
    assert out[1].startswith("2/2 - ") and "loss: " in out[1] and "accuracy: " in out[1]
    model.fit(x, y, batch_size=32, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "2/2" in out and "loss:" in out
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_errors_name_the_problem():
    x, y = _blobs(16)
    model = _mlp()
    with pytest.raises(ValueError, match="must be compiled before fit"):
        model.fit(x, y)
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, y[:10], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(TensorDataset(x, y), validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="jit_compile"):
        model.compile("adam", "mse", jit_compile="yes")
    with pytest.raises(ValueError, match="compiled without a loss"):
        model.compile("adam")
        model.fit(x, y, verbose=0)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_policy_autocasts_and_keeps_float32_weights(policy):
    x, y = _blobs(64)
    model = _mlp()
    model.compile(kt.optimizers.Adam(clipnorm=1.0), kt.losses.SparseCategoricalCrossentropy(from_logits=True))
    kt.mixed_precision.set_global_policy(policy)
    try:
        assert kt.mixed_precision.global_policy().compute_dtype == policy.removeprefix("mixed_")
        assert kt.mixed_precision.global_policy().variable_dtype == "float32"
        history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
        out = model.predict(x, verbose=0)
    finally:
        kt.mixed_precision.set_global_policy(None)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert np.isfinite(history.history["loss"]).all()
    assert (model._grad_scaler is not None) == (policy == "mixed_float16")  # fp16 gradients are loss-scaled
    assert out.dtype == (np.float16 if policy == "mixed_float16" else np.float32)
    with torch.no_grad():  # the predictions really went through half-precision matmuls
        exact = model(x).numpy()
    assert 0 < np.abs(out.astype(np.float32) - exact).max() < 0.1


def test_jit_compile_runs_through_torch_compile():
    x, y = _blobs(64)
    model = kt.Sequential([kt.Input((8,)), kt.layers.Dense(2)])
    model.compile(kt.optimizers.SGD(0.1), kt.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    reference = kt.Sequential([kt.Input((8,)), kt.layers.Dense(2)])
    reference.set_weights(model.get_weights())
    reference.compile(kt.optimizers.SGD(0.1), kt.losses.SparseCategoricalCrossentropy(from_logits=True))
    torch._dynamo.reset()
    compiled = model.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0).history["loss"]
    plain = reference.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(compiled, plain, rtol=1e-5)
    assert type(model.__dict__["_train_module"]).__name__ == "OptimizedModule"
    assert "_train_module" not in dict(model.named_modules())


@pytest.mark.parametrize("kind", ["binary", "sparse", "sparse_column", "categorical"])
def test_crossentropy_loss_name_is_picked_from_shapes_as_keras(kind):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype("float32")
    units, activation, y = {
        "binary": (1, "sigmoid", rng.integers(0, 2, (16, 1)).astype("float32")),
        "sparse": (3, "softmax", rng.integers(0, 3, (16,))),
        "sparse_column": (3, "softmax", rng.integers(0, 3, (16, 1))),
        "categorical": (3, "softmax", np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]),
    }[kind]
    theirs = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])
    ours = kt.Sequential([kt.Input((4,)), kt.layers.Dense(units, activation=activation)])
    ours.set_weights(theirs.get_weights())
    theirs.compile("sgd", loss="crossentropy")
    ours.compile("sgd", loss="ce")
    expected = theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), expected, rtol=1e-6)
