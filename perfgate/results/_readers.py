"""Read results: perfgate's own files and pytest-benchmark JSON.

Every reader turns its input into a :class:`~perfgate.results._model.ResultsFile`, so
the rest of perfgate never knows where data came from. Readers take a ``warn``
callable instead of printing, so the edges decide where warnings go.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

from perfgate._errors import InputError, SchemaVersionError
from perfgate._gc import collector_paused
from perfgate._validation import describe_validation_error
from perfgate._version import __version__
from perfgate.capture._records import inflate_budget
from perfgate.results._model import (
    DEFER_SAMPLE_CHECKS,
    RESULTS_SCHEMA,
    RESULTS_VERSION,
    Benchmark,
    Environment,
    Kind,
    ResultsFile,
    Run,
    Summary,
)

__all__ = [
    "PerfgateReader",
    "PytestBenchmarkReader",
    "Reader",
    "Warn",
    "benchmark_from_pytest_benchmark",
    "load_results",
    "parse_results",
    "readers",
    "results_from_document",
]

Warn = Callable[[str], None]


def _ignore(_message: str) -> None:
    return None


# --- pytest-benchmark -------------------------------------------------------------------------


class _PBStats(BaseModel):
    model_config = ConfigDict(extra="ignore")
    min: float
    max: float
    mean: float
    stddev: float = 0.0
    rounds: int = Field(ge=1)
    median: float
    data: list[float] | None = None


class _PBBenchmark(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str
    fullname: str | None = None
    group: str | None = None
    params: dict[str, JsonValue] | None = None
    extra_info: dict[str, JsonValue] = Field(default_factory=dict)
    stats: _PBStats


class _PBFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    machine_info: dict[str, Any] = Field(default_factory=dict)
    commit_info: dict[str, Any] = Field(default_factory=dict)
    benchmarks: list[_PBBenchmark]
    started_at: datetime | None = Field(default=None, alias="datetime")
    version: str | None = None


def benchmark_from_pytest_benchmark(
    entry: Mapping[str, Any], warn: Warn = _ignore, where: str = "pytest-benchmark"
) -> Benchmark:
    """Convert one pytest-benchmark benchmark (its ``as_dict()`` form) into ours.

    Raw per-iteration samples are used when present (``stats.data``). Without
    them the summary is kept as such, and ``warn`` is told: the comparison then
    has one value (the median) per run, which is honest but weaker.
    """
    try:
        parsed = _PBBenchmark.model_validate(entry)
    except ValidationError as err:
        raise InputError(f"{where}: invalid benchmark: {describe_validation_error(err)}") from None
    name = parsed.fullname or parsed.name
    try:
        if parsed.stats.data:
            return Benchmark(
                name=name,
                group=parsed.group,
                unit="s",
                kind=Kind.TIME,
                samples=tuple(parsed.stats.data),
                params=parsed.params,
                extra=parsed.extra_info,
            )
        warn(
            f"{where}: {name!r} has no raw samples; using its summary (median of "
            f"{parsed.stats.rounds} rounds). Save with --benchmark-json or "
            "--benchmark-save-data to keep raw data."
        )
        stats = parsed.stats
        return Benchmark(
            name=name,
            group=parsed.group,
            summary=Summary(
                rounds=stats.rounds,
                median=stats.median,
                mean=stats.mean,
                stddev=stats.stddev if math.isfinite(stats.stddev) else 0.0,
                min=stats.min,
                max=stats.max,
            ),
            params=parsed.params,
            extra=parsed.extra_info,
        )
    except ValidationError as err:
        raise InputError(f"{where}: benchmark {name!r}: {describe_validation_error(err)}") from None


def _pb_environment(machine: Mapping[str, Any], commit: Mapping[str, Any]) -> Environment:
    cpu = machine.get("cpu") if isinstance(machine.get("cpu"), dict) else {}
    assert isinstance(cpu, dict)

    def text(value: Any) -> str | None:
        return str(value) if value not in (None, "") else None

    system, release = machine.get("system"), machine.get("release")
    dirty = commit.get("dirty")
    count = cpu.get("count")
    return Environment(
        python_version=text(machine.get("python_version")),
        python_implementation=text(machine.get("python_implementation")),
        platform=f"{system}-{release}" if system and release else text(system),
        machine=text(machine.get("machine")),
        cpu_model=text(cpu.get("brand_raw")),
        cpu_count=count if isinstance(count, int) else None,
        git_commit=text(commit.get("id")),
        git_branch=text(commit.get("branch")),
        git_dirty=dirty if isinstance(dirty, bool) else None,
    )


def _from_pytest_benchmark(data: Mapping[str, Any], where: str, warn: Warn) -> ResultsFile:
    try:
        parsed = _PBFile.model_validate(data)
    except ValidationError as err:
        raise InputError(
            f"{where}: invalid pytest-benchmark JSON: {describe_validation_error(err)}"
        ) from None
    if not parsed.benchmarks:
        raise InputError(f"{where}: pytest-benchmark JSON with an empty benchmark list")
    raw = data["benchmarks"]
    benchmarks = tuple(benchmark_from_pytest_benchmark(entry, warn, where) for entry in raw)
    started = parsed.started_at or datetime.now(UTC)
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    try:
        run = Run(
            started_at=started,
            source=f"pytest-benchmark {parsed.version}" if parsed.version else "pytest-benchmark",
            benchmarks=benchmarks,
        )
    except ValidationError as err:
        raise InputError(f"{where}: {describe_validation_error(err)}") from None
    env = _pb_environment(parsed.machine_info, parsed.commit_info)
    return ResultsFile(environment=env, runs=(run,))


# --- dispatch ---------------------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


class Reader(Protocol):
    """Turns one kind of parsed JSON document into a :class:`ResultsFile`."""

    kind: str
    """What it reads, for messages ("pytest-benchmark JSON")."""

    def recognises(self, data: object) -> bool: ...

    def read(self, data: dict[str, Any], where: str, warn: Warn) -> ResultsFile: ...


class PerfgateReader:
    """perfgate's own results files (what the capture side writes), any known version."""

    kind = "a perfgate results file"

    def recognises(self, data: object) -> bool:
        return isinstance(data, dict) and "schema" in data

    def read(self, data: dict[str, Any], where: str, warn: Warn) -> ResultsFile:
        schema, version = data.get("schema"), data.get("version")
        if schema != RESULTS_SCHEMA:
            raise InputError(f"{where}: schema {schema!r} is not {RESULTS_SCHEMA!r}")
        if version != RESULTS_VERSION:
            raise SchemaVersionError(
                f"{where}: results schema version {version!r} is not supported by perfgate "
                f"{__version__} (it reads version {RESULTS_VERSION}); upgrade perfgate"
            )
        try:
            return ResultsFile.model_validate(data, context={DEFER_SAMPLE_CHECKS: True})
        except ValidationError as err:
            raise InputError(
                f"{where}: invalid results file: {describe_validation_error(err)}"
            ) from None


class PytestBenchmarkReader:
    """pytest-benchmark's ``--benchmark-json`` output (one run)."""

    kind = "pytest-benchmark JSON"

    def recognises(self, data: object) -> bool:
        return (
            isinstance(data, dict)
            and isinstance(data.get("benchmarks"), list)
            and ("machine_info" in data or "commit_info" in data)
        )

    def read(self, data: dict[str, Any], where: str, warn: Warn) -> ResultsFile:
        return _from_pytest_benchmark(data, where, warn)


@functools.cache
def readers() -> tuple[Reader, ...]:
    """Every reader of a JSON document, in the order they are tried."""
    # Imported here: the orchestrator reader uses this module's Warn and helpers.
    from perfgate.results._ingest import OrchestratorReader

    return (PerfgateReader(), PytestBenchmarkReader(), OrchestratorReader())


def results_from_document(data: object, where: str, warn: Warn = _ignore) -> ResultsFile:
    """Results from an already parsed JSON document, by the first reader that knows it."""
    for reader in readers():
        if reader.recognises(data):
            assert isinstance(data, dict)
            return reader.read(data, where, warn)
    kinds = ", ".join(reader.kind for reader in readers()[:-1])
    kinds += f" nor {readers()[-1].kind}"
    raise InputError(f"{where}: neither {kinds}")


def parse_results(text: str | bytes, where: str, warn: Warn = _ignore) -> ResultsFile:
    """Parse results from JSON text; ``where`` names the source in messages."""
    try:
        with collector_paused():
            data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{where}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    except ValueError as err:  # NaN / Infinity literals, bad encodings
        raise InputError(f"{where}: not valid JSON ({err})") from None
    except RecursionError:
        raise InputError(f"{where}: not valid JSON (nested too deeply)") from None
    with collector_paused(), inflate_budget(INFLATE_FLOOR_BYTES + INFLATE_RATIO * len(text)):
        return results_from_document(data, where, warn)


INFLATE_FLOOR_BYTES: Final = 64 * 1024**2
INFLATE_RATIO: Final = 16
"""A file's packed samples may inflate to 64 MiB + 16 times its size, all together:
float64 timings barely compress (1.1 to 2 times), so a real file stays far
below, while a 1.4 MB zlib bomb (1 GiB of zeros) is refused after 86 MB."""


MAX_RESULTS_BYTES: Final = 2 * 1024**3
"""2 GiB: about 250 million packed samples; anything larger is not a results file."""


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes: never a FIFO, a
    device or ``/dev/zero`` (which would block or never end). Raises
    :class:`InputError`, or ``OSError`` subclasses for the caller to word."""
    import stat

    info = path.stat()
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(21, "is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file (a FIFO, a device or a socket)")
    if info.st_size > limit:
        raise InputError(f"{path}: {info.st_size:,} bytes, more than the {limit:,} perfgate reads")
    with path.open("rb") as handle:
        return handle.read(limit + 1)[:limit]


def load_results(path: Path, warn: Warn = _ignore) -> ResultsFile:
    """Load a perfgate results file or pytest-benchmark JSON from ``path``
    (a regular file of at most :data:`MAX_RESULTS_BYTES`)."""
    try:
        text = read_regular_file(path, MAX_RESULTS_BYTES)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a results file") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    return parse_results(text, str(path), warn)
