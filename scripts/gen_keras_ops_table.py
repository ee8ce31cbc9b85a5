"""Regenerate `kerastorch/ops/keras_ops.py`: how Keras 3 records each `keras.ops` call as a graph node.

Keras turns `ops.mean(x, axis=1)` into `Mean(axis=1, keepdims=False).symbolic_call(x)`: a class, the
function arguments that become its constructor config, and those that become the call's arguments.
That split is what `.keras` files store, so kerastorch needs it per op to read and write the same
files. This script reads it from the installed Keras (the function's source, the class signature)
and writes it as plain data; run it after upgrading Keras:

    KERAS_BACKEND=torch python scripts/gen_keras_ops_table.py
"""

from __future__ import annotations

import ast
import inspect
import os
import pprint
import textwrap

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "kerastorch", "ops", "keras_ops.py")
_SIMPLE = (str, int, float, bool, type(None))


def _op_call(function) -> tuple[ast.Call, ast.Call] | None:
    """The `Class(...)` and `.symbolic_call(...)`/`(...)` calls that record the node, if exactly one."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr == "symbolic_call" \
                and isinstance(node.func.value, ast.Call):
            found.append((node.func.value, node))
        elif isinstance(node.func, ast.Call) and isinstance(node.func.func, ast.Name) \
                and node.func.func.id[:1].isupper():
            found.append((node.func, node))
    return found[0] if len(found) == 1 else None


def _alias_target(function) -> str | None:
    """`abs(x): return absolute(x)`: the op function this one forwards to."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = [s for s in tree.body[0].body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) == 1 and isinstance(body[0], ast.Return) and isinstance(body[0].value, ast.Call) \
            and isinstance(body[0].value.func, ast.Name):
        return body[0].value.func.id
    return None


def _source(expr: ast.expr, params: set[str]):
    """A function parameter (its name) or a constant ({'const': value}); None for anything computed."""
    if isinstance(expr, ast.Name) and expr.id in params:
        return expr.id
    try:
        value = ast.literal_eval(expr)
    except ValueError:
        return None
    return {"const": value}


# How Keras's op functions normalize an argument before it reaches the constructor (and the config).
_NORMALIZERS = (
    ("standardize_data_format", "data_format"), ("image_data_format", "data_format"), (".lower()", "lower"),
    ("None if", "dtype_or_none"), ("standardize_dtype", "dtype"), ("tuple(", "tuple"),
)


def _normalizer(function, parameter: str) -> str | None:
    """The normalization Keras applies to `parameter` before recording it (`padding.lower()`, ...)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == parameter for t in node.targets):
            value = node.value
            if isinstance(value, ast.Tuple) and all(isinstance(e, ast.Name) and e.id == parameter for e in value.elts):
                return f"repeat{len(value.elts)}"  # `size = (size, size, size)`
            text = ast.unparse(value)
            for marker, tag in _NORMALIZERS:
                if marker in text:
                    return tag
    return None


def spec_for(name: str, function) -> dict | None:
    signature = inspect.signature(function)
    params = set(signature.parameters)
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in signature.parameters.values())
    found = _op_call(function)
    if found is None:
        return None
    construct, call = found
    cls = function.__globals__.get(construct.func.id)
    if cls is None or not isinstance(cls, type):
        return None
    init = [p for p in inspect.signature(cls.__init__).parameters.values()
            if p.name not in ("self", "name") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    given = {}
    for parameter, expr in zip(init, construct.args):
        given[parameter.name] = _source(expr, params)
    for keyword in construct.keywords:
        if keyword.arg is not None:
            given[keyword.arg] = _source(keyword.value, params)
    config = []
    for parameter in init:
        if parameter.name in given:
            source = given[parameter.name]
            if source is None and parameter.name in params:  # computed from the argument of the same name
                source = parameter.name
            elif source is None and takes_kwargs and isinstance(parameter.default, _SIMPLE):
                source = {"kwarg": parameter.name, "default": parameter.default}  # read from **kwargs
        elif parameter.default is not parameter.empty and isinstance(parameter.default, _SIMPLE):
            source = {"const": parameter.default}
        else:
            source = None
        if source is not None:
            tag = _normalizer(function, source) if isinstance(source, str) else None
            config.append((parameter.name, source, tag) if tag else (parameter.name, source))
    args, kwargs = [], []
    for expr in call.args:
        if isinstance(expr, ast.Starred) and isinstance(expr.value, ast.Name):
            args.append("*" + expr.value.id)
        else:
            args.append(_source(expr, params))
    for keyword in call.keywords:
        if keyword.arg is None and isinstance(keyword.value, ast.Name):
            kwargs.append(("**", "**" + keyword.value.id))
        else:
            kwargs.append((keyword.arg, _source(keyword.value, params)))
    if any(a is None for a in args) or any(v is None for _, v in kwargs):
        return None
    return (cls.__module__.rsplit(".", 1)[-1], cls.__name__, tuple(config), tuple(args), tuple(kwargs))


def main() -> None:
    functions = {}
    for name in dir(keras.ops):
        value = getattr(keras.ops, name)
        if not name.startswith("_") and inspect.isfunction(value):
            functions[name] = value
    for name in dir(keras.ops.image):
        value = getattr(keras.ops.image, name)
        if not name.startswith("_") and inspect.isfunction(value):
            if name in functions and functions[name] is not value:
                raise SystemExit(f"keras.ops.image.{name} clashes with keras.ops.{name}")
            functions[name] = value
    specs, plain = {}, []
    for name, function in sorted(functions.items()):
        spec = spec_for(name, function)
        if spec is None:
            target = _alias_target(function)
            if target in functions and spec_for(target, functions[target]) is not None \
                    and list(inspect.signature(function).parameters) == \
                    list(inspect.signature(functions[target]).parameters):
                spec = spec_for(target, functions[target])
        if spec is None:
            plain.append(name)
        else:
            specs[name] = spec
    with open(OUT, "w") as file:
        file.write(
            '"""How Keras 3 records each `keras.ops` call as a graph node (generated; do not edit).\n\n'
            "Written by `scripts/gen_keras_ops_table.py` from Keras " + keras.__version__ + ". Per op name:\n"
            "(module under `keras.src.ops`, class, config, args, kwargs). `config` lists the constructor\n"
            "arguments in order, each with the function argument it comes from ({'const': value}, or\n"
            "{'kwarg': name, 'default': value} from **kwargs) and how Keras normalizes it first, if it does;\n"
            "`args`/`kwargs` are the function arguments the node is called with (`*name` unpacks). `PLAIN`\n"
            "ops never make a node: Keras runs them on symbolic tensors directly.\n"
            '"""\n\n'
        )
        file.write("SPECS = {\n")
        for name, spec in sorted(specs.items()):
            file.write(f"    {name!r}: {spec!r},\n")
        file.write("}\n\n")
        file.write("PLAIN = " + pprint.pformat(sorted(plain), width=120, compact=True) + "\n")
    print(f"{len(specs)} ops with nodes, {len(plain)} plain: {plain}")


if __name__ == "__main__":
    main()
