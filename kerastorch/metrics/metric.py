"""The Metric base class: state tensors that only ever accumulate on the device.

A metric's state is a few tensors (totals, counts, confusion counts) updated in place without
host syncs, so `update_state` never waits for the device, and distributed training combines ranks
with one all-reduce (sum) of each state tensor. `result()` returns a tensor; the progress bar turns
it into a float only when it redraws.
"""

from __future__ import annotations

from typing import Any

import torch

from .. import config


def metric_dtype(dtype: Any) -> str:
    """Keras's compute dtype name for a metric's `dtype` argument (None -> floatx)."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, dict):  # a serialized dtype policy ({"class_name": "DTypePolicy", "config": {"name": ...}})
        dtype = (dtype.get("config") or {}).get("name", dtype)
    dtype = getattr(dtype, "compute_dtype", dtype)  # a dtype policy
    if isinstance(dtype, str):
        if dtype.startswith("mixed_"):
            return dtype.removeprefix("mixed_")
        if dtype in ("int", "float"):
            return f"{dtype}32"
    return config.dtype_name(config.standardize_dtype(dtype))


class Metric:
    """Base class: create state with `add_variable`, implement `update_state` and `result`.

    Args:
        name: the metric's name; by default the snake_case class name, numbered like Keras
            (`precision`, `precision_1`, ...).
        dtype: the dtype of the metric's computations and float state (default: floatx).
    """

    def __init__(self, name: str | None = None, dtype: Any = None):
        from ..layers.layer import snake_case, unique_name

        self.name = name or unique_name(snake_case(type(self).__name__))
        self._dtype = metric_dtype(dtype)
        self._variables: list[torch.Tensor] = []
        self._initial: list[torch.Tensor] = []
        self._device: torch.device | None = None

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def _torch_dtype(self) -> torch.dtype:
        return getattr(torch, self._dtype)

    @property
    def device(self) -> torch.device:
        """Where the state lives (set by `to()`, else where the first state tensor was made)."""
        if self._device is not None:
            return self._device
        return self._variables[0].device if self._variables else torch.device("cpu")

    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> torch.Tensor:
        """A state tensor, reset to its initial value by `reset_state()`.

        It is a non-trainable `kt.Variable`, so Keras metric code can `assign`/`assign_add` it.
        `aggregation` must be "sum": distributed training sums every state tensor across ranks.
        """
        if aggregation != "sum":
            raise NotImplementedError(
                f"Metric {self.name!r}: add_variable(aggregation={aggregation!r}) is not supported; state "
                "tensors are summed across ranks, so use aggregation='sum' (the default)."
            )
        with torch.inference_mode(False):  # lazily built state (made during evaluate) stays updatable
            return self._new_variable(shape, initializer, dtype, name)

    def _new_variable(self, shape: Any, initializer: Any, dtype: Any, name: str | None) -> torch.Tensor:
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,) if isinstance(shape, int) else ()
        dtype = config.standardize_dtype(dtype) if dtype is not None else config.standardize_dtype(None)
        device = self.device
        if initializer in ("zeros", None):
            value = torch.zeros(shape, dtype=dtype, device=device)
        elif initializer == "ones":
            value = torch.ones(shape, dtype=dtype, device=device)
        elif isinstance(initializer, (int, float, list, tuple, torch.Tensor)):
            value = torch.as_tensor(initializer, dtype=dtype, device=device).expand(shape).clone()
        else:
            from .. import initializers

            value = initializers.get(initializer)(shape, dtype=dtype).to(device)
        from ..variables import as_variable, name_weight

        value = as_variable(value, trainable=False)
        name = name or ("variable" if not self._variables else f"variable_{len(self._variables)}")
        name_weight(value, name, f"{self.name}/{name}")
        self._variables.append(value)
        self._initial.append(value.clone())
        return value

    def add_weight(self, shape: Any = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None) -> torch.Tensor:
        """Keras's older name for `add_variable`."""
        return self.add_variable(shape, initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[torch.Tensor]:
        """The state tensors, then those of metrics held as attributes (Keras tracks those too)."""
        return list(self._variables) + [v for metric in self._submetrics() for v in metric.variables]

    def _submetrics(self) -> list["Metric"]:
        return [value for key, value in vars(self).items() if isinstance(value, Metric)]

    def to(self, device: torch.device | str) -> "Metric":
        """Move the state to `device` (the trainer does this once, before the first step)."""
        device = torch.device(device)
        self._device = device
        if self._variables and self._variables[0].device != device:
            with torch.inference_mode(False):
                self._move(device)
        for metric in self._submetrics():
            metric.to(device)
        return self

    def _follow(self, value: Any) -> None:
        """Standalone use: state not placed with `to()` moves to the device of the tensors it is
        updated with (once), so a metric fed CUDA tensors accumulates on the GPU, as Keras's would."""
        if self._device is None and isinstance(value, torch.Tensor) and value.device != self.device:
            self.to(value.device)

    def _move(self, device: torch.device) -> None:
        from ..variables import rewrap_state

        for index, value in enumerate(self._variables):
            moved = rewrap_state(value, value.to(device))
            for name, attribute in list(vars(self).items()):
                if attribute is value:
                    setattr(self, name, moved)
            self._variables[index] = moved
            self._initial[index] = self._initial[index].to(device)

    def reset_state(self) -> None:
        with torch.no_grad():
            for value, initial in zip(self._variables, self._initial):
                value.copy_(initial)
        for metric in self._submetrics():
            metric.reset_state()

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"Metric {self.name!r} ({type(self).__name__}) must implement update_state().")

    def result(self) -> torch.Tensor:
        raise NotImplementedError(f"Metric {self.name!r} ({type(self).__name__}) must implement result().")

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def stateless_update_state(self, metric_variables: list[Any], *args: Any, **kwargs: Any) -> list[torch.Tensor]:
        """Keras's functional update: the state `update_state(*args)` would give starting from
        `metric_variables` (one per `variables` entry); the metric's own state is left as it was."""
        saved = self._swap_in(metric_variables)
        try:
            self.update_state(*args, **kwargs)
            return [value.clone() for value in self.variables]
        finally:
            self._swap_in(saved)

    def stateless_result(self, metric_variables: list[Any]) -> Any:
        """Keras's functional result: `result()` of the state `metric_variables`."""
        saved = self._swap_in(metric_variables)
        try:
            result = self.result()
            return result.clone() if isinstance(result, torch.Tensor) else result
        finally:
            self._swap_in(saved)

    def stateless_reset_state(self) -> list[torch.Tensor]:
        """Keras's functional reset: fresh state values, the metric's own state untouched."""
        return [initial.clone() for initial in self._initial] + [
            value for metric in self._submetrics() for value in metric.stateless_reset_state()]

    def _swap_in(self, values: list[Any]) -> list[torch.Tensor]:
        variables = self.variables
        if len(values) != len(variables):
            raise ValueError(
                f"Metric {self.name!r}: metric_variables must hold one tensor per variable ({len(variables)}), "
                f"received {len(values)}; pass a list like metric.variables."
            )
        saved = [value.clone() for value in variables]
        with torch.no_grad():
            for value, given in zip(variables, values):
                value.copy_(torch.as_tensor(given))
        return saved

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "Metric":
        return cls(**config_dict)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def as_input(value: Any, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    """An update's argument as a tensor on the state's device (no copy when it is already there)."""
    value = torch.as_tensor(value)
    return value.to(device=device, dtype=dtype) if dtype is not None else value.to(device)


def divide_no_nan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a / b, and 0 where b is 0 (Keras's `divide_no_nan`)."""
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)), torch.zeros_like(a))
