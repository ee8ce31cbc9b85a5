"""`kt.tree` against `keras.tree`: every public function on the same structures, one row per case."""

import collections

import keras
import pytest

import kerastorch as kt

Point = collections.namedtuple("Point", ["a", "b"])

STRUCTURES = [
    1, None, [], (), {}, [1, 2, 3], (1, [2, (3, 4)]), {"b": 1, "a": [2, 3], "c": {"y": 4, "z": (5,)}},
    collections.OrderedDict([("b", 1), ("a", 2)]), Point(1, [2, {"k": 3}]), [None, {"x": None}],
    {"inputs": (1, 2), "mask": None}, [[(None, 3), (None, 4)], {"shape": (2, 8)}],
]


def _same(ours, theirs):
    assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.parametrize("structure", STRUCTURES, ids=repr)
def test_one_structure_functions_match_keras(structure):
    _same(kt.tree.flatten(structure), keras.tree.flatten(structure))
    _same(kt.tree.is_nested(structure), keras.tree.is_nested(structure))
    _same(kt.tree.flatten_with_path(structure), keras.tree.flatten_with_path(structure))
    _same(kt.tree.lists_to_tuples(structure), keras.tree.lists_to_tuples(structure))
    _same(kt.tree.map_structure(repr, structure), keras.tree.map_structure(repr, structure))
    _same(kt.tree.map_structure(repr, structure, none_is_leaf=False),
          keras.tree.map_structure(repr, structure, none_is_leaf=False))
    _same(kt.tree.map_shape_structure(repr, structure), keras.tree.map_shape_structure(repr, structure))
    flat = [f"leaf{i}" for i in range(len(keras.tree.flatten(structure)))]
    _same(kt.tree.pack_sequence_as(structure, flat), keras.tree.pack_sequence_as(structure, flat))
    kt.tree.assert_same_structure(structure, structure)
    kt.tree.assert_same_paths(structure, structure)
    for top_down in (True, False):
        seen_ours, seen_theirs = [], []
        _same(kt.tree.traverse(seen_ours.append, structure, top_down=top_down),
              keras.tree.traverse(seen_theirs.append, structure, top_down=top_down))
        assert seen_ours == seen_theirs


def test_nested_dicts_sorted_at_every_level():
    """Keras's documented rule (its optree implementation): every dict level in sorted-key order. Keras's
    torch-backend tree sorts only the outermost dict; kerastorch keeps the one rule at every level."""
    from keras.src.tree import optree_impl

    structure = {"b": 1, "a": [2, 3], "c": {"z": 4, "y": (5, {"q": 6, "p": 7})}}
    _same(kt.tree.flatten(structure), optree_impl.flatten(structure))
    _same(kt.tree.flatten_with_path(structure), optree_impl.flatten_with_path(structure))
    flat = list(range(7))
    _same(kt.tree.pack_sequence_as(structure, flat), optree_impl.pack_sequence_as(structure, flat))


def test_map_structure_over_several_structures():
    a, b = {"y": [1, 2], "x": (3,)}, {"x": (30,), "y": [10, 20]}
    _same(kt.tree.map_structure(lambda u, v: u + v, a, b), keras.tree.map_structure(lambda u, v: u + v, a, b))
    _same(kt.tree.map_structure(lambda u, v: (u, v), [None, 1], [None, 2], none_is_leaf=False),
          keras.tree.map_structure(lambda u, v: (u, v), [None, 1], [None, 2], none_is_leaf=False))
    with pytest.raises(ValueError):
        kt.tree.map_structure(lambda u, v: u, [1, 2], (1, 2))
    with pytest.raises(ValueError):
        keras.tree.map_structure(lambda u, v: u, [1, 2], (1, 2))


PAIRS = [  # (a, b): structures compared by assert_same_structure and assert_same_paths in both libraries
    ([(0, 1)], [(2, 3)]), ({"a": 1}, collections.OrderedDict(a=2)), ([1], (1,)), (Point(1, 2), (1, 2)),
    ({"a": 1}, {"b": 1}), ([1, [2]], [1, 2]), ([1, 2], [1, [2, 3]]), (1, 2), (None, [1]), ([1, 2], [1, 2, 3]),
    ([0, 1], (2, 3)), ({"a": [1]}, {"a": (1,)}),
]


def _outcome(check, a, b):
    try:
        check(a, b)
    except ValueError:
        return "ValueError"
    return "same"


@pytest.mark.parametrize("a,b", PAIRS, ids=repr)
def test_structure_and_path_assertions_match_keras(a, b):
    assert _outcome(kt.tree.assert_same_structure, a, b) == _outcome(keras.tree.assert_same_structure, a, b)
    assert _outcome(kt.tree.assert_same_paths, a, b) == _outcome(keras.tree.assert_same_paths, a, b)


UP_TO = [  # (shallow, structure)
    ([None, None], [[1, 1], [2, 2]]), ([None, [None, None]], [[1, 1], [2, 2]]), ({"a": None}, {"a": [1, 2]}),
    ((None, {"k": None}), ((1, 2), {"k": [3]})), ([None, [None, None]], [[1, 1], 2]),
]


@pytest.mark.parametrize("shallow,structure", UP_TO, ids=repr)
def test_map_structure_up_to_matches_keras(shallow, structure):
    def outcome(lib):
        try:
            return lib.tree.map_structure_up_to(shallow, repr, structure)
        except ValueError:
            return "ValueError"

    _same(outcome(kt), outcome(keras))


def test_traverse_replacements_and_map_to_none():
    structure = [(1, 2), [3], {"b": 5, "a": 4}]
    for func in (lambda x: kt.tree.MAP_TO_NONE if x == 3 else None, lambda x: "T" if isinstance(x, tuple) else None):
        theirs = keras.tree.traverse(
            lambda x, f=func: keras.tree.MAP_TO_NONE if f(x) is kt.tree.MAP_TO_NONE else f(x), structure)
        for top_down in (True, False):
            _same(kt.tree.traverse(func, structure, top_down=top_down),
                  theirs if top_down else keras.tree.traverse(
                      lambda x, f=func: keras.tree.MAP_TO_NONE if f(x) is kt.tree.MAP_TO_NONE else f(x),
                      structure, top_down=False))
    with pytest.raises(TypeError):
        kt.tree.traverse(None, structure)


def test_namespace_matches_keras():
    public = [name for name in dir(keras.tree) if not name.startswith("_")]
    assert [name for name in public if not hasattr(kt.tree, name)] == []
