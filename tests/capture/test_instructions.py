"""Instruction counts under valgrind (callgrind), and the error without valgrind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from perfgate import Kind, load_results
from perfgate.capture._instructions import read_counts, valgrind_prefix

needs_valgrind = pytest.mark.skipif(
    shutil.which("valgrind") is None, reason="valgrind not installed"
)

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from perfgate.capture._instructions import count_in_child

    def work(n):
        total = 0
        for i in range(n):
            total += i % 7
        return total

    out = Path(sys.argv[1])
    for n in (2000, 4000, 2040):
        work(n)  # warm-up, as the benchmark fixture does
        count_in_child(f"work[{n}]", lambda n=n: work(n), out)
    """
)


def _count(tmp_path: Path, tag: str) -> dict[str, float]:
    out = tmp_path / tag
    out.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(
        [*valgrind_prefix(out), "-c", SCRIPT, str(out)], check=True, env=env, capture_output=True
    )
    return {b.name: sorted(b.samples)[1] for b in read_counts(out, print)}


@needs_valgrind
def test_counts_repeat_exactly_and_scale_with_the_work(tmp_path):
    first, second = _count(tmp_path, "a"), _count(tmp_path, "b")
    assert first == second  # deterministic across processes
    ratio = first["work[4000]:instructions"] / first["work[2000]:instructions"]
    assert 1.9 < ratio < 2.1
    two_pct = first["work[2040]:instructions"] / first["work[2000]:instructions"]
    assert 1.015 < two_pct < 1.025  # a 2% change in work reads as about 2%


BENCH = """
import pytest

def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total

@pytest.mark.parametrize("n", [1000, 2000])
def test_loop(benchmark, n):
    benchmark(work, n)
"""


@needs_valgrind
def test_pytest_instruction_mode_end_to_end(pytester):
    pytester.makepyfile(test_bench=BENCH)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--benchmark-max-time=0.01",
        "--perfgate-mode=instructions", "--perfgate-output", "o.json",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*counted instructions of 2 benchmark(s) under valgrind*"])
    names = {b.name: b for b in load_results(pytester.path / "o.json").runs[0].benchmarks}
    small = names["test_bench.py::test_loop[1000]:instructions"]
    large = names["test_bench.py::test_loop[2000]:instructions"]
    assert small.kind == Kind.COUNTER
    assert small.unit == "instructions"
    assert 1.8 < sorted(large.samples)[1] / sorted(small.samples)[1] < 2.2
    assert "test_bench.py::test_loop[1000]" in names  # wall time is kept beside


def test_without_valgrind_the_error_says_how_to_install_it(pytester, tmp_path):
    pytester.makepyfile(test_bench=BENCH)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env_path = f"{bin_dir}"  # no valgrind on this PATH
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--perfgate-mode=instructions"],
        cwd=pytester.path, capture_output=True, text=True, env={**os.environ, "PATH": env_path},
    )  # fmt: skip
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert (
        "needs valgrind, which is not installed: install it with `apt-get install valgrind`"
        in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_each_counted_call_is_logged_once(tmp_path):
    """One marker line per call (the empty overhead call plus CALLS counted
    calls): a second copy would give each benchmark twice the samples."""
    from perfgate.capture._instructions import CALLS, LOG_NAME, count_in_child

    calls = []
    count_in_child("work", lambda: calls.append(1), tmp_path)
    lines = (tmp_path / LOG_NAME).read_text().splitlines()
    assert len(calls) == CALLS
    assert len(lines) == 1 + CALLS
