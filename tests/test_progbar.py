"""`kt.utils.Progbar` against `keras.utils.Progbar`: averaging rules, `add`, the final line, arguments."""

import re

import keras
import pytest
import torch

import kerastorch as kt

UPDATES = [  # (method, step or increment, values)
    ("update", 2, [("loss", 1.0), ("acc", 0.5)]),
    ("update", 5, [("loss", 2.0), ("acc", 0.25)]),
    ("add", 3, [("loss", 4.0)]),
    ("update", 9, [("acc", 1.0), ("lr", 0.1)]),
]


def _run(lib, **kwargs):
    bar = lib.utils.Progbar(10, verbose=0, **kwargs)
    states = []
    for method, step, values in UPDATES:
        getattr(bar, method)(step, values)
        states.append({k: [float(v[0]), v[1]] for k, v in bar._values.items()})
    return bar, states


@pytest.mark.parametrize("kwargs", [{}, {"stateful_metrics": ["acc"]}, {"stateless_metrics": ["loss"]}], ids=repr)
def test_running_averages_match_keras(kwargs):
    ours, ours_states = _run(kt, **kwargs)
    theirs, their_states = _run(keras, **kwargs)
    assert ours_states == their_states
    assert ours._values_order == theirs._values_order and ours._seen_so_far == theirs._seen_so_far == 10 - 1


def _final_line(lib, capsys):
    bar = lib.utils.Progbar(4, verbose=2, unit_name="sample")
    capsys.readouterr()
    bar.update(2, [("loss", 1.0)])
    bar.update(4, [("loss", 0.5), ("acc", 0.75)])
    return re.sub(r"\d+(ms|us)?/sample", "T/sample", capsys.readouterr().out.strip())


def test_final_line_matches_keras(capsys):
    assert _final_line(kt, capsys) == _final_line(keras, capsys) == "4/4 - 0s - T/sample - loss: 0.5000 - acc: 0.7500"


def test_live_bar_reads_device_values_and_finishes(capsys):
    bar = kt.utils.Progbar(3, verbose=1, interval=0.01)
    for step in range(1, 4):
        bar.update(step, [("loss", torch.tensor(float(step)))])
    out = capsys.readouterr().out
    assert "3/3" in out and "loss: 3.0000" in out
    bar = kt.utils.Progbar(None, verbose=1)  # unknown target: finalize by hand
    bar.add(2, [("loss", torch.tensor([1.0, 3.0]))])
    bar.update(2, finalize=True)
    assert "2/2" in capsys.readouterr().out


def test_bad_arguments_raise_as_in_keras():
    for lib in (kt, keras):
        with pytest.raises(ValueError):
            lib.utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
    with pytest.raises(ValueError, match="verbose"):
        kt.utils.Progbar(3, verbose=3)
