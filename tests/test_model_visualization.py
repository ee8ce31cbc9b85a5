"""`kt.utils.plot_model` / `model_to_dot`: Keras's behaviour without pydot/graphviz, the graph with pydot."""

import sys

import pytest

import kerastorch as kt
from kerastorch.utils import model_visualization


def _two_input_model():
    image = kt.Input((8, 8, 3), name="img")
    series = kt.Input((None, 4), name="ts")
    a = kt.layers.GlobalMaxPooling2D(name="pool2d")(kt.layers.Conv2D(2, 3, name="conv2d")(image))
    b = kt.layers.GlobalMaxPooling1D(name="pool1d")(kt.layers.Conv1D(2, 3, name="conv1d")(series))
    merged = kt.layers.concatenate([a, b], name="merge")
    return kt.Model([image, series], [kt.layers.Dense(1, name="score")(merged),
                                      kt.layers.Dense(3, activation="softmax", name="cls")(merged)])


@pytest.mark.skipif(model_visualization.check_graphviz(), reason="pydot and graphviz are installed")
def test_missing_dependency_raises_as_keras_outside_ipython(monkeypatch, tmp_path, capsys):
    model = _two_input_model()
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)
    with pytest.raises(ImportError, match="pydot|graphviz"):
        kt.utils.plot_model(model, str(tmp_path / "m.png"), show_shapes=True)
    monkeypatch.setitem(sys.modules, "IPython.core.magics.namespace", sys)  # inside IPython: print, return None
    assert kt.utils.plot_model(model, str(tmp_path / "m.png")) is None
    assert "install" in capsys.readouterr().out
    assert not (tmp_path / "m.png").exists()


def test_model_to_dot_graph():
    pytest.importorskip("pydot")
    model = _two_input_model()
    dot = kt.utils.model_to_dot(model, show_shapes=True, show_layer_activations=True, rankdir="LR", dpi=96)
    names = {node.get_name(): node.get("label") for node in dot.get_nodes() if node.get("label")}
    by_layer = {layer.name: str(id(layer)) for layer in model.layers}
    assert set(names) == set(by_layer.values())
    edges = {(e.get_source(), e.get_destination()) for e in dot.get_edges()}
    expected = [("img", "conv2d"), ("conv2d", "pool2d"), ("ts", "conv1d"), ("conv1d", "pool1d"), ("pool2d", "merge"),
                ("pool1d", "merge"), ("merge", "score"), ("merge", "cls")]
    assert edges == {(by_layer[a], by_layer[b]) for a, b in expected}
    assert "output: (None, 3)" in names[by_layer["cls"]] and "activation: softmax" in names[by_layer["cls"]]
    assert dot.get("rankdir") == "LR" and dot.get("dpi") == 96
    with pytest.raises(NotImplementedError, match="expand_nested"):
        kt.utils.model_to_dot(model, expand_nested=True)
