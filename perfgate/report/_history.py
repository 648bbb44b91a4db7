"""Baseline history: one compact line per ``make perf-baseline``, for trend charts.

``baselines/history.jsonl`` holds one JSON object per line: the commit, the
date, and for each benchmark its typical value and spread. It is capped to the
configured number of lines, oldest first out, and written atomically.
"""

from __future__ import annotations

import math
import re
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict

from perfgate._errors import InputError
from perfgate._validation import parse_json_lines
from perfgate.capture._atomic import locked, write_atomic
from perfgate.results._model import ResultsFile
from perfgate.results._readers import Warn
from perfgate.verdict._stats import run_value

__all__ = ["HistoryEntry", "append_history", "load_history", "trend_chart"]

_CHART_POINTS: Final = 12
_SAFE_TITLE: Final = re.compile(r"[^A-Za-z0-9 _.:/\[\]=,+-]")


class Point(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float
    """Geometric mean of the run values (median sample of each run)."""
    spread_pct: float
    """Between-run standard deviation, percent (0 with one run)."""
    unit: str = "s"


class HistoryEntry(BaseModel):
    """One baseline's summary."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commit: str | None
    date: datetime
    benchmarks: dict[str, Point]


def summarise(results: ResultsFile, now: datetime | None = None) -> HistoryEntry:
    """The history line for a results file (typically a fresh baseline)."""
    values: dict[str, list[float]] = {}
    units: dict[str, str] = {}
    for run in results.runs:
        for bench in run.benchmarks:
            value = run_value(bench.samples) if bench.samples else bench.summary.median  # type: ignore[union-attr]
            if value > 0:
                values.setdefault(bench.name, []).append(math.log(value))
                units[bench.name] = bench.unit
    points = {
        name: Point(
            value=math.exp(statistics.fmean(logs)),
            spread_pct=100 * math.expm1(statistics.stdev(logs)) if len(logs) > 1 else 0.0,
            unit=units[name],
        )
        for name, logs in values.items()
    }
    return HistoryEntry(
        commit=results.environment.git_commit, date=now or datetime.now(UTC), benchmarks=points
    )


def load_history(path: Path, warn: Warn) -> list[HistoryEntry]:
    """Every readable line of the history file (a missing file is an empty history)."""
    try:
        # Undecodable bytes become U+FFFD: that line fails validation and is skipped.
        lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    return parse_json_lines(lines, HistoryEntry, str(path), warn)


def append_history(path: Path, entry: HistoryEntry, max_entries: int | None, warn: Warn) -> int:
    """Append ``entry``, keep the newest ``max_entries`` (``None``: all); returns how
    many are kept.

    One line per commit: an entry for a commit already in the history replaces
    it (a re-run of the same push measures the same code again)."""
    with locked(path):  # concurrent adds: read, change and write one at a time
        kept = [
            e for e in load_history(path, warn) if entry.commit is None or e.commit != entry.commit
        ]
        entries = [*kept, entry]
        if max_entries is not None:
            entries = entries[-max_entries:]
        write_atomic(path, "".join(e.model_dump_json() + "\n" for e in entries))
    return len(entries)


def _scale(unit: str, values: list[float]) -> tuple[str, float]:
    if unit != "s":
        return unit, 1.0
    top = max(values)
    for suffix, factor in (("s", 1.0), ("ms", 1e3), ("µs", 1e6)):
        if top * factor >= 1:
            return suffix, factor
    return "ns", 1e9


def trend_chart(name: str, history: list[HistoryEntry], current_value: float) -> str | None:
    """A Mermaid ``xychart-beta`` of the benchmark's baseline history, then this run."""
    points = [(e.commit or e.date.date().isoformat(), e.benchmarks[name]) for e in history
              if name in e.benchmarks][-_CHART_POINTS:]  # fmt: skip
    if not points:
        return None
    unit = points[-1][1].unit
    suffix, factor = _scale(unit, [p.value for _, p in points] + [current_value])
    labels = [f'"{_SAFE_TITLE.sub("", label[:7])}"' for label, _ in points] + ['"this PR"']
    values = [f"{p.value * factor:.4g}" for _, p in points] + [f"{current_value * factor:.4g}"]
    title = _SAFE_TITLE.sub("", name)[-60:]
    return "\n".join(
        [
            "```mermaid",
            "xychart-beta",
            f'    title "{title}"',
            f"    x-axis [{', '.join(labels)}]",
            f'    y-axis "{suffix}"',
            f"    line [{', '.join(values)}]",
            "```",
        ]
    )
