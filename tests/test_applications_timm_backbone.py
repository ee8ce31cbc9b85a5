"""TimmBackbone: any timm model as a channels_last layer that never silently differs from timm."""

import time
import warnings

import numpy as np
import pytest
import timm
import torch

import kerastorch as kt
from kerastorch.applications import TimmBackbone, preprocess_input, resolve_data_config

NAME = "resnet18"


@pytest.fixture(scope="module")
def reference():
    torch.manual_seed(0)
    return timm.create_model(NAME, num_classes=0).eval()


@pytest.fixture(scope="module")
def checkpoint(reference, tmp_path_factory):
    path = tmp_path_factory.mktemp("timm") / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    return str(path)


def _timm_count(model):
    """timm's parameters plus its float state (BatchNorm statistics), as Keras counts weights: every float
    tensor of the state dict, each once (non-persistent buffers are derived values, not weights)."""
    unique = {id(t): t for t in model.state_dict(keep_vars=True).values() if t.is_floating_point()}
    return sum(t.numel() for t in unique.values())


def _save(model, path):
    torch.save(model.state_dict(), path)
    return str(path)


def test_channels_last_in_and_out_matches_timm(reference, checkpoint):
    layer = TimmBackbone(NAME, weights=checkpoint)
    x = torch.randn(2, 64, 64, 3)
    with torch.no_grad():
        out = layer(x)
        expected = reference.forward_features(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    assert out.shape == (2, 2, 2, 512)
    assert out.is_contiguous()  # NCHW result in channels_last memory: the permute back is free
    torch.testing.assert_close(out, expected)
    assert layer.count_params() == _timm_count(reference)


def test_input_reaches_timm_as_a_zero_copy_view():
    layer = TimmBackbone(NAME)
    seen = {}
    layer.model.conv1.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    x = torch.randn(1, 32, 32, 3)
    with torch.no_grad():
        layer(x)
    assert seen["x"].data_ptr() == x.data_ptr()
    assert seen["x"].is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("pooling", ["avg", "max", "avgmax", "catavgmax"])
def test_pooling_is_timms_global_pool(reference, checkpoint, pooling):
    expected_model = timm.create_model(NAME, num_classes=0, global_pool=pooling).eval()
    expected_model.load_state_dict(reference.state_dict())
    layer = TimmBackbone(NAME, weights=checkpoint, pooling=pooling)
    x = torch.randn(2, 64, 64, 3)
    with torch.no_grad():
        assert torch.equal(layer(x), expected_model(x.permute(0, 3, 1, 2)))


def test_unsupported_pooling_lists_the_supported_ones():
    with pytest.raises(ValueError, match=r"resnet18.*pooling='token'.*\['avg', 'max', 'avgmax', 'catavgmax'"):
        TimmBackbone(NAME, pooling="token")
    with pytest.raises(ValueError, match=r"pit_ti_224.*pooling='avg'.*\['token', ''\]"):
        TimmBackbone("pit_ti_224", pooling="avg")  # timm's own bare AssertionError, explained
    with pytest.raises(TypeError, match="pooling"):
        TimmBackbone(NAME, pooling=1)


def test_features_only_with_out_indices():
    layer = TimmBackbone(NAME, features_only=True, out_indices=(1, 3))
    outputs = layer(torch.randn(1, 64, 64, 3))
    assert [tuple(o.shape) for o in outputs] == [(1, 16, 16, 64), (1, 4, 4, 256)]
    symbolic = kt.Input((64, 64, 3)) | layer
    assert [s.shape for s in symbolic] == [(None, 16, 16, 64), (None, 4, 4, 256)]


def test_channels_first_data_format():
    layer = TimmBackbone(NAME, data_format="channels_first")
    assert layer(torch.randn(1, 3, 64, 64)).shape == (1, 512, 2, 2)


def test_feature_maps_keep_only_what_forward_features_reads():
    vgg = TimmBackbone("vgg11")  # timm's fc6/fc7 (pre_logits) belong to the pooled features only
    assert not any(name.startswith("pre_logits") for name, _ in vgg.model.named_parameters())
    assert vgg.count_params() == 9_220_480


def test_classifier_kept_with_num_classes():
    layer = TimmBackbone(NAME, num_classes=7)
    assert layer(torch.randn(2, 64, 64, 3)).shape == (2, 7)
    with pytest.raises(ValueError, match="headless"):
        TimmBackbone(NAME, num_classes=7, pooling="avg")


def test_symbolic_shapes_sequential_summary_and_freezing(checkpoint):
    layer = TimmBackbone(NAME, weights=checkpoint, pooling="avg", input_shape=(64, 64, 3))
    model = kt.Sequential() | layer | kt.layers.Dense(3)
    assert tuple(model.outputs[0].shape) == (None, 3)
    layer.trainable = False
    model.train()
    assert not layer.model.bn1.training  # frozen torch BatchNorm stays in inference mode
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Trainable" in text and f"{layer.count_params():,}" in text
    assert sum(w.numel() for w in model.trainable_weights) == 512 * 3 + 3


def test_data_config_and_preprocessing():
    layer = TimmBackbone(NAME)
    config = resolve_data_config(layer)
    assert config["input_size"] == (3, 224, 224) and len(config["mean"]) == 3
    assert resolve_data_config(kt.Sequential([layer])) == config
    images = np.full((1, 2, 2, 3), 255, dtype=np.uint8)
    expected = (1.0 - np.array(config["mean"])) / np.array(config["std"])
    np.testing.assert_allclose(layer.preprocess_input(images)[0, 0, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(preprocess_input(torch.from_numpy(images), config)[0, 0, 0].numpy(), expected,
                               rtol=1e-5)


def test_get_config_round_trip():
    layer = TimmBackbone(NAME, pooling="max", layer_name="base")
    config = layer.get_config()
    assert config["name"] == NAME and config["layer_name"] == "base" and config["pooling"] == "max"
    clone = TimmBackbone.from_config(config)
    assert clone.name == "base" and clone.count_params() == layer.count_params()


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="not a timm model"):
        TimmBackbone("no_such_model_xyz")
    with pytest.raises(ValueError, match="out_indices needs features_only"):
        TimmBackbone(NAME, out_indices=(1,))
    with pytest.raises(ValueError, match="resnet18.a1_in1k"):  # the valid tags are listed
        TimmBackbone(NAME + ".no_such_tag")
    with pytest.raises(TypeError, match="timm model name"):
        TimmBackbone(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="does not exist"):
        TimmBackbone(NAME, weights=str(tmp_path / "missing.pth"))
    with pytest.raises(ValueError, match="pooling=..."):
        TimmBackbone(NAME, global_pool="avg")
    with pytest.raises(ValueError, match="two sources"):
        TimmBackbone(NAME, pretrained=True, weights=str(tmp_path / "x.pth"))


def test_pretrained_offline_fails_fast_naming_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf"))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="resnet18.a1_in1k") as error:
        TimmBackbone(NAME, weights="imagenet")
    assert time.perf_counter() - start < 1.0
    assert str(tmp_path / "hf") in str(error.value)
    # An untagged name means timm's default tag, not the alphabetically first one (ra4_e3600_...).
    with pytest.raises(ValueError, match=r"efficientnet_b0\.ra_in1k/"):
        TimmBackbone("efficientnet_b0", pretrained=True)


# ------------------------------------------------------------------------- checkpoints are exact


def _hub_file(tmp_path, monkeypatch, model, repo):
    """Put `model`'s state dict where huggingface_hub's cache keeps `repo`'s model.safetensors."""
    from safetensors.torch import save_file

    cache = tmp_path / "hf"
    snapshot = cache / ("models--" + repo.replace("/", "--")) / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (cache / ("models--" + repo.replace("/", "--")) / "refs").mkdir()
    (cache / ("models--" + repo.replace("/", "--")) / "refs" / "main").write_text("0" * 40)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(snapshot / "model.safetensors"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(cache))


def test_hub_tag_loads_from_the_cache_with_every_tensor(tmp_path, monkeypatch):
    torch.manual_seed(1)
    source = timm.create_model("resnet18.a1_in1k")  # with its classifier, as timm publishes it
    _hub_file(tmp_path, monkeypatch, source, timm.models.get_pretrained_cfg("resnet18.a1_in1k").hf_hub_id)
    layer = TimmBackbone("resnet18.a1_in1k", weights="imagenet", pooling="avg")
    expected = {k: v for k, v in source.state_dict().items() if not k.startswith("fc.")}
    assert expected.keys() == layer.model.state_dict().keys()
    assert all(torch.equal(v, expected[k]) for k, v in layer.model.state_dict().items())


def _vit_with_trained_norm(tmp_path):
    torch.manual_seed(2)
    vit = timm.create_model("vit_tiny_patch16_224", num_classes=0, img_size=32).eval()
    with torch.no_grad():
        vit.norm.weight.uniform_(0.5, 2.0)
        vit.norm.bias.normal_()
    return vit, _save(vit, tmp_path / "vit.pth")


def test_vit_checkpoint_with_avg_pooling_is_refused_not_silently_dropped(tmp_path):
    vit, path = _vit_with_trained_norm(tmp_path)
    # timm's 'avg' ViT replaces the final norm by fc_norm: the checkpoint's norm has no place in it.
    with pytest.raises(ValueError, match=r"norm\.weight.*norm\.bias.*fc_norm\.weight") as error:
        TimmBackbone("vit_tiny_patch16_224", weights=path, pooling="avg", img_size=32)
    assert "strict=False" in str(error.value) and "fc_norm" in str(error.value)
    with pytest.warns(UserWarning, match=r"dropped these checkpoint tensors.*'norm\.weight', 'norm\.bias'"):
        with pytest.warns(UserWarning, match=r"random initialisation.*'fc_norm\.weight', 'fc_norm\.bias'"):
            TimmBackbone("vit_tiny_patch16_224", weights=path, pooling="avg", strict=False, img_size=32)


def test_vit_checkpoint_keeps_its_final_norm_with_token_pooling_and_feature_maps(tmp_path):
    vit, path = _vit_with_trained_norm(tmp_path)
    x = torch.randn(1, 32, 32, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is dropped, so nothing is said
        pooled = TimmBackbone("vit_tiny_patch16_224", weights=path, pooling="token", img_size=32)
        tokens = TimmBackbone("vit_tiny_patch16_224", weights=path, img_size=32)
    assert torch.equal(pooled.model.norm.weight, vit.norm.weight)
    with torch.no_grad():
        assert torch.equal(pooled(x), vit(x.permute(0, 3, 1, 2)))
        assert torch.equal(tokens(x), vit.forward_features(x.permute(0, 3, 1, 2)))
    assert tokens(x).shape == (1, 5, 192)


def test_mismatched_checkpoint_names_the_keys(tmp_path):
    path = _save(timm.create_model("resnet34", num_classes=0), tmp_path / "r34.pth")
    with pytest.raises(ValueError, match=r"resnet18.*layer1\.2\.conv1\.weight"):
        TimmBackbone(NAME, weights=path)


# ------------------------------------------------------------------- the cases the issue found


@pytest.mark.parametrize("name", ["maxvit_nano_rw_256", "coatnet_nano_rw_224", "coatnext_nano_rw_224"])
def test_maxvit_and_coatnet_feature_maps_keep_their_relative_position_tables(name, tmp_path):
    reference = timm.create_model(name, num_classes=0, img_size=64).eval()
    layer = TimmBackbone(name, weights=_save(reference, tmp_path / "w.pth"), img_size=64)
    assert layer.count_params() == _timm_count(reference) - sum(  # only the head's norm/pre-logits are left out
        p.numel() for p in reference.head.parameters())
    x = torch.randn(1, 64, 64, 3)
    with torch.no_grad():
        assert torch.equal(layer(x), reference.forward_features(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))




@pytest.mark.parametrize("name, width", [("mobilenetv3_small_050", 1024), ("vgg11", 4096)])
def test_pooled_feature_width_is_timms(name, width, tmp_path):
    reference = timm.create_model(name, num_classes=0).eval()
    layer = TimmBackbone(name, weights=_save(reference, tmp_path / "w.pth"), pooling="avg")
    x = torch.randn(2, 64, 64, 3)
    with torch.no_grad():
        out = layer(x)
        assert out.shape == (2, width) and torch.equal(out, reference(x.permute(0, 3, 1, 2)))
    assert layer.count_params() == _timm_count(reference)


@pytest.mark.parametrize("name, pooling, kwargs", [
    ("crossvit_tiny_240", "token", {}), ("crossvit_tiny_240", "avg", {}),
    ("deit_tiny_distilled_patch16_224", "token", {"img_size": 32}), ("pit_ti_224", "token", {"img_size": 32}),
    ("pit_ti_distilled_224", "token", {"img_size": 32}),
])
def test_list_feature_and_distilled_models_build(name, pooling, kwargs, tmp_path):
    reference = timm.create_model(name, num_classes=0, global_pool=pooling, **kwargs).eval()
    size = kwargs.get("img_size", 32)  # crossvit resizes any input to its own size
    x = torch.randn(1, size, size, 3)
    pooled = TimmBackbone(name, pooling=pooling, weights=_save(reference, tmp_path / "w.pth"), **kwargs)
    with torch.no_grad():
        assert torch.equal(pooled(x), reference(x.permute(0, 3, 1, 2)))
    features = TimmBackbone(name, **kwargs)
    out = features(x)
    with torch.no_grad():
        expected = reference.forward_features(x.permute(0, 3, 1, 2))
    assert type(out) is type(expected)  # crossvit: a list of token tensors per branch
    symbolic = kt.Input((size, size, 3)) | features
    flat = symbolic if isinstance(symbolic, (list, tuple)) else [symbolic]
    real = out if isinstance(out, (list, tuple)) else [out]
    assert [tuple(s.shape)[1:] for s in flat] == [tuple(r.shape)[1:] for r in real]


# --------------------------------------------------------------- every family, checked against timm

# One model per timm module (82 modules; left out for time: the ~85M-parameter-and-up-only modules beit,
# nasnet, pnasnet, inception_v4, inception_resnet_v2, sequencer, sam/hybrid ViTs, the multimodal encoders,
# and vgg/crossvit, which have their own tests above). Inputs are the smallest each model takes,
# with timm's `img_size` where the model fixes its input size.
ARCHITECTURES = [  # (timm name, timm kwargs, input side): the smallest variant of each family, smallest input
    ('botnet26t_256', {'img_size': 32}, 32),
    ('cait_xxs24_224', {'img_size': 32}, 32),
    ('coatnet_nano_rw_224', {'img_size': 32}, 32),
    ('convit_tiny', {'img_size': 32}, 32),
    ('convmixer_768_32', {}, 32),
    ('convnext_atto', {}, 32),
    ('cpubone_nano', {}, 32),
    ('cs3darknet_focus_s', {}, 32),
    ('csatv2', {}, 64),
    ('cspnext_tiny', {}, 32),
    ('davit_tiny', {}, 32),
    ('deit_tiny_distilled_patch16_224', {'img_size': 32}, 32),
    ('densenet121', {}, 32),
    ('dla34', {}, 32),
    ('dpn68', {}, 32),
    ('edgenext_xx_small', {}, 32),
    ('efficientformer_l1', {}, 224),
    ('efficientformerv2_s0', {'img_size': 32}, 32),
    ('efficientvim_m1', {}, 32),
    ('efficientvit_b0', {}, 32),
    ('efficientvit_m0', {}, 32),
    ('ese_vovnet19b_dw', {}, 32),
    ('eva02_tiny_patch14_224', {'img_size': 32}, 32),
    ('fasternet_t0', {}, 32),
    ('fastvit_t8', {}, 32),
    ('focalnet_tiny_srf', {}, 32),
    ('gcvit_xxtiny', {'img_size': 32}, 32),
    ('gernet_s', {}, 32),
    ('ghostnet_100', {}, 32),
    ('hardcorenas_a', {}, 32),
    ('hgnetv2_b0', {}, 32),
    ('hiera_tiny_224', {'img_size': 32}, 32),
    ('hrnet_w18_small', {}, 32),
    ('iformer_t', {}, 32),
    ('inception_next_tiny', {}, 32),
    ('inception_v3', {}, 128),
    ('lcnetv2_small', {}, 32),
    ('legacy_seresnet18', {}, 32),
    ('legacy_xception', {}, 32),
    ('levit_128s', {'img_size': 32}, 32),
    ('lowformer_b0', {}, 32),
    ('mambaout_femto', {}, 32),
    ('mobilenetv4_conv_small', {}, 32),
    ('mobilevitv2_050', {}, 32),
    ('mvitv2_tiny', {}, 32),
    ('nest_tiny', {'img_size': 32}, 32),
    ('nextvit_small', {}, 32),
    ('nf_resnet26', {}, 32),
    ('pit_ti_224', {'img_size': 32}, 32),
    ('poolformer_s12', {}, 32),
    ('pvt_v2_b0', {}, 32),
    ('rdnet_tiny', {}, 32),
    ('regnetx_002', {}, 32),
    ('repghostnet_050', {}, 32),
    ('repvit_m1', {}, 32),
    ('res2net50_14w_8s', {}, 32),
    ('resmlp_12_224', {'img_size': 32}, 32),
    ('resnest14d', {}, 32),
    ('resnet18', {}, 32),
    ('resnetv2_18', {}, 32),
    ('rexnet_100', {}, 32),
    ('sam2_hiera_tiny', {}, 32),
    ('selecsls42', {}, 32),
    ('shvit_s1', {}, 32),
    ('skresnet18', {}, 32),
    ('starnet_s050', {}, 32),
    ('swiftformer_xs', {}, 32),
    ('swin_tiny_patch4_window7_224', {'img_size': 32}, 32),
    ('swinv2_cr_tiny_224', {'img_size': 32}, 32),
    ('swinv2_tiny_window8_256', {'img_size': 32}, 32),
    ('tiny_vit_5m_224', {}, 32),
    ('tinynet_e', {}, 32),
    ('tnt_s_patch16_224', {'img_size': 32}, 32),
    ('tresnet_m', {}, 32),
    ('twins_pcpvt_small', {}, 32),
    ('visformer_tiny', {'img_size': 32}, 32),
    ('vit_relpos_small_patch16_224', {'img_size': 32}, 32),
    ('vit_tiny_patch16_224', {'img_size': 32}, 32),
    ('vitamin_small_224', {'img_size': 32}, 32),
    ('volo_d1_224', {'img_size': 32}, 32),
    ('xception41', {}, 32),
    ('xcit_nano_12_p16_224', {}, 32),
    ('coat_lite_tiny', {'img_size': 64}, 64),  # registers a submodule under two names
]


def default_pooling(model):
    """The `global_pool` a timm model was built with (what `num_classes=0` pools by), or None."""
    for owner in (model, getattr(model, "head", None)):
        pool = getattr(owner, "global_pool", getattr(owner, "pool_type", None))
        pool = getattr(pool, "pool_type", pool)
        if isinstance(pool, str):
            return pool
    return None


def timm_twin(name, kwargs, source):
    """timm's own `num_classes=0` model for `name`, built by timm (on meta, no init cost) and given `source`'s tensors."""
    with torch.device("meta"):
        twin = timm.create_model(name, num_classes=0, **kwargs)
    twin.load_state_dict(source.state_dict(), assign=True)  # strict: the same keys and shapes
    for key, buffer in source.named_buffers():  # derived (non-persistent) buffers too
        owner_name, _, attr = key.rpartition(".")
        owner = twin.get_submodule(owner_name)
        if isinstance(owner._buffers.get(attr), torch.Tensor) and owner._buffers[attr].is_meta:
            owner._buffers[attr] = buffer
    return twin.eval()


def check_architecture(name, kwargs, size, tmp_path):
    """Build, count, compare with timm bitwise, freeze and fit, and round-trip the weights of one model."""
    torch.manual_seed(0)
    with torch.device("meta"):
        pooling = default_pooling(timm.create_model(name, num_classes=0, **kwargs))
    assert pooling, f"{name}: no global_pool attribute to read timm's default pooling from"
    backbone = TimmBackbone(name, pooling=pooling, **kwargs)
    with torch.no_grad():  # non-trivial statistics, so an update that touches them shows
        for buffer_name, buffer in backbone.model.named_buffers():
            if buffer_name.endswith("running_mean"):
                buffer.normal_(0, 0.1)
            elif buffer_name.endswith("running_var"):
                buffer.uniform_(0.5, 1.5)
    reference = timm_twin(name, kwargs, backbone.model)
    model = kt.Sequential([backbone, kt.layers.Dense(2)])
    x = torch.randn(2, size, size, 3)
    model(x)  # builds the head; shapes come from a real call (meta inference is symbolic.py's to test)
    expected_count = _timm_count(reference)
    assert backbone.count_params() == expected_count
    lines = []
    model.summary(print_fn=lines.append)
    row = next(line for line in lines if backbone.name in line)
    assert f"{expected_count:,}" in row

    with torch.no_grad():
        assert torch.equal(backbone(x), reference(x.permute(0, 3, 1, 2))), f"{name}: features differ from timm's"

    expected_state = {k: v.clone() for k, v in reference.state_dict().items()}
    backbone.trainable = False
    model.compile(optimizer="sgd", loss="mse")
    dense_before = model.layers[-1].bias.detach().clone()
    model.fit(x, torch.randn(2, 2), batch_size=1, epochs=1, verbose=0, shuffle=False)  # two steps
    assert not torch.equal(model.layers[-1].bias, dense_before)  # the head did train
    state = backbone.model.state_dict()
    assert state.keys() == expected_state.keys()
    changed = [k for k, v in state.items() if not torch.equal(v, expected_state[k])]
    assert not changed, f"{name}: a frozen backbone changed {changed}"

    weights_file = str(tmp_path / "model.safetensors")
    model.save_weights(weights_file)
    with torch.no_grad():
        for tensor in backbone.model.state_dict().values():
            tensor.zero_()
    model.load_weights(weights_file)
    restored = [k for k, v in backbone.model.state_dict().items() if not torch.equal(v, expected_state[k])]
    assert not restored, f"{name}: the weights file did not restore {restored}"


@pytest.mark.slow
@pytest.mark.parametrize("name, kwargs, size", ARCHITECTURES, ids=[row[0] for row in ARCHITECTURES])
def test_architecture_matches_timm(name, kwargs, size, tmp_path):
    torch.set_num_threads(1)  # tiny inputs: threads cost more than they give, and the suite shares cores
    try:
        check_architecture(name, kwargs, size, tmp_path)
    finally:
        torch.set_num_threads(_THREADS)


_THREADS = torch.get_num_threads()
