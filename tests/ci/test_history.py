"""History end to end: pushes to the default branch through the action's own steps,
on a scratch repository of 64 commits with two injected slowdowns, against the
loopback GitHub (issue 20's "done when").

Commits 20 (parse +3% work) and 40 (render +5%) are the slowdowns; every other
commit only edits a notes file. The action measures pushes of commits 0 and 20
for real (instruction counts); the commits between and up to 37 get those
measured results (the same code counts the same instructions: the counts are
deterministic), stored through the data branch's own writer. Commits 38 to 41
are never measured on their own (one push brought them), so the step at 40 is
found only by bisection. The pushes of commits 42, 43 and 44 then run the action
for real: each finds the steps, bisects the new ones with ``perfgate ab``,
confirms the commit against its parent, and opens one issue per commit with the
revert command; a later push opens nothing twice. An A/A history opens nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from perfgate.ci._store import DataBranch
from perfgate.report._history import summarise
from perfgate.results._readers import parse_results
from tests.ci.action_runner import REPO, run_action
from tests.conftest import chromium, git_as_dev
from tests.github_server import FakeGitHub

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")

LIBRARY = """\
PARSE = {parse}
RENDER = {render}


def parse():
    total = 0
    for i in range(PARSE):
        total += i % 7
    return total


def render():
    out = []
    for i in range(RENDER):
        out.append(i & 3)
    return len(out)
"""
BENCHMARKS = """\
import lib


def test_parse(benchmark):
    benchmark(lib.parse)


def test_render(benchmark):
    benchmark(lib.render)
"""
COMMITS = 64
STEPS = {20: ("parse", 1.03), 40: ("render", 1.05)}


def _library(index: int, steps: dict[int, tuple[str, float]]) -> str:
    sizes = {"parse": 3000, "render": 2000}
    for at, (name, factor) in steps.items():
        if index >= at:
            sizes[name] = round(sizes[name] * factor)
    return LIBRARY.format(**sizes)


def _history_repo(tmp_path: Path, steps: dict[int, tuple[str, float]]) -> tuple[Path, list[str]]:
    origin = tmp_path / "origin.git"
    git_as_dev(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp_path / "scratch"
    git_as_dev(tmp_path, "clone", "-q", str(origin), str(work))
    (work / "tests" / "benchmarks").mkdir(parents=True)
    (work / "tests" / "benchmarks" / "test_lib.py").write_text(BENCHMARKS)
    (work / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    (work / ".gitignore").write_text(".perfgate/\n__pycache__/\n")
    commits = []
    for index in range(COMMITS):
        (work / "lib.py").write_text(_library(index, steps))
        (work / "NOTES").write_text(f"note {index}\n")
        git_as_dev(work, "add", "-A")
        subject = f"slow {steps[index][0]} down" if index in steps else f"notes {index}"
        git_as_dev(work, "commit", "-qm", subject)
        commits.append(git_as_dev(work, "rev-parse", "HEAD"))
    git_as_dev(work, "push", "-q", "origin", "HEAD:main")
    return work, commits


def _push(
    work: Path, tmp: Path, github: FakeGitHub, runner_temp: Path, sha: str, **inputs: str
) -> str:
    """The action on a push of ``sha`` to main (checked out as the runner would)."""
    git_as_dev(work, "checkout", "-q", "--detach", sha)
    event = {"ref": "refs/heads/main", "after": sha,
             "repository": {"full_name": REPO, "default_branch": "main"}}  # fmt: skip
    code, outputs, printed = run_action(
        work, tmp, github, "push", event, "refs/heads/main", runner_temp, inputs
    )
    assert code == 0, printed
    assert outputs["verdict"] == "baseline"
    return printed


def _seed(work: Path, measured: str, commits: list[str]) -> None:
    """Store ``measured``'s results as those of ``commits`` (same code, same counts)."""
    store = DataBranch(work)
    store.fetch()
    text = store.read(f"results/{measured}.json")
    assert text is not None
    results = parse_results(text, "stored", print)
    for commit in commits:
        copy = results.model_copy(
            update={"environment": results.environment.model_copy(update={"git_commit": commit})}
        )
        store.store(commit, copy.to_json(), summarise(copy), print)


def _ledger(work: Path) -> list[dict]:
    store = DataBranch(work)
    store.fetch()
    return [json.loads(line) for line in (store.read("steps.jsonl") or "").splitlines()]


def test_pushes_find_each_step_name_its_commit_and_propose_one_revert_each(
    tmp_path, github, runner_temp
):
    work, commits = _history_repo(tmp_path, STEPS)
    _push(work, tmp_path, github, runner_temp, commits[0])
    _seed(work, commits[0], commits[1:20])
    _push(work, tmp_path, github, runner_temp, commits[20])
    _seed(work, commits[20], commits[21:38])

    printed = _push(work, tmp_path, github, runner_temp, commits[42])
    assert "history: 2 benchmark(s), 1 step(s); 1 new slowdown(s) to bisect" in printed, printed
    (first,) = github.issues.values()
    assert f"git revert {commits[20]}" in first["body"]
    assert f"<!-- perfgate:rollback {commits[20]} -->" in first["body"]
    assert "test\\_parse" in first["body"]
    assert first["labels"] == ["perf-regression"]
    assert "slow parse down" in first["body"]

    printed = _push(work, tmp_path, github, runner_temp, commits[43])
    assert "1 new slowdown(s) to bisect" in printed
    assert len(github.issues) == 2
    second = next(i for i in github.issues.values() if i is not first)
    assert f"git revert {commits[40]}" in second["body"]
    assert "test\\_render" in second["body"]
    assert "evidence/" in second["body"]
    ledger = _ledger(work)
    assert [r["culprit"] for r in ledger] == [commits[20], commits[40]]
    assert all(r["confirmed"] for r in ledger)
    assert [r["proposal"] for r in ledger] == [f"issue #{first['number']}",
                                                f"issue #{second['number']}"]  # fmt: skip
    # The second step was bisected over commits 38 to 42 (one push brought them).
    assert ledger[1]["good"] == commits[37]
    assert ledger[1]["span"] == [commits[42]]
    assert len(ledger[1]["evidence"]) >= 2
    # 5% more loop iterations: +5.0% to +7.1% more instructions per call, by Python
    # version and by what else the process ran (the history ran both benchmarks).
    ratio = ledger[1]["benchmarks"][0]["confirm_ratio"]
    assert 1.04 < ratio < 1.09

    printed = _push(work, tmp_path, github, runner_temp, commits[44], dashboard="true")
    assert "0 new slowdown(s)" in printed
    assert len(github.issues) == 2
    assert len(_ledger(work)) == 2
    _the_dashboard_and_the_history_command_show_both_steps(work, tmp_path, commits)


def _the_dashboard_and_the_history_command_show_both_steps(
    work: Path, tmp: Path, commits: list[str]
) -> None:
    site = work / ".perfgate" / "site"
    pages = sorted((site / "b").glob("*.html"))
    assert len(pages) == 2
    index = (site / "index.html").read_text(encoding="utf-8")
    for page, culprit in zip(pages, (commits[20], commits[40]), strict=True):  # parse, render
        text = page.read_text(encoding="utf-8")
        assert text.count('class="step slower"') == 1
        assert f"https://github.example/{REPO}/commit/{commits[0]}" in text
        assert f">{culprit[:10]}</a> (confirmed against its parent); issue #" in text
        assert page.name in index
    done = subprocess.run(
        [sys.executable, "-m", "perfgate", "history"], cwd=work, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"at {commits[20][:12]}" in done.stdout
    assert f"at {commits[42][:12]}" in done.stdout  # the first measured commit after the step
    if shutil.which("chromium") is None:
        return
    render = next(p for p in pages if "render" in p.name)
    dom = chromium(tmp / "profile-dom", "--dump-dom", render.as_uri())
    assert dom.count("<circle") == 41  # commits 0-37 and 42-44 were measured
    shot = tmp / "dashboard.png"
    chromium(
        tmp / "profile-shot", "--window-size=1100,760", f"--screenshot={shot}", render.as_uri()
    )
    assert shot.stat().st_size > 15_000


def test_an_a_a_history_opens_nothing(tmp_path, github, runner_temp):
    work, commits = _history_repo(tmp_path, {})
    _push(work, tmp_path, github, runner_temp, commits[0])
    _seed(work, commits[0], commits[1:62])
    printed = _push(work, tmp_path, github, runner_temp, commits[63])
    assert "history: 2 benchmark(s), 0 step(s); 0 new slowdown(s) to bisect" in printed
    assert github.issues == {}
    assert _ledger(work) == []
