"""Ops and Python operators on symbolic tensors: graph nodes built, shown, run and saved as Keras does.

Each graph below is written once against a library (`lib` is `keras` or `kerastorch`), built in both,
and compared: the operations (name, class, output shape), the summary rows, the config (module,
class, constructor config, call arguments), the outputs on the same data, and `.keras` files saved by
each library and loaded by the other.
"""

import inspect
import json
import re

import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from kerastorch.ops.keras_ops import SPECS
from kerastorch.saving import load_model

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 3, 4)).astype("float32")
V = RNG.normal(size=(5, 4)).astype("float32")


def operators(lib):
    """The issue's example and every Python operator Keras records on a symbolic tensor."""
    x = lib.Input((3, 4), name="x")
    y = lib.ops.mean(x, axis=1) + 1
    outputs = [
        y, 2 - y, y * 3, 3 * y, y / 2, 3 / y, y // 2, 7 // y, y % 2, 5 % y, y ** 2, 2 ** y, -y, abs(y),
        x @ lib.ops.transpose(x, (0, 2, 1)), y < 1, y <= 1, y > 1, y >= 1, y != 1, ~(y > 1),
        (y > 0) & (y < 1), (y > 1) | (y < 0), (y > 1) ^ (y < 0), round(y), y.reshape((-1, 2, 2)),
        y.squeeze(), x[:, 0], x[:, 1:, ...], x[..., ::2], x[:, None, -1],
    ]
    return lib.Model(x, outputs)


def ops_with_arguments(lib):
    """Ops whose Keras config holds constructor arguments, ops over lists, keyword calls, layers in between."""
    x = lib.Input((3, 4), name="x")
    v = lib.Input((4,), name="v")
    ops = lib.ops
    hidden = lib.layers.Dense(4, name="dense_a")(v)
    outputs = [
        ops.sum(x, axis=-1, keepdims=True), ops.max(x, axis=(1, 2)), ops.reshape(x, (-1, 12)),
        ops.concatenate([hidden, v, ops.relu(v)], axis=-1), ops.softmax(x, axis=1), ops.cast(v, "int32"),
        ops.where(v > 0, v, hidden), ops.clip(v, -0.5, 0.5), ops.expand_dims(v, 1),
        ops.einsum("bij,bj->bi", x, v), ops.pad(x, [[0, 0], [1, 1], [0, 0]]), ops.stack([v, hidden], axis=1),
        ops.matmul(x, v[:, :, None]), ops.square(ops.sigmoid(hidden)), ops.argmax(x, axis=-1),
        lib.layers.Dense(2, name="dense_b")(ops.tanh(hidden) * v.shape[1]), ops.squeeze(ops.mean(x, 1, True), 1),
    ]
    return lib.Model([x, v], outputs)


GRAPHS = [operators, ops_with_arguments]


def _inputs(model):
    return [X] if len(model.inputs) == 1 else [X, V]


def _copy_weights(source_kt, target):
    target.set_weights(source_kt.get_weights())


def _base(name):
    return re.sub(r"_\d+$", "", name)


def _kt_outputs(model, inputs):
    with torch.no_grad():
        result = model([torch.from_numpy(a) for a in inputs] if len(inputs) > 1 else torch.from_numpy(inputs[0]))
    return [r.numpy() for r in (result if isinstance(result, (list, tuple)) else [result])]


def _keras_outputs(model, inputs):
    result = model(inputs if len(inputs) > 1 else inputs[0])
    return [keras.ops.convert_to_numpy(r) for r in (result if isinstance(result, (list, tuple)) else [result])]


def _assert_outputs_equal(expected, actual):
    assert len(expected) == len(actual)
    for index, (a, b) in enumerate(zip(expected, actual)):
        assert a.shape == b.shape, index
        assert str(a.dtype) == str(b.dtype), (index, a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=f"output {index}")


def _normalized(config):
    """A functional config with auto names replaced by their position, so two processes' counters agree."""
    names = {entry["name"]: f"#{i}" for i, entry in enumerate(config["layers"])}

    def rename(value):  # string values only: an op's argument may be spelled like an auto name (`threshold`)
        if isinstance(value, str):
            return names.get(value, value)
        if isinstance(value, list):
            return [rename(v) for v in value]
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        return value

    normalized = rename(json.loads(json.dumps(config)))
    normalized.pop("name")  # the model's own auto name
    for entry in normalized["layers"]:
        entry.pop("build_config", None)  # layers' build configs are compared by the saving tests
        if entry["module"] == "keras.layers":
            entry["config"] = {"name": entry["config"]["name"]}  # layer configs: tested per layer elsewhere
    return normalized


@pytest.fixture(scope="module", params=GRAPHS, ids=lambda g: g.__name__)
def pair(request):
    reference, model = request.param(keras), request.param(kt)
    _copy_weights(model, reference)
    return reference, model


def test_nodes_match_keras(pair):
    reference, model = pair
    expected = [(_base(op.name), type(op).__name__, tuple(op.output.shape)) for op in reference.operations]
    actual = [(_base(op.name), getattr(op, "layer_type", type(op).__name__), tuple(op.output.shape))
              for op in model.operations]
    assert actual == expected
    assert [_base(layer.name) for layer in model.layers] == [_base(layer.name) for layer in reference.layers]
    dtypes = [kt.config.dtype_name(t.dtype) for t in model.outputs]
    assert dtypes == [t.dtype for t in reference.outputs]


def test_summary_rows_match_keras(pair):
    reference, model = pair
    lines = []
    model.summary(print_fn=lines.append, line_length=250)
    text = lines[0]
    for op in model.operations:
        label = f"{op.name} ({getattr(op, 'layer_type', type(op).__name__)})"
        assert label in text
    reference_lines = []
    reference.summary(print_fn=lambda line, **kwargs: reference_lines.append(line), line_length=250)
    row = r"│ (\w+) \((\w+)\)"  # the `name (Type)` cell of each row; shapes are compared in test_nodes_match_keras
    rows = re.findall(row, text)
    expected_rows = re.findall(row, "\n".join(reference_lines))
    assert [(_base(n), kind) for n, kind in rows] == [(_base(n), kind) for n, kind in expected_rows]
    assert len(rows) == len(model.operations)


def test_config_matches_keras(pair):
    reference, model = pair
    assert _normalized(model.get_config()) == _normalized(json.loads(json.dumps(reference.get_config())))


def test_outputs_match_keras(pair):
    reference, model = pair
    inputs = _inputs(model)
    _assert_outputs_equal(_keras_outputs(reference, inputs), _kt_outputs(model, inputs))


def test_keras_file_from_kerastorch_loads_in_keras(pair, tmp_path):
    _, model = pair
    model.save(tmp_path / "ops.keras")
    loaded = keras.saving.load_model(tmp_path / "ops.keras")
    inputs = _inputs(model)
    _assert_outputs_equal(_kt_outputs(model, inputs), _keras_outputs(loaded, inputs))


def test_keras_file_from_keras_loads_in_kerastorch(pair, tmp_path):
    reference, model = pair
    reference.save(tmp_path / "ops.keras")
    loaded = load_model(tmp_path / "ops.keras")
    assert [type(op).__name__ if isinstance(op, torch.nn.Module) else op.layer_type for op in loaded.operations] == \
        [type(op).__name__ for op in reference.operations]
    inputs = _inputs(model)
    _assert_outputs_equal(_keras_outputs(reference, inputs), _kt_outputs(loaded, inputs))
    assert _normalized(loaded.get_config()) == _normalized(json.loads(json.dumps(reference.get_config())))


def test_eager_calls_are_plain_torch_and_layers_list_excludes_ops():
    x = torch.randn(2, 3)
    assert torch.equal(kt.ops.mean(x, axis=1), x.mean(dim=1))
    assert kt.ops.mean.__wrapped__ is kt.ops.numpy.mean.__wrapped__
    assert kt.ops.numpy.mean is kt.ops.mean  # wrapped in the group module too
    inputs = kt.Input((3,))
    model = kt.Model(inputs, kt.layers.Dense(2)(kt.ops.mean(inputs, axis=-1, keepdims=True) * inputs))
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert [name for name, _ in model.named_children()] == ["0", "1"]  # ops are not modules


def test_symbolic_tensor_properties_are_values_like_keras():
    x = kt.Input((3, 4))
    assert x.shape == (None, 3, 4) and x.ndim == 3 and x.dtype == torch.float32
    assert kt.ops.shape(x) == (None, 3, 4)  # a plain value, no node, as in Keras
    with pytest.raises(TypeError, match="truth value"):
        bool(x > 0)
    with pytest.raises(ValueError, match="NumPy"):
        np.asarray(x)
    y = np.float32(2.0) * x  # numpy scalars defer to the symbolic tensor's reflected operator
    assert y.node.layer.layer_type == "Multiply" and y.node.args[0] == 2.0 and y.node.args[1] is x


def test_bad_symbolic_op_call_names_the_op_and_shapes():
    x = kt.Input((3, 4))
    with pytest.raises(ValueError, match=r"kt\.ops\.reshape\(\).*\(None, 3, 4\)"):
        kt.ops.reshape(x, (5, 7))
    with pytest.raises(TypeError, match=r"kt\.ops\.mean\(\)"):
        kt.ops.mean(x, axis=1, bogus=True)


def test_pipe_still_calls_layers_and_or_of_tensors_is_logical_or():
    x = kt.Input((4,))
    assert (x | kt.layers.Dense(2)).shape == (None, 2)
    assert ((x > 0) | (x < -1)).node.layer.layer_type == "LogicalOr"


def test_clone_model_recreates_ops_nodes_like_keras():
    def build(lib):
        inputs = lib.Input((3, 4))
        return lib.Model(inputs, lib.layers.Dense(2)(lib.ops.mean(inputs, axis=1) + 1))

    model, reference = build(kt), build(keras)
    clone, reference_clone = kt.models.clone_model(model), keras.models.clone_model(reference)
    kinds = [getattr(op, "layer_type", type(op).__name__) for op in clone.operations]
    assert kinds == [type(op).__name__ for op in reference_clone.operations]
    assert not set(map(id, clone.operations)) & set(map(id, model.operations))  # new nodes, as in Keras
    assert [op.name for op in clone.operations] == [op.name for op in model.operations]
    assert clone.operations[1].get_config() == model.operations[1].get_config()


def test_model_with_ops_compiles_fullgraph():
    inputs = kt.Input((3, 4))
    hidden = kt.layers.Dense(5)(inputs[:, 0] * 2 + kt.ops.mean(inputs, axis=1))
    outputs = kt.ops.concatenate([kt.ops.relu(hidden), -hidden], axis=-1) ** 2
    model = kt.Model(inputs, outputs)
    x = torch.randn(4, 3, 4)
    torch._dynamo.reset()  # compiled code is cached per code object across tests: start and leave clean
    try:
        with torch.no_grad():
            expected = model(x)
            compiled = torch.compile(model, fullgraph=True, backend="eager")
            torch.testing.assert_close(compiled(x), expected)
    finally:
        torch._dynamo.reset()


def test_ops_node_step_calls_the_plain_function_with_bound_constants():
    """The plan calls the torch function itself (constants bound once), not the eager wrapper."""
    inputs = kt.Input((4,))
    model = kt.Model(inputs, kt.ops.sum(inputs, axis=-1, keepdims=True) + 1)
    (runner, *_), (add_runner, _, where, *_) = model._steps
    assert runner.func is kt.ops.sum.__wrapped__ and runner.keywords == {"axis": -1, "keepdims": True}
    assert add_runner is kt.ops.add.__wrapped__ and where[1] == (-1, 1)  # the constant 1, bound in the step
    x = torch.randn(2, 4)
    torch.testing.assert_close(model(x), x.sum(-1, keepdims=True) + 1)


# ----------------------------------------------------------------------------------- every op
# One node per row of the eager differential table (tests/test_ops.py): its array arguments become
# `Input`s with the same fixed shapes, the rest stay constants, exactly as Keras records them.


def _call_arguments(r):
    """The row's arguments, bound to Keras's signature: which are the node's call arguments (tensors)."""
    name = r.name.split(".")[-1]
    keras_function = _resolve(keras.ops, r.name)
    bound = inspect.signature(keras_function).bind(*r.args, **r.kwargs)
    _, _, _, args, kwargs = SPECS[name]
    called = {source.lstrip("*") for source in args if isinstance(source, str)}
    called |= {source.lstrip("*") for _, source in kwargs if isinstance(source, str)}
    return bound, called


def _symbolic_row(lib, r, inputs):
    """The op called on `Input`s standing for the array arguments Keras records as call arguments."""
    bound, called = _call_arguments(r)

    def to_input(value):
        if isinstance(value, np.ndarray) and value.ndim > 0:
            inputs.append((lib.Input(batch_shape=value.shape, dtype=str(value.dtype)), value))
            return inputs[-1][0]
        if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) and v.ndim > 0 for v in value):
            return type(value)(to_input(v) for v in value)
        return value

    arguments = {k: to_input(v) if k in called else v for k, v in bound.arguments.items()}
    bound = bound.signature.bind_partial()
    bound.arguments.update(arguments)
    return _resolve(lib.ops, r.name)(*bound.args, **bound.kwargs)


def _flat_symbolic(structure, kind):
    leaves = structure if isinstance(structure, (list, tuple)) else [structure]
    return [leaf for leaf in leaves if isinstance(leaf, kind)]


def _specs(tensors):
    return [(tuple(t.shape), kt.config.dtype_name(t.dtype) if isinstance(t.dtype, torch.dtype) else str(t.dtype))
            for t in tensors]


def _as_list(result):
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _check_row(r, load_in_keras=True):
    """None when the op's node matches Keras's (config, shapes, dtypes, runs, loads both ways), else why."""
    keras_inputs, kt_inputs = [], []
    try:
        theirs = _symbolic_row(keras, r, keras_inputs)
    except Exception:  # Keras cannot record this call symbolically either
        return None
    ours = _symbolic_row(kt, r, kt_inputs)
    their_outputs = _flat_symbolic(theirs, keras.KerasTensor)
    our_outputs = _flat_symbolic(ours, kt.symbolic.SymbolicTensor)
    eager = _flat_symbolic(_run(kt.ops, r), torch.Tensor)
    if not their_outputs or not our_outputs:
        return None if not our_outputs else f"Keras records no node, kt.ops does: {ours}"
    # Shapes and dtypes are the real ones (meta inference); Keras's own symbolic spec sometimes
    # disagrees with its eager result, and then the eager one (which kt.ops matches) is the truth.
    if _specs(our_outputs) != _specs(eager):
        return f"symbolic outputs {_specs(our_outputs)}, eager {_specs(eager)}"
    if _specs(our_outputs) != _specs(their_outputs):
        if _specs(their_outputs) == _specs(_flat_symbolic(_run(keras.ops, r), torch.Tensor)):
            return f"outputs {_specs(our_outputs)}, Keras {_specs(their_outputs)}"
    model = kt.Model([i for i, _ in kt_inputs], our_outputs)
    reference = keras.Model([i for i, _ in keras_inputs], their_outputs)
    try:
        their_config = json.loads(json.dumps(reference.get_config()))
    except NotImplementedError:  # Keras cannot save this call (an array in the op's constructor)
        return None
    config = model.get_config()
    if _normalized(config) != _normalized(their_config) and r.name not in KERAS_OWN_CONFIG:
        return f"config {_normalized(config)['layers'][-1]}, Keras {_normalized(their_config)['layers'][-1]}"
    data = [torch.from_numpy(a) for _, a in kt_inputs]
    with torch.no_grad():
        for source, rebuilt in (("plan", model), ("Keras config", kt.Model.from_config(their_config))):
            for ran, expected in zip(_as_list(rebuilt(data if len(data) > 1 else data[0])), eager):
                torch.testing.assert_close(ran, expected, rtol=r.rtol, atol=r.atol, equal_nan=True, msg=source)
    if not load_in_keras:
        return None
    arrays = [a for _, a in kt_inputs]
    feed = arrays if len(arrays) > 1 else arrays[0]
    try:
        expected = _as_list(reference(feed))
    except Exception:  # Keras cannot run its own graph of this op (no torch kernel): nothing to compare with
        return None
    try:
        loaded = _as_list(keras.Model.from_config(json.loads(json.dumps(config)))(feed))
    except Exception:
        try:
            keras.Model.from_config(their_config)(feed)
        except Exception:  # Keras cannot reload its own config of this op either
            return None
        raise
    for ran, wanted in zip(loaded, expected):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ran), keras.ops.convert_to_numpy(wanted),
                                   rtol=1e-6, atol=1e-6, equal_nan=True, err_msg="loaded in Keras")
    return None


# Keras's ExtractPatches writes its own get_config (normalized sizes, no name); kt.ops writes the
# standard constructor config, which Keras reads back to the same op.
KERAS_OWN_CONFIG = {"image.extract_patches", "image.extract_patches_3d"}


@pytest.mark.slow
def test_every_op_records_keras_node():
    """Every op of the eager table (tests/test_ops.py) records the node Keras records, runs in a plan,
    and loads both ways."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    global _resolve, _run
    from test_ops import META_ROWS, _resolve, _row_id, _run  # noqa: F811  (the eager table's rows and helpers)

    failures, loaded_in_keras = [], set()
    for r in META_ROWS:
        try:
            # Every row is compared with Keras's node; Keras reads back the first row of each op.
            problem = _check_row(r, load_in_keras=r.name not in loaded_in_keras)
            loaded_in_keras.add(r.name)
        except Exception as error:
            problem = f"{type(error).__name__}: {str(error)[:300]}"
        if problem:
            failures.append(f"{_row_id(r)}: {problem}")
    assert not failures, f"{len(failures)} ops differ from Keras:\n" + "\n".join(failures)
