"""The one way perfgate starts a child pytest: confirmation runs, the valgrind
counting process, and each side of an A/B."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["ChildRun", "run_pytest"]

TAIL_LINES: Final = 3


@dataclass(frozen=True)
class ChildRun:
    """How a child pytest ended."""

    returncode: int
    tail: tuple[str, ...]
    """The last lines of its output, for error messages."""

    def describe(self) -> str:
        return f"exit {self.returncode}: {' | '.join(self.tail) or '(no output)'}"


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
    tail = (done.stdout + done.stderr).strip().splitlines()[-TAIL_LINES:]
    return ChildRun(done.returncode, tuple(tail))
