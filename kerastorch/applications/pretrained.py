"""Finding pretrained weight files: the caches first, a download only when the network answers.

Users often already hold the file (in Keras's, torch hub's or Hugging Face's cache), so those are
searched first. Without a cached file we try the network only after a sub-second reachability check,
so an offline machine gets a clear error naming the file and where to put it instead of a hang.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

_PROBE_SECONDS = 0.75


def keras_cache_dir() -> Path:
    """Keras's download folder for application weights: `$KERAS_HOME/models` (default ~/.keras/models)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def torch_hub_cache_dir() -> Path:
    """torch hub's checkpoint folder (`$TORCH_HOME/hub/checkpoints`), where timm's URL weights land."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def offline() -> bool:
    """True when the environment forbids downloads (HF_HUB_OFFLINE or KERASTORCH_OFFLINE set)."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "KERASTORCH_OFFLINE"))


def network_reachable(url: str, seconds: float = _PROBE_SECONDS) -> bool:
    """Whether `url`'s host accepts a TCP connection within `seconds` (DNS included, never hangs)."""
    if offline():
        return False
    parsed = urllib.parse.urlparse(url)
    host, port = parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=seconds):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # getaddrinfo ignores socket timeouts
    thread.start()
    thread.join(seconds)
    return bool(result and result[0])


def download(url: str, target: Path, md5: str | None = None) -> Path:
    """Download `url` to `target` atomically, checking its md5 when given."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5()
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as part:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    part.write(chunk)
        except BaseException:
            part.close()
            os.unlink(part.name)
            raise
    if md5 is not None and digest.hexdigest() != md5:
        os.unlink(part.name)
        raise ValueError(f"Downloaded {url} but its md5 {digest.hexdigest()} is not the expected {md5}; try again.")
    shutil.move(part.name, target)
    return target


class MissingWeightsError(ValueError):
    """Pretrained weights are neither cached nor downloadable; the message says what to fetch and where."""


def missing_weights(what: str, filename: str, url: str, cache_dir: Path, alternatives: list[str] = ()) -> MissingWeightsError:
    others = "".join(f" or {a}" for a in alternatives)
    return MissingWeightsError(
        f"{what}: pretrained weights file {filename!r} is not in the cache and cannot be downloaded "
        f"(no network); download {url} on a connected machine and put it at {cache_dir / filename}{others}, "
        "or pass weights=<local path>."
    )


def timm_cached_file(pretrained_cfg: Any) -> str | None:
    """A local copy of a timm model's pretrained weights, from the Hugging Face or torch hub cache."""
    cfg = pretrained_cfg if isinstance(pretrained_cfg, dict) else pretrained_cfg.to_dict()
    hub_id = cfg.get("hf_hub_id")
    if hub_id:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover - timm depends on huggingface_hub
            try_to_load_from_cache = None
        if try_to_load_from_cache is not None:
            names = [cfg["hf_hub_filename"]] if cfg.get("hf_hub_filename") else ["model.safetensors", "pytorch_model.bin"]
            for name in names:
                found = try_to_load_from_cache(hub_id, name)
                if isinstance(found, str) and os.path.isfile(found):
                    return found
    url = cfg.get("url")
    if url:
        candidate = torch_hub_cache_dir() / os.path.basename(urllib.parse.urlparse(url).path)
        if candidate.is_file():
            return str(candidate)
    return None


def timm_weights_or_error(model_name: str, pretrained_cfg: Any) -> str | None:
    """The cached file for a timm model, None when timm may download it, or a clear offline error."""
    cached = timm_cached_file(pretrained_cfg)
    if cached is not None:
        return cached
    cfg = pretrained_cfg if isinstance(pretrained_cfg, dict) else pretrained_cfg.to_dict()
    hub_id, url = cfg.get("hf_hub_id"), cfg.get("url")
    probe = "https://huggingface.co" if hub_id else url
    if probe and network_reachable(probe):
        return None
    if hub_id:
        from huggingface_hub.constants import HF_HUB_CACHE

        filename = cfg.get("hf_hub_filename") or "model.safetensors"
        where = Path(HF_HUB_CACHE) / ("models--" + hub_id.replace("/", "--"))
        raise MissingWeightsError(
            f"timm model {model_name!r}: pretrained weights {hub_id}/{filename} are not in the Hugging Face "
            f"cache ({where}) and cannot be downloaded (no network); fetch them on a connected machine "
            f"(huggingface-cli download {hub_id}) and copy the cache over, or pass weights=<local file>."
        )
    if url:
        filename = os.path.basename(urllib.parse.urlparse(url).path)
        raise missing_weights(f"timm model {model_name!r}", filename, url, torch_hub_cache_dir())
    raise MissingWeightsError(f"timm model {model_name!r} has no pretrained weights source; pass weights=<local file>.")
