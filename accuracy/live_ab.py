"""Live A/B: run the real ``perfgate ab`` on a 10-benchmark suite with known changes.

A scratch git repository holds the accuracy workloads at two sizes (10
benchmarks). Its base commit runs every benchmark at factor 1.00; the head
commit changes the factors:

- ``aa``: nothing (every flag is a false alarm);
- ``slow``: half the benchmarks 5% more work, the other half 2% more (which
  half alternates between repetitions).

Each trial is one ``perfgate ab --mode time`` of the whole suite, with the CI
budget (``--max-time``, default 180 s, both sides included), quiet or with a busy
neighbour process on the other core. Every trial's report and raw rounds are
kept under ``--out``, so ``score_live`` (and other thresholds) can be applied
again without measuring.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOADS = ("dict", "json", "loop", "regex", "sort")
SIZES = {"s": 100, "l": 200}
"""Units of work per call; 2% and 5% of each are whole units, so the injected
factors are exact."""
BUSY_LOOP = "while True: pass"
CONFIGS = {
    "alternate": [],
    "duet": ["--schedule", "duet"],
    "alternate-unpinned": ["--no-pin"],
    "process": ["--schedule", "process"],
}
"""Named ``perfgate ab`` settings (the first is the default); each keeps its trials
in its own folder of ``--out``."""

SUITE = """\
import json
import pathlib
import random
import re

import pytest

FACTORS = json.loads((pathlib.Path(__file__).parent / "factors.json").read_text())
_rng = random.Random(0)
_DOC = {"items": [{"id": i, "name": f"item-{i}", "w": i / 7} for i in range(40)]}
_NUMBERS = [_rng.random() for _ in range(400)]
_TEXT = " ".join(f"key{_rng.randint(0, 99)}=value{_rng.randint(0, 999)}" for _ in range(120))
_PATTERN = re.compile(r"key(\\d+)=value(\\d+)")


def _json():
    json.loads(json.dumps(_DOC))


def _sort():
    sorted(_NUMBERS)


def _regex():
    _PATTERN.findall(_TEXT)


def _loop():
    total = 0
    for i in range(300):
        total += i * i


def _dict():
    {i: str(i) for i in range(150)}


UNITS = {"dict": _dict, "json": _json, "loop": _loop, "regex": _regex, "sort": _sort}
SIZES = %(sizes)r


def _repeat(unit, times):
    for _ in range(times):
        unit()


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("workload", sorted(UNITS))
def test_workload(benchmark, workload, size):
    times = round(SIZES[size] * FACTORS[f"{workload}-{size}"])  # exact: see SIZES
    benchmark(_repeat, UNITS[workload], times)
"""


def _names() -> list[str]:
    return [f"{w}-{s}" for w in WORKLOADS for s in sorted(SIZES)]


def head_factors(scenario: str, repetition: int) -> dict[str, float]:
    if scenario == "aa":
        return dict.fromkeys(_names(), 1.0)
    factors = {}
    for index, name in enumerate(_names()):
        five = (index + repetition) % 2 == 0
        factors[name] = 1.05 if five else 1.02
    return factors


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True,
        env={**os.environ, "GIT_AUTHOR_NAME": "h", "GIT_AUTHOR_EMAIL": "h@example.invalid",
             "GIT_COMMITTER_NAME": "h", "GIT_COMMITTER_EMAIL": "h@example.invalid"},
    )  # fmt: skip
    return done.stdout.strip()


def make_repo(where: Path, factors: dict[str, float]) -> tuple[str, str]:
    """The suite at 1.00 (base) and at ``factors`` (head); returns both commits."""
    where.mkdir(parents=True)
    _git(where, "init", "-q")
    (where / "test_suite.py").write_text(SUITE % {"sizes": SIZES})
    (where / "factors.json").write_text(json.dumps(dict.fromkeys(_names(), 1.0)))
    _git(where, "add", ".")
    _git(where, "commit", "-qm", "base")
    base = _git(where, "rev-parse", "HEAD")
    (where / "factors.json").write_text(json.dumps(factors))
    _git(where, "commit", "-qam", "head", "--allow-empty")
    return base, _git(where, "rev-parse", "HEAD")


def trial(out: Path, scenario: str, condition: str, repetition: int, args: list[str]) -> dict:
    factors = head_factors(scenario, repetition)
    scratch = Path(tempfile.mkdtemp(prefix="perfgate-live-"))
    try:
        repo = scratch / "repo"
        base, head = make_repo(repo, factors)
        name = f"{condition}-{scenario}-{repetition}"
        report = out / f"{name}.report.json"
        saved = out / name
        shutil.rmtree(saved, ignore_errors=True)
        neighbour = (
            subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if condition == "busy" else None
        )
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "perfgate", "ab", "--base", base, "--head", head,
                 "--mode", "time", "--python", sys.executable, "--format", "json",
                 "-o", str(report), "--save-dir", str(saved), *args],
                cwd=repo, capture_output=True, text=True, check=False,
            )  # fmt: skip
        finally:
            if neighbour is not None:
                neighbour.kill()
                neighbour.wait()
        seconds = time.monotonic() - started
        for log in saved.glob("worker-*.log"):  # pytest's chatter: not data
            log.unlink()
        if done.returncode not in (0, 1):
            raise SystemExit(f"{name}: perfgate ab exited {done.returncode}: {done.stderr[-500:]}")
        record = {
            "arguments": args,
            "scenario": scenario,
            "condition": condition,
            "repetition": repetition,
            "factors": factors,
            "seconds": seconds,
            "exit_code": done.returncode,
            "log": done.stderr.splitlines(),
        }
        (out / f"{name}.trial.json").write_text(json.dumps(record, indent=1))
        return record
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data-live")
    parser.add_argument("--config", choices=sorted(CONFIGS), default="alternate")
    parser.add_argument("--conditions", nargs="+", default=["busy", "quiet"])
    parser.add_argument("--scenarios", nargs="+", default=["aa", "slow"])
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--first", type=int, default=0, help="number of the first repetition")
    parser.add_argument("ab_args", nargs=argparse.REMAINDER, help="-- extra perfgate ab arguments")
    args = parser.parse_args()
    extra = args.ab_args[1:] if args.ab_args[:1] == ["--"] else args.ab_args
    extra = [*CONFIGS[args.config], *extra]
    if not any(a.startswith("--max-time") for a in extra):
        extra += ["--max-time", "180"]
    out = args.out / args.config
    out.mkdir(parents=True, exist_ok=True)
    for condition in args.conditions:
        for repetition in range(args.first, args.first + args.repetitions):
            for scenario in args.scenarios:
                record = trial(out, scenario, condition, repetition, extra)
                code = record["exit_code"]
                print(
                    f"{args.config} {condition} {scenario} #{repetition}: exit {code} "
                    f"in {record['seconds']:.0f} s",
                    file=sys.stderr,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
