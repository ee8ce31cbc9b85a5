"""Keras-named optimizers over `torch.optim`, with Keras's defaults and Keras's optimizer API.

`kt.optimizers.Adam()` can be created before the model has parameters (a lazy layer gets them on
its first call); `compile`/`fit` call `build(parameters)`, which creates the real `torch.optim`
optimizer and its slots. Keras's `weight_decay` (decoupled, for every optimizer), `clipnorm`,
`clipvalue`, `global_clipnorm`, `loss_scale_factor`, `gradient_accumulation_steps` and EMA
(`use_ema`) are applied around torch's step. Keras's surface is there too: `apply(grads, variables)`,
`apply_gradients(pairs)`, `iterations`, a settable `learning_rate` (a float, a schedule or a
callable) and `variables` (Keras's list: `iteration`, `learning_rate`, then the slots in Keras's
order; the slots are torch's own state tensors). Any `torch.optim.Optimizer`, or a factory
`params -> Optimizer`, can be passed to `compile` instead.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable, Sequence

import torch

from . import schedules as schedules_module

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
]

# Groups of (Keras slot name, torch state key): within a group Keras interleaves the slots per weight.
SlotGroups = list[list[tuple[str, str]]]


def _as_parameter(variable: Any) -> torch.Tensor:
    """The torch tensor behind a weight (a parameter, or anything whose `.value` is one)."""
    if isinstance(variable, torch.Tensor):
        return variable
    value = getattr(variable, "value", None)
    if isinstance(value, torch.Tensor):
        return value
    raise TypeError(f"Optimizers update torch tensors (model weights), received {type(variable).__name__}.")


class Optimizer:
    """Base of the Keras-named optimizers: holds hyperparameters until `build(parameters)`."""

    torch_class: type[torch.optim.Optimizer] | None = None

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(kwargs)}.")
        if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                f"{type(self).__name__}: only one of clipnorm, clipvalue and global_clipnorm can be set, "
                f"received clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}."
            )
        if gradient_accumulation_steps is not None and not (
                isinstance(gradient_accumulation_steps, int) and gradient_accumulation_steps >= 2):
            raise ValueError(f"{type(self).__name__}: gradient_accumulation_steps must be an integer >= 2, "
                             f"received {gradient_accumulation_steps!r}.")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(f"{type(self).__name__}: ema_momentum must be in [0, 1], received {ema_momentum}.")
            if ema_overwrite_frequency is not None and not (
                    isinstance(ema_overwrite_frequency, int) and ema_overwrite_frequency >= 1):
                raise ValueError(f"{type(self).__name__}: ema_overwrite_frequency must be an integer >= 1 or None, "
                                 f"received {ema_overwrite_frequency!r}.")
        if loss_scale_factor is not None and not loss_scale_factor > 0:
            raise ValueError(f"{type(self).__name__}: loss_scale_factor must be > 0, received {loss_scale_factor!r}.")
        self.name = name or type(self).__name__.lower()
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = bool(use_ema)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._count = 0  # updates so far; `iterations` shows it as Keras's int32 `iteration` variable
        self._iteration_variable = torch.zeros((), dtype=torch.int32)
        self._lr_variable = torch.zeros((), dtype=torch.float32)
        self._schedule: Any = None
        self._schedule_takes_step = True
        self._learning_rate = 0.0
        self._params: list[torch.Tensor] = []
        self._averages: list[torch.Tensor] = []
        self._accumulators: list[torch.Tensor] = []
        self.torch_optimizer: torch.optim.Optimizer | None = None
        self._projections: dict[int, Callable] = {}  # id(weight) -> its constraint (set by fit)
        self._set_learning_rate(learning_rate)

    # ---------------------------------------------------------------------------- building

    def _torch_kwargs(self) -> dict[str, Any]:
        """Constructor arguments of `torch_class` (learning rate excluded)."""
        return {}

    def _slot_groups(self) -> SlotGroups:
        """Keras's slot variables as torch state keys, in Keras's order (see `SlotGroups`)."""
        return []

    def _initial_state(self, param: torch.Tensor) -> dict[str, torch.Tensor]:
        """The torch state of one parameter before its first step (created at build so `variables` exist)."""
        state: dict[str, torch.Tensor] = {"step": torch.tensor(0.0, dtype=torch.float32)}
        for group in self._slot_groups():
            for _, key in group:
                state[key] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state

    @property
    def _decouples_decay_itself(self) -> bool:
        return False

    def build(self, variables: Iterable[Any]) -> "Optimizer":
        """Create the torch optimizer and its slots over `variables` (those that require grad)."""
        params = [p for p in map(_as_parameter, variables) if p.requires_grad]
        if not params:
            raise ValueError(
                f"Optimizer {self.name!r} received no trainable parameters; build the model first and make "
                "sure some layers are trainable."
            )
        self.torch_optimizer = self.torch_class(params, lr=self._learning_rate, **self._torch_kwargs())
        for param in params:
            state = self.torch_optimizer.state[param]
            if not state:
                state.update(self._initial_state(param))
        self._params = params
        self._known = {id(p) for p in params}
        self._averages = [p.detach().clone() for p in params] if self.use_ema else []
        self._accumulators = [torch.zeros_like(p) for p in params] if self.gradient_accumulation_steps else []
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
        if not self.built:
            raise ValueError(
                f"Optimizer {self.name!r} is not built yet; call optimizer.build(model.trainable_weights), "
                "optimizer.apply(grads, variables), or model.compile(optimizer=...) and fit()."
            )

    @property
    def variables(self) -> list[torch.Tensor]:
        """Keras's optimizer variables: `iteration`, `learning_rate` (unless a schedule), EMA averages,
        gradient accumulators, then each slot per weight in Keras's order (torch's state tensors)."""
        out = [self._iteration_variable.fill_(self._count)]
        if self._schedule is None:
            out.append(self._lr_variable)
        if not self.built:
            return out
        out += self._averages + self._accumulators
        state = self.torch_optimizer.state
        for group in self._slot_groups():
            for param in self._params:
                out += [state[param][key] for _, key in group if key in state[param]]
        return out + self._extra_variables()

    def _extra_variables(self) -> list[torch.Tensor]:
        return []

    # ---------------------------------------------------------------------------- learning rate

    def _set_learning_rate(self, value: Any) -> None:
        if isinstance(value, dict):  # a serialized schedule, as in Keras configs
            value = schedules_module.deserialize(value)
        if isinstance(value, (schedules_module.LearningRateSchedule,)) or (
                callable(value) and not isinstance(value, torch.Tensor)):
            self._schedule = value
            self._schedule_takes_step = isinstance(value, schedules_module.LearningRateSchedule) or _takes_argument(value)
            self._push_learning_rate(self._scheduled())
            return
        if isinstance(self._schedule, schedules_module.LearningRateSchedule):
            raise TypeError(
                f"Optimizer {self.name!r} was created with a LearningRateSchedule as its learning_rate, so its "
                "learning rate is not settable; create the optimizer with a float learning_rate instead."
            )
        try:
            rate = float(value)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"Optimizer {type(self).__name__}: learning_rate must be a float, a LearningRateSchedule or a "
                f"callable, received {value!r}."
            ) from error
        self._schedule = None
        self._lr_variable.fill_(rate)
        self._push_learning_rate(rate)

    def _scheduled(self) -> float:
        schedule = self._schedule
        return float(schedule(self._count) if self._schedule_takes_step else schedule())

    def _push_learning_rate(self, rate: float) -> None:
        self._learning_rate = rate
        if self.torch_optimizer is not None:
            for group in self.torch_optimizer.param_groups:
                group["lr"] = rate

    @property
    def learning_rate(self) -> float:
        """The learning rate the next update uses (a schedule is evaluated at `iterations`)."""
        return self._scheduled() if self._schedule is not None else self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._set_learning_rate(value)

    lr = learning_rate

    @property
    def iterations(self) -> torch.Tensor:
        """Updates applied so far (a host int32 tensor, like Keras's `iteration` variable)."""
        if self.gradient_accumulation_steps:
            return torch.tensor(self._count // self.gradient_accumulation_steps, dtype=torch.int32)
        return self._iteration_variable.fill_(self._count)

    @iterations.setter
    def iterations(self, value: Any) -> None:
        self._count = int(value)

    # ------------------------------------------------------------------------------- stepping

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._require_built()
        self.torch_optimizer.zero_grad(set_to_none=set_to_none)

    @property
    def _scales_loss(self) -> bool:
        """Whether `fit` must pass the loss through `scale_loss` before the backward pass."""
        return self.loss_scale_factor is not None

    def scale_loss(self, loss: Any) -> Any:
        """The loss times `loss_scale_factor` (gradients are divided back before the update)."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def step(self, closure: Callable | None = None) -> Any:
        """One Keras update from the parameters' `.grad`: accumulation, unscaling, clipping, decoupled
        weight decay, torch's update, EMA; no host sync."""
        self._require_built()
        if self.gradient_accumulation_steps and not self._accumulate():
            return None
        if self._schedule is not None:
            self._push_learning_rate(self._scheduled())
        clipping = self.clipvalue is not None or self.clipnorm is not None or self.global_clipnorm is not None
        decaying = bool(self.weight_decay) and not self._decouples_decay_itself
        scaled = self.loss_scale_factor is not None
        params = [p for g in self.torch_optimizer.param_groups for p in g["params"] if p.grad is not None] if (
            clipping or decaying or scaled) else []
        grads = [p.grad for p in params]
        if grads:
            if scaled:
                torch._foreach_div_(grads, self.loss_scale_factor)
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
        self._before_update()
        result = self.torch_optimizer.step(closure)
        if self.use_ema:
            self._update_averages()
        self._count += 1
        return result

    def _before_update(self) -> None:
        """Per-update adjustments of torch's hyperparameters (a host-side hook; none by default)."""

    def _accumulate(self) -> bool:
        """Gradient accumulation: add this step's gradients; True when the averaged update is due."""
        due = (self._count + 1) % self.gradient_accumulation_steps == 0
        with torch.no_grad():
            for param, total in zip(self._params, self._accumulators):
                if param.grad is None:
                    continue
                if due:
                    param.grad = (param.grad + total) / self.gradient_accumulation_steps
                    total.zero_()
                else:
                    total.add_(param.grad)
        if not due:
            if self.use_ema:
                self._update_averages()
            self._count += 1
        return due

    @torch.no_grad()
    def _update_averages(self) -> None:
        steps = self.gradient_accumulation_steps
        momentum = self.ema_momentum if (self._count // steps if steps else self._count) != 0 else 0.0  # Keras's iterations
        torch._foreach_lerp_(self._averages, [p.detach() for p in self._params], 1.0 - momentum)
        frequency = self.ema_overwrite_frequency
        if frequency and (int(self.iterations) + 1) % frequency == 0:
            torch._foreach_copy_([p.detach() for p in self._params], self._averages)

    @torch.no_grad()
    def finalize_variable_values(self, variables: Iterable[Any] | None = None) -> None:
        """With `use_ema`, give the model its averaged weights (Keras does this when `fit` ends)."""
        if self.use_ema and self.built:
            params = self._params if variables is None else [_as_parameter(v) for v in variables]
            by_id = {id(p): a for p, a in zip(self._params, self._averages)}
            for param in params:
                if id(param) in by_id:
                    param.copy_(by_id[id(param)])

    def _apply_arguments(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None) -> tuple[list, list]:
        """`apply`'s gradients and weights, checked (one gradient per weight, weights it was built for),
        building the optimizer on first use."""
        grads = list(grads)
        if not grads:
            return [], []
        if trainable_variables is None:
            self._require_built()
            params = self._params
        else:
            params = [_as_parameter(v) for v in trainable_variables]
            if not self.built:
                self.build(params)
            unknown = [tuple(p.shape) for p in params if id(p) not in self._known]
            if unknown:
                raise ValueError(
                    f"Optimizer {self.name!r} was built for other variables and received unknown ones of shapes "
                    f"{unknown}; create a new optimizer for a new set of variables."
                )
        if len(grads) != len(params):
            raise ValueError(
                f"Optimizer {self.name!r}.apply received {len(grads)} gradients for {len(params)} variables; pass "
                "one gradient per variable."
            )
        return grads, params

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None) -> None:
        """Keras's update: apply `grads` to `trainable_variables` (building the optimizer on first use),
        then each weight's constraint; weights not listed are left alone."""
        grads, params = self._apply_arguments(grads, trainable_variables)
        if not grads:
            return
        listed = {id(p) for p in params}
        others = [(p, p.grad) for p in self._params if id(p) not in listed and p.grad is not None]
        for param, _ in others:
            param.grad = None
        for param, grad in zip(params, grads):
            if grad is not None and not isinstance(grad, torch.Tensor):
                grad = torch.as_tensor(grad, dtype=param.dtype, device=param.device)
            if grad is not param.grad:
                param.grad = None if grad is None else grad.detach()
        try:
            self.step()
        finally:
            for param, grad in others:
                param.grad = grad
        with torch.no_grad():
            for param in params:
                project = self._projections.get(id(param)) or getattr(param, "constraint", None)
                if project is not None:
                    param.copy_(project(param))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Any]]) -> None:
        """`apply` for a list of `(gradient, variable)` pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    # ------------------------------------------------------------------------------ state I/O

    def state_dict(self) -> dict[str, Any]:
        self._require_built()
        return {"torch": self.torch_optimizer.state_dict(), "iterations": self._count,
                "learning_rate": self._learning_rate}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._require_built()
        self.torch_optimizer.load_state_dict(state["torch"])
        self._count = int(state.get("iterations", 0))
        if self._schedule is None:
            self._set_learning_rate(float(state.get("learning_rate", self._learning_rate)))

    def get_config(self) -> dict[str, Any]:
        if self._schedule is None:
            learning_rate: Any = self._learning_rate
        elif isinstance(self._schedule, schedules_module.LearningRateSchedule):
            learning_rate = schedules_module.serialize(self._schedule)
        else:
            raise TypeError(
                f"Optimizer {self.name!r} has a plain function as its learning rate, which has no config; use a "
                "kt.optimizers.schedules.LearningRateSchedule subclass to save it."
            )
        return {"name": self.name, "learning_rate": learning_rate, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, learning_rate={self.learning_rate}>"


def _takes_argument(fn: Callable) -> bool:
    """Whether a learning-rate callable takes the step (Keras's take none)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in parameters)


class SGD(Optimizer):
    torch_class = torch.optim.SGD

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any):
        super().__init__(learning_rate, **kwargs)
        self.momentum, self.nesterov = momentum, nesterov

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def _slot_groups(self) -> SlotGroups:
        return [[("momentum", "momentum_buffer")]] if self.momentum else []

    def _initial_state(self, param: torch.Tensor) -> dict[str, torch.Tensor]:
        state = super()._initial_state(param)
        state.pop("step")
        return state

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

    def _before_update(self) -> None:
        # Keras adds epsilon to sqrt(v) before bias correction, torch after it: torch's epsilon at update t
        # is epsilon / sqrt(1 - beta_2 ** t) (it matters when gradients are small, e.g. after loss scaling).
        steps = self.gradient_accumulation_steps
        t = (self._count + 1) // steps if steps else self._count + 1
        eps = self.epsilon / (1.0 - self.beta_2 ** t) ** 0.5
        for group in self.torch_optimizer.param_groups:
            group["eps"] = eps

    def _slot_groups(self) -> SlotGroups:
        groups = [[("momentum", "exp_avg"), ("velocity", "exp_avg_sq")]]
        return groups + [[("velocity_hat", "max_exp_avg_sq")]] if self.amsgrad else groups

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

    def _slot_groups(self) -> SlotGroups:
        groups = [[("velocity", "square_avg")]]
        if self.momentum:
            groups.append([("momentum", "momentum_buffer")])
        if self.centered:
            groups.append([("average_gradient", "grad_avg")])
        return groups

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

    def _slot_groups(self) -> SlotGroups:
        return [[("accumulator", "sum")]]  # torch fills these when it is created

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

    def _slot_groups(self) -> SlotGroups:
        return [[("accumulated_grad", "square_avg"), ("accumulated_delta_var", "acc_delta")]]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(Adam):
    torch_class = torch.optim.Adamax

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}

    def _before_update(self) -> None:
        pass  # torch's Adamax and NAdam place epsilon where Keras's do

    def _slot_groups(self) -> SlotGroups:
        return [[("m", "exp_avg"), ("u", "exp_inf")]]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("amsgrad")
        return config


class Nadam(Adamax):
    torch_class = torch.optim.NAdam

    def _torch_kwargs(self) -> dict[str, Any]:
        return {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon, "momentum_decay": 1.0}  # Keras: 0.96 ** step

    def _slot_groups(self) -> SlotGroups:
        return [[("momentum", "exp_avg"), ("velocity", "exp_avg_sq")]]

    def _initial_state(self, param: torch.Tensor) -> dict[str, torch.Tensor]:
        return {**super()._initial_state(param), "mu_product": torch.tensor(1.0, dtype=torch.float32)}

    def _extra_variables(self) -> list[torch.Tensor]:
        # Keras keeps one momentum-schedule product; torch keeps it per weight, all equal: the first stands for it.
        return [self.torch_optimizer.state[self._params[0]]["mu_product"]]
