"""Keras callbacks: hooks into `fit`, `evaluate` and `predict`, with Keras's names and arguments.

Epoch-level `logs` hold Python floats. Batch-level `logs` are read lazily: a value becomes a
float (and syncs with the device) only when a callback actually looks at it.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import time
import warnings
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import torch

from . import optimizers
from .training import checkpoint
from .training.distributed import is_chief
from .training.progress import ProgressBar
from .utils.io_utils import print_msg

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
    "TensorBoard", "BackupAndRestore", "SwapEMAWeights", "RemoteMonitor",
]

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end",
                "on_predict_batch_begin", "on_predict_batch_end", "on_batch_begin", "on_batch_end")
_BATCH_HOOK_NAMES = frozenset(_BATCH_HOOKS)


class Callback:
    """Base class; override the hooks you need. `self.model` and `self.params` are set by `fit`."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Mapping | None = None) -> None: ...
    def on_train_end(self, logs: Mapping | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: Mapping | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Mapping | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: Mapping | None = None) -> None: ...
    def on_test_end(self, logs: Mapping | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Mapping | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Mapping | None = None) -> None: ...
    def on_predict_begin(self, logs: Mapping | None = None) -> None: ...
    def on_predict_end(self, logs: Mapping | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Mapping | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Mapping | None = None) -> None: ...

    def _uses_batch_hooks(self) -> bool:
        for cls in type(self).__mro__:  # only classes before Callback can override its hooks
            if cls is Callback:
                return False
            if not _BATCH_HOOK_NAMES.isdisjoint(vars(cls)):
                return any(getattr(type(self), hook) is not getattr(Callback, hook) for hook in _BATCH_HOOKS)
        return False


class CallbackList(Callback):
    """Dispatches each hook to every callback; batch hooks are skipped when nobody overrides them."""

    def __init__(self, callbacks: Iterable[Callback] | None = None, model: Any = None, **params: Any):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be kt.callbacks.Callback instances, received {callback!r}.")
        self.model = model
        self.params = params
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
        self.has_batch_hooks = any(c._uses_batch_hooks() for c in self.callbacks)

    def append(self, callback: Callback) -> None:
        callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)
        self.has_batch_hooks = self.has_batch_hooks or callback._uses_batch_hooks()

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    # Like Keras, every hook receives a dict: `{}` where there is nothing to report yet.
    def on_train_begin(self, logs=None): self._call("on_train_begin", _dict(logs))
    def on_train_end(self, logs=None): self._call("on_train_end", _dict(logs))
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, _dict(logs))
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, _dict(logs))
    def on_train_batch_begin(self, batch, logs=None): self._call("on_train_batch_begin", batch, _dict(logs))
    def on_train_batch_end(self, batch, logs=None): self._call("on_train_batch_end", batch, _dict(logs))
    def on_test_begin(self, logs=None): self._call("on_test_begin", _dict(logs))
    def on_test_end(self, logs=None): self._call("on_test_end", _dict(logs))
    def on_test_batch_begin(self, batch, logs=None): self._call("on_test_batch_begin", batch, _dict(logs))
    def on_test_batch_end(self, batch, logs=None): self._call("on_test_batch_end", batch, _dict(logs))
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", _dict(logs))
    def on_predict_end(self, logs=None): self._call("on_predict_end", _dict(logs))
    def on_predict_batch_begin(self, batch, logs=None): self._call("on_predict_batch_begin", batch, _dict(logs))
    def on_predict_batch_end(self, batch, logs=None): self._call("on_predict_batch_end", batch, _dict(logs))


def _dict(logs: Mapping | None) -> Mapping:
    return {} if logs is None else logs


class History(Callback):
    """Records epoch logs: `history.history["loss"]` is the list of per-epoch losses."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None and getattr(self.model, "history", None) is not self:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints "Epoch i/n" and a live progress bar (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, verbose: int = 1):
        super().__init__()
        self.verbose = verbose
        self._bar: ProgressBar | None = None
        self._seen = 0

    def _active(self) -> bool:
        return self.verbose > 0 and is_chief()

    def on_epoch_begin(self, epoch, logs=None) -> None:
        if self._active():
            epochs = self.params.get("epochs")
            print_msg(f"Epoch {epoch + 1}/{epochs}")
            self._bar = ProgressBar(self.params.get("steps"), self.verbose)
            self._seen = 0

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._seen = batch + 1
        if self._bar is not None:
            self._bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self._bar is not None:
            self._bar.finish(self._seen, logs)
            self._bar = None

    def on_test_begin(self, logs=None) -> None:
        if self._active() and self.params.get("mode") == "evaluate":
            self._bar = ProgressBar(self.params.get("steps"), self.verbose)
            self._seen = 0

    def on_test_batch_end(self, batch, logs=None) -> None:
        if self.params.get("mode") == "evaluate":
            self.on_train_batch_end(batch, logs)

    def on_test_end(self, logs=None) -> None:
        if self.params.get("mode") == "evaluate" and self._bar is not None:
            self._bar.finish(self._seen, logs)
            self._bar = None

    def on_predict_begin(self, logs=None) -> None:
        if self._active():
            self._bar = ProgressBar(self.params.get("steps"), self.verbose)
            self._seen = 0

    def on_predict_batch_end(self, batch, logs=None) -> None:
        self.on_train_batch_end(batch, None)

    def on_predict_end(self, logs=None) -> None:
        if self._bar is not None:
            self._bar.finish(self._seen, None)
            self._bar = None


# ----------------------------------------------------------------------------- monitoring


def _direction(monitor: str, mode: str) -> str:
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'auto', 'min' or 'max', received {mode!r}.")
    name = monitor.removeprefix("val_")
    if any(k in name for k in ("acc", "auc", "precision", "recall", "f1", "iou")):
        return "max"
    if "loss" in name or any(k in name for k in ("error", "crossentropy", "mse", "mae", "mape", "hinge")):
        return "min"
    raise ValueError(
        f"Cannot tell whether {monitor!r} should be minimized or maximized; pass mode='min' or mode='max'."
    )


class _Monitor(Callback):
    """Shared by callbacks that watch one logged quantity for improvement."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0, baseline: float | None = None):
        super().__init__()
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(min_delta)
        self.baseline = baseline
        self.best: float | None = baseline
        self._dir = _direction(monitor, mode)

    def _improved(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        return value - self.min_delta > reference if self._dir == "max" else value + self.min_delta < reference

    def _value(self, logs: Mapping | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(
                f"{type(self).__name__} is monitoring {self.monitor!r}, which is not in the logs; available: "
                f"{sorted((logs or {}).keys())}.",
                stacklevel=3,
            )
            return None
        return float(value)


class EarlyStopping(_Monitor):
    """Stop training when `monitor` has not improved for `patience` epochs."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta, baseline)
        self.patience = patience
        self.verbose = verbose
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None) -> None:
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None) -> None:
        current = self._value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0 and is_chief():
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0 and is_chief():
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_Monitor):
    """Save the model (or its weights) every epoch or every `save_freq` batches, atomically.

    `filepath` may contain `{epoch:02d}` and any logged value (`{val_loss:.2f}`). Weights-only
    `.safetensors` files hold the model's `state_dict`; other formats go through
    `model.save_weights` / `model.save`. Only the chief process (rank 0) writes.
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None):
        super().__init__(monitor, mode, 0.0, None)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive integer, received {save_freq!r}.")
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self.saved: list[str] = []
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, dict(logs or {}), batch)

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, dict(logs or {}))

    def _save(self, epoch: int, logs: dict[str, Any], batch: int | None = None) -> None:
        if self.save_best_only:
            current = self._value(logs)
            if current is None or not self._improved(current, self.best):
                if self.verbose > 0 and current is not None and is_chief():
                    print_msg(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best}")
                return
            previous, self.best = self.best, current
            if self.verbose > 0 and is_chief():
                print_msg(f"Epoch {epoch + 1}: {self.monitor} improved from {previous} to {current}, saving model")
        if not is_chief():
            return
        try:
            path = self.filepath.format(epoch=epoch + 1, batch=batch, **{k: float(v) for k, v in logs.items()})
        except KeyError as error:
            raise ValueError(
                f"ModelCheckpoint filepath {self.filepath!r} refers to {error.args[0]!r}, which is not in the "
                f"logs {sorted(logs)}."
            ) from None
        if self.verbose > 0 and not self.save_best_only:
            print_msg(f"Epoch {epoch + 1}: saving model to {path}")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if self.save_weights_only:  # both writes are atomic: a crash leaves the old file or the new one
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)
        self.saved.append(path)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by `factor` when `monitor` stalls for `patience` epochs."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        super().__init__(monitor, mode, min_delta, None)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0, received factor={factor}.")
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None) -> None:
        self.wait, self.cooldown_counter, self.best = 0, 0, None

    def on_epoch_end(self, epoch, logs=None) -> None:
        current = self._value(logs)
        optimizer = self.model.optimizer
        if isinstance(logs, dict):
            logs["learning_rate"] = optimizers.get_learning_rate(optimizer)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = optimizers.get_learning_rate(optimizer)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    optimizers.set_learning_rate(optimizer, new)
                    if self.verbose > 0 and is_chief():
                        print_msg(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start to `schedule(epoch, lr)` (or `schedule(epoch)`)."""

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None) -> None:
        optimizer = self.model.optimizer
        current = optimizers.get_learning_rate(optimizer)
        try:
            value = self.schedule(epoch, current)
        except TypeError:
            value = self.schedule(epoch)
        if not isinstance(value, (int, float, np.floating)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a float, received {value!r}.")
        optimizers.set_learning_rate(optimizer, float(value))
        if self.verbose > 0 and is_chief():
            print_msg(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(value)}.")

    def on_epoch_end(self, epoch, logs=None) -> None:
        if isinstance(logs, dict):
            logs["learning_rate"] = optimizers.get_learning_rate(self.model.optimizer)


class CSVLogger(Callback):
    """Append one CSV row of epoch logs per epoch to `filename` (chief process only)."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs=None) -> None:
        if not is_chief():
            return
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._keys = None
        self._has_header = exists

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self._file is None:
            return
        logs = dict(logs or {})
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *self._keys], delimiter=self.sep)
            if not self._has_header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self._keys}})
        self._file.flush()

    def on_train_end(self, logs=None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RemoteMonitor(Callback):
    """POST each epoch's logs (with `"epoch"`) to `root + path` as JSON (chief process only).

    Args:
        root: the server's root URL.
        path: the path under `root` the events go to.
        field: the form field holding the JSON text (when `send_as_json=False`).
        headers: extra HTTP headers (a dict).
        send_as_json: send the JSON as the body (`application/json`) instead of inside a form.

    An unreachable server is a warning, not an error, as in Keras. Uses the standard library (Keras
    uses `requests`).
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/", field: str = "data",
                 headers: Mapping[str, str] | None = None, send_as_json: bool = False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch, logs=None) -> None:
        import json
        import urllib.error
        import urllib.parse
        import urllib.request

        if not is_chief():
            return
        event = {"epoch": epoch}
        event.update({k: v.item() if isinstance(v, (np.ndarray, np.generic)) else v for k, v in (logs or {}).items()})
        if self.send_as_json:
            body, kind = json.dumps(event).encode(), "application/json"
        else:
            body, kind = urllib.parse.urlencode({self.field: json.dumps(event)}).encode(), "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.root + self.path, data=body, method="POST",
                                         headers={"Content-Type": kind, **(self.headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch loss is NaN or infinite (reads the loss every batch)."""

    def on_train_batch_end(self, batch, logs=None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            if is_chief():
                print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    _HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
              "on_train_batch_end", "on_batch_begin", "on_batch_end")

    def __init__(self, **hooks: Callable):
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS and not (name.startswith("on_") and hasattr(Callback, name)):
                raise ValueError(f"LambdaCallback got an unknown hook {name!r}; expected one of {self._HOOKS}.")
            if fn is not None:
                setattr(self, name, fn)

    def _uses_batch_hooks(self) -> bool:
        return any(name in vars(self) for name in _BATCH_HOOKS)


class TensorBoard(Callback):
    """Write epoch logs (and optionally batch logs) as TensorBoard scalars via torch.utils.tensorboard.

    Keras's layout and tags: `log_dir/train` and `log_dir/validation`, `epoch_loss`, `epoch_accuracy`,
    `epoch_learning_rate`, one step per epoch; `update_freq="batch"` or N adds `batch_*` every N batches.
    `write_graph` traces the model once on zeros of its input shape (`add_graph`; a model without a
    known input shape gets a warning instead), `write_images` adds each weight as a grayscale image
    and `histogram_freq` its histogram every that many epochs, `write_steps_per_second` adds
    `epoch_steps_per_second`. Profiling and embeddings are not available (use `torch.profiler`).
    """

    def __init__(self, log_dir: str = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: Any = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None):
        super().__init__()
        if profile_batch:
            raise NotImplementedError("TensorBoard(profile_batch=...) is not available; profile with torch.profiler.")
        if embeddings_freq or embeddings_metadata is not None:
            raise NotImplementedError("TensorBoard(embeddings_freq=..., embeddings_metadata=...) is not available.")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, "
                             f"received {update_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = update_freq
        self._writers: dict[str, Any] = {}
        self._step = 0
        self._epoch_start = 0.0

    def _writer(self, kind: str) -> Any:
        if kind not in self._writers:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                raise ImportError(
                    "The TensorBoard callback needs the `tensorboard` package; install it with `pip install tensorboard`."
                ) from error
            self._writers[kind] = SummaryWriter(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def on_train_begin(self, logs=None) -> None:
        if is_chief():
            self._writer("train")
            if self.write_graph:
                self._add_graph()

    def _add_graph(self) -> None:
        """Trace the model once on zeros shaped like its inputs (batch 1) into the train log."""
        import torch

        try:
            inputs = self.model.inputs
            shapes = [tuple(1 if d is None else d for d in t.shape) for t in inputs]
        except (AttributeError, ValueError, TypeError):
            shapes = []
        if not shapes or any(d is None for shape in shapes for d in shape):
            warnings.warn(f"TensorBoard: the graph of {type(self.model).__name__} is not written: it has no known "
                          "input shape (build it from kt.Input, or pass write_graph=False).", stacklevel=3)
            return
        device = next(iter(self.model.parameters()), torch.empty(0)).device
        examples = [torch.zeros(shape, device=device, dtype=getattr(t, "dtype", None) or torch.float32)
                    for shape, t in zip(shapes, inputs)]
        training = self.model.training
        try:
            self.model.eval()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._writer("train").add_graph(self.model, examples[0] if len(examples) == 1 else [examples])
        except Exception as error:  # tracing fails on some dynamic models: say so, training goes on
            warnings.warn(f"TensorBoard: the model graph could not be traced ({error}); pass write_graph=False.",
                          stacklevel=3)
        finally:
            self.model.train(training)

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._step += 1
        if isinstance(self.update_freq, int) and self._step % self.update_freq == 0 and is_chief() and logs:
            for key, value in logs.items():
                self._writer("train").add_scalar(f"batch_{key}", float(value), self._step)

    def _uses_batch_hooks(self) -> bool:
        return isinstance(self.update_freq, int)

    def on_epoch_end(self, epoch, logs=None) -> None:
        if not is_chief():
            return
        logs = dict(logs or {})
        if getattr(self.model, "optimizer", None) is not None:
            logs.setdefault("learning_rate", optimizers.get_learning_rate(self.model.optimizer))
        if self.write_steps_per_second and self.params.get("steps"):
            logs["steps_per_second"] = self.params["steps"] / max(time.perf_counter() - self._epoch_start, 1e-9)
        for key, value in logs.items():
            kind, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self._writer(kind).add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for name, param in self.model.named_parameters():
                weight = param.detach().float().cpu()
                self._writer("train").add_histogram(name, weight, epoch)
                if self.write_images:
                    image = weight.reshape(1, 1, -1) if weight.ndim < 2 else weight.reshape(1, weight.shape[0], -1)
                    span = (image.max() - image.min()).clamp_min(1e-12)
                    self._writer("train").add_image(f"{name}/image", (image - image.min()) / span, epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _all_finite(model: Any) -> bool:
    """Whether every floating-point weight is finite (one device sync)."""
    checks = [t.isfinite().all() for t in itertools.chain(model.parameters(), model.buffers())
              if t.is_floating_point()]
    return bool(torch.stack(checks).all()) if checks else True


class SwapEMAWeights(Callback):
    """Evaluates and predicts with the optimizer's moving averages of the weights (`use_ema=True`):
    they are swapped into the model for each evaluation or prediction and swapped back after.

    Args:
        swap_on_epoch: also hold the averages in the model from each epoch's end to the next epoch's
            start, so callbacks that run then (e.g. ModelCheckpoint) see them.
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._averages_in_model = False

    def _optimizer(self) -> Any:
        optimizer = getattr(self.model, "optimizer", None)
        if not getattr(optimizer, "use_ema", False):
            raise ValueError(
                "SwapEMAWeights needs an optimizer with use_ema=True, received "
                f"{type(optimizer).__name__ if optimizer is not None else None} without it; pass use_ema=True "
                "to the optimizer given to compile()."
            )
        return optimizer

    @torch.no_grad()
    def _swap(self, into_model: bool) -> None:
        optimizer = self._optimizer()
        if into_model == self._averages_in_model or not optimizer.built:
            return  # already there, or no step yet (the averages equal the weights)
        for weight, average in zip(optimizer._params, optimizer._averages):
            held = weight.detach().clone()
            weight.copy_(average)
            average.copy_(held)
        self._averages_in_model = into_model

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        if self.swap_on_epoch:
            self._swap(into_model=False)

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        if self.swap_on_epoch:
            self._swap(into_model=True)
            optimizer = self._optimizer()
            if epoch == self.params.get("epochs", 0) - 1 and optimizer.built:
                # fit ends by copying the averages into the model; they are in the model already, so
                # the averages take the model's values for that copy to keep them there.
                with torch.no_grad():
                    for weight, average in zip(optimizer._params, optimizer._averages):
                        average.copy_(weight)

    def on_test_begin(self, logs: Mapping | None = None) -> None:
        self._swap(into_model=True)

    def on_test_end(self, logs: Mapping | None = None) -> None:
        self._swap(into_model=False)

    def on_predict_begin(self, logs: Mapping | None = None) -> None:
        self._swap(into_model=True)

    def on_predict_end(self, logs: Mapping | None = None) -> None:
        self._swap(into_model=False)


class BackupAndRestore(Callback):
    """Back up the training state every epoch so a killed run resumes where it stopped.

    The backup (`backup_dir/latest.safetensors`) holds weights, optimizer state, the epoch and RNG
    states, and is replaced atomically. On `fit`, an existing backup is restored and training
    continues at the next epoch, ending with the same weights as an uninterrupted run. It is deleted
    when training completes (kept if `delete_checkpoint=False` or training was interrupted).
    """

    def __init__(self, backup_dir: str, save_freq: str | int = "epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore needs a backup_dir, received an empty value.")
        if save_freq != "epoch":
            raise ValueError(
                f"BackupAndRestore supports save_freq='epoch' only for now, received {save_freq!r}."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self.path = os.path.join(self.backup_dir, "latest.safetensors")
        self.previous_path = os.path.join(self.backup_dir, "previous.safetensors")

    def on_train_begin(self, logs=None) -> None:
        for path in (self.path, self.previous_path) if self.double_checkpoint else (self.path,):
            if not os.path.exists(path):
                continue
            try:
                meta = checkpoint.load_training_state(path, self.model, self.model.optimizer,
                                                      getattr(self.model, "_grad_scaler", None))
            except Exception as error:  # a damaged latest backup falls back to the previous one
                if path == self.previous_path or not self.double_checkpoint:
                    raise ValueError(f"BackupAndRestore could not restore {path!r}: {error}") from error
                continue
            self.model._initial_epoch = int(meta["epoch"]) + 1
            return

    def on_epoch_end(self, epoch, logs=None) -> None:
        if not is_chief():
            return
        loss = (logs or {}).get("loss")
        if (loss is not None and not math.isfinite(float(loss))) or not _all_finite(self.model):
            warnings.warn(
                f"BackupAndRestore: epoch {epoch + 1} ended with a non-finite loss or weights, so it is not backed "
                f"up; {self.path!r} keeps the last good state.", stacklevel=2,
            )
            return
        if self.double_checkpoint and os.path.exists(self.path):
            os.replace(self.path, self.previous_path)  # the last good backup becomes the fallback
        checkpoint.save_training_state(self.path, self.model, self.model.optimizer, epoch=epoch,
                                       scaler=getattr(self.model, "_grad_scaler", None))

    def on_train_end(self, logs=None) -> None:
        if not self.delete_checkpoint or getattr(self.model, "_interrupted", False) or not is_chief():
            return
        for path in (self.path, self.previous_path):
            if os.path.exists(path):
                os.remove(path)
