"""Attention layers against Keras 3: every mask kind, causal masks, scores, EinsumDense layouts, saving."""


import keras
import numpy as np
import pytest
import torch

import kerastorch as kt
from keras_twin import assert_keras_files_load_both_ways, to_numpy as _numpy

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 4, 8)).astype("float32")
V = RNG.standard_normal((2, 5, 6)).astype("float32")
Q_MASK = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
V_MASK = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
ATTENTION_MASK = RNG.random((2, 4, 5)) > 0.3


def _close(ours, theirs):
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=1e-5, atol=1e-6)


def _mha_pair(query_shape, value_shape, **kwargs):
    ours, theirs = kt.layers.MultiHeadAttention(2, 4, **kwargs), keras.layers.MultiHeadAttention(2, 4, **kwargs)
    ours.build(query_shape, value_shape)
    theirs.build(query_shape, value_shape)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


# Note: Keras reads the query mask only from the query tensor's own mask (an explicit `query_mask` on an
# unmasked tensor is ignored there), so the explicit-argument rows use value/key/attention masks; the
# query mask is tested through Embedding(mask_zero) models below.
MASK_ROWS = {
    "none": {},
    "value_mask": {"value_mask": V_MASK},
    "key_mask": {"key_mask": V_MASK},
    "attention_mask": {"attention_mask": ATTENTION_MASK},
    "causal": {"use_causal_mask": True},
    "causal_and_value": {"use_causal_mask": True, "value_mask": V_MASK},
}
LAYER_ROWS = {
    "default": {}, "value_dim_output_shape": {"value_dim": 3, "output_shape": 5}, "no_bias": {"use_bias": False},
    "gate": {"use_gate": True}, "sliding_window": {"sliding_window": 2},
}


@pytest.mark.parametrize("scores", [False, True], ids=["sdpa", "scores"])
@pytest.mark.parametrize("mask", sorted(MASK_ROWS))
@pytest.mark.parametrize("layer", sorted(LAYER_ROWS))
def test_multi_head_attention_matches_keras(layer, mask, scores):
    ours, theirs = _mha_pair(Q.shape, V.shape, **LAYER_ROWS[layer])
    kwargs = dict(MASK_ROWS[mask], return_attention_scores=scores)
    key = V * 0.5
    torch_kwargs = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    _close(ours(torch.as_tensor(Q), torch.as_tensor(V), key=torch.as_tensor(key), **torch_kwargs),
           theirs(Q, V, key=key, **kwargs))
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]


def test_multi_head_attention_over_two_axes_and_dropout():
    x = RNG.standard_normal((2, 3, 4, 8)).astype("float32")
    ours, theirs = _mha_pair(x.shape, x.shape, attention_axes=(1, 2))
    _close(ours(torch.as_tensor(x), torch.as_tensor(x), return_attention_scores=True),
           theirs(x, x, return_attention_scores=True))
    layer = kt.layers.MultiHeadAttention(2, 4, dropout=0.5)
    data = torch.as_tensor(Q)
    inference = layer(data, data)
    torch.testing.assert_close(layer(data, data), inference)
    assert not torch.allclose(layer(data, data, training=True), inference)


def test_multi_head_attention_errors():
    with pytest.raises(ValueError, match="num_heads"):
        kt.layers.MultiHeadAttention(0, 4)
    with pytest.raises(ValueError, match="attention_axes"):
        kt.layers.MultiHeadAttention(2, 4, attention_axes="time")
    with pytest.raises(ValueError, match="flash_attention"):
        kt.layers.MultiHeadAttention(2, 4, flash_attention=True)(
            torch.as_tensor(Q), torch.as_tensor(Q), return_attention_scores=True)
    with pytest.raises(ValueError, match="lora_rank"):
        kt.layers.EinsumDense("ab,bc->ac", 4, lora_rank=0)


@pytest.mark.parametrize("equation, output_shape, bias_axes, shape", [
    ("ab,bc->ac", 4, "c", (2, 3)), ("abc,cde->abde", (None, 2, 5), "de", (2, 3, 4)),
    ("...b,bc->...c", 4, "c", (2, 3, 5)), ("abc,cd->abd", (3, 4), None, (2, 3, 6)),
    ("abcd,cde->abe", (None, 3), "e", (2, 3, 2, 4)), ("abc,cde->abde", (None, 2, 5), "d", (2, 3, 4)),
    ("ab,cb->ac", 4, "c", (2, 3)),  # not a plain matrix product: torch.einsum
])
def test_einsum_dense_matches_keras(equation, output_shape, bias_axes, shape):
    ours = kt.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="relu")
    theirs = keras.layers.EinsumDense(equation, output_shape, bias_axes=bias_axes, activation="relu")
    ours.build(shape)
    theirs.build(shape)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    x = RNG.standard_normal(shape).astype("float32")
    _close(ours(torch.as_tensor(x)), theirs(x))


# (layer factory, output shape for a (2, 3, 4) input, lora_alpha compared with Keras). Keras 3.15's Dense
# drops a constructor `lora_alpha` when it builds (it re-enables LoRA with alpha = rank); kerastorch keeps
# the documented scale `lora_alpha / lora_rank`, so Dense is compared where the two agree (alpha = rank).
LORA_LAYERS = {
    "EinsumDense": (lambda lib, **lora: lib.layers.EinsumDense("abc,cde->abde", (3, 2, 5), bias_axes="de", **lora),
                    (2, 3, 2, 5), 4),
    "Dense": (lambda lib, **lora: lib.layers.Dense(5, **lora), (2, 3, 5), 2),
}


@pytest.mark.parametrize("kind", sorted(LORA_LAYERS))
def test_dense_layers_lora_matches_keras(kind, tmp_path):
    factory, out_shape, alpha = LORA_LAYERS[kind]

    def make(lib):
        inputs = lib.Input((3, 4))
        return lib.Model(inputs, factory(lib, lora_rank=2, lora_alpha=alpha)(inputs))

    ours, theirs = make(kt), make(keras)
    layer = ours.layers[-1]
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    assert [tuple(w.shape) for w in layer.weights] == [tuple(w.shape) for w in theirs.layers[-1].weights]
    assert layer.get_config()["lora_rank"] == 2 and layer.get_config()["lora_alpha"] == alpha
    weights = [w + 0.1 for w in ours.get_weights()]  # a non-zero update, so the merge is exercised
    ours.set_weights(weights)
    theirs.set_weights(weights)
    x = RNG.standard_normal((2, 3, 4)).astype("float32")
    expected = _numpy(theirs(x))
    _close(ours(torch.as_tensor(x)), expected)
    # Keras files hold the merged kernel; loading one resets the factors (both libraries alike).
    assert_keras_files_load_both_ways(ours, theirs, x, expected, tmp_path)
    loaded = kt.models.load_model(str(tmp_path / "theirs.keras")).layers[-1]
    assert not loaded.lora_kernel_b.detach().any()
    frozen = layer.kernel.detach().clone()
    ours.compile("sgd", "mse")
    ours.fit(x, np.zeros(out_shape, "float32"), verbose=0)
    assert torch.equal(layer.kernel.detach(), frozen) and layer.lora_kernel_b.detach().ne(0.1).any()
    with pytest.raises(ValueError, match="already"):
        layer.enable_lora(2)
    # The usual fine-tuning route: enable LoRA on a built layer; its outputs are unchanged until training.
    plain = factory(kt)
    before = plain(torch.as_tensor(x)).detach()
    plain.enable_lora(3)
    assert [w.name for w in plain.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    torch.testing.assert_close(plain(torch.as_tensor(x)).detach(), before)
    with pytest.raises(ValueError, match="lora_rank"):
        factory(kt, lora_rank=0)
    # lora_alpha scales the update by lora_alpha / lora_rank.
    scaled = factory(kt, lora_rank=2, lora_alpha=6)
    scaled(torch.as_tensor(x))
    scaled.set_weights([w + 0.1 for w in scaled.get_weights()])
    a, b = scaled.lora_kernel_a.detach(), scaled.lora_kernel_b.detach()
    torch.testing.assert_close(scaled._lora_kernel().detach(), scaled.kernel.detach() + 3.0 * (a @ b))


@pytest.mark.parametrize("cls, kwargs", [
    ("Attention", {}), ("Attention", {"use_scale": True, "score_mode": "concat"}), ("AdditiveAttention", {}),
    ("AdditiveAttention", {"use_scale": False}),
])
@pytest.mark.parametrize("causal", [False, True])
def test_attention_and_additive_attention_match_keras(cls, kwargs, causal):
    query = RNG.standard_normal((2, 4, 6)).astype("float32")
    ours, theirs = getattr(kt.layers, cls)(**kwargs), getattr(keras.layers, cls)(**kwargs)
    ours.build([query.shape, V.shape])
    theirs.build([query.shape, V.shape])
    theirs.set_weights(ours.get_weights())
    _close(ours([torch.as_tensor(query), torch.as_tensor(V)], mask=[torch.as_tensor(Q_MASK), torch.as_tensor(V_MASK)],
                use_causal_mask=causal, return_attention_scores=True),
           theirs([query, V], mask=[Q_MASK, V_MASK], use_causal_mask=causal, return_attention_scores=True))
    with pytest.raises(ValueError, match="list"):
        ours(torch.as_tensor(query))


TOKENS = np.array([[1, 2, 3, 0, 0], [4, 5, 6, 1, 2], [0, 0, 1, 2, 3]])


def _masked_transformer(lib):
    inputs = lib.Input((5,), dtype="int32")
    x = lib.layers.Embedding(7, 8, mask_zero=True)(inputs)
    attended = lib.layers.MultiHeadAttention(2, 4)(x, x)
    x = lib.layers.LayerNormalization()(lib.layers.Add()([x, attended]))
    return lib.Model(inputs, lib.layers.Dense(2)(lib.layers.GlobalAveragePooling1D()(x)))


def test_masked_embedding_attention_pooling_matches_keras_and_saves_both_ways(tmp_path):
    ours, theirs = _masked_transformer(kt), _masked_transformer(keras)
    theirs.set_weights(ours.get_weights())
    expected = _numpy(theirs(TOKENS))
    np.testing.assert_allclose(_numpy(ours(torch.as_tensor(TOKENS))), expected, rtol=1e-5, atol=1e-6)
    assert_keras_files_load_both_ways(ours, theirs, TOKENS, expected, tmp_path)
    assert ours.count_params() == theirs.count_params()


def test_eager_attention_reads_the_embedding_mask():
    embedding = kt.layers.Embedding(7, 8, mask_zero=True)
    layer = kt.layers.MultiHeadAttention(2, 4)
    x = embedding(torch.as_tensor(TOKENS))
    out, scores = layer(x, x, return_attention_scores=True)
    assert torch.all(scores[0, :, :, 3:] == 0) and torch.all(scores[2, :, :2] == 0)
    np.testing.assert_array_equal(_numpy(out._keras_mask), TOKENS != 0)


@pytest.mark.parametrize("scores", [False, True], ids=["sdpa", "scores"])
@pytest.mark.parametrize("mask", ["none", "value_mask", "causal_and_value"])
def test_group_query_attention_matches_keras(mask, scores):
    ours, theirs = kt.layers.GroupQueryAttention(4, 4, 2), keras.layers.GroupQueryAttention(4, 4, 2)
    ours.build(Q.shape, V.shape)
    theirs.build(Q.shape, V.shape)
    theirs.set_weights(ours.get_weights())
    kwargs = dict(MASK_ROWS[mask], return_attention_scores=scores)
    torch_kwargs = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    _close(ours(torch.as_tensor(Q), torch.as_tensor(V), **torch_kwargs), theirs(Q, V, **kwargs))


def test_group_query_attention_saves_both_ways(tmp_path):
    def make(lib):
        inputs = lib.Input((5, 8))
        return lib.Model(inputs, lib.layers.GroupQueryAttention(4, 4, 2)(inputs, inputs))

    ours, theirs = make(kt), make(keras)
    theirs.set_weights(ours.get_weights())
    x = RNG.standard_normal((2, 5, 8)).astype("float32")
    expected = _numpy(theirs(x))
    assert_keras_files_load_both_ways(ours, theirs, x, expected, tmp_path)
    with pytest.raises(ValueError, match="divisible"):
        kt.layers.GroupQueryAttention(4, 3, 2)


@pytest.mark.cuda
def test_flash_attention_under_bf16_autocast():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    layer = kt.layers.MultiHeadAttention(4, 16)
    x = torch.randn(2, 64, 64)
    expected = layer(x, x, use_causal_mask=True)
    layer.cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16), sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        result = layer(x.cuda(), x.cuda(), use_causal_mask=True)  # only the flash kernel is allowed here
    assert result.dtype == torch.bfloat16
    torch.testing.assert_close(result.float().cpu(), expected, rtol=5e-2, atol=5e-2)
