"""Saving and loading: Keras `.keras` / `.weights.h5`, safetensors and torch state dicts."""


def save_model(model, filepath, overwrite=True, **kwargs):
    raise NotImplementedError("model.save() is not available yet.")


def save_weights(model, filepath, overwrite=True, **kwargs):
    raise NotImplementedError("model.save_weights() is not available yet.")


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    raise NotImplementedError("model.load_weights() is not available yet.")
