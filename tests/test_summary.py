"""summary(): the same text as Keras 3, line by line, for the same model built in both libraries.

One harness renders a model in kerastorch and in real Keras (torch backend) at several
`line_length`s and compares the captured text. Both libraries size the table from the terminal
(`shutil.get_terminal_size`) and rich sizes its console from `COLUMNS`, so the fixture below fixes
`COLUMNS` for both. Layers and models get explicit names: auto names depend on what else the
process built. The only differences allowed are DESIGN.md's, asserted explicitly: the `Trainable`
column appears by itself once a weight is frozen, and an unbuilt model's summary raises.
"""

import re

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.layers.layer import snake_case
from kerastorch.summary import readable_size

WIDTHS = (80, 100, 120)


@pytest.fixture(autouse=True)
def terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")


def render(model, **kwargs) -> str:
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    assert len(calls) == 1, "print_fn is called once, with the whole summary (as Keras does)"
    return calls[0]


def assert_same_text(ours: str, reference: str) -> None:
    assert ours.splitlines() == reference.splitlines()
    assert ours == reference  # trailing newline included


def assert_renders_like_keras(ours, reference, widths=WIDTHS, **kwargs) -> None:
    for width in widths:
        assert_same_text(render(ours, line_length=width, **kwargs), render(reference, line_length=width, **kwargs))


# ------------------------------------------------------------------------------------ the models


def guide_built_by_call(lib):
    model = lib.Sequential([lib.layers.Dense(2, activation="relu", name="layer1"),
                            lib.layers.Dense(3, activation="relu", name="layer2"),
                            lib.layers.Dense(4, name="layer3")], name="my_sequential")
    model(torch.ones(1, 4))
    return model


def guide_input_first(lib):
    model = lib.Sequential(name="with_input")
    model.add(lib.Input(shape=(4,)))
    model.add(lib.layers.Dense(2, activation="relu", name="dense"))
    return model


def guide_input_shape(lib):
    model = lib.Sequential(name="with_input_shape")
    model.add(lib.layers.Dense(2, activation="relu", input_shape=(4,), name="dense"))
    return model


def guide_conv(lib, stage: int):
    """The guide's add() + summary() debugging workflow, at each of its three stages."""
    L = lib.layers
    model = lib.Sequential(name="convnet")
    model.add(lib.Input(shape=(250, 250, 3)))
    model.add(L.Conv2D(32, 5, strides=2, activation="relu", name="conv_1"))
    model.add(L.Conv2D(32, 3, activation="relu", name="conv_2"))
    model.add(L.MaxPooling2D(3, name="pool_1"))
    if stage >= 2:
        model.add(L.Conv2D(32, 3, activation="relu", name="conv_3"))
        model.add(L.Conv2D(32, 3, activation="relu", name="conv_4"))
        model.add(L.MaxPooling2D(3, name="pool_2"))
        model.add(L.Conv2D(32, 3, activation="relu", name="conv_5"))
        model.add(L.Conv2D(32, 3, activation="relu", name="conv_6"))
        model.add(L.MaxPooling2D(2, name="pool_3"))
    if stage >= 3:
        model.add(L.GlobalMaxPooling2D(name="global_pool"))
        model.add(L.Dense(10, name="classifier"))
    return model


def guide_feature_extractor(lib):
    initial = lib.Sequential([lib.Input(shape=(250, 250, 3), name="image"),
                              lib.layers.Conv2D(32, 5, strides=2, activation="relu", name="conv_a"),
                              lib.layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
                              lib.layers.Conv2D(32, 3, activation="relu", name="conv_c")], name="initial")
    return lib.Model(inputs=initial.inputs, outputs=[layer.output for layer in initial.layers],
                     name="feature_extractor")


def frozen_mlp(lib):
    """The guide's "freeze all layers except the last one" model."""
    model = lib.Sequential([lib.Input(shape=(784,))]
                           + [lib.layers.Dense(32, activation="relu", name=f"hidden_{i}") for i in range(3)]
                           + [lib.layers.Dense(10, name="logits")], name="mlp")
    for layer in model.layers[:-1]:
        layer.trainable = False
    return model


def two_in_two_out(lib):
    """Two inputs through one shared layer (two nodes), two heads: the `Connected to` column."""
    left, right = lib.Input((5,), name="left"), lib.Input((5,), name="right")
    shared = lib.layers.Dense(4, name="shared")
    merged = lib.layers.Concatenate(name="concat")([shared(left), shared(right)])
    score = lib.layers.Dense(1, name="score")(merged)
    label = lib.layers.Dense(3, activation="softmax", name="label")(lib.layers.Dropout(0.1, name="drop")(merged))
    return lib.Model([left, right], [score, label], name="two_in_two_out")


def nested_functional(lib):
    inner = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, name="inner_a"),
                            lib.layers.Dense(5, name="inner_b")], name="inner")
    block_in = lib.Input((5,), name="block_in")
    block = lib.Model(block_in, lib.layers.Add(name="residual")(
        [block_in, lib.layers.Dense(5, name="block_dense")(block_in)]), name="block")
    inputs = lib.Input((3,), name="features")
    outputs = lib.layers.Dense(2, name="top")(block(inner(inputs)))
    return lib.Model(inputs, outputs, name="outer")


def nested_sequential(lib):
    inner = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3, name="inner_dense"),
                            lib.layers.BatchNormalization(name="inner_norm")], name="inner")
    inner.layers[0].trainable = False
    return lib.Sequential([lib.Input((4,)), inner, lib.layers.Dense(2, name="head")], name="outer")


def subclassed(lib):
    class TwoDense(lib.Model):
        def __init__(self):
            super().__init__(name="two_dense")
            self.hidden = lib.layers.Dense(4, activation="relu", name="hidden")
            self.out = lib.layers.Dense(2, name="out")
            self.spare = lib.layers.Dense(2, name="spare")  # never called: Keras shows `0 (unbuilt)`

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    model = TwoDense()
    model(torch.ones(3, 5))
    return model


def subclassed_with_nested_sequential(lib):
    class WithBlock(lib.Model):
        def __init__(self):
            super().__init__(name="with_block")
            self.block = lib.Sequential([lib.layers.Dense(3, name="b1"), lib.layers.Dense(3, name="b2")], name="block")
            self.head = lib.layers.Dense(1, name="head")

        def call(self, inputs):
            return self.head(self.block(inputs))

    model = WithBlock()
    model(torch.ones(2, 5))
    return model


def several_outputs(lib):
    """Dict outputs, and a nested model with two outputs (a structured `Output Shape` cell)."""
    x = lib.Input((4,), name="x")
    heads = lib.Model(x, [lib.layers.Dense(2, name="p")(x), lib.layers.Dense(3, name="q")(x)], name="two_heads")
    y = lib.Input((4,), name="y")
    p, q = heads(y)
    return lib.Model(y, {"zeta": lib.layers.Concatenate(name="cat")([p, q]), "alpha": lib.layers.Dense(1, name="a")(p)},
                     name="several_outputs")


def shared_in_a_chain(lib):
    """One layer called twice in a row: Keras's shared-layer rule adds the `Connected to` column."""
    inputs = lib.Input((3,), name="x")
    twice = lib.layers.Dense(3, name="twice")
    return lib.Model(inputs, twice(twice(inputs)), name="shared_chain")


def frozen_functional_in_sequential(lib):
    inputs = lib.Input((4,), name="features")
    body = lib.Model(inputs, lib.layers.Dense(3, name="body_dense")(inputs), name="body")
    body.trainable = False
    return lib.Sequential([lib.Input((4,)), body, lib.layers.Dense(2, name="head")], name="frozen_body")


def conv_norm(lib):
    return lib.Sequential([lib.Input((8, 8, 3)), lib.layers.Conv2D(4, 3, name="conv"),
                           lib.layers.BatchNormalization(name="norm"), lib.layers.Flatten(name="flat")],
                          name="conv_norm")


def long_names(lib):
    """Names and shapes longer than their columns: rich wraps or shortens them the same way."""
    inputs = lib.Input((2, 3, 4, 5, 6, 7, 8), name="an_input_with_a_rather_long_descriptive_name")
    x = lib.layers.Reshape((6, 7, 8, 5, 4, 3, 2), name="reshape_the_input_to_reverse_the_order_of_its_axes")(inputs)
    outputs = lib.layers.Dense(123456, name="projection_with_a_very_large_number_of_output_units")(x)
    return lib.Model(inputs, outputs, name="a_model_with_a_very_long_name_" * 4)


def named_op(lib, tensor, name: str):
    """Name the ops node that made `tensor` (ops nodes take auto names, counted per process)."""
    operation = tensor.node.layer if lib is kt else tensor._keras_history.operation
    operation.name = name
    return tensor


def with_ops_nodes(lib):
    """Ops on symbolic tensors become graph nodes with rows like `mean (Mean)`."""
    inputs = lib.Input((6,), name="x")
    hidden = lib.layers.Dense(4, name="dense")(inputs)
    average = named_op(lib, lib.ops.mean(hidden, axis=-1, keepdims=True), "mean")
    shifted = named_op(lib, hidden + average, "add")
    grid = named_op(lib, lib.ops.reshape(shifted, (-1, 2, 2)), "reshape")
    doubled = named_op(lib, grid * 2.0, "multiply")
    joined = named_op(lib, lib.ops.concatenate([grid, doubled], axis=-1), "concatenate")
    return lib.Model(inputs, lib.layers.Dense(2, name="out")(joined), name="with_ops")


def nested_ops_model(lib):
    """Expanded, a nested model lists its `layers`: its ops nodes get no row (as in Keras)."""
    inputs = lib.Input((6,), name="outer_x")
    return lib.Model(inputs, lib.layers.Flatten(name="flat")(with_ops_nodes(lib)(inputs)), name="outer")


CASES = {
    "guide_built_by_call": (guide_built_by_call, {}),
    "guide_input_first": (guide_input_first, {}),
    "guide_input_shape": (guide_input_shape, {}),
    "guide_conv_stage_1": (lambda lib: guide_conv(lib, 1), {}),
    "guide_conv_stage_2": (lambda lib: guide_conv(lib, 2), {}),
    "guide_conv_stage_3": (lambda lib: guide_conv(lib, 3), {}),
    "guide_feature_extractor": (guide_feature_extractor, {}),
    "guide_frozen_mlp": (frozen_mlp, {"show_trainable": True}),
    "two_in_two_out": (two_in_two_out, {}),
    "two_in_two_out_trainable": (two_in_two_out, {"show_trainable": True}),
    "nested_collapsed": (nested_functional, {}),
    "nested_expanded": (nested_functional, {"expand_nested": True}),
    "nested_expanded_trainable": (nested_functional, {"expand_nested": True, "show_trainable": True}),
    "nested_sequential_expanded": (nested_sequential, {"expand_nested": True, "show_trainable": True}),
    "subclassed": (subclassed, {"show_trainable": True}),
    "subclassed_nested_expanded": (subclassed_with_nested_sequential, {"expand_nested": True}),
    "several_outputs": (several_outputs, {"expand_nested": True}),
    "batchnorm_statistics": (conv_norm, {"show_trainable": True}),
    "shared_in_a_chain": (shared_in_a_chain, {}),
    "frozen_functional_expanded": (frozen_functional_in_sequential, {"expand_nested": True, "show_trainable": True}),
    "long_names": (long_names, {}),
    "ops_nodes": (with_ops_nodes, {"show_trainable": True}),
    "ops_nodes_nested_expanded": (nested_ops_model, {"expand_nested": True}),
    "layer_range": (lambda lib: guide_conv(lib, 3), {"layer_range": ["conv_[2-3]", "pool"]}),
    "layer_range_nested": (nested_functional, {"layer_range": ["inner", "block"], "expand_nested": True}),
    "positions": (two_in_two_out, {"positions": [0.25, 0.5, 0.6, 1.0]}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_summary_text_matches_keras(case):
    build, kwargs = CASES[case]
    assert_renders_like_keras(build(kt), build(keras), **kwargs)


@pytest.mark.parametrize("columns", ["60", "100", "250"])
def test_default_line_length_follows_the_terminal_like_keras(monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    for build in (lambda lib: guide_conv(lib, 3), two_in_two_out):
        ours, reference = build(kt), build(keras)
        assert_same_text(render(ours), render(reference))
        assert_same_text(render(ours, show_trainable=True), render(reference, show_trainable=True))
        # A table wider than the console is cropped by rich, in both.
        assert_same_text(render(ours, line_length=120), render(reference, line_length=120))


def test_frozen_weights_show_the_trainable_column_by_themselves():
    """DESIGN.md: unlike Keras (which needs show_trainable=True), the column appears once a
    weight is frozen; it then renders exactly as Keras's, and show_trainable=False hides it."""
    ours, reference = frozen_mlp(kt), frozen_mlp(keras)
    for width in WIDTHS:
        auto = render(ours, line_length=width)
        assert "Trai" in auto.splitlines()[2] and "Trai" not in render(reference, line_length=width).splitlines()[2]
        assert_same_text(auto, render(reference, line_length=width, show_trainable=True))
        assert_same_text(render(ours, line_length=width, show_trainable=False), render(reference, line_length=width))
    rows = [line for line in render(ours, line_length=100).splitlines() if "(Dense)" in line]
    assert [row.split("│")[-2].strip() for row in rows] == ["N", "N", "N", "Y"]
    unfrozen = guide_conv(kt, 3)
    assert "Trai" not in render(unfrozen).splitlines()[2]


def test_unbuilt_model_summary_raises_where_keras_prints():
    """DESIGN.md: the guide says an unbuilt model has no summary; Keras 3.15 prints one anyway."""
    def unbuilt(lib):
        return lib.Sequential([lib.layers.Dense(2, name="a"), lib.layers.Dense(3, name="b")], name="unbuilt")

    assert "0 (unbuilt)" in render(unbuilt(keras))
    calls = []
    with pytest.raises(ValueError, match="not yet been created"):
        unbuilt(kt).summary(print_fn=calls.append)
    assert calls == []


def test_summary_without_print_fn_prints_the_same_as_keras(capsys):
    for lib in (kt, keras):
        two_in_two_out(lib).summary(line_length=100)
    ours, reference = _split_halves(capsys.readouterr().out)
    assert_same_text(ours, reference)
    assert ours == render(two_in_two_out(kt), line_length=100)


def _split_halves(text: str) -> tuple[str, str]:
    start = text.index('Model: "', 1)
    return text[:start], text[start:]


def test_print_fn_receives_the_whole_text_once_like_keras():
    received = {}
    for lib in (kt, keras):
        calls = []
        guide_input_first(lib).summary(print_fn=lambda *args, **kwargs: calls.append((args, kwargs)))
        received[lib.__name__] = calls
    assert received["kerastorch"] == received["keras"]
    ((text,), kwargs), = received["kerastorch"]
    assert kwargs == {} and text.startswith('Model: "with_input"') and text.endswith("B)\n")


def test_bad_arguments_raise_value_errors_like_keras():
    ours, reference = two_in_two_out(kt), two_in_two_out(keras)
    for kwargs in ({"line_length": 10}, {"layer_range": ["left"]}, {"layer_range": ["nothing", "score"]},
                   {"layer_range": [1, 2]}):
        with pytest.raises(ValueError):
            reference.summary(print_fn=print, **kwargs)
        with pytest.raises(ValueError):
            ours.summary(print_fn=print, **kwargs)
    with pytest.raises(ValueError, match="positions"):
        ours.summary(print_fn=print, positions=[0.5, 1.0])
    with pytest.raises(TypeError, match="line_length"):
        ours.summary(print_fn=print, line_length="80")


def test_torch_style_freezing_shows_n_in_the_trainable_column():
    model = guide_input_first(kt)
    model.layers[0].kernel.requires_grad_(False)
    assert render(model).splitlines()[4].split("│")[-2].strip() == "Y"  # partly frozen: still trainable
    model.layers[0].bias.requires_grad_(False)
    assert render(model).splitlines()[4].split("│")[-2].strip() == "N"


def test_readable_size_matches_keras_format():
    from keras.src.utils.summary_utils import readable_memory_size

    for size in (0, 140, 1023, 1024, 46720, 3 * 1024**2, 5.5 * 1024**3, 2 * 1024**4, 3 * 1024**6):
        assert readable_size(size) == readable_memory_size(size)


# ------------------------------------------------------------------------------- optimizer params


def small_regressor(lib):
    return lib.Sequential([lib.Input((6,)), lib.layers.Dense(5, activation="relu", name="hidden"),
                           lib.layers.BatchNormalization(name="norm"), lib.layers.Dense(1, name="out")],
                          name="regressor")


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_optimizer_params_appear_after_training_like_keras(optimizer):
    x, y = np.random.default_rng(0).normal(size=(8, 6)).astype("float32"), np.zeros((8, 1), "float32")
    models = {lib: small_regressor(lib) for lib in (kt, keras)}
    for model in models.values():
        model.compile(optimizer=optimizer, loss="mse")
    compiled = render(models[kt])
    assert "Optimizer params" not in compiled  # nothing to count before the first training step
    assert_same_text(compiled, render(models[keras]))
    for model in models.values():
        model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert "Optimizer params" in render(models[kt])
    assert_renders_like_keras(models[kt], models[keras])


def test_torch_optimizer_state_counts_as_optimizer_params():
    """A torch.optim optimizer (beyond Keras) shows its state tensors once it has any."""
    model = small_regressor(kt)
    model.compile(optimizer=torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), loss="mse")
    model.fit(np.ones((4, 6), "float32"), np.zeros((4, 1), "float32"), epochs=1, verbose=0)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert f" Optimizer params: {trainable:,} ({readable_size(4 * trainable)})" in render(model)
    frozen = 10  # BatchNormalization's moving mean and variance
    assert f" Total params: {2 * trainable + frozen:,} " in render(model)


# ---------------------------------------------------------------------- transfer learning (slow)


def restart_auto_names(model) -> None:
    """Xception's unnamed layers (input, shortcut convolutions and norms, adds, pooling) get auto
    names whose counters depend on what the process built before; number them as a fresh process
    would."""
    seen: dict[str, int] = {}
    for layer in model.layers:
        base = snake_case(type(layer).__name__)
        if re.fullmatch(rf"{base}(_\d+)?", layer.name):
            count = seen[base] = seen.get(base, -1) + 1
            layer.name = f"{base}_{count}" if count else base


def frozen_xception_classifier(lib):
    """The issue's transfer-learning model: frozen Xception base, Dropout and Dense on top."""
    base = lib.applications.Xception(include_top=False, pooling="avg", weights=None)
    base.trainable = False
    restart_auto_names(base)
    # Small images keep the training step cheap; the base accepts any size from 71x71 up.
    return lib.Sequential([lib.Input((71, 71, 3)), base, lib.layers.Dropout(0.2, name="dropout"),
                           lib.layers.Dense(1, name="classifier")], name="transfer")


@pytest.mark.slow
def test_frozen_xception_base_before_and_after_training_like_keras():
    models = {lib: frozen_xception_classifier(lib) for lib in (kt, keras)}
    ours, reference = models[kt], models[keras]

    def check(expected_total: str) -> None:
        for width in WIDTHS:
            text = render(ours, line_length=width)
            assert_same_text(text, render(reference, line_length=width, show_trainable=True))
            assert_same_text(render(ours, line_length=width, show_trainable=False), render(reference, line_length=width))
            assert "20,861,480 │" in text and f"Total params: {expected_total}" in text

    check("20,863,529 (79.59 MB)")
    assert "Optimizer params" not in render(ours)
    base = ours.layers[0]
    assert_same_text(render(base, line_length=120, show_trainable=True),
                     render(reference.layers[0], line_length=120, show_trainable=True))
    assert_renders_like_keras(ours, reference, widths=(100,), expand_nested=True, show_trainable=True)

    x, y = np.zeros((1, 71, 71, 3), "float32"), np.zeros((1, 1), "float32")
    for model in models.values():
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, verbose=0)
    check("20,867,629 (79.60 MB)")
    assert "Optimizer params: 4,100 (16.02 KB)" in render(ours)


# ---------------------------------------------------------------------- torch modules as layers


def test_plain_torch_module_in_a_subclassed_model_gets_a_row_like_keras_wrapped_one():
    """Keras wraps a torch module set on a model as `TorchModuleWrapper`; kerastorch keeps the module
    and labels the row with the module's class and attribute name. Keras cannot infer the module's
    output shape (`?`) and neither can a call that was never traced, so the rows match otherwise."""
    def model(lib):
        class WithTorchModule(lib.Model):
            def __init__(self):
                super().__init__(name="with_torch_module")
                module = torch.nn.Linear(4, 3)
                self.lin = keras.layers.TorchModuleWrapper(module, name="lin") if lib is keras else module
                self.head = lib.layers.Dense(2, name="head")

            def call(self, inputs):
                return self.head(self.lin(inputs))

        built = WithTorchModule()
        built(torch.ones(2, 4))
        return built

    ours, reference = model(kt), model(keras)
    for width in WIDTHS:
        keras_text = render(reference, line_length=width).replace("lin (TorchModuleWrapper)",
                                                                  "lin (Linear)".ljust(24))
        assert_same_text(render(ours, line_length=width), keras_text)


def test_torch_modules_and_timm_backbones_as_layers_render_their_rows():
    """A wrapped module's row: its name and class, the inferred output structure, parameters plus
    float buffers (BatchNorm statistics, as Keras counts its own), and Y/N once frozen."""
    import timm

    lstm = torch.nn.LSTM(8, 16, batch_first=True)
    sequence = kt.Sequential([kt.Input((5, 8)), lstm], name="sequence")
    text = render(sequence, line_length=150)
    assert re.search(r"│ lstm(_\d+)? \(LSTM\) ", text)  # auto-named from the module's class
    assert "│ ((None, 5, 16), ((1, None, 16), (1, None, 16))) " in text
    backbone = timm.create_model("test_resnet", pretrained=False, num_classes=0)
    size = sum(p.numel() for p in backbone.parameters()) + sum(
        b.numel() for b in backbone.buffers() if b.is_floating_point())
    model = kt.Sequential([kt.Input((3, 32, 32)), backbone, kt.layers.Dense(2, name="head")], name="timm")
    kt.freeze_weights(model, to=0)
    rows = [line.split("│")[1:-1] for line in render(model, line_length=100).splitlines() if "(None" in line]
    assert re.fullmatch(r"res_net(_\d+)? \(ResNet\)", rows[0][0].strip())
    assert [[cell.strip() for cell in row[1:]] for row in rows] == [
        [f"(None, {backbone.num_features})", f"{size:,}", "N"],
        ["(None, 2)", f"{backbone.num_features * 2 + 2:,}", "Y"],
    ]
