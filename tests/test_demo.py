"""`make demo` end to end: the bundled example catches its injected slowdown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).parent.parent / "examples" / "run_demo.py"


def test_demo_catches_the_injected_slowdown():
    done = subprocess.run([sys.executable, str(DEMO)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("### ❌ perfgate: FAIL")
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ❌ |")]
    assert any("test\\_unique\\_words" in row for row in rows)
    assert "perfgate caught the injected slowdown" in done.stderr or "also flagged" in done.stderr
