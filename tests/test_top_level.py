"""`kt.<name>` for Keras's top-level names: the same classes as in the submodules, and `kt.device`."""

import keras
import pytest
import torch

import kerastorch as kt

# Keras's top-level names kerastorch does not provide yet (JAX/TF-specific machinery or open work).
NOT_PROVIDED = {
    "Function", "Operation", "Quantizer", "RematScope", "StatelessScope", "SymbolicScope", "distillation",
    "distribution", "export", "legacy", "quantizers", "src",
    "visualization", "wrappers",
}


def test_top_level_names_exist_unless_listed():
    missing = {n for n in dir(keras) if not n.startswith("_") and not hasattr(kt, n)}
    assert missing == NOT_PROVIDED


@pytest.mark.parametrize("name, home", [
    ("Optimizer", kt.optimizers), ("Initializer", kt.initializers), ("Regularizer", kt.regularizers),
    ("InputSpec", kt.layers), ("DTypePolicy", kt.mixed_precision), ("Loss", kt.losses), ("Metric", kt.metrics),
])
def test_top_level_classes_are_the_submodule_classes(name, home):
    assert getattr(kt, name) is getattr(home, name)


def test_keras_tensor_is_the_symbolic_tensor_inputs_return():
    assert isinstance(kt.Input((3,)), kt.KerasTensor)
    assert kt.FloatDTypePolicy("float32").compute_dtype == "float32"
    assert kt.version() == kt.__version__


def test_device_scope_places_weights_and_tensors():
    with kt.device("meta"):
        layer = kt.layers.Dense(3)
        layer.build((None, 4))
        assert layer.kernel.device.type == "meta" and torch.zeros(2).device.type == "meta"
    assert torch.zeros(2).device.type == "cpu"
    with kt.device("gpu:1"):  # Keras's GPU names mean CUDA
        assert torch.get_default_device() == torch.device("cuda:1")


def test_device_scope_refuses_what_is_not_a_device():
    with pytest.raises(ValueError, match="not a device name"):
        with kt.device("tpu-ish"):
            pass
    with pytest.raises(TypeError, match="device name"):
        with kt.device(0):
            pass


def test_dtype_policies_serialize_like_keras():
    for name in ("float32", "mixed_float16", "mixed_bfloat16"):
        ours = kt.dtype_policies.serialize(kt.dtype_policies.get(name))
        assert ours == keras.dtype_policies.serialize(keras.dtype_policies.get(name))
        assert kt.dtype_policies.deserialize(ours) == kt.DTypePolicy(name)
        assert keras.dtype_policies.deserialize(ours).name == name
    with pytest.raises(NotImplementedError, match="quantization"):
        kt.dtype_policies.QuantizedDTypePolicy("int8", "float32")


def test_name_scope_prefixes_paths_like_keras():
    def paths(lib):
        with lib.name_scope("a"):
            with lib.name_scope("b"):
                variable = lib.Variable(1.0, name="v")
            owner = object()
            with lib.name_scope("a", caller=owner), lib.name_scope("a", caller=owner):  # one level: same caller
                model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, name="d")], name="s")
            with lib.name_scope("c", override_parent="x/y"):
                other = lib.Variable(2.0, name="w")
        outside = lib.Variable(3.0, name="u")
        return [variable.path, *(w.path for w in model.weights), other.path, outside.path]

    assert paths(kt) == paths(keras)


def test_remat_recomputes_in_the_backward_pass_with_the_same_gradients():
    calls = []

    def block(x):
        calls.append(1)
        return torch.nn.functional.dropout(torch.tanh(x) * 3.0, 0.5, training=True)

    x = torch.randn(4, 5, requires_grad=True)
    torch.manual_seed(0)
    block(x).sum().backward()
    plain, calls[:] = x.grad.clone(), []
    x.grad = None
    torch.manual_seed(0)
    kt.remat(block)(x).sum().backward()
    assert len(calls) == 2  # the forward pass, and its replay in the backward pass
    torch.testing.assert_close(x.grad, plain)
    with torch.no_grad():
        kt.remat(block)(x)
    assert len(calls) == 3
