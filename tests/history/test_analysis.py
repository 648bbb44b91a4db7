"""history/_analysis.py: series from history lines, steps per kind, drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from perfgate import Config
from perfgate.history._analysis import analyse, drift_since, series_from_history, step_settings
from perfgate.report._history import HistoryEntry
from tests.conftest import history_entries

START = datetime(2026, 1, 1, tzinfo=UTC)


def _entries(values: dict[str, list[float]], unit: str = "instructions") -> list[HistoryEntry]:
    return history_entries(values, unit)


def test_series_follow_the_branch_order_and_leave_out_dropped_commits():
    entries = _entries({"b": [1.0, 2.0, 3.0]})
    order = [entries[2].commit, entries[0].commit]  # entries[1] was force-pushed away
    warned: list[str] = []
    (series,) = series_from_history(entries, order, warned.append)
    assert [p.value for p in series.points] == [3.0, 1.0]
    assert warned == ["1 history line(s) name commits no longer on the branch"]
    assert series.kind == "counter"


def test_a_benchmark_absent_from_some_commits_has_the_others():
    entries = _entries({"a": [1.0, 1.0, 1.0]})
    entries.append(HistoryEntry(commit="f" * 40, date=START, benchmarks={}))
    series = series_from_history(entries)
    assert [len(s.points) for s in series] == [3]


def test_each_kind_gets_its_threshold():
    config = Config(threshold_pct=7, instructions_threshold_pct=2)
    assert step_settings("t", "time", config).min_step_pct == 7
    assert step_settings("t:instructions", "counter", config).min_step_pct == 2
    assert step_settings("t:instructions", "counter", config).min_points == 2
    assert step_settings("t", "time", config).min_points == 4


def _counts_with_steps(n: int, steps: dict[int, float]) -> list[float]:
    level, out = 1e6, []
    for i in range(n):
        level *= steps.get(i, 1.0)
        out.append(level)
    return out


def test_analyse_names_the_step_its_range_and_whether_it_persists():
    values = _counts_with_steps(60, {40: 1.03})
    (item,) = analyse(series_from_history(_entries({"b:instructions": values})), Config())
    (step,) = item.steps
    assert step.index == 40
    assert item.commit_range(step) == (f"{39:040x}", f"{40:040x}")
    assert item.persists(step)


def test_a_step_undone_later_does_not_persist():
    values = _counts_with_steps(60, {20: 1.05, 40: 1 / 1.05})
    (item,) = analyse(series_from_history(_entries({"b:instructions": values})), Config())
    assert [round(s.ratio, 3) for s in item.steps] == [1.05, round(1 / 1.05, 3)]
    assert not item.persists(item.steps[0])


@pytest.mark.parametrize("threshold_pct", [1.0, 6.0])
def test_five_one_percent_steps_drift_five_percent(threshold_pct):
    """Whether or not the steps are found (at a 6% threshold none is), the drift
    since the first commit is their product."""
    values = _counts_with_steps(60, {10: 1.01, 20: 1.01, 30: 1.01, 40: 1.01, 50: 1.01})
    (item,) = analyse(
        series_from_history(_entries({"b:instructions": values})),
        Config(instructions_threshold_pct=threshold_pct),
    )
    assert len(item.steps) == (5 if threshold_pct == 1.0 else 0)
    drift = drift_since(item, f"{0:040x}")
    assert drift is not None
    assert drift.ratio == pytest.approx(1.01**5)
    assert drift.ratio_low < drift.ratio < drift.ratio_high
    assert drift_since(item, "0" * 39 + "z") is None


def test_wall_time_drift_uses_the_points_near_each_end():
    values = [1.0, 1.02, 0.98, 1.0, 1.01] * 6 + [1.1, 1.12, 1.08, 1.1, 1.11] * 6
    (item,) = analyse(series_from_history(_entries({"t": values}, unit="s")), Config())
    drift = drift_since(item, f"{2:040x}")
    assert drift is not None
    assert drift.ratio == pytest.approx(1.1, rel=0.01)
