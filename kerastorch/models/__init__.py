"""Models: Sequential, functional (Model over a graph of layers) and the shared Model base."""

from .model import Model
from .sequential import Sequential

__all__ = ["Model", "Sequential"]
