"""One shard of a suite (capture/_shard.py and --perfgate-shard)."""

from __future__ import annotations

import collections

import pytest

from perfgate import load_results
from perfgate.capture._shard import parse_shard, shard_of


def test_parse_shard():
    assert parse_shard("2/3") == (2, 3)
    assert parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/3", "4/3", "1/0", "a/b", "1-3", "1/999", ""):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_the_split_is_stable_and_even():
    ids = [f"tests/bench/test_{i % 37}.py::test_case[{i}]" for i in range(3000)]
    first = [shard_of(node, 4) for node in ids]
    assert first == [shard_of(node, 4) for node in ids]  # the same on every run
    sizes = collections.Counter(first)
    assert set(sizes) == {1, 2, 3, 4}
    assert max(sizes.values()) < 1.1 * min(sizes.values())  # about 750 each
    # Fixed values: SHA-256 of the node id, so no Python version, machine or
    # PYTHONHASHSEED splits differently.
    assert [shard_of(f"t.py::test_{i}", 3) for i in range(8)] == [1, 3, 1, 1, 1, 2, 2, 3]


SUITE = """
import pytest

@pytest.mark.parametrize("n", range(12))
def test_loop(benchmark, n):
    benchmark(sum, range(n))
"""


def test_each_shard_runs_its_own_tests_and_together_they_run_all(pytester):
    pytester.makepyfile(test_bench=SUITE)
    seen: list[str] = []
    for index in (1, 2, 3):
        out = f"shard-{index}.json"
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "--benchmark-max-time=0.001",
            f"--perfgate-shard={index}/3", "--perfgate-output", out,
        )  # fmt: skip
        names = [b.name for b in load_results(pytester.path / out).runs[0].benchmarks]
        expected = [f"test_bench.py::test_loop[{n}]" for n in range(12)]
        mine = [name for name in expected if shard_of(name, 3) == index]
        assert sorted(names) == sorted(mine)
        result.assert_outcomes(passed=len(mine), deselected=12 - len(mine))
        seen.extend(names)
    assert sorted(seen) == sorted(f"test_bench.py::test_loop[{n}]" for n in range(12))


def test_a_bad_shard_is_a_usage_error(pytester):
    pytester.makepyfile(test_bench=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--perfgate-shard=4/3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--perfgate-shard: shard '4/3': I must be 1 to 3*"])
