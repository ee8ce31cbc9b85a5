"""`kt.utils.PyDataset` in fit/evaluate/predict: the same numbers as the same batches given as arrays."""

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt

N, BATCH = 22, 5  # 5 batches, the last one partial
RNG = np.random.default_rng(0)
X = RNG.normal(size=(N, 4)).astype("float32")
Y = RNG.normal(size=(N, 2)).astype("float32")
W = RNG.uniform(0.5, 2.0, size=N).astype("float32")


class Batches(kt.utils.PyDataset):
    def __init__(self, with_y=True, with_weights=False, **kwargs):
        super().__init__(**kwargs)
        self.with_y, self.with_weights = with_y, with_weights
        self.read, self.epochs_begun, self.epochs_ended = [], 0, 0

    def __len__(self):
        return int(np.ceil(N / BATCH))

    def __getitem__(self, index):
        self.read.append(index)
        part = slice(index * BATCH, (index + 1) * BATCH)
        if not self.with_y:
            return X[part]
        return (X[part], Y[part], W[part]) if self.with_weights else (X[part], Y[part])

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


def _model():
    torch.manual_seed(0)
    model = kt.Sequential([kt.Input((4,)), kt.layers.Dense(3, activation="tanh"), kt.layers.Dense(2)])
    model.compile(optimizer=kt.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    return model


READERS = {  # how the batches are read
    "in-process": {},
    "threads": {"workers": 3, "max_queue_size": 2},
    "processes": {"workers": 2, "use_multiprocessing": True},
}


@pytest.mark.parametrize("weights", [False, True], ids=["xy", "xyw"])
@pytest.mark.parametrize("reader", sorted(READERS))
def test_same_results_as_arrays(reader, weights):
    data = Batches(with_weights=weights, **READERS[reader])
    by_dataset, by_arrays = _model(), _model()
    history = by_dataset.fit(data, epochs=3, shuffle=False, verbose=0).history
    expected = by_arrays.fit(X, Y, sample_weight=W if weights else None, batch_size=BATCH, epochs=3,
                             shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-5)
    for got, want in zip(by_dataset.get_weights(), by_arrays.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        by_dataset.evaluate(data, verbose=0),
        by_arrays.evaluate(X, Y, sample_weight=W if weights else None, batch_size=BATCH, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(by_dataset.predict(Batches(with_y=False, **READERS[reader]), verbose=0),
                               by_arrays.predict(X, batch_size=BATCH, verbose=0), rtol=1e-5, atol=1e-6)
    if reader != "processes":  # worker processes count calls in their own copies
        assert (data.epochs_begun, data.epochs_ended) == (4, 4)  # 3 fit epochs + 1 evaluate


@pytest.mark.parametrize("shuffle, steps", [(False, None), (True, None), (False, 2)])
def test_batch_order_and_epoch_hooks(shuffle, steps):
    data = Batches()
    _model().fit(data, epochs=3, shuffle=shuffle, steps_per_epoch=steps, verbose=0)
    epochs = [data.read[i:i + (steps or 5)] for i in range(0, len(data.read), steps or 5)]
    assert len(epochs) == 3 and data.epochs_ended == 3
    for order in epochs:
        if shuffle:
            assert sorted(order) == list(range(5))  # every batch once, in a per-epoch order
        else:
            assert order == list(range(steps or 5))
    if shuffle:
        assert len({tuple(order) for order in epochs}) > 1  # 3 epochs all in one order: 1 chance in 120**2


def test_endless_dataset_with_steps():
    class Endless(kt.utils.PyDataset):
        num_batches = None

        def __getitem__(self, index):
            return X[:BATCH], Y[:BATCH]

    data = Endless()
    with pytest.warns(UserWarning, match="shuffle"):  # as Keras: an endless dataset shuffles itself
        history = _model().fit(data, epochs=2, steps_per_epoch=3, verbose=0).history
    assert len(history["loss"]) == 2


def test_keras_names_and_arguments():
    assert kt.utils.Sequence is kt.utils.PyDataset and keras.utils.Sequence is keras.utils.PyDataset
    data = Batches(workers=4, use_multiprocessing=True, max_queue_size=7)
    assert (data.workers, data.use_multiprocessing, data.max_queue_size, data.num_batches) == (4, True, 7, 5)
    for bad in ({"workers": 0}, {"max_queue_size": -1}, {"workers": 1.5}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            Batches(**bad)

    class NoSuper(kt.utils.PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

        def __getitem__(self, index):
            return X[:BATCH], Y[:BATCH]

    with pytest.warns(UserWarning, match="super"):
        assert NoSuper().workers == 1
    with pytest.raises(ValueError, match="y"):
        _model().fit(data, Y, verbose=0)
