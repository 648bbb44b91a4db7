"""Evidence files kept next to the orchestrator's runs (see docs/pipelines.md).

- A metrics line per comparison, appended to ``<evidence-dir>/perfgate-metrics.jsonl``:
  the verdict, the counts, each benchmark's status and ratio, and the commit.
  Appends take an exclusive lock, check that every byte was written, fsync,
  repair a torn tail left by a crash or a full disk, and never follow a
  symbolic link (``capture/_atomic.py``), so concurrent jobs never interleave
  half-lines.
- A state snapshot (for example ``out/<task-id>/perfgate-state.json``): the
  latest verdict per benchmark and the targets met or not met, written
  atomically (temp file, fsync, rename).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from perfgate.capture._atomic import append_line, write_atomic
from perfgate.verdict._comparison import Comparison

__all__ = ["METRICS_FILE", "append_metrics_line", "metrics_line", "state_snapshot", "write_state"]

METRICS_FILE: Final = "perfgate-metrics.jsonl"


def metrics_line(comparison: Comparison, now: datetime | None = None) -> dict[str, Any]:
    """The JSON object appended per comparison."""
    return {
        "recorded_at": (now or datetime.now(UTC)).isoformat(),
        "verdict": str(comparison.verdict),
        "mode": comparison.mode,
        "baseline_commit": comparison.baseline.commit,
        "commit": comparison.current.commit,
        "counts": {str(k): v for k, v in comparison.counts.items()},
        "ratios": {b.name: b.ratio for b in comparison.benchmarks if b.ratio is not None},
        "statuses": {b.name: str(b.status) for b in comparison.benchmarks},
        "targets": {t.match: t.met for t in comparison.targets},
    }


def append_metrics_line(directory: Path, comparison: Comparison) -> Path:
    """Append one metrics line (locked, checked, fsynced); returns the file's path."""
    path = directory / METRICS_FILE
    line = (json.dumps(metrics_line(comparison), ensure_ascii=False) + "\n").encode("utf-8")
    append_line(path, line)
    return path


def state_snapshot(comparison: Comparison, now: datetime | None = None) -> dict[str, Any]:
    """The latest verdict per benchmark and the targets."""
    return {
        "updated_at": (now or datetime.now(UTC)).isoformat(),
        "verdict": str(comparison.verdict),
        "commit": comparison.current.commit,
        "benchmarks": {
            b.name: {
                "status": str(b.status),
                "ratio": b.ratio,
                "ci_low": b.ci_low,
                "ci_high": b.ci_high,
                "accepted": b.accepted,
                "reason": b.reason,
            }
            for b in comparison.benchmarks
        },
        "targets": [
            {"match": t.match, "faster_pct": t.faster_pct, "met": t.met, "detail": t.detail}
            for t in comparison.targets
        ],
    }


def write_state(path: Path, comparison: Comparison) -> None:
    write_atomic(path, json.dumps(state_snapshot(comparison), indent=1, ensure_ascii=False) + "\n")
