"""perfgate ingest: the shared real orchestrator records, and synthetic ones."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from perfgate import load_results
from perfgate.results._ingest import IngestFilter, ingest

FIXTURES = Path(__file__).parents[3] / "shared" / "fixtures" / "co-runs"
MANIFEST_1303 = FIXTURES / "manifest-1303-diagnostics-failed-2026-03-19T05-42-34-905Z-df9fe436.json"
LEGACY = FIXTURES / "metrics-0001-legacy.jsonl"
STDOUT = FIXTURES / "start-diagnostics-stdout-1226-2026-03-16T05-02-37-249Z-883ca07c.txt"

needs_fixtures = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="shared/ is not beside the checkout"
)


@needs_fixtures
def test_the_failed_1303_diagnostics_run_yields_no_timing():
    warnings: list[str] = []
    report = ingest([MANIFEST_1303], keep=IngestFilter(), warn=warnings.append)
    assert report.results is None
    assert report.runs == 1
    assert report.statuses == {"failed": 1}
    assert report.timed_runs == 0


@needs_fixtures
def test_the_legacy_metrics_yield_seven_samples_and_five_failures():
    report = ingest([LEGACY], keep=IngestFilter(), warn=print)
    assert report.statuses == {"succeeded": 7, "failed": 5}
    assert report.results is not None
    samples = sorted(s for run in report.results.runs for b in run.benchmarks for s in b.samples)
    assert len(samples) == 7
    assert samples[0] == pytest.approx(28.752)
    assert samples[-1] == pytest.approx(53.707)
    names = {b.name for run in report.results.runs for b in run.benchmarks}
    assert names == {"co:task-0001"}  # no pipeline id: grouped by task


@needs_fixtures
def test_foreign_files_are_skipped_with_a_count_and_one_warning():
    warnings: list[str] = []
    report = ingest([STDOUT, LEGACY], keep=IngestFilter(), warn=warnings.append)
    assert report.skipped_files == [STDOUT]
    assert len([w for w in warnings if "not orchestrator records" in w]) == 1
    assert report.timed_runs == 7


T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _manifest(root: Path, task: str, run_id: str, *, status: str, start: datetime,
              stages: list[tuple[str, str, float]], resumed: bool = False, pipeline: str = "diagnostics",
              logs: dict[str, float] | None = None) -> Path:  # fmt: skip
    directory = root / ".runs" / task / "cli" / run_id
    (directory / "commands").mkdir(parents=True)
    commands, clock = [], start + timedelta(seconds=0.1)
    for index, (stage_id, stage_status, seconds) in enumerate(stages, start=1):
        ran = stage_status not in ("pending",)
        commands.append({
            "index": index, "id": stage_id, "title": stage_id, "command": f"npm run {stage_id}",
            "kind": "command", "status": stage_status,
            "started_at": _iso(clock) if ran else None,
            "completed_at": _iso(clock + timedelta(seconds=seconds)) if ran and stage_status != "running" else None,
            "exit_code": 0 if stage_status == "succeeded" else None, "future_field": {"x": 1},
        })  # fmt: skip
        clock += timedelta(seconds=seconds)
    done = status not in ("in_progress", "queued")
    manifest = {
        "version": 1, "task_id": task, "run_id": run_id, "pipeline_id": pipeline,
        "runner": "codex-cli", "status": status, "started_at": _iso(start),
        "completed_at": _iso(clock + timedelta(seconds=0.2)) if done else None,
        "commands": commands, "resume_events": [{"at": _iso(start)}] if resumed else [],
        "brand_new_field": [1, 2, 3],
    }  # fmt: skip
    (directory / "manifest.json").write_text(json.dumps(manifest))
    for index, (stage_id, duration_ms) in enumerate((logs or {}).items(), start=1):
        lines = [
            json.dumps({"type": "exec:start"}),
            json.dumps({"type": "exec:end", "duration_ms": duration_ms, "exit_code": 0}),
        ]
        (directory / "commands" / f"{index:02d}-{stage_id}.ndjson").write_text(
            "\n".join(lines) + "\n"
        )
    return directory


@pytest.fixture
def runs_tree(tmp_path: Path) -> Path:
    stages = [("build", "succeeded", 10.0), ("lint", "succeeded", 2.0), ("test", "succeeded", 20.0)]
    for index in range(3):
        _manifest(tmp_path, "0932-perf", f"run-{index}", status="succeeded",
                  start=T0 + timedelta(days=index), stages=stages,
                  logs={"build": 9_500 + 100 * index})  # fmt: skip
    _manifest(tmp_path, "0932-perf", "run-resumed", status="succeeded", start=T0 + timedelta(days=3),
              stages=stages, resumed=True)  # fmt: skip
    _manifest(tmp_path, "0932-perf", "run-live", status="in_progress", start=T0 + timedelta(days=4),
              stages=[("build", "succeeded", 11.0), ("lint", "running", 1.0), ("test", "pending", 0)])  # fmt: skip
    _manifest(tmp_path, "0932-perf", "run-odd", status="paused_by_operator", start=T0 + timedelta(days=5),
              stages=[("build", "succeeded", 12.0)])  # fmt: skip
    metrics = tmp_path / ".runs" / "0932-perf" / "metrics.json"
    good = {"run_id": "run-0", "task_id": "0932-perf", "pipeline_id": "diagnostics", "status": "succeeded",
            "started_at": _iso(T0), "completed_at": _iso(T0 + timedelta(seconds=32.3)), "duration_seconds": 32.3,
            "tool_calls": 17}  # fmt: skip
    older = {
        **good,
        "run_id": "run-metrics-only",
        "started_at": _iso(T0 - timedelta(days=7)),
        "duration_seconds": 40.0,
    }
    metrics.write_text(json.dumps(good) + "\n{corrupt line\n" + json.dumps(older) + "\n")
    (tmp_path / ".runs" / "0932-perf" / "notes.json").write_text('{"hello": "world"}')
    return tmp_path / ".runs"


def test_synthetic_tree(runs_tree):
    warnings: list[str] = []
    report = ingest([runs_tree], keep=IngestFilter(), warn=warnings.append)
    assert report.statuses == {"succeeded": 5, "in_progress": 1, "paused_by_operator": 1}
    assert report.resumed_runs == 1
    assert any("metrics.json:2: corrupt line skipped" in w for w in warnings)
    results = report.results
    assert results is not None
    pipeline = sorted(
        s
        for run in results.runs
        for b in run.benchmarks
        if b.name == "co:diagnostics"
        for s in b.samples
    )
    # run-0..2 (32.3 s: stages plus set-up), run-metrics-only (40 s); not the resumed or live ones.
    assert pipeline == pytest.approx([32.3, 32.3, 32.3, 40.0])
    build = sorted(
        s
        for run in results.runs
        for b in run.benchmarks
        if b.name == "co:diagnostics/build"
        for s in b.samples
    )
    # Exact durations from the logs where present (9.5, 9.6, 9.7 s), timestamps elsewhere.
    assert build == pytest.approx([9.5, 9.6, 9.7, 10.0, 11.0, 12.0])
    lint = [
        s
        for run in results.runs
        for b in run.benchmarks
        if b.name == "co:diagnostics/lint"
        for s in b.samples
    ]
    assert len(lint) == 4  # the running stage of the live run is not timed
    assert all(run.source == "codex-orchestrator" for run in results.runs)


def test_filters_by_task_pipeline_and_time(runs_tree):
    week = IngestFilter(since=T0, until=T0 + timedelta(days=6))
    report = ingest([runs_tree], keep=week, warn=print)
    assert report.runs == 6  # the metrics-only run is a week older
    assert ingest([runs_tree], keep=IngestFilter(task="other"), warn=print).results is None
    assert ingest([runs_tree], keep=IngestFilter(pipeline="rlm"), warn=print).runs == 0


def test_cli_ingest_and_compare_two_weeks(runs_tree, tmp_path):
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "perfgate", *args],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    done = cli(
        "ingest",
        str(runs_tree),
        "--pipeline",
        "diagnostics",
        "--since",
        "2026-11-16",
        "-o",
        "this-week.json",
    )
    assert done.returncode == 0, done.stderr
    assert "in_progress" in done.stderr
    assert len(load_results(tmp_path / "this-week.json").runs) >= 3
    nothing = cli("ingest", str(runs_tree), "--task", "nope")
    assert nothing.returncode == 2
    assert "no timing samples" in nothing.stderr
    bad_date = cli("ingest", str(runs_tree), "--since", "last tuesday")
    assert bad_date.returncode == 2
    assert "expected an ISO date" in bad_date.stderr


def test_mcp_copies_do_not_double_count(runs_tree):
    source = runs_tree / "0932-perf" / "cli" / "run-0"
    shutil.copytree(source, runs_tree / "0932-perf" / "mcp" / "run-0")
    report = ingest([runs_tree], keep=IngestFilter(), warn=print)
    assert report.statuses["succeeded"] == 5


def test_a_manifest_reads_like_any_results_file(runs_tree, tmp_path):
    """The orchestrator reader sits behind the same interface as the others:
    `perfgate compare` takes two manifests directly."""
    from perfgate import load_results

    tree = runs_tree / "0932-perf" / "cli"
    base = load_results(tree / "run-0" / "manifest.json")
    (run,) = base.runs
    assert run.source == "codex-orchestrator"
    names = {b.name for b in run.benchmarks}
    assert names == {
        "co:diagnostics",
        "co:diagnostics/build",
        "co:diagnostics/lint",
        "co:diagnostics/test",
    }
    build = next(b for b in run.benchmarks if b.name.endswith("/build"))
    assert build.samples == (9.5,)  # from the command log, not the timestamps
    done = subprocess.run(
        [sys.executable, "-m", "perfgate", "compare",
         str(tree / "run-0" / "manifest.json"), str(tree / "run-1" / "manifest.json")],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "co:diagnostics/build" in done.stdout


@needs_fixtures
def test_a_failed_run_manifest_is_a_clear_error():
    from perfgate import InputError, load_results

    with pytest.raises(InputError, match="has no succeeded stage"):
        load_results(MANIFEST_1303)


def test_a_symlink_out_of_the_runs_tree_is_not_followed(runs_tree, tmp_path):
    """A file in .runs/ that links outside it (say to a secret) is not read."""
    outside = tmp_path / "elsewhere" / "metrics.json"
    outside.parent.mkdir()
    outside.write_text('{"task_id": "x", "run_id": "leak", "status": "succeeded"}\n')
    (runs_tree / "0932-perf" / "metrics-link.json").symlink_to(outside)
    before = ingest([runs_tree], keep=IngestFilter(), warn=print)
    (runs_tree / "0932-perf" / "metrics-link.json").unlink()
    without = ingest([runs_tree], keep=IngestFilter(), warn=print)
    assert before.files_read == without.files_read  # the link was never opened


def test_naive_and_aware_timestamps_and_nan_durations_mix(tmp_path):
    """Found by make fuzz (and the issue-14 probe): a manifest mixing a naive and
    an aware timestamp crashed; NaN durations must not become samples."""
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({
        "task_id": "t", "run_id": "r1", "pipeline_id": "p", "status": "succeeded",
        "started_at": "2026-11-01T12:00:00", "completed_at": "2026-11-01T12:00:30Z",
        "commands": [{"id": "build", "status": "succeeded",
                      "started_at": "2026-11-01T12:00:00+00:00", "completed_at": "2026-11-01T12:00:10"}],
    }))  # fmt: skip
    report = ingest([manifest], keep=IngestFilter(), warn=print)
    assert report.results is not None
    samples = {b.name: list(b.samples) for run in report.results.runs for b in run.benchmarks}
    assert samples["co:p"] == [30.0]
    assert samples["co:p/build"] == [10.0]
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"run_id": "r2", "status": "succeeded", "duration_seconds": NaN}\n')
    assert ingest([metrics], keep=IngestFilter(), warn=print).results is None
