"""`Config`: a dict of named settings also readable and writable as attributes, freezable, JSON-ready."""

from __future__ import annotations

import difflib
import json
from typing import Any, Iterator

__all__ = ["Config"]

_OWN = ("_config", "_frozen")


class Config:
    """Named values, as `config.seed` or `config["seed"]`; `freeze()` makes every change raise.

    Args:
        **kwargs: the initial entries.
    """

    def __init__(self, **kwargs: Any):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        """Whether changes are refused."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse every later change (set, update, pop, delete) with a ValueError."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        object.__setattr__(self, "_frozen", False)

    def _check_mutable(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen; call unfreeze() first.")

    def as_dict(self) -> dict[str, Any]:
        return dict(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def keys(self) -> Any:
        return self._config.keys()

    def values(self) -> Any:
        return self._config.values()

    def items(self) -> Any:
        return self._config.items()

    def get(self, keyname: str, value: Any = None) -> Any:
        return self._config.get(keyname, value)

    def pop(self, *args: Any) -> Any:
        self._check_mutable()
        return self._config.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._check_mutable()
        self._config.update(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN or hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        self[name] = value

    def __getattr__(self, name: str) -> Any:  # only called for names that are not real attributes
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        close = difflib.get_close_matches(name, list(config), n=1, cutoff=0.7)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise AttributeError(f"Unknown attribute: '{name}'.{hint}")

    def __setitem__(self, key: str, value: Any) -> None:
        self._check_mutable()
        self._config[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __delitem__(self, key: str) -> None:
        self._check_mutable()
        del self._config[key]

    def __contains__(self, key: object) -> bool:
        return key in self._config

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._config))

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
