"""Models: Sequential, functional (Model over a graph of layers) and the shared Model base."""

from ..saving import load_model, model_from_config, model_from_json, save_model
from .cloning import clone_model
from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_config", "model_from_json", "save_model"]
