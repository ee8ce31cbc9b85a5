"""Keras 3's "Save, serialize, and export models" guide runs to the end on kerastorch.

The guide's code (`examples/guides/serialization_and_saving.py`, only the imports changed) runs in
its own process, because it clears the global registry of custom objects as its first step. The
files it leaves behind are then read by real Keras.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

GUIDE = Path(__file__).resolve().parent.parent / "examples" / "guides" / "serialization_and_saving.py"


@pytest.mark.slow
def test_serialization_guide_runs_and_its_files_load_in_keras(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(GUIDE.parents[2])}
    result = subprocess.run([sys.executable, str(GUIDE)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    # What the guide prints where Keras 3 prints the same.
    assert "'module': 'keras.regularizers', 'class_name': 'L1'" in result.stdout
    assert "variable ordering changed: False" in result.stdout
    assert "'registered_name': 'MyLayers>KernelMult'" in result.stdout

    # The guide's files, written by kerastorch, read by Keras.
    model = keras.saving.load_model(tmp_path / "my_model.keras")
    assert model.predict(np.ones((2, 32)), verbose=0).shape == (2, 1)
    sequential = keras.Sequential([
        keras.Input(shape=(784,), name="digits"),
        keras.layers.Dense(64, activation="relu", name="dense_1"),
        keras.layers.Dense(64, activation="relu", name="dense_2"),
        keras.layers.Dense(10, name="predictions"),
    ])
    sequential.load_weights(tmp_path / "my_model.weights.h5")
