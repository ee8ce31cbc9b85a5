"""Keras's ScheduleFreeAdamW (Defazio et al., 2024): no learning-rate schedule needed.

Each weight keeps a `momentum` sequence `z` (where Adam-scaled gradient steps land); the model's
weight `y` is an interpolation `(1 - beta_1) z + beta_1 x` with `x` the running uniform average of
`z`. `x` is not stored: it is recovered from `y` and the previous `z` each step, as Keras does. (Keras's
stateful path on its torch backend reads `z` after updating it in place, an alias of the new value;
kerastorch follows Keras's algorithm as its stateless path and its JAX/TensorFlow backends run it.)
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

    def update_all(self, step: int) -> None:
        t = step
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad.to(p.dtype) for p in params]
            lr, beta_1, beta_2 = group["lr"], group["beta_1"], group["beta_2"]
            if group["warmup_steps"] > 0:
                lr = lr * min(t / group["warmup_steps"], 1.0)
            zs = [self.state[p]["momentum"] for p in params]
            vs = [self.state[p]["velocity"] for p in params]
            xs = torch._foreach_mul(zs, beta_1 - 1)  # the average, from y and the z before this step
            torch._foreach_add_(xs, params)
            torch._foreach_div_(xs, beta_1)
            torch._foreach_lerp_(vs, torch._foreach_mul(grads, grads), 1 - beta_2)
            denominators = torch._foreach_div(vs, 1 - beta_2 ** t)
            torch._foreach_sqrt_(denominators)
            torch._foreach_add_(denominators, group["epsilon"])
            torch._foreach_addcdiv_(zs, grads, denominators, value=-lr)
            torch._foreach_lerp_(xs, zs, 1.0 / t)  # the average takes in the new z
            torch._foreach_lerp_(xs, zs, 1 - beta_1)  # y = (1 - beta_1) z + beta_1 x
            torch._foreach_copy_(params, xs)


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
