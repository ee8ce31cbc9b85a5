"""Keras-named optimizers over `torch.optim`, with Keras's defaults.

`kt.optimizers.Adam()` can be created before the model has parameters (a lazy layer gets them on
its first call); `compile`/`fit` call `build(parameters)`, which creates the real `torch.optim`
optimizer. Keras's `weight_decay` (decoupled, for every optimizer), `clipnorm`, `clipvalue` and
`global_clipnorm` are applied around torch's step. Any `torch.optim.Optimizer`, or a factory
`params -> Optimizer`, can be passed to `compile` instead.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "get",
    "get_learning_rate", "set_learning_rate",
]

_IGNORED = ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
            "gradient_accumulation_steps", "jit_compile", "mesh", "is_legacy_optimizer")


class Optimizer:
    """Base of the Keras-named optimizers: holds hyperparameters until `build(parameters)`."""

    torch_class: type[torch.optim.Optimizer] | None = None

    def __init__(self, learning_rate: float | Callable[[int], float] = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any):
        unknown = set(kwargs) - set(_IGNORED)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(unknown)}.")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{type(self).__name__}: only one of clipnorm, clipvalue and global_clipnorm can be set, "
                f"received clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}."
            )
        self.name = name or type(self).__name__.lower()
        self._schedule = learning_rate if callable(learning_rate) else None
        self._learning_rate = float(learning_rate(0)) if callable(learning_rate) else float(learning_rate)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.iterations = 0
        self.torch_optimizer: torch.optim.Optimizer | None = None

    # ---------------------------------------------------------------------------- building

    def _torch_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of `torch_class` (learning rate excluded)."""
        return {}

    @property
    def _decouples_decay_itself(self) -> bool:
        return False

    def build(self, parameters: Iterable[torch.Tensor]) -> "Optimizer":
        """Create the torch optimizer over `parameters` (those that require grad)."""
        params = [p for p in parameters if p.requires_grad]
        if not params:
            raise ValueError(
                f"Optimizer {self.name!r} received no trainable parameters; build the model first and make "
                "sure some layers are trainable."
            )
        self.torch_optimizer = self.torch_class(params, lr=self._learning_rate, **self._torch_kwargs())
        return self

    @property
    def built(self) -> bool:
        return self.torch_optimizer is not None

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        self._require_built()
        return self.torch_optimizer.param_groups

    @property
    def state(self) -> Any:
        self._require_built()
        return self.torch_optimizer.state

    def _require_built(self) -> None:
        if self.torch_optimizer is None:
            raise ValueError(
                f"Optimizer {self.name!r} is not built yet; call optimizer.build(model.parameters()) or "
                "model.compile(optimizer=...) and fit()."
            )

    # ---------------------------------------------------------------------------- learning rate

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._schedule = value if callable(value) else None
        self._learning_rate = float(value(self.iterations)) if callable(value) else float(value)
        if self.torch_optimizer is not None:
            for group in self.torch_optimizer.param_groups:
                group["lr"] = self._learning_rate

    lr = learning_rate

    # ------------------------------------------------------------------------------- stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._require_built()
        self.torch_optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure: Callable | None = None) -> Any:
        """Clip gradients, apply decoupled weight decay, then torch's update (no host sync)."""
        self._require_built()
        if self._schedule is not None:
            self.learning_rate = self._schedule  # re-evaluated at the current iteration
        clipping = self.clipvalue is not None or self.clipnorm is not None or self.global_clipnorm is not None
        decaying = bool(self.weight_decay) and not self._decouples_decay_itself
        params = [p for g in self.torch_optimizer.param_groups for p in g["params"] if p.grad is not None] if (
            clipping or decaying) else []
        grads = [p.grad for p in params]
        if grads:
            if self.clipvalue is not None:
                for grad in grads:
                    grad.clamp_(-self.clipvalue, self.clipvalue)
            elif self.clipnorm is not None:  # each gradient scaled to norm <= clipnorm, on the device
                for grad, norm in zip(grads, torch._foreach_norm(grads)):
                    grad.mul_(self.clipnorm / norm.clamp_min(self.clipnorm))
            elif self.global_clipnorm is not None:
                total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
                torch._foreach_mul_(grads, self.global_clipnorm / total.clamp_min(self.global_clipnorm))
            if decaying:
                with torch.no_grad():
                    torch._foreach_mul_(params, 1.0 - self._learning_rate * self.weight_decay)
        result = self.torch_optimizer.step(closure)
        self.iterations += 1
        return result

    # ------------------------------------------------------------------------------ state I/O

    def state_dict(self) -> dict[str, Any]:
        self._require_built()
        return {"torch": self.torch_optimizer.state_dict(), "iterations": self.iterations,
                "learning_rate": self._learning_rate}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._require_built()
        self.torch_optimizer.load_state_dict(state["torch"])
        self.iterations = int(state.get("iterations", 0))
        self._learning_rate = float(state.get("learning_rate", self._learning_rate))

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "learning_rate": self._learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm}

    @classmethod
    def from_config(cls, config_dict: dict[str, Any]) -> "Optimizer":
        return cls(**config_dict)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, learning_rate={self._learning_rate}>"


class SGD(Optimizer):
    torch_class = torch.optim.SGD

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.momentum, self.nesterov = momentum, nesterov

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    torch_class = torch.optim.Adam

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon, "amsgrad": self.amsgrad}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "amsgrad": self.amsgrad}


class AdamW(Adam):
    torch_class = torch.optim.AdamW

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)

    @property
    def _decouples_decay_itself(self) -> bool:
        return True

    def _torch_kwargs(self) -> dict[str, Any]:
        return {**super()._torch_kwargs(), "weight_decay": self.weight_decay or 0.0}


class RMSprop(Optimizer):
    torch_class = torch.optim.RMSprop

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"alpha": self.rho, "momentum": self.momentum, "eps": self.epsilon, "centered": self.centered}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


class Adagrad(Optimizer):
    torch_class = torch.optim.Adagrad

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.initial_accumulator_value, "eps": self.epsilon}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    torch_class = torch.optim.Adadelta

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"rho": self.rho, "eps": self.epsilon}

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Adam):
    torch_class = torch.optim.Adamax

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}


class Nadam(Adamax):
    torch_class = torch.optim.NAdam

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon, "momentum_decay": 1.0}  # Keras: 0.96 ** step


_ALIASES: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
    "adadelta": Adadelta, "adamax": Adamax, "nadam": Nadam,
}


def get(identifier: Any) -> Any:
    """An optimizer from a Keras name, a kt optimizer, a torch optimizer, or a factory `params -> optimizer`."""
    if isinstance(identifier, (Optimizer, torch.optim.Optimizer)):
        return identifier
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer {identifier!r}; expected one of {sorted(_ALIASES)}.")
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Could not interpret optimizer {identifier!r}: expected a name such as 'adam', a kt.optimizers "
        "object, a torch.optim.Optimizer, or a callable taking the parameters."
    )


def get_learning_rate(optimizer: Any) -> float:
    """The current learning rate of a kt or torch optimizer (first parameter group)."""
    if isinstance(optimizer, Optimizer):
        return optimizer.learning_rate
    return float(optimizer.param_groups[0]["lr"])


def set_learning_rate(optimizer: Any, value: float) -> None:
    """Set the learning rate of a kt or torch optimizer (every parameter group)."""
    if isinstance(optimizer, Optimizer):
        optimizer.learning_rate = float(value)
        return
    for group in optimizer.param_groups:
        group["lr"] = float(value)
