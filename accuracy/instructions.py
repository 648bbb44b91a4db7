"""Instruction mode on the accuracy workloads: determinism, detection, cost.

Runs the workload suite (5 workloads x factors 1.00-1.20) under
``pytest --perfgate-mode=instructions`` several times, quiet and with a busy
neighbour, and once in plain time mode for the cost comparison. Writes
``instructions.json`` next to the collected pool; ``score.py`` puts it in
docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from collect import BUSY_LOOP, HERE, PYTEST_ARGS

from perfgate import load_results


def run(out: Path, mode: str, busy: bool) -> float:
    neighbour = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if busy else None
    try:
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "pytest", str(HERE / "workloads"), *PYTEST_ARGS,
             f"--perfgate-mode={mode}", "--perfgate-output", str(out)],
            cwd=HERE, check=True, stdout=subprocess.DEVNULL,
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
            out[key] = sorted(bench.samples)[len(bench.samples) // 2]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="instruction runs per condition")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, list[float]] = {"time": [], "instructions": []}
    runs: dict[str, list[dict[str, float]]] = {"quiet": [], "busy": []}
    seconds["time"].append(run(args.out / "ins-time.json", "time", busy=False))
    for condition in ("quiet", "busy"):
        for index in range(args.runs):
            path = args.out / f"ins-{condition}-{index}.json"
            seconds["instructions"].append(run(path, "instructions", busy=condition == "busy"))
            runs[condition].append(counts(path))
            print(f"{condition} {index + 1}/{args.runs}", file=sys.stderr)
    summary = {"seconds": seconds, "runs": runs}
    (args.out / "instructions.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
