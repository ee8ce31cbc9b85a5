"""What fit/evaluate work out afresh on every call, and must not carry over from an earlier call:
the metrics held by layers, the compiled loss and metrics, the weights' dtype and trainability, and
the train/eval mode of every module."""

import numpy as np
import pytest
import torch

import kerastorch as kt


class Counted(kt.layers.Layer):
    """An identity layer whose metric counts its calls and who records the mode it ran in."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.calls = kt.metrics.Sum(name="calls")
        self.modes = []

    def call(self, x):
        self.calls.update_state(1.0)
        self.modes.append(self.training)
        return x


def _data(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g), torch.randn(n, 2, generator=g)


def _model():
    torch.manual_seed(0)
    return kt.Sequential([kt.Input((4,)), kt.layers.Dense(8, activation="relu"), kt.layers.Dense(2)])


def _one_step_loss(model, x, y):
    """The loss fit reports for one full-batch step: the loss at the weights before the update."""
    return model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0).history["loss"][0]


def test_metric_layer_added_after_a_fit_is_listed_reset_and_counted():
    x, y = _data()
    model = _model()
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=8, verbose=0)
    counted = Counted()
    model.add(counted)
    counted.calls.update_state(100.0)  # state from before this fit: fit resets it at the epoch start
    assert [m.name for m in model.metrics][-1] == "calls"
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert float(counted.calls.result()) == 2.0  # two steps, nothing left from before
    counted.calls = None  # a metric attribute replaced: no longer listed
    assert "calls" not in [m.name for m in model.metrics]


def test_metric_set_on_a_layer_or_a_plain_torch_module_after_fit_is_listed():
    x, y = _data()
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(2), torch.nn.Identity()])
    model.compile("sgd", "mse")
    model.fit(x, y, verbose=0)
    model.layers[0].first = kt.metrics.Mean(name="on_dense")
    model.layers[1].second = kt.metrics.Mean(name="on_identity")
    names = [m.name for m in model.metrics]
    assert names[-2:] == ["on_dense", "on_identity"]
    model.layers[0].first.update_state(3.0)
    model.evaluate(x, y, verbose=0)  # evaluate resets every listed metric
    assert int(model.layers[0].first.count) == 0


@pytest.mark.parametrize("loss, metric, reference", [
    ("mae", "mse", lambda p, y: np.abs(p - y).mean()),
    (kt.losses.Huber(delta=0.5), None, lambda p, y: np.where(np.abs(p - y) <= 0.5, 0.5 * (p - y) ** 2,
                                                             0.5 * np.abs(p - y) - 0.125).mean()),
])
def test_recompiling_replaces_the_loss_and_metrics_of_earlier_fits(loss, metric, reference):
    x, y = _data()
    model = _model()
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)  # the first compile's step, resolved and reused
    model.compile(kt.optimizers.SGD(0.01), loss, metrics=[metric] if metric else None)
    expected = reference(model.predict(x, verbose=0), y.numpy())
    history = model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0).history
    assert history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert sorted(history) == sorted(["loss", *([metric] if metric else [])])
    model.compile("sgd", "mse")  # and back: the metric is gone, the loss is MSE again
    p = model.predict(x, verbose=0)
    assert _one_step_loss(model, x, y) == pytest.approx(((p - y.numpy()) ** 2).mean(), rel=1e-5)


def test_a_model_moved_to_float64_between_fits_trains_in_float64():
    x, y = _data()
    model = _model()
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=8, verbose=0)
    model.to(torch.float64)
    before = [w.detach().clone() for w in model.weights]
    p = model.predict(x, verbose=0)
    assert p.dtype == np.float64
    expected = ((p - y.double().numpy()) ** 2).mean()
    assert _one_step_loss(model, x, y) == pytest.approx(expected, rel=1e-6)  # tracked in float32, as in Keras
    assert all(w.dtype == torch.float64 for w in model.weights)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.weights))


def test_weights_frozen_between_fits_stay_put():
    x, y = _data()
    model = _model()
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=8, verbose=0)
    model.layers[0].trainable = False
    first = [w.detach().clone() for w in model.layers[0].weights]
    model.fit(x, y, batch_size=8, verbose=0)
    assert all(torch.equal(a, b) for a, b in zip(first, model.layers[0].weights))
    for p in model.parameters():  # the torch way: every weight frozen by hand
        p.requires_grad_(False)
    with pytest.warns(UserWarning, match="no trainable weights"):
        model.fit(x, y, batch_size=8, verbose=0)


def test_every_module_runs_in_the_loop_mode_and_gets_its_own_mode_back():
    x, y = _data()
    counted = Counted()
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(2), counted, kt.layers.Dropout(0.5)])
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=8, verbose=0)  # a first call: nothing carried into the next ones
    model.eval()
    model.layers[2].train()  # one module in another mode than the rest
    before = [m.training for m in model.modules()]
    for run in (lambda: model.fit(x, y, batch_size=8, validation_data=(x, y), verbose=0),
                lambda: model.evaluate(x, y, batch_size=8, verbose=0)):
        counted.modes.clear()
        run()
        assert [m.training for m in model.modules()] == before
        assert counted.modes in ([True, True, False, False], [False, False])  # fit (with validation), evaluate


def test_a_popped_layer_leaves_the_loop():
    x, y = _data()
    counted = Counted()
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(2), counted])
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=8, verbose=0)
    assert model.pop() is counted
    counted.calls.update_state(5.0)
    counted.train()
    model.fit(x, y, batch_size=8, verbose=0)
    assert float(counted.calls.result()) == 7.0  # neither reset nor called by the model it left
    assert counted.training and "calls" not in [m.name for m in model.metrics]


def test_a_module_added_inside_a_plain_torch_module_after_fit_runs_in_training_mode():
    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.modes = []

        def forward(self, x):
            self.modes.append(self.training)
            return x

    x, y = _data()
    inner = torch.nn.Sequential(torch.nn.Identity())
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(2), inner])
    model.compile("sgd", "mse")
    model.fit(x, y, batch_size=8, verbose=0)
    recorder = Recorder().eval()
    inner.append(recorder)  # torch's own registration: no kerastorch layer sees it
    model.fit(x, y, batch_size=8, verbose=0)
    assert recorder.modes == [True, True] and not recorder.training


def test_the_torchrun_check_follows_variables_added_to_the_environment(monkeypatch):
    from kerastorch.training import distributed

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert not distributed._torchrun_process()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert distributed._torchrun_process()
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.delenv("RANK")
    assert not distributed._torchrun_process()


@pytest.mark.parametrize("metrics", [None, ["mae"]])
def test_metrics_held_by_layers_are_logged_as_keras_logs_them(metrics):
    import keras

    histories, evaluations = [], []
    x, y = _data()
    weights = None
    for lib in (keras, kt):
        class Seen(lib.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.seen = lib.metrics.Mean(name="seen")

            def call(self, inputs):
                self.seen.update_state(lib.ops.mean(inputs))
                return inputs

        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2), Seen()])
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(lib.optimizers.SGD(0.1), "mse", metrics=metrics)
        histories.append(model.fit(x.numpy(), y.numpy(), batch_size=4, epochs=2, shuffle=False, verbose=0).history)
        evaluations.append(model.evaluate(x.numpy(), y.numpy(), batch_size=8, verbose=0, return_dict=True))
    assert sorted(histories[1]) == sorted(histories[0]) and "seen" in histories[1]
    for key, values in histories[0].items():
        np.testing.assert_allclose(histories[1][key], values, rtol=1e-5, atol=1e-6)
    assert evaluations[1] == pytest.approx(evaluations[0], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("metrics, weighted", [(None, None), (["mae"], None), (None, ["mae"]), ([], None)])
def test_compile_metrics_is_listed_as_keras_lists_it(metrics, weighted):
    import keras

    x, y = _data()
    names = []
    for lib in (keras, kt):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2)])
        model.compile("sgd", "mse", metrics=metrics, weighted_metrics=weighted)
        model.fit(x.numpy(), y.numpy(), verbose=0)
        names.append(model.metrics_names)
    assert names[1] == names[0]
