"""Pretrained-file lookup: caches first, a bounded network probe, clear offline errors."""

import time

import pytest

from kerastorch.applications import pretrained


def test_cache_dirs_follow_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    assert pretrained.keras_cache_dir() == tmp_path / "k" / "models"
    assert pretrained.torch_hub_cache_dir() == tmp_path / "t" / "hub" / "checkpoints"


def test_probe_is_bounded_and_respects_offline(monkeypatch):
    start = time.perf_counter()
    pretrained.network_reachable("https://storage.googleapis.com/x", seconds=0.5)
    assert time.perf_counter() - start < 1.0
    monkeypatch.setenv("KERASTORCH_OFFLINE", "1")
    assert pretrained.offline() and not pretrained.network_reachable("https://storage.googleapis.com/x")


def test_timm_cached_file_found_in_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cfg = {"url": "https://example.com/weights/model-123.pth", "hf_hub_id": None}
    assert pretrained.timm_cached_file(cfg) is None
    target = tmp_path / "hub" / "checkpoints" / "model-123.pth"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"x")
    assert pretrained.timm_cached_file(cfg) == str(target)
    assert pretrained.timm_weights_or_error("m", cfg) == str(target)


def test_missing_url_weights_error_names_file_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("KERASTORCH_OFFLINE", "1")
    with pytest.raises(pretrained.MissingWeightsError, match="model-123.pth") as error:
        pretrained.timm_weights_or_error("m", {"url": "https://example.com/model-123.pth"})
    assert str(tmp_path / "hub" / "checkpoints" / "model-123.pth") in str(error.value)
