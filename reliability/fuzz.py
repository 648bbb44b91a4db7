"""Mutation fuzzing of every reader: each must turn any input into a result or a
perfgate error (a one-line message, exit 2), never another exception.

    .venv/bin/python reliability/fuzz.py --minutes 10        # make fuzz: per reader
    .venv/bin/python reliability/fuzz.py --inputs 300        # bounded (the CI test)

A seed document per reader (a valid input) is mutated at random: bytes flipped,
JSON and TOML tokens inserted (quotes, brackets, huge and non-finite numbers,
strings where numbers belong, booleans, non-UTF-8 bytes), spans deleted, and
values of the parsed document replaced by values of other types.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from perfgate import PerfgateError  # noqa: E402

TOKENS = [b'"', b"[", b"]", b"{", b"}", b",", b":", b"1e999", b"-1", b"0", b"null", b"true",
          b'"0.1"', b"\xff", b"NaN", b"Infinity", b"=", b"\n[tool]\n", b"[[", b"\x00",
          b"99999999999999999999999", b'"2026-13-45T99:99:99"', b"@", b"\xe2\x80\xae"]  # fmt: skip
VALUES: list[Any] = [None, True, 0, -1, 1e308, "x", "0.1", [], {}, [1, "a"], {"a": None}, 2**70]


def _mutate_value(rng: random.Random, value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict) and value and depth < 6:
        key = rng.choice(list(value))
        value = dict(value)
        value[key] = (
            rng.choice(VALUES) if rng.random() < 0.5 else _mutate_value(rng, value[key], depth + 1)
        )
        return value
    if isinstance(value, list) and value and depth < 6:
        value = list(value)
        at = rng.randrange(len(value))
        value[at] = (
            rng.choice(VALUES) if rng.random() < 0.5 else _mutate_value(rng, value[at], depth + 1)
        )
        return value
    return rng.choice(VALUES)


def mutate(rng: random.Random, seed: bytes) -> bytes:
    if rng.random() < 0.4:
        try:
            document = json.loads(seed)
        except ValueError:
            document = None
        if document is not None:
            for _ in range(rng.randint(1, 3)):
                document = _mutate_value(rng, document)
            return json.dumps(document).encode()
    data = bytearray(seed)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.35 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif choice < 0.75:
            data[at:at] = rng.choice(TOKENS)
        else:
            del data[at : at + rng.randint(1, 30)]
    return bytes(data)


def _results_seed() -> bytes:
    from tests.conftest import make_results

    return make_results({"a": [1e-3, 1.1e-3], "b": [2e-3, 2.1e-3]}, samples=5,
                        counters={"c:instructions": [100, 100]}).to_json().encode()  # fmt: skip


def _pytest_benchmark_seed() -> bytes:
    stats = {"min": 1e-3, "max": 2e-3, "mean": 1.5e-3, "stddev": 1e-4, "median": 1.4e-3,
             "rounds": 5, "iterations": 1, "data": [1e-3, 1.2e-3, 1.4e-3, 1.6e-3, 2e-3]}  # fmt: skip
    return json.dumps({
        "machine_info": {"node": "n", "python_version": "3.11.7", "cpu": {"brand_raw": "x"}},
        "commit_info": {"id": "a" * 40, "branch": "main", "dirty": False},
        "benchmarks": [{"name": "test_a", "fullname": "t.py::test_a", "group": None,
                        "params": None, "extra_info": {}, "stats": stats}],
        "datetime": "2026-11-01T12:00:00", "version": "5.1.0",
    }).encode()  # fmt: skip


def _report_seed() -> bytes:
    from perfgate import Config, compare
    from tests.conftest import make_results

    base = make_results({"a": [1e-3, 1.01e-3, 0.99e-3]}, commit="c" * 40)
    cur = make_results({"a": [1.5e-3, 1.51e-3, 1.49e-3]}, seed=2)
    return compare(base, cur, Config()).to_json().encode()


def _history_seed() -> bytes:
    from perfgate.report._history import summarise
    from tests.conftest import make_results

    entry = summarise(make_results({"a": [1e-3, 1.1e-3]}, commit="d" * 40))
    return ((entry.model_dump_json() + "\n") * 3).encode()


def _manifest_seed() -> bytes:
    return json.dumps({
        "task_id": "0932-perf", "run_id": "r1", "pipeline_id": "diagnostics",
        "status": "succeeded", "started_at": "2026-11-01T12:00:00Z",
        "completed_at": "2026-11-01T12:00:30Z",
        "commands": [{"id": "build", "status": "succeeded", "started_at": "2026-11-01T12:00:00Z",
                      "completed_at": "2026-11-01T12:00:10Z"}],
    }).encode()  # fmt: skip


def _event_seed() -> bytes:
    return json.dumps({
        "action": "synchronize", "number": 7,
        "pull_request": {"number": 7, "head": {"sha": "a" * 40, "ref": "t",
                         "repo": {"full_name": "o/r", "owner": {"login": "o"}}},
                         "base": {"sha": "b" * 40}, "labels": [{"name": "x"}]},
        "repository": {"full_name": "o/r", "default_branch": "main"},
        "workflow_run": {"head_sha": "a" * 40, "pull_requests": [{"number": 7}],
                         "head_branch": "t", "head_repository": {"full_name": "f/r"}},
    }).encode()  # fmt: skip


CONFIG_SEED = b"""[tool.perfgate]
baseline = "baselines/perfgate.json"
threshold_pct = 5.0
alpha = 0.05
[[tool.perfgate.accepted]]
match = "t.py::*"
reason = "r"
expires = 2027-01-01
[[tool.perfgate.targets]]
match = "t.py::test_a"
faster_pct = 10
[[tool.perfgate.overrides]]
match = "t.py::*"
threshold_pct = 10
"""


def _read_results(path: Path) -> None:
    from perfgate import load_results

    load_results(path)


def _read_config(path: Path) -> None:
    from perfgate._config import load_config

    load_config(path)


def _read_event(path: Path) -> None:
    from perfgate.publish._github_context import GitHubContext

    GitHubContext.from_environment({"GITHUB_EVENT_PATH": str(path)})


def _read_history(path: Path) -> None:
    from perfgate.report._history import load_history

    load_history(path, lambda _m: None)


def _read_report(path: Path) -> None:
    from perfgate.publish._github import load_report

    load_report(path)


def _read_manifest(path: Path) -> None:
    from perfgate.results._ingest import IngestFilter, ingest

    ingest([path], keep=IngestFilter(), warn=lambda _m: None)


@dataclass
class Reader:
    name: str
    seed: Callable[[], bytes]
    read: Callable[[Path], None]
    filename: str = "input.json"


READERS = [
    Reader("results", _results_seed, _read_results),
    Reader("pytest-benchmark JSON", _pytest_benchmark_seed, _read_results),
    Reader("config", lambda: CONFIG_SEED, _read_config, "pyproject.toml"),
    Reader("GitHub event", _event_seed, _read_event),
    Reader("orchestrator manifest", _manifest_seed, _read_manifest, "manifest.json"),
    Reader("history", _history_seed, _read_history, "history.jsonl"),
    Reader("report", _report_seed, _read_report),
]


@dataclass
class Outcome:
    reader: str
    tried: int = 0
    accepted: int = 0
    refused: int = 0
    crashes: list[str] = field(default_factory=list)


def fuzz(reader: Reader, *, inputs: int | None, seconds: float | None, seed: int = 14) -> Outcome:
    rng = random.Random(seed)
    outcome = Outcome(reader.name)
    start = reader.seed()
    deadline = None if seconds is None else time.monotonic() + seconds
    with tempfile.TemporaryDirectory(prefix="perfgate-fuzz-") as scratch:
        path = Path(scratch) / reader.filename
        while (inputs is None or outcome.tried < inputs) and (
            deadline is None or time.monotonic() < deadline
        ):
            data = mutate(rng, start)
            path.write_bytes(data)
            outcome.tried += 1
            try:
                reader.read(path)
                outcome.accepted += 1
            except PerfgateError as err:
                outcome.refused += 1
                if "\n" in str(err):
                    outcome.crashes.append(f"two-line message: {str(err)[:120]!r}")
            except Exception as err:  # noqa: BLE001 - exactly what a fuzzer looks for
                outcome.crashes.append(f"{type(err).__name__}: {str(err)[:120]} <- {data[:80]!r}")
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, help="per reader")
    parser.add_argument("--inputs", type=int, help="per reader")
    args = parser.parse_args()
    seconds = None if args.minutes is None else 60 * args.minutes
    inputs = args.inputs if args.inputs or seconds else 300
    print("| reader | inputs tried | accepted | refused (exit 2) | crashes |")
    print("|:--|--:|--:|--:|--:|")
    crashed = 0
    for reader in READERS:
        outcome = fuzz(reader, inputs=inputs, seconds=seconds)
        crashed += len(outcome.crashes)
        print(f"| {reader.name} | {outcome.tried} | {outcome.accepted} | {outcome.refused} | "
              f"{len(outcome.crashes)} |", flush=True)  # fmt: skip
        for crash in outcome.crashes[:5]:
            print(f"  crash: {crash}", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
