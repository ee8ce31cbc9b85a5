"""summary(): Keras 3's table and totals, checked against real Keras on the guide's models."""

import keras
import pytest
import torch

import kerastorch as kt
from kerastorch import layers
from kerastorch.summary import readable_size


def captured(model, **kwargs) -> str:
    lines = []
    model.summary(print_fn=lambda text, **_: lines.append(text), **kwargs)
    assert len(lines) == 1
    return lines[0]


def totals(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "params:" in line]


def conv_stack(lib, deep: bool):
    """The guide's 250x250x3 conv debugging model, in either library."""
    model = lib.Sequential()
    model.add(lib.Input(shape=(250, 250, 3)))
    model.add(lib.layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(lib.layers.Conv2D(32, 3, activation="relu"))
    model.add(lib.layers.MaxPooling2D(3))
    if deep:
        model.add(lib.layers.Conv2D(32, 3, activation="relu"))
        model.add(lib.layers.Conv2D(32, 3, activation="relu"))
        model.add(lib.layers.MaxPooling2D(3))
        model.add(lib.layers.Conv2D(32, 3, activation="relu"))
        model.add(lib.layers.Conv2D(32, 3, activation="relu"))
        model.add(lib.layers.MaxPooling2D(2))
    return model


def test_readable_size_matches_keras_format():
    assert readable_size(140) == "140.00 B"
    assert readable_size(46720) == "45.62 KB"
    assert readable_size(3 * 1024**2) == "3.00 MB"


def test_guide_dense_model_table():
    model = kt.Sequential(input_shape=(4,))
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    model.add(layers.Dense(3, activation="relu", name="layer2"))
    model.add(layers.Dense(4, name="layer3"))
    text = captured(model)
    assert text.splitlines()[0] == f'Model: "{model.name}"'
    header = text.splitlines()[2]
    for column in ("Layer (type)", "Output Shape", "Param #"):
        assert column in header
    assert "Trainable" not in header
    assert "layer1 (Dense)" in text and "(None, 2)" in text
    assert totals(text) == [
        "Total params: 35 (140.00 B)", "Trainable params: 35 (140.00 B)", "Non-trainable params: 0 (0.00 B)"
    ]


def test_summary_after_build_by_call_shows_concrete_batch():
    model = kt.Sequential() | layers.Dense(2) | layers.Dense(3)
    model(torch.ones(1, 4))
    text = captured(model)
    assert "(1, 2)" in text and "(1, 3)" in text


def subclassed(lib):
    class TwoDense(lib.Model):
        def __init__(self):
            super().__init__(name="two_dense")
            self.hidden = lib.layers.Dense(4, activation="relu", name="hidden")
            self.out = lib.layers.Dense(2, name="out")

        def call(self, inputs, training=None):
            return self.out(self.hidden(inputs))

    return TwoDense()


def test_subclassed_model_summary_shows_the_shapes_seen_like_keras():
    rows = []
    for lib in (keras, kt):
        model = subclassed(lib)
        model(torch.ones(3, 5))
        text = captured(model)
        rows.append([line for line in text.splitlines() if "(Dense)" in line])
        assert "(3, 4)" in text and "(3, 2)" in text and "?" not in text
    assert len(rows[0]) == len(rows[1]) == 2
    assert [line.split()[1:6] for line in rows[1]] == [line.split()[1:6] for line in rows[0]]


@pytest.mark.parametrize("deep,expected", [(False, "11,680 (45.62 KB)"), (True, "48,672 (190.12 KB)")])
def test_guide_conv_models_match_keras(deep, expected):
    ours, reference = conv_stack(kt, deep), conv_stack(keras, deep)
    keras_lines = []
    reference.summary(print_fn=lambda text, **_: keras_lines.append(text))
    assert totals(captured(ours)) == totals(keras_lines[0])
    assert totals(captured(ours))[0] == f"Total params: {expected}"
    assert [l.output.shape for l in ours.layers] == [tuple(l.output.shape) for l in reference.layers]


def test_freezing_all_but_last_layer_matches_guide_and_keras():
    def mlp(lib):
        model = lib.Sequential([lib.Input(shape=(784,))] + [lib.layers.Dense(32, activation="relu") for _ in range(3)]
                               + [lib.layers.Dense(10)])
        return model

    ours, reference = mlp(kt), mlp(keras)
    kt.freeze_weights(ours, to=-2)
    for layer in reference.layers[:-1]:
        layer.trainable = False
    text = captured(ours)
    keras_lines = []
    reference.summary(print_fn=lambda text, **_: keras_lines.append(text))
    assert totals(text) == totals(keras_lines[0])
    assert "Trainable params: 330 (1.29 KB)" in text
    assert "Non-trainable params: 27,232 (106.38 KB)" in text
    assert "Trainable" in text.splitlines()[2]  # shown by itself once something is frozen
    rows = [line for line in text.splitlines() if "(Dense)" in line]
    assert [row.split("│")[-2].strip() for row in rows] == ["N", "N", "N", "Y"]


def test_batchnorm_statistics_count_as_non_trainable():
    ours = kt.Sequential([kt.Input((8, 8, 3)), layers.Conv2D(4, 3), layers.BatchNormalization()])
    reference = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.BatchNormalization()])
    keras_lines = []
    reference.summary(print_fn=lambda text, **_: keras_lines.append(text))
    assert totals(captured(ours)) == totals(keras_lines[0])
    assert "Non-trainable params: 8 (32.00 B)" in captured(ours)


def test_show_trainable_line_length_and_expand_nested():
    inner = kt.Sequential([layers.Dense(3, name="inner_dense")], name="inner", input_shape=(4,))
    outer = kt.Sequential([inner, layers.Dense(2)], input_shape=(4,))
    text = captured(outer, show_trainable=True, line_length=120)
    assert "Trainable" in text.splitlines()[2]
    assert max(len(line) for line in text.splitlines()) > 110
    assert "inner_dense" not in text
    expanded = captured(outer, expand_nested=True)
    assert "inner_dense (Dense)" in expanded
    assert totals(expanded)[0] == "Total params: 23 (92.00 B)"
