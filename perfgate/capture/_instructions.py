"""Instruction counts under valgrind, per call of the benchmarked function only.

How (measured in docs/modes.md): the pytest process that counts runs under
``valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no``, so
interpreter start-up, imports, collection and fixtures run *uninstrumented*
(valgrind's core alone, several times faster than instrumented). Around each
benchmark, perfgate's client-request helper (:mod:`perfgate.capture._callgrind`,
built on first use) switches instrumentation on; around each counted call it
zeroes the counters, switches collection on, calls, switches it off and dumps.
One dump per call; its ``summary:`` line is the count. The same sequence with
an empty call measures the requests' own cost, which is subtracted. Garbage
collection is off during the counted calls.

Fallback, without a C compiler or valgrind's headers: the whole process is
instrumented and collection is toggled by a marker instead, libc's ``qsort_r``
entered through ``qsort`` with a ``ctypes`` comparator that calls the
benchmarked function (``--toggle-collect=qsort_r --dump-after=qsort_r``).
Counts are the same kind; only slower to get.

The counting process sets ``PYTHONHASHSEED=0``, pins glibc's allocator to
behaviour that does not depend on its history (:func:`counting_env`) and, where
``setarch`` exists, runs with address-space randomisation off.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import json
import math
import os
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from perfgate._errors import InputError
from perfgate.capture._callgrind import HELPER_ENV
from perfgate.capture._profile import (
    EVAL_FUNCTION,
    PROFILE_LABEL,
    dump_pid,
    function_costs,
    perf_map,
    python_frames,
    remove_perf_map,
)
from perfgate.capture._records import INSTRUCTIONS_SUFFIX, KIND_COUNTER, BenchmarkRecord

__all__ = [
    "CALLS",
    "INSTRUCTIONS_SUFFIX",
    "LOG_NAME",
    "count_in_child",
    "counting_env",
    "padded_env",
    "read_counts",
    "require_valgrind",
    "valgrind_prefix",
]

CALLS: Final = 2
"""Counted windows per small call (a large call is counted once): two show how
far its count moves between windows, which the judge uses (count_jitter_pct)."""
MIN_WINDOW_INSTRUCTIONS: Final = 1_000_000
"""A counting window holds at least this many instructions (small calls loop)."""
MAX_LOOPS: Final = 10_000
LARGE_CALL_INSTRUCTIONS: Final = 20_000_000
"""A call at least this large (about 5-10 ms) is counted once, after
:data:`WARMUP_FIRST_CALLS` warm-up calls; a smaller one :data:`CALLS` times in
looped windows, after :data:`WARMUP_CALLS`."""
PROFILE_MAX_INSTRUCTIONS: Final = 500_000_000
"""A call larger than this (about 5-10 s instrumented) gets no profile window."""
SLOW_CALL_S: Final = 0.5
"""An uninstrumented warm-up call slower than this marks a slow (waiting) call."""
WARMUP_FIRST_CALLS: Final = 2
"""Uninstrumented calls of every benchmark before its first count."""
WARMUP_CALLS: Final = 16
"""Uninstrumented calls of a small call before counting it. A fixed number, not
a time budget: how often a call ran before it is counted changes its count."""
LOG_NAME: Final = "markers.jsonl"
DUMP_PREFIX: Final = "callgrind.out"
_SUMMARY: Final = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)
_INSTALL_HINT: Final = (
    "instruction mode needs valgrind, which is not installed: install it with "
    "`apt-get install valgrind` (Debian, Ubuntu) or `dnf install valgrind` (Fedora)"
)


def require_valgrind() -> str:
    """valgrind's path, or an error that says how to install it."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise InputError(_INSTALL_HINT)
    return valgrind


def valgrind_prefix(out_dir: Path, helper: Path | None = None) -> list[str]:
    """The command prefix that runs the real Python binary under callgrind:
    uninstrumented until the helper's client requests say otherwise, or (no
    helper) instrumented throughout, collecting only inside the qsort marker."""
    valgrind = require_valgrind()
    prefix = []
    setarch = shutil.which("setarch")
    if setarch is not None:
        prefix = [setarch, os.uname().machine, "-R"]
    if helper is not None:
        # The interpreter loop's instructions kept apart per calling frame: per
        # Python function in the profile window (capture._profile).
        mechanism = [
            "--instr-atstart=no",
            "--collect-atstart=no",
            f"--separate-callers1={EVAL_FUNCTION}",
        ]
    else:
        mechanism = ["--collect-atstart=no", "--toggle-collect=qsort_r", "--dump-after=qsort_r"]
    return [
        *prefix,
        valgrind,
        "-q",
        "--tool=callgrind",
        *mechanism,
        f"--callgrind-out-file={out_dir / DUMP_PREFIX}.%p",
        _interpreter(),
    ]


ALLOCATOR_TUNABLES: Final = (
    "glibc.malloc.mmap_threshold=513:glibc.malloc.tcache_count=1000"
    ":glibc.malloc.trim_threshold=0:glibc.malloc.top_pad=0"
)
"""glibc's allocator, made independent of what ran before (docs/modes.md).

By default a block of more than 512 bytes (larger than pymalloc serves) comes
from glibc's heap, and finding one costs as many instructions as the heap is
fragmented: measured, one benchmark's count moved 2.4% (all of it in
``_int_malloc``) when a different benchmark had run first in the process.
Here blocks of 513 bytes and more are mapped on their own (a fixed threshold
also stops glibc from moving it); the heap's free top is given back at once and
never padded, so such a block cannot be carved from a top left large by earlier
work (without that, one extra call of a changed benchmark on one side moved an
unchanged one by 8.6%: every block came from the heap there, from mmap on the
other side); and freed blocks below that stay in per-size caches deep enough
for a call's turnover. The same counts then agree within 0.03%."""


def counting_env(env: Mapping[str, str]) -> dict[str, str]:
    """The counting process's environment: a fixed hash seed and the allocator
    settings of :data:`ALLOCATOR_TUNABLES` (a user's own ``GLIBC_TUNABLES`` are
    kept, after ours, so theirs win where both set a name). Other C libraries
    ignore the variable."""
    tunables = ALLOCATOR_TUNABLES
    if env.get("GLIBC_TUNABLES"):
        tunables = f"{tunables}:{env['GLIBC_TUNABLES']}"
    return {**env, "PYTHONHASHSEED": "0", "GLIBC_TUNABLES": tunables}


ENV_PAD: Final = "PERFGATE_ENV_PAD"
_STACK_ALIGNMENT: Final = 4096


def padded_env(env: Mapping[str, str], argv: Sequence[str]) -> dict[str, str]:
    """``env`` with one padding variable, so that the arguments and environment a
    process starts with fill the same space modulo a page whatever the paths:
    their size sets where the initial stack begins, and alignment changes counts
    in copying and hashing code (Mytkowicz et al., "Producing wrong data without
    doing anything obviously wrong!", ASPLOS 2009). The two sides of an A/B run
    from different trees, so their paths differ in length."""
    padded = {k: v for k, v in env.items() if k != ENV_PAD}
    size = sum(len(a.encode()) + 1 for a in argv)
    size += sum(len(k.encode()) + len(v.encode()) + 2 for k, v in padded.items())
    size += len(ENV_PAD) + 2
    padded[ENV_PAD] = "x" * (-size % _STACK_ALIGNMENT)
    return padded


def _interpreter() -> str:
    """The Python binary valgrind must start. A venv's ``bin/python`` symlink is kept
    (it is how Python finds the venv); a shell shim (pyenv) would hide the real
    binary from valgrind, so it is resolved."""
    executable = sys.executable
    try:
        with Path(executable).open("rb") as handle:
            is_script = handle.read(2) == b"#!"
    except OSError:
        return executable
    return os.path.realpath(executable) if is_script else executable


_CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def _libc_qsort() -> Any:
    qsort = ctypes.CDLL(None).qsort
    qsort.restype = None
    qsort.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, _CMP]
    return qsort


def _dumps(out_dir: Path) -> list[Path]:
    return sorted(out_dir.glob(f"{DUMP_PREFIX}.*.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))


@functools.cache
def _helper(path: str) -> Any:
    library = ctypes.CDLL(path)
    library.perfgate_dump.argtypes = [ctypes.c_char_p]
    return library


def count_in_child(name: str, function: Callable[[], object], out_dir: Path) -> None:
    """In the counting process: count ``function``'s calls, log which dump holds
    which call. One empty call first measures the mechanism's own cost."""
    entries: list[dict[str, Any]] = []
    # A garbage collection inside a counted call would add its instructions to
    # that call, and when one happens depends on everything allocated before.
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        helper = os.environ.get(HELPER_ENV)
        if helper:
            _count_with_requests(name, function, out_dir, _helper(helper), entries)
        else:
            _count_with_marker(name, function, out_dir, entries)
    finally:
        if gc_was_enabled:
            gc.enable()
    with (out_dir / LOG_NAME).open("a", encoding="utf-8") as log:
        for entry in entries:
            log.write(json.dumps(entry) + "\n")


def _plan(function: Callable[[], object]) -> list[tuple[str, Callable[[], object]]]:
    return [("empty", lambda: None)] + [("call", function)] * CALLS


def _count_with_requests(
    name: str,
    function: Callable[[], object],
    out_dir: Path,
    helper: Any,
    entries: list[dict[str, Any]],
) -> None:
    # Warm up uninstrumented first (valgrind's core alone runs several times
    # faster): CPython specialises a code object after a few calls, and the
    # allocator settles into its steady state; a count taken before differs
    # from call to call (measured: 2,585 vs 3,952 instructions for one small
    # call; a regex workload 6% off after no warm-up). Fixed numbers of calls,
    # never a time budget: how often a call ran before changes its count.
    # A call that takes long without many instructions (it sleeps or waits) is
    # never looped or warmed up further: that would take minutes. This is the
    # one decision taken on time, for calls far from its boundary in practice.
    started = time.perf_counter()
    for _ in range(WARMUP_FIRST_CALLS):
        function()
    slow = time.perf_counter() - started > SLOW_CALL_S * WARMUP_FIRST_CALLS
    helper.perfgate_start_instrumentation()
    try:
        probe = _window(function, 1, out_dir, helper)
        if probe >= LARGE_CALL_INSTRUCTIONS or slow:
            # Each instrumented call of a large one costs ~40x the call: the
            # probe is its count (how closely such counts repeat is measured by
            # the accuracy harness: within 0.06%, docs/accuracy.md).
            loops, counts = 1, [probe]
        else:
            # A small call warms up more, then is counted in loops of at least
            # MIN_WINDOW_INSTRUCTIONS: the allocator's state moves a count by a
            # few hundred instructions from one call to the next, and a loop
            # spreads that over many calls.
            helper.perfgate_stop_instrumentation()
            for _ in range(WARMUP_CALLS - WARMUP_FIRST_CALLS):
                function()
            helper.perfgate_start_instrumentation()
            loops = min(MAX_LOOPS, math.ceil(MIN_WINDOW_INSTRUCTIONS / max(probe, 1)))
            counts = [_window(function, loops, out_dir, helper) for _ in range(CALLS)]
        empty = _window(lambda: None, loops, out_dir, helper)
        entries.append({"name": name, "kind": "empty", "loops": loops, "count": empty})
        for count in counts:
            entries.append({"name": name, "kind": "call", "loops": loops, "count": count})
        # One more call, not counted: where its instructions go, per function
        # (capture._profile). Not for a very large call: it would double the
        # benchmark's counting time (docs/why.md, "Cost").
        if probe <= PROFILE_MAX_INSTRUCTIONS:
            with python_frames():
                before = len(_dumps(out_dir))
                _window(function, 1, out_dir, helper, PROFILE_LABEL)
            entries.append({"name": name, "kind": "profile", "dump": _dumps(out_dir)[before].name})
    finally:
        helper.perfgate_stop_instrumentation()


def _window(
    function: Callable[[], object],
    loops: int,
    out_dir: Path,
    helper: Any,
    label: str = "perfgate",
) -> int:
    """Instructions of ``loops`` calls of ``function``, collected in one window."""
    before = len(_dumps(out_dir))
    helper.perfgate_zero()
    helper.perfgate_toggle_collect()
    try:
        for _ in range(loops):
            function()
    finally:
        helper.perfgate_toggle_collect()
        helper.perfgate_dump(label.encode())
    made = _dumps(out_dir)[before:]
    if len(made) != 1:
        raise InputError(f"callgrind wrote {len(made)} dumps for one counting window")
    return _count(made[0])


def _count_with_marker(
    name: str,
    function: Callable[[], object],
    out_dir: Path,
    entries: list[dict[str, Any]],
) -> None:
    qsort = _libc_qsort()
    array = (ctypes.c_int * 2)(1, 2)
    for label, target in _plan(function):
        errors: list[BaseException] = []

        def callback(
            _a: object,
            _b: object,
            target: Callable[[], object] = target,
            errors: list[BaseException] = errors,
        ) -> int:
            # An exception cannot cross the C frame of qsort: keep it, re-raise below.
            try:
                target()
            except BaseException as err:  # noqa: BLE001
                errors.append(err)
            return 0

        before = len(_dumps(out_dir))
        qsort(array, 2, ctypes.sizeof(ctypes.c_int), _CMP(callback))
        after = _dumps(out_dir)
        if errors:
            raise errors[0]
        entries.append({"name": name, "kind": label, "dumps": [p.name for p in after[before:]]})


def _count(path: Path) -> int:
    match = _SUMMARY.search(path.read_text(encoding="utf-8", errors="replace"))
    if match is None:
        raise InputError(f"{path}: no summary line in the callgrind output")
    return int(match.group(1))


def read_counts(
    out_dir: Path, warn: Callable[[str], None], roots: tuple[str, ...] = ()
) -> list[BenchmarkRecord]:
    """``NAME:instructions`` counter benchmarks from a counting process's dumps,
    each with where its instructions went (``functions``, names relative to
    ``roots``) when a profile window was taken."""
    log = out_dir / LOG_NAME
    if not log.is_file():
        return []
    empty: dict[str, list[float]] = {}
    calls: dict[str, list[float]] = {}
    loops: dict[str, int] = {}
    profiles: dict[str, str] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["kind"] == "profile":
            profiles[entry["name"]] = entry["dump"]
            continue
        target = empty if entry["kind"] == "empty" else calls
        if "count" in entry:  # client requests: counted in the child, per window
            loops[entry["name"]] = int(entry["loops"])
            target.setdefault(entry["name"], []).append(float(entry["count"]))
            continue
        dumps: Sequence[str] = entry["dumps"]
        if len(dumps) != 1:
            # The benchmark itself called qsort (or nothing was dumped): cannot attribute.
            warn(f"{entry['name']}: {len(dumps)} callgrind dumps for one call; not counted")
            calls.setdefault(entry["name"], []).append(-1)
            continue
        target.setdefault(entry["name"], []).append(float(_count(out_dir / dumps[0])))
    functions = _profiles(out_dir, profiles, roots)
    benchmarks = []
    for name, counts in calls.items():
        if any(c < 0 for c in counts) or name not in empty:
            continue
        overhead = statistics.median(empty[name])
        per = loops.get(name, 1)
        per_call = tuple(max(c - overhead, 0) / per for c in counts)
        benchmarks.append(
            BenchmarkRecord(
                name=f"{name}{INSTRUCTIONS_SUFFIX}",
                kind=KIND_COUNTER,
                unit="instructions",
                samples=per_call,
                extra={"marker_overhead": overhead / per, "calls_per_window": per},
                functions=tuple(functions.get(name, ())),
            )
        )
    return benchmarks


def _profiles(
    out_dir: Path, profiles: Mapping[str, str], roots: tuple[str, ...]
) -> dict[str, list[dict[str, Any]]]:
    """Each benchmark's per-function costs from its profile window's dump; the
    counting processes' perf maps are removed once read."""
    maps: dict[int, dict[int, str]] = {}
    found: dict[str, list[dict[str, Any]]] = {}
    for name, dump in profiles.items():
        pid = dump_pid(dump)
        if pid is not None and pid not in maps:
            maps[pid] = perf_map(pid)
        path = out_dir / dump
        if path.is_file():
            found[name] = function_costs(path, maps.get(pid, {}) if pid else {}, roots)
    for pid in maps:
        remove_perf_map(pid)
    return found
