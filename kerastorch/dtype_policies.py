"""`kt.dtype_policies`: Keras's dtype-policy namespace (the float policies of `kt.mixed_precision`).

The quantized policies (int8, int4, float8, GPTQ, AWQ) describe Keras's weight quantization, which
kerastorch does not implement; they raise `NotImplementedError` saying so.
"""

from __future__ import annotations

from typing import Any

from .mixed_precision import DTypePolicy

__all__ = ["AWQDTypePolicy", "DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy", "GPTQDTypePolicy",
           "Int4DTypePolicy", "QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "deserialize", "get", "serialize"]

FloatDTypePolicy = DTypePolicy  # Keras's older name for the same policy


def get(identifier: Any) -> DTypePolicy:
    """A policy from a name (`"mixed_float16"`), a config dict (`serialize`'s output) or a policy."""
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(f"dtype_policies.get expected a policy name, config dict or DTypePolicy, received {identifier!r}.")


def serialize(policy: DTypePolicy) -> dict[str, Any]:
    """Keras's config of a policy: `{"module": "keras", "class_name": "DTypePolicy", "config": {"name": ...}}`."""
    if not isinstance(policy, DTypePolicy):
        raise TypeError(f"dtype_policies.serialize expected a DTypePolicy, received {policy!r}.")
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": policy.name}, "registered_name": None}


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> DTypePolicy:
    """The policy `serialize` (kerastorch's or Keras's) described."""
    kind = config.get("class_name") if isinstance(config, dict) else None
    if kind in {cls.__name__ for cls in _Quantized.__subclasses__()}:
        _quantized(kind)
    if kind not in ("DTypePolicy", "FloatDTypePolicy") or not isinstance(config.get("config"), dict):
        raise ValueError(f"dtype_policies.deserialize expected a DTypePolicy config, received {config!r}.")
    return DTypePolicy(config["config"].get("name"))


def _quantized(kind: str) -> None:
    raise NotImplementedError(
        f"kt.dtype_policies.{kind} is not available: it describes Keras's weight quantization (int8/int4/float8, "
        "GPTQ, AWQ), which kerastorch does not implement; use a float policy, or torch.ao.quantization on the module."
    )


class _Quantized:
    def __init__(self, *args: Any, **kwargs: Any):
        _quantized(type(self).__name__)


class QuantizedDTypePolicy(_Quantized):
    """Keras's quantized policy (not available here: see the error)."""


class QuantizedFloat8DTypePolicy(_Quantized):
    """Keras's float8 policy (not available here: see the error)."""


class Int4DTypePolicy(_Quantized):
    """Keras's int4 policy (not available here: see the error)."""


class GPTQDTypePolicy(_Quantized):
    """Keras's GPTQ policy (not available here: see the error)."""


class AWQDTypePolicy(_Quantized):
    """Keras's AWQ policy (not available here: see the error)."""


class DTypePolicyMap(_Quantized):
    """Keras's per-layer map of (quantized) policies (not available here: see the error)."""
