"""`kt.config`, `kt.backend` and `clear_session` against Keras 3's, and the settings' effects in kerastorch."""

import logging

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt


@pytest.fixture(autouse=True)
def _restore_settings():
    """Every test leaves both libraries' global settings as it found them."""
    saved = [(lib, lib.config.floatx(), lib.config.epsilon(), lib.config.image_data_format(),
              lib.config.max_epochs(), lib.config.max_steps_per_epoch(), lib.config.dtype_policy().name)
             for lib in (kt, keras)]
    yield
    for lib, floatx, eps, fmt, epochs, steps, policy in saved:
        lib.config.set_floatx(floatx)
        lib.config.set_epsilon(eps)
        lib.config.set_image_data_format(fmt)
        lib.config.set_max_epochs(epochs)
        lib.config.set_max_steps_per_epoch(steps)
        lib.config.set_dtype_policy(policy)
        lib.config.enable_flash_attention()
        lib.config.enable_interactive_logging()
    kt.config._UNSAFE_DESERIALIZATION[0] = False


# (getter, setter, values): each value set in both libraries must read back the same.
SETTINGS = [
    ("floatx", "set_floatx", ["float16", "bfloat16", "float64", "float32"]),
    ("epsilon", "set_epsilon", [1e-5, 1e-7]),
    ("image_data_format", "set_image_data_format", ["channels_first", "channels_last"]),
    ("max_epochs", "set_max_epochs", [3, None]),
    ("max_steps_per_epoch", "set_max_steps_per_epoch", [5, None]),
]


@pytest.mark.parametrize("getter,setter,values", SETTINGS, ids=[row[0] for row in SETTINGS])
def test_getters_and_setters_match_keras(getter, setter, values):
    assert getattr(kt.config, getter)() == getattr(keras.config, getter)()
    for value in values:
        getattr(kt.config, setter)(value)
        getattr(keras.config, setter)(value)
        assert getattr(kt.config, getter)() == getattr(keras.config, getter)() == value


SWITCHES = [  # (turn off, turn on, read): the state after each call matches Keras's answer
    ("disable_flash_attention", "enable_flash_attention", "is_flash_attention_enabled"),
    ("disable_interactive_logging", "enable_interactive_logging", "is_interactive_logging_enabled"),
]


@pytest.mark.parametrize("off,on,read", SWITCHES, ids=[row[2] for row in SWITCHES])
def test_switches_match_keras(off, on, read):
    for call in (off, on, off, on):
        getattr(kt.config, call)()
        getattr(keras.config, call)()
        assert getattr(kt.config, read)() == getattr(keras.config, read)()


def test_backend_dtype_policy_and_fixed_answers():
    assert kt.config.backend() == keras.config.backend() == kt.backend.backend() == "torch"
    kt.config.set_backend("torch")
    with pytest.raises(ValueError, match="torch"):
        kt.config.set_backend("jax")
    assert kt.config.is_nnx_enabled() is keras.config.is_nnx_enabled() is False
    for name in ("mixed_float16", "mixed_bfloat16", "float32"):
        kt.config.set_dtype_policy(name)
        keras.config.set_dtype_policy(name)
        ours, theirs = kt.config.dtype_policy(), keras.config.dtype_policy()
        assert (ours.name, ours.compute_dtype, ours.variable_dtype) == (
            theirs.name, theirs.compute_dtype, theirs.variable_dtype)
    assert kt.config.dtype_policy() is kt.mixed_precision.dtype_policy()
    assert kt.config.is_traceback_filtering_enabled() is False
    kt.config.disable_traceback_filtering()
    with pytest.raises(NotImplementedError, match="traceback"):
        kt.config.enable_traceback_filtering()
    for lib in (kt, keras):
        with pytest.raises(ValueError):
            lib.config.set_floatx("int32")
    with pytest.raises(ValueError):
        kt.config.set_max_epochs(0)


def test_namespaces_match_keras():
    for name in ("config", "backend", "utils", "tree", "preprocessing", "datasets"):
        public = [n for n in dir(getattr(keras, name)) if not n.startswith("_")]
        assert [n for n in public if not hasattr(getattr(kt, name), n)] == [], name
    assert [n for n in dir(keras.preprocessing.image) if not n.startswith("_")
            and not hasattr(kt.preprocessing.image, n)] == []


def _fit_counts(lib, epochs):
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((40, 3), "float32"), np.ones((40, 1), "float32")
    with pytest.warns(UserWarning, match="Limiting"):
        history = model.fit(x, y, batch_size=4, epochs=epochs, verbose=0)
    return len(history.history["loss"]), int(model.optimizer.iterations.numpy())


def test_max_epochs_and_steps_cap_fit_as_in_keras():
    for lib in (kt, keras):
        lib.config.set_max_epochs(2)
        lib.config.set_max_steps_per_epoch(3)
    assert _fit_counts(kt, 5) == _fit_counts(keras, 5) == (2, 6)
    for lib in (kt, keras):
        lib.config.set_max_epochs(None)
    assert _fit_counts(kt, 2) == _fit_counts(keras, 2) == (2, 6)  # steps stay capped


def test_interactive_logging_sends_progress_to_logging(capsys, caplog):
    model = kt.Sequential([kt.Input((3,)), kt.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    kt.config.disable_interactive_logging()
    with caplog.at_level(logging.INFO, logger="kerastorch"):
        model.fit(x, y, batch_size=4, epochs=2, verbose=1)
        kt.utils.Progbar(4).update(4, [("loss", 0.5)])
        model.summary()
    assert capsys.readouterr().out == ""
    messages = [record.getMessage() for record in caplog.records]
    assert "Epoch 1/2" in messages and "Epoch 2/2" in messages
    assert sum("loss:" in m for m in messages) == 3
    assert any("Trainable params: 4" in m for m in messages)
    kt.config.enable_interactive_logging()
    model.fit(x, y, batch_size=4, epochs=1, verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().out


class _SdpaWitness(torch.overrides.TorchFunctionMode):
    """Records, at each SDPA call, whether torch's flash kernel was allowed."""

    def __init__(self):
        super().__init__()
        self.flash_allowed = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.nn.functional.scaled_dot_product_attention:
            self.flash_allowed.append(torch.backends.cuda.flash_sdp_enabled())
        return func(*args, **(kwargs or {}))


def test_flash_attention_switch_reaches_attention_kernels():
    layer = kt.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.rand(2, 5, 8)
    q = k = v = torch.rand(2, 5, 2, 4)
    expected = layer(x, x)
    for disabled in (False, True):
        (kt.config.disable_flash_attention if disabled else kt.config.enable_flash_attention)()
        with _SdpaWitness() as witness:
            torch.testing.assert_close(layer(x, x), expected)
            kt.ops.dot_product_attention(q, k, v)
        assert witness.flash_allowed == [not disabled] * 2
    with _SdpaWitness() as witness:
        kt.ops.dot_product_attention(q, k, v, flash_attention=False)  # explicit False, whatever the switch
    assert witness.flash_allowed == [False]


def test_enable_unsafe_deserialization_lets_lambdas_load(tmp_path):
    model = kt.Sequential([kt.Input((2,)), kt.layers.Lambda(lambda t: t + 1.0)])
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        kt.saving.load_model(tmp_path / "m.keras")
    kt.config.enable_unsafe_deserialization()
    loaded = kt.saving.load_model(tmp_path / "m.keras")
    torch.testing.assert_close(loaded(torch.zeros(1, 2)), torch.ones(1, 2))


@pytest.fixture
def _keep_name_counters():
    """clear_session resets auto-name counters; later tests compare auto names across the two libraries, so
    both libraries' counters are put back as they were."""
    from keras.src.backend.common import global_state

    from kerastorch.layers import layer

    ours, theirs = dict(layer._NAME_COUNTS), (global_state.GLOBAL_STATE_TRACKER, global_state.GLOBAL_SETTINGS_TRACKER)
    yield
    layer._NAME_COUNTS.clear()
    layer._NAME_COUNTS.update(ours)
    global_state.GLOBAL_STATE_TRACKER, global_state.GLOBAL_SETTINGS_TRACKER = theirs


def test_clear_session_resets_what_keras_resets(_keep_name_counters):
    for lib in (kt, keras):
        lib.layers.Dense(1)
        lib.config.set_dtype_policy("mixed_float16")
        lib.config.disable_flash_attention()
        lib.config.disable_interactive_logging()
        lib.config.set_max_epochs(4)
        lib.backend.get_uid("probe")
        lib.utils.clear_session()
    assert kt.layers.Dense(1).name == keras.layers.Dense(1).name == "dense"
    for read in ("is_flash_attention_enabled", "is_interactive_logging_enabled", "max_epochs"):
        assert getattr(kt.config, read)() == getattr(keras.config, read)(), read
    assert kt.config.dtype_policy().name == keras.config.dtype_policy().name == "float32"
    assert kt.backend.get_uid("probe") == keras.backend.get_uid("probe") == 1
    assert kt.backend.clear_session is kt.utils.clear_session


DTYPES = ["float32", "bfloat16", "int8", "uint16", "bool", "complex64", None, int, float, bool, np.float64,
          np.dtype("int16"), torch.float16, torch.int64, "string", "float8_e4m3fn"]


@pytest.mark.parametrize("dtype", DTYPES, ids=repr)
def test_dtype_helpers_match_keras(dtype):
    assert kt.utils.standardize_dtype(dtype) == keras.utils.standardize_dtype(dtype)
    assert kt.backend.standardize_dtype(dtype) == keras.backend.standardize_dtype(dtype)
    if dtype not in ("string",):
        assert kt.backend.is_float_dtype(dtype) == keras.backend.is_float_dtype(dtype)
        assert kt.backend.is_int_dtype(dtype) == keras.backend.is_int_dtype(dtype)


def test_result_type_and_bad_dtypes_match_keras():
    for dtypes in (("int8", "float16"), ("uint8", "int8"), ("int32", float), ("bool", int), ("float32", "float64")):
        assert kt.backend.result_type(*dtypes) == keras.backend.result_type(*dtypes)
    for bad in ("float", "foo", object):
        outcome = []
        for lib in (kt, keras):
            try:
                outcome.append(lib.utils.standardize_dtype(bad))
            except ValueError:
                outcome.append("ValueError")
        assert outcome[0] == outcome[1], bad
