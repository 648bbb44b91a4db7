"""The history dashboard: a static site, one page per benchmark and an index.

Built from the data branch (``perfgate dashboard -o site/``, or by ``perfgate ci``
on pushes with ``--dashboard DIR``), for GitHub Pages or any static host. Every
page is self-contained: inline SVG and CSS, no script, no external resource.
Each benchmark page plots every measured commit of the default branch (each dot
links to its commit), marks each step with its size and draws each level; the
index lists the benchmarks by how much they moved recently, largest first.

The figures are computed here; the markup is two templates
(``dashboard.html.j2`` and ``dashboard-benchmark.html.j2``), overridable like
every report and rendered with HTML autoescaping, so untrusted names stay text.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from perfgate.capture._atomic import write_atomic
from perfgate.history._analysis import BenchmarkHistory, Drift
from perfgate.history._changepoints import Step
from perfgate.history._ledger import StepRecord
from perfgate.report._format import format_value
from perfgate.report._render import render_template

__all__ = ["BENCHMARK_TEMPLATE", "INDEX_TEMPLATE", "build_dashboard", "page_name"]

INDEX_TEMPLATE: Final = "dashboard.html.j2"
BENCHMARK_TEMPLATE: Final = "dashboard-benchmark.html.j2"
WIDTH: Final = 960
HEIGHT: Final = 320
PAD_LEFT: Final = 96
PAD_RIGHT: Final = 16
PAD_TOP: Final = 28
PAD_BOTTOM: Final = 36
SPARK_WIDTH: Final = 160
SPARK_HEIGHT: Final = 28
RECENT: Final = 10
"""The index's recent movement: the level now against the level this many
commits ago (levels are the medians between steps, so noise does not move it)."""
MIN_SPAN: Final = 0.01
"""Charts span at least 1% of the median: a 0.1% wiggle stays flat, not a cliff."""
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]+")


def page_name(name: str) -> str:
    """A benchmark page's file name: readable, safe, and unique (a hash of the name)."""
    readable = _UNSAFE.sub("-", name.rpartition("/")[2]).strip("-.")[:60] or "benchmark"
    return f"{readable}-{hashlib.sha256(name.encode()).hexdigest()[:10]}.html"


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    commit: str | None
    url: str | None
    label: str


@dataclass(frozen=True)
class Marker:
    x: float
    label: str
    slower: bool


@dataclass(frozen=True)
class Level:
    x1: float
    x2: float
    y: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    dots: list[Dot]
    line: str
    """The polyline's points attribute."""
    markers: list[Marker]
    levels: list[Level]
    ticks: list[tuple[float, str]]
    top: float
    bottom: float


@dataclass(frozen=True)
class StepView:
    """A step as the page shows it, with the commit bisection named, if any."""

    step: Step
    at: str
    """The first measured commit at the new level."""
    early: str | None
    """The earliest measured commit that may be the first at the new level."""
    culprit: str | None
    """The commit bisection named (``steps.jsonl``), when it looked."""
    confirmed: bool
    proposal: str | None


@dataclass(frozen=True)
class Page:
    item: BenchmarkHistory
    file: str
    chart: Chart
    spark: str
    """A sparkline's polyline points, for the index."""
    latest: str
    recent: float | None
    """Recent movement: the level now over the level :data:`RECENT` commits ago
    (None: too few commits)."""
    drift: Drift | None
    commit_url: str | None
    steps: list[StepView]
    unit_label: str


def _steps(item: BenchmarkHistory, records: Sequence[StepRecord]) -> list[StepView]:
    views = []
    for step in item.steps:
        span = [p.commit for p in item.points[step.first : step.last + 1] if p.commit]
        record = next((r for r in records if r.covers(item.name, span)), None)
        views.append(
            StepView(
                step=step, at=item.points[step.index].commit or "?",
                early=item.points[step.first].commit if step.first < step.index else None,
                culprit=record.culprit if record else None,
                confirmed=bool(record and record.confirmed),
                proposal=record.proposal if record else None,
            )
        )  # fmt: skip
    return views


def _tick(value: float, unit: str) -> str:
    """An axis label: times with their unit, counts short (845.2k, 1.204M)."""
    if unit == "s":
        return format_value(value, unit)
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.4g}{suffix}"
    return f"{value:.4g}"


def _scale(values: Sequence[float], size: float, pad: float) -> tuple[float, float, float]:
    low, high = min(values), max(values)
    middle = statistics.median(values)
    if high - low < MIN_SPAN * middle:
        low, high = middle * (1 - MIN_SPAN / 2), middle * (1 + MIN_SPAN / 2)
    if high <= low:
        low, high = low * 0.99, high * 1.01 if high > 0 else 1.0
    margin = (high - low) * 0.08
    return low - margin, high + margin, size - 2 * pad


def _chart(item: BenchmarkHistory, commit_url: str | None) -> Chart:
    values = [p.value for p in item.points]
    low, high, _ = _scale(values, HEIGHT, 0)
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    n = len(values)

    def x_of(i: float) -> float:
        return round(PAD_LEFT + (inner_w * (i / (n - 1)) if n > 1 else inner_w / 2), 1)

    def y_of(v: float) -> float:
        return round(PAD_TOP + inner_h * (1 - (v - low) / (high - low)), 1)

    dots = []
    for i, p in enumerate(item.points):
        label = f"{(p.commit or '?')[:10]} {p.date:%Y-%m-%d}: {format_value(p.value, item.unit)}"
        url = f"{commit_url}/{p.commit}" if commit_url and p.commit else None
        dots.append(Dot(x=x_of(i), y=y_of(p.value), commit=p.commit, url=url, label=label))
    markers = []
    for s in item.steps:
        x = round((x_of(s.index - 1) + x_of(s.index)) / 2, 1)
        markers.append(Marker(x=x, label=f"{s.change_pct:+.1f}%", slower=s.ratio > 1))
    bounds = [0, *(s.index for s in item.steps), n]
    levels = []
    for start, stop in itertools.pairwise(bounds):
        if stop > start:
            level = statistics.median(values[start:stop])
            levels.append(Level(x1=x_of(start), x2=x_of(stop - 1), y=y_of(level)))
    ticks = [(y_of(low + (high - low) * k / 4), _tick(low + (high - low) * k / 4, item.unit))
             for k in range(5)]  # fmt: skip
    return Chart(
        width=WIDTH, height=HEIGHT, dots=dots,
        line=" ".join(f"{d.x},{d.y}" for d in dots), markers=markers, levels=levels,
        ticks=ticks, top=PAD_TOP, bottom=HEIGHT - PAD_BOTTOM,
    )  # fmt: skip


def _spark(values: Sequence[float]) -> str:
    low, high, _ = _scale(values, SPARK_HEIGHT, 0)
    n = len(values)
    return " ".join(
        f"{round(SPARK_WIDTH * (i / (n - 1)) if n > 1 else SPARK_WIDTH / 2, 1)},"
        f"{round(SPARK_HEIGHT * (1 - (v - low) / (high - low)), 1)}"
        for i, v in enumerate(values)
    )


def recent_movement(item: BenchmarkHistory) -> float | None:
    """The level of the newest commit over the level :data:`RECENT` commits before
    it, a level being the median of the commits between two steps: only steps move
    it (None: too few commits)."""
    n = len(item.points)
    if n < 2:
        return None
    bounds = [0, *(s.index for s in item.steps), n]

    def level(index: int) -> float:
        start = max(b for b in bounds[:-1] if b <= index)
        stop = min(b for b in bounds[1:] if b > index)
        return statistics.median(p.value for p in item.points[start:stop])

    return level(n - 1) / level(max(0, n - 1 - RECENT))


def build_dashboard(
    series: Sequence[BenchmarkHistory],
    out_dir: Path,
    *,
    title: str,
    repo_url: str | None,
    drifts: dict[str, Drift] | None = None,
    records: Sequence[StepRecord] = (),
    template_dir: Path | None = None,
) -> list[Path]:
    """Write ``index.html`` and one page per benchmark under ``out_dir``; returns
    the files written. ``repo_url``: the repository's web address, for commit links;
    ``records``: the steps bisection looked at (``steps.jsonl``), to name their commits."""
    commit_url = f"{repo_url.rstrip('/')}/commit" if repo_url else None
    pages = []
    for item in series:
        if not item.points:
            continue
        values = [p.value for p in item.points]
        pages.append(
            Page(
                item=item, file=page_name(item.name), chart=_chart(item, commit_url),
                spark=_spark(values[-60:]), latest=format_value(values[-1], item.unit),
                recent=recent_movement(item), drift=(drifts or {}).get(item.name),
                commit_url=commit_url, steps=_steps(item, records),
                unit_label="" if item.unit == "s" else item.unit,
            )
        )  # fmt: skip
    pages.sort(key=lambda p: (-abs(math.log(p.recent)) if p.recent else 0.0, p.item.name))
    built = datetime.now(UTC)
    written = []
    (out_dir / "b").mkdir(parents=True, exist_ok=True)
    for page in pages:
        path = out_dir / "b" / page.file
        write_atomic(
            path,
            render_template(BENCHMARK_TEMPLATE, template_dir, page=page, title=title, built=built),
        )
        written.append(path)
    index = out_dir / "index.html"
    write_atomic(
        index,
        render_template(
            INDEX_TEMPLATE, template_dir, pages=pages, title=title, built=built,
            spark_width=SPARK_WIDTH, spark_height=SPARK_HEIGHT,
        ),
    )  # fmt: skip
    written.append(index)
    return written
