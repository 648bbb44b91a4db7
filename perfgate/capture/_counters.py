"""Deterministic counters for one call of a benchmarked function.

- **File-system calls**: Python audit events (``open``, ``os.listdir``,
  ``os.scandir``, ``os.rename``, ``os.replace``, ``os.remove``, ``os.rmdir``,
  ``os.mkdir``, ``shutil.*``…) plus ``os.stat``/``os.lstat``, which raise no
  audit event and are counted by wrapping them during the call (this also sees
  ``os.path.exists``/``isfile``/``getmtime`` and ``pathlib``'s ``stat``,
  which go through ``os.stat``). Calls made from C code without going
  through these Python functions (``os.fstat`` on a descriptor, C extensions)
  are not seen.
- **Bytes read and written**: ``rchar``/``wchar`` of ``/proc/self/io``
  (bytes passed to read/write system calls, cache hits included), where it exists.
- **Peak traced allocation**: ``tracemalloc``'s peak during the call, above
  what was allocated before it.
"""

from __future__ import annotations

import os
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from perfgate.capture._records import KIND_COUNTER, BenchmarkRecord

__all__ = ["measure_counters"]

_FS_EVENTS: Final = frozenset(
    {
        "open", "os.listdir", "os.scandir", "os.rename", "os.replace", "os.remove",
        "os.unlink", "os.rmdir", "os.mkdir", "os.chmod", "os.utime", "os.truncate",
        "os.link", "os.symlink", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
        "shutil.move", "shutil.rmtree", "os.walk", "glob.glob",
    }
)  # fmt: skip
_PROC_IO: Final = Path("/proc/self/io")


class _FsCounter:
    """Counts file-system calls of this thread while armed (audit hooks are forever,
    so one hook is installed per process and switched on and off)."""

    installed = False
    armed_thread: int | None = None
    count = 0

    @classmethod
    def hook(cls, event: str, _args: tuple[Any, ...]) -> None:
        if cls.armed_thread == threading.get_ident() and event in _FS_EVENTS:
            cls.count += 1

    @classmethod
    def install(cls) -> None:
        if not cls.installed:
            sys.addaudithook(cls.hook)
            cls.installed = True


def _io() -> tuple[int, int, int] | None:
    try:
        text = _PROC_IO.read_text()
    except OSError:
        return None
    values = dict(line.split(": ") for line in text.splitlines() if ": " in line)
    return int(values["rchar"]), int(values["wchar"]), len(text)


def measure_counters(name: str, function: Callable[[], object]) -> list[BenchmarkRecord]:
    """Call ``function`` once and return its counter benchmarks."""
    _FsCounter.install()
    real_stat, real_lstat = os.stat, os.lstat
    stats = 0

    def counted_stat(*args: Any, **kwargs: Any) -> Any:
        nonlocal stats
        stats += 1
        return real_stat(*args, **kwargs)

    def counted_lstat(*args: Any, **kwargs: Any) -> Any:
        nonlocal stats
        stats += 1
        return real_lstat(*args, **kwargs)

    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    before_io = _io()
    base_memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    _FsCounter.count = 0
    _FsCounter.armed_thread = threading.get_ident()
    os.stat, os.lstat = counted_stat, counted_lstat
    try:
        function()
    finally:
        os.stat, os.lstat = real_stat, real_lstat
        _FsCounter.armed_thread = None
        peak = tracemalloc.get_traced_memory()[1]
        if not tracing:
            tracemalloc.stop()
    after_io = _io()
    counts: list[tuple[str, str, float]] = [
        ("fs_calls", "file-system calls", float(_FsCounter.count + stats)),
        ("alloc_peak", "bytes", float(max(peak - base_memory, 0))),
    ]
    if before_io is not None and after_io is not None:
        # Reading /proc/self/io itself counts as a read: take that out.
        read = after_io[0] - before_io[0] - before_io[2]
        counts.append(("bytes_read", "bytes", float(max(read, 0))))
        counts.append(("bytes_written", "bytes", float(after_io[1] - before_io[1])))
    return [
        BenchmarkRecord(name=f"{name}:{suffix}", kind=KIND_COUNTER, unit=unit, samples=(value,))
        for suffix, unit, value in counts
    ]
