"""File plumbing shared by every format: atomic writes and clear errors for unreadable files.

A save writes a temporary file next to the target and renames it into place only once it is
complete and flushed, so a crash (or a kill) mid-save leaves the old file or the new one, never a
broken one. Nothing here ever unpickles.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import zipfile
import zlib
from typing import Any, Iterator

# An archive entry may expand at most this many times (beyond 1 GiB) before it is refused as a bomb.
_MAX_EXPANSION = 1000
_BOMB_FLOOR_BYTES = 1 << 30


def path_string(filepath) -> str:
    """`str` or `os.PathLike` to a string path; anything else is a TypeError."""
    if isinstance(filepath, (str, os.PathLike)):
        return os.fspath(filepath)
    raise TypeError(f"Expected a file path (str or os.PathLike), received {type(filepath).__name__}: {filepath!r}.")


@contextlib.contextmanager
def atomic_write(filepath: str, overwrite: bool = True) -> Iterator[str]:
    """Yield a temporary path in the target's folder; on success, fsync it and rename it onto `filepath`.

    On any error (or KeyboardInterrupt) the temporary file is removed and the target is untouched.
    """
    filepath = os.path.abspath(path_string(filepath))
    folder = os.path.dirname(filepath)
    if os.path.isdir(filepath):
        raise ValueError(f"Cannot save to {filepath!r}: it is a directory; pass a file path instead.")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {filepath!r}: folder {folder!r} does not exist; create it first.")
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"File {filepath!r} already exists; pass overwrite=True to replace it.")
    mode = _target_mode(filepath)
    base = os.path.basename(filepath)
    # The temporary name ends like the target (".weights.h5"), since savers pick the format by suffix.
    extension = base[base.index("."):] if "." in base.lstrip(".") else ""
    _remove_stale_temps(folder, base)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{base}.tmp-", suffix=extension)
    os.close(fd)
    try:
        yield temp
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, filepath)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def _remove_stale_temps(folder: str, base: str) -> None:
    """Delete temporary files that a killed writer of the same target left behind (`.name.tmp-*`)."""
    prefix = f".{base}.tmp-"
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith(prefix) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _target_mode(filepath: str) -> int:
    # Keep an existing file's permissions; new files get the usual umask-filtered 0o666
    # (mkstemp's private 0o600 would otherwise leak into the final file).
    try:
        return os.stat(filepath).st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def require_file(filepath: str) -> str:
    """The absolute path of an existing, non-empty regular file, else a clear error."""
    filepath = path_string(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"File {filepath!r} does not exist; check the path.")
    if not os.path.isfile(filepath):
        raise ValueError(f"{filepath!r} is not a file; pass the path of a saved weights or model file.")
    if os.path.getsize(filepath) == 0:
        raise ValueError(f"File {filepath!r} is empty (0 bytes): the save that wrote it did not finish; re-save it.")
    return filepath


def corrupt_file_error(filepath: str, kind: str, error: BaseException) -> ValueError:
    """The one error every reader raises for a file it cannot parse."""
    return ValueError(
        f"File {filepath!r} is not a readable {kind}: it is truncated, corrupt or of another format "
        f"({type(error).__name__}: {error}); re-save or re-download it."
    )


def read_zip_members(filepath: str, wanted: tuple[str, ...], kind: str = "Keras model archive") -> dict[str, bytes]:
    """Read the named members of a zip archive into memory, refusing unsafe entry names.

    Nothing is extracted to disk, so entry names cannot write anywhere; archives that contain
    absolute paths or `..` components are still refused outright, as a sign of a crafted file.
    """
    try:
        with zipfile.ZipFile(filepath, "r") as archive:
            names = archive.namelist()
            _refuse_unsafe(filepath, names)
            members = {}
            for name in wanted:
                if name in names:
                    info = archive.getinfo(name)
                    if info.file_size > _BOMB_FLOOR_BYTES and info.file_size > _MAX_EXPANSION * max(info.compress_size, 1):
                        raise ValueError(
                            f"File {filepath!r}: entry {name!r} expands {info.compress_size} bytes to {info.file_size}; "
                            "refusing a possible zip bomb."
                        )
                    members[name] = archive.read(name)
            return members
    except ValueError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as error:
        raise corrupt_file_error(filepath, kind, error) from error


def _refuse_unsafe(filepath: str, names: list[str]) -> None:
    unsafe = [n for n in names if _unsafe_member(n)]
    if unsafe:
        raise ValueError(
            f"File {filepath!r} contains archive entries with unsafe paths {unsafe}: refusing to read it; "
            "only load archives from sources you trust."
        )


def _unsafe_member(name: str) -> bool:
    normalized = name.replace("\\", "/")
    parts = normalized.split("/")
    return normalized.startswith("/") or ".." in parts or (len(parts[0]) == 2 and parts[0][1] == ":")


@contextlib.contextmanager
def open_archived(filepath: str, member: str, kind: str = "Keras model archive") -> Iterator[Any]:
    """A seekable read-only file object over one zip entry.

    Stored (uncompressed) entries, as Keras and kerastorch write them, are read in place from the
    archive, unchecked until `check_archived` is called (kerastorch's weights carry checksums of
    their own); compressed ones are inflated into memory, which checks their CRC-32.
    """
    try:
        with zipfile.ZipFile(filepath, "r") as archive:
            _refuse_unsafe(filepath, archive.namelist())
            if member not in archive.namelist():
                raise ValueError(
                    f"File {filepath!r} has no `{member}`, so the model's weights are missing; loading it would give "
                    "random weights. Re-save the model (or rebuild it from its config with model_from_json)."
                )
            info = archive.getinfo(member)
            if info.compress_type != zipfile.ZIP_STORED:
                if info.file_size > _BOMB_FLOOR_BYTES and info.file_size > _MAX_EXPANSION * max(info.compress_size, 1):
                    raise ValueError(f"File {filepath!r}: entry {member!r} is a possible zip bomb; refusing it.")
                yield io.BytesIO(archive.read(member))  # zipfile checks the CRC while inflating
                return
        with open(filepath, "rb", buffering=0) as handle:
            handle.seek(info.header_offset)
            header = handle.read(30)
            if len(header) != 30 or header[:4] != b"PK\x03\x04":
                raise zipfile.BadZipFile(f"bad local header for {member!r}")
            start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
            yield _Window(handle, start, info.file_size, info.CRC)
    except ValueError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as error:
        raise corrupt_file_error(filepath, kind, error) from error


def check_archived(source: Any, filepath: str, member: str) -> None:
    """Check an entry opened by `open_archived` against its zip CRC-32 (ValueError if they differ)."""
    if isinstance(source, _Window) and source.crc32() != source.expected_crc:
        raise ValueError(
            f"File {filepath!r} is corrupt: entry {member!r} does not match its CRC-32 (a damaged disk, copy or "
            "download); nothing was loaded. Re-save or re-download the file."
        )


def adopt_as_zip_entry(handle: Any, name: str, header_bytes: int) -> zipfile.ZipInfo:
    """Turn bytes `[header_bytes, end)` of an open file into a stored zip entry named `name`, in place.

    The entry's local header goes into the reserved first `header_bytes` (padded to fill them with
    an extra field every zip reader skips); the returned ZipInfo goes into the central directory of
    a `zipfile.ZipFile` then opened on the same file's end. Data written once, where it will stay,
    instead of written to a temporary file and copied into the archive.
    """
    handle.seek(0, os.SEEK_END)
    size = handle.tell() - header_bytes
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.CRC, info.file_size, info.compress_size = _Window(handle, header_bytes, size).crc32(), size, size
    info.external_attr = 0o644 << 16
    unpadded = len(info.FileHeader())
    if unpadded + 4 > header_bytes:
        raise ValueError(f"A zip header for {name!r} needs {unpadded + 4} bytes, more than the {header_bytes} reserved.")
    info.extra = _PADDING_TAG.to_bytes(2, "little") + (header_bytes - unpadded - 4).to_bytes(2, "little")
    info.extra += bytes(header_bytes - unpadded - 4)
    header = info.FileHeader()
    handle.seek(0)
    handle.write(header)
    info.extra = b""  # the padding belongs to the local header only
    info.header_offset = 0
    return info


# The extra-field ID of the padding in `adopt_as_zip_entry` (the one Android's zipalign uses).
_PADDING_TAG = 0xD935


class _Window(io.RawIOBase):
    """Bytes `[start, start + size)` of an open file, as a read-only seekable file (for h5py)."""

    def __init__(self, handle: Any, start: int, size: int, expected_crc: int | None = None):
        super().__init__()
        self._handle, self._start, self._size, self._position = handle, start, size, 0
        self.expected_crc = expected_crc

    def readable(self) -> bool:
        return True

    def extent(self) -> tuple[Any, int, int]:
        """`(raw file, start, size)` of the window in its file."""
        return self._handle, self._start, self._size

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = max(0, min(len(view), self._size - self._position))
        if count == 0:
            return 0
        self._handle.seek(self._start + self._position)
        read = self._handle.readinto(view[:count])
        self._position += read
        return read

    def crc32(self) -> int:
        value, chunk = 0, bytearray(1 << 20)
        self.seek(0)
        while True:
            count = self.readinto(chunk)
            if not count:
                break
            value = zlib.crc32(memoryview(chunk)[:count], value)
        self.seek(0)
        return value
