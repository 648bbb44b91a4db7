"""The pytest plugin, driven through real pytest runs with pytester."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from perfgate import Benchmark, ResultsFile, Run, load_results, save_results

pytest_plugins = ["pytester"]

BENCH_TESTS = """
import pytest

def work(n):
    return sum(i * i for i in range(n))

def test_plain(benchmark):
    assert benchmark(work, 200) > 0

@pytest.mark.parametrize("n", [10, 50])
def test_param(benchmark, n):
    benchmark(work, n)

class TestInClass:
    def test_method(self, benchmark):
        benchmark(work, 20)

def test_not_a_benchmark():
    assert work(3) == 5
"""
NAMES = [
    "test_bench.py::TestInClass::test_method",
    "test_bench.py::test_param[10]",
    "test_bench.py::test_param[50]",
    "test_bench.py::test_plain",
]
FAST = ["--benchmark-max-time=0.002", "--benchmark-min-rounds=3", "-p", "no:cacheprovider"]
NO_CONFIRM = ["--perfgate-confirm-budget", "0"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_bench=BENCH_TESTS)
    return pytester


def test_the_plugin_module_imports_nothing_heavy():
    heavy = ("scipy", "jinja2", "pydantic", "github", "perfgate.verdict._compare")
    code = f"import sys, perfgate.plugin; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_off_by_default(project):
    result = project.runpytest(*FAST)
    result.assert_outcomes(passed=5)
    out = result.stdout.str()
    assert "perfgate:" not in out
    assert "captured" not in out


@pytest.mark.parametrize("flags", [["--perfgate"], []], ids=["explicit", "implied-by-output"])
def test_captures_every_benchmark_with_raw_samples(project, flags):
    result = project.runpytest(*FAST, *flags, "--perfgate-output", "out/results.json")
    result.assert_outcomes(passed=5)
    results = load_results(project.path / "out" / "results.json")
    (run,) = results.runs
    assert sorted(b.name for b in run.benchmarks) == NAMES
    for bench in run.benchmarks:
        assert len(bench.samples) >= 3
        assert all(s > 0 for s in bench.samples)
    assert "captured 4 benchmarks" in result.stdout.str()


def test_update_then_compare_exits_0_on_unchanged_code(project):
    # A first in-process session runs cold (imports, caches): up to several times
    # slower, which a one-run baseline cannot tell from a real difference, and
    # the warm session after it then read as "2 improvements" (2 failures in 8).
    project.runpytest(*FAST).assert_outcomes(passed=5)
    project.runpytest(*FAST, "--perfgate-update-baseline").assert_outcomes(passed=5)
    baseline = project.path / "baselines" / "perfgate.json"
    assert len(load_results(baseline).runs) == 1
    result = project.runpytest(
        *FAST, "--perfgate-baseline", str(baseline), "--perfgate-report", "r.md"
    )
    assert result.ret == 0
    # 1 baseline run cannot judge ±5%: the session passes (exit 0), and says it could not tell.
    result.stdout.fnmatch_lines(["*perfgate: no verdict, 4 of 4 inconclusive*"])
    assert (project.path / "r.md").read_text().startswith("### ⚠️ perfgate: no verdict")


def _tiny_baseline(path):
    """A baseline claiming every benchmark took ~10 ns, in three tight runs."""
    runs = [
        Run(
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            benchmarks=tuple(Benchmark(name=n, samples=(1e-8 * f,) * 5) for n in NAMES),
        )
        for f in (1.0, 1.01, 0.99)
    ]
    save_results(path, ResultsFile(runs=tuple(runs)))


def test_a_regression_fails_the_session_and_prints_the_table(project):
    _tiny_baseline(project.path / "base.json")
    result = project.runpytest(
        *FAST, "--perfgate", "--perfgate-baseline", "base.json", "--perfgate-report", "r.md"
    )
    result.assert_outcomes(passed=5)  # the tests pass; the gate fails
    # A regression seen on one run is confirmed by re-running only the regressed benchmarks.
    result.stdout.fnmatch_lines(["*confirmation run 1: re-measured 4 benchmark(s)*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*perfgate: FAIL, 4 regressions in 4 benchmarks*",
            "STATUS*CHANGE*99% CI*MDE*BENCHMARK",  # 0.05 split over 5 looks
            "regression*test_bench.py::*",
        ]
    )
    report = (project.path / "r.md").read_text()
    assert report.startswith("### ❌ perfgate: FAIL, 4 regressions")


def test_a_bad_baseline_stops_before_benchmarking(project):
    (project.path / "base.json").write_text('{"schema": "perfgate/results", "version": 9}')
    result = project.runpytest(*FAST, "--perfgate-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*perfgate: *base.json: results schema version 9*"])
    assert "passed" not in result.stdout.str()


def test_a_bad_config_is_a_usage_error_when_judging(project):
    project.makepyprojecttoml("[tool.perfgate]\nthreshold = 5\n")
    result = project.runpytest(*FAST, "--perfgate-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown key 'threshold'*"])


def test_capture_alone_leaves_the_config_to_the_judge(project):
    """Capturing reads only the baseline path from [tool.perfgate]; the judge, which
    validates the whole table, may not even be installed in the project's environment."""
    project.makepyprojecttoml("[tool.perfgate]\nthreshold = 5\n")
    result = project.runpytest(*FAST, "--perfgate-output", "r.json")
    assert result.ret == pytest.ExitCode.OK
    assert (project.path / "r.json").is_file()


def test_config_baseline_path_is_used_for_updates(project):
    project.makepyprojecttoml('[tool.perfgate]\nbaseline = "perf/base.json"\n')
    project.runpytest(*FAST, "--perfgate-update-baseline").assert_outcomes(passed=5)
    assert (project.path / "perf" / "base.json").is_file()


def test_disabled_benchmarks_capture_nothing_and_say_so(project):
    result = project.runpytest(*FAST, "--perfgate", "--benchmark-disable")
    result.assert_outcomes(passed=5)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*no benchmark results were captured*"])


def test_failed_tests_are_not_captured(pytester):
    pytester.makepyfile(
        test_fail="def test_bad(benchmark):\n    benchmark(sum, [1])\n    assert False\n"
    )
    result = pytester.runpytest(*FAST, "--perfgate-output", "o.json")
    result.assert_outcomes(failed=1)
    assert not (pytester.path / "o.json").exists()


def test_results_file_is_perfgate_json(project):
    project.runpytest(*FAST, "--perfgate-output", "o.json")
    data = json.loads((project.path / "o.json").read_text())
    assert data["schema"] == "perfgate/results"
    assert data["environment"]["python_version"]


def test_confirmation_reruns_only_undecided_benchmarks(project):
    project.runpytest(*FAST, "--perfgate-update-baseline").assert_outcomes(passed=5)
    result = project.runpytest(
        *FAST,
        "--perfgate-baseline",
        "baselines/perfgate.json",
        "--perfgate-output",
        "current.json",
        "--perfgate-confirm-budget=300",
    )
    result.stdout.fnmatch_lines(["*confirmation run 1: re-measured * benchmark(s)*"])
    current = load_results(project.path / "current.json")
    assert len(current.runs) > 1
    # Extra runs hold only benchmarks, never the plain test, and never more than asked.
    for run in current.runs[1:]:
        assert {b.name for b in run.benchmarks} <= set(NAMES)
    assert len(current.runs) <= 1 + 4  # confirm_max_runs


def test_rerun_args_drop_paths_and_perfgate_options():
    from perfgate.capture._session import _rerun_args

    args = [
        "tests/benchmarks", "-q", "--perfgate-baseline", "b.json", "--perfgate-report=r.md",
        "--benchmark-max-time", "0.1", "--perfgate", "-k", "parse",
    ]  # fmt: skip
    assert _rerun_args(args, ["tests/benchmarks"]) == (
        "-q", "--benchmark-max-time", "0.1", "-k", "parse",
    )  # fmt: skip


PERF_RUN_TESTS = """
import sys

def test_pipeline(perf_run):
    times = perf_run([sys.executable, "-c", "import time; time.sleep(0.01)"], rounds=3)
    assert len(times) in (1, 3)

def test_callable(perf_run):
    perf_run(lambda: sum(range(1000)), rounds=4, name="sum")

def test_failing_command(perf_run):
    perf_run([sys.executable, "-c", "import sys; sys.exit(5)"], rounds=2)
"""


@pytest.mark.parametrize("enabled", [True, False], ids=["perfgate-on", "perfgate-off"])
def test_perf_run_fixture(pytester, enabled):
    pytester.makepyfile(test_pipe=PERF_RUN_TESTS)
    args = ["-p", "no:cacheprovider"] + (["--perfgate-output", "o.json"] if enabled else [])
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*perf_run: * exited 5 in round 1*"])
    if not enabled:
        assert not (pytester.path / "o.json").exists()
        return
    (run,) = load_results(pytester.path / "o.json").runs
    names = {b.name: b for b in run.benchmarks}
    assert len(names["test_pipe.py::test_pipeline"].samples) == 3
    assert "test_pipe.py::test_pipeline:peak_rss" in names
    assert len(names["test_pipe.py::test_callable:sum"].samples) == 4
    assert not any("failing" in name for name in names)


def test_installed_but_off_the_plugin_adds_at_most_one_percent_of_work(tmp_path):
    """Issue 19 measured +16% for 2,000 trivial tests. Wall time flakes here, so
    the work is counted instead: Python function calls over one in-process
    session of trivial tests, with perfgate installed but off against
    ``-p no:perfgate`` (the benchmarks in tests/benchmarks/test_plugin_off.py
    time the same two sessions)."""
    import sys

    from tests.benchmarks.test_plugin_off import run_session, write_trivial_suite

    suite = write_trivial_suite(tmp_path, 300)

    def calls(*extra: str) -> int:
        counted = 0

        def count(_frame, event, _arg):
            nonlocal counted
            if event == "call":
                counted += 1

        run_session(suite, *extra)  # warm: imports and caches, as in a real run
        previous = sys.getprofile()
        sys.setprofile(count)
        try:
            assert run_session(suite, *extra) == 0
        finally:
            sys.setprofile(previous)
        return counted

    off, without = calls(), calls("-p", "no:perfgate")
    print(f"{off:,} calls with perfgate off vs {without:,} without")
    assert off <= without * 1.01, f"{off:,} calls with perfgate off vs {without:,} without"
