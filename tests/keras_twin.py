"""Helpers for tests that build the same model in kerastorch and in real Keras."""

import os

import keras
import numpy as np
import torch

import kerastorch as kt


def to_numpy(value):
    """A numpy array from a torch tensor (Keras's torch backend returns those too) or an array."""
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def assert_keras_files_load_both_ways(ours, theirs, x, expected, tmp_path, rtol=1e-5, atol=1e-6):
    """Each library's `.keras` file, loaded by the other library, gives `expected` on `x`."""
    ours.save(os.fspath(tmp_path / "ours.keras"))
    np.testing.assert_allclose(to_numpy(keras.models.load_model(tmp_path / "ours.keras")(x)), expected,
                               rtol=rtol, atol=atol)
    theirs.save(os.fspath(tmp_path / "theirs.keras"))
    loaded = kt.models.load_model(os.fspath(tmp_path / "theirs.keras"))
    np.testing.assert_allclose(to_numpy(loaded(torch.as_tensor(x))), expected, rtol=rtol, atol=atol)
