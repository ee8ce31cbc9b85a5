"""`kt.ops` calls on symbolic tensors: one graph node per call, recorded and saved as Keras does.

Every public op is wrapped once (`wrap`): a call whose arguments hold a `SymbolicTensor` (directly,
by keyword, or inside a top-level list/tuple) becomes an `Operation` node; any other call goes
straight to the plain torch function. Keras records `ops.mean(x, axis=1)` as
`Mean(axis=1, keepdims=False)` called on `x`; the table in `keras_ops.py` says, per op, which
arguments form the constructor config and which the call, so configs and `.keras` files are
exchangeable with Keras. Output shapes come from running the plain function on `meta` tensors,
as for layers. In a built model the plan calls the plain function with the constant arguments
bound once (`Operation.fast`), so a node costs what the torch call costs.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import torch

from ..layers.layer import snake_case, unique_name
from ..symbolic import _PLACEHOLDERS, Node, SymbolicTensor, _to_symbolic
from ..tree import flatten, map_structure
from .keras_ops import PLAIN, SPECS

_SEQUENCES = (list, tuple)
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_MODULE_PREFIX = "keras.src.ops."


def _holds_symbolic(values: list | tuple) -> bool:
    for value in values:
        if value.__class__ is SymbolicTensor:
            return True
    return False


def has_symbolic(args: tuple, kwargs: dict) -> bool:
    """Whether a call's arguments hold a symbolic tensor: top level, by keyword, or in a top-level list."""
    for values in (args, kwargs.values()):
        for value in values:
            kind = value.__class__
            if kind is SymbolicTensor or (kind in _SEQUENCES and _holds_symbolic(value)):
                return True
    return False


# --------------------------------------------------------------------------------- op specs


class OpSpec:
    """How Keras records one op: its class, constructor config and call arguments."""

    __slots__ = ("name", "group", "class_name", "config", "args", "kwargs")

    def __init__(self, name: str, group: str, class_name: str, config: tuple = (), args: tuple | None = None,
                 kwargs: tuple = ()):
        self.name = name  # the kt.ops function
        self.group = group  # Keras's module under keras.src.ops
        self.class_name = class_name
        # ((constructor argument, function argument | {"const": v} | {"kwarg": name, "default": v}[, how
        # Keras normalizes it]), ...)
        self.config = config
        self.args = args  # function arguments passed positionally to the node; None: the call as given
        self.kwargs = kwargs  # ((keyword, function argument), ...); ("**", "**name") unpacks

    @property
    def module(self) -> str:
        return _MODULE_PREFIX + self.group


def spec_of(name: str, group: str) -> OpSpec:
    """Keras's recording of op `name`; ops Keras does not have are recorded as called, by their name."""
    entry = SPECS.get(name)
    if entry is None:
        return OpSpec(name, group, "".join(part.capitalize() for part in name.split("_")))
    return OpSpec(name, *entry)


@functools.lru_cache(maxsize=None)
def _specs_by_class() -> dict[tuple[str, str], str]:
    """(Keras module, class name) -> op name; the function named like the class wins among aliases."""
    table: dict[tuple[str, str], str] = {}
    for name, (group, class_name, *_rest) in sorted(SPECS.items()):
        key = (_MODULE_PREFIX + group, class_name)
        if key not in table or snake_case(class_name) == name:
            table[key] = name
    return table


# ------------------------------------------------------------------------------- wrapping


def wrap(function: Callable, name: str, group: str) -> Callable:
    """`kt.ops.<group>.<name>` with symbolic calls turned into graph nodes; eager calls reach it directly."""
    if getattr(function, "_kerastorch_plain", None) is not None or not callable(function):
        return function  # already wrapped, or not a function
    if name in PLAIN:
        return function  # Keras runs these on symbolic tensors as they are (`shape`, `dtype`)

    def op(*args, **kwargs):
        # `has_symbolic`, inlined: this scan is all an eager call pays.
        for value in args:
            kind = value.__class__
            if kind is SymbolicTensor or (kind in _SEQUENCES and _holds_symbolic(value)):
                return symbolic_call(function, name, group, args, kwargs)
        if kwargs and has_symbolic((), kwargs):
            return symbolic_call(function, name, group, args, kwargs)
        return function(*args, **kwargs)

    functools.update_wrapper(op, function)
    op._kerastorch_plain = function
    return op


def plain_function(name: str) -> Callable:
    """The plain torch function of `kt.ops.<name>` (or `kt.ops.image.<name>`)."""
    from .. import ops

    function = getattr(ops, name, None)
    if function is None:
        function = getattr(ops.image, name, None)
    if function is None:
        raise ValueError(
            f"The config uses the op {name!r}, which kt.ops does not have; pass a layer that computes it "
            "in custom_objects or rebuild the model in code."
        )
    return getattr(function, "_kerastorch_plain", function)


def symbolic_call(function: Callable, name: str, group: str, args: tuple, kwargs: dict) -> Any:
    """`kt.ops.<name>(*args, **kwargs)` on symbolic tensors: a new `Operation` node, named as Keras names it."""
    spec = spec_of(name, group)
    signature = inspect.signature(function)
    if spec.args is None:
        return Operation(function, spec, {})(*args, **kwargs)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"kt.ops.{spec.name}() {error}; see help(kt.ops.{spec.name}).") from None
    bound.apply_defaults()
    values = dict(bound.arguments)
    needed = {s.lstrip("*") for s in spec.args if isinstance(s, str)}
    needed |= {s.lstrip("*") for k, s in spec.kwargs if isinstance(s, str) and k != "**"}
    missing = sorted(needed - set(signature.parameters))
    if missing:  # kt.ops and Keras disagree on the op's signature: a bug to report, not a user error
        raise TypeError(f"kt.ops.{spec.name}() lacks Keras's argument(s) {missing}, so its node cannot be recorded.")
    call_args = []
    for source in spec.args:
        if isinstance(source, dict):
            call_args.append(source["const"])
        elif source.startswith("*"):
            call_args.extend(values.pop(source[1:], ()))
        else:
            call_args.append(values.pop(source))
    call_kwargs = {}
    for keyword, source in spec.kwargs:
        if keyword == "**":
            call_kwargs.update(values.pop(source[2:], {}))
        elif isinstance(source, dict):
            call_kwargs[keyword] = source["const"]
        else:
            call_kwargs[keyword] = values.pop(source)
    for parameter in signature.parameters.values():  # what is left of *args/**kwargs: plain constants
        if parameter.kind == parameter.VAR_KEYWORD:
            values.update(values.pop(parameter.name, {}))
        elif parameter.kind == parameter.VAR_POSITIONAL and values.pop(parameter.name, ()):
            raise TypeError(f"kt.ops.{spec.name}() on symbolic tensors takes no extra positional arguments.")
    return Operation(function, spec, values)(*call_args, **call_kwargs)


def _config_value(value: Any, normalize: str | None) -> Any:
    """An argument as Keras records it: Keras's op functions normalize a few before the constructor."""
    from .. import config

    if normalize == "data_format":
        return config.image_data_format() if value is None else str(value).lower()
    if normalize == "lower":
        return value.lower() if isinstance(value, str) else value
    if normalize in ("dtype", "dtype_or_none"):
        if value is None and normalize == "dtype_or_none":
            return None
        return config.dtype_name(config.standardize_dtype(value))
    if normalize == "tuple":
        return tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if normalize is not None and normalize.startswith("repeat") and isinstance(value, int):
        return (value,) * int(normalize[len("repeat"):])
    return value


# ------------------------------------------------------------------------------ operation


class Operation:
    """One op at one or more nodes of a graph: `Mean(axis=1)`, `Add()`, `GetItem()`.

    `constants` are the plain function's arguments that are not call arguments (`axis`,
    `keepdims`); calling the operation with Keras's call arguments runs the function or, on
    symbolic tensors, records a node. It has no weights and is not a module: a model lists it in
    `operations` and its summary, not in `layers`.
    """

    built = True

    def __init__(self, function: Callable, spec: OpSpec, constants: dict[str, Any], name: str | None = None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Operation {spec.class_name}: name must be a string, received {name!r}.")
        self.function = function
        self.spec = spec
        self.constants = constants
        self.name = name or unique_name(snake_case(spec.class_name))
        self._inbound_nodes: list[Node] = []
        self._signature = inspect.signature(function)
        self.fast = self._fast_path()

    # Keras's spelling in summaries: `mean (Mean)`.
    @property
    def layer_type(self) -> str:
        return self.spec.class_name

    def __repr__(self) -> str:
        return f"<Operation name={self.name}, type={self.spec.class_name}>"

    @property
    def input(self) -> Any:
        """The symbolic input(s) of the first call, as Keras's `Operation.input`."""
        tensors = self._first_node("input").input_tensors
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def output(self) -> Any:
        """The symbolic output(s) of the first call."""
        return self._first_node("output").outputs

    def _first_node(self, what: str) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(f"Operation {self.name!r} has never been called and thus has no {what}.")
        return self._inbound_nodes[0]

    def _fast_path(self) -> Callable | None:
        """`function` with the constants bound, taking the call arguments positionally, when it can."""
        spec = self.spec
        if spec.args is None or spec.kwargs or any(not isinstance(s, str) or s.startswith("*") for s in spec.args):
            return None
        parameters = list(self._signature.parameters.values())
        leading = [p.name for p in parameters[:len(spec.args)] if p.kind in _POSITIONAL]
        if leading != list(spec.args) or any(p.kind == p.VAR_POSITIONAL for p in parameters):
            return None
        return functools.partial(self.function, **self.constants) if self.constants else self.function

    def _arguments(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """The plain function's (args, kwargs) for Keras's call arguments of this node."""
        spec = self.spec
        if spec.args is None:
            return args, kwargs
        values = dict(self.constants)
        extra_positional: tuple = ()
        for index, source in enumerate(spec.args):
            if isinstance(source, dict):
                continue
            if source.startswith("*"):
                extra_positional = tuple(args[index:])
                break
            if index >= len(args):
                raise TypeError(f"Operation {self.name!r} ({spec.class_name}) expects argument {source!r}.")
            values[source] = args[index]
        extra_keywords = dict(kwargs)
        for keyword, source in spec.kwargs:
            if keyword != "**" and keyword in extra_keywords and isinstance(source, str):
                values[source] = extra_keywords.pop(keyword)
        positional, keywords = [], {}
        parameters = self._signature.parameters
        for parameter in parameters.values():
            if parameter.kind == parameter.VAR_POSITIONAL:
                positional.extend(extra_positional)
            elif parameter.kind == parameter.VAR_KEYWORD:  # constants the signature does not name go here too
                keywords.update({k: v for k, v in values.items() if k not in parameters})
                keywords.update(extra_keywords)
            elif parameter.name in values:
                if parameter.kind == parameter.POSITIONAL_ONLY or (
                        extra_positional and parameter.kind == parameter.POSITIONAL_OR_KEYWORD):
                    positional.append(values[parameter.name])
                else:
                    keywords[parameter.name] = values[parameter.name]
        return tuple(positional), keywords

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """The plain function on Keras's call arguments (real tensors)."""
        call_args, call_kwargs = self._arguments(args, kwargs)
        return self.function(*call_args, **call_kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.spec.class_name == "GetItem" and len(args) == 2 and isinstance(args[1], list):
            args = (args[0], tuple(args[1]))  # a key read back from JSON: Keras indexes with the tuple
        if not has_symbolic(args, kwargs):
            return self.run(*args, **kwargs)
        outputs = self._infer(args, kwargs)
        node = Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        return outputs

    def _infer(self, args: tuple, kwargs: dict) -> Any:
        """Symbolic outputs from meta runs, with a second placeholder batch to tell unknown sizes."""
        symbolic = [t for t in flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]
        try:
            first = self._run_placeholder(args, kwargs, _PLACEHOLDERS[0])
            unknown = any(None in t.shape for t in symbolic)
            second = self._run_placeholder(args, kwargs, _PLACEHOLDERS[1]) if unknown else first
        except Exception as error:
            shapes = [t.shape for t in symbolic]
            raise (TypeError if isinstance(error, TypeError) else ValueError)(
                f"kt.ops.{self.spec.name}() ({self.name}) cannot be applied to symbolic inputs of shapes {shapes} "
                f"({type(error).__name__}: {error}); check the shapes and arguments."
            ) from error
        return _to_symbolic(first, second)

    def _run_placeholder(self, args: tuple, kwargs: dict, size: int) -> Any:
        def stand_in(device: str) -> Callable:
            def make(leaf: Any) -> Any:
                if isinstance(leaf, SymbolicTensor):
                    shape = [size if s is None else s for s in leaf.shape]
                    return torch.zeros(shape, dtype=leaf.dtype, device=device)
                return leaf
            return make

        with torch.no_grad():
            try:
                return self.run(*map_structure(stand_in("meta"), args), **map_structure(stand_in("meta"), kwargs))
            except (ValueError, TypeError):
                raise
            except Exception:  # an op without a meta kernel (data-dependent shapes): small real tensors
                return self.run(*map_structure(stand_in("cpu"), args), **map_structure(stand_in("cpu"), kwargs))

    # --------------------------------------------------------------------------- config

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the name, then each constructor argument (defaults included)."""
        config: dict[str, Any] = {"name": self.name}
        for argument, source, *normalize in self.spec.config:
            if isinstance(source, str):
                config[argument] = _config_value(self.constants.get(source), normalize[0] if normalize else None)
            elif "kwarg" in source:  # Keras reads it from **kwargs
                config[argument] = self.constants.get(source["kwarg"], source["default"])
            else:
                config[argument] = source["const"]
        return config

    @classmethod
    def from_config(cls, module: str, class_name: str, config: dict[str, Any]) -> "Operation":
        """The operation a Keras config entry (`keras.src.ops.numpy`, `Mean`, {...}) describes."""
        name = _specs_by_class().get((module, class_name))
        if name is None:  # an op Keras does not have, saved by kerastorch under its own name
            name = snake_case(class_name)
        function = plain_function(name)
        spec = spec_of(name, module[len(_MODULE_PREFIX):])
        config = dict(config)
        op_name = config.pop("name", None)
        sources = {argument: source for argument, source, *_ in spec.config}
        unknown = sorted(set(config) - set(sources))
        if unknown:
            raise ValueError(
                f"The config of operation {op_name!r} ({class_name}) sets {unknown}, which kt.ops.{name}() does not "
                "take; remove them from the config."
            )
        constants = {}
        if spec.args is not None:
            parameters = inspect.signature(function).parameters
            open_keywords = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
            for argument, value in config.items():
                source = sources[argument]
                if isinstance(source, str):
                    constants[source] = value
                elif "kwarg" in source and (source["kwarg"] in parameters or open_keywords):
                    constants[source["kwarg"]] = value
                elif "kwarg" in source and value != source["default"]:
                    raise ValueError(
                        f"The config of operation {op_name!r} ({class_name}) sets {argument}={value!r}, which "
                        f"kt.ops.{name}() does not take; remove it from the config."
                    )
            called = {s.lstrip("*") for s in spec.args if isinstance(s, str)}
            called |= {s.lstrip("*") for _, s in spec.kwargs if isinstance(s, str)}
            for parameter in parameters.values():  # the function's defaults
                if parameter.name not in constants and parameter.name not in called \
                        and parameter.default is not parameter.empty:
                    constants[parameter.name] = parameter.default
        return cls(function, spec, constants, name=op_name)


def known_operation(module: str, class_name: Any) -> bool:
    """Whether kt.ops has the op a config entry (`keras.src.ops.numpy`, `Mean`) names."""
    from .. import ops

    name = _specs_by_class().get((module, class_name)) or snake_case(str(class_name))
    return callable(getattr(ops, name, None)) or callable(getattr(getattr(ops, "image", None), name, None))


def is_operation(value: Any) -> bool:
    return isinstance(value, Operation)


def is_operation_entry(entry: Any) -> bool:
    """Whether a config entry describes a Keras operation (not a layer)."""
    return isinstance(entry, dict) and str(entry.get("module") or "").startswith(_MODULE_PREFIX)


def serialize_operation(operation: Operation) -> dict[str, Any]:
    from ..saving.serialization import serialize_keras_object

    return {
        "module": operation.spec.module,
        "class_name": operation.spec.class_name,
        "config": serialize_keras_object(operation.get_config()),
        "registered_name": operation.spec.class_name,
    }


__all__ = ["Operation", "OpSpec", "has_symbolic", "is_operation", "serialize_operation", "symbolic_call", "wrap"]
