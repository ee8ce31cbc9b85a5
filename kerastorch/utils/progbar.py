"""`Progbar`: Keras's stand-alone progress bar, drawn by the same rich bar as `fit`.

Values are averaged over steps as Keras does (weighted by the steps since the last update), except
`stateful_metrics`, which are shown as given. Values may be device tensors: they are summed where
they live and read only when the bar redraws.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Iterable

import numpy as np
import torch

from ..training.progress import ProgressBar

__all__ = ["Progbar"]


class Progbar:
    """A progress bar over `target` steps.

    Args:
        target: total number of steps, or None if unknown.
        width: bar width in characters.
        verbose: 0 (silent), 1 (live bar) or 2 (one line when finished).
        interval: minimum seconds between redraws.
        stateful_metrics: names shown as given (the others are averaged); not with `stateless_metrics`.
        stateless_metrics: names averaged (the others shown as given); not with `stateful_metrics`.
        unit_name: the unit in the time per unit ("step", "sample", "byte", ...).
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | None = None, stateless_metrics: Iterable[str] | None = None,
                 unit_name: str = "step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Progbar: pass stateful_metrics (names shown as given) or stateless_metrics (names averaged), not "
                "both."
            )
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: verbose must be 0, 1 or 2, received {verbose!r}.")
        if interval <= 0:
            raise ValueError(f"Progbar: interval must be positive seconds, received {interval!r}.")
        self.target, self.width, self.verbose = target, int(width), verbose
        self.interval, self.unit_name = float(interval), unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics is not None else (
            None if stateless_metrics is not None else set())
        self.stateless_metrics = set(stateless_metrics) if stateless_metrics is not None else None
        self._values: dict[str, list] = {}  # name -> [weighted sum, weight]
        self._values_order: list[str] = []
        self._seen_so_far = 0
        self._bar: ProgressBar | None = None
        self._finished = False

    def _averaged(self, name: str) -> bool:
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current: int, values: list[tuple[str, Any]] | None = None, finalize: bool | None = None) -> None:
        """Move to step `current`; `values` are `(name, value_for_last_step)` pairs.

        `finalize` (default: `current >= target`) draws the final state and ends the bar.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or []:
            if name not in self._values_order:
                self._values_order.append(name)
            if self._averaged(name) and not finalize:
                weight = max(current - self._seen_so_far, 1)
                if name in self._values:
                    self._values[name][0] = self._values[name][0] + value * weight
                    self._values[name][1] += weight
                else:
                    self._values[name] = [value * weight, weight]
            else:
                self._values[name] = [value, 1]
        self._seen_so_far = current
        if self.verbose == 0 or self._finished:
            return
        if self._bar is None:
            self._bar = ProgressBar(self.target, self.verbose, refresh_per_second=1.0 / self.interval,
                                    width=self.width, unit_name=self.unit_name)
        logs = _LazyAverages(self)
        if finalize:
            self._bar.finish(current, logs)
            self._finished = True
        else:
            self._bar.update(current, logs)

    def add(self, n: int, values: list[tuple[str, Any]] | None = None) -> None:
        """Advance by `n` steps."""
        self.update(self._seen_so_far + n, values)


class _LazyAverages(Mapping):
    """The displayed values, computed only when the bar reads them (a redraw), so device values sync then."""

    def __init__(self, bar: Progbar):
        self._bar = bar

    def __getitem__(self, name: str) -> float:
        total, weight = self._bar._values[name]
        return _scalar(total) / max(1, weight)

    def __iter__(self) -> Iterator[str]:
        return iter(self._bar._values_order)

    def __len__(self) -> int:
        return len(self._bar._values_order)


def _scalar(value: Any) -> float:
    """A number for display: tensors and arrays by their mean, as Keras shows them."""
    if isinstance(value, torch.Tensor):
        return value.detach().float().mean().item()
    return float(np.mean(value))
