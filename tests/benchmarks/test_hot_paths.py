"""perfgate's own benchmarks: the hot paths a large suite exercises.

``make perf-baseline`` measures these in several processes into
``baselines/perfgate.json``; ``make perf-check`` gates against it.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from perfgate import (
    Benchmark,
    Comparison,
    Config,
    ReportFormat,
    ResultsFile,
    Run,
    compare,
    load_results,
    render,
    save_results,
)

BENCHMARKS = 1000
SAMPLES = 100
RUNS = 3


def _results(seed: int, runs: int) -> ResultsFile:
    rng = random.Random(seed)
    typical = [1e-6 * rng.lognormvariate(3, 1.5) for _ in range(BENCHMARKS)]
    return ResultsFile(
        runs=tuple(
            Run(
                started_at=datetime(2026, 1, 1, tzinfo=UTC),
                benchmarks=tuple(
                    Benchmark(
                        name=f"tests/test_suite.py::test_case[{i}]",
                        samples=tuple(t * rng.lognormvariate(0, 0.05) for _ in range(SAMPLES)),
                    )
                    for i, t in enumerate(typical)
                ),
            )
            for _ in range(runs)
        )
    )


@pytest.fixture(scope="module")
def baseline() -> ResultsFile:
    return _results(1, RUNS)


@pytest.fixture(scope="module")
def current() -> ResultsFile:
    return _results(2, RUNS)


@pytest.fixture(scope="module")
def comparison(baseline: ResultsFile, current: ResultsFile) -> Comparison:
    return compare(baseline, current, Config())


def test_compare_1000_benchmarks(benchmark, baseline, current):
    result = benchmark(compare, baseline, current, Config())
    assert len(result.benchmarks) == BENCHMARKS


def test_save_large_results_file(benchmark, baseline, tmp_path: Path):
    path = tmp_path / "large.json"
    benchmark(save_results, path, baseline)
    assert path.stat().st_size > 0


def test_load_large_results_file(benchmark, baseline, tmp_path: Path):
    path = tmp_path / "large.json"
    save_results(path, baseline)
    loaded = benchmark(load_results, path)
    assert len(loaded.runs) == RUNS


def test_render_markdown_1000_rows(benchmark, comparison):
    text = benchmark(render, comparison, ReportFormat.MARKDOWN)
    assert text.count("\n| ") >= BENCHMARKS
