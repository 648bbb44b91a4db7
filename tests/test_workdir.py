"""``.perfgate/`` ignores itself, and A/B run folders are pruned (_workdir.py)."""

from __future__ import annotations

import pytest

from perfgate._workdir import KEEP_AB_RUNS, ab_run_dir, perfgate_dir
from tests.conftest import git_as_dev


def test_the_folder_ignores_itself_so_git_status_stays_clean(tmp_path):
    git_as_dev(tmp_path, "init", "-q")
    folder = perfgate_dir(tmp_path / ".perfgate")
    (folder / "ab-1").mkdir()
    (folder / "ab-1" / "base-0.json").write_text("{}")
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert git_as_dev(tmp_path, "status", "--porcelain") == ""


def test_a_users_own_gitignore_there_is_kept(tmp_path):
    (tmp_path / ".perfgate").mkdir()
    (tmp_path / ".perfgate" / ".gitignore").write_text("mine\n")
    perfgate_dir(tmp_path / ".perfgate")
    assert (tmp_path / ".perfgate" / ".gitignore").read_text() == "mine\n"
    other = perfgate_dir(tmp_path / "reports")  # a folder the user chose: untouched
    assert not (other / ".gitignore").exists()


def test_old_ab_runs_are_pruned_to_the_documented_number(tmp_path):
    root = perfgate_dir(tmp_path / ".perfgate")
    for index in range(KEEP_AB_RUNS + 3):
        (root / f"ab-20260101-0000{index:02d}").mkdir()
        (root / f"ab-20260101-0000{index:02d}" / "base-0.json").write_text("{}")
    (root / "history").mkdir()  # not an A/B run: kept
    with ab_run_dir(tmp_path) as run:
        (run / "base-0.json").write_text("{}")
    runs = sorted(p.name for p in root.glob("ab-*"))
    assert len(runs) == KEEP_AB_RUNS
    assert run.name in runs
    assert "ab-20260101-000000" not in runs  # the oldest went
    assert (root / "history").is_dir()


def test_a_run_that_saved_nothing_leaves_no_folder(tmp_path):
    with pytest.raises(RuntimeError), ab_run_dir(tmp_path) as run:
        raise RuntimeError("the base failed to build")
    assert not run.exists()
    assert [p.name for p in (tmp_path / ".perfgate").iterdir()] == [".gitignore"]


def test_a_chosen_folder_is_used_as_it_is(tmp_path):
    with ab_run_dir(tmp_path, tmp_path / "mine") as run:
        (run / "x.json").write_text("{}")
    assert run == tmp_path / "mine"
    assert not (tmp_path / ".perfgate").exists()
