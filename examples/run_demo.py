"""perfgate's demo: catch a real slowdown in the bundled example project.

1. Copy ``examples/demo`` (a small text toolkit with ordinary pytest-benchmark
   tests) to a scratch directory.
2. Make its baseline the way ``make perf-baseline`` does: several separate
   pytest processes, merged into one file with one run each.
3. Inject a real slowdown: rewrite ``unique_words`` from a dict-based
   de-duplication to a list scan (quadratic).
4. Measure again, and print perfgate's markdown verdict.

Exits 0 when perfgate caught the injected regression, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAST = "    return list(dict.fromkeys(words(text)))  # perfgate-demo: fast path\n"
SLOW = (
    "    ordered = []  # perfgate-demo: injected slowdown (a list scan)\n"
    "    for word in words(text):\n"
    "        if word not in ordered:\n"
    "            ordered.append(word)\n"
    "    return ordered\n"
)
SLOWED = "test_textkit_bench.py::test_unique_words"
PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "--benchmark-max-time=0.1", "--benchmark-disable-gc"]


def step(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def measure(project: Path, label: str, runs: int) -> Path:
    """``runs`` separate pytest processes, merged into ``<label>.json``."""
    outputs = []
    for index in range(1, runs + 1):
        step(f"{label}: pytest process {index} of {runs}")
        out = project / ".perfgate" / f"{label}-{index}.json"
        subprocess.run(
            [sys.executable, "-m", "pytest", *PYTEST_ARGS, "--perfgate-output", str(out)],
            cwd=project,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        outputs.append(str(out))
    merged = project / ".perfgate" / f"{label}.json"
    perfgate = [sys.executable, "-m", "perfgate"]
    subprocess.run([*perfgate, "merge", "-o", str(merged), *outputs], cwd=project, check=True)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="pytest processes per side")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="perfgate-demo-") as scratch:
        project = Path(scratch) / "demo"
        shutil.copytree(HERE / "demo", project)
        baseline = measure(project, "baseline", args.runs)

        source = project / "textkit.py"
        text = source.read_text(encoding="utf-8")
        assert FAST in text, "the demo's fast path moved; update run_demo.py"
        source.write_text(text.replace(FAST, SLOW), encoding="utf-8")
        step("injected a slowdown into textkit.unique_words (dict de-duplication -> list scan)")
        current = measure(project, "current", args.runs)

        compare = [sys.executable, "-m", "perfgate", "compare", str(baseline), str(current)]
        report = subprocess.run(
            [*compare, "--format", "markdown"], cwd=project, capture_output=True, text=True
        )
        print(report.stdout)
        verdict = subprocess.run(
            [*compare, "--format", "json"], cwd=project, capture_output=True, text=True
        )
        data = json.loads(verdict.stdout)
    regressions = [b["name"] for b in data["benchmarks"] if b["status"] == "regression"]
    elapsed_s = time.monotonic() - started
    if report.returncode == 1 and SLOWED in regressions:
        others = [name for name in regressions if name != SLOWED]
        if others:  # possible on a noisy machine; said, not hidden
            step(f"also flagged, without an injected change: {', '.join(others)}")
        else:
            step(f"perfgate caught the injected slowdown, and only it ({elapsed_s:.0f} s)")
        return 0
    step(f"unexpected outcome: exit {report.returncode}, regressions {regressions}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
