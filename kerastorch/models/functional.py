"""Functional models: a Model over a graph of layers called on symbolic inputs."""

from .model import Model


class Functional(Model):
    def __init__(self, inputs, outputs, name=None, **kwargs):
        raise NotImplementedError("The functional API is not available yet.")
