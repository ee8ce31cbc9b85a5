"""Functional models: graphs of layers, checked against Keras 3 and against plain PyTorch."""

from __future__ import annotations

import copy
import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # also when a benchmark imports functional_residual_mlp

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

import kerastorch as kt  # noqa: E402
from kerastorch import layers as L  # noqa: E402
from kerastorch.summary import SummaryRow  # noqa: E402


def to_numpy(value):
    return keras.ops.convert_to_numpy(value) if not isinstance(value, torch.Tensor) else value.detach().cpu().numpy()


def copy_by_name(keras_model, ours) -> None:
    """Copy every Keras layer's weights into our layer of the same name."""
    for layer in keras_model.layers:
        if layer.weights:
            ours.get_layer(layer.name).set_weights(layer.get_weights())


def assert_same(keras_model, ours, inputs) -> None:
    """Same parameter count, same output structure and shapes, outputs equal to 1e-5."""
    assert ours.count_params() == keras_model.count_params()
    expected = keras_model(inputs)
    received = ours(inputs)
    if isinstance(expected, dict):
        assert set(received) == set(expected)
        pairs = [(expected[k], received[k]) for k in expected]
    elif isinstance(expected, (list, tuple)):
        assert isinstance(received, list) and len(received) == len(expected)
        pairs = list(zip(expected, received))
    else:
        pairs = [(expected, received)]
    for want, got in pairs:
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), atol=1e-5)


# --------------------------------------------------------------------------- against Keras 3


def residual_block(lib):
    inputs = lib.Input((6,), name="x")
    hidden = lib.layers.Dense(8, activation="relu", name="stem")(inputs)
    branch = lib.layers.Dense(8, activation="relu", name="branch_a")(hidden)
    branch = lib.layers.Dense(8, name="branch_b")(branch)
    merged = lib.layers.Add(name="add")([hidden, branch])
    outputs = lib.layers.Dense(3, name="head")(merged)
    return lib.Model(inputs, outputs, name="residual")


def test_residual_block_matches_keras():
    reference, ours = residual_block(keras), residual_block(kt)
    copy_by_name(reference, ours)
    assert [l.name for l in ours.layers] == [l.name for l in reference.layers]
    assert ours.output_shape == reference.output_shape == (None, 3)
    assert_same(reference, ours, np.random.default_rng(0).normal(size=(5, 6)).astype("float32"))


def two_in_two_out(lib):
    left, right = lib.Input((5,), name="left"), lib.Input((5,), name="right")
    shared = lib.layers.Dense(4, activation="tanh", name="shared")
    a, b = shared(left), shared(right)
    merged = lib.layers.Concatenate(name="concat")([a, b])
    score = lib.layers.Dense(1, name="score")(merged)
    diff = lib.layers.Subtract(name="diff")([a, b])
    return lib.Model(inputs=[left, right], outputs=[score, diff], name="siamese")


def test_two_inputs_two_outputs_with_a_shared_layer_match_keras():
    reference, ours = two_in_two_out(keras), two_in_two_out(kt)
    copy_by_name(reference, ours)
    rng = np.random.default_rng(1)
    inputs = [rng.normal(size=(3, 5)).astype("float32") for _ in range(2)]
    assert [l.name for l in ours.layers] == [l.name for l in reference.layers]
    assert_same(reference, ours, inputs)
    # The shared layer is one module with one set of weights, counted once.
    assert ours.count_params() == 24 + 9 == reference.count_params()
    assert len(ours.get_layer("shared")._inbound_nodes) == 2


def nested(lib):
    inner = lib.Sequential(
        [lib.layers.Dense(6, activation="relu", name="inner_a"), lib.layers.Dense(4, name="inner_b")],
        name="inner",
    )
    inputs = lib.Input((3,), name="features")
    outputs = lib.layers.Dense(2, name="top")(inner(inputs))
    return lib.Model(inputs, outputs, name="outer")


def test_nested_sequential_matches_keras_and_summary_collapses_or_expands():
    reference, ours = nested(keras), nested(kt)
    copy_by_name(reference, ours)
    assert_same(reference, ours, np.random.default_rng(2).normal(size=(4, 3)).astype("float32"))
    collapsed = [row.layer.name for row in ours._summary_rows(False)]
    expanded = [(row.layer.name, row.depth) for row in ours._summary_rows(True)]
    assert collapsed == ["features", "inner", "top"]
    assert expanded == [("features", 0), ("inner", 0), ("inner_a", 1), ("inner_b", 1), ("top", 0)]
    lines = []
    ours.summary(expand_nested=True, print_fn=lines.append)
    assert "└ inner_a (Dense)" in lines[0] and "Total params: 62" in lines[0]


def conv_stack(lib):
    return lib.Sequential(
        [
            lib.Input((10, 10, 3)),
            lib.layers.Conv2D(4, 3, activation="relu", name="conv_a"),
            lib.layers.MaxPooling2D(2, name="pool"),
            lib.layers.Conv2D(5, 2, padding="same", name="conv_b"),
            lib.layers.Flatten(name="flat"),
            lib.layers.Dense(3, name="logits"),
        ],
        name="convs",
    )


def test_feature_extractor_over_a_conv_stack_matches_keras():
    reference, ours = conv_stack(keras), conv_stack(kt)
    copy_by_name(reference, ours)
    extract_reference = keras.Model(inputs=reference.inputs, outputs=[l.output for l in reference.layers])
    extract_ours = kt.Model(inputs=ours.inputs, outputs=[l.output for l in ours.layers])
    x = np.random.default_rng(3).normal(size=(2, 10, 10, 3)).astype("float32")
    assert_same(extract_reference, extract_ours, x)
    features = extract_ours(torch.from_numpy(x))
    assert [tuple(f.shape) for f in features] == [(2, 8, 8, 4), (2, 4, 4, 4), (2, 4, 4, 5), (2, 80), (2, 3)]
    torch.testing.assert_close(features[-1], ours(torch.from_numpy(x)), rtol=0, atol=0)


# -------------------------------------------------------------------- built Sequentials as graphs


def sequential_three_ways():
    yield "input_shape", kt.Sequential([L.Dense(5, activation="relu"), L.Dense(2)], input_shape=(3,))
    yield "leading Input", kt.Sequential([kt.Input((3,)), L.Dense(5, activation="relu"), L.Dense(2)])
    eager = kt.Sequential([L.Dense(5, activation="relu"), L.Dense(2)])
    eager(torch.zeros(1, 3))
    yield "eager call", eager


@pytest.mark.parametrize("how", ["input_shape", "leading Input", "eager call"])
def test_guide_feature_extractor_recipes_share_weights(how):
    model = dict(sequential_three_ways())[how]
    everything = kt.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    one = kt.Model(inputs=model.inputs, outputs=model.get_layer(index=0).output)
    x = torch.randn(4, 3)
    first, last = everything(x)
    torch.testing.assert_close(last, model(x), rtol=0, atol=0)
    torch.testing.assert_close(one(x), first, rtol=0, atol=0)
    with torch.no_grad():  # the extractor holds the very same parameters
        model.layers[-1].bias.add_(1.0)
    torch.testing.assert_close(everything(x)[-1], model(x), rtol=0, atol=0)
    assert {id(p) for p in everything.parameters()} == {id(p) for p in model.parameters()}


# ---------------------------------------------------------------------------- model interface


def test_layers_get_layer_inputs_outputs():
    model = two_in_two_out(kt)
    names = [layer.name for layer in model.layers]
    assert names[:2] == ["left", "right"] and isinstance(model.layers[0], kt.InputLayer)
    assert model.get_layer("shared") is model.layers[2] and model.get_layer(index=-1).name == names[-1]
    assert [t.name for t in model.inputs] == ["left", "right"] and len(model.outputs) == 2
    assert model.input == model.inputs and model.output == model.outputs
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")
    single = residual_block(kt)
    assert single.input is single.inputs[0] and single.output.shape == (None, 3)


def test_inputs_as_tensors_arrays_lists_and_dicts():
    model = two_in_two_out(kt)
    a, b = torch.randn(2, 5), torch.randn(2, 5)
    expected = model([a, b])
    for inputs in ((a, b), {"left": a, "right": b}, [a.numpy(), b.numpy()], [a.double(), b.double()]):
        for want, got in zip(expected, model(inputs)):
            torch.testing.assert_close(got, want)
    single = residual_block(kt)
    x = torch.randn(2, 6)
    for inputs in (x.numpy(), [x], {"x": x}, x.tolist()):
        torch.testing.assert_close(single(inputs), single(x))


def test_dict_inputs_and_outputs_keep_their_keys():
    a, b = kt.Input((2,), name="a"), kt.Input((2,), name="b")
    total = L.Add(name="total")([a, b])
    model = kt.Model({"first": a, "second": b}, {"sum": total, "a_out": L.Dense(1, name="d")(a)})
    out = model({"first": torch.ones(1, 2), "second": torch.ones(1, 2)})
    assert set(out) == {"sum", "a_out"}
    torch.testing.assert_close(out["sum"], torch.full((1, 2), 2.0))


def test_subgraph_cut_from_intermediate_tensors():
    model = residual_block(kt)
    hidden = model.get_layer("stem").output
    head = kt.Model(hidden, model.output)
    assert [l.name for l in head.layers] == ["branch_a", "branch_b", "add", "head"]
    x = torch.randn(3, 6)
    torch.testing.assert_close(head(model.get_layer("stem")(x)), model(x))


def test_functional_model_nested_in_another_graph_and_called_twice():
    inner = residual_block(kt)
    a, b = kt.Input((6,), name="in_a"), kt.Input((6,), name="in_b")
    outer = kt.Model([a, b], L.Add(name="both")([inner(a), inner(b)]))
    assert outer.count_params() == inner.count_params()
    x, y = torch.randn(2, 6), torch.randn(2, 6)
    torch.testing.assert_close(outer([x, y]), inner(x) + inner(y))
    rows = outer._summary_rows(False)
    assert [r.connected_to for r in rows if r.layer is inner] == [["in_a[0][0]", "in_b[0][0]"]]


def test_training_argument_switches_mode_for_the_call_only():
    inputs = kt.Input((50,))
    model = kt.Model(inputs, L.Dropout(0.5)(inputs))
    x = torch.ones(4, 50)
    assert torch.equal(model(x), x)
    dropped = model(x, training=True)
    assert (dropped == 0).any() and not model.training
    assert torch.equal(model(x, training=False), x)


def test_state_dict_keys_do_not_depend_on_auto_names():
    def build():
        inputs = kt.Input((4,))
        return kt.Model(inputs, L.Dense(2)(L.Dense(3)(inputs)))

    first, second = build(), build()
    assert list(first.state_dict()) == list(second.state_dict()) == ["1.kernel", "1.bias", "2.kernel", "2.bias"]
    second.load_state_dict(first.state_dict())
    x = torch.randn(2, 4)
    torch.testing.assert_close(second(x), first(x))


def test_deepcopy_and_torch_save_round_trip(tmp_path):
    model = two_in_two_out(kt)
    x = [torch.randn(2, 5), torch.randn(2, 5)]
    copied = copy.deepcopy(model)
    assert copied.get_layer("shared") is not model.get_layer("shared")
    torch.save(model, tmp_path / "model.pt")
    loaded = torch.load(tmp_path / "model.pt", weights_only=False)
    for other in (copied, loaded):
        for want, got in zip(model(x), other(x)):
            torch.testing.assert_close(got, want)


def test_get_config_and_from_config_rebuild_the_graph():
    model = two_in_two_out(kt)
    rebuilt = kt.Model.from_config(model.get_config())
    assert [l.name for l in rebuilt.layers] == [l.name for l in model.layers]
    rebuilt.set_weights(model.get_weights())
    x = [torch.randn(2, 5), torch.randn(2, 5)]
    for want, got in zip(model(x), rebuilt(x)):
        torch.testing.assert_close(got, want)


def test_submodules_swapped_by_torch_tools_are_called():
    from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
        CheckpointWrapper, apply_activation_checkpointing,
    )

    model = residual_block(kt)
    x = torch.randn(3, 6)
    expected = model(x)
    apply_activation_checkpointing(model, check_fn=lambda m: isinstance(m, L.Dense))
    wrapped = [step[0] for step in model._steps]
    assert sum(isinstance(layer, CheckpointWrapper) for layer in wrapped) == 4
    torch.testing.assert_close(model(x), expected)
    setattr(model, "5", nn.Identity())  # the head (children: x, stem, branch_a, branch_b, add, head)
    assert model(x).shape == (3, 8)


def test_intermediate_tensors_are_released_after_their_last_use():
    model = residual_block(kt)
    released = {slot for step in model._steps for slot in step[4]}
    output_slot = model._output_slots
    assert output_slot not in released and len(released) == model._num_slots - 1


# -------------------------------------------------------------------------------- subclassing


class TwoLayers(kt.Model):
    def __init__(self):
        super().__init__(name="two_layers")
        self.hidden = L.Dense(8, activation="relu", name="hidden")
        self.out = L.Dense(2, name="out")

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))


def test_subclassed_model_builds_lazily_and_summarizes():
    model = TwoLayers()
    assert not model.built
    with pytest.raises(ValueError, match="not yet been created"):
        model.summary()
    y = model(torch.randn(3, 4))
    assert y.shape == (3, 2) and model.built and model.count_params() == 40 + 18
    lines = []
    model.summary(print_fn=lines.append)
    assert "hidden (Dense)" in lines[0] and "Total params: 58" in lines[0]
    symbolic = TwoLayers()(kt.Input((4,)))
    assert symbolic.shape == (None, 2)


def test_subclassed_model_build_creates_weights_without_real_compute():
    class ConvNet(kt.Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(4, 3, activation="relu", name="conv")
            self.norm = L.BatchNormalization(name="norm")
            self.pool = L.GlobalAveragePooling2D(name="pool")
            self.head = L.Dense(3, name="head")

        def call(self, inputs, training=None):
            return self.head(self.pool(self.norm(self.conv(inputs))))

    model = ConvNet()
    model.build((None, 16, 16, 3))
    assert model.built and all(layer.built for layer in model.layers)
    assert model.count_params() == (27 * 4 + 4) + 4 * 4 + (4 * 3 + 3)
    assert all(w.device.type == "cpu" for w in model.weights)
    assert model(torch.randn(2, 16, 16, 3)).shape == (2, 3)


# ------------------------------------------------------------------------------------ summary


def test_summary_connected_to_like_keras():
    model = two_in_two_out(kt)
    rows = model._summary_rows(False)
    assert all(isinstance(r, SummaryRow) for r in rows)
    table = {r.layer.name: (r.output_shape, r.params, r.connected_to) for r in rows}
    assert table["left"] == ("(None, 5)", 0, ["-"])
    assert table["shared"] == ("(None, 4)", 24, ["left[0][0]", "right[0][0]"])
    assert table["concat"][2] == ["shared[0][0]", "shared[1][0]"]
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    assert "Connected to" in text and "left (InputLayer)" in text
    assert "Total params: 33 (132.00 B)" in text


def keras_summary_table(model, monkeypatch) -> dict:
    """Keras's summary rows as {layer name: (output shape, params, connected to)}."""
    monkeypatch.setenv("COLUMNS", "250")  # Keras sizes the table to the terminal
    lines = []
    model.summary(print_fn=lambda text, line_break=False: lines.append(text), line_length=200)
    table = {}
    for line in "\n".join(lines).splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) in (3, 4) and cells[0] != "Layer (type)":
            connected = cells[3] if len(cells) == 4 else ""
            table[cells[0].split(" (")[0]] = (cells[1], int(cells[2].replace(",", "")), connected)
    return table


@pytest.mark.parametrize("build", [two_in_two_out, residual_block, nested], ids=lambda f: f.__name__)
def test_summary_rows_match_keras(build, monkeypatch):
    expected = keras_summary_table(build(keras), monkeypatch)
    rows = build(kt)._summary_rows(False)
    received = {r.layer.name: (r.output_shape, r.params, ", ".join(r.connected_to)) for r in rows}
    assert received == expected  # a chain (nested) has no Connected to column in either


def test_summary_of_a_chain_has_no_connected_to_column():
    inputs = kt.Input((3,))
    model = kt.Model(inputs, L.Dense(2)(L.Dense(4)(inputs)))
    assert all(row.connected_to == [] for row in model._summary_rows(False))


# ---------------------------------------------------------------------------- compile/export


@pytest.mark.cuda
def test_functional_model_on_cuda_converts_arrays_to_its_device():
    model = two_in_two_out(kt)
    arrays = [np.random.default_rng(4).normal(size=(3, 5)).astype("float32") for _ in range(2)]
    expected = model(arrays)
    model.to("cuda")
    received = model(arrays)
    assert all(r.device.type == "cuda" for r in received)
    for want, got in zip(expected, received):
        torch.testing.assert_close(got.cpu(), want, atol=1e-5, rtol=1e-5)


def test_torch_compile_fullgraph_and_export():
    model = two_in_two_out(kt)
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    expected = model([a, b])
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    for want, got in zip(expected, compiled([a, b])):
        torch.testing.assert_close(got, want)
    exported = torch.export.export(model, ([a, b],))
    for want, got in zip(expected, exported.module()([a, b])):
        torch.testing.assert_close(got, want)


def test_export_with_a_dynamic_batch():
    model = nested(kt)
    batch = torch.export.Dim("batch", min=2, max=1024)
    exported = torch.export.export(model, (torch.randn(4, 3),), dynamic_shapes=({0: batch},))
    x = torch.randn(7, 3)
    torch.testing.assert_close(exported.module()(x), model(x))


# ----------------------------------------------------------------------------------- errors


def test_outputs_not_connected_to_inputs():
    a, b = kt.Input((4,), name="wired"), kt.Input((4,), name="elsewhere")
    with pytest.raises(ValueError, match="is not connected to `inputs`"):
        kt.Model(a, L.Dense(2)(b))


def test_input_used_but_not_listed():
    a, b = kt.Input((4,), name="listed"), kt.Input((4,), name="unlisted")
    merged = L.Concatenate()([a, b])
    with pytest.raises(ValueError, match="uses input 'unlisted'.*not in `inputs`"):
        kt.Model(a, merged)


def test_duplicate_layer_names():
    inputs = kt.Input((4,))
    x = L.Dense(3, name="twin")(inputs)
    with pytest.raises(ValueError, match="'twin' is used 2 times"):
        kt.Model(inputs, L.Dense(3, name="twin")(x))


def test_layer_called_on_the_wrong_number_of_inputs_changes_nothing():
    a, b = kt.Input((4,)), kt.Input((4,))
    dense = L.Dense(3, name="single_input")
    with pytest.raises(ValueError, match="'single_input'.*2 inputs of shapes \\[\\(None, 4\\), \\(None, 4\\)\\]"):
        dense([a, b])
    assert not dense.built and dense.weights == [] and dense._inbound_nodes == []
    assert dense(a).shape == (None, 3)
    subtract = L.Subtract(name="needs_two")
    with pytest.raises(ValueError, match="'needs_two'.*exactly 2"):
        subtract([a])
    assert not subtract.built


def test_model_called_with_wrong_inputs():
    model = two_in_two_out(kt)
    with pytest.raises(ValueError, match="expects 2 input"):
        model(torch.randn(2, 5))
    with pytest.raises(ValueError, match="missing \\['right'\\]"):
        model({"left": torch.randn(2, 5)})
    with pytest.raises(ValueError, match="expected shape \\(None, 5\\), received \\(2, 6\\)"):
        model([torch.randn(2, 5), torch.randn(2, 6)])


def test_non_symbolic_arguments():
    with pytest.raises(TypeError, match="symbolic tensors"):
        kt.Model(torch.zeros(1, 2), kt.Input((2,)))
    with pytest.raises(ValueError, match="at least one tensor"):
        kt.Model([], kt.Input((2,)))


# ------------------------------------------------------------------------- benchmark helper


def functional_residual_mlp(features: int = 256, width: int = 512, blocks: int = 4, classes: int = 10):
    """A functional residual MLP and the same network written by hand in torch, sharing weights.

    Returns `(kerastorch_model, torch_module)`, both in eval mode; used by the forward benchmark.
    """
    inputs = kt.Input((features,), name="features")
    hidden = L.Dense(width, activation="relu", name="stem")(inputs)
    for index in range(blocks):
        branch = L.Dense(width, activation="relu", name=f"block{index}_a")(hidden)
        branch = L.Dense(width, name=f"block{index}_b")(branch)
        hidden = L.Add(name=f"block{index}_add")([hidden, branch])
    model = kt.Model(inputs, L.Dense(classes, name="head")(hidden), name="residual_mlp")

    class ResidualMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Linear(features, width)
            self.blocks = nn.ModuleList(nn.ModuleList([nn.Linear(width, width), nn.Linear(width, width)])
                                        for _ in range(blocks))
            self.head = nn.Linear(width, classes)

        def forward(self, x):
            h = torch.relu(self.stem(x))
            for first, second in self.blocks:
                h = h + second(torch.relu(first(h)))
            return self.head(h)

    reference = ResidualMLP()
    pairs = [(reference.stem, "stem"), (reference.head, "head")]
    pairs += [(linear, f"block{i}_{part}") for i, block in enumerate(reference.blocks)
              for linear, part in zip(block, "ab")]
    with torch.no_grad():
        for linear, name in pairs:
            layer = model.get_layer(name)
            linear.weight.copy_(layer.kernel.T)
            linear.bias.copy_(layer.bias)
    return model.eval(), reference.eval()


def test_functional_residual_mlp_equals_hand_written_torch():
    model, reference = functional_residual_mlp(features=16, width=32, blocks=2)
    x = torch.randn(5, 16)
    torch.testing.assert_close(model(x), reference(x), atol=1e-5, rtol=1e-5)
    assert model.count_params() == sum(p.numel() for p in reference.parameters())


def test_dict_outputs_follow_keras_sorted_key_order():
    def build(lib):
        x = lib.Input((4,), name="x")
        return lib.Model(x, {"out": lib.layers.Dense(2, name="out")(x), "aux": lib.layers.Dense(3, name="aux")(x)})

    ours, reference = build(kt), build(keras)
    assert [layer.name for layer in ours.layers] == [layer.name for layer in reference.layers]
    assert [tuple(t.shape) for t in ours.outputs] == [tuple(t.shape) for t in reference.outputs]
    ours.set_weights(reference.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    expected = reference(x)
    result = ours(torch.from_numpy(x))
    for key in ("out", "aux"):
        np.testing.assert_allclose(result[key].detach().numpy(), keras.ops.convert_to_numpy(expected[key]), atol=1e-5)
