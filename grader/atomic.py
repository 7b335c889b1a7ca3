"""Files shared between processes: written so that a reader (or a crash) sees the old content or the new one,
never a part; built under an exclusive lock; identified by their sha256."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock; a rename into place still keeps readers from partial folders
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def locked(lock_path: str | os.PathLike[str]) -> Iterator[None]:
    """An exclusive advisory lock (``fcntl.flock`` on ``lock_path``) held for the duration of the block."""
    if fcntl is None:
        yield
        return
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def replacing_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Build a folder that replaces ``target`` whole: yields an empty temporary sibling to fill. When the block ends
    normally the new folder is made readable to all (``mkdtemp`` and some writers create owner-only modes; a cache
    may be shared) and renamed into place, the old one moved aside first and then removed; when it raises,
    ``target`` is left as it was. Call it holding :func:`locked`: it first removes what a killed build left."""
    target = Path(target)
    parent = target.parent
    for stale in (*parent.glob(f".{target.name}.tmp-*"), *parent.glob(f".{target.name}.old-*")):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    old = parent / f".{target.name}.old-{os.getpid()}"
    try:
        yield tmp
        for path in (tmp, *tmp.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        if target.exists() or target.is_symlink():
            os.rename(target, old)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a rename inside folder ``path`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, durable: bool = True) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` through a temporary sibling renamed over it.

    The file gets the usual permissions (0666 less the umask). ``durable`` also fsyncs the
    file and its folder, so the new content survives a power cut once this returns.
    """
    target = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        try:
            write_all(fd, raw)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable:
        fsync_dir(target.parent)
    return target
