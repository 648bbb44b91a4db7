"""perfgate as users get it: the built wheel and sdist, installed into fresh venvs.

Every other test imports perfgate from this work tree (an editable install), so
none of them would see a file missing from the release. These build the
artifacts (``python -m build``: the sdist, then the wheel from the sdist), check
them as a registry would, install the wheel into a fresh venv, and run the real
flows from there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Built, git_as_dev

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"


def _package_files() -> set[str]:
    """Every file git tracks under perfgate/: what the installed package may read."""
    listed = subprocess.run(
        ["git", "ls-files", "perfgate"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return set(listed)


def test_the_wheel_and_the_sdist_carry_every_file_of_the_package(built: Built):
    wanted = _package_files()
    assert "perfgate/capture/_callgrind_helper.c" in wanted
    with zipfile.ZipFile(built.wheel) as wheel:
        in_wheel = set(wheel.namelist())
    assert wanted - in_wheel == set()
    with tarfile.open(built.sdist) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        in_sdist = {name.removeprefix(f"{top}/") for name in sdist.getnames()}
    assert wanted - in_sdist == set()
    assert {"LICENSE", "README.md", "pyproject.toml"} <= in_sdist


def test_twine_and_check_wheel_contents_accept_the_artifacts(built: Built):
    twine = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built.wheel), str(built.sdist)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert twine.returncode == 0, twine.stdout + twine.stderr
    contents = subprocess.run(
        [sys.executable, "-m", "check_wheel_contents", str(built.wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert contents.returncode == 0, contents.stdout + contents.stderr


def test_the_installed_command_imports_nothing_from_this_work_tree(installed: Path, tmp_path):
    done = subprocess.run(
        [str(installed / "python"), "-c", "import perfgate, sys; print(perfgate.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )  # fmt: skip
    location = Path(done.stdout.strip())
    assert "site-packages" in location.parts
    assert not location.is_relative_to(ROOT)
    helper = location.parent / "capture" / "_callgrind_helper.c"
    assert helper.is_file()


def _demo_repo(tmp_path: Path) -> Path:
    """The demo project as a git repository: a base commit, then a head whose
    ``unique_words`` scans a list (several times the work)."""
    repo = tmp_path / "demo"
    shutil.copytree(DEMO, repo)
    (repo / ".gitignore").write_text("__pycache__/\n")
    git_as_dev(repo, "init", "-q")
    git_as_dev(repo, "add", "-A")
    git_as_dev(repo, "commit", "-qm", "base")
    module = repo / "textkit.py"
    module.write_text(
        module.read_text().replace(
            "    return list(dict.fromkeys(words(text)))  # perfgate-demo: fast path\n",
            "    ordered = []\n    for word in words(text):\n        if word not in ordered:\n"
            "            ordered.append(word)\n    return ordered\n",
        )
    )
    git_as_dev(repo, "commit", "-qam", "a list scan")
    return repo


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")
def test_the_installed_wheel_runs_the_default_ab_and_names_the_slowdown(installed, tmp_path):
    """``perfgate ab``'s default mode (instruction counts where valgrind is) from
    the wheel, with an empty cache, so the helper is built from the wheel's copy."""
    repo = _demo_repo(tmp_path)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run(
        [str(installed / "perfgate"), "ab", "--base", "HEAD~1", "--format", "json",
         "--output", str(tmp_path / "ab.json"), "--", "test_textkit_bench.py"],
        cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "instrumenting whole processes" not in done.stderr  # the helper was built
    assert list((tmp_path / "cache" / "perfgate").glob("callgrind-helper-*.so"))
    # The raw results went to .perfgate/, which ignores itself: nothing untracked.
    assert list((repo / ".perfgate").glob("ab-*/base-*.json"))
    assert git_as_dev(repo, "status", "--porcelain") == ""
    import json

    report = json.loads((tmp_path / "ab.json").read_text(encoding="utf-8"))
    worst = max(report["benchmarks"], key=lambda b: b["ratio"])
    assert worst["name"] == "test_textkit_bench.py::test_unique_words:instructions"
    assert worst["status"] == "regression"
    assert worst["ratio"] > 10  # a list scan instead of a dict: dozens of times the work
    assert report["conclusion"] == "failure"
    # The other three are unchanged code, counted after a changed benchmark ran
    # in the same process: no false verdict. (Before the counting process pinned
    # glibc's allocator, ALLOCATOR_TUNABLES, they moved by up to 7% here.)
    others = [b for b in report["benchmarks"] if b is not worst]
    assert [b["status"] for b in others] == ["unchanged"] * 3
    assert all(0.995 < b["ratio"] < 1.005 for b in others), others
