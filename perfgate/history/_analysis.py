"""Each benchmark's series over the default branch, its steps, and its drift.

The data branch's ``history.jsonl`` holds one summary line per measured commit
(``report/_history.py``). Here those lines become one series per benchmark in
first-parent order, and each series gets its steps (``_changepoints.py``) and,
when asked, its drift since a reference commit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from perfgate._config import Config
from perfgate.history._changepoints import Step, find_steps, median_se, robust_noise
from perfgate.report._history import HistoryEntry

__all__ = [
    "BenchmarkHistory",
    "Drift",
    "SeriesPoint",
    "StepSettings",
    "analyse",
    "drift_since",
    "series_from_history",
    "step_settings",
]

Kind = Literal["time", "counter"]
_NOISE_FLOOR_PCT: Final = {"counter": 0.1, "time": 1.0}
"""Smallest noise assumed per commit (one standard deviation, percent): instruction
counts repeat to about 0.01% (docs/modes.md), a 3-run wall-time value to a few %."""
_MIN_POINTS: Final = {"counter": 2, "time": 4}
"""The fewest commits a level needs (a step is found once this many commits are
measured after it). Counts repeat exactly; timings need a few to tell a step
from a burst of slow runners (docs/history.md)."""
_DRIFT_WINDOW: Final = {"counter": 1, "time": 5}
"""Points averaged (median) for each end of a drift."""


class SeriesPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    commit: str | None
    date: datetime
    value: float
    spread_pct: float


class StepSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    min_step_pct: float
    noise_floor_pct: float
    min_points: int


class BenchmarkHistory(BaseModel):
    """One benchmark over the default branch, oldest commit first."""

    model_config = ConfigDict(frozen=True)

    name: str
    unit: str
    kind: Kind
    points: list[SeriesPoint]
    steps: list[Step] = []

    def commit_range(self, step: Step) -> tuple[str | None, str | None]:
        """(the last commit measured at the old level for sure, the last that may be
        the first at the new one): the range bisection searches."""
        good = self.points[step.first - 1].commit if step.first > 0 else None
        return good, self.points[step.last].commit

    def persists(self, step: Step) -> bool:
        """Whether the newest level still holds at least half of the step, from the
        level before it (a step that was later undone needs no rollback)."""
        latest = self.steps[-1].after if self.steps else step.after
        return math.log(latest / step.before) / math.log(step.ratio) >= 0.5


class Drift(BaseModel):
    """The change of a benchmark since a reference commit (all steps together)."""

    model_config = ConfigDict(frozen=True)

    name: str
    unit: str
    reference: str
    latest: str | None
    before: float
    after: float
    ratio: float
    ratio_low: float
    ratio_high: float


def step_settings(name: str, kind: Kind, config: Config) -> StepSettings:
    """The smallest step that counts is the gate's threshold for that kind of
    benchmark (instruction counts 1%, wall time 5% by default)."""
    settings = config.settings_for(name)
    threshold = settings.counter_threshold_pct if kind == "counter" else settings.threshold_pct
    floor = _NOISE_FLOOR_PCT[kind]
    return StepSettings(
        min_step_pct=max(threshold, 2 * floor),
        noise_floor_pct=floor,
        min_points=_MIN_POINTS[kind],
    )


def series_from_history(
    entries: Sequence[HistoryEntry],
    order: Sequence[str] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[BenchmarkHistory]:
    """One series per benchmark. ``order``: the default branch's commits, oldest
    first (first parent); entries of commits not on it are left out (a force-push
    dropped them). Without ``order``, the history's own order (push order)."""
    kept = list(entries)
    if order is not None:
        position = {sha: i for i, sha in enumerate(order)}
        on_branch = [e for e in kept if e.commit in position]
        if warn is not None and len(on_branch) < len(kept):
            warn(
                f"{len(kept) - len(on_branch)} history line(s) name commits no longer on the branch"
            )
        kept = sorted(on_branch, key=lambda e: position[e.commit or ""])
    points: dict[str, list[SeriesPoint]] = {}
    units: dict[str, str] = {}
    for entry in kept:
        for name, point in entry.benchmarks.items():
            if point.value > 0 and math.isfinite(point.value):
                points.setdefault(name, []).append(
                    SeriesPoint(
                        commit=entry.commit, date=entry.date, value=point.value,
                        spread_pct=point.spread_pct,
                    )
                )  # fmt: skip
                units[name] = point.unit
    return [
        BenchmarkHistory(
            name=name,
            unit=units[name],
            kind="time" if units[name] == "s" else "counter",
            points=series,
        )
        for name, series in sorted(points.items())
    ]


def analyse(series: Sequence[BenchmarkHistory], config: Config) -> list[BenchmarkHistory]:
    """Each series with its steps (``find_steps`` with the settings of its kind)."""
    done = []
    for item in series:
        settings = step_settings(item.name, item.kind, config)
        steps = find_steps(
            [p.value for p in item.points],
            min_step_pct=settings.min_step_pct,
            noise_floor_pct=settings.noise_floor_pct,
            min_size=settings.min_points,
            noise="deterministic" if item.kind == "counter" else "sampled",
        )
        done.append(item.model_copy(update={"steps": steps}))
    return done


def drift_since(item: BenchmarkHistory, reference: str) -> Drift | None:
    """The level now against the level at ``reference`` (a commit of the series),
    whatever steps lie between: five 1% steps drift 5%.

    Each end is the median of the points near it that share its level (up to
    :data:`_DRIFT_WINDOW` points, not across a step); the interval is the normal
    interval of the difference of two medians (``median_se``)."""
    from scipy import stats

    index = next((i for i, p in enumerate(item.points) if p.commit == reference), None)
    if index is None:
        return None
    logs = np.log(np.asarray([p.value for p in item.points], dtype=np.float64))
    cuts = [s.index for s in item.steps]
    start = max([c for c in cuts if c <= index], default=0)
    stop = min([c for c in cuts if c > index], default=logs.size)
    window = _DRIFT_WINDOW[item.kind]
    half = window // 2
    ref = logs[max(start, index - half) : min(stop, index + half + 1)]
    last_start = max(cuts, default=0)
    now = logs[max(last_start, logs.size - window) :]
    sigma = max(robust_noise(logs), math.log1p(_NOISE_FLOOR_PCT[item.kind] / 100))
    if item.kind == "counter":
        sigma = math.log1p(_NOISE_FLOOR_PCT["counter"] / 100)
    size = float(np.median(now) - np.median(ref))
    se = math.hypot(median_se(ref, sigma), median_se(now, sigma))
    z = float(stats.norm.ppf(0.975))
    return Drift(
        name=item.name, unit=item.unit, reference=reference, latest=item.points[-1].commit,
        before=math.exp(float(np.median(ref))), after=math.exp(float(np.median(now))),
        ratio=math.exp(size), ratio_low=math.exp(size - z * se), ratio_high=math.exp(size + z * se),
    )  # fmt: skip
