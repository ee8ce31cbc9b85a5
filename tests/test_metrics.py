"""Metrics: configs, device placement, get() (the table against Keras 3, accumulated over several
batches with and without sample weights, is in test_metrics_losses_catalogue.py)."""

import pytest
import torch

import kerastorch as kt

keras = pytest.importorskip("keras")


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
