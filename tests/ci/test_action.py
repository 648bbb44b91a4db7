"""The action end to end, on a scratch repository, against a loopback GitHub.

A new project (git init, a small package, ordinary pytest-benchmark tests)
with a bare "origin" runs the action's own steps, read from action.yml and run
as bash scripts with GitHub's environment: a first pull request with no
baseline yet gets a neutral check; a push to main makes the baseline on the
data branch; the pull request then gets a success; a pull request with a real
slowdown gets a failure naming the slowed benchmark.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ci.action_runner import (
    ROOT,
    TOKEN,
    pull_request_event,
    push_event,
    run_action,
    scratch_project,
    slow_down,
)
from tests.conftest import git_as_dev
from tests.github_server import FakeGitHub

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")


@pytest.fixture
def project(tmp_path) -> Path:
    return scratch_project(tmp_path)


def _check_for(github: FakeGitHub, sha: str) -> dict[str, Any]:
    runs = [run for run in github.check_runs.values() if run["head_sha"] == sha]
    return runs[-1]


def test_from_nothing_to_neutral_success_and_a_named_failure(
    project, tmp_path, github, runner_temp
):
    main = git_as_dev(project, "rev-parse", "HEAD")
    # A pull request that changes nothing measurable, before any baseline exists.
    git_as_dev(project, "checkout", "-qb", "docs")
    (project / "README.md").write_text("fastlib\n")
    git_as_dev(project, "add", "-A")
    git_as_dev(project, "commit", "-qm", "a readme")
    docs_head = git_as_dev(project, "rev-parse", "HEAD")
    event = pull_request_event(project, 1, "docs", main)
    code, outputs, printed = run_action(
        project, tmp_path, github, "pull_request", event, "refs/pull/1/merge", runner_temp
    )
    assert code == 0, printed
    assert outputs["conclusion"] == "neutral"
    assert _check_for(github, docs_head)["conclusion"] == "neutral"
    (comment,) = github.comments_on(1)
    assert "no baseline yet for 2 benchmarks" in comment["body"]

    # The push to main makes the baseline on the data branch: nobody commits it.
    git_as_dev(project, "checkout", "-q", "main")
    push = push_event(main)
    code, outputs, printed = run_action(
        project, tmp_path, github, "push", push, "refs/heads/main", runner_temp
    )
    assert code == 0, printed
    assert outputs["verdict"] == "baseline"
    stored = git_as_dev(project, "ls-tree", "-r", "--name-only", "origin/perfgate-data")
    assert f"results/{main}.json" in stored.split()
    assert "history.jsonl" in stored.split()
    assert git_as_dev(project, "status", "--porcelain") == ""

    # The same pull request, run again: judged against the baseline, unchanged.
    git_as_dev(project, "checkout", "-q", "docs")
    code, outputs, printed = run_action(
        project, tmp_path, github, "pull_request", event, "refs/pull/1/merge", runner_temp
    )
    assert code == 0, printed
    assert outputs["conclusion"] == "success", printed
    assert _check_for(github, docs_head)["conclusion"] == "success"
    (comment,) = github.comments_on(1)  # edited in place, never a second one
    assert "perfgate: pass" in comment["body"]

    # A real slowdown: checksum does three times the work.
    git_as_dev(project, "checkout", "-q", "main")
    slow_head = slow_down(project, "slow", rounds=3)
    event = pull_request_event(project, 2, "slow", main)
    code, outputs, printed = run_action(
        project, tmp_path, github, "pull_request", event, "refs/pull/2/merge", runner_temp
    )
    assert code == 1, printed
    assert (outputs["verdict"], outputs["conclusion"]) == ("fail", "failure")
    html = Path(outputs["html"]).read_text(encoding="utf-8")  # the artifact's HTML report
    assert html.count('aria-label="distributions of') == 2
    assert "<h2>Where the instructions went</h2>" in html  # the slowed one, per function
    assert "test_checksum" in html
    check = _check_for(github, slow_head)
    assert check["conclusion"] == "failure"
    assert "test_checksum" in check["output"]["title"]
    (comment,) = github.comments_on(2)
    rows = [line for line in comment["body"].splitlines() if line.startswith("| ❌ |")]
    assert len(rows) == 1
    assert "test\\_checksum" in rows[0]
    assert "test\\_words" not in rows[0]


def test_the_installed_action_runs_perfgate_from_its_own_venv_not_this_tree(
    runner_temp, project, tmp_path, github
):
    """The set-up step's own ``pip install`` of the action path (run by the first
    action run of the session, here or above) made a non-editable install."""
    push = push_event(git_as_dev(project, "rev-parse", "HEAD"))
    code, _, printed = run_action(
        project, tmp_path, github, "push", push, "refs/heads/main", runner_temp
    )
    assert code == 0, printed
    python = runner_temp / "perfgate-venv" / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import perfgate; print(perfgate.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    ).stdout.strip()  # fmt: skip
    assert "site-packages" in Path(where).parts
    assert not Path(where).is_relative_to(ROOT)


# A pull request's conftest.py as an attacker writes it: it looks for keys in its
# environment and in every ancestor's /proc/<pid>/environ, rewrites the event
# file (the accept label, another pull request's number) and GitHub's command
# files at their known paths, and leaves a daemon behind to act after measuring.
ATTACK = """\
import json, os, subprocess, sys
from pathlib import Path

PATHS = json.loads({paths!r})
TOKEN = {token!r}


def _ancestors_environ():
    found, pid = [], os.getppid()
    while pid > 1:
        try:
            found.append(Path(f"/proc/{{pid}}/environ").read_bytes())
            stat = Path(f"/proc/{{pid}}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return found


seen = {{
    "token_in_env": any(TOKEN in v for v in os.environ.values()),
    "keys": sorted(k for k in os.environ if k in ("GITHUB_ENV", "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY", "GITHUB_EVENT_PATH", "GITHUB_PATH", "GITHUB_TOKEN", "PERFGATE_BIN",
        "PERFGATE_MODE", "PERFGATE_PUBLISH", "PERFGATE_BENCHMARKS", "PERFGATE_PYTHON",
        "PERFGATE_DATA_BRANCH", "PERFGATE_PYTEST_ARGS")),
    "token_in_ancestors": any(TOKEN.encode() in block for block in _ancestors_environ()),
    "ancestors": len(_ancestors_environ()),
}}
with open(PATHS["seen"], "a") as handle:
    handle.write(json.dumps(seen) + "\\n")

event = json.loads(Path(PATHS["event"]).read_text())
event["number"] = 42
event["pull_request"]["number"] = 42
event["pull_request"]["labels"] = [{{"name": "perf-regression-accepted"}}]
Path(PATHS["event"]).write_text(json.dumps(event))
with open(PATHS["env"], "a") as handle:
    handle.write("BASH_ENV=" + PATHS["seen"] + "\\n")
with open(PATHS["output"], "a") as handle:
    handle.write("conclusion=success\\n")
if PATHS.get("judge"):
    with open(PATHS["judge"], "a") as handle:
        handle.write("\\n# pwned\\n")
daemon = "import os, time, sys; open(sys.argv[1], 'a').write(str(os.getpid()) + ' '); time.sleep(120)"
subprocess.Popen([sys.executable, "-c", daemon, PATHS["daemon"]], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


def _attackingpull_request_event(
    project: Path, tmp_path: Path, branch: str, judge: str | None
) -> dict[str, str]:
    runner = tmp_path / "runner"
    paths = {
        "seen": str(tmp_path / "seen.jsonl"), "event": str(runner / "event.json"),
        "env": str(runner / "env"), "output": str(runner / "output"),
        "daemon": str(tmp_path / "daemon-alive"), "judge": judge or "",
    }  # fmt: skip
    git_as_dev(project, "checkout", "-q", "main")
    git_as_dev(project, "checkout", "-qb", branch)
    library = project / "fastlib" / "__init__.py"
    library.write_text(library.read_text().replace("ROUNDS = 1", "ROUNDS = 3"))
    (project / "tests" / "benchmarks" / "conftest.py").write_text(
        ATTACK.format(paths=json.dumps(paths), token=TOKEN)
    )
    git_as_dev(project, "add", "-A")
    git_as_dev(project, "commit", "-qm", "three times the work, and a conftest.py")
    return paths


def _baseline(project: Path, tmp_path: Path, github: FakeGitHub, runner_temp: Path) -> str:
    main = git_as_dev(project, "rev-parse", "HEAD")
    push = push_event(main)
    code, _, printed = run_action(
        project, tmp_path, github, "push", push, "refs/heads/main", runner_temp
    )
    assert code == 0, printed
    return main


def test_pull_request_code_holds_no_keys_and_cannot_rewrite_the_verdict(
    project, tmp_path, github, runner_temp
):
    main = _baseline(project, tmp_path, github, runner_temp)
    paths = _attackingpull_request_event(project, tmp_path, "evil", judge=None)
    head = git_as_dev(project, "rev-parse", "HEAD")
    event = pull_request_event(project, 2, "evil", main)
    code, outputs, printed = run_action(
        project, tmp_path, github, "pull_request", event, "refs/pull/2/merge", runner_temp
    )
    seen = [json.loads(line) for line in Path(paths["seen"]).read_text().splitlines()]
    assert seen  # the conftest ran, in every benchmark process
    for sight in seen:
        assert sight["ancestors"] >= 2  # it did look up the process tree
        assert sight == {**sight, "token_in_env": False, "keys": [], "token_in_ancestors": False}
    # The verdict is the real one, on the real pull request, without the label.
    assert code == 1, printed
    assert outputs["conclusion"] == "failure"  # the appended conclusion=success is gone
    assert _check_for(github, head)["conclusion"] == "failure"
    assert github.comments_on(42) == []
    (comment,) = github.comments_on(2)
    assert "❌" in comment["body"]  # still a failure: the label added by the PR did not count
    # GitHub's files are as the step got them (plus the step's own outputs).
    runner = tmp_path / "runner"
    assert json.loads((runner / "event.json").read_text()) == event
    assert "BASH_ENV" not in (runner / "env").read_text()
    assert "restored" in printed
    # Nothing the pull request started outlived the measuring.
    daemons = [int(pid) for pid in Path(paths["daemon"]).read_text().split()]
    assert daemons
    assert not [pid for pid in daemons if Path(f"/proc/{pid}").exists()]
    assert "left running by the measured code were stopped" in printed


def test_pull_request_code_that_changes_the_judge_gets_nothing_published(
    project, tmp_path, github, runner_temp
):
    main = _baseline(project, tmp_path, github, runner_temp)
    venv = runner_temp / "perfgate-venv"
    (judge,) = venv.glob("lib/python3*/site-packages/perfgate/publish/_github.py")
    original = judge.read_bytes()
    try:
        _attackingpull_request_event(project, tmp_path, "evil-judge", judge=str(judge))
        head = git_as_dev(project, "rev-parse", "HEAD")
        event = pull_request_event(project, 3, "evil-judge", main)
        code, outputs, printed = run_action(
            project, tmp_path, github, "pull_request", event, "refs/pull/3/merge", runner_temp
        )
    finally:
        judge.write_bytes(original)
    assert code == 2, printed
    assert "perfgate's own environment changed while the measured code ran" in printed
    assert "Traceback" not in printed
    assert [r for r in github.check_runs.values() if r["head_sha"] == head] == []
    assert github.comments_on(3) == []
    assert "conclusion" not in outputs
