"""`get_file`: Keras's download cache (`~/.keras/datasets`, or `$KERAS_HOME`), hash checks, safe extraction.

Offline, a missing file is an error that names the URL and the path where a copy placed by hand is
picked up. Archives are checked member by member before anything is written: a member that would
land outside the extraction folder (`../`, absolute paths, links pointing out) refuses the archive.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from pathlib import Path
from typing import Any

from .io_utils import print_msg

__all__ = ["extract_archive", "get_file", "hash_file", "keras_home", "validate_file"]


def keras_home() -> str:
    """Keras's cache root: `$KERAS_HOME`, else `~/.keras` (or `/tmp/.keras` when home is not writable)."""
    if os.environ.get("KERAS_HOME"):
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    return os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")


def _hasher(algorithm: str, file_hash: str | None = None) -> Any:
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5', received {algorithm!r}.")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()  # Keras's legacy default for 32-character hashes


def hash_file(fpath: str | os.PathLike, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """The sha256 (or md5) hex digest of a file, read in chunks."""
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str | os.PathLike, file_hash: str, algorithm: str = "auto", chunk_size: int = 65535) -> bool:
    """Whether the file's hash equals `file_hash` ("auto": sha256 for 64 hex digits, else md5)."""
    return hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash)


def _check_members(names_and_targets: list[tuple[str, str | None]], root: Path, archive: str) -> None:
    """Refuse the whole archive if a member, or a link's target, would resolve outside `root`."""
    for name, link in names_and_targets:
        target = (root / name).resolve()
        if os.path.isabs(name) or not target.is_relative_to(root):
            raise ValueError(
                f"Archive {archive!r}: member {name!r} would be written outside {str(root)!r} (path traversal), so "
                "nothing was extracted; only extract archives from sources you trust."
            )
        if link is not None:
            link_target = (target.parent / link).resolve() if not os.path.isabs(link) else Path(link)
            if not link_target.is_relative_to(root):
                raise ValueError(
                    f"Archive {archive!r}: link {name!r} points outside {str(root)!r} ({link!r}), so nothing was "
                    "extracted; only extract archives from sources you trust."
                )


def extract_archive(file_path: str | os.PathLike, path: str | os.PathLike = ".", archive_format: Any = "auto") -> bool:
    """Extract a tar (plain, gz, bz2, xz) or zip archive into `path`; False if it is neither format.

    Args:
        file_path: the archive. path: the folder to extract into.
        archive_format: "auto" (tar, then zip), "tar", "zip", a list of these, or None (extract nothing).
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    file_path, root = str(file_path), Path(path).resolve()
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"extract_archive: archive_format entries must be 'tar' or 'zip', received {kind!r}.")
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                members = archive.getmembers()
                _check_members([(m.name, m.linkname if (m.issym() or m.islnk()) else None) for m in members],
                               root, file_path)
                root.mkdir(parents=True, exist_ok=True)
                archive.extractall(root, filter="data")
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                _check_members([(info.filename, None) for info in archive.infolist()], root, file_path)
                root.mkdir(parents=True, exist_ok=True)
                archive.extractall(root)
            return True
    return False


def _download(origin: str, target: str) -> None:
    """Stream `origin` to a temporary file beside `target`, then move it in place (no partial files)."""
    from .progbar import Progbar

    handle, partial = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".download-")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(origin, timeout=60) as response:
            size = response.headers.get("Content-Length")
            bar = Progbar(int(size) if size else None, unit_name="byte")
            done = 0
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                done += len(chunk)
                bar.update(done)
            bar.update(done, finalize=True)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def get_file(
    fname: str | None = None,
    origin: str | None = None,
    untar: bool = False,
    md5_hash: str | None = None,
    file_hash: str | None = None,
    cache_subdir: str = "datasets",
    hash_algorithm: str = "auto",
    extract: bool = False,
    archive_format: Any = "auto",
    cache_dir: str | None = None,
    force_download: bool = False,
) -> str:
    """The local path of `origin`, downloaded into `cache_dir/cache_subdir/fname` unless already there.

    Args:
        fname: local file name (default: the last part of the URL); with `extract`, a name without a dot
            names the extraction folder. origin: the URL.
        untar: deprecated form of `extract=True, archive_format="tar"`. md5_hash: deprecated `file_hash`.
        file_hash: expected sha256 (or md5) of the file; a cached copy that does not match is fetched again,
            a download that does not match raises. cache_subdir: folder under `cache_dir` (an absolute path
            is used as is). hash_algorithm: "auto", "sha256" or "md5".
        extract: extract the archive and return the extraction folder. archive_format: see `extract_archive`.
        cache_dir: cache root (default `$KERAS_HOME` or `~/.keras`). force_download: download even if cached.
    """
    if origin is None:
        raise ValueError('get_file: specify the "origin" argument (the URL of the file to download).')
    file_hash = file_hash if file_hash is not None else md5_hash
    _hasher(hash_algorithm, file_hash)  # validates the algorithm name up front
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    if not os.access(base, os.W_OK) and os.path.exists(base):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    given = os.fspath(fname) if fname is not None else None
    if given and os.sep in given:
        raise ValueError(
            f"get_file: fname must be a file name, not a path (received {given!r}); pass the folder as cache_dir."
        )
    name = given or os.path.basename(urllib.parse.urlsplit(origin).path)
    if not name:
        raise ValueError(f"get_file: cannot tell a file name from origin {origin!r}; pass fname.")
    extraction_dir = None
    if extract or untar:
        if given and "." in name:
            target = os.path.join(datadir, name)
            extraction_dir = os.path.join(datadir, name[: name.find(".")] + "_extracted")
        else:
            target = os.path.join(datadir, f"{name}_archive")
            extraction_dir = os.path.join(datadir, name)
    else:
        target = os.path.join(datadir, name)

    stale = False
    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        print_msg(f"A local file was found at {target}, but its {hash_algorithm} hash does not match {file_hash}; "
                  "downloading it again.")
        download = stale = True
    if download:
        print_msg(f"Downloading data from {origin}")
        try:
            _download(origin, target)
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            problem = (f"the copy at {target} does not match file_hash {file_hash}" if stale else
                       "the file is not in the cache")
            raise ConnectionError(
                f"get_file: could not download {origin} ({reason}) and {problem}. If this machine is offline, "
                f"download {origin} elsewhere and place it at {target}; get_file then uses that copy."
            ) from error
        if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            raise ValueError(
                f"get_file: the file downloaded from {origin} does not match the {hash_algorithm} file_hash "
                f"{file_hash} (incomplete or corrupted download, or a changed file); it was removed."
            )
    if extraction_dir is not None:
        fmt = "tar" if untar else archive_format
        if not extract_archive(target, extraction_dir, fmt):
            warnings.warn(f"get_file: could not extract {target} (format {fmt!r}).", stacklevel=2)
        return extraction_dir
    return target

