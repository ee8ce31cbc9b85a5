"""Keras's Muon: orthogonalised momentum for matrices, Adam for everything else.

Each 2-D weight is updated with its (Nesterov) momentum pushed through a few Newton–Schulz
iterations, which approximately replaces the matrix by the nearest semi-orthogonal one; weights of
another rank, embeddings (when `exclude_embeddings`) and weights whose path matches one of
`exclude_layers` get an Adam update instead. The split is decided once, when the optimizer is built,
into two torch parameter groups.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import torch

from .algorithms import _Rule
from .optimizer import Optimizer, SlotGroups


def newton_schulz(x: torch.Tensor, steps: int, a: float, b: float, c: float) -> torch.Tensor:
    """Keras's quintic Newton–Schulz iteration towards the orthogonal factor of the matrix `x`."""
    tall = x.shape[-2] > x.shape[-1]
    if tall:  # iterate on the wide side: the Gram matrix is the smaller one
        x = x.mT
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
    for _ in range(steps):
        gram = x @ x.mT
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.mT if tall else x


class TorchMuon(_Rule):
    """Muon as a torch optimizer: group `adam=False` takes the Muon step, `adam=True` the Adam step;
    `decay` is each group's decoupled weight decay (applied with the main learning rate, as Keras)."""

    def __init__(self, params: Any, lr: float, use_adam: Callable[[torch.Tensor], bool], weight_decay: Any,
                 adam_weight_decay: Any, **defaults: Any):
        params = list(params)
        groups = [{"params": [p for p in params if use_adam(p) is adam], "adam": adam,
                   "decay": adam_weight_decay if adam else weight_decay} for adam in (False, True)]
        super().__init__([g for g in groups if g["params"]], lr, **defaults)

    def initial_state(self, param, group):
        state = {"momentum": torch.zeros_like(param)}
        if group["adam"]:
            state["velocity"] = torch.zeros_like(param)
        return state

    def update_all(self, step: int) -> None:
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad.to(p.dtype) for p in params]
            if group["decay"]:
                torch._foreach_mul_(params, 1.0 - group["lr"] * group["decay"])
            momenta = [self.state[p]["momentum"] for p in params]
            if group["adam"]:
                self._adam_step(params, grads, momenta, [self.state[p]["velocity"] for p in params], group)
            else:
                self._muon_step(params, grads, momenta, group)

    def _adam_step(self, params: list, grads: list, momenta: list, velocities: list, group: dict) -> None:
        beta_1, beta_2, t = group["adam_beta_1"], group["adam_beta_2"], self.updates
        alpha = group["lr"] * group["adam_lr_ratio"] * (1 - beta_2 ** t) ** 0.5 / (1 - beta_1 ** t)
        torch._foreach_lerp_(momenta, grads, 1 - beta_1)
        torch._foreach_lerp_(velocities, torch._foreach_mul(grads, grads), 1 - beta_2)
        denominators = torch._foreach_sqrt(velocities)
        torch._foreach_add_(denominators, group["epsilon"])
        torch._foreach_addcdiv_(params, momenta, denominators, value=-alpha)

    def _muon_step(self, params: list, grads: list, momenta: list, group: dict) -> None:
        momentum = group["momentum"]
        torch._foreach_mul_(momenta, momentum)
        torch._foreach_add_(momenta, grads)
        directions = torch._foreach_add(grads, momenta, alpha=momentum) if group["nesterov"] else momenta
        by_shape: dict[tuple, list[int]] = {}
        for index, param in enumerate(params):
            by_shape.setdefault(tuple(param.shape), []).append(index)
        for shape, indices in by_shape.items():  # one batched iteration per weight shape
            stacked = torch.stack([directions[i] for i in indices])
            updates = newton_schulz(stacked, group["ns_steps"], group["muon_a"], group["muon_b"], group["muon_c"])
            scale = group["lr"]
            if group["rms_rate"] is not None:  # Moonlight's scaling: Adam-like update RMS for any shape
                scale *= max(shape) ** 0.5 * group["rms_rate"]
            torch._foreach_add_([params[i] for i in indices], list(updates.unbind(0)), alpha=-scale)


class Muon(Optimizer):
    """Keras's Muon optimizer (Newton–Schulz orthogonalised momentum for 2-D weights, Adam for the rest).

    Args:
        learning_rate: float, schedule or callable; the learning rate (default 0.001).
        adam_beta_1, adam_beta_2: Adam's moment decay rates (0.9, 0.999) for the Adam-updated weights.
        adam_weight_decay: decoupled weight decay of the Adam-updated weights (0.004; None for none).
        epsilon: Adam's epsilon (1e-7).
        weight_decay: decoupled weight decay of the Muon-updated weights (0.004; None for none).
        exclude_layers: regular expressions; a weight whose path matches one (`re.search`) uses Adam.
        exclude_embeddings: whether weights with "embedding" in their path use Adam (True).
        muon_a, muon_b, muon_c: coefficients of the Newton–Schulz polynomial (3.4445, -4.7750, 2.0315).
        adam_lr_ratio: the Adam weights' learning rate as a multiple of `learning_rate` (1).
        momentum: momentum of the Muon weights (0.95).
        ns_steps: Newton–Schulz iterations (5).
        nesterov: Nesterov momentum for the Muon weights (True).
        rms_rate: scale updates by `sqrt(max(rows, cols)) * rms_rate` (0.2); None turns it off.
        **kwargs: the common optimizer arguments (`clipnorm`, `use_ema`, `name`, ...).
    """

    torch_class = TorchMuon

    def __init__(self, learning_rate: Any = 0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float | None = 0.004, epsilon: float = 1e-7, weight_decay: float | None = 0.004,
                 exclude_layers: list[str] | None = None, exclude_embeddings: bool = True, muon_a: float = 3.4445,
                 muon_b: float = -4.7750, muon_c: float = 2.0315, adam_lr_ratio: float = 1, momentum: float = 0.95,
                 ns_steps: int = 5, nesterov: bool = True, rms_rate: float | None = 0.2, **kwargs: Any):
        super().__init__(learning_rate, weight_decay=weight_decay, **kwargs)
        if not isinstance(ns_steps, int) or ns_steps < 0:
            raise ValueError(f"Muon: ns_steps must be an integer >= 0, received ns_steps={ns_steps!r}.")
        if isinstance(exclude_layers, str):
            raise TypeError(f"Muon: exclude_layers must be a list of patterns, received the string "
                            f"{exclude_layers!r}; pass [{exclude_layers!r}].")
        self.adam_beta_1, self.adam_beta_2, self.epsilon = adam_beta_1, adam_beta_2, epsilon
        self.adam_weight_decay = adam_weight_decay
        self.exclude_layers = list(exclude_layers or [])
        self.exclude_embeddings = exclude_embeddings
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.adam_lr_ratio, self.momentum, self.ns_steps = adam_lr_ratio, momentum, ns_steps
        self.nesterov, self.rms_rate = nesterov, rms_rate

    def uses_adam(self, variable: Any) -> bool:
        """Whether `variable` gets the Adam step: not 2-D, an embedding, or matched by `exclude_layers`."""
        if variable.ndim != 2:
            return True
        path = str(getattr(variable, "path", None) or "")
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    @property
    def _decouples_decay_itself(self) -> bool:
        return True  # per group: `weight_decay` for Muon weights, `adam_weight_decay` for Adam ones

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"use_adam": self.uses_adam, "weight_decay": self.weight_decay,
                "adam_weight_decay": self.adam_weight_decay, "adam_beta_1": self.adam_beta_1,
                "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "rms_rate": self.rms_rate}

    def _slot_groups(self) -> SlotGroups:
        return [[("momentum", "momentum"), ("velocity", "velocity")]]  # velocity: Adam weights only

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2,
                "epsilon": self.epsilon, "exclude_layers": self.exclude_layers, "muon_a": self.muon_a,
                "muon_b": self.muon_b, "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio,
                "momentum": self.momentum, "ns_steps": self.ns_steps, "nesterov": self.nesterov,
                "exclude_embeddings": self.exclude_embeddings, "adam_weight_decay": self.adam_weight_decay,
                "rms_rate": self.rms_rate}
