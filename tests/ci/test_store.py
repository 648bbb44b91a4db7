"""The data branch: baselines stored by CI, found by pull requests, once per commit."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from perfgate import GitError
from perfgate.ci._store import DataBranch
from perfgate.report._history import summarise
from tests.conftest import clone_with_commits, git_as_dev


@pytest.fixture
def clone(tmp_path) -> Path:
    """A clone of a bare "origin" with three commits on main."""
    return clone_with_commits(tmp_path, 3)[0]


def _results(results, commit: str, value: float = 1e-3):
    return results({"b": [value, value]}, commit=commit)


def test_store_then_find_the_base_and_fall_back_to_an_ancestor(clone, results):
    store = DataBranch(clone)
    assert not store.fetch()  # no data branch yet
    first = git_as_dev(clone, "rev-parse", "HEAD~1")
    stored = _results(results, first)
    store.store(first, stored.to_json(), summarise(stored), print)
    assert git_as_dev(clone, "status", "--porcelain") == ""  # the work tree is never touched
    assert store.fetch()
    exact = store.baseline_for(first, print)
    assert exact is not None
    assert (exact.exact, exact.commit) == (True, first)
    head = git_as_dev(clone, "rev-parse", "HEAD")
    older = store.baseline_for(head, print)  # the head was never measured: its parent was
    assert older is not None
    assert (older.exact, older.commit) == (False, first)
    assert older.results.runs == stored.runs


def test_history_keeps_every_commit_and_compacts_old_results(clone, results):
    """Issue 20: nothing is dropped. Every measured commit keeps its history line
    and its results file; those older than the newest ``keep_full`` keep summaries."""
    store = DataBranch(clone)
    commits = git_as_dev(clone, "rev-list", "--reverse", "HEAD").split()
    for commit in [*commits, commits[-1]]:  # the last one measured twice (a re-run)
        measured = _results(results, commit)
        store.store(commit, measured.to_json(), summarise(measured), print, keep_full=1)
    store.fetch()
    assert [e.commit for e in store.history(print)] == commits
    assert sorted(store._stored_commits()) == sorted(commits)
    old = store.baseline_for(commits[0], print)
    new = store.baseline_for(commits[-1], print)
    assert old is not None
    assert new is not None
    assert all(
        not b.samples and b.summary is not None for r in old.results.runs for b in r.benchmarks
    )
    assert all(b.samples and b.summary is None for r in new.results.runs for b in r.benchmarks)
    full = _results(results, commits[0]).runs[0].benchmarks[0].samples.tolist()
    kept = old.results.runs[0].benchmarks[0].summary
    assert kept is not None
    assert (kept.rounds, kept.min, kept.max) == (len(full), min(full), max(full))
    assert kept.median == pytest.approx(statistics.median(full))


def test_a_push_that_loses_a_race_is_rebuilt_on_the_new_tip(clone, results, tmp_path):
    """Two jobs store at once: the second push is rejected, rebuilt on the first's
    commit and pushed again; neither baseline is lost."""
    other = tmp_path / "other"
    git_as_dev(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), str(other))
    a, b = git_as_dev(clone, "rev-list", "HEAD").split()[:2]
    mine, theirs = DataBranch(clone), DataBranch(other)
    theirs_results = _results(results, b)
    mine.fetch()  # sees no branch yet; the other job then pushes first
    theirs.store(b, theirs_results.to_json(), summarise(theirs_results), print)
    my_results = _results(results, a)
    mine.store(a, my_results.to_json(), summarise(my_results), print)
    mine.fetch()
    assert {e.commit for e in mine.history(print)} == {a, b}


def test_a_push_without_permission_is_one_clear_error(clone, results, tmp_path):
    hook = tmp_path / "origin.git" / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'permission denied' >&2\nexit 1\n")
    hook.chmod(0o755)
    measured = _results(results, "f" * 40)
    with pytest.raises(GitError, match="contents: write"):
        DataBranch(clone).store("f" * 40, measured.to_json(), summarise(measured), print)


def test_the_token_reaches_git_only_as_an_extra_header_in_the_environment(tmp_path):
    """With ``persist-credentials: false`` the checkout keeps no token in
    .git/config; the data branch's fetch and push get it through git's
    environment configuration, never on a command line."""
    import base64
    import subprocess

    from perfgate.ci._store import token_auth_env

    assert token_auth_env(None, "https://github.com", {}) == {}
    env = token_auth_env("ghs_secret", "https://github.example/", {"GIT_CONFIG_COUNT": "1"})
    assert env["GIT_CONFIG_COUNT"] == "2"  # appended after the user's own
    done = subprocess.run(
        ["git", "config", "--get", "http.https://github.example/.extraheader"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
        env={"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "user.name", "GIT_CONFIG_VALUE_0": "x",
             **{k: v for k, v in env.items() if k != "GIT_CONFIG_COUNT"}, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    header = done.stdout.strip()
    assert header.startswith("AUTHORIZATION: basic ")
    assert base64.b64decode(header.split()[-1]) == b"x-access-token:ghs_secret"


def test_a_revert_branch_is_pushed_without_touching_the_work_tree(clone, tmp_path):
    """``rollback = "pull-request"``: the revert is made in a scratch worktree and
    pushed as perfgate/revert-<commit>; a revert that conflicts gives None."""
    store = DataBranch(clone)
    _, second, third = git_as_dev(clone, "rev-list", "--reverse", "HEAD").split()
    assert store.push_revert(second, third) is None  # c2 rewrote the line c1 wrote
    (clone / "other.txt").write_text("independent\n")
    git_as_dev(clone, "add", "-A")
    git_as_dev(clone, "commit", "-qm", "independent change")
    independent = git_as_dev(clone, "rev-parse", "HEAD")
    (clone / "f.txt").write_text("later\n")
    git_as_dev(clone, "commit", "-qam", "later")
    head = git_as_dev(clone, "rev-parse", "HEAD")
    branch = store.push_revert(independent, head)
    assert branch == f"perfgate/revert-{independent[:12]}"
    origin = tmp_path / "origin.git"
    tip = git_as_dev(origin, "rev-parse", f"refs/heads/{branch}")
    assert git_as_dev(origin, "rev-parse", f"{tip}^") == head
    assert "other.txt" not in git_as_dev(origin, "ls-tree", "--name-only", tip)
    assert git_as_dev(clone, "status", "--porcelain") == ""
    assert git_as_dev(clone, "rev-parse", "HEAD") == head
    assert len(git_as_dev(clone, "worktree", "list").splitlines()) == 1
