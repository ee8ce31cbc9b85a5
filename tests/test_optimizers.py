"""Optimizers against Keras 3: same gradients in, same variables out after several steps."""

import numpy as np
import pytest
import torch

import kerastorch as kt

keras = pytest.importorskip("keras")

CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": 0.01}),
    ("RMSprop", {}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {"learning_rate": 0.01}),
    ("Nadam", {"learning_rate": 0.01}),
    ("SGD", {"learning_rate": 0.1, "clipnorm": 0.5}),
    ("SGD", {"learning_rate": 0.1, "clipvalue": 0.05}),
    ("Adam", {"learning_rate": 0.01, "global_clipnorm": 0.3}),
    ("Lion", {"learning_rate": 0.01}),
    ("Lamb", {"learning_rate": 0.01}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.1}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.01, "relative_step": False}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 4}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "gradient_accumulation_steps": 2}),
    ("SGD", {"learning_rate": 0.1, "gradient_accumulation_steps": 2, "use_ema": True, "ema_momentum": 0.5}),
    ("Adam", {"learning_rate": 0.01, "loss_scale_factor": 8.0}),
    ("SGD", {"learning_rate": "schedule"}),
    ("Adam", {"learning_rate": "schedule", "weight_decay": 0.05}),
]


def _schedule(lib):
    return lib.optimizers.schedules.CosineDecay(0.05, 4, alpha=0.1, warmup_target=0.1, warmup_steps=2)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_optimizer_matches_keras(name, kwargs):
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3,)).astype("float32")]
    grads = [[rng.normal(size=w.shape).astype("float32") for w in start] for _ in range(6)]
    params = [torch.nn.Parameter(torch.tensor(w)) for w in start]
    ours = getattr(kt.optimizers, name)(**{**kwargs, **_schedule_of(kwargs, kt)}).build(params)
    variables = [keras.Variable(w) for w in start]
    theirs = getattr(keras.optimizers, name)(**{**kwargs, **_schedule_of(kwargs, keras)})
    theirs.build(variables)
    # Keras's variable list: same count, shapes and order (iteration, learning_rate, slots per weight)
    assert [tuple(v.shape) for v in ours.variables] == [tuple(v.shape) for v in theirs.variables]
    for step in grads:
        for p, g in zip(params, step):
            p.grad = torch.tensor(g)
        ours.step()
        theirs.apply_gradients([(keras.ops.convert_to_tensor(g), v) for g, v in zip(step, variables)])
        assert ours.learning_rate == pytest.approx(float(theirs.learning_rate), rel=1e-6)
    for p, v in zip(params, variables):
        np.testing.assert_allclose(p.detach().numpy(), keras.ops.convert_to_numpy(v), rtol=1e-5, atol=1e-5)
    assert int(ours.iterations) == int(theirs.iterations)
    # torch keeps momentum buffers unscaled by the learning rate (Keras scales them): values differ there
    same_slots = name != "SGD" and not kwargs.get("momentum")
    for mine, keras_variable in zip(ours.variables, theirs.variables) if same_slots else ():
        np.testing.assert_allclose(mine.detach().numpy(), keras.ops.convert_to_numpy(keras_variable), rtol=1e-4, atol=1e-5)
    ours.finalize_variable_values()
    theirs.finalize_variable_values(variables)
    for p, v in zip(params, variables):
        np.testing.assert_allclose(p.detach().numpy(), keras.ops.convert_to_numpy(v), rtol=1e-5, atol=1e-5)


def _schedule_of(kwargs, lib):
    return {"learning_rate": _schedule(lib)} if kwargs.get("learning_rate") == "schedule" else {}


def test_keras_defaults():
    assert kt.optimizers.get("adam").learning_rate == 0.001 and kt.optimizers.Adam().epsilon == 1e-7
    assert kt.optimizers.get("sgd").learning_rate == 0.01
    assert kt.optimizers.get("adamw").weight_decay == 0.004
    assert kt.optimizers.RMSprop().rho == 0.9
    assert kt.optimizers.Adagrad().initial_accumulator_value == 0.1


def test_learning_rate_setter_reaches_torch_and_schedules_run_per_step():
    param = torch.nn.Parameter(torch.zeros(2))
    opt = kt.optimizers.SGD(learning_rate=lambda step: 1.0 / (step + 1)).build([param])
    for _ in range(3):
        param.grad = torch.ones(2)
        opt.step()
    # steps used learning rates 1, 1/2, 1/3
    np.testing.assert_allclose(param.detach().numpy(), -(1 + 1 / 2 + 1 / 3) * np.ones(2), rtol=1e-6)
    opt.learning_rate = 0.5
    assert opt.param_groups[0]["lr"] == 0.5
    torch_opt = torch.optim.SGD([param], lr=0.1)
    kt.optimizers.set_learning_rate(torch_opt, 0.2)
    assert kt.optimizers.get_learning_rate(torch_opt) == 0.2


def test_errors():
    with pytest.raises(ValueError, match="Unknown optimizer 'adamm'"):
        kt.optimizers.get("adamm")
    with pytest.raises(ValueError, match="not built yet"):
        kt.optimizers.Adam().step()
    with pytest.raises(ValueError, match="only one of clipnorm"):
        kt.optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="no trainable parameters"):
        kt.optimizers.Adam().build([])
    with pytest.raises(TypeError, match="unexpected keyword"):
        kt.optimizers.Adam(betas=(0.9, 0.99))
