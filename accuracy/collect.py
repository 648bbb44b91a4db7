"""Collect real runs of the workload suite on this machine.

Each process is one run of every workload at every injected factor. The
``busy`` condition runs a CPU-bound neighbour process on the other core for the
duration of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTEST_ARGS = [
    "-q",
    "-p",
    "no:cacheprovider",
    "--benchmark-max-time=0.05",
    "--benchmark-min-rounds=10",
    "--benchmark-warmup=on",
    "--benchmark-warmup-iterations=20",
]
BUSY_LOOP = "while True: pass"


def run_once(out: Path, seed: int, busy: bool) -> float:
    """One pytest process; returns its wall time in seconds."""
    env = {**os.environ, "PERFGATE_ACCURACY_SEED": str(seed)}
    neighbour = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if busy else None
    try:
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(HERE / "workloads"),
                *PYTEST_ARGS,
                "--perfgate-output",
                str(out),
            ],
            cwd=HERE,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.monotonic() - started
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=20, help="runs per condition")
    parser.add_argument("--out", type=Path, default=HERE / "data")
    parser.add_argument("--conditions", nargs="+", default=["quiet", "busy"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, list[float]] = {}
    for condition in args.conditions:
        timings[condition] = []
        for index in range(args.processes):
            out = args.out / f"{condition}-{index:03d}.json"
            seconds = run_once(out, seed=index, busy=condition == "busy")
            timings[condition].append(seconds)
            print(f"{condition} {index + 1}/{args.processes}: {seconds:.1f} s", file=sys.stderr)
    (args.out / "timings.json").write_text(json.dumps(timings, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
