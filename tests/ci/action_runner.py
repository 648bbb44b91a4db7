"""The action's own steps (action.yml), run as GitHub runs them, for the e2e tests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import git_as_dev
from tests.github_server import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
TOKEN = "ghs_e2eTokenThatMustNeverBePrinted"
REPO = "octo/scratch"


def _expression(name: str, inputs: dict[str, str]) -> str:
    """The few ${{ }} expressions the action's scripts use."""
    if name.startswith("inputs."):
        key = name.removeprefix("inputs.")
        value = inputs.get(key, str(ACTION["inputs"][key].get("default", "")))
        return _substitute(value, inputs)
    return {"github.action_path": str(ROOT), "github.token": TOKEN}[name]


def _substitute(text: str, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*(.+?)\s*\}\}", lambda m: _expression(m.group(1), inputs), text)


def run_action(
    repo: Path,
    tmp: Path,
    github: FakeGitHub,
    event_name: str,
    event: dict[str, Any],
    ref: str,
    runner_temp: Path,
    inputs: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """The action's set-up and gate steps, as GitHub would run them; returns the
    gate's exit code, its step outputs, and everything it printed."""
    runner = tmp / "runner"
    runner.mkdir(exist_ok=True)
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
        "RUNNER_TEMP": str(runner_temp), "RUNNER_OS": "Linux",
    }  # fmt: skip
    inputs = {
        "python": os.environ.get("PERFGATE_CAPTURE_PYTHON") or sys.executable,
        **(inputs or {}),
    }
    steps = {step.get("id"): step for step in ACTION["runs"]["steps"]}
    printed, code = "", 0
    for step_id in ("setup", "gate"):
        step = steps[step_id]
        step_env = {k: _substitute(str(v), inputs) for k, v in step.get("env", {}).items()}
        for line in files["env"].read_text().splitlines():  # what earlier steps exported
            key, _, value = line.partition("=")
            env[key] = value
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo, env={**env, **step_env},
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        printed += done.stdout + done.stderr
        code = done.returncode
        if code not in (0, 1):
            break
    outputs = dict(line.partition("=")[::2] for line in files["output"].read_text().splitlines())
    assert TOKEN not in printed
    return code, outputs, printed


def pull_request_event(repo: Path, number: int, branch: str, base: str) -> dict[str, Any]:
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


# A small package with ordinary pytest-benchmark tests, for the e2e tests.
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


def scratch_project(
    tmp: Path,
    benchmarks_dir: str = "tests/benchmarks",
    extra: dict[str, str] | None = None,
    *,
    gitignore: str = ".perfgate/\n__pycache__/\n",
    commit: bool = True,
) -> Path:
    """A clone of a bare "origin" holding :data:`LIBRARY` as ``fastlib`` and
    :data:`BENCHMARKS` (and ``extra`` files) under ``benchmarks_dir``; committed
    and pushed to main unless ``commit`` is false."""
    origin = tmp / "origin.git"
    git_as_dev(tmp, "init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp / "scratch"
    git_as_dev(tmp, "clone", "-q", str(origin), str(work))
    (work / "fastlib").mkdir()
    (work / "fastlib" / "__init__.py").write_text(LIBRARY)
    (work / benchmarks_dir).mkdir(parents=True)
    (work / benchmarks_dir / "test_fastlib.py").write_text(BENCHMARKS)
    for name, text in (extra or {}).items():
        (work / name).write_text(text)
    (work / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    (work / ".gitignore").write_text(gitignore)
    if commit:
        git_as_dev(work, "add", "-A")
        git_as_dev(work, "commit", "-qm", "a small package with benchmarks")
        git_as_dev(work, "push", "-q", "origin", "HEAD:main")
    return work


def slow_down(repo: Path, branch: str, rounds: int) -> str:
    """A new branch whose checksum does ``rounds`` times the work; its head."""
    git_as_dev(repo, "checkout", "-qb", branch)
    library = repo / "fastlib" / "__init__.py"
    library.write_text(library.read_text().replace("ROUNDS = 1", f"ROUNDS = {rounds}"))
    git_as_dev(repo, "commit", "-qam", f"checksum does {rounds} times the work")
    return git_as_dev(repo, "rev-parse", "HEAD")


def push_event(sha: str) -> dict[str, Any]:
    """A push to main of ``sha``."""
    return {
        "ref": "refs/heads/main",
        "after": sha,
        "repository": {"full_name": REPO, "default_branch": "main"},
    }
