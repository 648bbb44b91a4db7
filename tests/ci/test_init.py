"""`perfgate init` (ci/_init.py): a scratch project set up in one command, then
gated by the action it wrote."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from perfgate.ci._init import find_benchmarks
from tests.ci.action_runner import (
    pull_request_event,
    push_event,
    run_action,
    scratch_project,
    slow_down,
)
from tests.conftest import git_as_dev

SHA = "0123456789abcdef0123456789abcdef01234567"
ZIZMOR = shutil.which("zizmor", path=str(Path(sys.executable).parent))


def _init(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfgate", "init", "--action-ref", SHA, *args],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "proj"
    (root / "tests" / "benchmarks").mkdir(parents=True)
    (root / "tests" / "benchmarks" / "test_speed.py").write_text(
        "def test_sum(benchmark):\n    benchmark(sum, range(100))\n"
    )
    (root / "tests" / "test_unit.py").write_text("def test_plain():\n    assert True\n")
    (root / "bench").mkdir()
    (root / "bench" / "test_whole.py").write_text(
        "import pytest\n\n@pytest.mark.benchmark\ndef test_whole():\n    sum(range(10))\n"
    )
    (root / ".venv" / "lib").mkdir(parents=True)  # never searched
    (root / ".venv" / "lib" / "test_vendored.py").write_text("def test_v(benchmark): pass\n")
    (root / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "1"\n')
    git_as_dev(root, "init", "-q", "-b", "main")
    return root


def test_it_finds_fixture_and_marker_benchmarks_and_nothing_vendored(project):
    assert find_benchmarks(project) == ["bench", "tests/benchmarks"]


def test_it_writes_the_workflow_and_the_config_then_changes_nothing(project):
    first = _init(project)
    assert first.returncode == 0, first.stderr
    workflow = project / ".github" / "workflows" / "perfgate.yml"
    text = workflow.read_text()
    assert "wrote .github/workflows/perfgate.yml" in first.stdout
    assert text in first.stdout  # it shows what it wrote
    parsed = yaml.safe_load(text)
    assert parsed["permissions"] == {}
    job = parsed["jobs"]["gate"]
    assert set(job["permissions"]) == {"contents", "checks", "pull-requests", "issues"}
    assert parsed["concurrency"]["cancel-in-progress"] is True
    assert set(parsed[True]) == {"push", "pull_request"}  # YAML 1.1 reads `on` as True
    steps = job["steps"]
    assert steps[0]["with"] == {"fetch-depth": 0, "persist-credentials": False}
    assert steps[-1]["uses"] == f"perfgate/perfgate@{SHA}"
    assert steps[-1]["with"] == {"benchmarks": "bench tests/benchmarks"}
    pyproject = (project / "pyproject.toml").read_text()
    assert pyproject.startswith('[project]\nname = "proj"')  # the user's part untouched
    assert 'benchmarks = ["bench", "tests/benchmarks"]' in pyproject
    from perfgate._config import load_config

    assert load_config(project / "pyproject.toml").benchmarks == ["bench", "tests/benchmarks"]
    again = _init(project)
    assert again.returncode == 0
    assert "wrote" not in again.stdout
    assert workflow.read_text() == text
    assert (project / "pyproject.toml").read_text() == pyproject


def test_a_users_files_are_never_replaced_without_force(project):
    workflow = project / ".github" / "workflows" / "perfgate.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: mine\n")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "proj"\n\n[tool.perfgate]\nthreshold_pct = 3\n'
    )
    kept = _init(project)
    assert kept.returncode == 0
    assert workflow.read_text() == "name: mine\n"
    assert "exists and differs: left as it is (--force replaces it)" in kept.stderr
    assert "already has [tool.perfgate]" in kept.stderr
    assert "threshold_pct = 3" in (project / "pyproject.toml").read_text()
    forced = _init(project, "--force")
    assert forced.returncode == 0
    assert workflow.read_text().startswith("# Written by `perfgate init`")


def test_no_benchmarks_is_one_line_and_exit_2(tmp_path):
    done = _init(tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "no benchmark tests under" in done.stderr


@pytest.mark.skipif(ZIZMOR is None, reason="zizmor is not installed (make install brings it)")
def test_the_workflow_it_writes_passes_zizmor_with_no_finding(project):
    assert _init(project).returncode == 0
    done = subprocess.run(
        [str(ZIZMOR), "--offline", "--persona", "pedantic", "--format", "plain",
         str(project / ".github" / "workflows" / "perfgate.yml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_from_init_to_a_failing_check_through_the_action(tmp_path, github, runner_temp):
    """A scratch project with pytest-benchmark tests: `perfgate init`, a push,
    then a pull request 2x slower, run through the action with the inputs of
    the workflow init wrote: one failing check and one comment."""
    work = scratch_project(tmp_path, "perf", gitignore="__pycache__/\n", commit=False)
    done = _init(work)
    assert done.returncode == 0, done.stderr
    workflow = yaml.safe_load((work / ".github" / "workflows" / "perfgate.yml").read_text())
    inputs = dict(workflow["jobs"]["gate"]["steps"][-1]["with"])
    assert inputs == {"benchmarks": "perf"}
    git_as_dev(work, "add", "-A")
    git_as_dev(work, "commit", "-qm", "perfgate init")
    git_as_dev(work, "push", "-q", "origin", "HEAD:main")
    main = git_as_dev(work, "rev-parse", "HEAD")
    code, outputs, printed = run_action(
        work, tmp_path, github, "push", push_event(main), "refs/heads/main", runner_temp,
        inputs=inputs,
    )  # fmt: skip
    assert code == 0, printed
    assert outputs["verdict"] == "baseline"
    assert git_as_dev(work, "status", "--porcelain") == ""  # .perfgate/ ignores itself
    head = slow_down(work, "slow", rounds=2)
    event = pull_request_event(work, 9, "slow", main)
    code, outputs, printed = run_action(
        work, tmp_path, github, "pull_request", event, "refs/pull/9/merge", runner_temp,
        inputs=inputs,
    )  # fmt: skip
    assert code == 1, printed
    checks = [run for run in github.check_runs.values() if run["head_sha"] == head]
    assert len(checks) == 1
    assert checks[0]["conclusion"] == "failure"
    assert "test_checksum" in checks[0]["output"]["title"]
    (comment,) = github.comments_on(9)
    assert "test\\_checksum" in comment["body"]
