"""Which measure each benchmark gets, and how counting is split across processes."""

from __future__ import annotations

import pytest

from perfgate.capture._plan import MeasurePlan, check_marker, shards


def test_shards_balance_the_expensive_tests():
    cost = {"big": 10.0, "a": 3.0, "b": 3.0, "c": 3.0, "d": 1.0}
    parts = shards(list(cost), 2, cost)
    loads = sorted(sum(cost[n] for n in part) for part in parts)
    assert loads == [10.0, 10.0]
    assert sorted(n for part in parts for n in part) == sorted(cost)
    assert shards(["x"], 4) == [["x"]]
    assert shards(["x", "y", "z"], 2) in ([["x", "z"], ["y"]], [["x"], ["y", "z"]])


def test_measures_by_mode_marker_and_glob():
    counting = MeasurePlan(mode="instructions", time_globs=("tests/io/*",))
    assert counting.measures("tests/cpu.py::t", None) == {"instructions"}
    assert counting.measures("tests/io/disk.py::t", None) == {"time"}
    assert counting.measures("tests/cpu.py::t", {"measure": "time"}) == {"time"}
    both = MeasurePlan(mode="time+instructions")
    assert both.measures("x", None) == {"time", "instructions"}
    assert MeasurePlan(mode="time").measures("x", None) == {"time"}


def test_a_bad_marker_is_named():
    with pytest.raises(ValueError, match="unknown key 'mesure'"):
        check_marker({"mesure": "time"})
    with pytest.raises(ValueError, match="measure must be one of time, instructions"):
        check_marker({"measure": "cycles"})
