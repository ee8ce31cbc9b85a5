"""Keras's MultiOptimizer and OptimizerMap: a different optimizer for different weights.

`OptimizerMap` maps weight paths (exact, else `re.fullmatch` patterns) to optimizers, with a default
for the rest. `MultiOptimizer` asks its map (or any callable `weight -> optimizer`) once, when it is
built, which optimizer owns each weight, builds each optimizer over its own weights, and hands every
update to the owners; the weights themselves are never copied.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch

from .loss_scale import LossScaleOptimizer
from .optimizer import Optimizer, _as_parameter


class OptimizerMap(MutableMapping):
    """Weight paths (or `re.fullmatch` patterns over them) to optimizers, as Keras's `OptimizerMap`.

    Args:
        default_optimizer: the optimizer of every weight no key matches.
        optimizer_map: initial `{path or pattern: optimizer}` entries (a dict).
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict[str, Optimizer] | None = None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(f"OptimizerMap: default_optimizer must be a kt.optimizers.Optimizer, received "
                            f"{type(default_optimizer).__name__}.")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(f"OptimizerMap: optimizer_map must be a dict of path -> optimizer, received "
                            f"{type(optimizer_map).__name__}.")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        """The optimizer of path `key`: an exact key, else the one pattern that fully matches, else the default."""
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"OptimizerMap: weight {key!r} matches several patterns {matches}; make them exclusive.")
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap: keys are weight paths or patterns (str), received {key!r}.")
        if key in self._optimizer_map:
            raise ValueError(f"OptimizerMap: {key!r} is already mapped to {self._optimizer_map[key]!r}; keys must "
                             "be unique.")
        _check_member(optimizer, "OptimizerMap")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, variable: Any) -> Optimizer:
        return self[str(getattr(variable, "path", None) or "")]

    def get_config(self) -> dict[str, Any]:
        from . import serialize

        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {key: serialize(opt) for key, opt in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "OptimizerMap":
        from . import deserialize

        entries = {key: deserialize(value, custom_objects) for key, value in (config.get("optimizer_map") or {}).items()}
        return cls(deserialize(config["default_optimizer"], custom_objects), entries)


def _check_member(optimizer: Any, owner: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{owner}: expected a kt.optimizers.Optimizer, received {type(optimizer).__name__}.")
    if isinstance(optimizer, (LossScaleOptimizer, MultiOptimizer)):
        raise ValueError(f"{owner}: a {type(optimizer).__name__} cannot be used inside a MultiOptimizer; wrap the "
                         "MultiOptimizer instead.")


class MultiOptimizer(Optimizer):
    """Hands each weight's update to its own optimizer, as Keras's `MultiOptimizer`.

    Args:
        optimizer_map: an `OptimizerMap`, its Keras config, or a callable `weight -> optimizer`
            (asked once per weight when the optimizer is built).
        loss_scale_factor: overrides every member optimizer's `loss_scale_factor` (None: no scaling).
        name: the optimizer's name ("multi_optimizer").

    There is no single learning rate: read and set it on `optimizers`, as in Keras.
    """

    def __init__(self, optimizer_map: Any, loss_scale_factor: float | None = None, name: str | None = None):
        if isinstance(optimizer_map, dict):  # Keras's serialized OptimizerMap, as `.keras` files hold it
            optimizer_map = OptimizerMap.from_config(dict(optimizer_map.get("config", optimizer_map)))
        if not callable(optimizer_map):
            raise TypeError("MultiOptimizer: optimizer_map must be an OptimizerMap or a callable weight -> optimizer, "
                            f"received {type(optimizer_map).__name__}.")
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(0.0, loss_scale_factor=loss_scale_factor, name=name or "multi_optimizer")
        self._optimizer_map = optimizer_map
        members = list(optimizer_map.values()) if isinstance(optimizer_map, OptimizerMap) else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for optimizer in members + ([default] if default is not None else []):
            self._add(optimizer)
        self._owner: dict[int, int] = {}
        self._built = False

    def _add(self, optimizer: Optimizer) -> int:
        for index, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return index
        _check_member(optimizer, "MultiOptimizer")
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    @property
    def loss_scale_factor(self) -> float | None:
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self._loss_scale_factor = value
        for optimizer in self._inner_optimizers:
            optimizer.loss_scale_factor = value

    @property
    def optimizers(self) -> list[Optimizer]:
        """The member optimizers, in Keras's order (mapped ones, the default, then any a callable returned)."""
        return self._inner_optimizers

    def build(self, variables: Iterable[Any]) -> "MultiOptimizer":
        """Ask the map for each trainable weight's optimizer and build each over its own weights."""
        params = [p for p in map(_as_parameter, variables) if p.requires_grad]
        if not params:
            raise ValueError(f"Optimizer {self.name!r} received no trainable parameters; build the model first.")
        owned: dict[int, list[torch.Tensor]] = {}
        owner = {}
        for param in params:
            index = self._add(_inner_of(self._optimizer_map, param))
            owner[id(param)] = index
            owned.setdefault(index, []).append(param)
        for index, members in owned.items():
            self._inner_optimizers[index].build(members)
        self._params, self._known, self._owner = params, set(owner), owner
        self.torch_optimizer = _JointState([o.torch_optimizer for o in self._inner_optimizers if o.built])
        self._built = True
        return self

    @property
    def built(self) -> bool:
        return self.__dict__.get("_built", False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._require_built()
        for optimizer in self._inner_optimizers:
            if optimizer.built:
                optimizer.zero_grad(set_to_none)

    def step(self, closure: Callable | None = None) -> Any:
        """One update: every member optimizer steps over its own weights' `.grad`."""
        self._require_built()
        for optimizer in self._inner_optimizers:
            if optimizer.built:
                optimizer.step()
        self._count += 1
        return closure() if closure is not None else None

    def apply(self, grads: Sequence[Any], trainable_variables: Sequence[Any] | None = None) -> None:
        """Keras's update: each `(gradient, variable)` pair goes to the variable's optimizer."""
        grads, params = self._apply_arguments(grads, trainable_variables)
        if not grads:
            return
        shares: dict[int, tuple[list, list]] = {}
        for grad, param in zip(grads, params):
            share = shares.setdefault(self._owner[id(param)], ([], []))
            share[0].append(grad)
            share[1].append(param)
        for index, (share_grads, share_params) in sorted(shares.items()):
            optimizer = self._inner_optimizers[index]
            optimizer._projections = self._projections
            optimizer.apply(share_grads, share_params)
        self._count += 1

    @property
    def variables(self) -> list[torch.Tensor]:
        """Keras's list: own `iteration` and `learning_rate`, then each member's variables."""
        own = [self._iteration_variable.fill_(self._count), self._lr_variable]
        return own + [v for optimizer in self._inner_optimizers for v in optimizer.variables]

    @property
    def iterations(self) -> torch.Tensor:
        return self._iteration_variable.fill_(self._count)

    @iterations.setter
    def iterations(self, value: Any) -> None:
        """Set the count here and on every built member (they all step together, e.g. when resuming)."""
        self._count = int(value)
        for optimizer in self._inner_optimizers:
            if optimizer.built:
                optimizer.iterations = value

    @property
    def learning_rate(self) -> float:
        raise AttributeError("MultiOptimizer has no single learning rate; read it on multi_optimizer.optimizers.")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        raise AttributeError("MultiOptimizer has no single learning rate; set it on multi_optimizer.optimizers.")

    lr = learning_rate

    def finalize_variable_values(self, variables: Iterable[Any] | None = None) -> None:
        params = self._params if variables is None else [_as_parameter(v) for v in variables]
        for index, optimizer in enumerate(self._inner_optimizers):
            mine = [p for p in params if self._owner.get(id(p)) == index]
            if mine:
                optimizer.finalize_variable_values(mine)

    def state_dict(self) -> dict[str, Any]:
        self._require_built()
        return {"optimizers": [o.state_dict() if o.built else None for o in self._inner_optimizers],
                "iterations": self._count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._require_built()
        for optimizer, inner in zip(self._inner_optimizers, state["optimizers"]):
            if inner is not None:
                optimizer.load_state_dict(inner)
        self._count = int(state.get("iterations", 0))

    def get_config(self) -> dict[str, Any]:
        from . import serialize

        if not isinstance(self._optimizer_map, OptimizerMap):
            raise TypeError(f"MultiOptimizer {self.name!r} was given a plain callable as its optimizer_map, which has "
                            "no config; use a kt.optimizers.OptimizerMap to save it.")
        return {"optimizer_map": serialize(self._optimizer_map), "loss_scale_factor": self.loss_scale_factor,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict | None = None) -> "MultiOptimizer":
        config = dict(config)
        entry = config.pop("optimizer_map")
        if isinstance(entry, dict):
            entry = OptimizerMap.from_config(dict(entry.get("config", entry)), custom_objects)
        return cls(entry, **config)

    def __repr__(self) -> str:
        return f"<MultiOptimizer name={self.name}, optimizers={[o.name for o in self._inner_optimizers]}>"


class _JointState:
    """The members' torch optimizers as one torch `state_dict` (indices numbered on across members), so
    training checkpoints save and restore a MultiOptimizer like any other optimizer."""

    def __init__(self, optimizers: list[torch.optim.Optimizer]):
        self.optimizers = optimizers

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [group for optimizer in self.optimizers for group in optimizer.param_groups]

    @property
    def state(self) -> dict[torch.Tensor, Any]:
        return {param: entry for optimizer in self.optimizers for param, entry in optimizer.state.items()}

    def state_dict(self) -> dict[str, Any]:
        state, groups, offset = {}, [], 0
        for optimizer in self.optimizers:
            own = optimizer.state_dict()
            state.update({index + offset: entry for index, entry in own["state"].items()})
            groups += [{**group, "params": [i + offset for i in group["params"]]} for group in own["param_groups"]]
            offset += sum(len(group["params"]) for group in own["param_groups"])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups, offset = list(state_dict["param_groups"]), 0
        for optimizer in self.optimizers:
            own, groups = groups[:len(optimizer.param_groups)], groups[len(optimizer.param_groups):]
            count = sum(len(group["params"]) for group in own)
            state = {int(i) - offset: entry for i, entry in state_dict["state"].items() if 0 <= int(i) - offset < count}
            optimizer.load_state_dict({"state": state, "param_groups": [
                {**group, "params": [i - offset for i in group["params"]]} for group in own]})
            offset += count


def _inner_of(optimizer_map: Callable, param: torch.Tensor) -> Optimizer:
    optimizer = optimizer_map(param)
    _check_member(optimizer, "MultiOptimizer")
    return optimizer

