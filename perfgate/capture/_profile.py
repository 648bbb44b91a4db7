"""Where a counted call's instructions went: per function, from one callgrind dump.

After a benchmark's counting windows, the counting process calls it once more
in a *profile window* (:func:`profile_call`): on Python 3.12 and later with
CPython's perf trampolines active (``sys.activate_stack_trampoline("perf")``),
so that every Python function call passes through a small machine-code
trampoline of its own. callgrind then sees each Python function as a C-level
frame; the perf map CPython writes (``/tmp/perf-<pid>.map``) names them. The
counting process runs with ``--separate-callers1=_PyEval_EvalFrameDefault``, so
the interpreter loop's own instructions are kept apart per calling trampoline,
that is per Python function. The window is not one of the counted ones (the
trampolines cost a few instructions per call); its totals only explain.

:func:`function_costs` turns the dump into one entry per function:

- a Python function: its calls, its *own* instructions (the interpreter loop
  running its bytecode) and its *inclusive* instructions (everything under it,
  C functions and other Python functions included);
- a C function: its calls and its own instructions.

Deterministic, like the counts (docs/why.md). Without trampolines (Python
3.11, or a build without them), only C functions are named and the
interpreter loop is one entry. Standard library only: this runs in capture.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

__all__ = [
    "EVAL_FUNCTION",
    "MAX_FUNCTIONS",
    "PROFILE_LABEL",
    "dump_pid",
    "function_costs",
    "perf_map",
    "python_frames",
    "remove_perf_map",
]

PROFILE_LABEL: Final = "perfgate-profile"
EVAL_FUNCTION: Final = "_PyEval_EvalFrameDefault"
MAX_FUNCTIONS: Final = 100
"""Functions kept per benchmark, the costliest (own instructions) first."""
MIN_SHARE: Final = 0.0005
"""A function is kept when its own (or, for a Python function, inclusive)
instructions are at least this share of the call; below it, a change could
only move a regression's explanation by a few percent of the change."""
MAX_DUMP_BYTES: Final = 64 * 1024 * 1024
_ADDRESS: Final = re.compile(r"^0x([0-9a-fA-F]+)$")
_SITE: Final = re.compile(r".*/(?:site-packages|dist-packages)/")
_STDLIB: Final = re.compile(r".*/lib/python\d+\.\d+/")


@contextlib.contextmanager
def python_frames() -> Iterator[bool]:
    """Perf trampolines on for the block, where this Python has them: yields
    whether Python functions will be named."""
    activate = getattr(sys, "activate_stack_trampoline", None)
    deactivate = getattr(sys, "deactivate_stack_trampoline", None)
    active = False
    if activate is not None:
        with contextlib.suppress(ValueError, OSError, RuntimeError):
            activate("perf")
            active = True
    try:
        yield active
    finally:
        if active and deactivate is not None:
            deactivate()


PERF_MAP_DIR: Final = Path("/tmp")  # CPython writes its perf maps there, always


def _map_path(pid: int, directory: Path) -> Path:
    return directory / f"perf-{pid}.map"


def perf_map(pid: int, directory: Path = PERF_MAP_DIR) -> dict[int, str]:
    """Start address → ``qualname:filename`` of the Python trampolines a process
    wrote (empty when it wrote none)."""
    names: dict[int, str] = {}
    try:
        path = _map_path(pid, directory)
        if path.stat().st_size > MAX_DUMP_BYTES:
            return names
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return names
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[2].startswith("py::"):
            with contextlib.suppress(ValueError):
                names[int(parts[0], 16)] = parts[2][4:]
    return names


def remove_perf_map(pid: int, directory: Path = PERF_MAP_DIR) -> None:
    """Delete a counting process's perf map (CPython never does)."""
    with contextlib.suppress(OSError):
        _map_path(pid, directory).unlink()


def _python_name(entry: str, roots: tuple[str, ...]) -> str:
    """``qualname (file)`` with the file relative to the project's tree, or to
    site-packages or the standard library, so both sides of an A/B agree."""
    qualname, _, filename = entry.partition(":")
    shown = filename
    for root in roots:
        if root and filename.startswith(root.rstrip("/") + "/"):
            shown = filename[len(root.rstrip("/")) + 1 :]
            break
    else:
        shown = _STDLIB.sub("", _SITE.sub("", filename))
    return f"{qualname} ({shown})" if shown else qualname


class _Dump:
    """Own cost, calls received and cost of calls made, per callgrind context."""

    def __init__(self) -> None:
        self.own: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.outgoing: dict[str, int] = {}
        """Inclusive cost of the calls each context made (its callees' share)."""
        self.total = 0


def _parse(text: str) -> _Dump:
    """callgrind's format (valgrind's manual, "Callgrind Format Specification"):
    ``fn=`` opens a function (context), cost lines follow; ``calls=N`` says the
    next cost line is N calls' inclusive cost to the last ``cfn=``. Names may be
    compressed as ``(id) name`` once, then ``(id)``."""
    dump = _Dump()
    tables: dict[str, dict[str, str]] = {"fn": {}, "fl": {}, "ob": {}}

    def name(value: str, table: str = "fn") -> str:
        names = tables[table]
        value = value.strip()
        if value.startswith("("):
            ident, _, rest = value.partition(")")
            rest = rest.strip()
            if rest:
                names[ident] = rest
                return rest
            return names.get(ident, value)
        return value

    function = target = ""
    in_call = False
    pending_calls = 0
    for line in text.splitlines():
        if not line:
            continue
        head = line[0]
        if head.isdigit() or head in "+-*":
            fields = line.split()
            cost = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
            if in_call:
                dump.calls[target] = dump.calls.get(target, 0) + pending_calls
                dump.outgoing[function] = dump.outgoing.get(function, 0) + cost
                in_call = False
            else:
                dump.own[function] = dump.own.get(function, 0) + cost
        elif line.startswith("fn="):
            function = name(line[3:])
        elif line.startswith("cfn="):
            target = name(line[4:])
        elif line.startswith("calls="):
            count = line[6:].split()
            pending_calls = int(count[0]) if count and count[0].isdigit() else 0
            in_call = True
        elif line.startswith("summary:") or line.startswith("totals:"):
            with contextlib.suppress(ValueError):
                dump.total = max(dump.total, int(line.split(":", 1)[1]))
        elif line.startswith(("fl=", "fi=", "fe=", "cfi=", "cfl=")):
            name(line.split("=", 1)[1], "fl")  # files: their own compression table
        elif line.startswith(("ob=", "cob=")):
            name(line.split("=", 1)[1], "ob")
    if not dump.total:
        dump.total = sum(dump.own.values())
    return dump


def _trampoline(part: str, python: Mapping[int, str]) -> str | None:
    match = _ADDRESS.match(part)
    if match is None:
        return None
    return python.get(int(match.group(1), 16))


_OWN_FILES: Final = (str(Path(__file__).with_name("_instructions.py")), __file__)
"""perfgate's own frames in the window (the loop that calls the benchmark)."""


def function_costs(
    dump_path: Path, python: Mapping[int, str], roots: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """One entry per function of a profile window's dump, costliest first (at
    most :data:`MAX_FUNCTIONS`, each at least :data:`MIN_SHARE` of the call):
    ``{"function", "python", "calls", "self", "inclusive"}`` (``inclusive`` for
    Python functions only)."""
    if dump_path.stat().st_size > MAX_DUMP_BYTES:
        return []
    dump = _parse(dump_path.read_text(encoding="utf-8", errors="replace"))
    own: dict[tuple[str, bool], int] = {}
    calls: dict[tuple[str, bool], int] = {}
    inclusive: dict[str, int] = {}
    for context in set(dump.own) | set(dump.calls):
        parts = context.split("'")
        base = parts[0]
        entry = _trampoline(base, python)
        if entry is not None and entry.endswith(_OWN_FILES):
            continue  # perfgate's frame around the call; its own few instructions
        if entry is not None:
            key = (_python_name(entry, roots), True)
            # Everything under the trampoline: itself and what it called (not the
            # cost of calls *to* it: a frame entered before collection began
            # has a call without cost).
            # A recursive call's context ("0x…'2") is inside the outer one already.
            if len(parts) == 1:
                whole = dump.own.get(context, 0) + dump.outgoing.get(context, 0)
                inclusive[key[0]] = inclusive.get(key[0], 0) + whole
        else:
            caller = _trampoline(parts[-1], python) if len(parts) > 1 else None
            if caller is not None and caller.endswith(_OWN_FILES):
                continue
            if base == EVAL_FUNCTION and caller is not None:
                key = (_python_name(caller, roots), True)  # the loop running its bytecode
            else:
                key = (base, False)
        own[key] = own.get(key, 0) + dump.own.get(context, 0)
        if entry is not None or not (base == EVAL_FUNCTION and len(parts) > 1):
            calls[key] = calls.get(key, 0) + dump.calls.get(context, 0)
    floor = MIN_SHARE * max(dump.total, 1)
    kept: list[tuple[int, int, str, bool]] = []
    for key in own.keys() | calls.keys():
        function, is_python = key
        cost = own.get(key, 0)
        whole = inclusive.get(function, 0) if is_python else 0
        if cost >= floor or whole >= floor:
            kept.append((-cost, -whole, function, is_python))
    kept.sort()
    entries = [
        {
            "function": function,
            "python": is_python,
            "calls": calls.get((function, is_python), 0),
            "self": -cost,
            "inclusive": -whole if is_python else None,
        }
        for cost, whole, function, is_python in kept
    ]
    return entries[:MAX_FUNCTIONS]


def dump_pid(dump_name: str) -> int | None:
    """The process id in a dump's name (``callgrind.out.<pid>.<n>``)."""
    parts = dump_name.split(".")
    if len(parts) >= 4 and parts[-2].isdigit():
        return int(parts[-2])
    return None
