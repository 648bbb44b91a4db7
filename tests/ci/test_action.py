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
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import git_as_dev
from tests.github_server import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
TOKEN = "ghs_e2eTokenThatMustNeverBePrinted"
REPO = "octo/scratch"

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")

LIBRARY = """\
def checksum(data):
    total = 0
    for _ in range(ROUNDS):
        for byte in data:
            total = (total * 31 + byte) % 1000003
    return total


def words(text):
    return sorted(set(text.split()))


ROUNDS = 1
"""

BENCHMARKS = """\
from fastlib import checksum, words

DATA = bytes(range(256)) * 8


def test_checksum(benchmark):
    assert benchmark(checksum, DATA) >= 0


def test_words(benchmark):
    assert benchmark(words, "to be or not to be " * 50)
"""


@pytest.fixture
def project(tmp_path) -> Path:
    origin = tmp_path / "origin.git"
    git_as_dev(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp_path / "scratch"
    git_as_dev(tmp_path, "clone", "-q", str(origin), str(work))
    (work / "fastlib").mkdir()
    (work / "fastlib" / "__init__.py").write_text(LIBRARY)
    (work / "tests" / "benchmarks").mkdir(parents=True)
    (work / "tests" / "benchmarks" / "test_fastlib.py").write_text(BENCHMARKS)
    (work / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    (work / ".gitignore").write_text(".perfgate/\n__pycache__/\n")
    git_as_dev(work, "add", "-A")
    git_as_dev(work, "commit", "-qm", "a small package with benchmarks")
    git_as_dev(work, "push", "-q", "origin", "HEAD:main")
    return work


def _expression(name: str, inputs: dict[str, str]) -> str:
    """The few ${{ }} expressions the action's scripts use."""
    if name.startswith("inputs."):
        key = name.removeprefix("inputs.")
        value = inputs.get(key, str(ACTION["inputs"][key].get("default", "")))
        return _substitute(value, inputs)
    return {"github.action_path": str(ROOT), "github.token": TOKEN}[name]


def _substitute(text: str, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", lambda m: _expression(m.group(1), inputs), text)


def _run_action(
    repo: Path, tmp: Path, github: FakeGitHub, event_name: str, event: dict[str, Any], ref: str
) -> tuple[int, dict[str, str], str]:
    """The action's set-up and gate steps, as GitHub would run them; returns the
    gate's exit code, its step outputs, and everything it printed."""
    runner = tmp / "runner"
    runner.mkdir(exist_ok=True)
    venv = runner / "perfgate-venv"
    if not venv.exists():  # perfgate is already installed here: the set-up step reuses it
        venv.symlink_to(Path(sys.executable).parent.parent)
    (runner / "event.json").write_text(json.dumps(event))
    files = {name: runner / name for name in ("env", "output", "summary.md")}
    for path in files.values():
        path.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PERFGATE_"))}
    env |= {
        "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(runner / "event.json"), "GITHUB_REF": ref,
        "GITHUB_REPOSITORY": REPO, "GITHUB_API_URL": github.url,
        "GITHUB_SERVER_URL": "https://github.example", "GITHUB_RUN_ID": "77",
        "GITHUB_SHA": git_as_dev(repo, "rev-parse", "HEAD"), "GITHUB_ENV": str(files["env"]),
        "GITHUB_OUTPUT": str(files["output"]), "GITHUB_STEP_SUMMARY": str(files["summary.md"]),
        "RUNNER_TEMP": str(runner), "RUNNER_OS": "Linux",
    }  # fmt: skip
    inputs = {"python": os.environ.get("PERFGATE_CAPTURE_PYTHON") or sys.executable}
    steps = {step.get("id"): step for step in ACTION["runs"]["steps"]}
    printed, code = "", 0
    for step_id in ("setup", "gate"):
        step = steps[step_id]
        step_env = {k: _substitute(str(v), inputs) for k, v in step.get("env", {}).items()}
        for line in files["env"].read_text().splitlines():  # what earlier steps exported
            key, _, value = line.partition("=")
            env[key] = value
        done = subprocess.run(
            ["bash", "-c", step["run"]], cwd=repo, env={**env, **step_env},
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        printed += done.stdout + done.stderr
        code = done.returncode
        if code not in (0, 1):
            break
    outputs = dict(line.partition("=")[::2] for line in files["output"].read_text().splitlines())
    assert TOKEN not in printed
    return code, outputs, printed


def _pull_request(repo: Path, number: int, branch: str, base: str) -> dict[str, Any]:
    head_repo = {"full_name": REPO, "owner": {"login": "octo"}}
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {
                "sha": git_as_dev(repo, "rev-parse", "HEAD"),
                "ref": branch,
                "repo": head_repo,
            },
            "base": {"sha": base, "ref": "main", "repo": head_repo},
            "labels": [],
        },
        "repository": {"full_name": REPO, "default_branch": "main"},
    }


def _check_for(github: FakeGitHub, sha: str) -> dict[str, Any]:
    runs = [run for run in github.check_runs.values() if run["head_sha"] == sha]
    return runs[-1]


def test_from_nothing_to_neutral_success_and_a_named_failure(project, tmp_path, github):
    main = git_as_dev(project, "rev-parse", "HEAD")
    # A pull request that changes nothing measurable, before any baseline exists.
    git_as_dev(project, "checkout", "-qb", "docs")
    (project / "README.md").write_text("fastlib\n")
    git_as_dev(project, "add", "-A")
    git_as_dev(project, "commit", "-qm", "a readme")
    docs_head = git_as_dev(project, "rev-parse", "HEAD")
    event = _pull_request(project, 1, "docs", main)
    code, outputs, printed = _run_action(
        project, tmp_path, github, "pull_request", event, "refs/pull/1/merge"
    )
    assert code == 0, printed
    assert outputs["conclusion"] == "neutral"
    assert _check_for(github, docs_head)["conclusion"] == "neutral"
    (comment,) = github.comments_on(1)
    assert "no baseline yet for 2 benchmarks" in comment["body"]

    # The push to main makes the baseline on the data branch: nobody commits it.
    git_as_dev(project, "checkout", "-q", "main")
    push = {"ref": "refs/heads/main", "after": main,
            "repository": {"full_name": REPO, "default_branch": "main"}}  # fmt: skip
    code, outputs, printed = _run_action(project, tmp_path, github, "push", push, "refs/heads/main")
    assert code == 0, printed
    assert outputs["verdict"] == "baseline"
    stored = git_as_dev(project, "ls-tree", "-r", "--name-only", "origin/perfgate-data")
    assert f"results/{main}.json" in stored.split()
    assert "history.jsonl" in stored.split()
    assert git_as_dev(project, "status", "--porcelain") == ""

    # The same pull request, run again: judged against the baseline, unchanged.
    git_as_dev(project, "checkout", "-q", "docs")
    code, outputs, printed = _run_action(
        project, tmp_path, github, "pull_request", event, "refs/pull/1/merge"
    )
    assert code == 0, printed
    assert outputs["conclusion"] == "success", printed
    assert _check_for(github, docs_head)["conclusion"] == "success"
    (comment,) = github.comments_on(1)  # edited in place, never a second one
    assert "perfgate: pass" in comment["body"]

    # A real slowdown: checksum does three times the work.
    git_as_dev(project, "checkout", "-q", "main")
    git_as_dev(project, "checkout", "-qb", "slow")
    library = project / "fastlib" / "__init__.py"
    library.write_text(library.read_text().replace("ROUNDS = 1", "ROUNDS = 3"))
    git_as_dev(project, "commit", "-qam", "process the data three times")
    slow_head = git_as_dev(project, "rev-parse", "HEAD")
    event = _pull_request(project, 2, "slow", main)
    code, outputs, printed = _run_action(
        project, tmp_path, github, "pull_request", event, "refs/pull/2/merge"
    )
    assert code == 1, printed
    assert (outputs["verdict"], outputs["conclusion"]) == ("fail", "failure")
    html = Path(outputs["html"]).read_text(encoding="utf-8")  # the artifact's HTML report
    assert html.count("<svg") == 2
    assert "test_checksum" in html
    check = _check_for(github, slow_head)
    assert check["conclusion"] == "failure"
    assert "test_checksum" in check["output"]["title"]
    (comment,) = github.comments_on(2)
    rows = [line for line in comment["body"].splitlines() if line.startswith("| ❌ |")]
    assert len(rows) == 1
    assert "test\\_checksum" in rows[0]
    assert "test\\_words" not in rows[0]
