"""Keras's Lion, Lamb, Ftrl and Adafactor as `torch.optim.Optimizer`s, with Keras's update rules.

torch has no Lion, Lamb or Ftrl; its `Adafactor` follows a different variant (no update clipping,
other defaults), so all four are written here, each a plain per-parameter torch update under
`no_grad`, with the state created when the optimizer is (Keras builds its slots up front too).
"""

from __future__ import annotations

from typing import Any

import torch

from .optimizer import Optimizer, SlotGroups


class _Rule(torch.optim.Optimizer):
    """A torch optimizer that runs `update(param, grad, state, lr, step)` for every parameter."""

    def __init__(self, params: Any, lr: float, **defaults: Any):
        super().__init__(params, {"lr": lr, **defaults})
        self.updates = 0
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param].update(self.initial_state(param, group))

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def update(self, param: torch.Tensor, grad: torch.Tensor, state: dict, group: dict, step: int) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self.updates += 1
        self.update_all(self.updates)
        return loss

    def update_all(self, step: int) -> None:
        """Update every parameter that has a gradient (one at a time; rules over whole groups override this)."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self.update(param, param.grad.to(param.dtype), self.state[param], group, step)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["updates"] = self.updates
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        self.updates = int(state_dict.pop("updates", 0))
        super().load_state_dict(state_dict)


class TorchLion(_Rule):
    def initial_state(self, param, group):
        return {"momentum": torch.zeros_like(param)}

    def update(self, param, grad, state, group, step):
        m, beta_1, beta_2 = state["momentum"], group["beta_1"], group["beta_2"]
        param.sub_(torch.sign(m * beta_1 + grad * (1.0 - beta_1)), alpha=group["lr"])
        m.mul_(beta_2).add_(grad, alpha=1.0 - beta_2)


class TorchLamb(_Rule):
    def initial_state(self, param, group):
        return {"momentum": torch.zeros_like(param), "velocity": torch.zeros_like(param)}

    def update(self, param, grad, state, group, step):
        m, v, beta_1, beta_2 = state["momentum"], state["velocity"], group["beta_1"], group["beta_2"]
        m.add_((grad - m) * (1 - beta_1))
        v.add_((grad * grad - v) * (1 - beta_2))
        update = (m / (1.0 - beta_1 ** step)) / (torch.sqrt(v / (1.0 - beta_2 ** step)) + group["epsilon"])
        w_norm, g_norm = torch.linalg.vector_norm(param), torch.linalg.vector_norm(update)
        one = torch.ones((), dtype=param.dtype, device=param.device)
        ratio = torch.where(w_norm > 0, torch.where(g_norm > 0, w_norm / g_norm, one), one)
        param.sub_(ratio * group["lr"] * update)


class TorchFtrl(_Rule):
    def initial_state(self, param, group):
        return {"accumulator": torch.full_like(param, group["initial_accumulator_value"]),
                "linear": torch.zeros_like(param)}

    def update(self, param, grad, state, group, step):
        accum, linear, lr = state["accumulator"], state["linear"], group["lr"]
        power = group["learning_rate_power"]
        l1 = group["l1_regularization_strength"]
        l2 = group["l2_regularization_strength"] + group["beta"] / (2.0 * lr)
        grad_to_use = grad + 2 * group["l2_shrinkage_regularization_strength"] * param
        new_accum = accum + grad * grad
        linear.add_(grad_to_use - (new_accum.pow(-power) - accum.pow(-power)) / lr * param)
        quadratic = new_accum.pow(-power) / lr + 2 * l2
        param.copy_((linear.clamp(-l1, l1) - linear) / quadratic)
        accum.copy_(new_accum)


class TorchAdafactor(_Rule):
    def initial_state(self, param, group):
        if param.ndim < 2:  # Keras keeps (unused) scalar factors for vectors too
            return {"r": param.new_zeros(()), "c": param.new_zeros(()), "velocity": torch.zeros_like(param)}
        return {"r": param.new_zeros(param.shape[:-1]), "c": param.new_zeros(param.shape[:-2] + param.shape[-1:]),
                "velocity": torch.zeros_like(param)}

    def update(self, param, grad, state, group, step):
        lr = group["lr"]
        if group["relative_step"] and not group["scheduled"]:
            lr = min(lr, 1 / step ** 0.5)
        rho = min(lr, 1 / step ** 0.5)
        alpha = torch.clamp_min(_rms(param), group["epsilon_2"]) * rho
        squared = grad * grad + group["epsilon_1"]
        beta_2 = 1 - step ** group["beta_2_decay"]
        v = state["velocity"]
        if param.ndim >= 2:
            r, c = state["r"], state["c"]
            r.mul_(beta_2).add_(squared.mean(dim=-1), alpha=1 - beta_2)
            c.mul_(beta_2).add_(squared.mean(dim=-2), alpha=1 - beta_2)
            v.copy_((r / r.mean(dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
        else:
            v.mul_(beta_2).add_(squared, alpha=1 - beta_2)
        u = grad / torch.sqrt(v)
        u = u / torch.clamp_min(_rms(u) / group["clip_threshold"], 1.0)
        param.sub_(alpha * u)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.mean(x * x))


class Lion(Optimizer):
    """Keras's Lion: sign of an interpolated momentum, `learning_rate=0.001, beta_1=0.9, beta_2=0.99`."""

    torch_class = TorchLion

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= beta_1 <= 1:
            raise ValueError(f"Lion: beta_1 must be in [0, 1], received beta_1={beta_1}.")
        self.beta_1, self.beta_2 = beta_1, beta_2

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}

    def _slot_groups(self) -> SlotGroups:
        return [[("momentum", "momentum")]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


class Lamb(Optimizer):
    """Keras's Lamb: Adam's direction scaled per weight by the trust ratio `|w| / |update|`."""

    torch_class = TorchLamb

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _slot_groups(self) -> SlotGroups:
        return [[("momentum", "momentum"), ("velocity", "velocity")]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class Ftrl(Optimizer):
    """Keras's FTRL-Proximal, with its L1/L2/shrinkage regularization and `beta`."""

    torch_class = TorchFtrl

    def __init__(self, learning_rate: Any = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        for name, value in (("initial_accumulator_value", initial_accumulator_value),
                            ("l1_regularization_strength", l1_regularization_strength),
                            ("l2_regularization_strength", l2_regularization_strength),
                            ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if value < 0:
                raise ValueError(f"Ftrl: {name} must be >= 0, received {name}={value}.")
        if learning_rate_power > 0:
            raise ValueError(f"Ftrl: learning_rate_power must be <= 0, received {learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _torch_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.get_config().items() if k in _FTRL_KEYS}

    def _slot_groups(self) -> SlotGroups:
        return [[("accumulator", "accumulator"), ("linear", "linear")]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength, "beta": self.beta}


_FTRL_KEYS = ("learning_rate_power", "initial_accumulator_value", "l1_regularization_strength",
              "l2_regularization_strength", "l2_shrinkage_regularization_strength", "beta")


class Adafactor(Optimizer):
    """Keras's Adafactor: factored second moments for matrices, relative step size, update clipping."""

    torch_class = TorchAdafactor

    def __init__(self, learning_rate: Any = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay, self.epsilon_1, self.epsilon_2 = beta_2_decay, epsilon_1, epsilon_2
        self.clip_threshold, self.relative_step = clip_threshold, relative_step

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step,
                "scheduled": self._schedule is not None}

    def _slot_groups(self) -> SlotGroups:
        return [[("r", "r"), ("c", "c"), ("velocity", "velocity")]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
