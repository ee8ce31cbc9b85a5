"""Symbolic tensors and shape inference on the meta device."""

from __future__ import annotations

import time

import pytest
import timm
import torch
import torch._dynamo  # noqa: F401  torch imports it lazily on the first meta decomposition (~3 s, once)
from torch import nn

import kerastorch as kt
from kerastorch import layers as L
from kerastorch.symbolic import Node, SymbolicTensor, infer_outputs


class DeviceSpy:
    """A forward hook recording the device of every input a module sees."""

    def __init__(self, module: nn.Module):
        self.devices: list[str] = []
        self.handle = module.register_forward_hook(self)

    def __call__(self, module, args, output):
        self.devices += [a.device.type for a in args if isinstance(a, torch.Tensor)]


def test_input_is_a_symbolic_tensor_with_unknown_batch():
    x = kt.Input((32, 3), name="seq")
    assert isinstance(x, SymbolicTensor)
    assert x.shape == (None, 32, 3) and x.ndim == 3 and x.dtype == torch.float32 and x.name == "seq"
    assert isinstance(x.node, Node) and x.node.is_input and isinstance(x.node.layer, kt.InputLayer)
    fixed = kt.Input(4, batch_size=8, dtype="int64")
    assert fixed.shape == (8, 4) and fixed.dtype == torch.int64 and len(fixed) == 8
    with pytest.raises(TypeError, match="no len"):
        len(x)


def test_layer_call_builds_and_records_a_node():
    x = kt.Input((5,))
    dense = L.Dense(7)
    y = dense(x)
    assert y.shape == (None, 7) and dense.built and dense.kernel.device.type == "cpu"
    node = dense._inbound_nodes[0]
    assert node.layer is dense and node.input_tensors == [x] and node.outputs is y and y.node is node
    assert dense.input is x and dense.output is y
    assert (x | L.Dense(2)).shape == (None, 2)


def test_keras_style_custom_layer_needs_no_compute_output_shape():
    class Outer(kt.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight((input_shape[-1],), "ones", name="scale")

        def call(self, inputs):
            return torch.einsum("bi,bj->bij", inputs * self.scale, inputs)

    layer = Outer()
    y = layer(kt.Input((3,)))
    assert y.shape == (None, 3, 3) and layer.built and layer.scale.shape == (3,)


def test_batch_dependent_and_free_axes_map_back_to_none():
    seq = kt.Input((None, 4))
    assert L.Dense(2)(seq).shape == (None, None, 2)
    pooled = L.Lambda(lambda t: t.mean(dim=(0, 1)))(seq)  # the batch is reduced away
    assert pooled.shape == (4,)
    stacked = L.Lambda(lambda t: t.reshape(-1, 4))(seq)  # batch times length: unknown
    assert stacked.shape == (None, 4)


def test_timm_backbone_shape_inference_is_fast_and_on_meta():
    backbone = timm.create_model("resnet18", pretrained=False, num_classes=0)
    spy = DeviceSpy(backbone.conv1)
    x = kt.Input((3, 224, 224))  # timm is channels_first
    start = time.perf_counter()
    features = x | backbone
    elapsed = time.perf_counter() - start
    assert features.shape == (None, 512)
    assert elapsed < 1.0, f"shape inference took {elapsed:.2f}s"
    assert spy.devices and set(spy.devices) == {"meta"}
    assert all(p.device.type == "cpu" for p in backbone.parameters())
    model = kt.Model(x, L.Dense(10, name="classes")(features))
    assert model.count_params() == sum(p.numel() for p in backbone.parameters()) + 512 * 10 + 10 + sum(
        b.numel() for n, b in backbone.named_buffers() if b.is_floating_point()
    )


def test_lstm_shape_inference_on_meta():
    lstm = nn.LSTM(4, 6, batch_first=True)
    spy = DeviceSpy(lstm)
    x = kt.Input((7, 4))
    start = time.perf_counter()
    sequence, (h, c) = x | lstm
    assert time.perf_counter() - start < 1.0
    assert sequence.shape == (None, 7, 6) and h.shape == (1, None, 6) and c.shape == (1, None, 6)
    assert set(spy.devices) == {"meta"}
    again, _ = x | lstm  # the same module is the same (shared) layer
    assert again.node.layer is sequence.node.layer
    model = kt.Model(x, [sequence, h])
    out, last = model(torch.randn(2, 7, 4))
    assert out.shape == (2, 7, 6) and last.shape == (1, 2, 6)
    torch.testing.assert_close(last[0], out[:, -1])


def test_infer_outputs_on_a_plain_module():
    conv = nn.Conv2d(3, 8, 3, stride=2)
    out = infer_outputs(conv, (SymbolicTensor((None, 3, 32, 32)),), {})
    assert isinstance(out, SymbolicTensor) and out.shape == (None, 8, 15, 15)


def test_plain_module_called_directly_explains_how_to_wrap_it():
    with pytest.raises(TypeError, match="linear\\(\\) received a symbolic tensor.*TorchModuleWrapper"):
        nn.Linear(3, 2)(kt.Input((3,)))
    with pytest.raises(AttributeError, match="no attribute 'dim'.*x \\| module"):
        nn.LSTM(3, 2)(kt.Input((4, 3)))


def test_shape_errors_name_the_layer_and_shapes():
    dense = L.Dense(2, name="built_for_four")
    dense(kt.Input((4,)))
    with pytest.raises(ValueError, match="'built_for_four'.*expected axis -1.*value 4.*\\(None, 5\\)"):
        dense(kt.Input((5,)))
    reshape = L.Reshape((7,), name="bad_reshape")
    with pytest.raises(ValueError, match="'bad_reshape'"):
        reshape(kt.Input((4,)))
    assert len(dense._inbound_nodes) == 1 and reshape._inbound_nodes == []


def test_failed_first_call_leaves_the_layer_unbuilt():
    class Picky(kt.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1], 2), name="w")

        def call(self, inputs):
            return inputs @ self.w @ torch.ones(3, 1)  # (…, 2) @ (3, 1) cannot work

    layer = Picky(name="picky")
    with pytest.raises(ValueError, match="'picky' \\(Picky\\) cannot be called on 1 input of shape \\(None, 4\\)"):
        layer(kt.Input((4,)))
    assert not layer.built and list(layer.state_dict()) == [] and layer._inbound_nodes == []


def test_shape_inference_with_a_submodule_registered_twice_and_tied_weights():
    """timm's CoaT registers one block under two names; language models tie two layers' weights."""
    import kerastorch as kt

    class SharedTwice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.block = torch.nn.Linear(4, 4)
            self.alias = self.block  # the same module under a second name
            self.head = torch.nn.Linear(4, 4)
            self.tail = torch.nn.Linear(4, 4)
            self.tail.weight = self.head.weight  # one Parameter in two modules

        def forward(self, x):
            return self.tail(self.head(self.alias(self.block(x))))

    module = SharedTwice()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    out = kt.Input((4,)) | module
    assert out.shape == (None, 4)
    assert all(not t.is_meta for t in module.state_dict().values())
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert module.tail.weight is module.head.weight and module.alias is module.block
