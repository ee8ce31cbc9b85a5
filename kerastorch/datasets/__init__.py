"""`kt.datasets`: Keras's dataset loaders (downloaded once into the Keras cache, parsed without
unpickling) and `digits`, a small set bundled with the package for offline examples."""

from kerastorch.datasets import (
    boston_housing, california_housing, cifar10, cifar100, digits, fashion_mnist, imdb, mnist, reuters,
)

__all__ = [
    "boston_housing", "california_housing", "cifar10", "cifar100", "digits", "fashion_mnist", "imdb", "mnist",
    "reuters",
]
