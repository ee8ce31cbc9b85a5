"""Small real datasets bundled with the package (no downloads)."""

from kerastorch.datasets import digits

__all__ = ["digits"]
