"""The judge's cost against json.load, at the issue's size (docs/architecture.md).

    .venv/bin/python accuracy/judge_cost.py            # 10,000 × 200 × 3 a side
    .venv/bin/python accuracy/judge_cost.py --benchmarks 1000

Writes two synthetic results files (continuous lognormal timings, as the
benchmark in tests/benchmarks uses) to a scratch directory with the capture
side's writer, then times, best of three, ``json.load`` of both files and the
judge: load and validate both, compare, render the text report. scipy.stats is
imported first: its import is a fixed per-process cost (about 0.45 s here), not
a per-benchmark one; the figure without it is printed too.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perfgate.capture._records import BenchmarkRecord, RunRecord, results_document, write_results


def synthetic_document(seed: int, benchmarks: int, samples: int, runs: int) -> dict[str, Any]:
    """A synthetic suite as a results document (also perfgate's own hot-path
    benchmarks' data): typical times spread over four orders of magnitude,
    samples with 5% lognormal noise."""
    rng = random.Random(seed)
    typical = [1e-6 * rng.lognormvariate(3, 1.5) for _ in range(benchmarks)]
    records = [
        RunRecord(
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            benchmarks=tuple(
                BenchmarkRecord(
                    name=f"tests/test_suite.py::test_case[{i}]",
                    samples=tuple(t * rng.lognormvariate(0, 0.05) for _ in range(samples)),
                )
                for i, t in enumerate(typical)
            ),
        )
        for _ in range(runs)
    ]
    return results_document({}, records)


def best(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        files = [Path(scratch) / "base.json", Path(scratch) / "current.json"]
        for seed, path in enumerate(files, 1):
            document = synthetic_document(seed, args.benchmarks, args.samples, args.runs)
            write_results(path, document)
        started = time.perf_counter()
        import scipy.stats  # noqa: F401

        from perfgate import Config, ReportFormat, compare, load_results, render

        import_s = time.perf_counter() - started

        def json_load() -> None:
            for path in files:
                with path.open(encoding="utf-8") as handle:
                    json.load(handle)

        def judge() -> None:
            comparison = compare(load_results(files[0]), load_results(files[1]), Config())
            render(comparison, ReportFormat.TEXT)

        json_s, judge_s = best(json_load), best(judge)
        size_mb = sum(p.stat().st_size for p in files) / 1e6
    print(
        f"{args.benchmarks} benchmarks x {args.samples} samples x {args.runs} runs a side "
        f"({size_mb:.0f} MB in two files)"
    )
    print(
        f"json.load of both: {json_s:.3f} s; judge: {judge_s:.3f} s; "
        f"ratio {judge_s / json_s:.2f}x (imports once: {import_s:.2f} s)"
    )


if __name__ == "__main__":
    main()
