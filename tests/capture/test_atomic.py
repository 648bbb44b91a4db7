"""Writers: atomic, locked, never through a link, no temp files left, torn tails repaired."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfgate import WriteError
from perfgate.capture import _atomic
from perfgate.capture._atomic import STALE_TMP_S, append_line, write_atomic

ROOT = Path(__file__).resolve().parents[2]


def test_atomic_writes_work_without_os_fchmod_as_on_windows(tmp_path, monkeypatch):
    """Windows' Python has no os.fchmod: writes must not depend on it."""
    monkeypatch.delattr("os.fchmod", raising=False)
    target = tmp_path / "out.json"
    write_atomic(target, "{}\n")
    write_atomic(target, '{"again": true}\n')
    assert target.read_text(encoding="utf-8") == '{"again": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temp file left


def test_writers_never_write_through_a_symlink(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me\n")
    link = tmp_path / "perfgate-metrics.jsonl"
    link.symlink_to(outside)
    with pytest.raises(WriteError, match="symbolic link"):
        write_atomic(link, "x")
    with pytest.raises(WriteError, match="symbolic link"):
        append_line(link, b"x")
    assert outside.read_text() == "keep me\n"


def test_stale_temp_files_of_a_killed_writer_are_cleaned_on_the_next_write(tmp_path):
    target = tmp_path / "baseline.json"
    stale = tmp_path / ".baseline.json.abc123.tmp"
    fresh = tmp_path / ".baseline.json.def456.tmp"  # perhaps a live writer's: kept
    stale.write_text("half")
    fresh.write_text("half")
    old = time.time() - STALE_TMP_S - 60
    os.utime(stale, (old, old))
    write_atomic(target, "{}")
    assert not stale.exists()
    assert fresh.exists()


def test_an_append_repairs_a_torn_tail_first(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2')  # a crash or a full disk cut the last line
    append_line(path, b'{"c": 3}')
    assert path.read_bytes() == b'{"a": 1}\n{"b": 2\n{"c": 3}\n'


def test_a_failed_append_leaves_no_partial_line(tmp_path, monkeypatch):
    """A full disk: the first write goes in part, the next fails. Nothing stays."""
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"a": 1}\n')
    real_write = os.write
    calls = []

    def short_then_full(fd, data):
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:5]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_atomic.os, "write", short_then_full)
    with pytest.raises(WriteError, match="No space left"):
        append_line(path, b'{"b": 2, "long": "line"}')
    monkeypatch.undo()
    assert path.read_bytes() == b'{"a": 1}\n'  # the 5 bytes written were undone


def test_concurrent_history_adds_lose_no_line(tmp_path, results):
    """4 processes × 10 adds of different commits: all 40 lines are kept."""
    from perfgate import save_results

    base = tmp_path / "base.json"
    save_results(base, results({"a": [1e-3, 1.1e-3]}))
    history = tmp_path / "history.jsonl"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from perfgate import load_results\n"
        "from perfgate.report._history import append_history, summarise\n"
        "r = load_results(Path(sys.argv[1]))\n"
        "for i in range(10):\n"
        "    e = summarise(r).model_copy(update={'commit': f'{sys.argv[3]}-{i}'})\n"
        "    append_history(Path(sys.argv[2]), e, 1000, print)\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(base), str(history), f"w{w}"], cwd=ROOT)
        for w in range(4)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0, 0]
    lines = history.read_text().splitlines()
    assert len(lines) == 40
    assert len({line.split('"commit":"')[1].split('"')[0] for line in lines}) == 40
