"""Write files atomically, on POSIX and on Windows.

A write goes to a temporary file in the target's directory, is fsynced, and
replaces the target with ``os.replace``; a crash at any point leaves either
the old file or the new one, never a torn mix. Both the capture side and the
judge write through here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

from perfgate._errors import WriteError

__all__ = ["write_atomic"]

_DEFAULT_MODE: Final = 0o644


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file, fsync, rename, fsync dir."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent
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
