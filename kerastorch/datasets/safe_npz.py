"""Read `.npz` files without unpickling: numeric arrays by numpy (`allow_pickle=False`), ragged object
arrays (IMDB's and Reuters' lists of word ids) by walking their pickle stream as data.

An object array is stored as a pickle program. Instead of running it, `pickletools.genops` parses
the opcodes and a small stack machine builds only plain values (ints, floats, strings, bytes,
lists, tuples, dicts) plus numpy arrays described by the names an array pickle uses (numpy's
array and dtype rebuilders, and protocol 2's latin-1 spelling of bytes). No
module is imported and nothing is called: any other global, or an unknown opcode, rejects the file.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_npz"]

_ARRAY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct", ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy", "ndarray"): "ndarray", ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",  # protocol 2 spells bytes as encode(text, "latin1")
    ("numpy.core.numeric", "_frombuffer"): "frombuffer", ("numpy._core.numeric", "_frombuffer"): "frombuffer",
}


class _Global:
    def __init__(self, kind: str):
        self.kind = kind


class _Call:
    """`callable(*args)` recorded, not run; `state` is what a later BUILD gives it."""

    def __init__(self, function: _Global, args: tuple):
        self.function, self.args, self.state = function, args, None


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an `.npz` file by name, object arrays included, with no unpickling."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                arrays[member[:-4]] = read_npy(io.BytesIO(archive.read(member)), f"{path}:{member}")
    return arrays


def read_npy(stream: io.BytesIO, where: str = "array") -> np.ndarray:
    """One `.npy` stream: numpy reads numeric data; an object array's pickle stream is parsed as data."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    result = _materialize(_run(stream.read(), where), where)
    if not isinstance(result, np.ndarray) or result.shape != tuple(shape):
        raise ValueError(f"{where}: the object array's data does not match its header shape {shape}.")
    return result


def _run(program: bytes, where: str) -> Any:
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[int, Any] = {}

    def pop_mark() -> list:
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    for opcode, arg, _ in pickletools.genops(program):
        name = opcode.name
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            return stack.pop()
        if name == "MARK":
            marks.append(len(stack))
        elif name in ("NONE", "NEWTRUE", "NEWFALSE"):
            stack.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}[name])
        elif name in ("BININT", "BININT1", "BININT2", "LONG1", "LONG4", "BINFLOAT", "BINUNICODE",
                      "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8"):
            stack.append(arg)
        elif name == "BYTEARRAY8":
            stack.append(bytes(arg))
        elif name in ("BINSTRING", "SHORT_BINSTRING"):  # Python 2 `str`: raw bytes
            stack.append(arg.encode("latin-1") if isinstance(arg, str) else arg)
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "APPEND":
            value = stack.pop()
            _expect(stack[-1], list, where).append(value)
        elif name == "APPENDS":
            items = pop_mark()
            _expect(stack[-1], list, where).extend(items)
        elif name == "LIST":
            stack.append(pop_mark())
        elif name == "TUPLE":
            stack.append(tuple(pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            count = int(name[-1])
            items = tuple(stack[-count:])
            del stack[-count:]
            stack.append(items)
        elif name == "SETITEM":
            value, key = stack.pop(), stack.pop()
            _expect(stack[-1], dict, where)[key] = value
        elif name in ("SETITEMS", "DICT"):
            items = pop_mark()
            target = {} if name == "DICT" else _expect(stack[-1], dict, where)
            target.update(zip(items[::2], items[1::2]))
            if name == "DICT":
                stack.append(target)
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            if name == "GLOBAL":
                module, _, attribute = arg.partition(" ")
            else:
                attribute, module = stack.pop(), stack.pop()
            kind = _ARRAY_GLOBALS.get((module, attribute))
            if kind is None:
                raise ValueError(
                    f"{where}: the data names {module}.{attribute}, which is not part of a numpy array; the file is "
                    "corrupted or crafted, so it is refused (it was not unpickled)."
                )
            stack.append(_Global(kind))
        elif name == "REDUCE":
            args, function = stack.pop(), stack.pop()
            stack.append(_Call(_expect(function, _Global, where), _expect(args, tuple, where)))
        elif name == "BUILD":
            state = stack.pop()
            _expect(stack[-1], _Call, where).state = state
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[int(arg)] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo[int(arg)])
        elif name == "POP":
            stack.pop()
        elif name == "POP_MARK":
            pop_mark()
        elif name == "DUP":
            stack.append(stack[-1])
        else:
            raise ValueError(f"{where}: unexpected pickle opcode {name} in an array's data; the file is refused.")
    raise ValueError(f"{where}: the array's data ends without a STOP opcode.")


def _expect(value: Any, kind: type, where: str) -> Any:
    if not isinstance(value, kind):
        raise ValueError(f"{where}: malformed array data (expected {kind.__name__}, found {type(value).__name__}).")
    return value


def _materialize(value: Any, where: str) -> Any:
    """Turn recorded numpy calls into arrays and dtypes; plain values pass through (lists recursively)."""
    if isinstance(value, list):
        return [_materialize(v, where) for v in value]
    if isinstance(value, tuple):
        return tuple(_materialize(v, where) for v in value)
    if not isinstance(value, _Call):
        if isinstance(value, _Global):
            raise ValueError(f"{where}: malformed array data (a bare numpy name).")
        return value
    kind = value.function.kind
    if kind == "encode":
        text, encoding = (value.args + ("utf-8",))[:2]
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise ValueError(f"{where}: malformed array data (an unexpected text encoding {encoding!r}).")
        return text.encode("latin-1")
    if kind == "frombuffer":  # protocol 5: _frombuffer(data, dtype, shape, order)
        data, dtype, shape, order = (_materialize(a, where) for a in value.args)
        return np.frombuffer(_expect(data, bytes, where), dtype=dtype).reshape(shape, order=order).copy()
    if kind == "dtype":
        dtype = np.dtype(str(value.args[0]))
        order = value.state[1] if isinstance(value.state, tuple) and len(value.state) > 1 else "|"
        return dtype.newbyteorder(order) if order in "<>" and dtype.byteorder not in ("|", "=") else dtype
    if kind != "reconstruct" or not isinstance(value.state, tuple) or len(value.state) != 5:
        raise ValueError(f"{where}: malformed array data (a numpy call that does not rebuild an array).")
    _, shape, dtype, fortran, data = value.state
    dtype, data = _materialize(dtype, where), _materialize(data, where)
    order = "F" if fortran else "C"
    if isinstance(data, (bytes, bytearray)):
        return np.frombuffer(bytes(data), dtype=dtype).reshape(shape, order=order).copy()
    items = _expect(data, list, where)
    array = np.empty(len(items), dtype=object)
    for index, item in enumerate(items):  # one by one: equal-length lists must stay list objects
        array[index] = item
    return array.reshape(shape, order=order)
