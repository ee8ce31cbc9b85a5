"""Every `keras.metrics` and `keras.losses` name against Keras 3: one table, a row per class.

Metrics: the same batches (three `update_state` calls, with and without sample weights) give the
same `result()` within 1e-5, the same state variables (names, shapes), the same `get_config`, and
configs load in both libraries. Losses: every reduction, with and without sample weights, the same
value; the functional forms equal Keras's per-sample values.
"""

import re

import numpy as np
import pytest
import torch

import kerastorch as kt

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(7)
N = 40
PROBS = RNG.dirichlet(np.ones(6), size=N).astype("float32")
LOGITS = RNG.normal(size=(N, 6)).astype("float32")
ONE_HOT = np.eye(6, dtype="float32")[RNG.integers(0, 6, size=N)]
LABELS = RNG.integers(0, 6, size=(N, 1))
BIN_TRUE = RNG.integers(0, 2, size=(N, 1)).astype("float32")
BIN_PROB = RNG.uniform(0, 1, size=(N, 1)).astype("float32")
ML_TRUE = RNG.integers(0, 2, size=(N, 4)).astype("float32")
ML_PROB = RNG.uniform(0, 1, size=(N, 4)).astype("float32")
REG_TRUE = RNG.normal(size=(N, 5)).astype("float32")
REG_PRED = (REG_TRUE + RNG.normal(scale=0.7, size=(N, 5))).astype("float32")
POS_PRED = RNG.uniform(0.1, 3, size=(N, 5)).astype("float32")
SIGNS = RNG.choice([-1.0, 1.0], size=(N, 5)).astype("float32")
SEG_TRUE = RNG.integers(0, 4, size=(N, 3, 3))
SEG_PRED = np.where(RNG.uniform(size=(N, 3, 3)) < 0.6, SEG_TRUE, RNG.integers(0, 4, size=(N, 3, 3)))
SEG_ONE_HOT = np.eye(4, dtype="float32")[SEG_TRUE]
SEG_SCORES = RNG.normal(size=(N, 3, 3, 4)).astype("float32")
WEIGHTS = RNG.uniform(0, 2, size=N).astype("float32")
INT_WEIGHTS = RNG.integers(0, 3, size=N)  # IoU states are int32 in Keras: whole weights
SEG_WEIGHTS = RNG.integers(0, 3, size=(N, 3, 3))  # Keras's IoU wants one weight per value

# (class name, constructor arguments, y_true, y_pred, sample weights)
METRICS = [
    ("Mean", {}, None, REG_PRED, WEIGHTS),
    ("Sum", {}, None, REG_PRED, WEIGHTS),
    ("Accuracy", {}, LABELS, RNG.integers(0, 6, size=(N, 1)), WEIGHTS),
    ("BinaryAccuracy", {}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("BinaryAccuracy", {"threshold": 0.3}, ML_TRUE, ML_PROB, WEIGHTS),
    ("CategoricalAccuracy", {}, ONE_HOT, PROBS, WEIGHTS),
    ("SparseCategoricalAccuracy", {}, LABELS, PROBS, WEIGHTS),
    ("TopKCategoricalAccuracy", {"k": 2}, ONE_HOT, PROBS, WEIGHTS),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, LABELS, PROBS, WEIGHTS),
    ("SparseTopKCategoricalAccuracy", {"k": 2, "from_sorted_ids": True}, LABELS,
     np.argsort(-PROBS, axis=-1).astype("int64"), WEIGHTS),
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("MeanAbsolutePercentageError", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("MeanSquaredLogarithmicError", {}, np.abs(REG_TRUE), POS_PRED, WEIGHTS),
    ("RootMeanSquaredError", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("CosineSimilarity", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("LogCoshError", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("R2Score", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("R2Score", {"class_aggregation": "variance_weighted_average", "num_regressors": 2}, REG_TRUE, REG_PRED, WEIGHTS),
    ("R2Score", {"class_aggregation": None}, REG_TRUE, REG_PRED, WEIGHTS),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("CategoricalCrossentropy", {"from_logits": True}, ONE_HOT, LOGITS, WEIGHTS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS, WEIGHTS),
    ("KLDivergence", {}, ONE_HOT * 0.8 + 0.03, PROBS, WEIGHTS),
    ("Poisson", {}, np.abs(REG_TRUE), POS_PRED, WEIGHTS),
    ("Hinge", {}, (SIGNS > 0).astype("float32"), REG_PRED, WEIGHTS),
    ("SquaredHinge", {}, SIGNS, REG_PRED, WEIGHTS),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS, WEIGHTS),
    ("AUC", {}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("AUC", {"curve": "PR", "num_thresholds": 50}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, ML_TRUE, ML_PROB, WEIGHTS),
    ("AUC", {"curve": "PRGAIN", "summation_method": "minoring"}, ML_TRUE, ML_PROB, WEIGHTS),
    ("AUC", {"multi_label": True, "label_weights": [1.0, 2.0, 0.5, 1.0]}, ML_TRUE, ML_PROB, WEIGHTS),
    ("AUC", {"thresholds": [0.2, 0.5, 0.7], "from_logits": True}, ML_TRUE, REG_PRED[:, :4], WEIGHTS),
    ("Precision", {}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("Precision", {"thresholds": [0.2, 0.6], "class_id": 2}, ML_TRUE, ML_PROB, WEIGHTS),
    ("Precision", {"top_k": 2}, ML_TRUE, ML_PROB, WEIGHTS),
    ("Recall", {"thresholds": [0.0, 0.5, 1.0]}, ML_TRUE, ML_PROB, WEIGHTS),
    ("Recall", {"top_k": 1, "class_id": 1}, ML_TRUE, ML_PROB, WEIGHTS),
    ("TruePositives", {}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("FalsePositives", {"thresholds": 0.3}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("TrueNegatives", {"thresholds": [0.1, 0.5, 0.9]}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("FalseNegatives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, ML_TRUE, ML_PROB, WEIGHTS),
    ("PrecisionAtRecall", {"recall": 0.6}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("RecallAtPrecision", {"precision": 0.5, "num_thresholds": 30}, ML_TRUE, ML_PROB, WEIGHTS),
    ("SensitivityAtSpecificity", {"specificity": 0.5, "class_id": 3}, ML_TRUE, ML_PROB, WEIGHTS),
    ("SpecificityAtSensitivity", {"sensitivity": 0.4, "num_thresholds": 1}, BIN_TRUE, BIN_PROB, WEIGHTS),
    ("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, SEG_TRUE, SEG_PRED, SEG_WEIGHTS),
    ("IoU", {"num_classes": 4, "target_class_ids": [1], "ignore_class": 0, "sparse_y_pred": False},
     SEG_TRUE, SEG_SCORES, SEG_WEIGHTS),
    ("MeanIoU", {"num_classes": 4}, SEG_TRUE, SEG_PRED, SEG_WEIGHTS),
    ("MeanIoU", {"num_classes": 4, "dtype": "float32"}, SEG_TRUE, SEG_PRED, SEG_WEIGHTS * 0.7),
    ("BinaryIoU", {"threshold": 0.3}, BIN_TRUE, BIN_PROB, INT_WEIGHTS),
    ("BinaryIoU", {"target_class_ids": [1]}, ML_TRUE, ML_PROB, SEG_WEIGHTS[:, 0, :2].repeat(2, axis=1)),
    ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 3]}, SEG_ONE_HOT, SEG_SCORES, SEG_WEIGHTS),
    ("OneHotMeanIoU", {"num_classes": 4}, SEG_ONE_HOT, SEG_SCORES, SEG_WEIGHTS),
    ("F1Score", {}, ML_TRUE, ML_PROB, WEIGHTS),
    ("F1Score", {"average": "macro", "threshold": 0.5}, ML_TRUE, ML_PROB, WEIGHTS),
    ("FBetaScore", {"average": "micro", "beta": 2.0, "threshold": 0.4}, ML_TRUE, ML_PROB, WEIGHTS),
    ("FBetaScore", {"average": "weighted", "beta": 0.5}, ONE_HOT, PROBS, WEIGHTS),
    ("PearsonCorrelation", {}, REG_TRUE, REG_PRED, WEIGHTS),
    ("ConcordanceCorrelation", {}, REG_TRUE, REG_PRED, WEIGHTS),
]


def _row_id(row):
    name, kwargs = row[0], row[1]
    return name + ("-" + "-".join(f"{k}={v}" for k, v in kwargs.items()) if kwargs else "")


def _numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()


def _plain(config):
    """Keras keeps AUC's label_weights as a tensor in its config; compare values."""
    return {k: _numpy(v).tolist() if hasattr(v, "shape") else v for k, v in config.items()}


# Arguments Keras accepts but leaves out of its config (so they are lost on a round trip); ours keep them.
METRIC_EXTRAS = {"CosineSimilarity": {"axis"}}
LOSS_EXTRAS = {"CosineSimilarity": {"axis"}, "Huber": {"delta"}, "SparseCategoricalCrossentropy": {"axis"}}


def _without_extras(config, name, extras=METRIC_EXTRAS):
    return {k: v for k, v in config.items() if k not in extras.get(name, ())}


def _base_name(name):
    return re.sub(r"_\d+$", "", name)


def _update(metric, y_true, y_pred, weights, as_torch):
    for start in range(0, N, 16):  # batches of 16, 16, 8
        part = slice(start, start + 16)
        arrays = [a[part] if a is not None else None for a in (y_true, y_pred, weights)]
        if as_torch:
            arrays = [torch.as_tensor(a) if a is not None else None for a in arrays]
        true, pred, weight = arrays
        if true is None:
            metric.update_state(pred, sample_weight=weight)
        else:
            metric.update_state(true, pred, sample_weight=weight)


@pytest.mark.parametrize("row", METRICS, ids=[_row_id(r) for r in METRICS])
def test_metric_matches_keras(row):
    name, kwargs, y_true, y_pred, weights = row
    for weighted in (False, True):
        ours, theirs = getattr(kt.metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs)
        _update(ours, y_true, y_pred, weights if weighted else None, as_torch=True)
        _update(theirs, y_true, y_pred, weights if weighted else None, as_torch=False)
        expected, got = _numpy(theirs.result()), _numpy(ours.result())
        assert got.shape == expected.shape, (name, weighted)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=f"{name} weighted={weighted}")
    # state: Keras's variable names, shapes and dtypes (what Keras saves)
    assert [(v.path, tuple(v.shape)) for v in ours.variables] == [
        (v.path.replace(theirs.name, ours.name, 1), tuple(v.shape)) for v in theirs.variables]
    assert [str(v.dtype).removeprefix("torch.") for v in ours.variables] == [v.dtype for v in theirs.variables]
    # config: Keras's keys and values (the name up to Keras's numbering), both ways
    ours_config, theirs_config = ours.get_config(), _plain(theirs.get_config())
    assert _base_name(ours_config.pop("name")) == _base_name(theirs_config.pop("name"))
    assert _without_extras(ours_config, name) == theirs_config
    config = ours.get_config()
    assert type(ours).from_config(config).get_config() == config
    assert _plain(getattr(keras.metrics, name).from_config(config).get_config()) == _without_extras(config, name)
    loaded = type(ours).from_config(theirs.get_config()).get_config()
    assert _without_extras(loaded, name) == _plain(theirs.get_config())
    ours.reset_state()
    assert all(not v.any() for v in ours.variables)


def test_metric_default_names_are_numbered_like_keras():
    first, second = kt.metrics.Precision(), kt.metrics.Precision()
    assert _base_name(first.name) == "precision" and second.name != first.name
    assert re.fullmatch(r"precision_\d+", second.name)
    assert _base_name(kt.metrics.MeanIoU(3).name) == "mean_io_u"
    assert kt.metrics.Mean().name == "mean" and kt.metrics.Mean().name == "mean"  # explicit defaults stay

    class MyLoss(kt.losses.Loss):
        def call(self, y_true, y_pred):
            return y_pred - y_true

    assert _base_name(MyLoss().name) == "my_loss" and MyLoss().name != MyLoss().name
    assert kt.metrics.Mean(dtype="float64").result().dtype == torch.float64
    assert kt.metrics.MeanIoU(3).total_cm.dtype == torch.int32
    with pytest.warns(UserWarning, match="float sample weights are truncated"):
        kt.metrics.MeanIoU(3).update_state([0, 1], [0, 2], sample_weight=np.array([0.5, 1.5]))


def test_metric_state_stays_on_the_device():
    """No host sync in update_state: on meta tensors any `.item()` or `.cpu()` would raise. State not
    placed with `to()` follows the inputs' device (as Keras's state lives on the default device)."""
    for metric, y_true, y_pred in [
        (kt.metrics.F1Score(average="macro"), torch.ones(4, 3), torch.rand(4, 3)),
        (kt.metrics.MeanIoU(3), torch.zeros(4, 5, dtype=torch.long), torch.ones(4, 5, dtype=torch.long)),
        (kt.metrics.AUC(curve="PR"), torch.ones(4, 1), torch.rand(4, 1)),
        (kt.metrics.AUC(multi_label=True), torch.ones(4, 3), torch.rand(4, 3)),
        (kt.metrics.PrecisionAtRecall(0.5), torch.ones(4, 1), torch.rand(4, 1)),
        (kt.metrics.Precision(thresholds=[0.3, 0.6], top_k=2), torch.ones(4, 3), torch.rand(4, 3)),
        (kt.metrics.PearsonCorrelation(), torch.rand(4, 5), torch.rand(4, 5)),
        (kt.metrics.RootMeanSquaredError(), torch.rand(4, 5), torch.rand(4, 5)),
        (kt.metrics.TruePositives(), torch.ones(4, 1), torch.rand(4, 1)),
    ]:
        weight = torch.ones(4, device="meta", dtype=torch.long if isinstance(metric, kt.metrics.MeanIoU) else None)
        metric.update_state(y_true.to("meta"), y_pred.to("meta"), sample_weight=weight)
        assert metric.result().device.type == "meta"
        assert metric.variables and all(v.device.type == "meta" for v in metric.variables)
    r2 = kt.metrics.R2Score().to("meta")
    r2.update_state(torch.rand(4, 2, device="meta"), torch.rand(4, 2, device="meta"))
    assert all(v.device.type == "meta" for v in r2.variables)


@pytest.mark.parametrize("name", [
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
    "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
    "sparse_categorical_crossentropy", "squared_hinge", "pearson_correlation", "concordance_correlation",
    "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
])
def test_metric_functions_match_keras(name):
    y_true, y_pred = {
        "sparse_categorical_crossentropy": (LABELS, PROBS), "sparse_categorical_accuracy": (LABELS, PROBS),
        "sparse_top_k_categorical_accuracy": (LABELS[:, 0], PROBS), "categorical_crossentropy": (ONE_HOT, PROBS),
        "categorical_focal_crossentropy": (ONE_HOT, PROBS), "categorical_accuracy": (ONE_HOT, PROBS),
        "top_k_categorical_accuracy": (ONE_HOT, PROBS), "categorical_hinge": (ONE_HOT, LOGITS),
        "binary_crossentropy": (ML_TRUE, ML_PROB), "binary_focal_crossentropy": (ML_TRUE, ML_PROB),
        "binary_accuracy": (ML_TRUE, ML_PROB), "kl_divergence": (ONE_HOT * 0.8 + 0.03, PROBS),
        "poisson": (np.abs(REG_TRUE), POS_PRED), "mean_squared_logarithmic_error": (np.abs(REG_TRUE), POS_PRED),
    }.get(name, (REG_TRUE, REG_PRED))
    ours = getattr(kt.metrics, name)(torch.as_tensor(y_true), torch.as_tensor(y_pred))
    theirs = getattr(keras.metrics, name)(y_true, y_pred)
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=1e-5, atol=1e-5)
    if hasattr(kt.losses, name):
        assert getattr(kt.metrics, name) is getattr(kt.losses, name)  # the loss function, not a copy


EMBEDDINGS = (lambda e: e / np.linalg.norm(e, axis=-1, keepdims=True))(RNG.normal(size=(N, 8))).astype("float32")
CTC_LOGITS = RNG.normal(size=(N, 12, 5)).astype("float32")
CTC_LABELS = np.where(np.arange(4) < RNG.integers(1, 5, size=(N, 1)), RNG.integers(1, 5, size=(N, 4)), 0)

# (class name, constructor arguments, y_true, y_pred)
LOSSES = [
    ("MeanSquaredError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsoluteError", {}, REG_TRUE, REG_PRED),
    ("MeanAbsolutePercentageError", {}, REG_TRUE, REG_PRED),
    ("MeanSquaredLogarithmicError", {}, np.abs(REG_TRUE), POS_PRED),
    ("CosineSimilarity", {}, REG_TRUE, REG_PRED),
    ("Huber", {"delta": 0.5}, REG_TRUE, REG_PRED),
    ("LogCosh", {}, REG_TRUE, REG_PRED),
    ("Hinge", {}, SIGNS, REG_PRED),
    ("Hinge", {}, BIN_TRUE, BIN_PROB),
    ("SquaredHinge", {}, (SIGNS > 0).astype("float32"), REG_PRED),
    ("CategoricalHinge", {}, ONE_HOT, LOGITS),
    ("KLDivergence", {}, ONE_HOT * 0.8 + 0.03, PROBS),
    ("Poisson", {}, np.abs(REG_TRUE), POS_PRED),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, ML_TRUE, ML_PROB),
    ("BinaryCrossentropy", {"from_logits": True}, ML_TRUE, REG_PRED[:, :4]),
    ("BinaryFocalCrossentropy", {}, ML_TRUE, ML_PROB),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "from_logits": True,
                                 "label_smoothing": 0.1}, ML_TRUE, REG_PRED[:, :4]),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.2}, ONE_HOT, LOGITS),
    ("CategoricalFocalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 3.0, "from_logits": True, "label_smoothing": 0.1},
     ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS[:, 0], LOGITS),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.7}, LABELS[:, 0], PROBS),
    ("Dice", {}, ML_TRUE, ML_PROB),
    ("Dice", {"axis": 1}, ML_TRUE, ML_PROB),
    ("Tversky", {"alpha": 0.3, "beta": 0.7, "axis": 1}, ML_TRUE, ML_PROB),
    ("Tversky", {}, ML_TRUE, ML_PROB),
    ("Circle", {}, LABELS[:, 0] % 3, EMBEDDINGS),
    ("Circle", {"gamma": 10.0, "margin": 0.25, "remove_diagonal": False}, LABELS[:, 0] % 3, EMBEDDINGS),
    ("CTC", {}, CTC_LABELS, CTC_LOGITS),
]


@pytest.mark.parametrize("row", LOSSES, ids=[_row_id(r) for r in LOSSES])
def test_loss_matches_keras(row):
    name, kwargs, y_true, y_pred = row
    for reduction in ("sum_over_batch_size", "sum", "mean_with_sample_weight", "none"):
        for weights in (None, WEIGHTS):
            ours = getattr(kt.losses, name)(reduction=reduction, **kwargs)
            theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
            got = ours(torch.as_tensor(y_true), torch.as_tensor(y_pred), sample_weight=weights)
            expected = _numpy(theirs(y_true, y_pred, sample_weight=weights))
            np.testing.assert_allclose(_numpy(got), expected, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{name} reduction={reduction} weighted={weights is not None}")
    config, theirs_config = ours.get_config(), theirs.get_config()
    assert _without_extras(config, name, LOSS_EXTRAS) == theirs_config
    assert type(ours).from_config(config).get_config() == config
    assert getattr(keras.losses, name).from_config(config).get_config() == theirs_config
    entry = kt.losses.serialize(ours)
    assert {**entry, "config": _without_extras(entry["config"], name, LOSS_EXTRAS)} == keras.losses.serialize(theirs)
    assert kt.losses.deserialize(entry).get_config() == config
    function = getattr(kt.losses, ours.fn.__name__)
    assert kt.losses.deserialize(kt.losses.serialize(function)) is function


def test_every_keras_metric_and_loss_name_exists():
    for module, ours in ((keras.metrics, kt.metrics), (keras.losses, kt.losses)):
        assert [n for n in dir(module) if not n.startswith("_") and not hasattr(ours, n)] == []
    assert kt.Loss is kt.losses.Loss and kt.Metric is kt.metrics.Metric  # keras.Loss / keras.Metric


def test_losses_accept_names_and_keras_entries():
    assert isinstance(kt.losses.get("dice"), kt.losses.Dice)
    assert isinstance(kt.losses.get("BinaryFocalCrossentropy"), kt.losses.BinaryFocalCrossentropy)
    assert isinstance(kt.metrics.get("R2Score"), kt.metrics.R2Score)
    assert isinstance(kt.losses.get({"module": "keras.losses", "class_name": "Tversky", "config": {"alpha": 0.2}}),
                      kt.losses.Tversky)
    assert kt.losses.deserialize("binary_focal_crossentropy") is kt.losses.binary_focal_crossentropy
    with pytest.raises(ValueError, match="q must be in the interval"):
        kt.losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ValueError, match="ctc expected integer labels"):
        kt.losses.CTC()(torch.ones(4, 3, 2), torch.ones(4, 3, 2))
    assert isinstance(kt.metrics.get("f1_score"), kt.metrics.F1Score)
    metric = kt.metrics.deserialize(kt.metrics.serialize(kt.metrics.FBetaScore(beta=2.0, average="macro")))
    assert metric.beta == 2.0 and metric.average == "macro"
    wrapper = kt.metrics.MeanMetricWrapper(kt.metrics.hinge, name="h")
    assert kt.metrics.MeanMetricWrapper.from_config(wrapper.get_config())._fn is kt.losses.hinge
    with pytest.raises(ValueError, match="average must be"):
        kt.metrics.F1Score(average="mean")
    with pytest.raises(ValueError, match="beta must be a Python float"):
        kt.metrics.FBetaScore(beta=2)


def _twins(n_out, activation):
    """The same small model in both libraries (Keras's weights copied into ours), seeded so the
    training run does not depend on what the process drew before."""
    keras.utils.set_random_seed(0)
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                               keras.layers.Dense(n_out, activation=activation)])
    ours = kt.Sequential([kt.Input((5,)), kt.layers.Dense(8, activation="relu"),
                          kt.layers.Dense(n_out, activation=activation)])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("case", ["multilabel", "regression", "per_class"])
def test_fit_and_evaluate_report_keras_keys_and_values(case, capsys):
    if case == "per_class":  # vector results: one value per class, shown as their mean by the progress bar
        y = np.eye(4, dtype="float32")[LABELS[:, 0] % 4]
        x, loss, activation, n_out = REG_TRUE, "categorical_crossentropy", "softmax", 4
        metrics = lambda lib: [lib.metrics.F1Score(), lib.metrics.Precision(thresholds=[0.3, 0.6]),  # noqa: E731
                               lib.metrics.OneHotIoU(4, [0, 1]), "f1_score"]  # two of one name: f1_score_1
    elif case == "multilabel":
        x, y, loss, activation, n_out = REG_TRUE, ML_TRUE, "binary_focal_crossentropy", "sigmoid", 4
        metrics = lambda lib: [lib.metrics.F1Score(average="macro", threshold=0.5), lib.metrics.BinaryIoU(),  # noqa: E731
                               lib.metrics.AUC(multi_label=True), lib.metrics.PrecisionAtRecall(0.5), "f1_score"]
    else:
        x, y, loss, activation, n_out = REG_PRED, REG_TRUE[:, :2], "log_cosh", None, 2
        metrics = lambda lib: [lib.metrics.R2Score(), lib.metrics.PearsonCorrelation(),  # noqa: E731
                               lib.metrics.ConcordanceCorrelation(), "msle", lib.metrics.LogCoshError()]
    ours, theirs = _twins(n_out, activation)
    for model, lib in ((ours, kt), (theirs, keras)):
        model.compile(optimizer="sgd", loss=loss, metrics=metrics(lib))
    got = ours.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    expected = theirs.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    # the same keys (up to the per-process numbering of default names, e.g. auc_3) and values
    assert len(got) == len(expected)  # two metrics of one name do not collapse into one key
    if case == "per_class":
        assert {"f1_score", "f1_score_1"} <= set(got) and {"f1_score", "f1_score_1"} <= set(expected)
    got = {_base_name(k): v for k, v in got.items()}
    expected = {_base_name(k): _numpy(v) for k, v in expected.items()}
    assert sorted(got) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-4, atol=1e-5, err_msg=key)
    history = ours.fit(x, y, batch_size=16, epochs=2, verbose=2, validation_split=0.25)
    assert "val_loss" in capsys.readouterr().out
    assert {_base_name(k) for k in history.history} == {*expected, *(f"val_{k}" for k in expected)}
    assert all(np.isfinite(v).all() for v in history.history.values())


@pytest.mark.parametrize("weighted", [False, True])
def test_masked_predictions_count_only_unmasked_entries(weighted):
    """A masked model's output (`y_pred._keras_mask`) leaves masked samples out of metrics and losses."""
    mask = torch.as_tensor(RNG.uniform(size=16) > 0.4)
    weights = WEIGHTS[:16] if weighted else None
    results = []
    for lib in (kt, keras):
        y_pred = torch.as_tensor(REG_PRED[:16]).clone()
        y_pred._keras_mask = mask
        metric = lib.metrics.MeanAbsoluteError()
        metric.update_state(torch.as_tensor(REG_TRUE[:16]), y_pred, sample_weight=weights)
        loss = lib.losses.MeanSquaredError()(torch.as_tensor(REG_TRUE[:16]), y_pred, sample_weight=weights)
        results.append([_numpy(metric.result()), _numpy(loss)])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)


def test_stateless_metric_api_matches_keras():
    ours, theirs = kt.metrics.F1Score(average="macro"), keras.metrics.F1Score(average="macro")
    for metric, convert in ((ours, torch.as_tensor), (theirs, np.asarray)):
        metric.update_state(convert(ML_TRUE[:8]), convert(ML_PROB[:8]))
    state = [v.clone() for v in ours.variables]
    new_state = ours.stateless_update_state(state, torch.as_tensor(ML_TRUE[8:]), torch.as_tensor(ML_PROB[8:]))
    assert all(torch.equal(v, s) for v, s in zip(ours.variables, state))  # the metric's own state is unchanged
    theirs_state = theirs.stateless_update_state(theirs.variables, ML_TRUE[8:], ML_PROB[8:])
    np.testing.assert_allclose(_numpy(ours.stateless_result(new_state)), _numpy(theirs.stateless_result(theirs_state)),
                               rtol=1e-5, atol=1e-6)
    assert all(not v.any() for v in ours.stateless_reset_state())
    with pytest.raises(ValueError, match="one tensor per variable"):
        ours.stateless_result(state[:1])
    wrapper = kt.losses.LossFunctionWrapper(kt.losses.dice, axis=1)
    assert wrapper.get_config()["fn"]["config"] == "dice"
    assert kt.losses.LossFunctionWrapper.from_config(wrapper.get_config()).fn is kt.losses.dice


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # optimizer slots are not saved
def test_keras_files_carry_the_new_metrics_and_losses(tmp_path):
    """A model compiled with the new classes saves a compile_config Keras restores, and back."""
    ours, theirs = _twins(4, "sigmoid")
    ours.compile(optimizer="adam", loss=kt.losses.BinaryFocalCrossentropy(gamma=3.0),
                 metrics=[kt.metrics.F1Score(average="micro", name="f1"), kt.metrics.BinaryIoU(name="biou")])
    ours.save(tmp_path / "ours.keras")
    loaded = keras.models.load_model(tmp_path / "ours.keras")
    assert isinstance(loaded.loss, keras.losses.BinaryFocalCrossentropy) and loaded.loss.gamma == 3.0
    theirs.compile(optimizer="adam", loss=keras.losses.Tversky(alpha=0.3, beta=0.7),
                   metrics=[keras.metrics.R2Score(name="r2"), keras.metrics.RecallAtPrecision(0.6, name="rap")])
    theirs.save(tmp_path / "theirs.keras")
    back = kt.models.load_model(tmp_path / "theirs.keras")
    assert isinstance(back._compiled_loss.spec, kt.losses.Tversky) and back._compiled_loss.spec.get_config()["beta"] == 0.7
    got = back.evaluate(REG_TRUE[:16, :5], ML_TRUE[:16], verbose=0, return_dict=True)
    assert set(got) == {"loss", "r2", "rap"}


def test_metrics_held_by_a_custom_metric_are_part_of_its_state():
    class Both(kt.metrics.Metric):  # Keras's pattern: a metric built from other metrics
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.mae, self.mse = kt.metrics.MeanAbsoluteError(), kt.metrics.MeanSquaredError()

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.mae.update_state(y_true, y_pred, sample_weight)
            self.mse.update_state(y_true, y_pred, sample_weight)

        def result(self):
            return self.mae.result() + self.mse.result()

    metric = Both()
    assert len(metric.variables) == 4 and _base_name(metric.name) == "both"
    metric.update_state(torch.as_tensor(REG_TRUE), torch.as_tensor(REG_PRED))
    expected = float(kt.metrics.mean_absolute_error(torch.as_tensor(REG_TRUE), torch.as_tensor(REG_PRED)).mean()
                     + kt.metrics.mean_squared_error(torch.as_tensor(REG_TRUE), torch.as_tensor(REG_PRED)).mean())
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    assert float(metric.stateless_result(metric.stateless_reset_state())) == 0.0
    metric.reset_state()
    assert all(not v.any() for v in metric.variables)
    metric.to("meta")
    assert all(v.device.type == "meta" for v in metric.variables)


@pytest.mark.cuda
def test_metric_updates_never_wait_for_the_gpu():
    """With CUDA's sync debugging set to error, every metric's update_state runs (results may sync)."""
    cuda = torch.device("cuda")
    rows = [r for r in METRICS if r[0] not in ("Mean", "Sum")]
    metrics = []
    for name, kwargs, y_true, y_pred, weights in rows:
        metric = getattr(kt.metrics, name)(**kwargs)
        tensors = [torch.as_tensor(a[:16]).to(cuda) for a in (y_true, y_pred, weights)]
        metric.update_state(*tensors[:2], sample_weight=tensors[2])  # first call: lazily built state, caches
        metrics.append((metric, tensors))
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for metric, (y_true, y_pred, weights) in metrics:
            metric.update_state(y_true, y_pred)
            metric.update_state(y_true, y_pred, sample_weight=weights)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    for metric, _ in metrics:
        assert all(v.device.type == "cuda" for v in metric.variables)
