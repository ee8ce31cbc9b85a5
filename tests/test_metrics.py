"""Metrics against Keras 3: accumulated over several batches, with and without sample weights."""

import numpy as np
import pytest
import torch

import kerastorch as kt

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(1)
PROBS = RNG.dirichlet(np.ones(6), size=40).astype("float32")
ONE_HOT = np.eye(6, dtype="float32")[RNG.integers(0, 6, size=40)]
LABELS = RNG.integers(0, 6, size=(40, 1))
BIN_TRUE = RNG.integers(0, 2, size=(40, 1)).astype("float32")
BIN_PROB = RNG.uniform(0, 1, size=(40, 1)).astype("float32")
REG_TRUE = RNG.normal(size=(40, 3)).astype("float32")
REG_PRED = RNG.normal(size=(40, 3)).astype("float32")
WEIGHTS = RNG.uniform(0, 2, size=40).astype("float32")

CASES = [
    ("Accuracy", {}, LABELS, RNG.integers(0, 6, size=(40, 1))),
    ("BinaryAccuracy", {}, BIN_TRUE, BIN_PROB),
    ("BinaryAccuracy", {"threshold": 0.3}, BIN_TRUE, BIN_PROB),
    ("CategoricalAccuracy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalAccuracy", {}, LABELS, PROBS),
    ("TopKCategoricalAccuracy", {"k": 2}, ONE_HOT, PROBS),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, LABELS, PROBS),
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED),
    ("RootMeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("BinaryCrossentropy", {}, BIN_TRUE, BIN_PROB),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("AUC", {}, BIN_TRUE, BIN_PROB),
    ("AUC", {"num_thresholds": 50}, BIN_TRUE, BIN_PROB),
    ("Precision", {}, BIN_TRUE, BIN_PROB),
    ("Recall", {}, BIN_TRUE, BIN_PROB),
    ("TruePositives", {}, BIN_TRUE, BIN_PROB),
    ("FalsePositives", {"thresholds": 0.3}, BIN_TRUE, BIN_PROB),
    ("TrueNegatives", {"thresholds": [0.1, 0.5, 0.9]}, BIN_TRUE, BIN_PROB),
    ("FalseNegatives", {"thresholds": [0.0, 0.25, 1.0]}, ONE_HOT, PROBS),
]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,kwargs,y_true,y_pred", CASES)
def test_metric_matches_keras_over_batches(name, kwargs, y_true, y_pred, weighted):
    ours, theirs = getattr(kt.metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
    for start in range(0, 40, 16):  # batches of 16, 16, 8
        part = slice(start, start + 16)
        weight = WEIGHTS[part] if weighted else None
        ours.update_state(torch.as_tensor(y_true[part]), torch.as_tensor(y_pred[part]), sample_weight=weight)
        theirs.update_state(y_true[part], y_pred[part], sample_weight=weight)
    expected = keras.ops.convert_to_numpy(theirs.result())
    np.testing.assert_allclose(ours.result().numpy(), expected, rtol=1e-5, atol=1e-5)
    ours.reset_state()
    assert not ours.result().any()


@pytest.mark.parametrize("name", ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"])
def test_confusion_counts_config_and_device(name):
    ours, theirs = (getattr(lib.metrics, name)([0.2, 0.6], name="counts") for lib in (kt, keras))
    assert ours.get_config() == theirs.get_config()
    assert [v.shape for v in ours.variables] == [tuple(v.shape) for v in theirs.variables]
    with pytest.raises(ValueError, match=rf"{name}.*\[1.5\]"):
        getattr(kt.metrics, name)([0.5, 1.5])
    ours.to("meta")  # a host sync would fail on meta tensors: the counts stay on the device
    ours.update_state(torch.ones(4, 1, device="meta"), torch.ones(4, 1, device="meta"))
    assert ours.result().device.type == "meta"


def test_mean_and_sum():
    mean, total = kt.metrics.Mean(), kt.metrics.Sum()
    for metric in (mean, total):
        metric.update_state(torch.tensor([1.0, 2.0, 3.0]), sample_weight=torch.tensor([1.0, 0.0, 1.0]))
        metric.update_state(torch.tensor(6.0))
    assert float(mean.result()) == pytest.approx(10.0 / 3.0)
    assert float(total.result()) == pytest.approx(10.0)


def test_state_moves_to_device_and_stays_there():
    metric = kt.metrics.SparseCategoricalAccuracy().to("meta")
    assert all(v.device.type == "meta" for v in metric.variables)
    assert metric.total.device.type == "meta"


def test_get_and_custom_function():
    assert isinstance(kt.metrics.get("mae"), kt.metrics.MeanAbsoluteError)
    assert isinstance(kt.metrics.get("auc"), kt.metrics.AUC)
    assert isinstance(kt.metrics.get("false_negatives"), kt.metrics.FalseNegatives)  # Keras's snake-case name

    def within_one(y_true, y_pred):
        return (torch.abs(y_true - y_pred) <= 1).float()

    metric = kt.metrics.get(within_one)
    metric.update_state(torch.tensor([0.0, 0.0, 0.0, 0.0]), torch.tensor([0.5, 2.0, 1.0, -3.0]))
    assert metric.name == "within_one" and float(metric.result()) == 0.5
    with pytest.raises(ValueError, match="Unknown metric 'acuracy'"):
        kt.metrics.get("acuracy")
    with pytest.raises(ValueError, match="curve must be one of"):
        kt.metrics.AUC(curve="XY")
