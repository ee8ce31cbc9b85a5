"""CUDA: device placement, no host syncs per step, AMP (bf16/fp16), channels_last convs, torch.compile."""

import warnings

import numpy as np
import pytest
import torch
from torch.overrides import TorchFunctionMode

import kerastorch as kt
from kerastorch import layers

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _exact_float32():
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = matmul, cudnn
    kt.mixed_precision.set_global_policy(None)


def _data(n=256):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, 8, 3, generator=g)
    return x.numpy(), (x[:, 0, 0, 0] > 0).long().numpy()


def _cnn():
    torch.manual_seed(0)
    return kt.Sequential([kt.Input((8, 8, 3)), layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
                          layers.Flatten(), layers.Dense(2)])


def _compile(model, **kwargs):
    model.compile(kt.optimizers.SGD(0.05), kt.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], **kwargs)
    return model


def test_fit_runs_on_the_models_device_and_matches_cpu():
    x, y = _data()
    cpu = _compile(_cnn())
    gpu = _compile(_cnn().to("cuda"))
    gpu.set_weights(cpu.get_weights())
    expected = cpu.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    got = gpu.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(got["loss"], expected["loss"], rtol=1e-4)
    assert all(p.device.type == "cuda" for p in gpu.parameters())
    assert all(v.device.type == "cuda" for m in gpu.metrics for v in m.variables)
    out = gpu.predict(x, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (256, 2)
    np.testing.assert_allclose(out, cpu.predict(x, verbose=0), atol=1e-4)


def test_training_steps_do_not_synchronize_with_the_host():
    x, y = _data(512)
    model = _compile(_cnn().to("cuda"))
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # warm-up: builds metrics and optimizer state
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            model.fit(x, y, batch_size=32, epochs=2, verbose=0)  # 16 steps per epoch
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    assert len(syncs) <= 2 * 2, [str(w.message) for w in syncs]  # the epoch-end reads only


def test_dataloader_batches_are_copied_from_pinned_memory():
    x, y = _data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=32, pin_memory=True)
    model = _compile(_cnn().to("cuda"))
    history = model.fit(loader, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_autocasts_and_keeps_float32_variables(policy):
    x, y = _data()
    kt.mixed_precision.set_global_policy(policy)
    model = _compile(_cnn().to("cuda"))
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert (model._grad_scaler is not None) == (policy == "mixed_float16")
    out = model.predict(x, verbose=0)
    assert out.dtype == (np.float16 if policy == "mixed_float16" else np.float32)


def test_channels_last_input_reaches_the_convolution_during_fit():
    class ConvInputs(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.layouts = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            if getattr(func, "__name__", "") in ("conv2d", "convolution"):
                self.layouts.append(args[0].is_contiguous(memory_format=torch.channels_last))
            return func(*args, **(kwargs or {}))

    model = _compile(_cnn().to("cuda"))
    recorder = ConvInputs()
    with recorder:
        history = model.fit(*_data(), batch_size=64, epochs=1, verbose=0)
    assert recorder.layouts and all(recorder.layouts)  # NHWC data, no copy to NCHW
    assert np.isfinite(history.history["loss"]).all()


def test_jit_compile_on_cuda_matches_eager():
    x, y = _data()
    eager = _compile(_cnn().to("cuda"))
    compiled = _compile(_cnn().to("cuda"), jit_compile=True)
    compiled.set_weights(eager.get_weights())
    expected = eager.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0).history["loss"]
    got = compiled.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_weight_files_round_trip_on_the_models_device(tmp_path):
    """Weights on the GPU stream to and from `.weights.h5`/`.keras` (host blocks, device copies)."""
    def build():
        return kt.Sequential([kt.Input((5, 4)), layers.LSTM(6, return_sequences=True), layers.Dense(3)]).cuda()

    source = build()
    for suffix in (".weights.h5", ".keras"):
        path = tmp_path / f"m{suffix}"
        source.save(path) if suffix == ".keras" else source.save_weights(path)
        target = build()
        target.load_weights(path)
        for mine, theirs in zip(target.get_weights(), source.get_weights()):
            np.testing.assert_array_equal(mine, theirs)
        assert all(w.device.type == "cuda" for w in target.weights)
