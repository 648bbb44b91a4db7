"""``perfgate history`` and ``perfgate dashboard`` on a repository with a data branch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from perfgate.ci._store import DataBranch
from perfgate.report._history import summarise
from tests.conftest import clone_with_commits, git_as_dev, model_runner

COMMITS = 24


@pytest.fixture
def repo(tmp_path, results) -> tuple[Path, list[str]]:
    """A clone with 24 commits on main, each measured on the data branch; one
    benchmark 8% slower from commit 12 on (instruction counts, exact)."""
    work, commits = clone_with_commits(tmp_path, COMMITS)
    store = DataBranch(work)
    for i, commit in enumerate(commits):
        measured = results(
            {"tests/b.py::test_time": [1e-3]}, commit=commit, seed=i,
            counters={"tests/b.py::test_x:instructions": [1e6 * (1.08 if i >= 12 else 1.0)]},
        )  # fmt: skip
        store.store(commit, measured.to_json(), summarise(measured), print)
    return work, commits


def _perfgate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfgate", *args], cwd=cwd, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip


def test_history_names_each_step_its_size_and_commits(repo):
    work, commits = repo
    done = _perfgate(work, "history")
    assert done.returncode == 0, done.stderr
    assert "2 benchmarks, 24 commits at most, 1 step" in done.stdout
    line = next(x for x in done.stdout.splitlines() if "at " + commits[12][:12] in x)
    assert line.lstrip().startswith("+8.0%")
    assert f"after {commits[11][:12]}" in line


def test_history_drift_since_a_reference(repo):
    work, commits = repo
    git_as_dev(work, "tag", "v1", commits[3])
    done = _perfgate(work, "history", "--since", "v1", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    drift = report["drift"]["tests/b.py::test_x:instructions"]
    assert drift["ratio"] == pytest.approx(1.08)
    assert drift["reference"] == commits[3]
    steps = {b["name"]: b["steps"] for b in report["benchmarks"]}
    assert [s["index"] for s in steps["tests/b.py::test_x:instructions"]] == [12]


def test_dashboard_writes_the_site(repo, tmp_path):
    work, _ = repo
    site = tmp_path / "site"
    done = _perfgate(work, "dashboard", "-o", str(site), "--repo-url", "https://example.test/o/r")
    assert done.returncode == 0, done.stderr
    assert (site / "index.html").is_file()
    assert len(list((site / "b").glob("*.html"))) == 2
    assert "wrote 3 page(s)" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["history", "--data-branch", "nope"], "no branch nope on origin"),
        (["history", "--since", "no-such-ref"], "no-such-ref"),
        (["history", "--remote", "--upload-pack=touch x"], "--remote"),
        (
            ["dashboard", "-o", "site", "--no-fetch", "--data-branch", "other"],
            "no history on other",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(repo, args, message):
    work, _ = repo
    done = _perfgate(work, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert not (work / "x").exists()


def test_history_add_still_works(tmp_path, results):
    path = tmp_path / "r.json"
    path.write_text(results({"b": [1e-3, 1e-3]}).to_json())
    done = _perfgate(tmp_path, "history", "add", str(path), "--history", str(tmp_path / "h.jsonl"))
    assert done.returncode == 0, done.stderr
    assert "now holds 1 entries" in done.stderr


def test_history_bisect_names_the_commit_with_the_revert_command(
    repo, results, monkeypatch, capsys
):
    """``--bisect`` with the A/B replaced by the same model of the code."""
    import perfgate.history._bisect as bisect_module
    from perfgate.cli._main import main

    work, commits = repo

    def measured(commit: str):
        i = commits.index(commit)
        return results({"tests/b.py::test_time": [1e-3]}, commit=commit,
                       counters={"tests/b.py::test_x:instructions": [1e6 * (1.08 if i >= 12 else 1.0)]})  # fmt: skip

    monkeypatch.setattr(bisect_module, "ab_runner", model_runner(measured))
    monkeypatch.chdir(work)
    assert main(["history", "--bisect", "--no-fetch"]) == 0
    err = capsys.readouterr().err
    assert f"first at {commits[12][:12]} (confirmed against its parent)" in err
    assert f"git revert {commits[12]}" in err
