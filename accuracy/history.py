"""Calibrate history's step finder on histories made from this machine's real runs.

The accuracy pools (``make accuracy``) hold real measurements of five workloads
at six amounts of work (x1.00 … x1.20): 24 quiet and 24 busy pytest processes
timed in wall time, and instruction counts of the same workloads. A history of
``--commits`` commits is made from them the way ``perfgate ci`` makes one on the
default branch:

- wall time: each commit is the geometric mean of 3 runs (the action's
  ``runs: 3``), each run the median sample of one process drawn at random from
  the pool (a different draw for every commit);
- instruction counts: each commit is one count drawn from the real counts.

An A/A history uses the x1.00 workload throughout. A step history switches, at a
random commit, either to the same runs multiplied by the injected factor
(``inject``), or to the runs that really measured the workload doing that much
more work (``real``: x1.02, x1.05, x1.10, x1.20 from the pool).

A step is found when the finder reports a slower step whose first slower commit
is within 2 commits of the truth. Every step reported on an A/A history is a
false step; on a step history, every step but the slower one nearest the
truth. ``python accuracy/history.py`` prints the table in docs/history.md.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from perfgate import Config, load_results  # noqa: E402
from perfgate.history._analysis import step_settings  # noqa: E402
from perfgate.history._changepoints import find_steps  # noqa: E402
from perfgate.verdict._stats import run_value  # noqa: E402

RUNS_PER_COMMIT = 3
TOLERANCE = 2
"""A step is found when its first slower commit is within this many commits."""

Pool = dict[str, dict[str, list[float]]]
"""workload -> factor ("1.00") -> values, one per run."""


def time_pool(data: Path, condition: str) -> Pool:
    """Each process's median sample of every workload at every factor."""
    pool: Pool = {}
    for path in sorted(data.glob(f"{condition}-[0-9]*.json")):
        results = load_results(path)
        for run in results.runs:
            for bench in run.benchmarks:
                param = bench.name.rpartition("[")[2].rstrip("]")  # "json-x1.20"
                workload, _, factor = param.partition("-x")
                values = bench.samples.tolist()
                if values:
                    pool.setdefault(workload, {}).setdefault(factor, []).append(run_value(values))
    return pool


def count_pool(data: Path) -> Pool:
    """Every real instruction count of every workload at every factor."""
    raw = json.loads((data / "instructions.json").read_text(encoding="utf-8"))
    pool: Pool = {}
    for runs in raw["runs"].values():
        for run in runs:
            for param, value in run.items():
                workload, _, factor = param.partition("-x")
                pool.setdefault(workload, {}).setdefault(factor, []).append(float(value))
    return pool


@dataclass(frozen=True)
class Case:
    kind: str  # "time" or "counter"
    label: str  # the pool: "quiet", "busy", "counts"
    step_pct: float  # 0: A/A
    source: str  # "inject" or "real"


def history(
    rng: random.Random, values: Sequence[float], after: Sequence[float], commits: int,
    at: int, factor: float, per_commit: int,
) -> list[float]:  # fmt: skip
    """``commits`` values; from ``at`` on drawn from ``after`` times ``factor``."""
    out = []
    for index in range(commits):
        source, scale = (after, factor) if index >= at else (values, 1.0)
        draws = [rng.choice(source) for _ in range(per_commit)]
        out.append(scale * math.exp(sum(math.log(v) for v in draws) / per_commit))
    return out


@dataclass
class Score:
    histories: int = 0
    false_steps: int = 0
    histories_with_false_steps: int = 0
    found: int = 0
    misplaced: int = 0


def score_case(
    case: Case, pool: Pool, *, histories: int, commits: int, seed: int, config: Config
) -> Score:
    rng = random.Random(f"{seed}-{case}")
    settings = step_settings(
        "x:instructions" if case.kind == "counter" else "x",
        case.kind,
        config,  # type: ignore[arg-type]
    )
    per_commit = 1 if case.kind == "counter" else RUNS_PER_COMMIT
    score = Score()
    workloads = sorted(pool)
    for index in range(histories):
        workload = workloads[index % len(workloads)]
        base = pool[workload]["1.00"]
        at = rng.randrange(commits // 4, commits - settings.min_points)
        if case.step_pct == 0:
            after, factor = base, 1.0
        elif case.source == "real":
            after, factor = pool[workload][f"{1 + case.step_pct / 100:.2f}"], 1.0
        else:
            after, factor = base, 1 + case.step_pct / 100
        values = history(rng, base, after, commits, at, factor, per_commit)
        steps = find_steps(
            values, min_step_pct=settings.min_step_pct,
            noise_floor_pct=settings.noise_floor_pct, min_size=settings.min_points,
            noise="deterministic" if case.kind == "counter" else "sampled",
        )  # fmt: skip
        score.histories += 1
        if case.step_pct == 0:
            score.false_steps += len(steps)
            score.histories_with_false_steps += bool(steps)
            continue
        slower = sorted((s for s in steps if s.ratio > 1), key=lambda s: abs(s.index - at))
        if slower and abs(slower[0].index - at) <= TOLERANCE:
            score.found += 1
        elif slower:
            score.misplaced += 1
        # Every step but the one nearest the truth is false (a faster one too).
        score.false_steps += len(steps) - bool(slower)
    return score


CASES = [
    Case("counter", "counts", 0, "inject"),
    Case("counter", "counts", 3, "inject"),
    Case("counter", "counts", 2, "real"),
    Case("counter", "counts", 5, "real"),
    *(
        Case("time", condition, step, source)
        for condition in ("quiet", "busy")
        for step, source in ((0, "inject"), (3, "inject"), (5, "real"), (10, "real"), (20, "real"))
    ),
]


def table(data: Path, *, histories: int, commits: int, seed: int, config: Config) -> str:
    pools = {"counts": count_pool(data), "quiet": time_pool(data, "quiet"),
             "busy": time_pool(data, "busy")}  # fmt: skip
    lines = [
        f"| measure | pool | step | histories of {commits} commits | false steps | "
        f"found within {TOLERANCE} commits | found elsewhere |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for case in CASES:
        score = score_case(
            case, pools[case.label], histories=histories, commits=commits, seed=seed, config=config
        )
        measure = "instructions" if case.kind == "counter" else "wall time (3 runs)"
        step = "A/A" if case.step_pct == 0 else f"+{case.step_pct:g}% ({case.source})"
        found = (
            ""
            if case.step_pct == 0
            else f"{score.found} ({100 * score.found / score.histories:.0f}%)"
        )
        elsewhere = "" if case.step_pct == 0 else str(score.misplaced)
        lines.append(
            f"| {measure} | {case.label} | {step} | {score.histories} | {score.false_steps} | "
            f"{found} | {elsewhere} |"
        )
    return "\n".join(lines) + "\n"


def sizes(benchmarks: int = 20, commits: int = 1000, full: int = 100) -> str:
    """What the data branch keeps per ``commits`` commits: the newest ``full``
    results files with every sample, the rest as summaries, and a history line
    each; raw and compressed as git stores them (zlib)."""
    import zlib

    from perfgate.report._history import summarise
    from perfgate.results._storage import summarised
    from tests.conftest import make_results

    lines = [
        f"| measure ({benchmarks} benchmarks) | full results | as a summary | history line | "
        f"per {commits:,} commits | compressed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, samples, runs in (("wall time, 3 runs x 100 samples", 100, 3),
                                 ("instruction counts, 1 count", 1, 1)):  # fmt: skip
        results = make_results(
            {f"tests/benchmarks/test_mod.py::test_bench_{i}": [1e-3 * (1 + i / 10)] * runs
             for i in range(benchmarks)}, samples=samples, commit="a" * 40,
        )  # fmt: skip
        whole = results.to_json().encode()
        small = min(summarised(results).to_json().encode(), whole, key=len)  # kept if smaller
        line = (summarise(results).model_dump_json() + "\n").encode()
        raw = full * len(whole) + (commits - full) * len(small) + commits * len(line)
        packed = sum(
            n * len(zlib.compress(data, 6))
            for n, data in ((full, whole), (commits - full, small), (commits, line))
        )
        lines.append(
            f"| {label} | {len(whole) / 1e3:.1f} kB | {len(small) / 1e3:.1f} kB | "
            f"{len(line) / 1e3:.1f} kB | {raw / 1e6:.1f} MB | {packed / 1e6:.1f} MB |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--histories", type=int, default=500)
    parser.add_argument("--commits", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--sizes", action="store_true", help="the data branch's size table")
    args = parser.parse_args(argv)
    if args.sizes:
        print(sizes(), end="")
        return 0
    print(table(args.data, histories=args.histories, commits=args.commits, seed=args.seed,
                config=Config()), end="")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
