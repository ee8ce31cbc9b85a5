"""Trainer: the compile/fit/evaluate/predict methods every Model has.

The training step is what a hand-written PyTorch loop does (forward, loss, `zero_grad`, `backward`,
`step`), plus on-device bookkeeping: the loss and metric states accumulate in device tensors and
are only read when the progress bar redraws or an epoch ends, so the loop never waits for the host.
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from .. import optimizers as optimizers_module
from . import distributed
from .compile_utils import CompiledLoss, CompiledMetrics
from .data_adapter import Batch, adapt, split_for_validation, tree_leaves, tree_map
from .mixed_precision import autocast_for, grad_scaler_for


class Trainer:
    """Mixed into `Model`; holds no state until `compile()`."""

    compiled = False
    optimizer: Any = None
    loss: Any = None
    history: Any = None
    stop_training = False
    jit_compile = False
    _initial_epoch: int | None = None
    _interrupted = False
    _grad_scaler: Any = None
    _step_device = torch.device("cpu")

    # ------------------------------------------------------------------------------- compile

    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: bool | str = False,
        auto_scale_loss: bool = True,
    ) -> None:
        """Choose the optimizer, loss(es) and metrics; the optimizer is created when `fit` starts.

        `jit_compile=True` runs the model through `torch.compile`; `steps_per_execution` is
        accepted and ignored (every step already runs without host syncs).
        """
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"compile: jit_compile must be True, False or 'auto', received {jit_compile!r}.")
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss
        self._compiled_loss = CompiledLoss(loss, loss_weights)
        self._compiled_metrics = CompiledMetrics(metrics, weighted_metrics, loss)
        self.jit_compile = jit_compile is True
        self.run_eagerly = run_eagerly
        self.steps_per_execution = steps_per_execution
        self._set_cached("_train_module", None)
        self._set_cached("_infer_module", None)
        self._set_cached("_fully_built", False)
        self._grad_scaler = None
        self.compiled = True

    def _set_cached(self, name: str, value: Any) -> None:
        # Wrappers around this model (DDP, torch.compile) must not become its submodules.
        object.__setattr__(self, name, value)

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise ValueError(
                f"Model {self.name!r} must be compiled before {what}(); call "
                "model.compile(optimizer=..., loss=..., metrics=...) first."
            )

    @property
    def metrics(self) -> list[Any]:
        """The loss tracker(s) and compiled metrics, as Keras lists them."""
        if not self.compiled:
            return []
        return self._compiled_metrics.all_metrics()

    @property
    def metrics_names(self) -> list[str]:
        return self._log_names() if self.compiled else []

    # --------------------------------------------------------------------------- preparation

    def _model_device(self) -> torch.device:
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if not isinstance(tensor, nn.parameter.UninitializedParameter):
                return tensor.device
        return torch.device("cpu")

    def _ensure_built(self, data: Any) -> None:
        """Build (lazy) layers with one forward pass on two samples, then note the device."""
        if not self.__dict__.get("_fully_built"):
            lazy = any(isinstance(p, nn.parameter.UninitializedParameter) for p in self.parameters())
            if not self.built or lazy:
                with torch.no_grad():
                    self(data.first_x())
            self._set_cached("_fully_built", True)
        self._set_cached("_step_device", self._model_device())  # the model may have moved since

    def _build_optimizer(self) -> None:
        optimizer = self.optimizer
        if isinstance(optimizer, optimizers_module.Optimizer):
            if not optimizer.built:
                optimizer.build(self.parameters())
        elif not isinstance(optimizer, torch.optim.Optimizer):
            params = [p for p in self.parameters() if p.requires_grad]
            self.optimizer = optimizer(params)
            if not hasattr(self.optimizer, "step"):
                raise TypeError(
                    f"The optimizer factory given to compile() returned {self.optimizer!r}, not an optimizer."
                )

    def _training_module(self, shard: distributed.Shard) -> nn.Module:
        module = self.__dict__.get("_train_module")
        if module is None:
            module = distributed.wrap_ddp(self) if shard.active else self
            if self.jit_compile:
                module = torch.compile(module)
            self._set_cached("_train_module", module)
        return module

    def _inference_module(self) -> nn.Module:
        module = self.__dict__.get("_infer_module")
        if module is None:
            module = torch.compile(self) if self.jit_compile else self
            self._set_cached("_infer_module", module)
        return module

    def _adapter(self, x: Any, y: Any, sample_weight: Any, batch_size: int | None, shuffle: bool,
                 shard: distributed.Shard, steps: int | None = None, class_weight: dict | None = None,
                 contiguous: bool = False) -> Any:
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
        return adapt(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, device=self._model_device(),
                     shard=shard, steps=steps, class_weight=class_weight, contiguous_shards=contiguous)

    @contextlib.contextmanager
    def _mode(self, training: bool) -> Iterator[None]:
        """Switch every submodule to train/eval mode and restore each one's own mode afterwards."""
        previous = [(m, m.training) for m in self.modules()]
        if all(mode == training for _, mode in previous):
            yield
            return
        self.train(training)
        try:
            yield
        finally:
            for module, mode in previous:
                module.training = mode

    # ------------------------------------------------------------------------------ one step

    def _forward(self, module: nn.Module, x: Any) -> Any:
        with autocast_for(self._step_device):
            return module(x)

    def _train_step(self, module: nn.Module, batch: Batch) -> None:
        y_pred = self._forward(module, batch.x)
        self._compiled_metrics.ensure_built(batch.y, y_pred, self._compiled_loss, self._step_device, self)
        loss, parts = self._compiled_loss(batch.y, y_pred, batch.sample_weight, self)
        scaled = loss * batch.loss_scale if batch.loss_scale != 1.0 else loss
        optimizer = self.optimizer
        optimizer.zero_grad(set_to_none=True)
        scaler = self._grad_scaler
        if scaler is not None:
            scaler.scale(scaled).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            scaled.backward()
            optimizer.step()
        self._compiled_metrics.update(loss, parts, batch, y_pred)

    def _test_step(self, module: nn.Module, batch: Batch) -> Any:
        y_pred = self._forward(module, batch.x)
        self._compiled_metrics.ensure_built(batch.y, y_pred, self._compiled_loss, self._step_device, self)
        loss, parts = self._compiled_loss(batch.y, y_pred, batch.sample_weight, self)
        self._compiled_metrics.update(loss, parts, batch, y_pred)
        return y_pred

    def _log_names(self) -> list[str]:
        return self._compiled_metrics.names()

    def _logs(self, shard: distributed.Shard = distributed.Shard()) -> dict[str, float]:
        """Current metric values as floats (one device sync; a cross-process reduction under DDP)."""
        return self._compiled_metrics.results(shard)

    # ------------------------------------------------------------------------------------ fit

    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: int | str = "auto",
        callbacks: list | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool | str = True,
        class_weight: dict | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int | list = 1,
    ) -> Any:
        """Train for `epochs` epochs and return the `History` (Keras's signature and behaviour)."""
        from ..callbacks import CallbackList, History, ProgbarLogger
        from .progress import resolve_verbose

        self._require_compiled("fit")
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer, received {epochs!r}.")
        if class_weight is not None and not isinstance(class_weight, dict):
            raise TypeError(f"fit: class_weight must be a dict {{class_index: weight}}, received {class_weight!r}.")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit: pass either class_weight or sample_weight, not both (as in Keras).")
        verbose = resolve_verbose(verbose)
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = split_for_validation(x, y, sample_weight, validation_split)
        shard = distributed.current_shard(self._model_device())
        train_data = self._adapter(x, y, sample_weight, batch_size, shuffle, shard, steps_per_epoch, class_weight)
        val_data = None
        if validation_data is not None:
            val_x, val_y, val_w = _unpack_validation(validation_data)
            val_data = self._adapter(val_x, val_y, val_w, validation_batch_size or batch_size, False, shard,
                                     validation_steps)
        self._ensure_built(train_data)
        self._build_optimizer()
        if self._grad_scaler is None:
            self._grad_scaler = grad_scaler_for(self._model_device())
        module = self._training_module(shard)

        history = History()
        callback_list = CallbackList(
            [*(callbacks or []), history], model=self, verbose=verbose, epochs=epochs, steps=train_data.steps,
            mode="fit",
        )
        if verbose:
            callback_list.append(ProgbarLogger(verbose))
        self.history = history
        self.stop_training = False
        self._interrupted = False
        self._initial_epoch = None
        lazy_logs = _LazyLogs(self)
        epoch_logs: dict[str, float] = {}
        with self._mode(True):
            callback_list.on_train_begin()
            first_epoch = self._initial_epoch if self._initial_epoch is not None else initial_epoch
            try:
                for epoch in range(first_epoch, epochs):
                    self._compiled_metrics.reset()
                    callback_list.on_epoch_begin(epoch)
                    batch_hooks = callback_list.has_batch_hooks
                    step = -1
                    for step, batch in enumerate(train_data):
                        if batch_hooks:
                            callback_list.on_train_batch_begin(step)
                        self._train_step(module, batch)
                        if batch_hooks:
                            callback_list.on_train_batch_end(step, lazy_logs)
                        if self.stop_training and not shard.active:
                            break  # under DDP every rank must run the same steps: stop at the epoch end
                    if step < 0:
                        if epoch == first_epoch:
                            raise ValueError("fit: the training data produced no batches; pass non-empty data.")
                        warnings.warn(
                            f"fit: the training data ran out in epoch {epoch + 1}, so training stops here; a "
                            "generator is consumed once (pass steps_per_epoch, or a re-iterable Dataset/DataLoader).",
                            stacklevel=2,
                        )
                        break
                    epoch_logs = self._logs(shard)
                    if val_data is not None and _should_validate(epoch, validation_freq):
                        with self._mode(False):
                            val_logs = self._evaluate_loop(val_data, callback_list, shard)
                        epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                    callback_list.on_epoch_end(epoch, epoch_logs)
                    if shard.active:  # any rank asking to stop (mid-epoch or now) stops all of them
                        self.stop_training = distributed.any_rank(self.stop_training, self._step_device)
                    if self.stop_training:
                        break
            except KeyboardInterrupt:
                self._interrupted = True
                self.stop_training = True
                if distributed.is_chief():
                    print("Training interrupted; the model keeps the weights of the last completed step.")
            callback_list.on_train_end(epoch_logs)
        return history

    # ------------------------------------------------------------------------------ evaluate

    def _evaluate_loop(self, data: Any, callback_list: Any, shard: distributed.Shard) -> dict[str, float]:
        module = self._inference_module()
        self._compiled_metrics.reset()
        callback_list.on_test_begin()
        lazy_logs = _LazyLogs(self)
        batch_hooks = callback_list.has_batch_hooks
        with torch.inference_mode():
            for step, batch in enumerate(data):
                if batch_hooks:
                    callback_list.on_test_batch_begin(step)
                self._test_step(module, batch)
                if batch_hooks:
                    callback_list.on_test_batch_end(step, lazy_logs)
        logs = self._logs(shard)
        callback_list.on_test_end(logs)
        return logs

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: int | str = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: list | None = None,
        return_dict: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Loss and metrics over the data: a scalar, a list `[loss, *metrics]`, or a dict."""
        from ..callbacks import CallbackList, ProgbarLogger
        from .progress import resolve_verbose

        self._require_compiled("evaluate")
        verbose = resolve_verbose(verbose)
        shard = distributed.current_shard(self._model_device())
        data = self._adapter(x, y, sample_weight, batch_size, False, shard, steps)
        self._ensure_built(data)
        callback_list = CallbackList(callbacks, model=self, verbose=verbose, steps=data.steps, mode="evaluate")
        if verbose:
            callback_list.append(ProgbarLogger(verbose))
        with self._mode(False):
            logs = self._evaluate_loop(data, callback_list, shard)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------------------- predict

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto", steps: int | None = None,
                callbacks: list | None = None) -> Any:
        """Outputs for every sample as numpy arrays (lists/dicts of them for multi-output models)."""
        from ..callbacks import CallbackList, ProgbarLogger
        from .progress import resolve_verbose

        verbose = resolve_verbose(verbose)
        shard = distributed.current_shard(self._model_device())
        data = self._adapter(x, None, None, batch_size, False, shard, steps, contiguous=True)
        self._ensure_built(data)
        callback_list = CallbackList(callbacks, model=self, verbose=verbose, steps=data.steps, mode="predict")
        if verbose:
            callback_list.append(ProgbarLogger(verbose))
        module = self._inference_module()
        outputs: list[Any] = []
        batch_hooks = callback_list.has_batch_hooks
        callback_list.on_predict_begin()
        with self._mode(False), torch.inference_mode():
            for step, batch in enumerate(data):
                if batch_hooks:
                    callback_list.on_predict_batch_begin(step)
                outputs.append(self._forward(module, batch.x))
                if batch_hooks:
                    callback_list.on_predict_batch_end(step, None)
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict: the data produced no batches; pass a non-empty input.")
        result = _concat(outputs)
        if shard.active and hasattr(data, "n"):
            result = tree_map(lambda t: _gather_rows(t, data.n), result)
        return tree_map(_to_numpy, result)

    # ------------------------------------------------------------------------- single batches

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                       return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the running loss/metrics like Keras."""
        self._require_compiled("train_on_batch")
        shard = distributed.current_shard(self._model_device())
        data = self._adapter(x, y, sample_weight, None, False, shard, None, class_weight)
        data.batch_size = data.n
        data.steps = 1
        self._ensure_built(data)
        self._build_optimizer()
        if self._grad_scaler is None:
            self._grad_scaler = grad_scaler_for(self._model_device())
        module = self._training_module(shard)
        with self._mode(True):
            for batch in data:
                self._train_step(module, batch)
        return self._single_batch_result(shard, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss and metrics for one batch (metrics are reset first, as in Keras)."""
        self._require_compiled("test_on_batch")
        shard = distributed.current_shard(self._model_device())
        data = self._adapter(x, y, sample_weight, None, False, shard, None)
        data.batch_size = data.n
        data.steps = 1
        self._ensure_built(data)
        self._compiled_metrics.reset()
        with self._mode(False), torch.inference_mode():
            for batch in data:
                self._test_step(self._inference_module(), batch)
        return self._single_batch_result(shard, return_dict)

    def _single_batch_result(self, shard: distributed.Shard, return_dict: bool) -> Any:
        logs = self._logs(shard)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs for one batch, as numpy."""
        return self.predict(x, batch_size=max(_first_dim(x), 1), verbose=0)


# ---------------------------------------------------------------------------------- helpers


class _LazyLogs(Mapping):
    """Batch logs whose values are read from the device only when a callback looks at them."""

    def __init__(self, model: Trainer):
        self._model = model

    def _values(self) -> dict[str, float]:
        return self._model._compiled_metrics.results(distributed.Shard())

    def __getitem__(self, key: str) -> float:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._model._log_names())

    def __len__(self) -> int:
        return len(self._model._log_names())

    def items(self):  # one sync for all values instead of one per key
        return self._values().items()

    def values(self):
        return self._values().values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._values().get(key, default)


def _unpack_validation(data: Any) -> tuple[Any, Any, Any]:
    if isinstance(data, tuple) and len(data) in (2, 3):
        return (*data, None)[:3] if len(data) == 2 else data
    if isinstance(data, list) and len(data) in (2, 3) and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in data):
        return (*data, None)[:3] if len(data) == 2 else tuple(data)
    return data, None, None


def _should_validate(epoch: int, freq: int | list) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq


def _concat(outputs: list[Any]) -> Any:
    first = outputs[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(outputs) if len(outputs) > 1 else first
    if isinstance(first, dict):
        return {k: _concat([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(_concat([o[i] for o in outputs]) for i in range(len(first)))
    return outputs


def _gather_rows(tensor: torch.Tensor, n: int) -> torch.Tensor:
    import torch.distributed as dist

    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts)[:n]


def _to_numpy(tensor: Any) -> Any:
    if not isinstance(tensor, torch.Tensor):
        return tensor
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.detach().cpu().numpy()


def _first_dim(x: Any) -> int:
    leaves = tree_leaves(x)
    return int(leaves[0].shape[0]) if leaves else 0
