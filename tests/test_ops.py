"""kt.ops helpers map to torch with Keras's dtype defaults."""

import numpy as np
import torch

import kerastorch as kt


def test_creation_helpers():
    assert kt.ops.ones((2, 3)).shape == (2, 3) and kt.ops.ones((2, 3)).dtype == torch.float32
    assert kt.ops.zeros(4).sum() == 0
    assert kt.ops.full((2,), 7, dtype="int32").dtype == torch.int32
    assert kt.ops.arange(5).tolist() == [0, 1, 2, 3, 4]


def test_convert_to_tensor_keeps_ints_and_casts_float64_to_floatx():
    assert kt.ops.convert_to_tensor(np.zeros(3)).dtype == torch.float32
    assert kt.ops.convert_to_tensor(np.arange(3)).dtype == torch.int64
    assert kt.ops.convert_to_tensor([1.5, 2.5], dtype="bfloat16").dtype == torch.bfloat16
    np.testing.assert_array_equal(kt.ops.convert_to_numpy(torch.arange(3)), [0, 1, 2])
