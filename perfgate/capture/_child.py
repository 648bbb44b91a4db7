"""The one way perfgate starts a child pytest: confirmation runs, the valgrind
counting process, and each side of an A/B."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["ChildRun", "Fault", "fault_of", "run_pytest"]

TAIL_LINES: Final = 3
KEEP_OUTPUT_CHARS: Final = 64 * 1024
"""The end of a child's output kept for classifying its failure."""
USAGE_ERROR: Final = 4
"""pytest's exit code for a command line it rejects."""
_PERFGATE_DIR: Final = str(Path(__file__).resolve().parents[1])
_UNRECOGNIZED: Final = re.compile(r"error: unrecognized arguments: (.+)$", re.MULTILINE)
_USAGE_LINE: Final = re.compile(r"^(?:ERROR: )?(?:usage:|.*error: ).*$", re.MULTILINE)
_FRAME: Final = re.compile(r'^\s*(?:INTERNALERROR>\s*)?File "([^"]+)", line \d+', re.MULTILINE)
_EXCEPTION: Final = re.compile(
    r"^(?:INTERNALERROR>\s*)?(?:E\s+)?([A-Za-z_][\w.]*(?:Error|Exception)\b.*)$", re.MULTILINE
)


@dataclass(frozen=True)
class Fault:
    """Whose fault a child's failure is, when it is not the measured revision's:
    ``command-line`` (pytest rejected its arguments) or ``perfgate`` (perfgate's
    own capture code failed)."""

    kind: str
    detail: str


def fault_of(returncode: int, output: str) -> Fault | None:
    """Classify a failed child pytest from its exit code and output (see :class:`Fault`);
    ``None``: the revision's own failure (its tests, its imports)."""
    rejected = _UNRECOGNIZED.search(output)
    if rejected is not None:
        return Fault("command-line", rejected.group(1).strip())
    if returncode == USAGE_ERROR:
        usage = [line for line in _USAGE_LINE.findall(output) if "error" in line.lower()]
        return Fault("command-line", usage[-1].strip() if usage else "a usage error")
    frames = _FRAME.findall(output)
    if frames and frames[-1].startswith(_PERFGATE_DIR):
        errors = _EXCEPTION.findall(output)
        return Fault("perfgate", errors[-1].strip() if errors else "a crash")
    return None


@dataclass(frozen=True)
class ChildRun:
    """How a child pytest ended."""

    returncode: int
    tail: tuple[str, ...]
    """The last lines of its output, for error messages."""
    output: str = ""
    """The end of its output (:data:`KEEP_OUTPUT_CHARS`), for :func:`fault_of`."""

    def describe(self) -> str:
        return f"exit {self.returncode}: {' | '.join(self.tail) or '(no output)'}"

    def fault(self) -> Fault | None:
        return None if self.returncode == 0 else fault_of(self.returncode, self.output)


def run_pytest(
    interpreter: Sequence[str],
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    prepare_env: Callable[[Mapping[str, str], Sequence[str]], Mapping[str, str]] | None = None,
) -> ChildRun:
    """Run ``INTERPRETER -m pytest ARGS -p no:cacheprovider`` and wait for it.

    ``interpreter`` is the command that starts Python: the project's
    interpreter, or a valgrind prefix that ends with it. ``prepare_env`` sees the
    whole command (the counting process pads its environment with it)."""
    command = [*interpreter, "-m", "pytest", *args, "-p", "no:cacheprovider"]
    if prepare_env is not None:
        env = prepare_env(env, command)
    try:
        done = subprocess.run(
            command, cwd=cwd, env=dict(env), capture_output=True, text=True, check=False
        )
    except OSError as err:
        return ChildRun(127, (f"cannot start {interpreter[0]}: {err.strerror}",))
    output = done.stdout + done.stderr
    tail = output.strip().splitlines()[-TAIL_LINES:]
    return ChildRun(done.returncode, tuple(tail), output[-KEEP_OUTPUT_CHARS:])
