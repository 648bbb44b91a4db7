"""Evidence files: metrics lines appended under a lock, state snapshots written atomically."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

from perfgate import Config, compare, save_results
from perfgate._config import Target
from perfgate.report._evidence import append_metrics_line, state_snapshot, write_state


def _comparison(results):
    base = results({"co:diagnostics": [40.0, 41.0, 39.0]}, commit="a" * 40)
    cur = results({"co:diagnostics": [33.0, 33.5, 32.5]}, commit="b" * 40)
    return compare(base, cur, Config(targets=[Target(match="co:diagnostics", faster_pct=10)]))


def test_metrics_line_and_state(results, tmp_path):
    comparison = _comparison(results)
    path = append_metrics_line(tmp_path / ".runs" / "0932", comparison)
    append_metrics_line(tmp_path / ".runs" / "0932", comparison)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 2
    assert lines[0]["verdict"] == "pass"
    assert lines[0]["commit"] == "b" * 40
    assert lines[0]["statuses"] == {"co:diagnostics": "improvement"}
    assert lines[0]["targets"] == {"co:diagnostics": True}
    assert 0.8 < lines[0]["ratios"]["co:diagnostics"] < 0.85
    state = tmp_path / "out" / "0932" / "perfgate-state.json"
    write_state(state, comparison)
    data = json.loads(state.read_text())
    assert data["benchmarks"]["co:diagnostics"]["status"] == "improvement"
    assert data["targets"][0]["met"] is True
    assert state_snapshot(comparison)["verdict"] == "pass"


def _append_many(args: tuple[str, str, int]) -> None:
    directory, report_json, count = args
    from perfgate import Comparison
    from perfgate.report._evidence import append_metrics_line

    comparison = Comparison.model_validate_json(report_json)
    for _ in range(count):
        append_metrics_line(Path(directory), comparison)


def test_concurrent_appends_never_interleave(results, tmp_path):
    comparison = _comparison(results)
    # A long line, so that unlocked writes would be likely to tear.
    big = comparison.model_copy(update={"benchmarks": comparison.benchmarks * 200})
    payload = big.model_dump_json(by_alias=True)
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(_append_many, [(str(tmp_path), payload, 25)] * 4)
    lines = (tmp_path / "perfgate-metrics.jsonl").read_text().splitlines()
    assert len(lines) == 100
    for line in lines:
        json.loads(line)  # every line whole


def test_compare_writes_evidence(results, tmp_path):
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    save_results(base, results({"co:diagnostics": [40.0, 41.0, 39.0]}))
    save_results(cur, results({"co:diagnostics": [40.5, 40.0, 39.5]}))
    done = subprocess.run(
        [sys.executable, "-m", "perfgate", "compare", str(base), str(cur),
         "--evidence-dir", ".runs/0932", "--state", "out/0932/perfgate-state.json"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".runs" / "0932" / "perfgate-metrics.jsonl").is_file()
    assert (
        json.loads((tmp_path / "out" / "0932" / "perfgate-state.json").read_text())["verdict"]
        == "pass"
    )
