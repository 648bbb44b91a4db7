"""Which measure each benchmark gets, and how counting is split across processes."""

from __future__ import annotations

import pytest

from perfgate.capture._plan import MeasurePlan, check_marker, shards


def test_shards_are_dealt_the_same_way_every_time():
    assert shards(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert shards(["x"], 4) == [["x"]]


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
