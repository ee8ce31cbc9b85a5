"""Trainer: the compile/fit/evaluate/predict methods every Model has.

The training step is what a hand-written PyTorch loop does (forward, loss, `zero_grad`, `backward`,
`step`), plus on-device bookkeeping: the loss and metric states accumulate in device tensors and
are only read when the progress bar redraws or an epoch ends, so the loop never waits for the host.
"""

from __future__ import annotations

import warnings
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from .. import config, optimizers as optimizers_module
from ..constraints import constrained_weights
from ..layers import loss_tracking
from ..layers.layer import STRUCTURE_VERSION, Layer
from . import distributed
from .. import metrics as metrics_module
from ..mixed_precision import global_policy
from .compile_utils import CompiledLoss, CompiledMetrics, CompileMetrics, LossTracker
from .data_adapter import Batch, adapt, split_for_validation, tree_leaves, tree_map, unpack
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
    auto_scale_loss = True
    steps_per_execution = 1

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

        `jit_compile=True` runs the model through `torch.compile` (`"auto"` and `run_eagerly=True`
        mean eager, torch's default); `steps_per_execution=N` calls the batch-level callbacks once
        every N steps, as Keras does; `auto_scale_loss` (default True) scales the loss under the
        "mixed_float16" policy. Without a `loss`, the model trains on its `losses` (`add_loss`).
        """
        if jit_compile not in (True, False, "auto"):
            raise ValueError(f"compile: jit_compile must be True, False or 'auto', received {jit_compile!r}.")
        if isinstance(steps_per_execution, bool) or not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(f"compile: steps_per_execution must be a positive integer, received {steps_per_execution!r}.")
        self.optimizer = optimizers_module.get(optimizer)
        self._modules.pop("loss", None)  # a torch loss module is configuration, never a submodule
        self._set_cached("loss", loss)
        self._compiled_loss = CompiledLoss(loss, loss_weights)
        self._compiled_metrics = CompiledMetrics(metrics, weighted_metrics, loss)
        self._compiled_metrics.attach(self, self._compiled_loss)
        self.jit_compile = jit_compile is True and not run_eagerly
        self.run_eagerly = run_eagerly
        self.steps_per_execution = steps_per_execution
        self.auto_scale_loss = bool(auto_scale_loss)
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
        """Keras's list: the loss tracker, `compile_metrics` (all compiled metrics as one), the
        per-output loss trackers, then metrics set as attributes of the model or its layers.

        `reset_metrics()` resets these at each epoch and evaluation start; override the property
        to list your own trackers for a custom `train_step`.
        """
        return self._metrics_in(_module_tree(self))

    def _metrics_in(self, modules: list[nn.Module]) -> list[Any]:
        """`metrics` from an already walked module tree. A kerastorch layer notes when a metric is
        assigned to it (as Keras tracks them), so only those layers and plain torch modules are read."""
        found = []
        if self.compiled:
            compiled = self._compiled_metrics
            # Keras lists `compile_metrics` only when compile() was given metrics or weighted_metrics
            asked = compiled.spec is not None or compiled.weighted_spec is not None
            found = [compiled.loss_tracker, *([compiled.container] if asked else []), *compiled.part_trackers]
        for module in modules:
            if isinstance(module, Layer) and not module.__dict__.get("_holds_metrics"):
                continue
            for value in vars(module).values():
                if isinstance(value, metrics_module.Metric) and not any(value is f for f in found) and not isinstance(
                        value, (LossTracker, CompileMetrics)):
                    found.append(value)
        return found

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Reset every metric in `metrics` (fit does this at each epoch start, evaluate at its start)."""
        for metric in self.metrics:
            if metrics_module._is_torchmetric(metric):
                metric.reset()
            else:
                metric.reset_state()

    # -------------------------------------------------------------------- overridable steps

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> torch.Tensor:
        """The compiled loss(es) plus `self.losses` (regularization and `add_loss` terms), summed."""
        terms = []
        compiled = self._compiled_loss if self.compiled else None
        if compiled is not None and (compiled.spec is not None or compiled.entries):
            loss, parts = compiled(y, y_pred, sample_weight, self)
            for tracker, part in zip(self._compiled_metrics.part_trackers, parts or []):
                tracker.update_state(part, sample_weight=_batch_size(x, y_pred))
            terms.append(loss)
        terms.extend(self._extra_losses())
        if not terms:
            raise ValueError(
                f"Model {self.name!r} was compiled without a loss and has no add_loss() terms; pass loss=... to "
                "compile()."
            )
        return terms[0] if len(terms) == 1 else torch.stack([t.float().reshape(()) for t in terms]).sum()

    def _extra_losses(self) -> list[torch.Tensor]:
        """`self.losses` when anything in the process adds losses or penalties (two list reads otherwise)."""
        if not (loss_tracking._SOURCES[0] or loss_tracking._PENALTIES[0]):
            return []
        return [term.float().reshape(()) for term in self.losses]

    def _batch_loss(self, batch: Batch, y_pred: Any) -> tuple[torch.Tensor, list | None]:
        """The built-in step's loss: the compiled loss plus `self.losses`, and each output's part."""
        loss, parts = None, None
        if self._compiled_loss.entries:
            loss, parts = self._compiled_loss(batch.y, y_pred, batch.sample_weight, self)
        extra = self._extra_losses()
        if extra:
            total = extra[0] if len(extra) == 1 else torch.stack(extra).sum()
            loss = total if loss is None else loss + total
        if loss is None:
            raise ValueError(
                f"Model {self.name!r} was compiled without a loss and has no add_loss() terms; pass loss=... to "
                "compile()."
            )
        return loss, parts

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, Any]:
        """Update the compiled metrics with this batch and return `get_metrics_result()`."""
        if self.compiled:
            self._compiled_metrics.container.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> dict[str, Any]:
        """The current value of every metric in `metrics` (dict results flattened), as device tensors."""
        logs: dict[str, Any] = {}
        for metric in self.metrics:
            result = metric.compute() if metrics_module._is_torchmetric(metric) else metric.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[metric.name] = result
        return logs

    def train_step(self, data: Any) -> dict[str, Any]:
        """One Keras training step on `data` (`x`, `(x, y)` or `(x, y, sample_weight)`); returns the logs."""
        x, y, sample_weight = unpack(data)
        y_pred = self(x)
        self.zero_grad(set_to_none=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        self._compiled_metrics.loss_tracker.update_state(loss, sample_weight=_batch_size(x, y_pred))
        optimizer = self.optimizer
        params = self._weights_in_keras_order()
        if not params:
            warnings.warn(f"Model {self.name!r} has no trainable weights; nothing is updated.", stacklevel=2)
        elif isinstance(optimizer, optimizers_module.Optimizer):
            optimizer.scale_loss(loss).backward()
            optimizer.apply([p.grad for p in params], params)
        else:
            loss.backward()
            optimizer.step()
            self._apply_constraints()
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, Any]:
        """One Keras evaluation step on `data`; returns the logs."""
        x, y, sample_weight = unpack(data)
        y_pred = self(x)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._compiled_metrics.loss_tracker.update_state(loss, sample_weight=_batch_size(x, y_pred))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for one batch of `data` (its `x` part)."""
        x, _, _ = unpack(data)
        return self(x)

    def _custom(self, *names: str) -> bool:
        """Whether the model's class overrides any of these Trainer methods (checked once per loop)."""
        cls = type(self)
        for base in cls.__mro__:  # only the classes before Trainer can override its methods
            if base is Trainer:
                return False
            if any(name in vars(base) for name in names):
                return any(getattr(cls, name) is not getattr(Trainer, name) for name in names)
        return False

    def _apply_constraints(self) -> None:
        projections = self.__dict__.get("_projections")
        if projections:
            with torch.no_grad():
                for weight, project in projections:
                    weight.copy_(project(weight))

    def _tree_plan(self) -> "_TreePlan":
        """The walked module tree and what the loops derive from it (device, trainability, weight
        constraints, overridden step hooks), reused from the last call while it still holds."""
        plan = self.__dict__.get("_plan")
        if plan is None or not plan.holds(self):
            plan = _TreePlan(self)
            self._set_cached("_plan", plan if plan.reusable else None)
        return plan

    def _prepare_step_state(self, plan: "_TreePlan | None" = None) -> "_TreePlan":
        """Once per loop, from the tree plan (returned for the mode switch and the runner): the
        weights' constraints (shared with the optimizer) and the metrics' device."""
        plan = self._tree_plan() if plan is None else plan
        projections = plan.projections(self)
        self._set_cached("_projections", projections)
        if isinstance(self.optimizer, optimizers_module.Optimizer):
            self.optimizer._projections = {id(w): project for w, project in projections}
        found = self.metrics if plan.custom_metrics else self._metrics_in(plan.modules)
        self._set_cached("_loop_metrics", found)
        self._set_cached("_layer_metrics", [m for m in found if not isinstance(m, (LossTracker, CompileMetrics))])
        if self._step_device.type != "cpu":
            for metric in found:
                if hasattr(metric, "to") and not isinstance(metric, CompileMetrics):
                    metric.to(self._step_device)
        return plan

    def _reset_loop_metrics(self) -> None:
        """`reset_metrics()` over the list `metrics` gave when this loop started (read once per loop);
        the compiled trackers are reset as a whole, since per-output ones appear on the first batch."""
        if self.compiled:
            self._compiled_metrics.reset()
        for metric in self.__dict__.get("_loop_metrics") or self.metrics:
            if isinstance(metric, (LossTracker, CompileMetrics)):
                continue
            if metrics_module._is_torchmetric(metric):
                metric.reset()
            else:
                metric.reset_state()

    # --------------------------------------------------------------------------- preparation

    def _model_device(self, modules: list[nn.Module] | None = None) -> torch.device:
        """Where the first (initialized) parameter lives, else the first buffer (`modules`: the walked tree)."""
        modules = _module_tree(self) if modules is None else modules
        for kind in ("_parameters", "_buffers"):
            for module in modules:
                for tensor in getattr(module, kind).values():
                    if tensor is not None and not isinstance(tensor, nn.parameter.UninitializedParameter):
                        return tensor.device
        return torch.device("cpu")

    def _ensure_built(self, data: Any, device: torch.device | None = None) -> bool:
        """Build (lazy) layers with one forward pass on two samples, then note the device (`device`: the
        model's, looked up by the caller just before, which a model built already still has). Returns
        whether it built anything (the module tree may have grown)."""
        built = False
        if not self.__dict__.get("_fully_built"):
            lazy = any(isinstance(p, nn.parameter.UninitializedParameter) for p in self.parameters())
            if not self.built or lazy:
                with torch.no_grad():
                    self(data.first_x())
                device = None  # new weights: look again
                built = True
            self._set_cached("_fully_built", True)
        self._set_cached("_step_device", device or self._model_device())  # the model may have moved since
        return built

    def _build_optimizer(self) -> None:
        optimizer = self.optimizer
        if isinstance(optimizer, optimizers_module.Optimizer):
            if not optimizer.built and any(p.requires_grad for p in self.parameters()):
                optimizer.build(self._weights_in_keras_order())  # (nothing to train: see _train_runner)
        elif not isinstance(optimizer, torch.optim.Optimizer):
            params = [p for p in self.parameters() if p.requires_grad]
            self.optimizer = optimizer(params)
            if not hasattr(self.optimizer, "step"):
                raise TypeError(
                    f"The optimizer factory given to compile() returned {self.optimizer!r}, not an optimizer."
                )

    def _weights_in_keras_order(self) -> list[torch.Tensor]:
        """Trainable parameters as Keras lists them (so `optimizer.variables` follows Keras's order),
        then any parameter only torch knows about (plain modules inside subclassed models)."""
        try:
            ordered = list(self.trainable_weights)
        except (AttributeError, ValueError):
            ordered = []
        seen = {id(p) for p in ordered}
        return ordered + [p for p in self.parameters() if p.requires_grad and id(p) not in seen]

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
                 contiguous: bool = False, device: torch.device | None = None) -> Any:
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size must be a positive integer, received {batch_size!r}.")
        cap = config.max_steps_per_epoch()  # kt.config.set_max_steps_per_epoch, a debugging cap as in Keras
        if cap and (not steps or cap < steps):
            warnings.warn(f"Limiting steps_per_epoch to {cap} (kt.config.max_steps_per_epoch()).", stacklevel=3)
            steps = cap
        return adapt(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                     device=device or self._model_device(), shard=shard, steps=steps, class_weight=class_weight,
                     contiguous_shards=contiguous)

    def _mode(self, training: bool, modules: list[nn.Module] | None = None) -> "_Mode":
        """Switch every submodule to train/eval mode and restore each one's own mode afterwards
        (`modules`: the tree as this loop walked it already)."""
        return _Mode(self, training, _module_tree(self) if modules is None else modules)

    # ------------------------------------------------------------------------------ one step

    def _forward(self, module: nn.Module, x: Any) -> Any:
        if global_policy().autocast_dtype is None:  # float32: no context to enter and leave per step
            return module(x)
        with autocast_for(self._step_device):
            return module(x)

    def _train_step(self, module: nn.Module, batch: Batch) -> None:
        y_pred = self._forward(module, batch.x)
        self._compiled_metrics.ensure_built(batch.y, y_pred, self._compiled_loss, self._step_device, self)
        loss, parts = self._batch_loss(batch, y_pred)
        scaled = loss * batch.loss_scale if batch.loss_scale != 1.0 else loss
        optimizer = self.optimizer
        if getattr(optimizer, "_scales_loss", False):  # loss_scale_factor or LossScaleOptimizer (Keras's scale_loss)
            scaled = optimizer.scale_loss(scaled)
        optimizer.zero_grad(set_to_none=True)
        scaler = self._grad_scaler
        if scaler is not None:
            scaler.scale(scaled).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            scaled.backward()
            optimizer.step()
        if self.__dict__.get("_projections"):
            self._apply_constraints()
        self._compiled_metrics.update(loss, parts, batch, y_pred)

    def _test_step(self, module: nn.Module, batch: Batch) -> Any:
        y_pred = self._forward(module, batch.x)
        self._compiled_metrics.ensure_built(batch.y, y_pred, self._compiled_loss, self._step_device, self)
        loss, parts = self._batch_loss(batch, y_pred)
        self._compiled_metrics.update(loss, parts, batch, y_pred)
        return y_pred

    def _lean_step(self, training: bool) -> Any:
        """The built-in step with its per-batch Python cut to what a hand-written loop runs, for the
        common case known after the first batch (one output, one unweighted loss, no compiled metrics,
        float32, no constraints or loss scaling); None otherwise. Batches without targets, add_loss
        terms or DDP scaling still take the full step."""
        entries, compiled = self._compiled_loss.entries, self._compiled_metrics
        if (not entries or len(entries) != 1 or entries[0][0] is not None or entries[0][3] != 1.0
                or compiled.entries or compiled.part_trackers or global_policy().autocast_dtype is not None
                or self._grad_scaler is not None or self.__dict__.get("_projections")
                or getattr(self.optimizer, "_scales_loss", False)):
            return None
        loss_fn, tracker, optimizer = entries[0][2], compiled.loss_tracker, self.optimizer
        full = self._train_step if training else self._test_step
        sources, penalties = loss_tracking._SOURCES, loss_tracking._PENALTIES

        def step(module: nn.Module, batch: Batch) -> None:
            if batch.y is None or batch.loss_scale != 1.0 or sources[0] or penalties[0]:
                full(module, batch)
                return
            loss = loss_fn(batch.y, module(batch.x), batch.sample_weight)
            if training:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            tracker.track(loss, batch.size, batch.real)

        return step

    def _train_runner(self, module: nn.Module, plan: "_TreePlan") -> "_Run":
        """What fit runs per batch, decided once per loop: the built-in fused step when the model
        overrides none of Keras's step hooks, else its own `train_step` on Keras-packed data."""
        if plan.custom_train:
            self._check_custom_step("train_step", module)
            return _CustomRun(self, self.train_step)
        if not any(plan.flags):
            warnings.warn(f"Model {self.name!r} has no trainable weights: fit computes its loss and metrics "
                          "but updates nothing (as in Keras).", stacklevel=3)
            return _BuiltinRun(self, module, self._test_step, False)
        return _BuiltinRun(self, module, self._train_step, True)

    def _test_runner(self, module: nn.Module) -> "_Run":
        if self._custom("test_step", "compute_loss", "compute_metrics", "get_metrics_result", "metrics"):
            self._check_custom_step("test_step", module)
            return _CustomRun(self, self.test_step)
        return _BuiltinRun(self, module, self._test_step, False)

    def _check_custom_step(self, name: str, module: nn.Module) -> None:
        """A custom step calls the model itself, not the DDP/compiled wrapper fit made: say so rather
        than train unsynchronized replicas or skip compilation silently."""
        if module is self:
            return
        what = "jit_compile=True" if self.jit_compile else "distributed (DDP) training"
        raise NotImplementedError(
            f"Model {self.name!r} overrides Keras's step hooks ({name}), which fit cannot combine with {what}: "
            "the custom step calls the model directly. Use the built-in step, or wrap the model yourself "
            "(torch.compile / DistributedDataParallel) in a hand-written loop."
        )

    def _log_names(self) -> list[str]:
        return self._compiled_metrics.names() + [m.name for m in self.__dict__.get("_layer_metrics") or ()]

    def _logs(self, shard: distributed.Shard = distributed.Shard()) -> dict[str, float]:
        """Current metric values as floats (one device sync; a cross-process reduction under DDP), then,
        as Keras logs every metric in `metrics`, those the model and its layers hold as attributes
        (read on this process only)."""
        logs = self._compiled_metrics.results(shard)
        held = self.__dict__.get("_layer_metrics")
        if held:
            results: dict[str, Any] = {}
            for metric in held:
                result = metric.compute() if metrics_module._is_torchmetric(metric) else metric.result()
                if isinstance(result, Mapping):
                    results.update(result)
                else:
                    results[metric.name] = result
            logs.update(pythonify_logs(results))
        return logs

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
        CallbackList, History, ProgbarLogger, resolve_verbose = _loop_helpers()

        self._require_compiled("fit")
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative integer, received {epochs!r}.")
        if class_weight is not None and not isinstance(class_weight, dict):
            raise TypeError(f"fit: class_weight must be a dict {{class_index: weight}}, received {class_weight!r}.")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit: pass either class_weight or sample_weight, not both (as in Keras).")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"fit: shuffle must be True, False or 'batch', received {shuffle!r}.")
        verbose = resolve_verbose(verbose)
        if config.max_epochs() and config.max_epochs() < epochs:  # kt.config.set_max_epochs, as in Keras
            warnings.warn(f"Limiting epochs to {config.max_epochs()} (kt.config.max_epochs()).", stacklevel=2)
            epochs = config.max_epochs()
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = split_for_validation(x, y, sample_weight, validation_split)
        plan = self._tree_plan()
        device = plan.device
        shard = distributed.current_shard(device)
        train_data = self._adapter(x, y, sample_weight, batch_size, shuffle, shard, steps_per_epoch, class_weight,
                                   device=device)
        val_data = None
        if validation_data is not None:
            val_x, val_y, val_w = _unpack_validation(validation_data)
            val_data = self._adapter(val_x, val_y, val_w, validation_batch_size or batch_size, False, shard,
                                     validation_steps, device=device)
        if self._ensure_built(train_data, device):
            plan = self._tree_plan()
        self._build_optimizer()
        if self._grad_scaler is None and self.auto_scale_loss and not getattr(self.optimizer, "_scales_loss", False):
            self._grad_scaler = grad_scaler_for(self._step_device)
        module = self._training_module(shard)
        self._prepare_step_state(plan)
        runner = self._train_runner(module, plan)
        modules = plan.modules
        every = self.steps_per_execution
        total_steps = train_data.steps

        history = History()
        callback_list = CallbackList(
            [*(callbacks or []), history], model=self, verbose=verbose, epochs=epochs, steps=train_data.steps,
            mode="fit",
        )
        if verbose:
            callback_list.append(ProgbarLogger(verbose))
        for name, value in (("history", history), ("stop_training", False), ("_interrupted", False),
                            ("_initial_epoch", None)):
            self._set_cached(name, value)  # plain values: no trip through nn.Module.__setattr__
        epoch_logs: dict[str, float] = {}
        with self._mode(True, modules):
            callback_list.on_train_begin()
            first_epoch = self._initial_epoch if self._initial_epoch is not None else initial_epoch
            try:
                for epoch in range(first_epoch, epochs):
                    self._reset_loop_metrics()
                    callback_list.on_epoch_begin(epoch)
                    batch_hooks = callback_list.has_batch_hooks
                    step = -1
                    for step, batch in enumerate(train_data):
                        if batch_hooks and step % every == 0:
                            callback_list.on_train_batch_begin(step)
                        runner.run(batch)
                        if batch_hooks and ((step + 1) % every == 0 or step + 1 == total_steps):
                            callback_list.on_train_batch_end(step, runner.lazy_logs)
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
                    epoch_logs = runner.final_logs(shard)
                    if val_data is not None and _should_validate(epoch, validation_freq):
                        with self._mode(False, modules):
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
            optimizer = self.optimizer
            if isinstance(optimizer, optimizers_module.Optimizer) and epochs > 0 and (optimizer.use_ema or type(
                    optimizer).finalize_variable_values is not optimizers_module.Optimizer.finalize_variable_values):
                optimizer.finalize_variable_values()
            callback_list.on_train_end(epoch_logs)
        return history

    # ------------------------------------------------------------------------------ evaluate

    def _evaluate_loop(self, data: Any, callback_list: Any, shard: distributed.Shard) -> dict[str, float]:
        runner = self._test_runner(self._inference_module())
        self._reset_loop_metrics()
        callback_list.on_test_begin()
        batch_hooks = callback_list.has_batch_hooks
        every, total_steps = self.steps_per_execution, data.steps
        step = -1
        with torch.inference_mode():
            for step, batch in enumerate(data):
                if batch_hooks and step % every == 0:
                    callback_list.on_test_batch_begin(step)
                runner.run(batch)
                if batch_hooks and ((step + 1) % every == 0 or step + 1 == total_steps):
                    callback_list.on_test_batch_end(step, runner.lazy_logs)
        if step < 0:  # Keras raises too: a loss over no samples is not 0
            raise ValueError("evaluate: the data produced no batches; pass non-empty data (x and y with samples).")
        logs = runner.final_logs(shard)
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
        CallbackList, _, ProgbarLogger, resolve_verbose = _loop_helpers()

        if kwargs:
            raise TypeError(f"evaluate() got unexpected keyword arguments {sorted(kwargs)}.")
        self._require_compiled("evaluate")
        verbose = resolve_verbose(verbose)
        plan = self._tree_plan()
        device = plan.device
        shard = distributed.current_shard(device)
        data = self._adapter(x, y, sample_weight, batch_size, False, shard, steps, device=device)
        if self._ensure_built(data, device):
            plan = self._tree_plan()
        modules = self._prepare_step_state(plan).modules
        callback_list = CallbackList(callbacks, model=self, verbose=verbose, steps=data.steps, mode="evaluate")
        if verbose:
            callback_list.append(ProgbarLogger(verbose))
        with self._mode(False, modules):
            logs = self._evaluate_loop(data, callback_list, shard)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------------------------- predict

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto", steps: int | None = None,
                callbacks: list | None = None) -> Any:
        """Outputs for every sample as numpy arrays (lists/dicts of them for multi-output models)."""
        CallbackList, _, ProgbarLogger, resolve_verbose = _loop_helpers()

        verbose = resolve_verbose(verbose)
        device = self._model_device()
        shard = distributed.current_shard(device)
        data = self._adapter(x, None, None, batch_size, False, shard, steps, contiguous=True, device=device)
        self._ensure_built(data, device)
        callback_list = CallbackList(callbacks, model=self, verbose=verbose, steps=data.steps, mode="predict")
        if verbose:
            callback_list.append(ProgbarLogger(verbose))
        module = self._inference_module()
        custom = self._custom("predict_step")
        # float32: the module itself per batch (no autocast context to enter, no extra call)
        forward = module if global_policy().autocast_dtype is None else (lambda x: self._forward(module, x))
        outputs: list[Any] = []
        batch_hooks = callback_list.has_batch_hooks
        every, total_steps = self.steps_per_execution, data.steps
        callback_list.on_predict_begin()
        plain = None if custom or batch_hooks else getattr(data, "plain_x_batches", lambda: None)()
        with self._mode(False), torch.inference_mode():
            if plain is not None:  # no hooks, no custom step: a hand-written loop's list of outputs
                outputs = [forward(x_batch) for x_batch in plain]
            for step, batch in enumerate(data if plain is None else ()):
                if batch_hooks and step % every == 0:
                    callback_list.on_predict_batch_begin(step)
                if custom:
                    with autocast_for(self._step_device):
                        outputs.append(self.predict_step(_pack(batch)))
                else:
                    outputs.append(forward(batch.x))
                if batch_hooks and ((step + 1) % every == 0 or step + 1 == total_steps):
                    callback_list.on_predict_batch_end(step, {"outputs": tree_map(_to_numpy, outputs[-1])})
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
        if self._grad_scaler is None and self.auto_scale_loss and not getattr(self.optimizer, "_scales_loss", False):
            self._grad_scaler = grad_scaler_for(self._model_device())
        module = self._training_module(shard)
        plan = self._prepare_step_state()
        runner = self._train_runner(module, plan)
        modules = plan.modules
        with self._mode(True, modules):
            for batch in data:
                runner.run(batch)
        return _result_form(runner.final_logs(shard), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """Loss and metrics for one batch (metrics are reset first, as in Keras)."""
        self._require_compiled("test_on_batch")
        shard = distributed.current_shard(self._model_device())
        data = self._adapter(x, y, sample_weight, None, False, shard, None)
        data.batch_size = data.n
        data.steps = 1
        self._ensure_built(data)
        modules = self._prepare_step_state().modules
        self._reset_loop_metrics()
        runner = self._test_runner(self._inference_module())
        with self._mode(False, modules), torch.inference_mode():
            for batch in data:
                runner.run(batch)
        return _result_form(runner.final_logs(shard), return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs for one batch, as numpy."""
        return self.predict(x, batch_size=max(_first_dim(x), 1), verbose=0)


# ---------------------------------------------------------------------------------- helpers


_HELPERS: list[Any] = []


def _loop_helpers() -> list[Any]:
    """[CallbackList, History, ProgbarLogger, resolve_verbose], imported once on first use (the
    callbacks module imports this package, so not at import time), then read without an import."""
    if not _HELPERS:
        from ..callbacks import CallbackList, History, ProgbarLogger
        from .progress import resolve_verbose

        _HELPERS.extend((CallbackList, History, ProgbarLogger, resolve_verbose))
    return _HELPERS


_PLAIN_TRAIN = (Layer.train, nn.Module.train)  # train() implementations that only set the flags
_STEP_HOOKS = ("compute_loss", "compute_metrics", "get_metrics_result", "metrics")


class _TreePlan:
    """One walk of a model's module tree and what the loops derive from it.

    Reused by the next call while it holds: the tree is all kerastorch layers (every change of
    submodules, weights, object attributes or dtype/device passes through Layer and bumps
    `STRUCTURE_VERSION`), that number and the model's class are unchanged, no module lost a child
    (`Sequential.pop` deletes it directly), every weight keeps its `requires_grad`, and the first
    weight is still on the same device. A tree holding any plain torch module is walked afresh on
    every call.
    """

    def __init__(self, model: "Trainer"):
        self.version, self.cls = STRUCTURE_VERSION[0], type(model)
        self.modules = _module_tree(model)
        self.children = sum(len(m._modules) for m in self.modules)  # a child deleted from `_modules` directly
        self.device = model._model_device(self.modules)
        self.reusable = all(isinstance(m, Layer) for m in self.modules)
        seen: set[int] = set()
        self.weights = [p for m in self.modules for p in m._parameters.values()
                        if p is not None and id(p) not in seen and not seen.add(id(p))]
        self.flags = [p.requires_grad for p in self.weights]
        self.first = next((p for p in self.weights if not isinstance(p, nn.parameter.UninitializedParameter)), None)
        self.constrained = any(m.__dict__.get("_constraints") for m in self.modules)
        self.custom_metrics = model._custom("metrics")
        self.custom_train = model._custom("train_step", *_STEP_HOOKS)
        self._projections: list | None = None

    def holds(self, model: "Trainer") -> bool:
        return (self.version == STRUCTURE_VERSION[0] and self.cls is type(model) and self.modules[0] is model
                and (self.first is None or self.first.device == self.device)
                and self.children == sum(len(m._modules) for m in self.modules)
                and all(p.requires_grad is flag for p, flag in zip(self.weights, self.flags)))

    def projections(self, model: "Trainer") -> list[tuple[torch.Tensor, Any]]:
        """The constrained trainable weights with their projections (looked up once per plan)."""
        if self._projections is None:
            self._projections = constrained_weights(model) if self.constrained else []
        return self._projections


class _Mode:
    """`with`: every module of the tree in one mode inside the block, each one's own mode after."""

    __slots__ = ("model", "training", "modules", "previous")

    def __init__(self, model: nn.Module, training: bool, modules: list[nn.Module]):
        self.model, self.training, self.modules, self.previous = model, training, modules, None

    def __enter__(self) -> None:
        training, modules = self.training, self.modules
        if all(m.training == training for m in modules):
            return
        self.previous = [(m, m.training) for m in modules]
        if all(type(m).train in _PLAIN_TRAIN for m in modules) and all(
                m.__dict__.get("_trainable", True) for m in modules):
            for module in modules:  # what train() does when no module overrides it and none is frozen
                module.__dict__["training"] = training
        else:
            self.model.train(training)

    def __exit__(self, *exc_info: Any) -> None:
        for module, mode in self.previous or ():
            if module.training != mode:
                object.__setattr__(module, "training", mode)  # the flag alone: what it was before train()
        self.previous = None


def _module_tree(root: nn.Module) -> list[nn.Module]:
    """`list(root.modules())` (the same pre-order, each module once), walked without recursion."""
    found, seen, stack = [], set(), [root]
    while stack:
        module = stack.pop()
        if module is None or id(module) in seen:
            continue
        seen.add(id(module))
        found.append(module)
        stack.extend(reversed(module._modules.values()))
    return found


class _Run:
    """One loop's step: `run(batch)`, `lazy_logs` for batch callbacks, `final_logs()` as floats."""

    lazy_logs: Mapping

    def run(self, batch: Batch) -> None:
        raise NotImplementedError

    def final_logs(self, shard: distributed.Shard) -> dict[str, float]:
        raise NotImplementedError


class _BuiltinRun(_Run):
    """The built-in fused step: metrics accumulate on the device, read once per epoch."""

    def __init__(self, model: Trainer, module: nn.Module, step: Any, training: bool):
        self.model, self.module, self.step = model, module, step
        self.training = training
        # Loss and metrics resolved by an earlier loop, and on this device: the lean step from the start.
        compiled = model._compiled_metrics
        lean = model._lean_step(training) if compiled.entries is not None and compiled._device == (
            model._step_device) else None
        self.planned = lean is not None
        self.step = lean or step
        self.lazy_logs = _LazyLogs(model)

    def run(self, batch: Batch) -> None:
        self.step(self.module, batch)
        if not self.planned:  # the first batch resolved the loss and metrics: take the lean step if it fits
            self.planned = True
            self.step = self.model._lean_step(self.training) or self.step

    def final_logs(self, shard: distributed.Shard) -> dict[str, float]:
        return self.model._logs(shard)


class _CustomRun(_Run):
    """The model's own `train_step`/`test_step`, given `x`, `(x, y)` or `(x, y, sample_weight)`."""

    def __init__(self, model: Trainer, step: Any):
        self.model, self.step = model, step
        self.last: Any = {}
        self.lazy_logs = _StepLogs(self)

    def run(self, batch: Batch) -> None:
        with autocast_for(self.model._step_device):
            self.last = self.step(_pack(batch))

    def final_logs(self, shard: distributed.Shard) -> dict[str, float]:
        """Keras's rule: the metrics' results when their names match the step's logs, else the last logs."""
        logs = self.last
        metric_logs = self.model.get_metrics_result()
        if isinstance(logs, Mapping) and set(logs) == set(metric_logs):
            logs = metric_logs
        return pythonify_logs(logs)


class _StepLogs(Mapping):
    """A custom step's last logs, converted to floats only when a callback reads them."""

    def __init__(self, run: _CustomRun):
        self._run = run

    def _values(self) -> dict[str, Any]:
        return pythonify_logs(self._run.last)

    def __getitem__(self, key: str) -> Any:
        return self._values()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())

    def items(self):
        return self._values().items()

    def values(self):
        return self._values().values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._values().get(key, default)


def pythonify_logs(logs: Any) -> dict[str, Any]:
    """Keras's log form: nested dicts flattened, keys sorted, scalars as floats (one sync for all)."""
    flat: dict[str, Any] = {}

    def walk(tree: Any) -> None:
        for key, value in sorted((tree or {}).items()):
            if isinstance(value, Mapping):
                walk(value)
            else:
                flat[key] = value

    walk(logs if isinstance(logs, Mapping) else {})
    scalars = [k for k, v in flat.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    if scalars:
        values = torch.stack([flat[k].detach().float().reshape(()).to(flat[scalars[0]].device) for k in scalars])
        flat.update(zip(scalars, values.tolist()))
    for key, value in flat.items():
        if not isinstance(value, torch.Tensor):
            try:
                flat[key] = float(value)
            except (TypeError, ValueError):
                pass
    return flat


def _pack(batch: Batch) -> Any:
    """Keras's `data` for a step: `x`, `(x, y)` or `(x, y, sample_weight)`."""
    if batch.y is None and batch.sample_weight is None:
        return (batch.x,) if isinstance(batch.x, (list, tuple)) else batch.x
    if batch.sample_weight is None:
        return batch.x, batch.y
    return batch.x, batch.y, batch.sample_weight


def _batch_size(x: Any, y_pred: Any) -> int:
    leaves = tree_leaves(x) or tree_leaves(y_pred)
    return int(leaves[0].shape[0]) if leaves and getattr(leaves[0], "ndim", 0) else 1


def _result_form(logs: dict[str, float], return_dict: bool) -> Any:
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values



class _LazyLogs(Mapping):
    """Batch logs whose values are read from the device only when a callback looks at them."""

    def __init__(self, model: Trainer):
        self._model = model

    def _values(self) -> dict[str, float]:
        return self._model._logs()

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
