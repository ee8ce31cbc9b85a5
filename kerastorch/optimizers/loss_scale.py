"""Keras's LossScaleOptimizer: dynamic loss scaling around another optimizer (for float16 training).

`fit` multiplies the loss by `scale_loss` before the backward pass; `step` divides the gradients
back and checks them with torch's fused AMP kernels. Finite gradients reach the inner optimizer and
count towards doubling the scale every `dynamic_growth_steps` steps; a non-finite one skips the
update and halves the scale, as in Keras. Deciding to skip reads one flag from the device per step
(as `torch.amp.GradScaler` does); the scale itself is updated on the device.
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

from .optimizer import Optimizer

# Base arguments Keras's older files still write for this wrapper; accepted only at their defaults.
_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                  "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}


def _inner(optimizer: Any, owner: str) -> Optimizer:
    """An inner optimizer given as an object, a name or a Keras config."""
    from . import get

    if isinstance(optimizer, (str, dict)):
        optimizer = get(optimizer)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected a kt.optimizers.Optimizer (or its name or config), received "
                        f"{type(optimizer).__name__}; wrap torch optimizers yourself or use a kt optimizer.")
    return optimizer


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around `inner_optimizer`, as Keras's `LossScaleOptimizer`.

    Args:
        inner_optimizer: the kt optimizer that applies the unscaled gradients (its own
            `loss_scale_factor` is turned off).
        initial_scale: the starting loss scale (2**15).
        dynamic_growth_steps: finite steps in a row after which the scale doubles (2000).
        name: the optimizer's name ("loss_scale_optimizer").
        **kwargs: `dynamic=True` and the base arguments at their defaults are accepted (older Keras
            files write them); anything else raises `ValueError`, as in Keras.
    """

    def __init__(self, inner_optimizer: Any, initial_scale: float = 2.0 ** 15, dynamic_growth_steps: int = 2000,
                 name: str | None = None, **kwargs: Any):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer: dynamic=False is not supported (as in Keras); set "
                             "loss_scale_factor on the inner optimizer for a fixed scale.")
        for key, default in _BASE_DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(f"LossScaleOptimizer does not support {key}; set {key} on the inner optimizer.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments {sorted(kwargs)}.")
        if not initial_scale > 0:
            raise ValueError(f"LossScaleOptimizer: initial_scale must be > 0, received {initial_scale!r}.")
        if not (isinstance(dynamic_growth_steps, int) and dynamic_growth_steps >= 1):
            raise ValueError("LossScaleOptimizer: dynamic_growth_steps must be an integer >= 1, received "
                             f"{dynamic_growth_steps!r}.")
        super().__init__(0.0, name=name or "loss_scale_optimizer")
        self.inner_optimizer = _inner(inner_optimizer, "LossScaleOptimizer")
        self.inner_optimizer.loss_scale_factor = None  # the gradients are unscaled here, once
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        self._scale = torch.tensor(float(initial_scale))
        self._step_counter = torch.zeros((), dtype=torch.int32)

    def build(self, variables: Iterable[Any]) -> "LossScaleOptimizer":
        """Build the inner optimizer over `variables`; the scale lives on their device."""
        inner = self.inner_optimizer
        if not inner.built:
            inner.build(variables)
        self.torch_optimizer = _ScaledState(self)
        self._params, self._known = inner._params, inner._known
        device = self._params[0].device
        self._scale = torch.tensor(float(self.initial_scale), device=device)
        self._step_counter = torch.zeros((), dtype=torch.int32, device=device)
        self._built = True
        return self

    @property
    def built(self) -> bool:
        return self.__dict__.get("_built", False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.inner_optimizer.zero_grad(set_to_none)

    @property
    def dynamic_scale(self) -> torch.Tensor:
        """The current loss scale (a float32 device scalar)."""
        return self._scale

    @property
    def step_counter(self) -> torch.Tensor:
        """Finite steps since the scale last changed."""
        return self._step_counter

    @property
    def _scales_loss(self) -> bool:
        return True

    def scale_loss(self, loss: Any) -> Any:
        return loss * (self._scale if self.built else self.initial_scale)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """Unscale the gradients; update through the inner optimizer unless one is not finite."""
        self._require_built()
        grads = [p.grad for p in self._params if p.grad is not None]
        found_inf = torch.zeros(1, device=self._scale.device)
        if grads:
            torch._amp_foreach_non_finite_check_and_unscale_(grads, found_inf, self._scale.reciprocal())
        skip = bool(found_inf.item())
        torch._amp_update_scale_(self._scale, self._step_counter, found_inf, 2.0, 0.5, self.dynamic_growth_steps)
        return None if skip else self.inner_optimizer.step(closure)

    @property
    def variables(self) -> list[torch.Tensor]:
        """Keras's list: own `iteration` and `learning_rate`, `step_counter`, `dynamic_scale`, then the inner's."""
        own = [self._iteration_variable, self._lr_variable]
        return own + ([self._step_counter, self._scale] + self.inner_optimizer.variables if self.built else [])

    @property
    def learning_rate(self) -> float:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    @property
    def iterations(self) -> torch.Tensor:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value: Any) -> None:
        self.inner_optimizer.iterations = value

    def finalize_variable_values(self, variables: Iterable[Any] | None = None) -> None:
        self.inner_optimizer.finalize_variable_values(variables)

    def state_dict(self) -> dict[str, Any]:
        return {"inner": self.inner_optimizer.state_dict(), "dynamic_scale": self._scale.clone(),
                "step_counter": self._step_counter.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.inner_optimizer.load_state_dict(state["inner"])
        self._scale.copy_(state["dynamic_scale"])
        self._step_counter.copy_(state["step_counter"])

    def get_config(self) -> dict[str, Any]:
        from . import serialize

        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "LossScaleOptimizer":
        from . import deserialize

        config = dict(config)
        inner = config.pop("inner_optimizer")
        return cls(deserialize(inner, custom_objects) if isinstance(inner, dict) else inner, **config)

    def __repr__(self) -> str:
        return f"<LossScaleOptimizer name={self.name}, inner={self.inner_optimizer!r}>"


class _ScaledState:
    """The inner optimizer's torch state with the loss scale and its counter added to the first
    parameter group, so training checkpoints save and restore them like any torch optimizer."""

    def __init__(self, owner: LossScaleOptimizer):
        self.owner = owner

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.owner.inner_optimizer.torch_optimizer.param_groups

    @property
    def state(self) -> Any:
        return self.owner.inner_optimizer.torch_optimizer.state

    def state_dict(self) -> dict[str, Any]:
        state = self.owner.inner_optimizer.torch_optimizer.state_dict()
        groups = [dict(group) for group in state["param_groups"]]
        groups[0]["loss_scale"] = float(self.owner._scale)
        groups[0]["loss_scale_steps"] = int(self.owner._step_counter)
        return {**state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = [dict(group) for group in state_dict["param_groups"]]
        scale, steps = groups[0].pop("loss_scale", None), groups[0].pop("loss_scale_steps", None)
        self.owner.inner_optimizer.torch_optimizer.load_state_dict({**state_dict, "param_groups": groups})
        if scale is not None:
            self.owner._scale.fill_(scale)
            self.owner._step_counter.fill_(int(steps))
