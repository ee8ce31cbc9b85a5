import numpy as np
import pytest

from kerastorch.datasets import digits


def test_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape == (1438, 8, 8) and y_train.shape == (1438,)
    assert x_test.shape == (359, 8, 8) and y_test.shape == (359,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8


def test_value_ranges_and_labels():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x = np.concatenate([x_train, x_test])
    assert x.min() == 0 and x.max() == 16
    assert set(np.unique(y_train)) == set(range(10))
    assert set(np.unique(y_test)) == set(range(10))


def test_deterministic_and_seed_dependent():
    (a, ya), _ = digits.load_data(seed=7)
    (b, yb), _ = digits.load_data(seed=7)
    (c, _), _ = digits.load_data(seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


def test_split_is_a_partition():
    (x_train, y_train), (x_test, y_test) = digits.load_data(test_split=0.25)
    assert len(x_train) + len(x_test) == 1797
    # Together the two parts hold exactly the full dataset (same multiset of images and labels).
    (x_all, y_all), (x_none, _) = digits.load_data(test_split=0.0)
    assert len(x_none) == 0 and len(x_all) == 1797

    def rows(x, y):
        return sorted(xi.tobytes() + bytes([yi]) for xi, yi in zip(x, y))

    assert rows(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])) == rows(x_all, y_all)


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5])
def test_bad_split_raises(bad):
    with pytest.raises(ValueError, match="test_split"):
        digits.load_data(test_split=bad)
