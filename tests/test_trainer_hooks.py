"""Keras's overridable training hooks against Keras 3: custom steps, metrics, callbacks' logs, schedules."""

import math

import numpy as np
import pytest
import torch

import kerastorch as kt

keras = pytest.importorskip("keras")


def _xy(n=50, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


# ----------------------------------------------------------------------------- custom steps


def _counting_model(lib):
    class Counting(lib.Model):
        train_calls = 0
        test_calls = 0

        def train_step(self, data):
            type(self).train_calls += 1
            return super().train_step(data)

        def test_step(self, data):
            type(self).test_calls += 1
            return super().test_step(data)

    inputs = lib.Input((4,))
    return Counting(inputs, lib.layers.Dense(1)(inputs))


@pytest.mark.parametrize("n,batch_size,epochs", [(50, 16, 2), (32, 32, 1), (7, 3, 3)])
def test_custom_train_step_runs_once_per_batch_like_keras(n, batch_size, epochs):
    x, y = _xy(n)
    counts = []
    for lib in (keras, kt):
        model = _counting_model(lib)
        model.compile("sgd", "mse", metrics=["mae"])
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=(x, y), verbose=0)
        counts.append((type(model).train_calls, type(model).test_calls, sorted(history.history)))
    assert counts[0] == counts[1]
    assert counts[1][0] == math.ceil(n / batch_size) * epochs


def test_functional_subclass_keeps_overrides_and_matches_keras():
    x, y = _xy(64)
    results, weights = [], None
    for lib in (keras, kt):
        model = _counting_model(lib)
        if lib is kt:
            model.set_weights(weights)
            assert isinstance(model, kt.models.functional.Functional) and model.inputs
        else:
            weights = model.get_weights()
        model.compile(lib.optimizers.SGD(0.1), "mse", metrics=["mae"])
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
        results.append((history, model.evaluate(x, y, verbose=0, return_dict=True)))
    for key in results[0][0]:
        np.testing.assert_allclose(results[1][0][key], results[0][0][key], rtol=1e-5)
    assert results[1][1] == pytest.approx(results[0][1], rel=1e-5)


def test_overridden_compute_loss_and_own_trackers():
    class Shifted(kt.Model):
        def __init__(self):
            super().__init__()
            self.dense = kt.layers.Dense(1)
            self.tracker = kt.metrics.Mean(name="shift")

        def call(self, x):
            return self.dense(x)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training)
            self.tracker.update_state(torch.ones(()))
            return loss + 10.0

    x, y = _xy(40)
    model = Shifted()
    model.compile("sgd", "mse")
    history = model.fit(x, y, batch_size=10, epochs=2, verbose=0).history
    assert all(loss > 10.0 for loss in history["loss"])
    assert history["shift"] == [1.0, 1.0]  # attribute metrics are listed by `metrics` and reset every epoch
    assert [m.name for m in model.metrics] == ["loss", "shift"]  # Keras 3: no compile_metrics without metrics


def test_lower_level_train_step_with_own_metrics_property():
    """The guide's pattern: compile(optimizer only), own Mean trackers listed in `metrics`."""

    class Manual(kt.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = kt.metrics.Mean(name="loss")
            self.loss_fn = kt.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            loss = self.loss_fn(y, self(x, training=True))
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([w.grad for w in weights], weights)
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result()}

        @property
        def metrics(self):
            return [self.loss_tracker]

    inputs = kt.Input((4,))
    model = Manual(inputs, kt.layers.Dense(1)(inputs))
    model.compile(optimizer=kt.optimizers.SGD(0.05))
    x, y = _xy(60)
    history = model.fit(x, y, batch_size=20, epochs=3, verbose=0).history
    assert list(history) == ["loss"] and history["loss"][-1] < history["loss"][0]
    assert int(model.optimizer.iterations) == 9


def test_gan_style_model_without_call_and_two_optimizers():
    discriminator = kt.Sequential([kt.Input((3,)), kt.layers.Dense(1)])
    generator = kt.Sequential([kt.Input((2,)), kt.layers.Dense(3)])

    class Pair(kt.Model):
        def __init__(self):
            super().__init__()
            self.discriminator, self.generator = discriminator, generator
            self.d_tracker = kt.metrics.Mean(name="d_loss")
            self.built = True

        @property
        def metrics(self):
            return [self.d_tracker]

        def compile(self, d_optimizer, g_optimizer):
            super().compile()
            self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

        def train_step(self, real):
            real = real[0] if isinstance(real, tuple) else real
            self.zero_grad()
            fake = self.generator(torch.randn(real.shape[0], 2))
            loss = torch.nn.functional.softplus(-self.discriminator(real)).mean() + \
                torch.nn.functional.softplus(self.discriminator(fake.detach())).mean()
            loss.backward()
            self.d_optimizer.apply([w.grad for w in self.discriminator.trainable_weights],
                                   self.discriminator.trainable_weights)
            self.zero_grad()
            g_loss = torch.nn.functional.softplus(-self.discriminator(self.generator(torch.randn(4, 2)))).mean()
            g_loss.backward()
            self.g_optimizer.apply([w.grad for w in self.generator.trainable_weights], self.generator.trainable_weights)
            self.d_tracker.update_state(loss)
            return {"d_loss": self.d_tracker.result(), "g_loss": g_loss}

    before = [w.detach().clone() for w in generator.trainable_weights]
    model = Pair()
    model.compile(kt.optimizers.Adam(1e-2), kt.optimizers.Adam(1e-2))
    data = torch.utils.data.TensorDataset(torch.randn(32, 3))
    history = model.fit(torch.utils.data.DataLoader(data, batch_size=8), epochs=2, verbose=0).history
    assert sorted(history) == ["d_loss", "g_loss"]
    assert int(model.d_optimizer.iterations) == 8 and int(model.g_optimizer.iterations) == 8
    assert not all(torch.equal(a, b) for a, b in zip(before, generator.trainable_weights))


def test_custom_predict_step_and_no_silent_arguments():
    class Doubling(kt.Model):
        def __init__(self):
            super().__init__()
            self.dense = kt.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def predict_step(self, data):
            return self(data) * 2

    x, y = _xy(10)
    model = Doubling()
    model.compile("sgd", "mse")
    np.testing.assert_allclose(model.predict(x, verbose=0), 2 * model(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)
    with pytest.raises(TypeError, match="unexpected keyword arguments"):
        model.evaluate(x, y, verbose=0, max_queue_size=4)
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.compile("sgd", "mse", steps_per_execution=0)
    counting = _counting_model(kt)
    counting.compile("sgd", "mse", jit_compile=True)  # a custom step would bypass the compiled wrapper
    with pytest.raises(NotImplementedError, match="jit_compile=True"):
        counting.fit(x, y, verbose=0)


# --------------------------------------------------------------------------- callbacks' logs


_HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin", "on_test_end",
          "on_predict_begin", "on_predict_end", "on_train_batch_begin", "on_train_batch_end",
          "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end"]


class _Recorder:
    """Records (hook, index, sorted log keys) for every hook; built on either library's Callback."""

    @staticmethod
    def make(lib):
        def recorder(name):
            def hook(self, *args, logs=None):
                if len(args) == 2 or (len(args) == 1 and not isinstance(args[0], int)):
                    logs = args[-1]
                index = args[0] if args and isinstance(args[0], int) else None
                assert isinstance(logs, dict) or hasattr(logs, "keys"), (name, logs)  # never None
                self.calls.append((name, index, sorted(logs)))
            return hook

        instance = type("Recorder", (lib.callbacks.Callback,), {h: recorder(h) for h in _HOOKS})()
        instance.calls = []
        return instance


def test_callbacks_receive_keras_dicts_in_every_hook():
    x, y = _xy(20)
    seen = []
    for lib in (keras, kt):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
        model.compile("sgd", "mse", metrics=["mae"])
        recorder = _Recorder.make(lib)
        model.fit(x, y, batch_size=10, epochs=1, validation_data=(x, y), callbacks=[recorder], verbose=0)
        assert recorder.model is model
        model.evaluate(x, y, batch_size=10, callbacks=[recorder], verbose=0)
        model.predict(x, batch_size=10, callbacks=[recorder], verbose=0)
        seen.append(recorder.calls)
    assert seen[1] == seen[0]


def test_steps_per_execution_groups_batch_hooks():
    """Keras's semantics on its compiled backends (its torch backend refuses N > 1): one
    begin/end pair per group of N steps, with the group's first and last step indices."""
    x, y = _xy(50)
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=2)
    recorder = _Recorder.make(kt)
    model.fit(x, y, batch_size=10, epochs=1, callbacks=[recorder], verbose=0)
    assert [(name, index) for name, index, _ in recorder.calls if "batch" in name] == [
        ("on_train_batch_begin", 0), ("on_train_batch_end", 1), ("on_train_batch_begin", 2),
        ("on_train_batch_end", 3), ("on_train_batch_begin", 4), ("on_train_batch_end", 4)]
    assert int(model.optimizer.iterations) == 5


# ------------------------------------------------------------------------------- schedules

SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[2, 5], values=[0.1, 0.05, 0.01])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=6, end_learning_rate=0.01, power=2.0)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=4, cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=7, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=5, warmup_target=0.2, warmup_steps=3)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=2, t_mul=1.0, m_mul=0.5, alpha=0.1)),
]


@pytest.mark.parametrize("name,kwargs", SCHEDULES)
def test_schedule_equals_keras_at_every_step_in_fit(name, kwargs):
    ours = getattr(kt.optimizers.schedules, name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(**kwargs)
    for step in range(20):
        assert ours(step) == pytest.approx(float(theirs(step)), rel=1e-5, abs=1e-7), step
    assert ours.get_config() == theirs.get_config()
    # stepped per optimizer update inside fit: the rate each update used equals Keras's schedule there
    x, y = _xy(40)
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(1)])
    model.compile(kt.optimizers.SGD(learning_rate=ours), "mse")
    used = []
    logger = kt.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: used.append(model.optimizer.learning_rate))
    model.fit(x, y, batch_size=5, epochs=2, callbacks=[logger], verbose=0)
    assert used == pytest.approx([float(theirs(step)) for step in range(16)], rel=1e-5, abs=1e-7)
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(float(theirs(15)), rel=1e-5, abs=1e-7)


def test_schedule_travels_in_keras_files_both_ways(tmp_path):
    from kerastorch.saving import load_model

    schedule = dict(initial_learning_rate=0.1, decay_steps=10, warmup_target=0.3, warmup_steps=2)
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(1)])
    model.compile(kt.optimizers.Adam(kt.optimizers.schedules.CosineDecay(**schedule)), "mse")
    model.save(tmp_path / "t.keras")
    theirs = keras.models.load_model(tmp_path / "t.keras")
    assert theirs.optimizer.get_config()["learning_rate"]["config"] == {**schedule, "alpha": 0.0, "name": "CosineDecay"}
    reference = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    reference.compile(keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.9)), "mse")
    reference.save(tmp_path / "k.keras")
    loaded = load_model(tmp_path / "k.keras")
    assert isinstance(loaded.optimizer.get_config()["learning_rate"], dict)
    assert loaded.optimizer.learning_rate == pytest.approx(0.1)
    again = load_model(tmp_path / "t.keras").optimizer
    assert again.learning_rate == pytest.approx(kt.optimizers.schedules.CosineDecay(**schedule)(0))
    with pytest.raises(TypeError, match="not settable"):
        again.learning_rate = 0.5


def test_optimizer_apply_leaves_unlisted_weights_and_projects_constraints():
    layer = kt.layers.Dense(2, kernel_constraint="non_neg")
    model = kt.Sequential([kt.Input((3,)), layer, kt.layers.Dense(1)])
    model.compile(kt.optimizers.SGD(1.0), "mse")
    x, y = _xy(8)
    model.fit(x[:, :3], y, batch_size=4, verbose=0)
    assert (layer.kernel.detach() >= 0).all()
    optimizer = kt.optimizers.SGD(0.5)
    weights = list(model.trainable_weights)
    optimizer.build(weights)
    frozen = weights[2].detach().clone()
    for w in weights:
        w.grad = torch.ones_like(w)
    optimizer.apply([torch.ones_like(weights[0])], [weights[0]])
    torch.testing.assert_close(weights[2].detach(), frozen)
    assert weights[2].grad is not None  # other gradients are left as they were
    with pytest.raises(ValueError, match="unknown ones"):
        optimizer.apply([torch.ones(3)], [torch.nn.Parameter(torch.zeros(3))])
