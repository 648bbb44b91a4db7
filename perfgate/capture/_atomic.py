"""Write files atomically, on POSIX and on Windows.

A write goes to a temporary file in the target's directory, is fsynced, and
replaces the target with ``os.replace``; a crash at any point leaves either
the old file or the new one, never a torn mix. Both the capture side and the
judge write through here.

Also here, so that every writer behaves alike:

- writers never write through a symbolic link (the target is refused);
- temporary files are removed on every exit path Python sees, and stale ones
  (left by a killed process, older than :data:`STALE_TMP_S`) on the next write;
- :func:`locked`: an exclusive lock on ``<file>.lock`` (``flock`` on POSIX,
  ``msvcrt.locking`` on Windows), for read-modify-write cycles;
- :func:`append_line`: a checked, fsynced append under that lock, which first
  repairs a torn tail (a last line without its newline) left by a crash or a
  full disk, and undoes its own partial write when it fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from perfgate._errors import WriteError

__all__ = ["STALE_TMP_S", "append_line", "locked", "write_atomic"]

_DEFAULT_MODE: Final = 0o644
STALE_TMP_S: Final = 600.0
"""A temporary file older than this belongs to no live writer (writes take seconds)."""


def _refuse_symlink(path: Path) -> None:
    if path.is_symlink():
        raise WriteError(f"{path}: is a symbolic link; perfgate does not write through links")


def _clean_stale(path: Path) -> None:
    """Remove ``.NAME.*.tmp`` files that a killed writer of ``path`` left behind."""
    now = time.time()
    with contextlib.suppress(OSError):
        for tmp in path.parent.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                if not tmp.is_symlink() and now - tmp.stat().st_mtime > STALE_TMP_S:
                    tmp.unlink()


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (blocking) for a read-modify-write."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as err:
        raise WriteError(f"{lock_path}: cannot lock ({err.strerror})") from None
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def append_line(path: Path, line: bytes) -> None:
    """Append one newline-terminated line, whole or not at all, under :func:`locked`."""
    if not line.endswith(b"\n"):
        line += b"\n"
    _refuse_symlink(path)
    with locked(path):
        try:
            fd = os.open(
                path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644
            )
        except OSError as err:
            raise WriteError(f"{path}: cannot append ({err.strerror})") from None
        size = 0
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    line = b"\n" + line  # a torn tail: end it before appending
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                if written <= 0:
                    raise OSError(28, "no space left on device")
                view = view[written:]
            os.fsync(fd)
        except OSError as err:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)  # undo a partial line
            raise WriteError(f"{path}: cannot append ({err.strerror})") from None
        finally:
            os.close(fd)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file, fsync, rename, fsync dir."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent
    _refuse_symlink(path)
    _clean_stale(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise WriteError(f"{path}: cannot write ({err.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the target's mode, or a normal one.
        # (os.chmod by path: os.fchmod does not exist on Windows.)
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = _DEFAULT_MODE
        with contextlib.suppress(OSError):
            Path(tmp_name).chmod(mode)
        os.replace(tmp_name, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(err, OSError):
            raise WriteError(f"{path}: cannot write ({err.strerror})") from None
        raise
    # Make the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
