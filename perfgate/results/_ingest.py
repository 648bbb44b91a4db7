"""Import the run records of the Codex Orchestrator CLI (see docs/pipelines.md).

Reads ``.runs/`` trees, single ``manifest.json`` files, ``metrics.json`` JSON
Lines, and the ``runner.ndjson`` / ``commands/*.ndjson`` logs (exact stage
durations). Every orchestrator run becomes one perfgate run, holding one sample
of ``co:<pipeline>`` when the run succeeded, and one sample of
``co:<pipeline>/<stage>`` for each stage that succeeded. Records are read
leniently: unknown fields are ignored, unknown statuses kept and counted,
foreign files skipped with a count, corrupt lines skipped with a warning.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from perfgate._errors import InputError
from perfgate.results._model import Benchmark, Environment, ResultsFile, Run
from perfgate.results._readers import Warn

__all__ = [
    "IngestFilter",
    "IngestReport",
    "OrchestratorReader",
    "ingest",
]

PREFIX: Final = "co:"
SUCCEEDED: Final = "succeeded"
_END_EVENTS: Final = ("exec:end", "command:end")
_STAGE_FILE: Final = re.compile(r"^\d+-(?P<stage>.+)\.ndjson$")
_SAFE: Final = re.compile(r"[^A-Za-z0-9_.:+-]+")
_RECORD_SUFFIXES: Final = (".json", ".jsonl", ".ndjson")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _utc(value: datetime) -> datetime:
    """Orchestrator timestamps without a zone are UTC (its writer's convention);
    a mix of naive and aware ones must still subtract."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_utc)]


class _Stage(_Lenient):
    index: int | None = None
    id: str | None = None
    command: str | None = None
    status: str | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None


class _Manifest(_Lenient):
    task_id: str | None = None
    run_id: str
    pipeline_id: str | None = None
    status: str | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    commands: list[_Stage]
    resume_events: list[Any] = []


class _Metric(_Lenient):
    run_id: str
    task_id: str | None = None
    pipeline_id: str | None = None
    status: str
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    duration_seconds: Annotated[float, Field(allow_inf_nan=False)] | None = None


@dataclass
class _StageRecord:
    name: str
    status: str
    duration_s: float | None


@dataclass
class _RunRecord:
    task_id: str | None
    run_id: str
    pipeline: str
    status: str
    started_at: datetime | None
    duration_s: float | None
    stages: list[_StageRecord] = field(default_factory=list)
    resumed: bool = False
    from_manifest: bool = False
    directory: Path | None = None


@dataclass(frozen=True)
class IngestFilter:
    """Which runs to keep: by task, by pipeline, by start time (inclusive)."""

    task: str | None = None
    pipeline: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def keeps(self, run: _RunRecord) -> bool:
        if self.task is not None and run.task_id != self.task:
            return False
        if self.pipeline is not None and run.pipeline != self.pipeline:
            return False
        if run.started_at is not None:
            if self.since is not None and run.started_at < self.since:
                return False
            if self.until is not None and run.started_at > self.until:
                return False
        elif self.since is not None or self.until is not None:
            return False
        return True


@dataclass
class IngestReport:
    """What an import found."""

    results: ResultsFile | None
    runs: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    timed_runs: int = 0
    resumed_runs: int = 0
    skipped_files: list[Path] = field(default_factory=list)
    files_read: int = 0

    def summary(self) -> str:
        statuses = ", ".join(f"{n} {s}" for s, n in sorted(self.statuses.items()))
        text = f"{self.runs} orchestrator run{'s' if self.runs != 1 else ''}"
        text += f" ({statuses})" if statuses else ""
        text += f", {self.timed_runs} timed"
        if self.resumed_runs:
            text += f", {self.resumed_runs} resumed (wall time includes the pause: not timed)"
        if self.skipped_files:
            text += f"; {len(self.skipped_files)} file(s) were not orchestrator records"
        return text


def _pipeline_name(pipeline_id: str | None, task_id: str | None) -> str:
    # Records of the older runner carry no pipeline id: group them by task.
    if pipeline_id:
        return _SAFE.sub("-", pipeline_id)
    return f"task-{_SAFE.sub('-', task_id)}" if task_id else "unknown"


def _stage_name(stage: _Stage) -> str:
    if stage.id:
        return _SAFE.sub("-", stage.id)
    if stage.command:
        return _SAFE.sub("-", stage.command.strip())[:60].strip("-") or f"stage-{stage.index}"
    return f"stage-{stage.index}"


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def _lines(path: Path, warn: Warn) -> Iterator[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        warn(f"{path}: cannot read ({err.strerror}); skipped")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            warn(f"{path}:{number}: corrupt line skipped")
            continue
        if isinstance(value, dict):
            yield value


def _log_durations(directory: Path, warn: Warn) -> dict[str, float]:
    """Exact stage durations (seconds) from a run directory's logs, by stage name."""
    durations: dict[str, float] = {}
    commands = directory / "commands"
    if commands.is_dir():
        for log in sorted(commands.glob("*.ndjson")):
            match = _STAGE_FILE.match(log.name)
            if not match:
                continue
            for event in _lines(log, warn):
                kind = event.get("type", event.get("event"))
                duration_ms = event.get("duration_ms")
                if (
                    kind in _END_EVENTS
                    and isinstance(duration_ms, (int, float))
                    and math.isfinite(duration_ms)
                ):
                    durations[_SAFE.sub("-", match["stage"])] = max(duration_ms, 0) / 1000
    runner = directory / "runner.ndjson"
    if runner.is_file():
        for event in _lines(runner, warn):
            kind = event.get("type", event.get("event"))
            duration_ms = event.get("duration_ms")
            stage = next(
                (event[k] for k in ("stage_id", "stageId", "command_id", "id") if event.get(k)),
                None,
            )
            if kind in _END_EVENTS and isinstance(duration_ms, (int, float)) and stage:
                durations.setdefault(_SAFE.sub("-", str(stage)), max(duration_ms, 0) / 1000)
    return durations


def _from_manifest(data: dict[str, Any], path: Path) -> _RunRecord | None:
    try:
        manifest = _Manifest.model_validate(data)
    except ValidationError:
        return None
    record = _RunRecord(
        task_id=manifest.task_id,
        run_id=manifest.run_id,
        pipeline=_pipeline_name(manifest.pipeline_id, manifest.task_id),
        status=manifest.status or "unknown",
        started_at=manifest.started_at,
        duration_s=_seconds(manifest.started_at, manifest.completed_at),
        resumed=bool(manifest.resume_events),
        from_manifest=True,
        directory=path.parent,
    )
    record.stages = [
        _StageRecord(_stage_name(s), s.status or "unknown", _seconds(s.started_at, s.completed_at))
        for s in manifest.commands
    ]
    return record


def _from_metric(data: dict[str, Any]) -> _RunRecord | None:
    try:
        metric = _Metric.model_validate(data)
    except ValidationError:
        return None
    duration = metric.duration_seconds
    if duration is None:
        duration = _seconds(metric.started_at, metric.completed_at)
    return _RunRecord(
        task_id=metric.task_id,
        run_id=metric.run_id,
        pipeline=_pipeline_name(metric.pipeline_id, metric.task_id),
        status=metric.status,
        started_at=metric.started_at,
        duration_s=max(duration, 0.0) if duration is not None else None,
    )


def _read_file(path: Path, warn: Warn) -> list[_RunRecord] | None:
    """The run records in one file, or None when it is not an orchestrator record."""
    if path.name in ("runner.ndjson",) or path.parent.name == "commands":
        return []  # logs: read with their run's manifest
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    try:
        whole = json.loads(text)
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        if isinstance(whole.get("commands"), list):
            record = _from_manifest(whole, path)
            return [record] if record else None
        record = _from_metric(whole)
        return [record] if record else None
    if whole is not None or not text.lstrip().startswith("{"):
        return None
    # JSON Lines (metrics.json): one run per line.
    records = []
    for line in _lines(path, warn):
        record = _from_metric(line)
        if record is not None:
            records.append(record)
    return records or None


def _files(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """(file, named explicitly) for every candidate file under ``paths``."""
    for path in paths:
        if path.is_dir():
            root = path.resolve()
            for found in sorted(path.rglob("*")):
                if not (found.is_file() and found.suffix in _RECORD_SUFFIXES):
                    continue
                # A symlink in .runs/ may point anywhere: read only what stays inside
                # the tree that was named (rglob does not descend into linked dirs).
                if found.is_symlink() and not found.resolve().is_relative_to(root):
                    continue
                yield found, False
        elif path.exists():
            yield path, True
        else:
            raise InputError(f"{path}: no such file or directory")


def ingest(paths: Iterable[Path], *, keep: IngestFilter, warn: Warn) -> IngestReport:
    """Read orchestrator run records and turn their timings into a results file."""
    report = IngestReport(results=None)
    by_id: dict[tuple[str | None, str], _RunRecord] = {}
    for path, explicit in _files(paths):
        records = _read_file(path, warn)
        report.files_read += 1
        if records is None:
            if explicit or path.name in ("manifest.json", "metrics.json"):
                report.skipped_files.append(path)
            continue
        for record in records:
            key = (record.task_id, record.run_id)
            # A manifest (with stages) beats a metrics line; cli/ beats its mcp/ copy.
            current = by_id.get(key)
            if current is None or (record.from_manifest and not current.from_manifest):
                by_id[key] = record
    if report.skipped_files:
        warn(
            f"skipped {len(report.skipped_files)} file(s) that are not orchestrator records, "
            f"e.g. {report.skipped_files[0]}"
        )
    runs = []
    for record in sorted(
        by_id.values(), key=lambda r: (r.started_at or datetime.min.replace(tzinfo=UTC), r.run_id)
    ):
        if not keep.keeps(record):
            continue
        report.runs += 1
        report.statuses[record.status] += 1
        report.resumed_runs += record.resumed
        run = _to_run(record, warn)
        if run is not None:
            report.timed_runs += 1
            runs.append(run)
    if runs:
        report.results = ResultsFile(environment=Environment(), runs=tuple(runs))
    return report


def _to_run(record: _RunRecord, warn: Warn) -> Run | None:
    name = f"{PREFIX}{record.pipeline}"
    benchmarks: list[Benchmark] = []
    if record.status == SUCCEEDED and not record.resumed and record.duration_s:
        benchmarks.append(Benchmark(name=name, samples=(record.duration_s,)))
    exact = _log_durations(record.directory, warn) if record.directory else {}
    for stage in record.stages:
        duration = exact.get(stage.name, stage.duration_s)
        if stage.status == SUCCEEDED and duration:
            benchmarks.append(
                Benchmark(
                    name=f"{name}/{stage.name}",
                    samples=(duration,),
                    extra={"duration_source": "log" if stage.name in exact else "timestamps"},
                )
            )
    # One stage name may repeat (e.g. retried stages): keep the first.
    unique = list({b.name: b for b in reversed(benchmarks)}.values())[::-1]
    if not unique:
        return None
    started = record.started_at or datetime.now(UTC)
    environment: dict[str, Any] = {"co_run_id": record.run_id, "co_status": record.status}
    if record.task_id:
        environment["co_task_id"] = record.task_id
    return Run(
        started_at=started,
        environment=environment,
        source="codex-orchestrator",
        benchmarks=tuple(unique),
    )


class OrchestratorReader:
    """One orchestrator run manifest (``.runs/<task>/cli/<run>/manifest.json``) as
    a one-run results file, so ``perfgate compare`` reads it like any results
    file (:class:`perfgate.results._readers.Reader`). Whole ``.runs`` trees, with
    filters and metrics lines, go through :func:`ingest`."""

    kind = "an orchestrator run manifest"

    def recognises(self, data: object) -> bool:
        return (
            isinstance(data, dict)
            and isinstance(data.get("commands"), list)
            and isinstance(data.get("run_id"), str)
        )

    def read(self, data: dict[str, Any], where: str, warn: Warn) -> ResultsFile:
        path = Path(where)
        record = _from_manifest(data, path)
        if record is None:
            raise InputError(f"{where}: not a valid orchestrator run manifest")
        if not path.is_file():
            record.directory = None  # no file, so no command logs beside it
        run = _to_run(record, warn)
        if run is None:
            raise InputError(
                f"{where}: run {record.run_id} ended {record.status!r} and has no succeeded "
                "stage: nothing to compare"
            )
        return ResultsFile(runs=(run,))
