"""File-system, byte and allocation counters per call of a benchmarked function."""

from __future__ import annotations

import os
from pathlib import Path

from perfgate import Config, Status, compare
from perfgate.capture._counters import measure_counters


def _values(benchmarks) -> dict[str, float]:
    return {b.name.split(":", 1)[1]: b.samples[0] for b in benchmarks}


def test_an_extra_stat_per_item_and_an_extra_write_are_seen(tmp_path: Path):
    items = [tmp_path / f"f{i}" for i in range(120)]
    for item in items:
        item.write_text("x")

    def scan(extra_stat: bool = False, extra_write: bool = False) -> None:
        for item in items:
            os.path.exists(item)  # noqa: PTH110 - the call being counted
            if extra_stat:
                item.stat()
        with open(tmp_path / "out", "w") as handle:  # noqa: PTH123
            handle.write("y" * 1000)
        if extra_write:
            (tmp_path / "log").write_text("z" * 500)

    before = _values(measure_counters("b", scan))
    again = _values(measure_counters("b", scan))
    stats = _values(measure_counters("b", lambda: scan(extra_stat=True)))
    writes = _values(measure_counters("b", lambda: scan(extra_write=True)))
    assert before["fs_calls"] == again["fs_calls"] == 121  # 120 stats and one open
    assert before["bytes_written"] == again["bytes_written"] == 1000
    assert stats["fs_calls"] == 241
    assert writes["fs_calls"] == 122
    assert writes["bytes_written"] == 1500
    assert before["alloc_peak"] > 0


def test_a_counter_regression_fails_even_when_time_is_flat(results, tmp_path):
    base = results({"t": [1.0e-3, 1.01e-3, 0.99e-3]}, counters={"t:fs_calls": [120, 120, 120]})
    cur = results({"t": [1.0e-3, 1.01e-3, 0.99e-3]}, counters={"t:fs_calls": [480, 480, 480]})
    result = compare(base, cur, Config())
    bench = next(b for b in result.benchmarks if b.name == "t:fs_calls")
    assert bench.status is Status.REGRESSION
    assert bench.reason.startswith("instructions 120 → 480 (+300.0%)")  # unit from the fixture


COUNTED = """
import os
import pytest

@pytest.mark.perfgate_counters
def test_marked(benchmark, tmp_path):
    (tmp_path / "a").write_text("x")
    benchmark(lambda: os.path.exists(tmp_path / "a"))

def test_unmarked(benchmark):
    benchmark(sum, [1, 2])
"""


def test_counters_by_marker_and_by_flag(pytester):
    from perfgate import load_results

    pytester.makepyfile(test_c=COUNTED)
    args = ["-p", "no:cacheprovider", "--benchmark-max-time=0.002", "--perfgate-output", "o.json"]
    pytester.runpytest(*args).assert_outcomes(passed=2)
    names = {b.name for b in load_results(pytester.path / "o.json").runs[0].benchmarks}
    assert "test_c.py::test_marked:fs_calls" in names
    assert not any(n.startswith("test_c.py::test_unmarked:") for n in names)
    pytester.runpytest(*args, "--perfgate-counters").assert_outcomes(passed=2)
    names = {b.name for b in load_results(pytester.path / "o.json").runs[0].benchmarks}
    assert "test_c.py::test_unmarked:fs_calls" in names
