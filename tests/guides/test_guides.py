"""The official Keras guides on training, run on kerastorch (see each guide file for what changed).

A guide whose public names are not all in kerastorch yet is reported as an expected failure that
names them; once they exist, the guide must run to the end.
"""

import runpy
import sys
import warnings
from pathlib import Path

import pytest

import kerastorch as kt
from kerastorch.utils.model_visualization import check_graphviz

HERE = Path(__file__).parent

# The kerastorch names each guide uses beyond the ones every guide needs.
REQUIRES = {
    "guide_custom_train_step_in_torch.py": ["layers.LeakyReLU", "layers.Conv2DTranspose", "layers.Reshape",
                                            "random.SeedGenerator", "random.normal", "random.uniform"],
    "guide_training_with_built_in_methods.py": ["ops.one_hot", "ops.softmax", "utils.PyDataset", "utils.plot_model",
                                                "layers.Conv1D", "layers.GlobalMaxPooling1D", "layers.concatenate"],
    "guide_writing_a_custom_training_loop_in_torch.py": ["utils.to_categorical"],
    "guide_writing_your_own_callbacks.py": [],
}


def _missing(names):
    missing = []
    for dotted in names:
        owner = kt
        for part in dotted.split("."):
            owner = getattr(owner, part, None)
        if owner is None:
            missing.append(dotted)
    return missing


def _plot_model_as_in_a_notebook(plot_model, monkeypatch):
    """Without pydot/graphviz (as here), Keras's plot_model raises outside IPython and prints and
    returns None inside it, where keras-io runs its guides; the guides run the notebook way, after
    checking that the real call raises the ImportError that says what to install."""

    def plot(model, *args, **kwargs):
        with monkeypatch.context() as patch, pytest.raises(ImportError, match="pydot|graphviz"):
            patch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)  # outside IPython
            plot_model(model, *args, **kwargs)
        return None

    return plot


@pytest.mark.slow
@pytest.mark.parametrize("guide", sorted(REQUIRES))
def test_guide_runs_to_the_end(guide, tmp_path, monkeypatch):
    missing = _missing(REQUIRES[guide])
    if missing:
        pytest.xfail(f"{guide} needs kerastorch.{', kerastorch.'.join(missing)}, which do not exist yet")
    monkeypatch.chdir(tmp_path)  # checkpoints and logs the guide writes stay in a temporary folder
    if not check_graphviz():
        monkeypatch.setattr(kt.utils, "plot_model", _plot_model_as_in_a_notebook(kt.utils.plot_model, monkeypatch))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        namespace = runpy.run_path(str(HERE / guide), run_name="__guide__")
    assert namespace.get("model") is not None  # the last model the guide built
