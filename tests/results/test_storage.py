"""Atomic writes (including a SIGKILL mid-write) and merging."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from perfgate import InputError, WriteError, load_results, merge_results, save_results
from perfgate.capture._atomic import write_atomic


def test_write_atomic_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "file.json"
    write_atomic(target, "one")
    write_atomic(target, b"two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]


def test_write_atomic_keeps_the_target_mode(tmp_path):
    target = tmp_path / "file.json"
    write_atomic(target, "x")
    assert target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o600)
    write_atomic(target, "y")
    assert target.stat().st_mode & 0o777 == 0o600


def test_a_failed_rename_keeps_the_old_data_and_cleans_up(tmp_path):
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(WriteError, match="cannot write"):
        write_atomic(target, "new")
    assert (target / "keep.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from perfgate import load_results, save_results
    from perfgate.results._model import ResultsFile
    target, big_a, big_b = map(Path, sys.argv[1:])
    versions = [load_results(big_a), load_results(big_b)]
    print("ready", flush=True)
    i = 0
    while True:
        save_results(target, versions[i % 2])
        i += 1
    """
)


def test_sigkill_while_writing_a_baseline_leaves_a_valid_file(tmp_path, results):
    # Two large, different baselines; a writer alternates between them until killed.
    big_a = results({f"b{i}": [1e-3, 1.1e-3] for i in range(300)}, samples=200, seed=1)
    big_b = results({f"b{i}": [2e-3, 2.1e-3] for i in range(300)}, samples=200, seed=2)
    save_results(tmp_path / "a.json", big_a)
    save_results(tmp_path / "b.json", big_b)
    target = tmp_path / "baseline.json"
    save_results(target, big_a)
    for delay_s in (0.05, 0.13, 0.31, 0.57):
        args = [str(target), str(tmp_path / "a.json"), str(tmp_path / "b.json")]
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, *args], stdout=subprocess.PIPE
        ) as writer:
            assert writer.stdout is not None
            assert writer.stdout.readline().strip() == b"ready"
            time.sleep(delay_s)  # not a timed assert: only varies where the kill lands
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        assert writer.returncode == -signal.SIGKILL
        assert load_results(target) in (big_a, big_b)


def test_merge_keeps_every_run_and_records_environment_deltas(results, tmp_path):
    first = results({"a": [1.0, 1.1]}, commit="aaa")
    second = results({"a": [1.2], "b": [2.0]}, commit="bbb")
    merged = merge_results([first, second])
    assert len(merged.runs) == 3
    assert merged.environment.git_commit == "aaa"
    assert [run.environment for run in merged.runs] == [{}, {}, {"git_commit": "bbb"}]
    save_results(tmp_path / "m.json", merged)
    assert load_results(tmp_path / "m.json") == merged


def test_merge_needs_an_input():
    with pytest.raises(InputError):
        merge_results([])
