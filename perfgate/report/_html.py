"""The HTML report: one self-contained file (no script, no external resource)
with the verdict, every benchmark, and the distributions of both sides.

Each plotted benchmark gets an inline SVG: the samples of each side as dots
(every run, on a shared logarithmic axis), a box from the first to the third
quartile, and the median. The figures are computed here; the markup is the
``report.html.j2`` template (overridable like every report), rendered with
HTML autoescaping, so untrusted benchmark names stay text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from perfgate.report._format import format_value
from perfgate.report._render import render_template
from perfgate.results._model import ResultsFile
from perfgate.verdict._comparison import BenchmarkComparison, Comparison, Status

__all__ = ["HTML_TEMPLATE", "render_html"]

HTML_TEMPLATE: Final = "report.html.j2"
# Plots are for the benchmarks people look at: every slowdown, then the largest changes.
MAX_PLOTS: Final = 60
MAX_DOTS: Final = 120
"""Dots per side (evenly spaced quantiles of its samples when there are more)."""
WIDTH: Final = 640
ROW_HEIGHT: Final = 34
MARGIN: Final = 12


@dataclass(frozen=True)
class Row:
    """One side of one plot, in SVG coordinates."""

    label: str
    y: float
    dots: list[float]
    q1: float
    median: float
    q3: float
    median_text: str


@dataclass(frozen=True)
class Plot:
    bench: BenchmarkComparison
    anchor: str
    rows: list[Row]
    ticks: list[tuple[float, str]]
    height: int


def _values(results: ResultsFile | None, name: str) -> np.ndarray:
    if results is None:
        return np.empty(0)
    parts = []
    for run in results.runs:
        for bench in run.benchmarks:
            if bench.name != name:
                continue
            if bench.samples:
                parts.append(bench.samples.array)
            elif bench.summary is not None:
                parts.append(np.asarray([bench.summary.median]))
    values = np.concatenate(parts) if parts else np.empty(0)
    return values[values > 0]


def _thin(values: np.ndarray) -> np.ndarray:
    if values.size <= MAX_DOTS:
        return np.sort(values)
    thinned: np.ndarray = np.quantile(values, np.linspace(0, 1, MAX_DOTS))
    return thinned


def _plot(bench: BenchmarkComparison, index: int, sides: list[tuple[str, np.ndarray]]) -> Plot:
    present = [(label, v) for label, v in sides if v.size]
    low = math.log(min(float(v.min()) for _, v in present))
    high = math.log(max(float(v.max()) for _, v in present))
    if high - low < 1e-9:
        low, high = low - 0.01, high + 0.01
    span = WIDTH - 2 * MARGIN

    def x(value: float) -> float:
        return round(MARGIN + span * (math.log(value) - low) / (high - low), 1)

    rows = []
    for position, (label, values) in enumerate(present):
        q1, median, q3 = (float(q) for q in np.quantile(values, [0.25, 0.5, 0.75]))
        rows.append(
            Row(
                label=label,
                y=MARGIN + ROW_HEIGHT * position + ROW_HEIGHT / 2,
                dots=[x(float(v)) for v in _thin(values)],
                q1=x(q1),
                median=x(median),
                q3=x(q3),
                median_text=format_value(median, bench.unit),
            )
        )
    ticks = [
        (x(math.exp(value)), format_value(math.exp(value), bench.unit))
        for value in np.linspace(low, high, 5)
    ]
    height = int(2 * MARGIN + ROW_HEIGHT * len(rows) + 18)
    return Plot(bench, f"b{index}", rows, ticks, height)


def _chosen(comparison: Comparison) -> Iterable[BenchmarkComparison]:
    slower = [
        b for b in comparison.movers if b.status in (Status.REGRESSION, Status.LIKELY_REGRESSION)
    ]
    rest = [b for b in comparison.movers if b not in slower]
    return [*slower, *rest][:MAX_PLOTS]


def render_html(
    comparison: Comparison,
    baseline: ResultsFile | None,
    current: ResultsFile | None,
    *,
    template_dir: Path | None = None,
) -> str:
    """The whole report as one HTML document."""
    plots = []
    for index, bench in enumerate(_chosen(comparison)):
        sides = [
            (comparison.baseline.label, _values(baseline, bench.name)),
            (comparison.current.label, _values(current, bench.name)),
        ]
        if any(values.size for _, values in sides):
            plots.append(_plot(bench, index, sides))
    anchors = {plot.bench.name: plot.anchor for plot in plots}
    return render_template(
        HTML_TEMPLATE, template_dir, c=comparison, plots=plots, anchors=anchors, width=WIDTH
    )
