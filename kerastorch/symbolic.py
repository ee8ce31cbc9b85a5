"""Symbolic tensors, graph nodes, and shape inference on the `meta` device.

Calling a layer (or any module) on a `SymbolicTensor` builds it and then runs its real `forward`
on meta tensors, with meta stand-ins for its parameters: the output shape comes from the module's
own code, with no compute, no memory, and no hand-written `compute_output_shape`.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Callable

import torch

from . import config
from .tree import flatten, map_structure  # noqa: F401  (re-exported: graph code imports them from here)

# Placeholder sizes for unknown (None) dimensions; a second run tells them from real sizes.
_PLACEHOLDERS = (83, 89)

_HOW_TO_WRAP = (
    "To use a plain torch.nn.Module or torch function in a graph, wrap it as a layer: "
    "kt.layers.TorchModuleWrapper(module)(x), x | module, or kt.layers.Lambda(fn)(x)."
)


class SymbolicTensor:
    """A shape and dtype flowing through a graph of layers, with the node that produced it."""

    __slots__ = ("shape", "dtype", "node", "index", "name")

    def __init__(self, shape, dtype=None, node: "Node | None" = None, index: int = 0, name: str | None = None):
        self.shape = tuple(None if s is None else int(s) for s in shape)
        self.dtype = config.standardize_dtype(dtype)
        self.node = node
        self.index = index
        self.name = name

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        if self.shape and self.shape[0] is not None:
            return self.shape[0]
        raise TypeError("A symbolic tensor with an unknown batch size has no len().")

    def __repr__(self) -> str:
        return (
            f"<SymbolicTensor shape={self.shape}, dtype={config.dtype_name(self.dtype)}, "
            f"name={self.name}>"
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in SymbolicTensor.__slots__:  # copy/pickle probing, unset slots
            raise AttributeError(name)
        raise AttributeError(
            f"Symbolic tensor {self.name!r} has no attribute {name!r}: it only carries a shape and dtype. "
            f"{_HOW_TO_WRAP}"
        )

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        # A torch function reached with a symbolic tensor: a plain module or function was called on it.
        raise TypeError(f"{getattr(func, '__name__', func)}() received a symbolic tensor. {_HOW_TO_WRAP}")

    def __or__(self, layer: Callable) -> Any:
        """`x | layer` is `layer(x)` (a plain `nn.Module` is wrapped as a layer first); `x | y` of
        tensors is Keras's `logical_or`."""
        if not callable(layer):
            return _op("logical_or", self, layer)
        if isinstance(layer, torch.nn.Module) and not hasattr(layer, "_inbound_nodes"):
            layer = wrap_module(layer)
        return layer(self)

    # Python operators record the op Keras records for them (`x + 1` is `Add`, `x[:, 0]` is `GetItem`).
    __array_ufunc__ = None  # numpy scalars and arrays defer to the reflected operator

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"Symbolic tensor {self.name!r} has no values to convert to a NumPy array. {_HOW_TO_WRAP}")

    def __bool__(self) -> bool:
        raise TypeError(f"Symbolic tensor {self.name!r} has no truth value; use kt.ops.cond or kt.ops.where.")

    def __iter__(self) -> Any:
        raise TypeError(f"Symbolic tensor {self.name!r} cannot be iterated; use kt.ops.unstack or x[i].")

    def reshape(self, newshape: Any) -> "SymbolicTensor":
        return _op("reshape", self, newshape)

    def squeeze(self, axis: Any = None) -> "SymbolicTensor":
        return _op("squeeze", self, axis)

    def __round__(self, ndigits: int | None = None) -> "SymbolicTensor":
        return _op("round", self, ndigits or 0)


def _op(name: str, *args: Any) -> Any:
    from . import ops

    return getattr(ops, name)(*args)


def _operator(name: str, reflected: bool) -> Callable:
    if reflected:
        return lambda self, other: _op(name, other, self)
    return lambda self, *other: _op(name, self, *other)


for _dunder, _name in {
    "add": "add", "sub": "subtract", "mul": "multiply", "matmul": "matmul", "truediv": "true_divide",
    "floordiv": "floor_divide", "mod": "mod", "pow": "power", "and": "logical_and", "xor": "logical_xor",
}.items():
    setattr(SymbolicTensor, f"__{_dunder}__", _operator(_name, False))
    setattr(SymbolicTensor, f"__r{_dunder}__", _operator(_name, True))
for _dunder, _name in {
    "lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal", "ne": "not_equal",
    "neg": "negative", "abs": "absolute", "invert": "logical_not", "getitem": "get_item",
}.items():
    setattr(SymbolicTensor, f"__{_dunder}__", _operator(_name, False))
SymbolicTensor.__ror__ = _operator("logical_or", True)


def wrap_module(module: torch.nn.Module) -> Any:
    """The layer that stands for a plain module in graphs; one per module, so reuse is sharing."""
    wrapper = module.__dict__.get("_kerastorch_layer")
    if wrapper is None:
        from .layers.torch_module import as_layer

        wrapper = as_layer(module)
        object.__setattr__(module, "_kerastorch_layer", wrapper)  # not a submodule: no cycle in modules()
    return wrapper


class Node:
    """One call of a layer on symbolic inputs: what went in, what came out."""

    def __init__(self, layer, args: tuple, kwargs: dict, outputs: Any):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.input_tensors = [t for t in flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]
        self.outputs = outputs
        for index, tensor in enumerate(flatten(outputs)):
            if isinstance(tensor, SymbolicTensor):
                tensor.node, tensor.index = self, index
                tensor.name = tensor.name or (layer.name if index == 0 else f"{layer.name}_{index}")

    @property
    def parent_nodes(self) -> list["Node"]:
        return [t.node for t in self.input_tensors if t.node is not None]

    @property
    def is_input(self) -> bool:
        return not self.input_tensors


def symbolic_like(structure: Any) -> Any:
    """Shape-and-dtype stand-ins (no data, no graph node) for the tensors in `structure`."""
    return map_structure(
        lambda leaf: SymbolicTensor(leaf.shape, leaf.dtype) if isinstance(leaf, torch.Tensor) else leaf, structure
    )


def call_symbolic(layer, args: tuple, kwargs: dict) -> Any:
    """`layer(*args)` on symbolic inputs: build the layer, infer its outputs, record the node.

    A call that fails (a wrong shape, a wrong number of inputs) leaves an unbuilt layer unbuilt,
    without the weights its failed build may have created, and raises a ValueError naming the
    layer and the shapes it received.
    """
    inputs = args[0] if args else kwargs.get("inputs")
    snapshot = None if layer.built else _snapshot(layer)
    try:
        if not layer.built:
            layer._build_for(inputs)
        spec = getattr(layer, "input_spec", None)
        if spec is not None and isinstance(inputs, SymbolicTensor):
            spec.check(layer, inputs)
        outputs = infer_outputs(layer, args, kwargs)
    except Exception as error:
        if snapshot is not None:
            _restore(layer, snapshot)
        if isinstance(error, ValueError):
            raise
        raise ValueError(_call_error(layer, args, kwargs, error)) from error
    node = Node(layer, args, kwargs, outputs)
    if hasattr(layer, "_inbound_nodes"):
        layer._inbound_nodes.append(node)
    return outputs


def _call_error(module: torch.nn.Module, args: tuple, kwargs: dict, error: Exception) -> str:
    shapes = [t.shape for t in flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]
    name = getattr(module, "name", type(module).__name__)
    received = f"1 input of shape {shapes[0]}" if len(shapes) == 1 else f"{len(shapes)} inputs of shapes {shapes}"
    return (
        f"Layer {name!r} ({type(module).__name__}) cannot be called on {received} "
        f"({type(error).__name__}: {error}); check the number and shapes of the inputs it takes."
    )


def _snapshot(layer) -> tuple:
    """What a build may add to a layer, so a failed first call can take it back."""
    return (
        set(layer._parameters), set(layer._buffers), set(layer._modules),
        dict(getattr(layer, "_keras_layouts", {})), getattr(layer, "input_spec", None),
    )


def _restore(layer, snapshot: tuple) -> None:
    parameters, buffers, modules, layouts, spec = snapshot
    removed = []
    for registry, keep in ((layer._parameters, parameters), (layer._buffers, buffers), (layer._modules, modules)):
        for name in [n for n in registry if n not in keep]:
            removed.append(id(registry.pop(name)))
    if hasattr(layer, "_keras_layouts"):
        layer._keras_layouts = layouts
    pending = getattr(layer, "_pending_weight_names", {})
    for weight_id in removed:
        pending.pop(weight_id, None)
    layer.input_spec = spec
    layer.built = False


def infer_outputs(module: torch.nn.Module, args: tuple, kwargs: dict) -> Any:
    """Output structure of `module(*args, **kwargs)` as SymbolicTensors, computed on `meta`."""
    symbolic = [t for t in flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]
    has_unknown = any(None in t.shape for t in symbolic)
    first = _run(module, args, kwargs, _PLACEHOLDERS[0])
    if has_unknown and _only_batch_unknown(symbolic) and _batch_stands_out(first):
        return _batch_unknown(first)  # the batch axis is told apart without a second run
    # Any output size may derive from an unknown one (83 * 83, a strided conv's (83 - 3) // 2 + 1),
    # so a second run with another placeholder tells unknown sizes from fixed ones.
    second = _run(module, args, kwargs, _PLACEHOLDERS[1]) if has_unknown else first
    return _to_symbolic(first, second)


def _only_batch_unknown(tensors: list[SymbolicTensor]) -> bool:
    return all(t.shape and t.shape[0] is None and None not in t.shape[1:] for t in tensors)


def _batch_stands_out(outputs: Any) -> bool:
    """Each output keeps the placeholder batch on axis 0 and no other size is a multiple of it.

    83 is prime, so a size computed from the batch (a reshape that folds it in, a concatenation
    along it) is a multiple of 83, and a size cut from it (x[1:]) moves axis 0 off 83: either case
    takes the second run. A fixed size that happens to be a multiple of 83 only costs that run.
    """
    placeholder = _PLACEHOLDERS[0]
    tensors = [t for t in flatten(outputs) if isinstance(t, torch.Tensor)]
    return bool(tensors) and all(
        t.ndim >= 1 and t.shape[0] == placeholder and all(size % placeholder for size in t.shape[1:])
        for t in tensors
    )


def _batch_unknown(outputs: Any) -> Any:
    return map_structure(
        lambda t: SymbolicTensor((None, *t.shape[1:]), t.dtype) if isinstance(t, torch.Tensor) else t, outputs
    )


def _to_symbolic(first: Any, second: Any) -> Any:
    """Dimensions that changed with the placeholder are unknown (None); the rest are fixed."""
    if isinstance(first, torch.Tensor):
        return SymbolicTensor([None if a != b else a for a, b in zip(first.shape, second.shape)], first.dtype)
    if isinstance(first, (list, tuple)):
        items = [_to_symbolic(a, b) for a, b in zip(first, second)]
        return type(first)(*items) if hasattr(first, "_fields") else type(first)(items)
    if isinstance(first, dict):
        return {k: _to_symbolic(first[k], second[k]) for k in first}
    return first


# A layer this small (inputs and weights, in elements) infers its shapes on real zero tensors:
# microseconds of compute, where torch's meta kernels cost about a millisecond per op.
_REAL_RUN_ELEMENTS = 1 << 16


def _real_run_device(module: torch.nn.Module, args: tuple, kwargs: dict, placeholder: int) -> torch.device | None:
    """Where to run a leaf layer (no sublayers, no state buffers such as running statistics) whose
    inputs and weights are small; None when it should run on meta."""
    if module._modules or module._buffers:
        return None
    total, device = 0, _CPU
    for weight in module._parameters.values():
        if weight is None:
            continue
        if weight.is_meta or isinstance(weight, torch.nn.parameter.UninitializedTensorMixin):
            return None
        total += weight.numel()
        device = weight.device
    for leaf in flatten((args, kwargs)):
        if isinstance(leaf, SymbolicTensor):
            total += math.prod(placeholder if s is None else s for s in leaf.shape)
    return device if total <= _REAL_RUN_ELEMENTS else None


_CPU = torch.device("cpu")


def _run(module: torch.nn.Module, args: tuple, kwargs: dict, placeholder: int) -> Any:
    """Run the module's forward on meta tensors; fall back to small real tensors if meta fails."""

    def on(device):
        def make(leaf):
            if isinstance(leaf, SymbolicTensor):
                shape = [placeholder if s is None else s for s in leaf.shape]
                return torch.zeros(shape, dtype=leaf.dtype, device=device)
            return leaf

        return map_structure(make, args), map_structure(make, kwargs)

    device = _real_run_device(module, args, kwargs, placeholder)
    if device is not None:
        real_args, real_kwargs = on(device)
        cpu_rng = torch.get_rng_state()  # random layers must not advance the streams a meta run leaves alone
        cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
        try:
            with torch.no_grad():
                return module(*real_args, **real_kwargs)
        except ValueError:
            raise
        except Exception:
            pass  # the meta run below gives the result, or the error to report
        finally:
            torch.set_rng_state(cpu_rng)
            if cuda_rng is not None:
                torch.cuda.set_rng_state(cuda_rng, device)

    meta_args, meta_kwargs = on("meta")

    def weights() -> list:
        return list(itertools.chain(
            module.named_parameters(remove_duplicate=False), module.named_buffers(remove_duplicate=False)
        ))

    def call_on_meta() -> Any:
        # One entry per attribute slot: a submodule registered under two names (timm's CoaT) is one
        # slot, swapped and restored once; a tensor shared by two slots gets one meta stand-in.
        state, slots, stand_ins = {}, set(), {}
        for name, tensor in weights():
            owner_name, _, attribute = name.rpartition(".")
            slot = (id(module.get_submodule(owner_name)), attribute)
            if slot not in slots:
                slots.add(slot)
                if id(tensor) not in stand_ins:
                    stand_ins[id(tensor)] = torch.empty_like(tensor, device="meta")
                state[name] = stand_ins[id(tensor)]
        with torch.no_grad():
            return torch.func.functional_call(
                module, state, tuple(meta_args), meta_kwargs, strict=False, tie_weights=False
            )

    try:
        while True:
            count = len(weights())
            try:
                return call_on_meta()
            except ValueError:
                raise
            except Exception:
                if len(weights()) == count:
                    raise
                # Sublayers built themselves during the run (a subclassed model's first call) with
                # real weights, which meta inputs cannot mix with; now that they exist, run again.
    except ValueError:
        raise  # a layer's own shape check: already a clear message
    except Exception as meta_error:  # an op without a meta kernel: try real (small) tensors
        device = next(itertools.chain(module.parameters(), module.buffers()), torch.empty(0)).device
        real_args, real_kwargs = on(device)
        try:
            with torch.no_grad():
                output = module(*real_args, **real_kwargs)
        except ValueError:
            raise
        except Exception as error:
            raise ValueError(_call_error(module, args, kwargs, error)) from meta_error
        return output
