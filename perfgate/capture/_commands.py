"""Time whole commands (pipeline runs): ``perfgate run`` and the ``perf_run`` fixture.

Each round starts the command as a child process (no shell unless asked),
waits for it with ``os.wait4`` and records the wall time, the child's user and
system CPU time, its peak resident memory, and the bytes it read from and
wrote to storage (``ru_inblock``/``ru_oublock``, in 512-byte units: page-cache
hits are not counted). A round that exits non-zero is reported with its exit
code and the end of its stderr and is never a timing sample.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from perfgate._errors import InputError
from perfgate.capture._records import KIND_COUNTER, BenchmarkRecord, RunRecord, results_document

__all__ = [
    "CommandRun",
    "RoundResult",
    "run_command",
    "time_callable",
    "time_round",
    "with_python",
]

STDERR_TAIL_LINES: Final = 5
_BLOCK_BYTES: Final = 512
# ru_maxrss is in KiB on Linux, in bytes on macOS.
_RSS_SCALE: Final = 1 if sys.platform == "darwin" else 1024


@dataclass(frozen=True)
class RoundResult:
    """One execution of the command."""

    round: int
    warmup: bool
    exit_code: int
    wall_s: float
    user_s: float
    system_s: float
    peak_rss_bytes: int
    read_bytes: int
    write_bytes: int
    stderr_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def stderr_text(self) -> str:
        """The end of its stderr on one line, for messages."""
        return " | ".join(self.stderr_tail) or "(no stderr)"


@dataclass(frozen=True)
class CommandRun:
    """Every round of one ``perfgate run`` invocation (one perfgate run)."""

    name: str
    command: list[str]
    started_at: datetime
    rounds: list[RoundResult]

    @property
    def measured(self) -> list[RoundResult]:
        return [r for r in self.rounds if not r.warmup]

    @property
    def failed(self) -> list[RoundResult]:
        return [r for r in self.rounds if not r.ok]

    def benchmarks(self) -> list[BenchmarkRecord]:
        """The run's benchmarks: the wall time, CPU times and resource counters of
        the measured rounds that succeeded (none when every round failed)."""
        good = [r for r in self.measured if r.ok]
        if not good:
            return []
        failed = [
            {"round": r.round, "exit_code": r.exit_code, "stderr_tail": r.stderr_tail}
            for r in self.failed
        ]
        extra = {"command": list(self.command), "failed_rounds": failed}
        out = [BenchmarkRecord(name=self.name, samples=tuple(r.wall_s for r in good), extra=extra)]
        for suffix, values in (
            ("cpu_user", [r.user_s for r in good]),
            ("cpu_system", [r.system_s for r in good]),
        ):
            # Too small to measure for trivial commands: rusage then says 0.
            if all(v > 0 for v in values):
                out.append(BenchmarkRecord(name=f"{self.name}:{suffix}", samples=tuple(values)))
        for suffix, counts in (
            ("peak_rss", [r.peak_rss_bytes for r in good]),
            ("read_bytes", [r.read_bytes for r in good]),
            ("write_bytes", [r.write_bytes for r in good]),
        ):
            out.append(
                BenchmarkRecord(
                    name=f"{self.name}:{suffix}",
                    kind=KIND_COUNTER,
                    unit="bytes",
                    samples=tuple(float(c) for c in counts),
                )
            )
        return out

    def to_document(self, environment: dict[str, Any]) -> dict[str, Any] | None:
        """The run as a results document (``None`` when no round succeeded)."""
        benchmarks = self.benchmarks()
        if not benchmarks:
            return None
        run = RunRecord(started_at=self.started_at, benchmarks=tuple(benchmarks))
        return results_document(environment, [run])


def time_round(
    command: Sequence[str],
    *,
    index: int,
    warmup: bool,
    shell: bool = False,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> RoundResult:
    """Run the command once and measure it."""
    with tempfile.TemporaryFile() as stderr:
        args: str | list[str] = " ".join(command) if shell else list(command)
        started = time.perf_counter()
        try:
            process = subprocess.Popen(
                args, shell=shell, cwd=cwd, env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
        except FileNotFoundError:
            raise InputError(f"command not found: {command[0]}") from None
        except PermissionError:
            raise InputError(f"command not executable: {command[0]}") from None
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        tail = stderr.read().decode("utf-8", "replace").strip().splitlines()[-STDERR_TAIL_LINES:]
    return RoundResult(
        round=index,
        warmup=warmup,
        exit_code=process.returncode,
        wall_s=wall_s,
        user_s=usage.ru_utime,
        system_s=usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * _RSS_SCALE,
        read_bytes=usage.ru_inblock * _BLOCK_BYTES,
        write_bytes=usage.ru_oublock * _BLOCK_BYTES,
        stderr_tail=tail,
    )


def run_command(
    name: str,
    command: Sequence[str],
    *,
    rounds: int,
    warmup: int = 0,
    shell: bool = False,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CommandRun:
    """Run ``warmup`` unmeasured rounds, then ``rounds`` measured ones."""
    if not command:
        raise InputError("no command given (put it after --)")
    if rounds < 1 or warmup < 0:
        raise InputError("--rounds must be at least 1 and --warmup at least 0")
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    results = []
    total = warmup + rounds
    for index in range(total):
        is_warmup = index < warmup
        if progress is not None:
            label = "warm-up" if is_warmup else "round"
            number = index + 1 if is_warmup else index - warmup + 1
            of = warmup if is_warmup else rounds
            progress(f"{name}: {label} {number} of {of} ({time.monotonic() - clock:.1f} s elapsed)")
        results.append(
            time_round(command, index=index, warmup=is_warmup, shell=shell, cwd=cwd, env=env)
        )
    return CommandRun(name=name, command=list(command), started_at=started_at, rounds=results)


def time_callable(function: Callable[[], object], *, rounds: int, warmup: int = 0) -> list[float]:
    """Wall time of ``rounds`` calls of ``function`` (after ``warmup`` calls), in seconds."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


_PYTHON_NAMES: Final = ("python", "python3")


def with_python(
    command: Sequence[str], python: str, env: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """``command`` and ``env`` made to run the project's interpreter ``python``:
    a leading ``python``/``python3`` becomes ``python``, and its directory goes
    first on ``PATH`` (so that the command's own children find it too)."""
    argv = list(command)
    if argv and argv[0] in _PYTHON_NAMES:
        argv[0] = python
    directory = str(Path(python).parent)
    path = env.get("PATH", "")
    return argv, {**env, "PATH": os.pathsep.join([directory, path]) if path else directory}
