"""Callbacks: Keras semantics, atomic checkpoints, and a SIGKILLed run resumed to identical weights."""

import csv
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import kerastorch as kt
from kerastorch.training import checkpoint


def _data(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    return x, (x[:, 0] > 0).long()


def _model(learning_rate=0.01):
    torch.manual_seed(0)
    model = kt.Sequential([kt.Input((8,)), kt.layers.Dense(8, activation="relu"), kt.layers.Dense(2)])
    model.compile(kt.optimizers.SGD(learning_rate), kt.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


class Recorder(kt.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None): self.calls.append("train_begin")
    def on_epoch_begin(self, epoch, logs=None): self.calls.append(f"epoch_begin {epoch}")
    def on_train_batch_end(self, batch, logs=None): self.calls.append(f"batch {batch} {sorted(logs)}")
    def on_test_begin(self, logs=None): self.calls.append("test_begin")
    def on_test_end(self, logs=None): self.calls.append(f"test_end {sorted(logs)}")
    def on_epoch_end(self, epoch, logs=None): self.calls.append(f"epoch_end {epoch} {sorted(logs)}")
    def on_train_end(self, logs=None): self.calls.append("train_end")


def test_hooks_run_in_keras_order_with_logs():
    x, y = _data(32)
    recorder = Recorder()
    _model().fit(x, y, batch_size=16, epochs=1, validation_data=(x, y), callbacks=[recorder], verbose=0)
    assert recorder.calls == [
        "train_begin", "epoch_begin 0", "batch 0 ['accuracy', 'loss']", "batch 1 ['accuracy', 'loss']",
        "test_begin", "test_end ['accuracy', 'loss']",
        "epoch_end 0 ['accuracy', 'loss', 'val_accuracy', 'val_loss']", "train_end",
    ]


def test_early_stopping_patience_start_epoch_and_best_weights():
    x, y = _data()
    model = _model(learning_rate=0.0)  # the loss never improves
    history = model.fit(x, y, epochs=10, shuffle=False, verbose=0,
                        callbacks=[kt.callbacks.EarlyStopping(monitor="loss", patience=2)])
    assert len(history.history["loss"]) == 3
    history = model.fit(x, y, epochs=10, shuffle=False, verbose=0,
                        callbacks=[kt.callbacks.EarlyStopping(monitor="loss", patience=2, start_from_epoch=2)])
    assert len(history.history["loss"]) == 5

    stopper = kt.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    stopper.set_model(model)
    stopper.on_train_begin()
    snapshots = []
    for epoch, val_loss in enumerate([1.0, 0.5, 0.9]):
        model.set_weights([w + epoch for w in model.get_weights()])
        snapshots.append(model.get_weights())
        stopper.on_epoch_end(epoch, {"val_loss": val_loss})
    stopper.on_train_end()
    for got, best in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(got, best)
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        kt.callbacks.EarlyStopping(monitor="something")



def _twins(keras, learning_rate):
    """The same 5-3 softmax model in Keras and kerastorch (Keras's seeded initial weights copied over).

    Seeded so the monitored values never come within rounding of each other (no near-ties to flip).
    """
    keras.utils.set_random_seed(0)
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    ours = kt.Sequential([kt.Input((5,)), kt.layers.Dense(3, activation="softmax")])
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    ours.compile(kt.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return theirs, ours


@pytest.mark.parametrize("kwargs", [
    dict(patience=2, restore_best_weights=True),
    dict(patience=1, restore_best_weights=True, start_from_epoch=3),
    dict(patience=2, min_delta=0.01),
    dict(patience=3, restore_best_weights=True, baseline=0.5),
], ids=["restore", "start_from_epoch", "min_delta", "baseline"])
def test_early_stopping_stops_and_restores_like_keras(kwargs):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = rng.integers(0, 3, size=40)
    val = (x, np.roll(y, 7))  # wrong labels: val_loss falls, then rises while training fits
    theirs, ours = _twins(keras, 0.5)
    stop_k, stop_t = keras.callbacks.EarlyStopping(**kwargs), kt.callbacks.EarlyStopping(**kwargs)
    expected = theirs.fit(x, y, batch_size=40, epochs=15, shuffle=False, verbose=0, validation_data=val,
                          callbacks=[stop_k]).history
    got = ours.fit(x, y, batch_size=40, epochs=15, shuffle=False, verbose=0, validation_data=val,
                   callbacks=[stop_t]).history
    assert stop_k.stopped_epoch > 0  # the scenario does stop early
    assert (stop_t.stopped_epoch, stop_t.best_epoch) == (stop_k.stopped_epoch, stop_k.best_epoch)
    np.testing.assert_allclose(got["val_loss"], expected["val_loss"], atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):  # the restored (or last) weights
        np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    dict(monitor="loss", factor=0.5, patience=1, min_delta=0.5, cooldown=1, min_lr=0.7),
    dict(monitor="val_loss", factor=0.2, patience=2),
], ids=["cooldown_min_lr", "val_loss"])
def test_reduce_lr_on_plateau_follows_keras(kwargs):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype("float32")
    y = rng.integers(0, 3, size=40)
    theirs, ours = _twins(keras, 3.0)
    fit = dict(batch_size=40, epochs=8, shuffle=False, verbose=0, validation_data=(x, np.roll(y, 7)))
    expected = theirs.fit(x, y, callbacks=[keras.callbacks.ReduceLROnPlateau(**kwargs)], **fit).history
    got = ours.fit(x, y, callbacks=[kt.callbacks.ReduceLROnPlateau(**kwargs)], **fit).history
    assert sorted(got) == sorted(expected)
    assert len(set(expected["learning_rate"])) > 1  # the rate does change
    np.testing.assert_allclose(got["learning_rate"], expected["learning_rate"], rtol=1e-6)
    np.testing.assert_allclose(got["loss"], expected["loss"], atol=1e-5)

def test_model_checkpoint_formats_names_saves_best_only_and_writes_atomically(tmp_path):
    x, y = _data()
    model = _model(learning_rate=0.1)
    every = kt.callbacks.ModelCheckpoint(str(tmp_path / "w_{epoch:02d}_{loss:.2f}.safetensors"), save_weights_only=True,
                                         monitor="loss")
    best = kt.callbacks.ModelCheckpoint(str(tmp_path / "best.safetensors"), save_weights_only=True,
                                        save_best_only=True, monitor="loss")
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[every, best])
    losses = history.history["loss"]
    assert [os.path.basename(p) for p in every.saved] == [f"w_{e + 1:02d}_{l:.2f}.safetensors"
                                                          for e, l in enumerate(losses)]
    improved = sum(1 for i, l in enumerate(losses) if i == 0 or l < min(losses[:i]))
    assert len(best.saved) == improved
    state = load_file(str(tmp_path / "best.safetensors"))
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]
    with pytest.raises(ValueError, match="not in the logs"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[kt.callbacks.ModelCheckpoint(str(tmp_path / "{val_auc}.safetensors"),
                                                          save_weights_only=True, monitor="loss")])


def test_reduce_lr_on_plateau_and_scheduler_set_the_optimizer_rate():
    x, y = _data()
    model = _model(learning_rate=1e-9)  # the loss stays flat
    reduce = kt.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=0.0)
    history = model.fit(x, y, epochs=4, shuffle=False, verbose=0, callbacks=[reduce])
    # logged before each epoch's decision, as Keras does: epoch 1 is the first plateau
    assert history.history["learning_rate"] == pytest.approx([1e-9, 1e-9, 5e-10, 2.5e-10], rel=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(1.25e-10)
    scheduler = kt.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[scheduler])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert model.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 / 3)


def test_csv_logger_and_lambda_callback(tmp_path):
    x, y = _data()
    path = tmp_path / "log.csv"
    ends = []
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[
        kt.callbacks.CSVLogger(str(path)),
        kt.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append((epoch, round(logs["loss"], 6)))),
    ])
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["0", "1"] and set(rows[0]) == {"epoch", "loss", "accuracy"}
    assert [(int(r["epoch"]), round(float(r["loss"]), 6)) for r in rows] == ends
    model.fit(x, y, epochs=1, verbose=0, callbacks=[kt.callbacks.CSVLogger(str(path), append=True)])
    assert len(list(csv.DictReader(path.open()))) == 3


def test_terminate_on_nan_stops_at_the_bad_batch():
    x, y = _data()
    x[40] = float("nan")  # third batch of 16
    seen = []
    model = _model()
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[
        kt.callbacks.TerminateOnNaN(), kt.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))])
    assert seen == [0, 1, 2] and len(history.history["loss"]) == 1
    assert np.isnan(history.history["loss"][0])


def test_keyboard_interrupt_leaves_a_usable_model_history_and_backup(tmp_path):
    x, y = _data()

    class Interrupt(kt.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 1:
                raise KeyboardInterrupt

    model = _model()
    backup = kt.callbacks.BackupAndRestore(str(tmp_path))
    history = model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[backup, Interrupt()])
    assert len(history.history["loss"]) == 2 and model.history is history
    assert model.training is False and model.predict(x, verbose=0).shape == (64, 2)
    assert os.path.exists(backup.path)  # kept: an interrupted run can be resumed
    resumed = model.fit(x, y, batch_size=16, epochs=5, verbose=0, callbacks=[kt.callbacks.BackupAndRestore(str(tmp_path))])
    assert len(resumed.history["loss"]) == 3 and resumed.epoch == [2, 3, 4]
    assert not os.path.exists(backup.path)  # deleted once training completes


def _scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_tensorboard_writes_keras_tags_that_read_back(tmp_path):
    pytest.importorskip("tensorboard")
    x, y = _data()
    model = _model(learning_rate=0.05)
    board = kt.callbacks.TensorBoard(str(tmp_path), update_freq="batch")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_data=(x, y), callbacks=[board]).history
    train, validation = _scalars(tmp_path / "train"), _scalars(tmp_path / "validation")
    for key in ("loss", "accuracy"):
        assert [s for s, _ in train[f"epoch_{key}"]] == [0, 1]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{key}"]], history[key], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in validation[f"epoch_{key}"]], history[f"val_{key}"], rtol=1e-6)
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.05, 0.05])
    assert [s for s, _ in train["batch_loss"]] == list(range(1, 9))  # 4 batches per epoch, 2 epochs
    assert "epoch_learning_rate" not in validation


def test_tensorboard_without_the_package_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    x, y = _data()
    with pytest.raises(ImportError, match="pip install tensorboard"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[kt.callbacks.TensorBoard(str(tmp_path))])
    with pytest.raises(ValueError, match="update_freq"):
        kt.callbacks.TensorBoard(str(tmp_path), update_freq="sometimes")


def test_training_state_round_trip_continues_identically(tmp_path):
    x, y = _data()
    model = _model()
    model.compile(kt.optimizers.Adam(0.01), model.loss)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "state.safetensors")
    checkpoint.save_training_state(path, model, model.optimizer, epoch=0)
    tensors, meta = checkpoint.read_training_state(path)
    assert meta["epoch"] == 0 and isinstance(meta["rng"]["torch"], list)
    assert any(k.startswith("optimizer.") for k in tensors)
    expected = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history["loss"]
    after = model.get_weights()
    other = _model()
    other.compile(kt.optimizers.Adam(0.01), other.loss)
    other.fit(x[:16], y[:16], epochs=1, verbose=0)  # builds a (differently trained) optimizer state
    checkpoint.load_training_state(path, other, other.optimizer)
    assert other.fit(x, y, batch_size=16, epochs=1, verbose=0).history["loss"] == expected
    for a, b in zip(other.get_weights(), after):
        np.testing.assert_array_equal(a, b)
    wrong = kt.Sequential([kt.Input((8,)), kt.layers.Dense(3)])
    before = wrong.get_weights()
    with pytest.raises(ValueError, match="does not match model"):
        checkpoint.load_training_state(path, wrong)
    assert all(np.array_equal(a, b) for a, b in zip(before, wrong.get_weights()))


# ------------------------------------------------------------------------ kill and resume
# The killed run is a fresh interpreter (a fork of this multi-threaded process can deadlock in torch's
# thread pools); the runs that are not killed train in this process.

FORK = multiprocessing.get_context("fork")


@pytest.fixture(autouse=True)
def _warm_shape_inference():
    # The first symbolic build in a process is slow (lazy torch imports); pay it once, before forking.
    kt.Sequential([kt.Input((4,)), kt.layers.Dense(2)])


def _train_with_backup(backup_dir, out, kill_epoch):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    x = torch.randn(256, 8)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = kt.Sequential([kt.Input((8,)), kt.layers.Dense(16, activation="relu"), kt.layers.Dropout(0.3),
                           kt.layers.Dense(2)])
    model.compile(kt.optimizers.Adam(0.01), kt.losses.SparseCategoricalCrossentropy(from_logits=True))

    class Kill(kt.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == kill_epoch and batch == 3:
                os.kill(os.getpid(), signal.SIGKILL)

    model.fit(x, y, batch_size=32, epochs=5, verbose=0, callbacks=[kt.callbacks.BackupAndRestore(backup_dir), Kill()])
    model.save_weights(out)


def _train_in_process(*args):
    threads = torch.get_num_threads()
    try:
        _train_with_backup(*args)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_sigkilled_fit_resumes_to_bit_identical_weights(tmp_path):
    straight, resumed = str(tmp_path / "straight.safetensors"), str(tmp_path / "resumed.safetensors")
    _train_in_process(str(tmp_path / "a"), straight, -1)
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); from test_callbacks import "
            f"_train_with_backup; _train_with_backup({str(tmp_path / 'b')!r}, {str(tmp_path / 'never')!r}, 2)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "KERAS_BACKEND": "torch",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    killed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    _, meta = checkpoint.read_training_state(str(tmp_path / "b" / "latest.safetensors"))
    assert meta["epoch"] == 1  # epochs 0 and 1 completed, killed inside epoch 2
    _train_in_process(str(tmp_path / "b"), resumed, -1)
    a, b = load_file(straight), load_file(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not os.path.exists(tmp_path / "b" / "latest.safetensors")  # removed once training completed


def _write_forever(path):
    torch.set_num_threads(1)
    model = kt.Sequential([kt.Input((512,)), kt.layers.Dense(2048), kt.layers.Dense(512)])  # ~8 MB per write
    step = 0
    while True:
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(step)
        checkpoint.save_training_state(path, model, epoch=step)
        step += 1


def test_checkpoint_killed_mid_write_is_never_half_written(tmp_path):
    path = tmp_path / "latest.safetensors"
    attempts, mid_write = 0, 0
    while attempts < 3 or (mid_write == 0 and attempts < 20):
        attempts += 1
        process = FORK.Process(target=_write_forever, args=(str(path),))
        process.start()
        try:
            deadline = time.monotonic() + 60
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.01 + 0.037 * attempts)
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        tensors, meta = checkpoint.read_training_state(str(path))  # complete and self-consistent
        assert tensors and all(torch.all(t == meta["epoch"]) for t in tensors.values())
        strays = [p for p in tmp_path.iterdir() if p.name != "latest.safetensors"]
        # only temporary files (ours, and the one safetensors writes through) may be left behind
        assert all(p.name.startswith((".latest.safetensors.tmp-", ".tmp")) for p in strays), strays
        mid_write += bool(strays)  # the kill landed inside a write
        for leftover in [*strays, path]:
            leftover.unlink()
    assert mid_write > 0


def test_model_checkpoint_other_formats_go_through_model_saving(tmp_path):
    x, y = _data()
    model = _model(learning_rate=0.1)
    weights = kt.callbacks.ModelCheckpoint(str(tmp_path / "w{epoch}.weights.h5"), save_weights_only=True,
                                           monitor="loss")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[weights])
    expected = model.predict(x, verbose=0)
    model.fit(x, y, epochs=1, verbose=0)
    model.load_weights(str(tmp_path / "w1.weights.h5"))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)
    assert sorted(os.listdir(tmp_path)) == ["w1.weights.h5"]


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_validates_with_the_averages_as_keras(swap_on_epoch):
    keras = pytest.importorskip("keras")

    def make(lib):
        return lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, activation="relu"), lib.layers.Dense(1)])

    keras.utils.set_random_seed(0)
    theirs, ours = make(keras), make(kt)
    ours.set_weights(theirs.get_weights())
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)).astype("float32"), rng.standard_normal((32, 1)).astype("float32")
    histories = []
    for model, lib in ((theirs, keras), (ours, kt)):
        model.compile(lib.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5), "mse")
        histories.append(model.fit(x, y, batch_size=8, epochs=3, verbose=0, shuffle=False, validation_data=(x, y),
                                   callbacks=[lib.callbacks.SwapEMAWeights(swap_on_epoch)]).history)
    np.testing.assert_allclose(histories[1]["val_loss"], histories[0]["val_loss"], rtol=1e-6)
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, atol=1e-6)
    before = [w.copy() for w in ours.get_weights()]
    ours.evaluate(x, y, verbose=0, callbacks=[kt.callbacks.SwapEMAWeights()])
    assert all(np.array_equal(a, b) for a, b in zip(before, ours.get_weights()))  # swapped back after


def test_swap_ema_weights_needs_an_ema_optimizer():
    model = kt.Sequential([kt.Input((2,)), kt.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="use_ema=True"):
        model.evaluate(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0,
                       callbacks=[kt.callbacks.SwapEMAWeights()])


def _collecting_server():
    """A real local HTTP server that records each POST's content type and body."""
    import http.server
    import threading

    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], self.headers.get("X-Run"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def test_remote_monitor_posts_what_keras_posts():
    import json
    import urllib.parse

    import keras

    server, received = _collecting_server()
    root = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        x, y = _data()
        _model().fit(x, y, epochs=2, batch_size=32, verbose=0,
                     callbacks=[kt.callbacks.RemoteMonitor(root=root, headers={"X-Run": "7"})])
        _model().fit(x, y, epochs=1, batch_size=32, verbose=0,
                     callbacks=[kt.callbacks.RemoteMonitor(root=root, path="/json", send_as_json=True)])
        keras.callbacks.RemoteMonitor(root=root).on_epoch_end(0, {"loss": np.float32(0.5)})
    finally:
        server.shutdown()
    (p0, kind0, run0, body0), (_, _, _, body1), (p2, kind2, _, body2), (_, kind3, _, body3) = received
    assert p0 == "/publish/epoch/end/" and run0 == "7" and p2 == "/json"
    assert kind0 == kind3 == "application/x-www-form-urlencoded" and kind2 == "application/json"
    events = [json.loads(urllib.parse.parse_qs(b.decode())["data"][0]) for b in (body0, body1, body3)]
    assert [e["epoch"] for e in events] == [0, 1, 0] and set(events[0]) == {"epoch", "loss", "accuracy"}
    assert set(json.loads(body2)) == {"epoch", "loss", "accuracy"}


def test_remote_monitor_warns_when_the_server_is_unreachable():
    x, y = _data()
    with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[kt.callbacks.RemoteMonitor(root="http://127.0.0.1:9")])
