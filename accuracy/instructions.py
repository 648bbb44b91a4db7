"""Instruction mode on the accuracy workloads: determinism, detection, cost, and
where counts mislead.

1. The workload suite (5 workloads x factors 1.00-1.20, with +1% and +2%, at
   100 units each) under ``pytest --perfgate-mode=instructions``, several times,
   quiet and with a busy neighbour; once in plain time mode for the cost ratio.
2. The "mislead" suite (accuracy/mislead): waiting, fsync, a thread, and
   memory access order, in ``--perfgate-mode=time+instructions``: how much
   the count moved against how much the time did.

Writes ``instructions.json`` next to the collected pool; ``score.py`` puts it
in docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from collect import BUSY_LOOP, HERE, PYTEST_ARGS

from perfgate import load_results

FACTORS = "1.00,1.01,1.02,1.05,1.10,1.20"
UNITS = "100"


def run(target: Path, out: Path, mode: str, busy: bool) -> float:
    neighbour = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if busy else None
    env = {**os.environ, "PERFGATE_WORKLOAD_FACTORS": FACTORS, "PERFGATE_WORKLOAD_UNITS": UNITS}
    try:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "pytest", str(target), *PYTEST_ARGS,
             f"--perfgate-mode={mode}", "--perfgate-output", str(out)],
            cwd=HERE, check=True, stdout=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        return time.monotonic() - started
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()


def counts(path: Path) -> dict[str, float]:
    """(workload-xfactor) -> instructions per call (median of the counted calls)."""
    out = {}
    for bench in load_results(path).runs[0].benchmarks:
        if bench.name.endswith(":instructions"):
            key = bench.name.split("[", 1)[1].split("]")[0]
            out[key] = statistics.median(bench.samples)
    return out


def mislead(path: Path) -> dict[str, dict[str, float]]:
    """Per case: the count ratio and the time ratio, changed / base."""
    values: dict[str, float] = {}
    for bench in load_results(path).runs[0].benchmarks:
        key = bench.name.split("[", 1)[1].split("]")[0]  # "case-variant"
        kind = "count" if bench.name.endswith(":instructions") else "time"
        values[f"{key}:{kind}"] = statistics.median(bench.samples)
    cases = sorted({key.split("-")[0] for key in values})
    return {
        case: {
            kind: values[f"{case}-changed:{kind}"] / values[f"{case}-base:{kind}"]
            for kind in ("count", "time")
        }
        for case in cases
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="instruction runs per condition")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    workloads = HERE / "workloads"
    seconds: dict[str, list[float]] = {"time": [], "instructions": []}
    runs: dict[str, list[dict[str, float]]] = {"quiet": [], "busy": []}
    seconds["time"].append(run(workloads, args.out / "ins-time.json", "time", busy=False))
    for condition in ("quiet", "busy"):
        for index in range(args.runs):
            path = args.out / f"ins-{condition}-{index}.json"
            busy = condition == "busy"
            seconds["instructions"].append(run(workloads, path, "instructions", busy=busy))
            runs[condition].append(counts(path))
            print(f"{condition} {index + 1}/{args.runs}", file=sys.stderr)
    both = args.out / "ins-mislead.json"
    run(HERE / "mislead", both, "time+instructions", busy=False)
    summary = {
        "factors": FACTORS.split(","),
        "seconds": seconds,
        "runs": runs,
        "mislead": mislead(both),
    }
    (args.out / "instructions.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
