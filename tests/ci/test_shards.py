"""A suite sharded over a CI matrix, end to end: three shard jobs and the
combining job, each the action's own steps, against the loopback GitHub.

The push stores one merged set of results on the data branch; the pull request
gets exactly one check and one comment, from the combining job, naming the
slowed benchmark and where its instructions went.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from perfgate.capture._shard import shard_of
from tests.ci.action_runner import (
    pull_request_event,
    push_event,
    run_action,
    scratch_project,
    slow_down,
)
from tests.conftest import git_as_dev
from tests.github_server import FakeGitHub

pytestmark = pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind not installed")

MORE = """\
import pytest
from fastlib import words


@pytest.mark.parametrize("n", [10, 20, 40, 80])
def test_words_of(benchmark, n):
    assert benchmark(words, "to be or not to be " * n)
"""
SHARDS = 3


@pytest.fixture
def project(tmp_path) -> Path:
    return scratch_project(tmp_path, extra={"tests/benchmarks/test_more.py": MORE})


NODES = [
    "tests/benchmarks/test_fastlib.py::test_checksum",
    "tests/benchmarks/test_fastlib.py::test_words",
    *(f"tests/benchmarks/test_more.py::test_words_of[{n}]" for n in (10, 20, 40, 80)),
]


def _matrix_then_combine(
    project: Path,
    tmp: Path,
    github: FakeGitHub,
    name: str,
    event: dict[str, Any],
    ref: str,
    runner_temp: Path,
) -> tuple[int, dict[str, str], str, list[dict[str, Any]]]:
    """The shard jobs (each uploads its file), the artifacts downloaded into
    RUNNER_TEMP as download-artifact lays them out, then the combining job."""
    downloads = runner_temp / "perfgate-shards"
    shutil.rmtree(downloads, ignore_errors=True)
    shard_files = []
    for index in range(1, SHARDS + 1):
        code, outputs, printed = run_action(
            project, tmp, github, name, event, ref, runner_temp,
            inputs={"shard": f"{index}/{SHARDS}"},
        )  # fmt: skip
        assert code == 0, printed
        assert outputs["verdict"] == "shard", printed
        artifact = downloads / outputs["shard-artifact"]
        artifact.mkdir(parents=True)
        shutil.copy(outputs["shard"], artifact / "shard.json")
        shard_files.append(json.loads((artifact / "shard.json").read_text(encoding="utf-8")))
    code, outputs, printed = run_action(
        project, tmp, github, name, event, ref, runner_temp, inputs={"combine": "true"}
    )
    return code, outputs, printed, shard_files


def test_three_shards_and_a_combining_job_give_one_check_and_one_comment(
    project, tmp_path, github, runner_temp
):
    main = git_as_dev(project, "rev-parse", "HEAD")
    code, outputs, printed, shards = _matrix_then_combine(
        project, tmp_path, github, "push", push_event(main), "refs/heads/main", runner_temp
    )
    assert code == 0, printed
    assert outputs["verdict"] == "baseline"
    # Each shard measured exactly its own tests: a stable split by node id.
    for shard in shards:
        measured = (
            {
                b["name"].removesuffix(":instructions")
                for b in shard["results"]["runs"][0]["benchmarks"]
            }
            if "results" in shard
            else set()
        )
        assert measured == {n for n in NODES if shard_of(n, SHARDS) == shard["shard"]}
    # One merged set of results on the data branch, every benchmark in it.
    stored = json.loads(git_as_dev(project, "show", f"origin/perfgate-data:results/{main}.json"))
    (run,) = stored["runs"]
    assert {b["name"] for b in run["benchmarks"]} == {f"{n}:instructions" for n in NODES}

    # A pull request slowing one benchmark, through the same matrix.
    slow_head = slow_down(project, "slow", rounds=3)
    event = pull_request_event(project, 5, "slow", main)
    code, outputs, printed, _ = _matrix_then_combine(
        project, tmp_path, github, "pull_request", event, "refs/pull/5/merge", runner_temp
    )
    assert code == 1, printed
    assert (outputs["verdict"], outputs["conclusion"]) == ("fail", "failure")
    checks = [run for run in github.check_runs.values() if run["head_sha"] == slow_head]
    assert len(checks) == 1  # the shard jobs published nothing
    assert checks[0]["conclusion"] == "failure"
    assert "test_checksum" in checks[0]["output"]["title"]
    (comment,) = github.comments_on(5)
    body = comment["body"]
    assert "1 regression in 6 benchmarks" in body
    assert "**Where the instructions went**" in body
    if sys.version_info >= (3, 12):
        assert "inside checksum (fastlib/\\_\\_init\\_\\_.py)" in body


def test_the_combining_job_refuses_an_incomplete_or_foreign_set(project, tmp_path, runner_temp):
    from perfgate.ci._shards import ShardResults, merge_shards, read_shards, write_shard

    commit = git_as_dev(project, "rev-parse", "HEAD")
    folder = tmp_path / "shards"
    for index in (1, 3):
        write_shard(
            folder / f"perfgate-shard-{index}-of-3" / "shard.json",
            ShardResults(shard=index, of=3, commit=commit, mode="instructions"),
        )
    from perfgate._errors import InputError

    with pytest.raises(InputError, match="need every shard of 3 once: missing 2"):
        merge_shards(read_shards(folder), commit)
    write_shard(
        folder / "perfgate-shard-2-of-3" / "shard.json",
        ShardResults(shard=2, of=3, commit=commit, mode="instructions"),
    )
    with pytest.raises(InputError, match="shards measured another commit"):
        merge_shards(read_shards(folder), "f" * 40)
    with pytest.raises(InputError, match="no benchmark was measured in any shard"):
        merge_shards(read_shards(folder), commit)
    (folder / "perfgate-shard-3-of-3" / "shard.json").write_text('{"schema": "x"}')
    with pytest.raises(InputError, match="not a perfgate shard file"):
        read_shards(folder)
    with pytest.raises(InputError, match=r"no shard\.json"):
        read_shards(tmp_path / "scratch" / "tests")
