"""perfgate's own benchmarks: the hot paths a large suite exercises.

``make perf-baseline`` measures these in several processes into
``baselines/perfgate.json``; ``make perf-check`` gates against it.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from perfgate import (
    Comparison,
    Config,
    ReportFormat,
    ResultsFile,
    compare,
    load_results,
    render,
    save_results,
)
from perfgate.results._readers import results_from_document

BENCHMARKS = 1000
SAMPLES = 100
RUNS = 3


def _load_generator() -> ModuleType:
    """The synthetic suite of ``accuracy/judge_cost.py`` (one generator for both)."""
    path = Path(__file__).parents[2] / "accuracy" / "judge_cost.py"
    spec = importlib.util.spec_from_file_location("perfgate_judge_cost", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_GENERATOR = _load_generator()


def _results(seed: int, runs: int) -> ResultsFile:
    document = _GENERATOR.synthetic_document(seed, BENCHMARKS, SAMPLES, runs)
    return results_from_document(document, "synthetic suite")


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


def test_judge_against_json_load(benchmark, tmp_path: Path):
    """The judge's cost as a ratio to ``json.load`` of the same two files, both
    measured in this one run (issue goal: at most 3x; docs/architecture.md has the
    full-size figure). pytest-benchmark times the whole judgement; ``extra_info``
    keeps the ratio, so the gate can watch it."""
    import json
    import time

    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    save_results(base, _results(1, RUNS))
    save_results(cur, _results(2, RUNS))

    def judge() -> Comparison:
        return compare(load_results(base), load_results(cur), Config())

    def json_load() -> None:
        for path in (base, cur):
            with path.open(encoding="utf-8") as handle:
                json.load(handle)

    result = benchmark(judge)
    started = time.perf_counter()
    for _ in range(3):
        json_load()
    json_s = (time.perf_counter() - started) / 3
    started = time.perf_counter()
    judge()
    judge_s = time.perf_counter() - started
    benchmark.extra_info["json_load_s"] = json_s
    benchmark.extra_info["ratio_to_json_load"] = judge_s / json_s
    assert len(result.benchmarks) == BENCHMARKS


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_instruction_mode_against_time_mode(benchmark, tmp_path: Path):
    """Counting the demo suite's instructions against one ordinary time-mode run
    of it (pytest-benchmark's defaults), as a ratio measured in this run; the
    issue's goal is at most 1x for A/B over both revisions (docs/modes.md)."""
    import subprocess
    import sys
    import time

    demo = tmp_path / "demo"
    shutil.copytree(Path(__file__).parents[2] / "examples" / "demo", demo)

    def pytest_run(*options: str) -> float:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
            cwd=demo, check=True, capture_output=True,
        )  # fmt: skip
        return time.perf_counter() - started

    counted_s = benchmark.pedantic(
        pytest_run,
        args=("--perfgate-mode=instructions", "--perfgate-output", "counted.json"),
        rounds=1,
        iterations=1,
    )
    timed_s = pytest_run("--benchmark-enable")
    benchmark.extra_info["time_mode_s"] = timed_s
    benchmark.extra_info["instruction_mode_s"] = counted_s
    benchmark.extra_info["ratio_to_time_mode"] = counted_s / timed_s
    assert (demo / "counted.json").is_file()
