"""ci/_history.py: a push's look at the history, with the A/Bs replaced by a model
of the code (each commit's count is known), so every path runs in milliseconds."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfgate.ci._history as review_module
from perfgate import Config
from perfgate.ci._history import LEDGER_FILE, MAX_BISECTIONS, read_ledger, review_push
from perfgate.ci._store import DataBranch
from perfgate.report._history import summarise
from tests.conftest import clone_with_commits, git_as_dev, model_runner

COMMITS = 40
NAMES = [f"tests/b.py::test_{i}:instructions" for i in range(MAX_BISECTIONS + 1)]
STEP_AT = {name: 6 + 6 * i for i, name in enumerate(NAMES)}  # each benchmark +4% at its commit


def _count(name: str, index: int) -> float:
    return 1e6 * (1.04 if index >= STEP_AT[name] else 1.0)


@pytest.fixture
def pushed(tmp_path, results, monkeypatch) -> tuple[Path, list[str], list[tuple[str, str]]]:
    """40 commits on main, every one measured on the data branch; the A/B runner
    answers from the same model, and records what it was asked."""
    work, commits = clone_with_commits(tmp_path, COMMITS)
    measured = {
        c: results({}, commit=c, counters={n: [_count(n, i)] for n in NAMES})
        for i, c in enumerate(commits)
    }
    store = DataBranch(work)
    for commit in commits:
        store.store(commit, measured[commit].to_json(), summarise(measured[commit]), print)
    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(review_module, "ab_runner", model_runner(measured.__getitem__, asked))
    return work, commits, asked


def _review(work: Path, commits: list[str], **changes):
    values = {"head": commits[-1], "python": "python", "pytest_args": [], "max_time_s": 60.0,
              "bisect": True, "say": print, "warn": print}  # fmt: skip
    values.update(changes)
    return review_push(work, DataBranch(work), Config(bisect_mode="instructions"), **values)


def test_each_step_is_bisected_once_at_most_a_few_a_push(pushed):
    work, commits, asked = pushed
    review = _review(work, commits)
    assert len(review.new) == MAX_BISECTIONS
    assert any("the next push takes the rest" in line for line in review.log)
    # every point is measured, so each step's commit is confirmed with one A/B
    assert (
        sorted(r.culprit for r in review.new)
        == sorted(commits[STEP_AT[n]] for n in NAMES[:MAX_BISECTIONS])
        or len({r.culprit for r in review.new}) == MAX_BISECTIONS
    )
    assert all(r.confirmed and r.pending for r in review.new)
    assert len(asked) == MAX_BISECTIONS
    store = DataBranch(work)
    store.fetch()
    assert len(read_ledger(store, print)) == MAX_BISECTIONS
    assert store.read(f"evidence/{review.new[0].culprit}/confirm-{review.new[0].culprit[:12]}.json")

    again = _review(work, commits)
    assert len(again.new) == 1  # the fifth; the first four are in the ledger
    assert len(again.pending) == MAX_BISECTIONS + 1
    assert len(_review(work, commits).new) == 0


def test_rollback_off_finds_steps_and_bisects_nothing(pushed):
    work, commits, asked = pushed
    review = _review(work, commits, bisect=False)
    assert sum(len(s.steps) for s in review.series) == len(NAMES)
    assert review.new == []
    assert asked == []
    store = DataBranch(work)
    store.fetch()
    assert store.read(LEDGER_FILE) is None


def test_a_shallow_clone_bisects_nothing_and_says_why(pushed, tmp_path):
    _, commits, asked = pushed
    shallow = tmp_path / "shallow"
    git_as_dev(
        tmp_path, "clone", "-q", "--depth", "1", (tmp_path / "origin.git").as_uri(), str(shallow)
    )
    review = _review(shallow, commits)
    assert review.new == []
    assert asked == []
    assert any("shallow clone" in line and "fetch-depth: 0" in line for line in review.log)


def test_a_range_of_unmeasured_commits_is_bisected_to_the_first_slower_one(pushed, tmp_path):
    """Only every fifth commit measured: the step at commit 6 lies in 5..10."""
    work, commits, asked = pushed
    store = DataBranch(work)
    store.fetch()
    text = store.read("history.jsonl") or ""
    kept = [line for i, line in enumerate(text.splitlines()) if i % 5 == 0]
    store.write_files({"history.jsonl": "\n".join(kept) + "\n"}, "only every fifth commit")
    review = _review(work, commits)
    first = next(r for r in review.new if r.benchmarks[0].name == NAMES[0])
    assert first.good == commits[5]
    assert first.span == [commits[10]]
    assert first.culprit == commits[6]
    assert len([a for a in asked if a[0] == commits[5]]) >= 2  # probes against the good end
