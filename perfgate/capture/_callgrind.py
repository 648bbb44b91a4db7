"""The callgrind client-request helper: a tiny C library, built on first use.

callgrind's client requests (``CALLGRIND_START_INSTRUMENTATION`` and friends)
are magic instruction sequences that only a compiler can emit, from the
``valgrind/callgrind.h`` header that Debian's ``valgrind`` package installs.
perfgate ships the six-line source (``_callgrind_helper.c``) and compiles it
once with the system compiler (``$CC``, else ``cc``) into a per-user cache,
keyed by the source's hash, written atomically. Without a compiler or the
header, :func:`helper_library` says why and instruction mode falls back to
instrumenting the whole process (exact, but several times slower).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

__all__ = ["HELPER_ENV", "helper_library"]

SOURCE: Final = Path(__file__).with_name("_callgrind_helper.c")
HELPER_ENV: Final = "PERFGATE_CALLGRIND_HELPER"
"""Set in the counting process: the built helper's path (absent: the fallback)."""
_BUILD_TIMEOUT_S: Final = 60.0


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perfgate"


def helper_library() -> tuple[Path | None, str]:
    """The built helper (building it if needed), or ``None`` and the reason.

    Never raises: a missing source (a broken install), no compiler, a failed
    build or an unwritable cache each come back as ``None`` and one line."""
    try:
        source = SOURCE.read_bytes()
    except OSError as err:
        return None, f"the callgrind helper's source is missing ({err.strerror}: {SOURCE.name})"
    digest = hashlib.sha256(source).hexdigest()[:16]
    target = _cache_dir() / f"callgrind-helper-{digest}.so"
    if target.is_file():
        return target, "cached"
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return None, "no C compiler (cc) to build the callgrind helper"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            built = Path(scratch) / "helper.so"
            copy = Path(scratch) / SOURCE.name  # exactly the bytes the cache key hashed
            copy.write_bytes(source)
            done = subprocess.run(
                [compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(copy)],
                capture_output=True, text=True, check=False, timeout=_BUILD_TIMEOUT_S,
            )  # fmt: skip
            if done.returncode != 0:
                first = (done.stderr.strip().splitlines() or ["failed"])[0]
                return None, f"the callgrind helper did not build ({first})"
            os.replace(built, target)
    except subprocess.TimeoutExpired:
        return None, f"the callgrind helper did not build in {_BUILD_TIMEOUT_S:.0f} s"
    except OSError as err:
        return None, f"the callgrind helper could not be built in {target.parent} ({err.strerror})"
    return target, "built"
