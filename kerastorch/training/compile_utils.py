"""What `compile()` turns its `loss`, `loss_weights` and `metrics` arguments into.

Both are resolved on the first batch, when the output structure and the target shapes are known
(Keras does the same: "accuracy" becomes binary, categorical or sparse categorical accuracy from
the shapes it sees). Loss values are tracked in device tensors weighted by batch size, so the
reported loss is the mean over samples, as in Keras.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .. import losses as losses_module
from .. import metrics as metrics_module
from . import distributed


def _select(structure: Any, key: Any) -> Any:
    if key is None or structure is None:
        return structure
    if isinstance(structure, dict):
        return structure[key] if not isinstance(key, int) else list(structure.values())[key]
    if isinstance(structure, (list, tuple)):
        return structure[key if isinstance(key, int) else 0]
    return structure


def _output_keys(y_pred: Any, model: Any) -> tuple[list[Any], list[str]]:
    """(keys to select each output, its Keras name) for a model's output structure."""
    if isinstance(y_pred, torch.Tensor):
        return [None], [""]
    if isinstance(y_pred, dict):
        return list(y_pred), [str(k) for k in y_pred]
    count = len(y_pred)
    names = list(getattr(model, "output_names", None) or [])
    if len(names) != count:  # a functional model: its output layers' names, as Keras uses them
        try:
            names = [getattr(t, "name", None) for t in model.outputs]
        except (AttributeError, ValueError, TypeError):
            names = []
    if len(names) != count or not all(names) or len(set(names)) != count:
        names = [f"output_{i}" for i in range(count)]
    return list(range(count)), names


def _crossentropy_for(y_true: Any, y_pred: Any) -> Any:
    """Keras's "crossentropy"/"ce": binary, sparse categorical or categorical, picked from the shapes
    as "accuracy" is."""
    if y_true is None:
        raise ValueError('compile(loss="crossentropy") picks its loss from the targets\' shape; pass y to fit().')
    y_true = torch.as_tensor(y_true)
    if (y_pred.shape[-1] == 1 if y_pred.ndim else True):
        return losses_module.binary_crossentropy
    if y_true.ndim < y_pred.ndim or (y_true.ndim and y_true.shape[-1] == 1):
        return losses_module.sparse_categorical_crossentropy
    return losses_module.categorical_crossentropy


def _as_loss(identifier: Any, y_true: Any = None, y_pred: Any = None) -> Any:
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        return losses_module.LossFunctionWrapper(_crossentropy_for(y_true, y_pred), name=identifier)
    if isinstance(identifier, nn.Module):  # a torch loss module takes (input, target)
        module = identifier
        placed: list[torch.device] = []  # not a submodule of the model: follow the predictions' device

        def call(y_true: Any, y_pred: Any) -> Any:
            if not placed or placed[0] != y_pred.device:
                module.to(y_pred.device)
                placed[:] = [y_pred.device]
            return module(y_pred, y_true)

        return losses_module.LossFunctionWrapper(call, name=type(module).__name__.lower())
    loss = losses_module.get(identifier)
    if not isinstance(loss, losses_module.Loss):
        loss = losses_module.LossFunctionWrapper(loss, name=getattr(loss, "__name__", "loss"))
    return loss


def _per_output(spec: Any, keys: list[Any], names: list[str], what: str, single: Any = None) -> list[Any]:
    """Spread a loss/metrics/weights spec over the outputs (a single value applies to all)."""
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(f"compile: {what} has keys {sorted(unknown)} that match no model output; outputs are {names}.")
        return [spec.get(name, single) for name in names]
    if isinstance(spec, (list, tuple)) and len(keys) > 1 and what != "metrics":
        if len(spec) != len(keys):
            raise ValueError(f"compile: {what} has {len(spec)} entries but the model has {len(keys)} outputs.")
        return list(spec)
    if what == "metrics" and isinstance(spec, (list, tuple)) and len(keys) > 1 and spec and all(
        isinstance(s, (list, tuple)) or s is None for s in spec
    ):
        if len(spec) != len(keys):
            raise ValueError(f"compile: metrics has {len(spec)} lists but the model has {len(keys)} outputs.")
        return list(spec)
    if isinstance(spec, (list, tuple)) and len(keys) == 1 and what != "metrics":
        if len(spec) != 1:
            raise ValueError(f"compile: {what} has {len(spec)} entries but the model has 1 output.")
        return list(spec)
    return [spec] * len(keys)


class CompiledLoss:
    """The total loss (weighted sum over outputs) and each output's own loss."""

    def __init__(self, spec: Any, weights: Any):
        self.spec = spec
        self.weights = weights
        self.entries: list[tuple[Any, str, Any, float]] | None = None

    def build(self, y_pred: Any, model: Any, y: Any = None) -> None:
        keys, names = _output_keys(y_pred, model)
        losses = [_as_loss(s, _select(y, k), _select(y_pred, k))
                  for s, k in zip(_per_output(self.spec, keys, names, "loss"), keys)]
        weights = _per_output(self.weights, keys, names, "loss_weights", 1.0) if self.weights is not None else [1.0] * len(keys)
        # No entries (compiled without a loss): the model trains on its `losses` alone, as in Keras.
        self.entries = [(k, n, l, float(1.0 if w is None else w)) for k, n, l, w in zip(keys, names, losses, weights)
                        if l is not None]

    def loss_for(self, index: int) -> Any:
        return self.entries[index][2] if self.entries else None

    @property
    def part_names(self) -> list[str]:
        return [f"{name}_loss" for _, name, _, _ in self.entries] if self.entries and len(self.entries) > 1 else []

    def __call__(self, y: Any, y_pred: Any, sample_weight: Any, model: Any) -> tuple[torch.Tensor, list | None]:
        if self.entries is None:
            self.build(y_pred, model, y)
        if y is None:
            raise ValueError(
                f"Model {getattr(model, 'name', '')!r} needs targets to compute its loss; pass y (or yield (x, y) batches)."
            )
        if len(self.entries) == 1:
            key, _, fn, weight = self.entries[0]
            loss = fn(_select(y, key) if key is not None else y, _select(y_pred, key), sample_weight)
            return (loss * weight if weight != 1.0 else loss), None
        parts, total = [], None
        for key, _, fn, weight in self.entries:
            value = fn(_select(y, key), _select(y_pred, key), sample_weight)
            parts.append(value)
            total = value * weight if total is None else total + value * weight
        return total, parts


class LossTracker(metrics_module.Metric):
    """Sum of batch losses times batch sizes on the device; the count stays a host integer."""

    def __init__(self, name: str = "loss"):
        super().__init__(name=name)
        self.total = self.add_variable((), name="total")
        self.count = 0.0

    def track(self, loss: torch.Tensor, size: int, real: int) -> None:
        value = loss.detach()
        self.total.add_(value if value.dtype == torch.float32 else value.float(), alpha=size)
        self.count += real

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Keras's `Mean.update_state`: a scalar loss counts `sample_weight` times (once by default)."""
        values = torch.as_tensor(values).detach().to(self.total.device, torch.float32)
        weight = 1.0 if sample_weight is None else sample_weight
        with torch.no_grad():
            if values.ndim == 0 and isinstance(weight, (int, float)):
                self.total.add_(values, alpha=float(weight))
                self.count += float(weight)
            else:  # per-element values or weights: a weighted sum (reading the weight total syncs once)
                weight = torch.as_tensor(weight, dtype=torch.float32, device=self.total.device).expand_as(values)
                self.total.add_((values * weight).sum())
                self.count += float(weight.sum())

    def reset_state(self) -> None:
        self.total.zero_()  # its one state tensor starts at zero: no grad-mode switch, no copy
        self.count = 0.0

    def result(self) -> torch.Tensor:
        return self.total / max(self.count, 1e-12)


def resolve_metric(identifier: Any, y_true: Any, y_pred: torch.Tensor, loss: Any) -> Any:
    """Keras's metric resolution: "accuracy" is picked from the shapes, exactly as Keras picks it.

    One deliberate difference: after a `from_logits=True` binary loss the threshold is 0 (probability
    0.5); Keras keeps 0.5 and so compares logits against a probability threshold.
    """
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        y_true = torch.as_tensor(y_true)
        binary = y_pred.shape[-1] == 1 if y_pred.ndim else True
        sparse = y_true.ndim < y_pred.ndim or (y_true.ndim and y_true.shape[-1] == 1 and y_pred.shape[-1] > 1)
        if binary:
            threshold = 0.0 if getattr(loss, "from_logits", False) else 0.5
            return metrics_module.BinaryAccuracy(name=identifier, threshold=threshold)
        if sparse:
            return metrics_module.SparseCategoricalAccuracy(name=identifier)
        return metrics_module.CategoricalAccuracy(name=identifier)
    metric = metrics_module.get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


class CompiledMetrics:
    """Loss trackers plus the compiled metrics of every output, all accumulating on the device."""

    def __init__(self, metrics: Any, weighted_metrics: Any, loss: Any):
        self.spec = metrics
        self.weighted_spec = weighted_metrics
        self.loss_tracker = LossTracker("loss")
        self.part_trackers: list[LossTracker] = []
        self.entries: list[tuple[Any, str, Any, bool]] | None = None  # (output key, log name, metric, weighted)
        self._device: torch.device | None = None
        self.container = CompileMetrics(self)

    def attach(self, model: Any, compiled_loss: "CompiledLoss") -> None:
        """What a custom step's `update_state(y, y_pred)` needs to build the metrics on first use."""
        self.container._model = model
        self.container._compiled_loss = compiled_loss

    def ensure_built(self, y: Any, y_pred: Any, compiled_loss: CompiledLoss, device: torch.device, model: Any) -> None:
        if self.entries is not None:
            if device != self._device:  # the model moved to another device since the metrics were built
                self._device = device
                for metric in self.all_metrics():
                    metric.to(device)
            return
        if compiled_loss.entries is None:
            compiled_loss.build(y_pred, model, y)
        keys, names = _output_keys(y_pred, model)
        multi = len(keys) > 1
        self.part_trackers = [LossTracker(n) for n in compiled_loss.part_names]
        entries = []
        for spec, weighted in ((self.spec, False), (self.weighted_spec, True)):
            if spec is None:
                continue
            for index, (key, name, per_output) in enumerate(zip(keys, names, _per_output(spec, keys, names, "metrics"))):
                if per_output is None:
                    continue
                loss = next((l for k, _, l, _ in compiled_loss.entries if k == key), None)
                for identifier in per_output if isinstance(per_output, (list, tuple)) else [per_output]:
                    metric = resolve_metric(identifier, _select(y, key), _select(y_pred, key), loss)
                    base = _metric_name(metric)
                    log_name = f"{name}_{base}" if multi else base
                    if weighted and any(e[1] == log_name for e in entries):
                        log_name = f"{name}_weighted_{base}" if multi else f"weighted_{base}"
                    if any(e[1] == log_name for e in entries):  # both report, as in Keras: f1_score, f1_score_1
                        log_name = _unique_log_name(log_name, {e[1] for e in entries})
                    entries.append((key, log_name, metric, weighted))
        self._device = device
        for tracker in [self.loss_tracker, *self.part_trackers]:
            tracker.to(device)
        for _, _, metric, _ in entries:
            metric.to(device)
        self.entries = entries

    def reset(self) -> None:
        self.loss_tracker.reset_state()
        for tracker in self.part_trackers:
            tracker.reset_state()
        for _, _, metric, _ in self.entries or []:
            if metrics_module._is_torchmetric(metric):
                metric.reset()
            else:
                metric.reset_state()

    def update(self, loss: torch.Tensor, parts: list | None, batch: Any, y_pred: Any) -> None:
        self.loss_tracker.track(loss, batch.size, batch.real)  # reads a detached loss: no autograd
        if not (self.entries or self.part_trackers):
            return  # the loss alone: no grad-mode switch per step
        with torch.no_grad():
            for tracker, part in zip(self.part_trackers, parts or []):
                tracker.track(part, batch.size, batch.real)
            for key, _, metric, weighted in self.entries:
                y_true, pred = _select(batch.y, key), _select(y_pred, key)
                if isinstance(pred, torch.Tensor) and pred.dtype in (torch.float16, torch.bfloat16):
                    pred = pred.float()
                if metrics_module._is_torchmetric(metric):
                    metric.update(pred, y_true)
                else:
                    metric.update_state(y_true, pred, sample_weight=batch.sample_weight if weighted else batch.mask)

    def all_metrics(self) -> list[Any]:
        return [self.loss_tracker, *self.part_trackers, *(m for _, _, m, _ in self.entries or [])]

    def names(self) -> list[str]:
        return ["loss", *(t.name for t in self.part_trackers), *(n for _, n, _, _ in self.entries or [])]

    def results(self, shard: distributed.Shard) -> dict[str, Any]:
        """Every value as a Python float: one device sync, plus one all-reduce under DDP."""
        if not (shard.active or self.entries or self.part_trackers):
            return {"loss": self.loss_tracker.result().item()}  # the loss alone: one read
        own = [m for m in self.all_metrics() if not metrics_module._is_torchmetric(m)]
        names = self.names()
        metric_of = dict(zip(names, self.all_metrics()))
        saved = None
        if shard.active:
            saved = [([v.clone() for v in m.variables], getattr(m, "count", None)) for m in own]
            counts = [m for m in own if isinstance(m, LossTracker)]
            device = self._device or torch.device("cpu")
            flat = [v for m in own for v in m.variables] + [torch.tensor(float(m.count), device=device) for m in counts]
            reduced = distributed.all_reduce_sum(flat)
            offset = 0
            with torch.no_grad():
                for m in own:
                    for v in m.variables:
                        v.copy_(reduced[offset])
                        offset += 1
                for m in counts:
                    m.count = float(reduced[offset])
                    offset += 1
        try:
            values: dict[str, Any] = {}
            tensors: list[torch.Tensor] = []
            scalar_names: list[str] = []
            for name in names:
                metric = metric_of[name]
                if metrics_module._is_torchmetric(metric):
                    if not shard.active and _distributed_running():
                        continue  # computing it would start a collective that other ranks do not join
                    result = metric.compute()
                else:
                    result = metric.result()
                result = torch.as_tensor(result)
                if result.numel() == 1:
                    scalar_names.append(name)
                    if result.ndim or result.dtype != torch.float32 or result.requires_grad:
                        result = result.detach().float().reshape(())
                    tensors.append(result if self._device is None else result.to(self._device))
                else:
                    values[name] = result.detach().cpu().tolist()
            if len(tensors) == 1:  # the loss alone: one read, no stacking
                values[scalar_names[0]] = tensors[0].item()
            elif tensors:
                values.update(zip(scalar_names, torch.stack(tensors).tolist()))
            return {name: values[name] for name in names if name in values}
        finally:
            if saved is not None:
                with torch.no_grad():
                    for m, (variables, count) in zip(own, saved):
                        for v, s in zip(m.variables, variables):
                            v.copy_(s)
                        if count is not None:
                            m.count = count


def _unique_log_name(name: str, taken: set[str]) -> str:
    index = 1
    while f"{name}_{index}" in taken:
        index += 1
    return f"{name}_{index}"


def _metric_name(metric: Any) -> str:
    """A Keras metric's name; a torchmetrics metric is named after its class (MeanSquaredError -> mean_squared_error)."""
    from ..layers.layer import snake_case

    return getattr(metric, "name", None) or snake_case(type(metric).__name__)


def _distributed_running() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


class CompileMetrics(metrics_module.Metric):
    """Keras's `compile_metrics` entry of `model.metrics`: the compiled metrics as one metric.

    A custom `train_step` calls `update_state(y, y_pred, sample_weight)` on it (the metrics are
    resolved from the shapes on the first call); `result()` is a dict of every metric's value.
    """

    def __init__(self, owner: CompiledMetrics):
        super().__init__(name="compile_metrics")
        self._owner = owner
        self._model: Any = None
        self._compiled_loss: Any = None

    @property
    def metrics(self) -> list[Any]:
        return [m for _, _, m, _ in self._owner.entries or []]

    @property
    def variables(self) -> list[torch.Tensor]:
        return [v for m in self.metrics for v in getattr(m, "variables", [])]

    def to(self, device: Any) -> "CompileMetrics":
        for metric in self.metrics:
            metric.to(device)
        return self

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        owner = self._owner
        if owner.entries is None:
            if self._compiled_loss is None:
                raise ValueError("compile_metrics.update_state needs a compiled model; call model.compile() first.")
            device = next((t.device for t in _tensors(y_pred)), torch.device("cpu"))
            owner.ensure_built(y_true, y_pred, self._compiled_loss, device, self._model)
        with torch.no_grad():
            for key, _, metric, weighted in owner.entries:
                y, pred = _select(y_true, key), _select(y_pred, key)
                if isinstance(pred, torch.Tensor) and pred.dtype in (torch.float16, torch.bfloat16):
                    pred = pred.float()
                if metrics_module._is_torchmetric(metric):
                    metric.update(pred, y)
                else:
                    metric.update_state(y, pred, sample_weight=sample_weight if weighted else None)

    def result(self) -> dict[str, Any]:
        out = {}
        for _, name, metric, _ in self._owner.entries or []:
            out[name] = metric.compute() if metrics_module._is_torchmetric(metric) else metric.result()
        return out

    def reset_state(self) -> None:
        for _, _, metric, _ in self._owner.entries or []:
            if metrics_module._is_torchmetric(metric):
                metric.reset()
            else:
                metric.reset_state()


def _tensors(tree: Any) -> list[torch.Tensor]:
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for v in tree.values() for t in _tensors(v)]
    if isinstance(tree, (list, tuple)):
        return [t for v in tree for t in _tensors(v)]
    return []
