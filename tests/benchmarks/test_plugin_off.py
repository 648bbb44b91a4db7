"""What perfgate costs a project when it is installed but not switched on.

pytest loads every installed plugin on every run, so perfgate's plugin must
cost nothing measurable while off. These two benchmarks run the same pytest
session of trivial tests in-process, once with perfgate installed but off and
once with ``-p no:perfgate``; perfgate's own gate (``baselines/``) holds each
to its baseline, and ``tests/test_plugin.py`` holds the ratio of the work the
two sessions do to at most 1% with a deterministic count of Python calls.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

TRIVIAL_TESTS = 300


def write_trivial_suite(folder: Path, count: int = TRIVIAL_TESTS) -> Path:
    path = folder / "test_trivial.py"
    path.write_text("".join(f"def test_{i}():\n    pass\n\n" for i in range(count)))
    return path


def run_session(suite: Path, *extra: str) -> int:
    """One quiet pytest session over ``suite``, in this process."""
    # importlib mode: several suites of one module name may run in this process.
    args = ["-q", "-p", "no:cacheprovider", "--import-mode=importlib", *extra, str(suite)]
    with contextlib.redirect_stdout(io.StringIO()):
        return int(pytest.main(args))


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trivial_suite(tmp_path_factory.mktemp("trivial"))


def test_a_session_with_perfgate_installed_but_off(benchmark, suite):
    assert benchmark.pedantic(run_session, args=(suite,), rounds=5, iterations=1) == 0


def test_a_session_without_perfgate(benchmark, suite):
    assert benchmark.pedantic(run_session, args=(suite, "-p", "no:perfgate"), rounds=5) == 0
