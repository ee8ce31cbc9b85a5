"""Keras-style progress output: a live rich bar (verbose=1) or one line per epoch (verbose=2).

With interactive logging disabled (`kt.config.disable_interactive_logging()`) there is no live bar:
each epoch's line goes to the `logging` module instead of stdout, as in Keras.

The bar reads metric values, which are device tensors, only when it redraws (at most
`refresh_per_second` times a second) and at the end of an epoch, so a GPU is never made to
wait for the host between steps.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Mapping

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Column

from ..config import is_interactive_logging_enabled
from ..utils.io_utils import print_msg


def resolve_verbose(verbose: Any) -> int:
    """Keras's "auto": the live bar on a terminal, one line per epoch otherwise."""
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    if verbose not in (0, 1, 2, True, False):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', received {verbose!r}.")
    return int(verbose)


def format_logs(logs: Mapping[str, Any]) -> str:
    parts = []
    for key, value in logs.items():
        if isinstance(value, (list, tuple)):  # a per-class metric (F1Score(average=None)): its mean, as Keras shows
            value = sum(value) / max(len(value), 1)
        value = float(value)
        parts.append(f"{key}: {value:.4f}" if value == 0 or abs(value) >= 1e-3 else f"{key}: {value:.4e}")
    return " - ".join(parts)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    if seconds >= 60:
        return f"{int(seconds // 60)}m{int(seconds % 60)}s"
    return f"{int(round(seconds))}s"


def _per_step(seconds: float, steps: int, unit: str = "step") -> str:
    if not steps:
        return ""
    per = seconds / steps
    if per >= 1:
        return f"{per:.0f}s/{unit}"
    return f"{per * 1e3:.0f}ms/{unit}" if per >= 1e-3 else f"{per * 1e6:.0f}us/{unit}"


class ProgressBar:
    """One epoch's progress (or one evaluate/predict pass)."""

    def __init__(self, total: int | None, verbose: int, refresh_per_second: float = 4.0,
                 print_fn: Callable[[str], None] | None = None, width: int = 20, unit_name: str = "step"):
        self.total = total
        self.unit_name = unit_name
        self.verbose = verbose
        self.interval = 1.0 / refresh_per_second
        self.print_fn = print_fn or print_msg
        if verbose == 1 and not is_interactive_logging_enabled():
            self.verbose = verbose = 2  # no live bar: one logged line per epoch
        self.start = time.monotonic()
        self._last = 0.0
        self._progress: Progress | None = None
        self._task = None
        if verbose == 1:
            self._progress = Progress(
                TextColumn("{task.fields[count]}"), BarColumn(bar_width=width), TextColumn("{task.fields[timing]}"),
                TextColumn("{task.fields[metrics]}", table_column=Column(no_wrap=False, overflow="fold")),
                console=Console(), auto_refresh=False, transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("", total=total, count=self._count(0), timing="", metrics="")

    def _count(self, step: int) -> str:
        return f"{step}/{self.total}" if self.total else f"{step}"

    def update(self, step: int, logs: Mapping[str, Any] | None = None, force: bool = False) -> None:
        """Called after every step; redraws (and reads `logs`) only every `interval` seconds."""
        if self._progress is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self.start
        metrics = format_logs(logs) if logs else ""
        self._progress.update(
            self._task, completed=step, count=self._count(step), metrics=f"- {metrics}" if metrics else "",
            timing=f"{_duration(elapsed)} {_per_step(elapsed, step, self.unit_name)}",
        )
        self._progress.refresh()

    def finish(self, steps: int, logs: Mapping[str, Any] | None = None) -> None:
        elapsed = time.monotonic() - self.start
        if self._progress is not None:
            if self.total is None:
                self.total = steps
                self._progress.update(self._task, total=steps)
            self.update(steps, logs, force=True)
            self._progress.stop()
            self._progress = None
        elif self.verbose == 2:
            line = f"{steps}/{steps} - {_duration(elapsed)} - {_per_step(elapsed, steps, self.unit_name)}"
            if logs:
                line += " - " + format_logs(logs)
            self.print_fn(line)
