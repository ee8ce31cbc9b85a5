"""Muon, ScheduleFreeAdamW, LossScaleOptimizer and MultiOptimizer against Keras 3: same model, same
weights, same gradients (or the same `fit`) -> same weights; configs and `.keras` files both ways."""

import json
import warnings
import zipfile

import numpy as np
import pytest
import torch

import kerastorch as kt

keras = pytest.importorskip("keras")


def _make(lib, name, kwargs):
    """The optimizer `name` of `lib` (kt or keras); wrappers get fresh inner optimizers from `lib`."""
    O = lib.optimizers
    if name == "LossScaleOptimizer":
        inner = _make(lib, "MultiOptimizer", {}) if kwargs["inner"] == "Multi" else getattr(O, kwargs["inner"])(0.05)
        return O.LossScaleOptimizer(inner, **kwargs.get("args", {}))
    if name == "MultiOptimizer":
        mapping = O.OptimizerMap(O.SGD(learning_rate=0.1, momentum=0.5), {"hidden/.*": O.Adam(learning_rate=0.02)})
        return O.MultiOptimizer(mapping, **kwargs)
    return getattr(O, name)(**kwargs)


CASES = [
    ("Muon", {"learning_rate": 0.02}),
    ("Muon", {"learning_rate": 0.02, "nesterov": False, "rms_rate": None, "exclude_layers": ["out"],
              "adam_lr_ratio": 0.5, "weight_decay": 0.1, "adam_weight_decay": None, "ns_steps": 3}),
    ("Muon", {"learning_rate": 0.02, "momentum": 0.8, "muon_a": 3.0, "muon_b": -3.2, "muon_c": 1.2, "adam_beta_1": 0.8,
              "adam_beta_2": 0.99, "epsilon": 1e-4, "exclude_embeddings": False, "clipnorm": 0.5}),
    ("Muon", {"learning_rate": 0.02, "gradient_accumulation_steps": 2, "use_ema": True, "ema_momentum": 0.5}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.05, "warmup_steps": 3, "weight_decay": 0.1, "beta_1": 0.8,
                           "beta_2": 0.99, "epsilon": 1e-3}),
    ("LossScaleOptimizer", {"inner": "SGD", "args": {"initial_scale": 64.0, "dynamic_growth_steps": 2}}),
    ("LossScaleOptimizer", {"inner": "Adam"}),
    ("MultiOptimizer", {}),
    ("MultiOptimizer", {"loss_scale_factor": 4.0}),
    ("LossScaleOptimizer", {"inner": "Multi", "args": {"initial_scale": 8.0}}),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(CASES)]


def _models():
    """The same small model in both libraries, with equal weights; the Embedding exercises Muon's exclusion."""
    def build(lib):
        inputs = lib.Input((3,), dtype="int32")
        x = lib.layers.Embedding(6, 4, name="embedding")(inputs)
        x = lib.layers.Dense(4, name="token")(x)
        x = lib.layers.Dense(4, activation="tanh", name="mix")(x)  # a second (4, 4) kernel: Muon batches them
        x = lib.layers.Flatten()(x)
        x = lib.layers.Dense(5, activation="tanh", name="hidden")(x)
        return lib.Model(inputs, lib.layers.Dense(2, name="out")(x))

    ours, theirs = build(kt), build(keras)
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=w.shape).astype("float32") for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def _close(ours, theirs):
    for mine, keras_weight in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_apply_matches_keras(name, kwargs):
    ours, theirs = _models()
    mine, reference = _make(kt, name, kwargs), _make(keras, name, kwargs)
    params, variables = ours.trainable_weights, theirs.trainable_variables
    assert [w.path for w in params] == [v.path for v in variables]  # the maps and exclusions read these
    mine.build(params)
    reference.build(variables)
    assert [tuple(v.shape) for v in mine.variables] == [tuple(v.shape) for v in reference.variables]
    stateless = name == "ScheduleFreeAdamW"  # see test_schedule_free_reads_momentum_before_its_update
    values, state = [v.value for v in variables], [v.value for v in reference.variables]
    rng = np.random.default_rng(1)
    for _ in range(5):
        scale = float(mine.dynamic_scale) if name == "LossScaleOptimizer" else 1.0  # as from a scaled loss
        grads = [rng.normal(size=tuple(p.shape)).astype("float32") * scale for p in params]
        mine.apply([torch.tensor(g) for g in grads], params)
        if stateless:
            values, state = reference.stateless_apply(state, [torch.tensor(g) for g in grads], values)
        else:
            reference.apply([torch.tensor(g) for g in grads], variables)
    if stateless:
        theirs.set_weights([v.detach().numpy() for v in values])
    _close(ours, theirs)
    assert int(mine.iterations) == int(state[0] if stateless else reference.iterations) > 0
    if not stateless:  # EMA weights (where use_ema is set) reach the model the same way
        mine.finalize_variable_values(params)
        reference.finalize_variable_values(variables)
        _close(ours, theirs)
    if name == "LossScaleOptimizer":  # Keras's order: own iteration, learning_rate, step_counter, dynamic_scale
        for a, b in zip(mine.variables[2:4], reference.variables[2:4]):
            assert float(a) == float(b)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_config_both_ways(name, kwargs):
    mine, reference = _make(kt, name, kwargs), _make(keras, name, kwargs)
    theirs_json = json.loads(json.dumps(keras.saving.serialize_keras_object(reference)))
    ours_json = json.loads(json.dumps(kt.optimizers.serialize(mine)))
    assert _norm(ours_json) == _norm(theirs_json)
    assert _norm(kt.optimizers.serialize(kt.optimizers.deserialize(theirs_json))) == _norm(theirs_json)
    back = keras.saving.deserialize_keras_object(ours_json)
    assert type(back).__name__ == name and _norm(keras.saving.serialize_keras_object(back)) == _norm(theirs_json)


def _norm(value):
    """A config with float32 round-off, modules (Keras names its torch-backend modules) and names (Keras
    numbers its optimizers per process: "sgd_3") left out."""
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items() if k not in ("module", "registered_name", "name")}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, float):
        return float(np.float32(value))
    return value


FIT_CASES = [CASES[0], CASES[4], CASES[6], CASES[8], CASES[9], CASES[10]]


@pytest.mark.parametrize("name,kwargs", FIT_CASES, ids=[IDS[CASES.index(c)] for c in FIT_CASES])
def test_fit_matches_keras_and_files_load_both_ways(name, kwargs, tmp_path):
    ours, theirs = _models()
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 6, size=(8, 3)).astype("int32"), rng.normal(size=(8, 2)).astype("float32")
    ours.compile(optimizer=_make(kt, name, kwargs), loss="mse")
    theirs.compile(optimizer=_make(keras, name, kwargs), loss="mse")
    history = ours.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    if name != "ScheduleFreeAdamW":  # Keras's stateful torch path differs there (see below)
        _close(ours, theirs)
    ours.save(tmp_path / "ours.keras")
    theirs.save(tmp_path / "theirs.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras notes that the optimizer's slots are not in the file
        in_keras = keras.models.load_model(tmp_path / "ours.keras")
    in_kt = kt.models.load_model(tmp_path / "theirs.keras")
    assert type(in_keras.optimizer).__name__ == name and type(in_kt.optimizer).__name__ == name
    with zipfile.ZipFile(tmp_path / "theirs.keras") as archive:
        written = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]
    assert _norm(kt.optimizers.serialize(in_kt.optimizer)) == _norm(written)
    assert _norm(keras.saving.serialize_keras_object(in_keras.optimizer)) == _norm(written)
    in_kt.fit(x, y, batch_size=4, epochs=1, verbose=0)  # the loaded optimizer trains


def test_schedule_free_reads_momentum_before_its_update():
    """Keras reads the old momentum to recover the average; on the torch backend its stateful path
    reads it after the in-place update (an alias), so the reference above is Keras's stateless path.
    Here the invariant y = (1 - beta_1) z + beta_1 x is checked against an explicit average of z."""
    param = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = kt.optimizers.ScheduleFreeAdamW(learning_rate=0.1, beta_1=0.9).build([param])
    zs = [param.detach().clone()]
    for g in ([1.0, 0.5], [-2.0, 1.0], [0.3, 0.3]):
        param.grad = torch.tensor(g)
        opt.step()
        zs.append(opt.state[param]["momentum"].clone())
    average = torch.stack(zs[1:]).mean(0)
    torch.testing.assert_close(param.detach(), 0.1 * zs[-1] + 0.9 * average)


def test_loss_scale_skips_non_finite_steps_as_keras():
    ours, theirs = _models()
    mine, reference = _make(kt, "LossScaleOptimizer", CASES[6][1]), _make(keras, "LossScaleOptimizer", CASES[6][1])
    params, variables = ours.trainable_weights, theirs.trainable_variables
    mine.build(params)
    reference.build(variables)
    before = ours.get_weights()
    assert float(mine.scale_loss(torch.tensor(2.0))) == 128.0 == float(reference.scale_loss(2.0))
    for bad in (float("inf"), float("nan")):
        grads = [np.full(tuple(p.shape), bad if i == 1 else 1.0, "float32") for i, p in enumerate(params)]
        mine.apply([torch.tensor(g) for g in grads], params)
        reference.apply([torch.tensor(g) for g in grads], variables)
    for a, b in zip(ours.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # both steps skipped
    assert float(mine.dynamic_scale) == float(reference.dynamic_scale) == 16.0
    assert int(mine.iterations) == int(reference.iterations) == 0
    _close(ours, theirs)


def test_muon_split_and_newton_schulz():
    ours, _ = _models()
    opt = kt.optimizers.Muon(exclude_layers=["out"]).build(ours.trainable_weights)
    uses_adam = {w.path: opt.uses_adam(w) for w in ours.trainable_weights}
    assert uses_adam == {"embedding/embeddings": True, "token/kernel": False, "token/bias": True, "mix/kernel": False,
                         "mix/bias": True, "hidden/kernel": False, "hidden/bias": True, "out/kernel": True,
                         "out/bias": True}
    assert not kt.optimizers.Muon(exclude_embeddings=False).uses_adam(ours.trainable_weights[0])
    x = torch.randn(6, 3, dtype=torch.float64)
    q = kt.optimizers.muon.newton_schulz(x, 30, 1.5, -0.5, 0.0)  # the cubic iteration converges to U V^T
    u, _, vh = torch.linalg.svd(x, full_matrices=False)
    torch.testing.assert_close(q, u @ vh, rtol=1e-6, atol=1e-6)


def test_multi_optimizer_routes_and_errors():
    sgd, adam = kt.optimizers.SGD(), kt.optimizers.Adam()
    mapping = kt.optimizers.OptimizerMap(sgd, {"hidden/.*": adam, "out/kernel": adam})
    assert mapping["hidden/kernel"] is adam and mapping["out/kernel"] is adam and mapping["out/bias"] is sgd
    with pytest.raises(ValueError, match="already mapped"):
        mapping["out/kernel"] = sgd
    with pytest.raises(ValueError, match="cannot be used inside"):
        mapping["x"] = kt.optimizers.LossScaleOptimizer(kt.optimizers.SGD())
    multi = kt.optimizers.MultiOptimizer(mapping)
    with pytest.raises(AttributeError, match="no single learning rate"):
        multi.learning_rate
    ours, _ = _models()
    multi.build(ours.trainable_weights)
    assert len(adam._params) == 3 and len(sgd._params) == 6  # the others take the default
    chooser = kt.optimizers.MultiOptimizer(lambda w: adam if "out" in w.path else sgd)
    with pytest.raises(TypeError, match="plain callable"):
        chooser.get_config()
    with pytest.raises(TypeError, match="OptimizerMap or a callable"):
        kt.optimizers.MultiOptimizer(3)


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="dynamic=False"):
        kt.optimizers.LossScaleOptimizer(kt.optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="clipnorm"):
        kt.optimizers.LossScaleOptimizer(kt.optimizers.SGD(), clipnorm=1.0)
    with pytest.raises(TypeError, match="kt.optimizers.Optimizer"):
        kt.optimizers.LossScaleOptimizer(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1))
    with pytest.raises(ValueError, match="ns_steps"):
        kt.optimizers.Muon(ns_steps=-1)
    with pytest.raises(ValueError, match="warmup_steps"):
        kt.optimizers.ScheduleFreeAdamW(warmup_steps=-1)
    assert kt.mixed_precision.LossScaleOptimizer is kt.optimizers.LossScaleOptimizer
    assert isinstance(kt.optimizers.get("muon"), kt.optimizers.Muon)
    assert kt.optimizers.get("schedulefreeadamw").name == "schedule_free_adam_w"


def test_every_keras_optimizer_name_exists():
    missing = [n for n in dir(keras.optimizers) if not n.startswith("_") and not hasattr(kt.optimizers, n)]
    assert missing == ["legacy"]  # Keras 2's optimizers, out of scope
    assert [n for n in dir(keras.mixed_precision) if not n.startswith("_") and not hasattr(kt.mixed_precision, n)] == []


@pytest.mark.parametrize("name,kwargs", [CASES[8], CASES[10]], ids=["MultiOptimizer", "LossScaleOptimizer-Multi"])
def test_state_survives_a_training_checkpoint(name, kwargs, tmp_path):
    from kerastorch.training.checkpoint import load_training_state, save_training_state

    def compiled():
        model, _ = _models()
        model.compile(optimizer=_make(kt, name, kwargs), loss="mse")
        return model

    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 6, size=(8, 3)).astype("int32"), rng.normal(size=(8, 2)).astype("float32")
    first, second = compiled(), compiled()
    first.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    save_training_state(str(tmp_path / "c.safetensors"), first, first.optimizer)
    second.fit(x[:4], y[:4], batch_size=4, verbose=0)  # builds its optimizer, with other state
    load_training_state(str(tmp_path / "c.safetensors"), second, second.optimizer)
    for a, b in zip(first.optimizer.variables, second.optimizer.variables):
        torch.testing.assert_close(a, b)
    first.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    second.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
