"""Trainer: the compile/fit/evaluate/predict methods every Model has."""


class Trainer:
    """Mixed into `Model`; holds no state until `compile()`."""
