"""Keras's ScheduleFreeAdamW (Defazio et al., 2024): no learning-rate schedule needed.

Each weight keeps a `momentum` sequence `z` (where Adam-scaled gradient steps land); the model's
weight `y` is an interpolation `(1 - beta_1) z + beta_1 x` with `x` the running uniform average of
`z`. `x` is not stored: it is recovered from `y` and the previous `z` each step, as Keras does.
Keras 3.15 wires no train/eval weight swap into `fit`/`evaluate`, so neither does kerastorch: the
model is evaluated at `y`.
"""

from __future__ import annotations

from typing import Any

import torch

from .algorithms import _Rule
from .optimizer import Optimizer, SlotGroups


class TorchScheduleFreeAdamW(_Rule):
    def initial_state(self, param, group):
        return {"momentum": param.detach().clone(), "velocity": torch.zeros_like(param)}

    def update(self, param, grad, state, group, step):
        lr, beta_1, beta_2 = group["lr"], group["beta_1"], group["beta_2"]
        if group["warmup_steps"] > 0:
            lr = lr * min(step / group["warmup_steps"], 1.0)
        z, v = state["momentum"], state["velocity"]
        x = (param - (1 - beta_1) * z) / beta_1  # the average, from y and the z before this step
        v.lerp_(grad * grad, 1 - beta_2)
        z.sub_(lr * grad / ((v / (1 - beta_2 ** step)).sqrt() + group["epsilon"]))
        x.lerp_(z, 1.0 / step)
        param.copy_((1 - beta_1) * z + beta_1 * x)


class ScheduleFreeAdamW(Optimizer):
    """Keras's Schedule-Free AdamW: interpolation and averaging instead of a decaying learning rate.

    Args:
        learning_rate: float, schedule or callable (default 0.0025).
        beta_1: first-moment rate, also the interpolation between the average and `momentum` (0.9).
        beta_2: second-moment decay rate (0.999).
        epsilon: added to the denominator for stability (1e-8).
        warmup_steps: the learning rate rises linearly from 0 over this many steps (0: no warmup).
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `use_ema`, `name`, ...).
    """

    torch_class = TorchScheduleFreeAdamW

    def __init__(self, learning_rate: Any = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate, name=name or "schedule_free_adam_w", **kwargs)
        if not 0 < beta_1 <= 1:
            raise ValueError(f"ScheduleFreeAdamW: beta_1 must be in (0, 1], received beta_1={beta_1}.")
        if warmup_steps < 0:
            raise ValueError(f"ScheduleFreeAdamW: warmup_steps must be >= 0, received warmup_steps={warmup_steps}.")
        self.beta_1, self.beta_2, self.epsilon, self.warmup_steps = beta_1, beta_2, epsilon, warmup_steps

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}

    def _slot_groups(self) -> SlotGroups:
        return [[("momentum", "momentum"), ("velocity", "velocity")]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "warmup_steps": self.warmup_steps}
