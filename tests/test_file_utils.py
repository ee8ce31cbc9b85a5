"""`kt.utils.get_file` against Keras's: cache layout, hashes, extraction, the offline error, unsafe archives.

Downloads use `file://` URLs (this machine is offline), which both libraries fetch through urllib.
"""

import hashlib
import io
import os
import tarfile
import zipfile

import keras
import pytest

import kerastorch as kt


def _archives(folder):
    folder.mkdir(parents=True, exist_ok=True)
    payload = {"data/a.txt": b"alpha", "data/sub/b.txt": b"beta"}
    with tarfile.open(folder / "pack.tar.gz", "w:gz") as archive:
        for name, data in payload.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(folder / "pack.zip", "w") as archive:
        for name, data in payload.items():
            archive.writestr(name, data)
    (folder / "plain.bin").write_bytes(b"0123456789" * 100)
    return folder


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


CASES = [  # get_file arguments; the file name comes from the origin unless fname is given
    dict(origin="plain.bin"),
    dict(origin="plain.bin", fname="renamed.bin", cache_subdir="models"),
    dict(origin="pack.tar.gz", fname="pack.tar.gz", extract=True),
    dict(origin="pack.tar.gz", fname="unpacked", extract=True),
    dict(origin="pack.zip", extract=True),
    dict(origin="pack.tar.gz", fname="legacy", untar=True),
    dict(origin="pack.zip", fname="kept.zip", extract=True, archive_format="tar"),
]


@pytest.mark.parametrize("arguments", CASES, ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()))
def test_cache_layout_and_extraction_match_keras(tmp_path, arguments):
    source = _archives(tmp_path / "source")
    arguments = dict(arguments, origin=(source / arguments["origin"]).as_uri())
    results = []
    for lib in (kt, keras):
        cache = tmp_path / lib.__name__
        cache.mkdir()  # Keras falls back to /tmp/.keras when cache_dir does not exist yet
        if arguments.get("archive_format") == "tar":
            with pytest.warns(UserWarning, match="extract"):
                path = lib.utils.get_file(cache_dir=str(cache), **arguments)
        else:
            path = lib.utils.get_file(cache_dir=str(cache), **arguments)
        results.append((os.path.relpath(path, cache), _tree(cache)))
    assert results[0] == results[1]


def test_hashes_are_checked(tmp_path, capsys):
    source = _archives(tmp_path / "source")
    origin = (source / "plain.bin").as_uri()
    data = (source / "plain.bin").read_bytes()
    sha256, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()
    cache = str(tmp_path / "cache")
    path = kt.utils.get_file(origin=origin, file_hash=sha256, cache_dir=cache)
    assert kt.utils.get_file(origin=origin, md5_hash=md5, cache_dir=cache) == path
    assert kt.utils.get_file(origin=origin, file_hash=md5, hash_algorithm="md5", cache_dir=cache) == path
    with pytest.raises(ValueError, match="does not match"):
        kt.utils.get_file(origin=origin, fname="other.bin", file_hash="0" * 64, cache_dir=cache)
    assert not os.path.exists(os.path.join(cache, "datasets", "other.bin"))  # a bad download is not kept
    with open(path, "wb") as handle:  # a corrupted cached copy is fetched again
        handle.write(b"corrupted")
    capsys.readouterr()
    kt.utils.get_file(origin=origin, file_hash=sha256, cache_dir=cache)
    assert "does not match" in capsys.readouterr().out
    assert open(path, "rb").read() == data
    with pytest.raises(ValueError, match="hash_algorithm"):
        kt.utils.get_file(origin=origin, hash_algorithm="sha1", cache_dir=cache)


def test_offline_error_names_url_and_where_to_place_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    origin = "http://127.0.0.1:9/datasets/mnist.npz"  # nothing listens on port 9: the download fails at once
    expected = tmp_path / "home" / "datasets" / "mnist.npz"
    with pytest.raises(ConnectionError) as error:
        kt.utils.get_file(origin=origin)
    assert origin in str(error.value) and str(expected) in str(error.value)
    assert sorted(os.listdir(expected.parent)) == []  # no partial file left behind
    expected.write_bytes(b"placed by hand")
    assert kt.utils.get_file(origin=origin) == str(expected)
    with pytest.raises(ValueError, match="fname"):
        kt.utils.get_file(fname="a/b.npz", origin=origin)


def _tar_with(folder, name, member, link=None):
    path = folder / name
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo(member)
        if link is not None:
            info.type, info.linkname = tarfile.SYMTYPE, link
            archive.addfile(info)
        else:
            info.size = 4
            archive.addfile(info, io.BytesIO(b"evil"))
    return path


def test_archives_reaching_outside_the_folder_are_refused(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    unsafe = [_tar_with(folder, "dots.tar", "../escaped.txt"), _tar_with(folder, "abs.tar", "/tmp/escaped.txt"),
              _tar_with(folder, "link.tar", "inside", link="../../outside")]
    with zipfile.ZipFile(folder / "dots.zip", "w") as archive:
        archive.writestr("../escaped.txt", b"evil")
    unsafe.append(folder / "dots.zip")
    for archive in unsafe:
        target = tmp_path / "out" / archive.name
        with pytest.raises(ValueError, match="outside"):
            kt.utils.get_file(origin=archive.as_uri(), fname=archive.name, extract=True,
                              cache_dir=str(tmp_path / "cache"))
        with pytest.raises(ValueError, match="outside"):
            kt.utils.file_utils.extract_archive(archive, target)
        assert not target.exists()
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "cache" / "escaped.txt").exists()
