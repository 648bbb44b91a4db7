"""Readers: perfgate files and real pytest-benchmark JSON, made by the test itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfgate import InputError, Kind, SchemaVersionError, load_results, parse_results

BENCH_TEST = """
import pytest

@pytest.mark.parametrize("n", [10, 20])
def test_sum(benchmark, n):
    benchmark(sum, range(n))

class TestGroup:
    def test_sorted(self, benchmark):
        benchmark(sorted, [3, 1, 2])
"""
FAST = ["--benchmark-max-time=0.01", "--benchmark-min-rounds=5", "-p", "no:cacheprovider"]


@pytest.fixture(scope="module")
def pytest_benchmark_json(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real pytest-benchmark output: --benchmark-json (raw data) and a saved
    file without --benchmark-save-data (summaries only)."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("pb")
    (root / "test_bench.py").write_text(BENCH_TEST)
    storage = root / "storage"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            *FAST,
            "--benchmark-json",
            "out.json",
            "--benchmark-save",
            "nodata",
            f"--benchmark-storage=file://{storage}",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    saved = next(storage.rglob("*nodata.json"))
    return {"json": root / "out.json", "saved": saved}


def test_reads_pytest_benchmark_json_with_raw_samples(pytest_benchmark_json):
    warnings: list[str] = []
    results = load_results(pytest_benchmark_json["json"], warnings.append)
    assert warnings == []
    (run,) = results.runs
    assert run.source is not None
    assert run.source.startswith("pytest-benchmark")
    names = sorted(b.name for b in run.benchmarks)
    assert names == [
        "test_bench.py::TestGroup::test_sorted",
        "test_bench.py::test_sum[10]",
        "test_bench.py::test_sum[20]",
    ]
    for bench in run.benchmarks:
        assert bench.kind is Kind.TIME
        assert bench.unit == "s"
        assert len(bench.samples) >= 5
        assert bench.summary is None
    assert results.environment.python_version


def test_summary_only_files_are_used_with_a_warning(pytest_benchmark_json):
    warnings: list[str] = []
    results = load_results(pytest_benchmark_json["saved"], warnings.append)
    assert len(warnings) == 3
    assert "no raw samples" in warnings[0]
    assert "--benchmark-save-data" in warnings[0]
    for bench in results.runs[0].benchmarks:
        assert bench.samples == ()
        assert bench.summary is not None
        assert bench.summary.rounds >= 5


def test_perfgate_files_round_trip(results, tmp_path):
    path = tmp_path / "r.json"
    original = results({"a": [1e-3, 1.1e-3]})
    path.write_text(original.to_json())
    assert load_results(path) == original


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1, column 2"),
        (
            "[1, 2]",
            "neither a perfgate results file, pytest-benchmark JSON nor an orchestrator run manifest",
        ),
        (
            '{"hello": "world"}',
            "neither a perfgate results file, pytest-benchmark JSON nor an orchestrator run manifest",
        ),
        ('{"schema": "perfgate/results", "version": 99, "runs": []}', "schema version 99"),
        ('{"schema": "other/thing", "version": 1}', "is not 'perfgate/results'"),
        (
            '{"schema": "perfgate/results", "version": 1, "runs": []}',
            "runs: Tuple should have at least 1 item",
        ),
        ('{"machine_info": {}, "benchmarks": []}', "empty benchmark list"),
        ("NaN", "not valid JSON (NaN is not allowed)"),
    ],
)
def test_bad_input_gives_one_line_errors(content, message):
    with pytest.raises(InputError) as info:
        parse_results(content, "f.json")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_version_is_its_own_error():
    with pytest.raises(SchemaVersionError, match="upgrade perfgate"):
        parse_results('{"schema": "perfgate/results", "version": 2}', "f.json")


def test_nan_and_negative_timings_in_pytest_benchmark_json(pytest_benchmark_json):
    data = json.loads(pytest_benchmark_json["json"].read_text())
    data["benchmarks"][1]["stats"]["data"][3] = -1.0
    with pytest.raises(InputError, match=r"test_sum\[20\]'.*sample 3 is -1.0"):
        parse_results(json.dumps(data), "f.json")


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_results(tmp_path / "absent.json")
    with pytest.raises(InputError, match="is a directory"):
        load_results(tmp_path)
